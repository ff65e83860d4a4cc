//! `/ws/agent`: the console's connection. Needs a signed-in agent or site admin (the session
//! cookie) and a browser Origin of this server (against cross-site WebSocket hijacking).

use super::{CLIENT_ID_RULE, Socket, Step, bad_frame_message, socket_config, valid_client_id};
use crate::domain::chat::ChatRecord;
use crate::domain::files::Uploader;
use crate::domain::ids::{ChatId, SiteId, UserId};
use crate::domain::model::{ConsolePrefs, Role, User};
use crate::domain::switchboard::{AgentProfile, Command, NewMessage, OfferAnswer, Party, Target};
use crate::realtime::protocol::{
    AgentChat, AgentEvent, AgentFrame, AgentIn, AgentView, Audience, CannedView, ErrorDetail, FilesView, OfferView,
    PrefsView, TransferView, VERSION, WireError, close,
};
use crate::web::auth::Principal;
use crate::web::error::WebError;
use crate::web::state::{AppState, now_ms};
use poem::http::header;
use poem::web::Data;
use poem::web::websocket::WebSocket;
use poem::{IntoResponse, Request, Response, handler};
use std::collections::HashMap;

/// Is the request's Origin (if any) this server's? Browsers always send one on WebSocket
/// upgrades; other clients cannot carry a victim's cookies, so a missing Origin is allowed.
pub fn origin_allowed(req: &Request, state: &AppState) -> bool {
    let Some(origin) = req.headers().get(header::ORIGIN).and_then(|v| v.to_str().ok()) else { return true };
    let origin = origin.trim_end_matches('/');
    let own = state.config.public_url.split('/').take(3).collect::<Vec<_>>().join("/");
    let host = req.headers().get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("");
    let same_host = origin.split_once("://").is_some_and(|(_, authority)| !host.is_empty() && authority == host);
    origin == own || same_host || state.config.realtime.allowed_origins.iter().any(|o| o == origin)
}

#[handler]
pub fn endpoint(ws: WebSocket, req: &Request, state: Data<&AppState>) -> Result<Response, WebError> {
    if !origin_allowed(req, &state) {
        tracing::info!(origin = ?req.headers().get(header::ORIGIN), "refused an agent socket from another origin");
        return Err(WebError::Forbidden("This origin may not open the agent console."));
    }
    let Some(p) = req.extensions().get::<Principal>().cloned() else {
        return Err(WebError::Unauthorized);
    };
    if !matches!(p.user.role, Role::Agent | Role::Admin) {
        return Err(WebError::Forbidden("Only agents and site admins use the console."));
    }
    let state = state.clone();
    super::linger(req);
    Ok(ws
        .config(socket_config(&state.config))
        .on_upgrade(move |socket| {
            let tracker = state.sockets.clone();
            tracker.track_future(run(Socket::new(socket, state, Audience::Agent), p))
        })
        .into_response())
}

fn profile(u: &User) -> AgentProfile {
    AgentProfile {
        id: u.id,
        site: u.site,
        name: u.name.clone(),
        email: u.email.clone(),
        skills: u.skills.clone(),
        max_chats: u.max_chats,
        active: u.active,
        away: u.away,
    }
}

async fn run(mut s: Socket, p: Principal) {
    let (me, site) = (p.user.id, p.user.site);
    // Boxed: see `visitor::run` (the task's state lives as long as the socket).
    if !Box::pin(hello(&mut s, &p)).await {
        return;
    }
    loop {
        match s.next().await {
            Step::Text(t) => Box::pin(handle(&mut s, me, site, &t)).await,
            Step::Out(f) => {
                if !s.deliver_queued(f).await {
                    break;
                }
            }
            Step::Tick => {
                // A password change, a reset or disabling ends the session: and the console.
                if !matches!(s.state.store.live_session(&p.token_hash, now_ms()), Ok(Some(_))) {
                    s.close(close::UNAUTHORIZED, "signed out").await;
                    break;
                }
            }
            Step::Closed => break,
        }
    }
    let conn = s.conn;
    s.state.realtime.send(Command::AgentDisconnected { agent: me, conn }).await;
}

async fn hello(s: &mut Socket, p: &Principal) -> bool {
    let Some(text) = s.first_text().await else { return false };
    let resume: HashMap<ChatId, u64> = match serde_json::from_str::<AgentIn>(&text) {
        Ok(AgentIn::Hello { v, chats }) if v == VERSION => chats.into_iter().map(|r| (r.chat, r.after)).collect(),
        Ok(AgentIn::Hello { .. }) => {
            s.refuse(WireError::UnsupportedVersion, ErrorDetail::default(), close::BAD_HELLO).await;
            return false;
        }
        Ok(_) => {
            s.refuse(WireError::HelloFirst, ErrorDetail::default(), close::BAD_HELLO).await;
            return false;
        }
        Err(e) => {
            s.refuse(WireError::BadFrame, ErrorDetail::message(&bad_frame_message(&e)), close::BAD_HELLO).await;
            return false;
        }
    };
    let state = s.state.clone();
    let (me, site, conn) = (p.user.id, p.user.site, s.conn);
    let targets = [Target::AgentConn(conn), Target::Agent(me), Target::SiteAgents(site)];
    state.realtime.hub.register(conn, Audience::Agent, &targets, s.tx.clone(), s.slow.clone());
    state.realtime.send(Command::AgentConnected { agent: profile(&p.user), conn }).await;
    let snapshot = state
        .realtime
        .query(move |sb| {
            let chats: Vec<ChatRecord> = sb.agent_chats(me).iter().filter_map(|c| sb.chat(*c).cloned()).collect();
            (sb.presence(me), chats, sb.site_agents(site), sb.offers_to(me), sb.transfers_of(me))
        })
        .await;
    let Some((presence, chats, agents, offers, transfers)) = snapshot else { return false };
    let names: HashMap<UserId, String> =
        state.store.site(site).users().unwrap_or_default().into_iter().map(|u| (u.id, u.name)).collect();
    let agents: Vec<AgentView> = agents
        .into_iter()
        .map(|(id, presence, active_chats)| AgentView {
            id,
            name: names.get(&id).cloned().unwrap_or_default(),
            presence,
            active_chats,
        })
        .collect();
    let scope = state.store.site(site);
    let canned = scope.canned_replies().unwrap_or_default();
    // The stored preferences (the session's copy of the user may be older than another tab's change).
    let prefs = scope.user(me).map(|u| u.prefs).unwrap_or_else(|_| p.user.prefs.clone());
    let welcome = AgentFrame::AgentWelcome {
        v: VERSION,
        agent: me,
        name: &p.user.name,
        site: site.0,
        presence,
        chats: AgentChat::all(&chats),
        agents: &agents,
        canned: canned.iter().map(CannedView::of).collect(),
        prefs: PrefsView::of(&prefs),
        max_message_bytes: state.config.chat.max_message_bytes,
        files: state.store.get_site(site).ok().and_then(|x| FilesView::of(&x, state.config.chat.max_file_bytes)),
        offers: offers
            .iter()
            .map(|o| OfferView {
                chat: AgentChat::of(&o.chat),
                from: o.from,
                from_name: &o.from_name,
                note: &o.note,
                expires_at: o.expires_at,
                broadcast: o.broadcast,
            })
            .collect(),
        transfers: transfers
            .iter()
            .map(|(chat, outcome, note, expires_at)| TransferView {
                chat: *chat,
                outcome: *outcome,
                note,
                expires_at: *expires_at,
            })
            .collect(),
    };
    s.send(&welcome.frame()).await;
    for chat in &chats {
        let after = resume.get(&chat.id).copied().unwrap_or(0);
        let events = match state.store.site(site).chat_events(chat.id, after, usize::MAX) {
            Ok(events) => events,
            Err(e) => {
                tracing::error!(error = %e, chat = %chat.id, "cannot read a chat to resume it");
                let detail = ErrorDetail {
                    message: Some("A conversation could not be loaded; reconnect to try again."),
                    ..ErrorDetail::chat(chat.id)
                };
                s.error(WireError::Internal, detail).await;
                continue;
            }
        };
        for e in &events {
            s.deliver(&AgentFrame::Event(AgentEvent::of(e)).frame()).await;
        }
    }
    true
}

async fn chat_error(s: &mut Socket, chat: ChatId, e: WireError, message: Option<&str>) {
    s.error(e, ErrorDetail { message, ..ErrorDetail::chat(chat) }).await;
}

async fn handle(s: &mut Socket, me: UserId, site: SiteId, text: &str) {
    let frame = match serde_json::from_str::<AgentIn>(text) {
        Ok(f) => f,
        Err(e) => return s.error(WireError::BadFrame, ErrorDetail::message(&bad_frame_message(&e))).await,
    };
    let (conn, from) = (s.conn, Party::Agent(me));
    let rt = s.state.realtime.clone();
    match frame {
        AgentIn::Hello { .. } => s.error(WireError::AlreadyHello, ErrorDetail::default()).await,
        AgentIn::Ping {} => {
            s.send(&AgentFrame::Pong.frame()).await;
        }
        AgentIn::Presence { presence } => rt.send(Command::SetPresence { agent: me, conn, presence }).await,
        AgentIn::Message { id, .. } | AgentIn::Note { id, .. } if !valid_client_id(&id) => {
            s.error(WireError::BadFrame, ErrorDetail::message(CLIENT_ID_RULE)).await
        }
        AgentIn::Message { chat, id, text, upload } => {
            let file = match upload {
                Some(u) => match super::attached_file(s, site, Uploader::Agent(me), chat, u, &id) {
                    Ok(f) => Some(f),
                    Err(detail) => return s.error(WireError::UploadNotFound, detail).await,
                },
                None => None,
            };
            rt.send(Command::Message(NewMessage { conn, from, chat, client_id: id, text, note: false, file })).await
        }
        AgentIn::Note { chat, id, text } => {
            let file = None;
            rt.send(Command::Message(NewMessage { conn, from, chat, client_id: id, text, note: true, file })).await
        }
        AgentIn::Typing { chat, on } => rt.send(Command::Typing { conn, from, chat, on }).await,
        AgentIn::End { chat } => rt.send(Command::EndChat { conn, by: from, chat }).await,
        AgentIn::Transfer { chat, target, comment } => super::transfer::transfer(s, me, chat, target, comment).await,
        AgentIn::AnswerOffer { chat, accept, reason } => {
            rt.send(Command::AnswerOffer(OfferAnswer { conn, agent: me, chat, accept, reason })).await
        }
        AgentIn::CancelTransfer { chat } => rt.send(Command::CancelTransfer { conn, agent: me, chat }).await,
        AgentIn::TransferNow { chat } => rt.send(Command::CompleteTransfer { conn, agent: me, chat }).await,
        AgentIn::Targets { q, site: only } => super::transfer::targets(s, me, q, only).await,
        AgentIn::History { chat, before, limit } => {
            // Any chat of the agent's own site; the site-bound store handle cannot reach others.
            let scope = s.state.store.site(site);
            match scope.chat(chat) {
                Ok(_) => {}
                Err(crate::store::StoreError::NotFound) => {
                    return chat_error(s, chat, WireError::ChatNotFound, None).await;
                }
                Err(e) => {
                    tracing::error!(error = %e, chat = %chat, "cannot read a chat");
                    return chat_error(s, chat, WireError::Internal, Some("The chat could not be read.")).await;
                }
            }
            let limit = limit.unwrap_or(50).clamp(1, 200) as usize;
            let events = match scope.chat_events_before(chat, before.unwrap_or(u64::MAX), limit) {
                Ok(events) => events,
                Err(e) => {
                    tracing::error!(error = %e, chat = %chat, "cannot read a chat's events");
                    return chat_error(s, chat, WireError::Internal, Some("The chat could not be read.")).await;
                }
            };
            let events = newest_within(events.iter().map(AgentEvent::of).collect(), HISTORY_BYTES);
            let more = events.first().is_some_and(|e| e.seq > 1);
            s.send(&AgentFrame::History { chat, events, more }.frame()).await;
        }
        AgentIn::WatchVisitors { on } => rt.send(Command::WatchVisitors { conn, agent: me, on }).await,
        AgentIn::Invite { visitor, text } => rt.send(Command::Invite { conn, agent: me, visitor, text }).await,
        AgentIn::OpenChat { visitor } => rt.send(Command::OpenChat { conn, agent: me, visitor }).await,
        AgentIn::VisitorChats { visitor } => match s.state.store.site(site).visitor_chats(visitor, 20) {
            Ok(chats) => {
                s.send(&AgentFrame::VisitorChats { visitor, chats: AgentChat::all(&chats) }.frame()).await;
            }
            Err(e) => {
                tracing::error!(error = %e, visitor = %visitor, "cannot read a visitor's chats");
                s.error(WireError::Internal, ErrorDetail::message("The visitor's chats could not be read.")).await
            }
        },
        AgentIn::Prefs { prefs } => {
            let prefs = ConsolePrefs::from(prefs);
            save_prefs(s, me, site, prefs).await
        }
    }
}

/// The most event JSON one `history` answer carries: a page of long messages stops short of
/// `limit` (with `more`) rather than make a frame of megabytes.
const HISTORY_BYTES: usize = 64 * 1024;

/// The newest of `events` (oldest first) whose JSON fits in `budget` bytes; at least one.
fn newest_within(mut events: Vec<AgentEvent<'_>>, budget: usize) -> Vec<AgentEvent<'_>> {
    let mut used = 0;
    let mut start = events.len();
    while start > 0 {
        let size = serde_json::to_vec(&events[start - 1]).map_or(0, |j| j.len());
        if used + size > budget && start < events.len() {
            break;
        }
        used += size;
        start -= 1;
    }
    events.split_off(start)
}

/// Save the agent's console preferences and tell their other tabs.
async fn save_prefs(s: &mut Socket, me: UserId, site: SiteId, prefs: ConsolePrefs) {
    match s.state.store.site(site).save_prefs(me, prefs.clone()).await {
        Ok(()) => {
            let frame = AgentFrame::Prefs { prefs: PrefsView::of(&prefs) }.frame();
            s.state.realtime.hub.publish(Target::Agent(me), &frame);
        }
        Err(e) => {
            tracing::error!(error = %e, "cannot save console preferences");
            s.error(WireError::Internal, ErrorDetail::message("The preferences could not be saved; try again.")).await
        }
    }
}
