//! What a visitor's widget may receive, and nothing more: a chat's status and numbering (no
//! agent ids or emails, no department, no `origin`, no transfer state), the events a visitor
//! sees (messages, system texts, who joined, the end, the survey; never notes or transfer
//! steps), and the typed view of their campaign.

use super::{Audience, Frame, WireError};
use crate::domain::Millis;
use crate::domain::chat::{Author, ChatEvent, ChatRecord, ChatStatus, EndedBy, EventKind};
use crate::domain::i18n::Message as Text;
use crate::domain::ids::{CampaignId, ChatId, InvitationId};
use crate::domain::model::{Campaign, FieldKind, PrechatField, ProactiveMode, WindowPosition};
use crate::domain::proactive::{InvitationMode, InvitationOutcome};
use serde::Serialize;

/// A chat as its visitor sees it.
#[derive(Debug, Serialize)]
pub struct VisitorChat<'a> {
    pub id: ChatId,
    pub status: ChatStatus,
    /// The seq of the chat's latest event (the events a visitor is not shown count too).
    pub last_seq: u64,
    /// After a cross-site transfer: the receiving site's campaign, whose language, texts and
    /// post-chat form the widget now follows (it keeps its own window style).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub campaign: Option<ChatCampaignView<'a>>,
    /// The chat has the visitor's email address (from the pre-chat form): the widget may offer
    /// to mail the conversation there (`email_transcript`).
    pub has_email: bool,
}

impl<'a> VisitorChat<'a> {
    /// `campaign`: the chat's campaign, shown when the chat came from another site.
    pub fn of(c: &ChatRecord, campaign: Option<&'a Campaign>) -> VisitorChat<'a> {
        let campaign = campaign.filter(|k| c.origin.is_some() && k.id == c.campaign).map(ChatCampaignView::of);
        VisitorChat {
            id: c.id,
            status: c.status(),
            last_seq: c.last_seq,
            campaign,
            has_email: !c.info.email.is_empty(),
        }
    }
}

/// What the widget follows of the campaign a chat moved to: its language, texts and post-chat
/// form (not its window style, pre-chat form or proactive rule).
#[derive(Debug, Serialize)]
pub struct ChatCampaignView<'a> {
    pub id: CampaignId,
    pub language: &'static str,
    pub messages: MessagesView<'a>,
    pub postchat: PostchatView<'a>,
}

impl<'a> ChatCampaignView<'a> {
    fn of(c: &'a Campaign) -> ChatCampaignView<'a> {
        let v = CampaignView::of(c);
        ChatCampaignView { id: v.id, language: v.language, messages: v.messages, postchat: v.postchat }
    }
}

/// Who wrote a message, as the visitor sees it: themselves, or an agent by name.
#[derive(Debug, Serialize)]
#[serde(tag = "by", rename_all = "snake_case")]
pub enum VisitorAuthor<'a> {
    Visitor,
    Agent { name: &'a str },
}

#[derive(Debug, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum VisitorEventKind<'a> {
    Message {
        author: VisitorAuthor<'a>,
        text: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        file: Option<super::FileView<'a>>,
    },
    System {
        text: &'a str,
    },
    Queued {},
    Assigned {
        name: &'a str,
    },
    Ended {
        by: EndedBy,
    },
    Survey {
        rating: u8,
        comment: &'a str,
    },
}

/// A chat event as its visitor sees it.
#[derive(Debug, Serialize)]
pub struct VisitorEvent<'a> {
    pub chat: ChatId,
    pub seq: u64,
    pub at: Millis,
    /// The visitor's own message id (their messages only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<&'a str>,
    #[serde(flatten)]
    pub kind: VisitorEventKind<'a>,
}

impl<'a> VisitorEvent<'a> {
    /// The visitor's view of an event; `None` for what only agents see (notes, transfer steps).
    pub fn of(e: &'a ChatEvent) -> Option<VisitorEvent<'a>> {
        let mut client_id = None;
        let kind = match &e.kind {
            EventKind::Message { author: Author::Visitor, text, file } => {
                client_id = e.client_id.as_deref();
                let file = file.as_ref().map(super::FileView::of);
                VisitorEventKind::Message { author: VisitorAuthor::Visitor, text, file }
            }
            EventKind::Message { author: Author::Agent { name, .. }, text, file } => {
                let file = file.as_ref().map(super::FileView::of);
                VisitorEventKind::Message { author: VisitorAuthor::Agent { name }, text, file }
            }
            EventKind::System { text } => VisitorEventKind::System { text },
            EventKind::Queued { .. } => VisitorEventKind::Queued {},
            EventKind::Assigned { name, .. } => VisitorEventKind::Assigned { name },
            EventKind::Ended { by } => VisitorEventKind::Ended { by: *by },
            EventKind::Survey { rating, comment } => VisitorEventKind::Survey { rating: *rating, comment },
            EventKind::Note { .. } | EventKind::Transfer { .. } => return None,
        };
        Some(VisitorEvent { chat: e.chat, seq: e.seq, at: e.at, client_id, kind })
    }
}

#[derive(Debug, Serialize)]
pub struct MessagesView<'a> {
    pub greeting: &'a str,
    pub queue: &'a str,
    pub transfer: &'a str,
    pub offline: &'a str,
}

#[derive(Debug, Serialize)]
pub struct StyleView<'a> {
    pub title: &'a str,
    pub color: &'a str,
    pub position: WindowPosition,
}

#[derive(Debug, Serialize)]
pub struct PrechatFieldView<'a> {
    pub key: &'a str,
    pub label: &'a str,
    pub kind: FieldKind,
    pub required: bool,
}

impl<'a> PrechatFieldView<'a> {
    fn of(f: &'a PrechatField) -> PrechatFieldView<'a> {
        PrechatFieldView { key: &f.key, label: &f.label, kind: f.kind, required: f.required }
    }
}

#[derive(Debug, Serialize)]
pub struct PostchatView<'a> {
    pub enabled: bool,
    pub question: &'a str,
    pub comment: bool,
}

#[derive(Debug, Serialize)]
pub struct ProactiveView<'a> {
    pub mode: ProactiveMode,
    pub after_secs: u32,
    pub url_rules: &'a [String],
    pub invitation_text: &'a str,
    pub reinvite_after_mins: u32,
}

/// What the widget needs of its campaign (`visitor_welcome.campaign`).
#[derive(Debug, Serialize)]
pub struct CampaignView<'a> {
    pub id: CampaignId,
    pub language: &'static str,
    pub messages: MessagesView<'a>,
    pub style: StyleView<'a>,
    pub prechat: Vec<PrechatFieldView<'a>>,
    pub postchat: PostchatView<'a>,
    pub proactive: ProactiveView<'a>,
}

impl<'a> CampaignView<'a> {
    pub fn of(c: &'a Campaign) -> CampaignView<'a> {
        CampaignView {
            id: c.id,
            language: c.language.code(),
            messages: MessagesView {
                greeting: c.message(Text::Greeting),
                queue: c.message(Text::Queue),
                transfer: c.message(Text::Transfer),
                offline: c.message(Text::Offline),
            },
            style: StyleView { title: &c.style.title, color: &c.style.color, position: c.style.position },
            prechat: c.prechat.iter().map(PrechatFieldView::of).collect(),
            postchat: PostchatView {
                enabled: c.postchat.enabled,
                question: &c.postchat.question,
                comment: c.postchat.comment,
            },
            proactive: ProactiveView {
                mode: c.proactive.mode,
                after_secs: c.proactive.after_secs,
                url_rules: &c.proactive.url_rules,
                invitation_text: c.invitation_text(),
                reinvite_after_mins: c.proactive.reinvite_after_mins,
            },
        }
    }
}

/// Every frame a visitor's widget can receive.
#[derive(Debug, Serialize)]
#[allow(clippy::large_enum_variant)] // made on the stack, serialized at once, never kept
#[serde(tag = "type", rename_all = "snake_case")]
pub enum VisitorFrame<'a> {
    /// Answer to `hello`.
    VisitorWelcome {
        v: u32,
        /// Keep it: it identifies the visitor on later pages and visits.
        token: &'a str,
        visitor: u64,
        campaign: CampaignView<'a>,
        chat: Option<VisitorChat<'a>>,
        /// The largest message text the server takes, in bytes (UTF-8).
        max_message_bytes: usize,
        /// The server sends mail: a chat's conversation can be mailed to its email address.
        mail: bool,
        /// Files the site's chats take; null: none.
        files: Option<super::FilesView>,
    },
    Event(VisitorEvent<'a>),
    Ack {
        chat: ChatId,
        id: &'a str,
        seq: u64,
    },
    Chat {
        chat: VisitorChat<'a>,
    },
    Offline {
        chat: Option<ChatId>,
    },
    Queue {
        chat: ChatId,
        position: u32,
        eta_secs: Option<u32>,
    },
    /// Only an agent's typing reaches the visitor.
    Typing {
        chat: ChatId,
        by: &'static str,
        on: bool,
    },
    /// The message left is stored.
    Left,
    /// The conversation's copy is queued for the chat's email address.
    TranscriptEmailed {
        chat: ChatId,
    },
    Invitation {
        invitation: InvitationId,
        text: &'a str,
        mode: InvitationMode,
        /// The inviting agent's name (manual invitations).
        agent: Option<&'a str>,
    },
    InvitationClosed {
        invitation: InvitationId,
        outcome: InvitationOutcome,
    },
    Error {
        code: WireError,
        message: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        id: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        field: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        chat: Option<ChatId>,
    },
    Pong,
}

impl VisitorFrame<'_> {
    pub fn frame(&self) -> Frame {
        let event = match self {
            VisitorFrame::Event(e) => Some((e.chat, e.seq)),
            _ => None,
        };
        Frame::serialize(Audience::Visitor, event, self)
    }
}
