//! `/ws/visitor`: the widget's connection. Open to any origin (the widget runs on the
//! organization's own sites); the visitor is known by a random token the server issues.

use super::{CLIENT_ID_RULE, Socket, Step, bad_frame_message, socket_config, valid_client_id};
use crate::domain::chat::{ChatStatus, LeftMessage};
use crate::domain::files::Uploader;
use crate::domain::i18n::Message as Text;
use crate::domain::ids::{CampaignId, ChatId, SiteId, VisitorId};
use crate::domain::model::Campaign;
use crate::domain::switchboard::{
    ChatTexts, ClientInfo, Command, NewMessage, PageReport, Party, StartChat, SurveyAnswer, Target, VisitorArrival,
    VisitorCampaign,
};
use crate::domain::{prechat, validate};
use crate::realtime::protocol::{
    Audience, CampaignView, ErrorDetail, FilesView, Page, VERSION, VisitorChat, VisitorEvent, VisitorFrame, VisitorIn,
    WireError, close,
};
use crate::web::state::{AppState, now_ms, random_hex};
use poem::web::Data;
use poem::web::websocket::WebSocket;
use poem::{IntoResponse, handler};
use sha2::{Digest, Sha256};

#[handler]
pub fn endpoint(ws: WebSocket, req: &poem::Request, state: Data<&AppState>) -> impl IntoResponse {
    let state = state.clone();
    super::linger(req);
    let header = |name| req.header(name).unwrap_or_default();
    let client = Box::new(crate::web::client_info::client_info(header("user-agent"), header("accept-language")));
    ws.config(socket_config(&state.config)).on_upgrade(move |socket| {
        let tracker = state.sockets.clone();
        tracker.track_future(run(Socket::new(socket, state, Audience::Visitor), client))
    })
}

struct Visitor {
    site: SiteId,
    id: VisitorId,
    campaign: Campaign,
    page: Page,
}

async fn run(mut s: Socket, mut client: Box<ClientInfo>) {
    // `hello` and `handle` are boxed: their futures are large and used briefly, and this
    // task's own state is held for the socket's whole life (per-socket memory, BENCHMARKS.md).
    let Some(v) = Box::pin(hello(&mut s)).await else { return };
    client.time_zone = crate::web::client_info::time_zone(&v.page.zone);
    let rt = s.state.realtime.clone();
    let name = s
        .state
        .store
        .site(v.site)
        .visitor_chats(v.id, 1)
        .ok()
        .and_then(|c| c.into_iter().next())
        .map(|c| c.info.name)
        .unwrap_or_default();
    let campaign = Box::new(VisitorCampaign {
        id: v.campaign.id,
        department: v.campaign.department,
        proactive: v.campaign.proactive.clone(),
        invitation_text: v.campaign.invitation_text().to_string(),
    });
    let page = PageReport { url: v.page.url.clone(), title: v.page.title.clone(), referrer: v.page.referrer.clone() };
    rt.send(Command::VisitorConnected(VisitorArrival {
        conn: s.conn,
        visitor: v.id,
        site: v.site,
        campaign,
        page,
        name,
        client,
    }))
    .await;
    loop {
        match s.next().await {
            Step::Text(t) => Box::pin(handle(&mut s, &v, &t)).await,
            Step::Out(f) => {
                if !s.deliver_queued(f).await {
                    break;
                }
            }
            Step::Tick => {}
            Step::Closed => break,
        }
    }
    rt.send(Command::VisitorDisconnected { conn: s.conn, visitor: v.id }).await;
}

async fn refuse(s: &mut Socket, e: WireError, detail: ErrorDetail<'_>, close_code: u16) -> Option<Visitor> {
    s.refuse(e, detail, close_code).await;
    None
}

fn token_hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

async fn hello(s: &mut Socket) -> Option<Visitor> {
    let text = s.first_text().await?;
    let (v, campaign, token, seen, page) = match serde_json::from_str::<VisitorIn>(&text) {
        Ok(VisitorIn::Hello { v, campaign, token, chat, after, page }) => (v, campaign, token, chat.zip(after), page),
        Ok(_) => return refuse(s, WireError::HelloFirst, ErrorDetail::default(), close::BAD_HELLO).await,
        Err(e) => {
            let message = bad_frame_message(&e);
            return refuse(s, WireError::BadFrame, ErrorDetail::message(&message), close::BAD_HELLO).await;
        }
    };
    if v != VERSION {
        return refuse(s, WireError::UnsupportedVersion, ErrorDetail::default(), close::BAD_HELLO).await;
    }
    let state = s.state.clone();
    let store = &state.store;
    let campaign_id = CampaignId(campaign);
    // The campaign and whether its site's live chat is on: the switchboard's directory.
    let found = state.realtime.query(move |sb| sb.campaign(campaign_id).map(|(d, c)| (d.enabled, c.clone())));
    let Some((enabled, campaign)) = found.await.flatten() else {
        return refuse(s, WireError::UnknownCampaign, ErrorDetail::default(), close::UNKNOWN_CAMPAIGN).await;
    };
    let site = campaign.site;
    if !enabled {
        return refuse(s, WireError::SiteDisabled, ErrorDetail::default(), close::UNKNOWN_CAMPAIGN).await;
    }
    let known = match token.as_deref() {
        Some(t) => match store.visitor_by_token(&token_hash(t)) {
            Ok(Some((owner, id))) if owner == site => Some((id, t.to_string())),
            _ => {
                s.error(WireError::InvalidToken, ErrorDetail::default()).await;
                None
            }
        },
        None => None,
    };
    let (id, token) = match known {
        Some(k) => k,
        None => {
            let token = random_hex(32);
            match store.new_visitor(site, token_hash(&token), now_ms()).await {
                Ok(id) => (id, token),
                Err(e) => {
                    tracing::error!(error = %e, "cannot create a visitor");
                    let detail = ErrorDetail::message("The server could not register this visitor.");
                    return refuse(s, WireError::Internal, detail, 1011).await;
                }
            }
        }
    };
    let targets = [Target::VisitorConn(s.conn), Target::Visitor(id)];
    state.realtime.hub.register(s.conn, Audience::Visitor, &targets, s.tx.clone(), s.slow.clone());
    // The open chat, and its campaign when it moved to another site's.
    let found = state.realtime.query(move |sb| {
        let chat = sb.open_chat(id, campaign_id).cloned()?;
        let moved = sb.campaign(chat.campaign).map(|(_, c)| c.clone()).filter(|c| c.id != campaign_id);
        Some((chat, moved))
    });
    let (chat, moved) = found.await.flatten().unzip();
    let moved = moved.flatten();
    let welcome = VisitorFrame::VisitorWelcome {
        v: VERSION,
        token: &token,
        visitor: id.0,
        campaign: CampaignView::of(&campaign),
        chat: chat.as_ref().map(|c| VisitorChat::of(c, moved.as_ref())),
        max_message_bytes: state.config.chat.max_message_bytes,
        mail: state.mailer.is_some(),
        files: store.get_site(site).ok().and_then(|x| FilesView::of(&x, state.config.chat.max_file_bytes)),
    };
    s.send(&welcome.frame()).await;
    if let Some(chat) = chat {
        let after = seen.filter(|(c, _)| *c == chat.id).map(|(_, after)| after).unwrap_or(0);
        // A chat that moved by cross-site transfer lives on the other site.
        replay(s, chat.site, chat.id, after).await;
        if chat.status() == ChatStatus::Queued {
            let chat_id = chat.id;
            if let Some(Some((position, eta_secs))) = state.realtime.query(move |sb| sb.queue_position(chat_id)).await {
                s.send(&VisitorFrame::Queue { chat: chat_id, position, eta_secs }.frame()).await;
            }
        }
    }
    Some(Visitor { site, id, campaign, page: page.unwrap_or_default() })
}

/// Send the chat's events after `after` that a visitor may see (never notes).
async fn replay(s: &mut Socket, site: SiteId, chat: ChatId, after: u64) {
    let events = match s.state.store.site(site).chat_events(chat, after, usize::MAX) {
        Ok(events) => events,
        Err(e) => {
            tracing::error!(error = %e, chat = %chat, "cannot read a chat to resume it");
            let detail = ErrorDetail::message("The conversation could not be loaded; reconnect to try again.");
            return s.error(WireError::Internal, detail).await;
        }
    };
    for e in events.iter().filter_map(VisitorEvent::of) {
        s.deliver(&VisitorFrame::Event(e).frame()).await;
    }
}

async fn handle(s: &mut Socket, v: &Visitor, text: &str) {
    let frame = match serde_json::from_str::<VisitorIn>(text) {
        Ok(f) => f,
        Err(e) => return s.error(WireError::BadFrame, ErrorDetail::message(&bad_frame_message(&e))).await,
    };
    let (conn, from) = (s.conn, Party::Visitor(v.id));
    let rt = s.state.realtime.clone();
    match frame {
        VisitorIn::Hello { .. } => s.error(WireError::AlreadyHello, ErrorDetail::default()).await,
        VisitorIn::Ping {} => {
            s.send(&VisitorFrame::Pong.frame()).await;
        }
        VisitorIn::Start { fields } => match prechat::answers(&v.campaign, fields) {
            Ok(mut info) => {
                info.page_url = v.page.url.chars().take(2000).collect();
                info.page_title = v.page.title.chars().take(500).collect();
                let texts = ChatTexts {
                    greeting: v.campaign.message(Text::Greeting).to_string(),
                    queue: v.campaign.message(Text::Queue).to_string(),
                };
                let cmd = Command::StartChat(StartChat {
                    conn,
                    site: v.site,
                    campaign: v.campaign.id,
                    department: v.campaign.department,
                    visitor: v.id,
                    info,
                    texts,
                });
                rt.send(cmd).await;
            }
            Err((field, message)) => {
                let detail = ErrorDetail { message: Some(&message), field: Some(&field), ..Default::default() };
                s.error(WireError::InvalidField, detail).await
            }
        },
        VisitorIn::Message { chat, id, text, upload } => {
            if !valid_client_id(&id) {
                return s.error(WireError::BadFrame, ErrorDetail::message(CLIENT_ID_RULE)).await;
            }
            let file = match upload {
                Some(u) => match super::attached_file(s, v.site, Uploader::Visitor(v.id), chat, u, &id) {
                    Ok(f) => Some(f),
                    Err(detail) => return s.error(WireError::UploadNotFound, detail).await,
                },
                None => None,
            };
            rt.send(Command::Message(NewMessage { conn, from, chat, client_id: id, text, note: false, file })).await;
        }
        VisitorIn::Typing { chat, on } => rt.send(Command::Typing { conn, from, chat, on }).await,
        VisitorIn::End { chat } => rt.send(Command::EndChat { conn, by: from, chat }).await,
        VisitorIn::Survey { chat, rating, comment } => {
            // The chat's own campaign decides: after a cross-site transfer, the receiving one's.
            if !survey_enabled(s, v, chat).await {
                let message = Some("This campaign has no post-chat survey.");
                return s.error(WireError::NotAllowed, ErrorDetail { message, ..ErrorDetail::chat(chat) }).await;
            }
            rt.send(Command::Survey(SurveyAnswer { conn, visitor: v.id, chat, rating, comment })).await;
        }
        VisitorIn::LeaveMessage { name, email, text } => leave_message(s, v, name, email, text).await,
        VisitorIn::EmailTranscript { chat } => email_transcript(s, v, chat).await,
        VisitorIn::Page { url, title, referrer } => {
            rt.send(Command::VisitorPage { conn, visitor: v.id, page: PageReport { url, title, referrer } }).await
        }
        VisitorIn::InvitationAnswer { invitation, accept } => {
            rt.send(Command::AnswerInvitation { conn, visitor: v.id, invitation, accept }).await
        }
    }
}

/// Does the campaign of the visitor's `chat` have a post-chat survey? A chat the switchboard
/// does not hold (or of another visitor) is left to it to refuse (`chat_not_found`).
async fn survey_enabled(s: &Socket, v: &Visitor, chat: ChatId) -> bool {
    let visitor = v.id;
    let found = s.state.realtime.query(move |sb| {
        let c = sb.chat(chat).filter(|c| c.visitor == visitor)?;
        sb.campaign(c.campaign).map(|(_, campaign)| campaign.postchat.enabled)
    });
    found.await.flatten().unwrap_or(v.campaign.postchat.enabled)
}

/// Queue a copy of an ended chat's conversation for the chat's own email address (never another:
/// the frame names no address), within the limits per chat, visitor and site.
async fn email_transcript(s: &mut Socket, v: &Visitor, chat: ChatId) {
    let not_allowed = |m: &'static str| ErrorDetail { message: Some(m), ..ErrorDetail::chat(chat) };
    if s.state.mailer.is_none() {
        return s.error(WireError::NotAllowed, not_allowed("This server does not send mail.")).await;
    }
    let rec = match s.state.store.site(v.site).chat(chat) {
        Ok(c) if c.visitor == v.id => c,
        _ => return s.error(WireError::ChatNotFound, ErrorDetail::chat(chat)).await,
    };
    if rec.status() != ChatStatus::Ended {
        return s.error(WireError::NotAllowed, not_allowed("The conversation is sent once the chat has ended.")).await;
    }
    if rec.info.email.is_empty() {
        return s.error(WireError::NotAllowed, not_allowed("This chat has no email address.")).await;
    }
    match s.state.store.queue_transcript(v.site, chat, v.id, now_ms()).await {
        Ok(_) => {
            s.state.mail_queued();
            s.send(&VisitorFrame::TranscriptEmailed { chat }.frame()).await;
        }
        Err(crate::store::StoreError::Conflict { .. }) => {
            let detail = not_allowed("No more copies of this conversation can be sent for now.");
            s.error(WireError::RateLimited, detail).await;
        }
        Err(e) => {
            tracing::error!(error = %e, "cannot queue a transcript mail");
            s.error(WireError::Internal, ErrorDetail::message("The copy could not be queued; try again.")).await;
        }
    }
}

async fn leave_message(s: &mut Socket, v: &Visitor, name: String, email: String, text: String) {
    let email = match validate::email(&email) {
        Ok(e) => e,
        Err(m) => {
            let detail = ErrorDetail { message: Some(&m), field: Some("email"), ..Default::default() };
            return s.error(WireError::InvalidField, detail).await;
        }
    };
    let text = text.trim().to_string();
    if text.is_empty() || text.chars().count() > 4000 {
        let detail = ErrorDetail {
            message: Some("Write a message of at most 4000 characters."),
            field: Some("text"),
            ..Default::default()
        };
        return s.error(WireError::InvalidField, detail).await;
    }
    let msg = LeftMessage {
        id: 0,
        site: v.site,
        campaign: v.campaign.id,
        visitor: v.id,
        name: name.trim().chars().take(200).collect(),
        email,
        text,
        at: now_ms(),
        page: v.page.url.chars().take(2000).collect(),
        handled_at: None,
        handled_by: String::new(),
    };
    match s.state.store.leave_message(msg).await {
        Ok(_) => {
            s.send(&VisitorFrame::Left.frame()).await;
        }
        Err(e) => {
            tracing::error!(error = %e, "cannot store a left message");
            s.error(WireError::Internal, ErrorDetail::message("The message could not be stored; try again.")).await;
        }
    }
}
