//! Chats, their events and transfer log, the transcript search, messages left, visitors and
//! reports: what a CRM or help desk reads of a site.

use super::{Caller, Problem, Refusal, refusal};
use crate::domain::chat::{Author, ChatEvent, ChatRecord, ChatState, ChatStatus, EventKind, LeftMessage};
use crate::domain::ids::{CampaignId, ChatId, DepartmentId, UserId, VisitorId};
use crate::store::search::ChatQuery;
use crate::web::state::{AppState, now_ms};
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::types::ToJSON;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};
use std::collections::BTreeMap;

/// A value's name as the store and the console protocol spell it (`snake_case`).
fn code<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
}

/// The answer of a route that reads.
#[derive(ApiResponse)]
#[oai(bad_request_handler = "bad_read")]
pub enum Read<T: ToJSON + Send + Sync> {
    #[oai(status = 200)]
    Ok(Json<T>),
    /// A parameter that is not what the document says.
    #[oai(status = 400, content_type = "application/problem+json")]
    BadRequest(Json<Problem>),
    /// No live token or session.
    #[oai(status = 401, content_type = "application/problem+json")]
    Unauthorized(Json<Problem>),
    /// No such site or object, or not the caller's.
    #[oai(status = 404, content_type = "application/problem+json")]
    NotFound(Json<Problem>),
    /// The token's 300 requests a minute are spent.
    #[oai(status = 429, content_type = "application/problem+json")]
    RateLimited(Json<Problem>, #[oai(header = "Retry-After")] u64),
    #[oai(status = 500, content_type = "application/problem+json")]
    Internal(Json<Problem>),
}

fn bad_read<T: ToJSON + Send + Sync>(e: poem::Error) -> Read<T> {
    match refusal(e) {
        Refusal::BadRequest(p) => Read::BadRequest(Json(p)),
        Refusal::Unauthorized(p) => Read::Unauthorized(Json(p)),
        Refusal::RateLimited(p, wait) => Read::RateLimited(Json(p), wait),
    }
}

impl<T: ToJSON + Send + Sync> From<Problem> for Read<T> {
    fn from(p: Problem) -> Read<T> {
        match p.status {
            400 => Read::BadRequest(Json(p)),
            404 => Read::NotFound(Json(p)),
            _ => Read::Internal(Json(p)),
        }
    }
}

/// The answer of a route that changes something.
#[derive(ApiResponse)]
#[oai(bad_request_handler = "bad_write")]
pub enum Write<T: ToJSON + Send + Sync> {
    /// Changed.
    #[oai(status = 200)]
    Ok(Json<T>),
    /// Created (the routes that create).
    #[oai(status = 201)]
    Created(Json<T>),
    /// A parameter or body that is not what the document says.
    #[oai(status = 400, content_type = "application/problem+json")]
    BadRequest(Json<Problem>),
    /// No live token or session.
    #[oai(status = 401, content_type = "application/problem+json")]
    Unauthorized(Json<Problem>),
    /// The caller may read the site but not change it (an agent, or a read-only token).
    #[oai(status = 403, content_type = "application/problem+json")]
    Forbidden(Json<Problem>),
    /// No such site or object, or not the caller's.
    #[oai(status = 404, content_type = "application/problem+json")]
    NotFound(Json<Problem>),
    /// It conflicts with what is stored (a name taken, an open chat), with the field.
    #[oai(status = 409, content_type = "application/problem+json")]
    Conflict(Json<Problem>),
    /// Fields that are not valid, each with the admin form's message.
    #[oai(status = 422, content_type = "application/problem+json")]
    Invalid(Json<Problem>),
    /// The token's 300 requests a minute are spent.
    #[oai(status = 429, content_type = "application/problem+json")]
    RateLimited(Json<Problem>, #[oai(header = "Retry-After")] u64),
    #[oai(status = 500, content_type = "application/problem+json")]
    Internal(Json<Problem>),
}

fn bad_write<T: ToJSON + Send + Sync>(e: poem::Error) -> Write<T> {
    match refusal(e) {
        Refusal::BadRequest(p) => Write::BadRequest(Json(p)),
        Refusal::Unauthorized(p) => Write::Unauthorized(Json(p)),
        Refusal::RateLimited(p, wait) => Write::RateLimited(Json(p), wait),
    }
}

impl<T: ToJSON + Send + Sync> From<Problem> for Write<T> {
    fn from(p: Problem) -> Write<T> {
        match p.status {
            400 => Write::BadRequest(Json(p)),
            403 => Write::Forbidden(Json(p)),
            404 => Write::NotFound(Json(p)),
            409 => Write::Conflict(Json(p)),
            422 => Write::Invalid(Json(p)),
            _ => Write::Internal(Json(p)),
        }
    }
}

/// Where a chat is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum Status {
    /// Waiting in a queue, or for the one agent it was transferred to.
    Queued,
    /// An agent has it.
    Active,
    Ended,
}

impl Status {
    fn of(c: &ChatRecord) -> Status {
        match c.status() {
            ChatStatus::Queued => Status::Queued,
            ChatStatus::Active => Status::Active,
            ChatStatus::Ended => Status::Ended,
        }
    }
}

/// Which chats a list shows by status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum StatusFilter {
    /// Queued or active.
    Open,
    Queued,
    Active,
    Ended,
}

/// A chat's summary.
#[derive(Object)]
pub struct Chat {
    pub id: u64,
    pub site: u64,
    pub campaign: u64,
    pub visitor: u64,
    /// The queue it waited in last; absent: the site's "any agent" queue.
    #[oai(skip_serializing_if_is_none)]
    pub department: Option<u64>,
    pub status: Status,
    /// The agent who has it (or had it when it ended, or whom it waits for).
    #[oai(skip_serializing_if_is_none)]
    pub agent: Option<u64>,
    /// When it started (Unix ms).
    pub started_at: u64,
    /// When an agent took it (the latest assignment).
    #[oai(skip_serializing_if_is_none)]
    pub assigned_at: Option<u64>,
    #[oai(skip_serializing_if_is_none)]
    pub ended_at: Option<u64>,
    /// `visitor`, `agent`, `no_agent` (nobody took it) or `transfer` (moved to another site).
    #[oai(skip_serializing_if_is_none)]
    pub ended_by: Option<String>,
    /// The visitor's name and email from the pre-chat form (empty when not asked).
    pub name: String,
    pub email: String,
    /// The other pre-chat answers by field key.
    pub fields: BTreeMap<String, String>,
    /// The page the chat started on.
    pub page_url: String,
    pub page_title: String,
    /// The seq of its last event: its events are 1 to this.
    pub last_seq: u64,
    /// The visitor's rating (1 to 5) and comment, when they answered the survey.
    #[oai(skip_serializing_if_is_none)]
    pub rating: Option<u8>,
    #[oai(skip_serializing_if_is_none)]
    pub survey_comment: Option<String>,
    /// For a chat that came by a cross-site transfer: the site and chat it came from.
    #[oai(skip_serializing_if_is_none)]
    pub from_site: Option<u64>,
    #[oai(skip_serializing_if_is_none)]
    pub from_chat: Option<u64>,
}

impl Chat {
    pub fn of(c: &ChatRecord) -> Chat {
        let (ended_at, ended_by) = match c.state {
            ChatState::Ended { at, by, .. } => (Some(at), Some(code(&by))),
            _ => (None, None),
        };
        Chat {
            id: c.id.0,
            site: c.site.0,
            campaign: c.campaign.0,
            visitor: c.visitor.0,
            department: c.department.map(|d| d.0),
            status: Status::of(c),
            agent: match c.state {
                ChatState::WaitingFor(a) => Some(a.0),
                _ => c.agent().map(|a| a.0),
            },
            started_at: c.created_at,
            assigned_at: c.assigned_at,
            ended_at,
            ended_by,
            name: c.info.name.clone(),
            email: c.info.email.clone(),
            fields: c.info.fields.clone(),
            page_url: c.info.page_url.clone(),
            page_title: c.info.page_title.clone(),
            last_seq: c.last_seq,
            rating: c.survey.as_ref().map(|s| s.rating),
            survey_comment: c.survey.as_ref().map(|s| s.comment.clone()),
            from_site: c.origin.as_ref().map(|o| o.site.0),
            from_chat: c.origin.as_ref().map(|o| o.chat.0),
        }
    }
}

/// A page of chats, newest first.
#[derive(Object)]
pub struct ChatPage {
    pub chats: Vec<Chat>,
    /// Give it as `before` for the next page; absent on the last page.
    #[oai(skip_serializing_if_is_none)]
    pub next: Option<u64>,
}

/// A file sent in a chat.
#[derive(Object)]
pub struct File {
    pub name: String,
    /// The type read from the file's content.
    #[oai(rename = "type")]
    pub mime: String,
    pub size: u64,
    /// An image shown inline (PNG, JPEG, GIF, WebP).
    pub image: bool,
    /// Where a signed-in person of the site fetches it, relative to the server.
    pub url: String,
}

/// A step of a transfer: what was tried, by whom, to whom, and how it went.
#[derive(Object)]
pub struct TransferStep {
    /// `cold`, `warm`, `unavailable`, `queue`, `broadcast` or `cross_site`.
    pub transfer: String,
    /// `offered`, `accepted`, `declined`, `expired`, `cancelled`, `completed` or `waiting`.
    pub outcome: String,
    /// The transferring agent.
    pub from: u64,
    #[oai(skip_serializing_if_is_none)]
    pub to_agent: Option<u64>,
    #[oai(skip_serializing_if_is_none)]
    pub to_department: Option<u64>,
    #[oai(skip_serializing_if_is_none)]
    pub to_site: Option<u64>,
    pub comment: String,
    /// Had the transferring agent replied to the visitor before?
    pub replied: bool,
    /// Why it stopped short: `declined`, `no_answer`, `chat_ended`, `unavailable`, `restart`.
    #[oai(skip_serializing_if_is_none)]
    pub reason: Option<String>,
    /// The declining agent's own words.
    pub decline_text: String,
}

/// One event of a chat, as its agents see it (notes and transfer steps included). Which
/// fields are present depends on `kind`.
#[derive(Object)]
pub struct Event {
    pub seq: u64,
    /// When (Unix ms).
    pub at: u64,
    /// `message`, `note`, `system`, `queued`, `assigned`, `ended`, `survey` or `transfer`.
    pub kind: String,
    /// message: `visitor` or `agent`.
    #[oai(skip_serializing_if_is_none)]
    pub author: Option<String>,
    /// message by an agent, note, assigned: the agent.
    #[oai(skip_serializing_if_is_none)]
    pub agent: Option<u64>,
    /// message by an agent, note, assigned: the agent's name.
    #[oai(skip_serializing_if_is_none)]
    pub name: Option<String>,
    /// message, note, system.
    #[oai(skip_serializing_if_is_none)]
    pub text: Option<String>,
    /// message with a file.
    #[oai(skip_serializing_if_is_none)]
    pub file: Option<File>,
    /// queued: the department (absent: any agent).
    #[oai(skip_serializing_if_is_none)]
    pub department: Option<u64>,
    /// ended: `visitor`, `agent`, `no_agent` or `transfer`.
    #[oai(skip_serializing_if_is_none)]
    pub ended_by: Option<String>,
    /// survey.
    #[oai(skip_serializing_if_is_none)]
    pub rating: Option<u8>,
    #[oai(skip_serializing_if_is_none)]
    pub comment: Option<String>,
    /// transfer.
    #[oai(skip_serializing_if_is_none)]
    pub transfer: Option<TransferStep>,
    /// message: the sender's id for it (exactly once on resend).
    #[oai(skip_serializing_if_is_none)]
    pub client_id: Option<String>,
}

impl Event {
    fn bare(e: &ChatEvent, kind: &str) -> Event {
        Event {
            seq: e.seq,
            at: e.at,
            kind: kind.into(),
            author: None,
            agent: None,
            name: None,
            text: None,
            file: None,
            department: None,
            ended_by: None,
            rating: None,
            comment: None,
            transfer: None,
            client_id: e.client_id.clone(),
        }
    }

    pub fn of(e: &ChatEvent) -> Event {
        match &e.kind {
            EventKind::Message { author, text, file } => {
                let (who, agent, name) = match author {
                    Author::Visitor => ("visitor", None, None),
                    Author::Agent { agent, name } => ("agent", Some(agent.0), Some(name.clone())),
                };
                let file = file.as_ref().map(|f| File {
                    name: f.name.clone(),
                    mime: f.mime.clone(),
                    size: f.size,
                    image: f.is_image(),
                    url: f.path(),
                });
                Event {
                    author: Some(who.into()),
                    agent,
                    name,
                    text: Some(text.clone()),
                    file,
                    ..Event::bare(e, "message")
                }
            }
            EventKind::Note { agent, name, text } => Event {
                agent: Some(agent.0),
                name: Some(name.clone()),
                text: Some(text.clone()),
                ..Event::bare(e, "note")
            },
            EventKind::System { text } => Event { text: Some(text.clone()), ..Event::bare(e, "system") },
            EventKind::Queued { department } => {
                Event { department: department.map(|d| d.0), ..Event::bare(e, "queued") }
            }
            EventKind::Assigned { agent, name } => {
                Event { agent: Some(agent.0), name: Some(name.clone()), ..Event::bare(e, "assigned") }
            }
            EventKind::Ended { by } => Event { ended_by: Some(code(by)), ..Event::bare(e, "ended") },
            EventKind::Survey { rating, comment } => {
                Event { rating: Some(*rating), comment: Some(comment.clone()), ..Event::bare(e, "survey") }
            }
            EventKind::Transfer { .. } => Event { transfer: TransferStep::of(&e.kind), ..Event::bare(e, "transfer") },
        }
    }
}

impl TransferStep {
    fn of(kind: &EventKind) -> Option<TransferStep> {
        let EventKind::Transfer {
            transfer,
            outcome,
            from,
            to_agent,
            to_department,
            to_site,
            comment,
            replied,
            reason,
            decline_text,
        } = kind
        else {
            return None;
        };
        Some(TransferStep {
            transfer: code(transfer),
            outcome: code(outcome),
            from: from.0,
            to_agent: to_agent.map(|a| a.0),
            to_department: to_department.map(|d| d.0),
            to_site: to_site.map(|s| s.0),
            comment: comment.clone(),
            replied: *replied,
            reason: reason.as_ref().map(code),
            decline_text: decline_text.clone(),
        })
    }
}

/// A page of a chat's events, oldest first.
#[derive(Object)]
pub struct EventPage {
    pub events: Vec<Event>,
    /// More events follow: ask again with `after` set to the last seq of this page.
    pub more: bool,
}

/// A transfer step with when it happened.
#[derive(Object)]
pub struct LoggedStep {
    /// The event's seq in the chat.
    pub seq: u64,
    pub at: u64,
    pub step: TransferStep,
}

/// A chat's transfer log.
#[derive(Object)]
pub struct TransferLog {
    /// Every transfer step, oldest first.
    pub steps: Vec<LoggedStep>,
    /// For a chat that came from another site: where from, who sent it and their comment.
    #[oai(skip_serializing_if_is_none)]
    pub came_from: Option<CameFrom>,
}

#[derive(Object)]
pub struct CameFrom {
    pub site: u64,
    pub site_name: String,
    pub chat: u64,
    pub agent: u64,
    pub agent_name: String,
    pub at: u64,
    pub comment: String,
}

/// A message left when nobody could chat.
#[derive(Object)]
pub struct MessageLeft {
    pub id: u64,
    pub campaign: u64,
    pub visitor: u64,
    pub name: String,
    pub email: String,
    pub text: String,
    /// The page the visitor was on.
    pub page: String,
    /// When it was left (Unix ms).
    pub at: u64,
    pub handled: bool,
    #[oai(skip_serializing_if_is_none)]
    pub handled_at: Option<u64>,
    /// Who marked it handled: a person's name, or `API token NAME`.
    #[oai(skip_serializing_if_is_none)]
    pub handled_by: Option<String>,
}

impl MessageLeft {
    fn of(m: LeftMessage) -> MessageLeft {
        MessageLeft {
            id: m.id,
            campaign: m.campaign.0,
            visitor: m.visitor.0,
            handled: m.handled_at.is_some(),
            handled_at: m.handled_at,
            handled_by: m.handled_at.map(|_| m.handled_by),
            name: m.name,
            email: m.email,
            text: m.text,
            page: m.page,
            at: m.at,
        }
    }
}

/// A page of messages left, newest first.
#[derive(Object)]
pub struct MessagePage {
    pub messages: Vec<MessageLeft>,
    /// Give it as `before` for the next page; absent on the last page.
    #[oai(skip_serializing_if_is_none)]
    pub next: Option<u64>,
}

/// Mark a message handled or not.
#[derive(Object)]
pub struct Handled {
    pub handled: bool,
}

/// A visitor of a site.
#[derive(Object)]
pub struct Visitor {
    pub id: u64,
    /// When they first came (Unix ms).
    pub first_seen_at: u64,
    /// The latest name and email they gave (empty when never asked).
    pub name: String,
    pub email: String,
    pub chats: u64,
    pub messages_left: u64,
}

/// What erasing a visitor removed.
#[derive(Object)]
pub struct Erased {
    /// Their chats erased, with every event and file.
    pub chats: u64,
}

/// A site's report: the tables of its Reports page, cell for cell.
#[derive(Object)]
pub struct Report {
    /// First and last day, `YYYY-MM-DD`, in the report's time zone.
    pub from: String,
    pub to: String,
    /// The time zone, in minutes east of UTC.
    pub tz: i32,
    /// `day` or `hour`.
    pub by: String,
    pub tables: Vec<ReportTable>,
}

#[derive(Object)]
pub struct ReportTable {
    /// `over-time`, `agents`, `departments`, `campaigns`, `transfers` or `invitations`.
    pub key: String,
    pub caption: String,
    pub columns: Vec<String>,
    /// One row per line of the table, as the page shows its cells.
    pub rows: Vec<Vec<String>>,
    /// What the table counts.
    pub note: String,
}

/// The most chats a page holds, and the most records one request looks at to fill it (a
/// narrow filter over a long history answers with fewer chats and a `next` cursor).
const MAX_PAGE: u32 = 200;
const SCAN: usize = 5_000;

pub struct ChatsApi;

#[OpenApi]
impl ChatsApi {
    /// A site's chats, newest first, with filters; the transcript search (`q`) finds ended
    /// chats by the words of their messages and notes, or the visitor's name or email.
    #[oai(path = "/v1/sites/:site/chats", method = "get")]
    #[allow(clippy::too_many_arguments)]
    async fn chats(
        &self,
        auth: Caller,
        state: Data<&AppState>,
        site: Path<u64>,
        /// `open` (queued or active), `queued`, `active` or `ended`.
        status: Query<Option<StatusFilter>>,
        /// Chats started at or after this time (Unix ms).
        from: Query<Option<u64>>,
        /// Chats started before this time (Unix ms).
        to: Query<Option<u64>>,
        /// Chats an agent held (ended chats: anyone who had it; open ones: who has it).
        agent: Query<Option<u64>>,
        /// Chats that waited in this department last.
        department: Query<Option<u64>>,
        campaign: Query<Option<u64>>,
        visitor: Query<Option<u64>>,
        /// Words that must all be in the chat: ended chats only (they are indexed when they end).
        q: Query<Option<String>>,
        /// The cursor: chats older than this chat id (`next` of the previous page).
        before: Query<Option<u64>>,
        /// 1 to 200 (default 50).
        limit: Query<Option<u32>>,
    ) -> Read<ChatPage> {
        let Some(scope) = auth.readable(&state, site.0) else { return Problem::not_found().into() };
        let limit = limit.0.unwrap_or(50).clamp(1, MAX_PAGE) as usize;
        let text = q.0.unwrap_or_default();
        if text.chars().count() > 200 {
            return Problem::bad_request("The search is at most 200 characters.").into();
        }
        let status = status.0;
        // Ended chats are found by agent through the index; open ones by who has them.
        let indexed_agent = agent
            .0
            .filter(|_| !matches!(status, Some(StatusFilter::Open | StatusFilter::Queued | StatusFilter::Active)));
        let wanted = |c: &ChatRecord| {
            let st = Status::of(c);
            let status_ok = match status {
                None => true,
                Some(StatusFilter::Open) => st != Status::Ended,
                Some(StatusFilter::Queued) => st == Status::Queued,
                Some(StatusFilter::Active) => st == Status::Active,
                Some(StatusFilter::Ended) => st == Status::Ended,
            };
            let agent_ok = match (agent.0, indexed_agent) {
                (Some(a), None) => Chat::of(c).agent == Some(a),
                _ => true,
            };
            status_ok
                && agent_ok
                && department.0.is_none_or(|d| c.department == Some(DepartmentId(d)))
                && campaign.0.is_none_or(|k| c.campaign == CampaignId(k))
                && visitor.0.is_none_or(|v| c.visitor == VisitorId(v))
        };
        let mut query =
            ChatQuery { text, agent: indexed_agent.map(UserId), from: from.0, to: to.0, before: before.0.map(ChatId) };
        let (mut chats, mut scanned, mut next) = (Vec::new(), 0, None);
        loop {
            let batch = match scope.search_chats(&query, 200) {
                Ok(b) => b,
                Err(e) => return Problem::of_store(e).into(),
            };
            let full = batch.len() == 200;
            for c in batch {
                scanned += 1;
                query.before = Some(c.id);
                if wanted(&c) {
                    chats.push(Chat::of(&c));
                    if chats.len() == limit {
                        break;
                    }
                }
            }
            if chats.len() == limit || (full && scanned >= SCAN) {
                next = query.before.map(|c| c.0).filter(|&id| id > 1);
                break;
            }
            if !full {
                break;
            }
        }
        Read::Ok(Json(ChatPage { chats, next }))
    }

    /// One chat.
    #[oai(path = "/v1/sites/:site/chats/:chat", method = "get")]
    async fn chat(&self, auth: Caller, state: Data<&AppState>, site: Path<u64>, chat: Path<u64>) -> Read<Chat> {
        let Some(scope) = auth.readable(&state, site.0) else { return Problem::not_found().into() };
        match scope.chat(ChatId(chat.0)) {
            Ok(c) => Read::Ok(Json(Chat::of(&c))),
            Err(e) => Problem::of_store(e).into(),
        }
    }

    /// A chat's events, oldest first, from `after` on (messages, notes, system texts, queue,
    /// assignment, transfer steps, the survey and the end).
    #[oai(path = "/v1/sites/:site/chats/:chat/events", method = "get")]
    async fn events(
        &self,
        auth: Caller,
        state: Data<&AppState>,
        site: Path<u64>,
        chat: Path<u64>,
        /// Events with a seq above this (default 0: from the first).
        after: Query<Option<u64>>,
        /// 1 to 500 (default 100).
        limit: Query<Option<u32>>,
    ) -> Read<EventPage> {
        let Some(scope) = auth.readable(&state, site.0) else { return Problem::not_found().into() };
        let limit = limit.0.unwrap_or(100).clamp(1, 500) as usize;
        let id = ChatId(chat.0);
        let rec = match scope.chat(id) {
            Ok(c) => c,
            Err(e) => return Problem::of_store(e).into(),
        };
        match scope.chat_events(id, after.0.unwrap_or(0), limit) {
            Ok(events) => {
                let more = events.last().is_some_and(|e| e.seq < rec.last_seq);
                Read::Ok(Json(EventPage { events: events.iter().map(Event::of).collect(), more }))
            }
            Err(e) => Problem::of_store(e).into(),
        }
    }

    /// A chat's transfer log: every step with its outcome, and where a chat that came from
    /// another site came from.
    #[oai(path = "/v1/sites/:site/chats/:chat/transfers", method = "get")]
    async fn transfers(
        &self,
        auth: Caller,
        state: Data<&AppState>,
        site: Path<u64>,
        chat: Path<u64>,
    ) -> Read<TransferLog> {
        let Some(scope) = auth.readable(&state, site.0) else { return Problem::not_found().into() };
        let id = ChatId(chat.0);
        let (rec, events) = match scope.chat(id).and_then(|c| Ok((scope.chat_events(id, 0, usize::MAX)?, c))) {
            Ok((events, c)) => (c, events),
            Err(e) => return Problem::of_store(e).into(),
        };
        let steps = events
            .iter()
            .filter_map(|e| TransferStep::of(&e.kind).map(|step| LoggedStep { seq: e.seq, at: e.at, step }))
            .collect();
        let came_from = rec.origin.map(|o| CameFrom {
            site: o.site.0,
            site_name: o.site_name,
            chat: o.chat.0,
            agent: o.agent.0,
            agent_name: o.agent_name,
            at: o.at,
            comment: o.comment,
        });
        Read::Ok(Json(TransferLog { steps, came_from }))
    }

    /// The messages visitors left when nobody could chat, newest first.
    #[oai(path = "/v1/sites/:site/messages", method = "get")]
    async fn messages(
        &self,
        auth: Caller,
        state: Data<&AppState>,
        site: Path<u64>,
        /// Only those handled (true) or still to handle (false).
        handled: Query<Option<bool>>,
        /// The cursor: messages older than this id (`next` of the previous page).
        before: Query<Option<u64>>,
        /// 1 to 200 (default 50).
        limit: Query<Option<u32>>,
    ) -> Read<MessagePage> {
        let Some(scope) = auth.readable(&state, site.0) else { return Problem::not_found().into() };
        let limit = limit.0.unwrap_or(50).clamp(1, MAX_PAGE) as usize;
        let all = match scope.left_messages() {
            Ok(all) => all,
            Err(e) => return Problem::of_store(e).into(),
        };
        let mut matching: Vec<LeftMessage> = all
            .into_iter()
            .rev()
            .filter(|m| before.0.is_none_or(|b| m.id < b))
            .filter(|m| handled.0.is_none_or(|h| m.handled_at.is_some() == h))
            .take(limit + 1)
            .collect();
        let more = matching.len() > limit;
        matching.truncate(limit);
        let next = if more { matching.last().map(|m| m.id) } else { None };
        Read::Ok(Json(MessagePage { messages: matching.into_iter().map(MessageLeft::of).collect(), next }))
    }

    /// Mark a message left handled (answered, or nothing to do), or back to unhandled.
    #[oai(path = "/v1/sites/:site/messages/:message/handled", method = "put")]
    async fn set_handled(
        &self,
        auth: Caller,
        state: Data<&AppState>,
        site: Path<u64>,
        message: Path<u64>,
        body: Json<Handled>,
    ) -> Write<MessageLeft> {
        let scope = match auth.writable(&state, site.0) {
            Ok(s) => s,
            Err(p) => return p.into(),
        };
        let by = body.0.handled.then(|| auth.who());
        match scope.set_message_handled(message.0, by, now_ms()).await {
            Ok(m) => Write::Ok(Json(MessageLeft::of(m))),
            Err(e) => Problem::of_store(e).into(),
        }
    }

    /// A visitor: when they first came, the latest name and email they gave, and counts.
    #[oai(path = "/v1/sites/:site/visitors/:visitor", method = "get")]
    async fn visitor(
        &self,
        auth: Caller,
        state: Data<&AppState>,
        site: Path<u64>,
        visitor: Path<u64>,
    ) -> Read<Visitor> {
        let Some(scope) = auth.readable(&state, site.0) else { return Problem::not_found().into() };
        let id = VisitorId(visitor.0);
        let (rec, chats, left) = match (scope.visitor(id), scope.visitor_chats(id, usize::MAX), scope.left_messages()) {
            (Ok(r), Ok(c), Ok(l)) => (r, c, l),
            (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => return Problem::of_store(e).into(),
        };
        let left: Vec<&LeftMessage> = left.iter().filter(|m| m.visitor == id).collect();
        // Newest first: the latest name and email given.
        let given = |f: &dyn Fn(&ChatRecord) -> &str, g: &dyn Fn(&LeftMessage) -> &str| {
            chats
                .iter()
                .map(|c| (c.created_at, f(c)))
                .chain(left.iter().map(|m| (m.at, g(m))))
                .filter(|(_, v)| !v.is_empty())
                .max_by_key(|(at, _)| *at)
                .map(|(_, v)| v.to_string())
                .unwrap_or_default()
        };
        Read::Ok(Json(Visitor {
            id: rec.id.0,
            first_seen_at: rec.created_at,
            name: given(&|c| &c.info.name, &|m| &m.name),
            email: given(&|c| &c.info.email, &|m| &m.email),
            chats: chats.len() as u64,
            messages_left: left.len() as u64,
        }))
    }

    /// A visitor's chats, newest first.
    #[oai(path = "/v1/sites/:site/visitors/:visitor/chats", method = "get")]
    async fn visitor_chats(
        &self,
        auth: Caller,
        state: Data<&AppState>,
        site: Path<u64>,
        visitor: Path<u64>,
    ) -> Read<Vec<Chat>> {
        let Some(scope) = auth.readable(&state, site.0) else { return Problem::not_found().into() };
        let id = VisitorId(visitor.0);
        match scope.visitor(id).and_then(|_| scope.visitor_chats(id, usize::MAX)) {
            Ok(chats) => Read::Ok(Json(chats.iter().map(Chat::of).collect())),
            Err(e) => Problem::of_store(e).into(),
        }
    }

    /// Everything stored about a visitor (their right of access): the same JSON document as
    /// the admin page's export — their chats with every event, messages left, invitations
    /// and files (base64).
    #[oai(path = "/v1/sites/:site/visitors/:visitor/export", method = "get")]
    async fn export_visitor(
        &self,
        auth: Caller,
        state: Data<&AppState>,
        site: Path<u64>,
        visitor: Path<u64>,
    ) -> Write<serde_json::Value> {
        // Personal data in full: for those who may change the site (admins, write tokens).
        let scope = match auth.writable(&state, site.0) {
            Ok(s) => s,
            Err(p) => return p.into(),
        };
        let json = scope.visitor_data(VisitorId(visitor.0)).and_then(|d| d.export_json());
        match json.map(|j| serde_json::from_str(&j)) {
            Ok(Ok(v)) => Write::Ok(Json(v)),
            Ok(Err(e)) => {
                tracing::error!(error = %e, "a visitor's export is not JSON");
                Problem::internal().into()
            }
            Err(e) => Problem::of_store(e).into(),
        }
    }

    /// Erase everything stored about a visitor: chats, events, files, messages left,
    /// invitations. Refused (409) while a chat of theirs is open.
    #[oai(path = "/v1/sites/:site/visitors/:visitor", method = "delete")]
    async fn erase_visitor(
        &self,
        auth: Caller,
        state: Data<&AppState>,
        site: Path<u64>,
        visitor: Path<u64>,
    ) -> Write<Erased> {
        let scope = match auth.writable(&state, site.0) {
            Ok(s) => s,
            Err(p) => return p.into(),
        };
        match scope.erase_visitor(VisitorId(visitor.0)).await {
            Ok(n) => {
                tracing::info!(site = site.0, visitor = visitor.0, chats = n, by = %auth.who(), "visitor data erased");
                Write::Ok(Json(Erased { chats: n as u64 }))
            }
            Err(e) => Problem::of_store(e).into(),
        }
    }

    /// A site's report: the figures of the tables of its Reports page, with the same filters.
    #[oai(path = "/v1/sites/:site/reports", method = "get")]
    #[allow(clippy::too_many_arguments)]
    async fn report(
        &self,
        auth: Caller,
        state: Data<&AppState>,
        site: Path<u64>,
        /// First day, `YYYY-MM-DD` (default: six days before `to`).
        from: Query<Option<String>>,
        /// Last day, included (default: today).
        to: Query<Option<String>>,
        /// The time zone, in minutes east of UTC (the page's list: whole offsets in use).
        tz: Query<Option<i32>>,
        /// `day` (default) or `hour`.
        by: Query<Option<String>>,
    ) -> Read<Report> {
        let Some(scope) = auth.readable(&state, site.0) else { return Problem::not_found().into() };
        let q = crate::web::admin::reports::ReportQuery {
            from: from.0,
            to: to.0,
            tz: tz.0.map(|t| t.to_string()),
            by: by.0,
            csv: None,
        };
        match crate::web::admin::reports::site_report(&scope, &q, now_ms()) {
            Ok(Ok(r)) => Read::Ok(Json(Report {
                from: r.from,
                to: r.to,
                tz: r.tz,
                by: r.by.into(),
                tables: r
                    .tables
                    .into_iter()
                    .map(|t| ReportTable {
                        key: t.key.into(),
                        caption: t.caption,
                        columns: t.head.iter().map(|h| h.to_string()).collect(),
                        rows: t.rows,
                        note: t.note.into(),
                    })
                    .collect(),
            })),
            Ok(Err(message)) => Problem::bad_request(message).into(),
            Err(e) => {
                tracing::error!(error = %e, "a report could not be made");
                Problem::internal().into()
            }
        }
    }
}
