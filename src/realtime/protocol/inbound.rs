//! Frames clients send: the widget's (`VisitorIn`) and the console's (`AgentIn`). Unknown
//! types and fields are refused (`bad_frame`).

use crate::domain::ids::{ChatId, DepartmentId, InvitationId, SiteId, UserId, VisitorId};
use crate::domain::switchboard::Presence;
use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Page {
    #[serde(default)]
    pub url: String,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub referrer: String,
    /// The visitor's time zone (IANA name, "Europe/Paris"), as their browser tells it.
    #[serde(default)]
    pub zone: String,
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
        /// May be empty when `upload` is given.
        #[serde(default)]
        text: String,
        /// A file uploaded for this chat (`POST /api/visitor/uploads`), sent with the message.
        #[serde(default)]
        upload: Option<u64>,
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
    /// Mail the conversation of an ended chat to the chat's own email address.
    EmailTranscript {
        chat: ChatId,
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
        /// May be empty when `upload` is given.
        #[serde(default)]
        text: String,
        /// A file uploaded for this chat (`POST /console/uploads`), sent with the message.
        #[serde(default)]
        upload: Option<u64>,
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
        prefs: PrefsIn,
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

/// Console preferences as the console sends them (all four required).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrefsIn {
    pub sound: bool,
    pub notify: bool,
    pub front_on_chat: bool,
    pub front_on_message: bool,
}

impl From<PrefsIn> for crate::domain::model::ConsolePrefs {
    fn from(p: PrefsIn) -> Self {
        crate::domain::model::ConsolePrefs {
            sound: p.sound,
            notify: p.notify,
            front_on_chat: p.front_on_chat,
            front_on_message: p.front_on_message,
        }
    }
}
