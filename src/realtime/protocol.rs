//! Every WebSocket frame, both directions, as serde types (documented in docs/protocol.md).
//! Frames are JSON text messages with a "type" field. Clients send `hello` first, with the
//! protocol version `v`.

use crate::domain::chat::{ChatEvent, ChatRecord, TransferOutcome};
use crate::domain::ids::{ChatId, UserId};
use crate::domain::ids::{DepartmentId, InvitationId, SiteId, VisitorId};
use crate::domain::proactive::{InvitationMode, InvitationOutcome};
use crate::domain::switchboard::{ErrorCode, Out, Presence, VisitorView};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;

/// The protocol version this server speaks.
pub const VERSION: u32 = 1;

/// Close codes besides the standard ones (1000 normal, 1001 server going away, 1007 not
/// UTF-8 text, 1009 frame too large, 1011 server error).
pub mod close {
    /// The first frame was not a valid `hello`, or its version is not supported.
    pub const BAD_HELLO: u16 = 4000;
    /// Not signed in any more (agent), or the session ended.
    pub const UNAUTHORIZED: u16 = 4001;
    /// The campaign does not exist (visitor).
    pub const UNKNOWN_CAMPAIGN: u16 = 4004;
    /// The connection did not read its frames fast enough; reconnect and resume.
    pub const TOO_SLOW: u16 = 4008;
    /// The connection kept sending faster than allowed.
    pub const RATE_LIMITED: u16 = 4029;
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Page {
    #[serde(default)]
    pub url: String,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub referrer: String,
}

/// Frames a visitor's widget sends.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum VisitorIn {
    Hello {
        v: u32,
        campaign: u64,
        #[serde(default)]
        token: Option<String>,
        /// The chat the widget was showing, and the last event seq it saw of it: when that is
        /// still the open chat, only later events are sent (otherwise the whole open chat).
        #[serde(default)]
        chat: Option<ChatId>,
        #[serde(default)]
        after: Option<u64>,
        #[serde(default)]
        page: Option<Page>,
    },
    /// Start a chat (or find the open one again) with the pre-chat answers.
    Start {
        #[serde(default)]
        fields: BTreeMap<String, String>,
    },
    Message {
        chat: ChatId,
        id: String,
        text: String,
    },
    Typing {
        chat: ChatId,
        on: bool,
    },
    End {
        chat: ChatId,
    },
    Survey {
        chat: ChatId,
        rating: u8,
        #[serde(default)]
        comment: String,
    },
    LeaveMessage {
        #[serde(default)]
        name: String,
        email: String,
        text: String,
    },
    /// The page changed without a reload.
    Page {
        url: String,
        #[serde(default)]
        title: String,
        #[serde(default)]
        referrer: String,
    },
    /// Accept or refuse the invitation shown.
    InvitationAnswer {
        invitation: InvitationId,
        accept: bool,
    },
    Ping {},
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Resume {
    pub chat: ChatId,
    pub after: u64,
}

/// Frames an agent's console sends.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum AgentIn {
    Hello {
        v: u32,
        /// Chats the console already shows, with the last seq it has of each.
        #[serde(default)]
        chats: Vec<Resume>,
    },
    Presence {
        presence: Presence,
    },
    Message {
        chat: ChatId,
        id: String,
        text: String,
    },
    /// An internal note: agents only, never shown to the visitor.
    Note {
        chat: ChatId,
        id: String,
        text: String,
    },
    Typing {
        chat: ChatId,
        on: bool,
    },
    End {
        chat: ChatId,
    },
    /// Transfer one of your chats.
    Transfer {
        chat: ChatId,
        target: TransferTarget,
        #[serde(default)]
        comment: String,
    },
    /// Answer a transfer offered to you.
    AnswerOffer {
        chat: ChatId,
        accept: bool,
        #[serde(default)]
        reason: String,
    },
    /// Withdraw your pending offer.
    CancelTransfer {
        chat: ChatId,
    },
    /// Hand over a chat whose warm transfer was accepted ("transfer now").
    TransferNow {
        chat: ChatId,
    },
    /// Who may receive a transfer: agents, departments and sites, searched by name, email,
    /// department or skill, optionally of one site.
    Targets {
        #[serde(default)]
        q: String,
        #[serde(default)]
        site: Option<SiteId>,
    },
    /// Events of a chat of the agent's site before seq `before` (default: the newest).
    History {
        chat: ChatId,
        #[serde(default)]
        before: Option<u64>,
        #[serde(default)]
        limit: Option<u32>,
    },
    /// Receive (or stop receiving) the site's live visitor list.
    WatchVisitors {
        on: bool,
    },
    /// Invite a visitor on the site to chat.
    Invite {
        visitor: VisitorId,
        #[serde(default)]
        text: Option<String>,
    },
    /// Start a chat with a visitor on the site, assigned to you.
    OpenChat {
        visitor: VisitorId,
    },
    /// The visitor's chats in this site.
    VisitorChats {
        visitor: VisitorId,
    },
    /// Save your console preferences.
    Prefs {
        prefs: crate::domain::model::ConsolePrefs,
    },
    Ping {},
}

/// Where a transfer goes, as the console asks for it.
#[derive(Debug, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum TransferTarget {
    Agent {
        agent: UserId,
        /// `cold`, `warm` or `anyway` (to an agent who is away, offline or full).
        mode: TransferMode,
        /// With `anyway`: back to the department queue after this many minutes (0: never).
        #[serde(default)]
        fallback_mins: u32,
    },
    Department {
        department: DepartmentId,
        #[serde(default)]
        broadcast: bool,
    },
    Site {
        site: SiteId,
        #[serde(default)]
        department: Option<DepartmentId>,
        #[serde(default)]
        agent: Option<UserId>,
        /// Default: the source site's setting.
        #[serde(default)]
        with_transcript: Option<bool>,
    },
}

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum TransferMode {
    Cold,
    Warm,
    Anyway,
}

/// An agent the chat may go to.
#[derive(Clone, Debug, Serialize)]
pub struct TargetAgent {
    pub id: UserId,
    pub name: String,
    pub email: String,
    pub site: SiteId,
    pub presence: Presence,
    pub active_chats: u32,
    pub max_chats: u32,
    pub departments: Vec<String>,
    pub skills: Vec<String>,
}

/// A department (queue) the chat may go to.
#[derive(Clone, Debug, Serialize)]
pub struct TargetDepartment {
    pub id: DepartmentId,
    pub name: String,
    pub site: SiteId,
    /// Visitors waiting in its queue now.
    pub waiting: u32,
    /// How long the longest of them has waited, in seconds.
    pub longest_wait_secs: u64,
    /// Members Online or Away.
    pub available: u32,
}

/// A site of a shared cross-site group.
#[derive(Clone, Debug, Serialize)]
pub struct TargetSite {
    pub id: SiteId,
    pub name: String,
    /// Someone is Online or Away there now (a transfer can go there).
    pub can_receive: bool,
    pub with_transcript_default: bool,
}

/// A colleague as the console lists them.
#[derive(Clone, Debug, Serialize)]
pub struct AgentView {
    pub id: UserId,
    pub name: String,
    pub presence: Presence,
    pub active_chats: u32,
}

/// Frames the server sends (to visitors and agents).
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame<'a> {
    /// Answer to a visitor's `hello`.
    VisitorWelcome {
        v: u32,
        /// Keep it: it identifies the visitor on later pages and visits.
        token: &'a str,
        visitor: u64,
        campaign: &'a serde_json::Value,
        chat: Option<&'a ChatRecord>,
    },
    /// Answer to an agent's `hello`.
    AgentWelcome {
        v: u32,
        agent: UserId,
        name: &'a str,
        site: u64,
        presence: Presence,
        chats: &'a [ChatRecord],
        agents: &'a [AgentView],
        /// The site's canned replies: `{id, shortcut, text}`.
        canned: &'a [serde_json::Value],
        prefs: &'a crate::domain::model::ConsolePrefs,
    },
    Event(&'a ChatEvent),
    Ack {
        chat: ChatId,
        id: &'a str,
        seq: u64,
    },
    Chat {
        chat: &'a ChatRecord,
    },
    Offline {
        chat: Option<ChatId>,
    },
    Queue {
        chat: ChatId,
        position: u32,
        eta_secs: Option<u32>,
    },
    Typing {
        chat: ChatId,
        by: &'static str,
        on: bool,
    },
    Presence {
        agent: UserId,
        presence: Presence,
        active_chats: u32,
    },
    Assigned {
        chat: &'a ChatRecord,
    },
    /// The chat is no longer yours (you transferred it).
    Unassigned {
        chat: ChatId,
    },
    /// A transfer offered to you: accept or decline before `expires_at` (ms since the epoch).
    Offer {
        chat: &'a ChatRecord,
        from: UserId,
        from_name: &'a str,
        note: &'a str,
        expires_at: u64,
        broadcast: bool,
    },
    /// An offer made to you is gone: `taken`, `cancelled`, `expired`, `chat_ended`,
    /// `declined` or `unavailable`.
    OfferWithdrawn {
        chat: ChatId,
        reason: &'a str,
    },
    /// How your transfer goes: `offered`, `accepted`, `declined`, `expired`, `cancelled`,
    /// `completed`, `waiting`; with the reason and your note (kept for another attempt).
    Transfer {
        chat: ChatId,
        outcome: TransferOutcome,
        reason: &'a str,
        note: &'a str,
        /// For `offered`: when the offer runs out (ms since the epoch).
        #[serde(skip_serializing_if = "Option::is_none")]
        expires_at: Option<u64>,
    },
    /// Answer to `targets`: whom this chat may be transferred to.
    Targets {
        agents: &'a [TargetAgent],
        departments: &'a [TargetDepartment],
        sites: &'a [TargetSite],
    },
    History {
        chat: ChatId,
        events: &'a [ChatEvent],
        /// Older events exist.
        more: bool,
    },
    /// A message was left for the site.
    Left,
    /// The live visitor list: all of it (`full`), or what changed.
    Visitors {
        full: bool,
        visitors: &'a [VisitorView],
        left: &'a [VisitorId],
    },
    Invitation {
        invitation: InvitationId,
        text: &'a str,
        mode: InvitationMode,
        agent: Option<&'a str>,
    },
    InvitationClosed {
        invitation: InvitationId,
        outcome: InvitationOutcome,
    },
    ProactiveAlert {
        visitor: &'a VisitorView,
        invitation: InvitationId,
        expires_at: u64,
    },
    ProactiveAlertWithdrawn {
        visitor: VisitorId,
        invitation: InvitationId,
        reason: &'a str,
    },
    /// Answer to `visitor_chats`.
    VisitorChats {
        visitor: VisitorId,
        chats: &'a [ChatRecord],
    },
    /// Your console preferences (changed in another tab).
    Prefs {
        prefs: &'a crate::domain::model::ConsolePrefs,
    },
    Error {
        code: &'a str,
        message: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        id: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        field: Option<&'a str>,
        /// The chat the failed frame was about.
        #[serde(skip_serializing_if = "Option::is_none")]
        chat: Option<ChatId>,
    },
    Pong,
}

/// A frame ready to send: its JSON, and the chat event it carries (to drop duplicates when a
/// replay and the live stream overlap).
#[derive(Clone, Debug)]
pub struct Frame {
    pub event: Option<(ChatId, u64)>,
    pub json: Arc<str>,
}

impl Frame {
    pub fn new(f: &ServerFrame<'_>) -> Frame {
        let event = match f {
            ServerFrame::Event(e) => Some((e.chat, e.seq)),
            _ => None,
        };
        // Serializing these plain types cannot fail.
        Frame { event, json: serde_json::to_string(f).expect("frames serialize").into() }
    }

    pub fn error(code: &str, message: &str, id: Option<&str>, field: Option<&str>) -> Frame {
        Frame::new(&ServerFrame::Error { code, message, id, field, chat: None })
    }

    /// An error about one chat.
    pub fn chat_error(code: &str, message: &str, id: Option<&str>, chat: Option<ChatId>) -> Frame {
        Frame::new(&ServerFrame::Error { code, message, id, field: None, chat })
    }
}

pub fn error_code(code: ErrorCode) -> &'static str {
    match code {
        ErrorCode::ChatNotFound => "chat_not_found",
        ErrorCode::ChatEnded => "chat_ended",
        ErrorCode::EmptyMessage => "empty_message",
        ErrorCode::MessageTooLong => "message_too_long",
        ErrorCode::InvalidRating => "invalid_rating",
        ErrorCode::NotAllowed => "not_allowed",
        ErrorCode::TargetUnavailable => "target_unavailable",
        ErrorCode::TargetFull => "target_full",
        ErrorCode::TransferPending => "transfer_pending",
        ErrorCode::NoTransfer => "no_transfer",
        ErrorCode::OfferGone => "offer_gone",
        ErrorCode::NotInGroup => "not_in_group",
        ErrorCode::SiteUnavailable => "site_unavailable",
        ErrorCode::NoOneAvailable => "no_one_available",
        ErrorCode::UnknownTarget => "unknown_target",
        ErrorCode::VisitorGone => "visitor_gone",
        ErrorCode::AlreadyChatting => "already_chatting",
        ErrorCode::InvitationPending => "invitation_pending",
    }
}

/// The frame for a switchboard output.
pub fn render(out: &Out) -> Frame {
    match out {
        Out::Event(e) => Frame::new(&ServerFrame::Event(e)),
        Out::Ack { chat, client_id, seq } => Frame::new(&ServerFrame::Ack { chat: *chat, id: client_id, seq: *seq }),
        Out::Chat(rec) => Frame::new(&ServerFrame::Chat { chat: rec }),
        Out::Offline { chat } => Frame::new(&ServerFrame::Offline { chat: *chat }),
        Out::Queue { chat, position, eta_secs } => {
            Frame::new(&ServerFrame::Queue { chat: *chat, position: *position, eta_secs: *eta_secs })
        }
        Out::Typing { chat, by_agent, on } => {
            Frame::new(&ServerFrame::Typing { chat: *chat, by: if *by_agent { "agent" } else { "visitor" }, on: *on })
        }
        Out::Presence { agent, presence, active_chats } => {
            Frame::new(&ServerFrame::Presence { agent: *agent, presence: *presence, active_chats: *active_chats })
        }
        Out::Assigned(rec) => Frame::new(&ServerFrame::Assigned { chat: rec }),
        Out::Unassigned { chat } => Frame::new(&ServerFrame::Unassigned { chat: *chat }),
        Out::Offer { chat, from, from_name, note, expires_at, broadcast } => Frame::new(&ServerFrame::Offer {
            chat,
            from: *from,
            from_name,
            note,
            expires_at: *expires_at,
            broadcast: *broadcast,
        }),
        Out::OfferWithdrawn { chat, reason } => Frame::new(&ServerFrame::OfferWithdrawn { chat: *chat, reason }),
        Out::TransferStatus { chat, outcome, reason, note, expires_at } => {
            Frame::new(&ServerFrame::Transfer { chat: *chat, outcome: *outcome, reason, note, expires_at: *expires_at })
        }
        Out::Error { code, client_id, chat } => {
            Frame::chat_error(error_code(*code), code.message(), client_id.as_deref(), *chat)
        }
        Out::Visitors { full, visitors, left } => Frame::new(&ServerFrame::Visitors { full: *full, visitors, left }),
        Out::Invitation { invitation, text, mode, agent } => {
            Frame::new(&ServerFrame::Invitation { invitation: *invitation, text, mode: *mode, agent: agent.as_deref() })
        }
        Out::InvitationClosed { invitation, outcome } => {
            Frame::new(&ServerFrame::InvitationClosed { invitation: *invitation, outcome: *outcome })
        }
        Out::ProactiveAlert { visitor, invitation, expires_at } => {
            Frame::new(&ServerFrame::ProactiveAlert { visitor, invitation: *invitation, expires_at: *expires_at })
        }
        Out::ProactiveAlertWithdrawn { visitor, invitation, reason } => {
            Frame::new(&ServerFrame::ProactiveAlertWithdrawn { visitor: *visitor, invitation: *invitation, reason })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::chat::{Author, EventKind};

    #[test]
    fn event_frames_flatten_the_event_and_remember_its_seq() {
        let e = ChatEvent {
            chat: ChatId(7),
            seq: 3,
            at: 1000,
            client_id: Some("m1".into()),
            kind: EventKind::Message { author: Author::Visitor, text: "hi".into() },
        };
        let f = render(&Out::Event(e));
        assert_eq!(f.event, Some((ChatId(7), 3)));
        let v: serde_json::Value = serde_json::from_str(&f.json).expect("json");
        assert_eq!(v["type"], "event");
        assert_eq!(v["kind"], "message");
        assert_eq!(v["author"]["by"], "visitor");
        assert_eq!(v["seq"], 3);
        assert_eq!(v["client_id"], "m1");
    }

    #[test]
    fn client_frames_reject_unknown_types_and_fields() {
        assert!(serde_json::from_str::<VisitorIn>(r#"{"type":"hello","v":1,"campaign":3}"#).is_ok());
        assert!(serde_json::from_str::<VisitorIn>(r#"{"type":"shout"}"#).is_err());
        assert!(serde_json::from_str::<VisitorIn>(r#"{"type":"ping","x":1}"#).is_err());
        assert!(serde_json::from_str::<AgentIn>(r#"{"type":"presence","presence":"away"}"#).is_ok());
        assert!(serde_json::from_str::<AgentIn>(r#"{"type":"presence","presence":"asleep"}"#).is_err());
    }
}
