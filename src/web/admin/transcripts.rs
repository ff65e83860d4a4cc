//! The transcript browser: a site's chats searched by words (messages, notes, the visitor's
//! name or email), agent and dates, newest first (`store::search`); and one chat's transcript
//! with its transfer log and survey.

use super::html;
use crate::domain::chat::{
    Author, ChatRecord, ChatStatus, EndedBy, EventKind, StopReason, TransferKind, TransferOutcome,
};
use crate::domain::ids::{ChatId, UserId};
use crate::domain::model::{Role, Site, User};
use crate::domain::utc;
use crate::store::search::ChatQuery;
use crate::web::auth::Admin;
use crate::web::csrf::CsrfToken;
use crate::web::error::WebError;
use crate::web::layout::Layout;
use crate::web::state::AppState;
use askama::Template;
use poem::web::{Data, Path, Query};
use poem::{IntoResponse, Response, handler};
use serde::Deserialize;

const PAGE: usize = 25;
const DAY_MS: u64 = 86_400_000;

#[derive(Clone, Debug, Default, Deserialize)]
pub struct SearchForm {
    #[serde(default)]
    pub q: String,
    /// An agent id, or empty for any.
    #[serde(default)]
    pub agent: String,
    /// First and last day (UTC), `YYYY-MM-DD`, optional.
    #[serde(default)]
    pub from: String,
    #[serde(default)]
    pub to: String,
    /// Older than this chat (the next page).
    pub before: Option<u64>,
}

pub struct Row {
    pub id: ChatId,
    pub when: String,
    pub visitor: String,
    pub agent: String,
    pub status: &'static str,
    pub rating: String,
}

#[derive(Template)]
#[template(path = "admin/transcripts.html")]
struct ListPage {
    l: Layout,
    site: Site,
    f: SearchForm,
    agents: Vec<(UserId, String)>,
    rows: Vec<Row>,
    error: Option<&'static str>,
    older: Option<String>,
}

fn day(s: &str) -> Result<Option<u64>, &'static str> {
    if s.trim().is_empty() {
        return Ok(None);
    }
    crate::domain::parse_day(s).map(|d| Some(d as u64 * DAY_MS)).ok_or("Dates look like 2026-11-22.")
}

fn name_of(users: &[User], id: Option<UserId>) -> String {
    match id {
        None => "—".into(),
        Some(id) => users.iter().find(|u| u.id == id).map(|u| u.name.clone()).unwrap_or_else(|| format!("#{id}")),
    }
}

fn status(c: &ChatRecord) -> &'static str {
    match (c.status(), c.ended_by()) {
        (ChatStatus::Queued, _) => "waiting",
        (ChatStatus::Active, _) => "open",
        (ChatStatus::Ended, Some(EndedBy::Transfer)) => "moved to another site",
        (ChatStatus::Ended, Some(EndedBy::NoAgent)) => "ended, nobody available",
        (ChatStatus::Ended, _) => "ended",
    }
}

/// `/admin/sites/:site/chats`
#[handler]
pub fn list(
    Admin(p): Admin,
    csrf: CsrfToken,
    state: Data<&AppState>,
    Path(site): Path<u64>,
    Query(f): Query<SearchForm>,
) -> Result<Response, WebError> {
    let scope = p.admin_scope(&state, site)?;
    let site = scope.site()?;
    let users = scope.users()?;
    let agents: Vec<(UserId, String)> =
        users.iter().filter(|u| matches!(u.role, Role::Agent | Role::Admin)).map(|u| (u.id, u.name.clone())).collect();
    let dates = day(&f.from).and_then(|from| Ok((from, day(&f.to)?.map(|t| t + DAY_MS))));
    let agent = f.agent.trim().parse::<u64>().ok().map(UserId);
    let l = Layout::new(format!("Transcripts — {}", site.name), &csrf, Some(&p)).in_site(&site).tab("chats");
    let (from, to) = match dates {
        Ok(d) => d,
        Err(e) => {
            let page = ListPage { l, site, f, agents, rows: vec![], error: Some(e), older: None };
            return Ok(html(&page)?.with_status(poem::http::StatusCode::UNPROCESSABLE_ENTITY).into_response());
        }
    };
    let q = ChatQuery { text: f.q.clone(), agent, from, to, before: f.before.map(ChatId) };
    let found = scope.search_chats(&q, PAGE + 1)?;
    let more = found.len() > PAGE;
    let rows: Vec<Row> = found
        .into_iter()
        .take(PAGE)
        .map(|c| Row {
            id: c.id,
            when: utc(c.created_at),
            visitor: [c.info.name.as_str(), c.info.email.as_str()]
                .into_iter()
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join(" · "),
            agent: name_of(&users, c.agent()),
            status: status(&c),
            rating: c.survey.as_ref().map(|s| format!("{} / 5", s.rating)).unwrap_or_default(),
        })
        .collect();
    let older = more.then(|| {
        let last = rows.last().map(|r| r.id.0).unwrap_or(0);
        let enc = |s: &str| s.bytes().map(|b| format!("%{b:02X}")).collect::<String>();
        format!(
            "/admin/sites/{}/chats?q={}&agent={}&from={}&to={}&before={last}",
            site.id,
            enc(&f.q),
            enc(&f.agent),
            enc(&f.from),
            enc(&f.to)
        )
    });
    html(&ListPage { l, site, f, agents, rows, error: None, older })
}

/// One line of a transcript as the page shows it.
#[derive(Clone)]
pub struct Line {
    pub when: String,
    /// "message", "note", "system", "log"
    pub class: &'static str,
    pub who: String,
    pub text: String,
    /// For the conversation a cross-site transfer brought along: the site it came from.
    pub from_site: Option<String>,
    /// A file the message carried.
    pub file: Option<crate::domain::files::FileRef>,
}

impl Line {
    pub fn file_size(&self) -> String {
        self.file.as_ref().map(|f| crate::web::files::human_size(f.size)).unwrap_or_default()
    }
}

#[derive(Template)]
#[template(path = "admin/transcript.html")]
struct ChatPage {
    l: Layout,
    site: Site,
    chat: ChatRecord,
    started: String,
    agent: String,
    status: &'static str,
    lines: Vec<Line>,
    transfers: Vec<Line>,
    fields: Vec<(String, String)>,
}

/// `/admin/sites/:site/chats/:id`
#[handler]
pub fn show(
    Admin(p): Admin,
    csrf: CsrfToken,
    state: Data<&AppState>,
    Path((site, id)): Path<(u64, u64)>,
) -> Result<Response, WebError> {
    let scope = p.admin_scope(&state, site)?;
    let site = scope.site()?;
    let chat = scope.chat(ChatId(id))?;
    let users = scope.users()?;
    let departments = scope.departments()?;
    let events = scope.chat_events(chat.id, 0, usize::MAX)?;
    let mut lines = Vec::new();
    let mut transfers = Vec::new();
    let copied_from = chat.origin.as_ref().map(|o| (o.copied, o.site_name.clone()));
    for e in &events {
        let when = utc(e.at);
        let from_site = copied_from.as_ref().filter(|(n, _)| e.seq <= *n).map(|(_, site)| site.clone());
        let line = |class, who: String, text: String| Line {
            when: when.clone(),
            class,
            who,
            text,
            from_site: from_site.clone(),
            file: None,
        };
        match &e.kind {
            EventKind::Message { author: Author::Visitor, text, file } => {
                let who = if chat.info.name.is_empty() { "Visitor".to_string() } else { chat.info.name.clone() };
                lines.push(Line { file: file.clone(), ..line("message", who, text.clone()) });
            }
            EventKind::Message { author: Author::Agent { name, .. }, text, file } => {
                lines.push(Line { file: file.clone(), ..line("message agent", name.clone(), text.clone()) })
            }
            EventKind::Note { name, text, .. } => lines.push(line("note", format!("{name} (note)"), text.clone())),
            EventKind::System { text } => lines.push(line("system", String::new(), text.clone())),
            EventKind::Queued { .. } => lines.push(line("log", String::new(), "Waiting in the queue.".into())),
            EventKind::Assigned { name, .. } => {
                lines.push(line("log", String::new(), format!("{name} took the chat.")))
            }
            EventKind::Ended { by } => {
                let by = match by {
                    EndedBy::Visitor => "by the visitor",
                    EndedBy::Agent => "by the agent",
                    EndedBy::NoAgent => "nobody was available",
                    EndedBy::Transfer => "moved to another site",
                };
                lines.push(line("log", String::new(), format!("The chat ended: {by}.")))
            }
            EventKind::Survey { rating, comment } => {
                let text =
                    if comment.is_empty() { format!("{rating} / 5") } else { format!("{rating} / 5 — {comment}") };
                lines.push(line("log", "Rating".into(), text))
            }
            EventKind::Transfer {
                transfer,
                outcome,
                from,
                to_agent,
                to_department,
                to_site,
                comment,
                reason,
                decline_text,
                ..
            } => {
                let kind = match transfer {
                    TransferKind::Cold => "cold",
                    TransferKind::Warm => "warm",
                    TransferKind::Unavailable => "unavailable agent",
                    TransferKind::Queue => "queue",
                    TransferKind::Broadcast => "broadcast",
                    TransferKind::CrossSite => "cross site",
                };
                let outcome = match outcome {
                    TransferOutcome::Offered => "offered",
                    TransferOutcome::Accepted => "accepted",
                    TransferOutcome::Declined => "declined",
                    TransferOutcome::Expired => "no answer",
                    TransferOutcome::Cancelled => "cancelled",
                    TransferOutcome::Completed => "completed",
                    TransferOutcome::Waiting => "waiting",
                };
                let to = match (to_agent, to_department, to_site) {
                    (Some(a), _, _) => Some(name_of(&users, Some(*a))),
                    (None, Some(d), _) => {
                        Some(departments.iter().find(|x| x.id == *d).map(|x| x.name.clone()).unwrap_or(format!("#{d}")))
                    }
                    (None, None, Some(site)) => Some(format!("site #{site}")),
                    _ => None,
                };
                let mut text = format!("{kind} transfer by {}", name_of(&users, Some(*from)));
                if let Some(to) = to {
                    text.push_str(&format!(" to {to}"));
                }
                text.push_str(&format!(": {outcome}"));
                let why = reason.map(|r| match r {
                    StopReason::Declined => "declined",
                    StopReason::NoAnswer => "no answer",
                    StopReason::ChatEnded => "the chat ended",
                    StopReason::Unavailable => "the agent went offline",
                    StopReason::Restart => "the server restarted",
                });
                if let Some(why) = why.filter(|w| !outcome.contains(w)) {
                    text.push_str(&format!(" ({why})"));
                }
                for (label, v) in [("reason", decline_text), ("note", comment)] {
                    if !v.is_empty() {
                        text.push_str(&format!("; {label}: {v}"));
                    }
                }
                let l = line("log", "Transfer".into(), text);
                transfers.push(l.clone());
                lines.push(l);
            }
        }
    }
    html(&ChatPage {
        l: Layout::new(format!("Chat #{} — {}", chat.id, site.name), &csrf, Some(&p)).in_site(&site).tab("chats"),
        started: utc(chat.created_at),
        agent: name_of(&users, chat.agent()),
        status: status(&chat),
        fields: chat.info.fields.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        site,
        chat,
        lines,
        transfers,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_utc_days_and_nonsense_is_refused() {
        assert_eq!(day(""), Ok(None));
        assert_eq!(day("1970-01-02"), Ok(Some(DAY_MS)));
        assert_eq!(day("2026-11-22").map(|d| d.map(utc)), Ok(Some("2026-11-22 00:00 UTC".into())));
        assert!(day("2026-02-30").is_err());
        assert!(day("yesterday").is_err());
    }
}
