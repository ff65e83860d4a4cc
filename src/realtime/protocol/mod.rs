//! The wire: every WebSocket frame, both directions (documented in docs/protocol.md). This is
//! the only place that shapes what clients receive, and it does so per audience:
//! - `visitor`: what a visitor's widget may see (`VisitorFrame` and its views);
//! - `agent`: what an agent's console sees (`AgentFrame`), where a chat that came from another
//!   site carries only what that site sent along;
//! - `inbound`: the frames clients send.
//!
//! A `Frame` remembers the audience it was made for; the hub and the sockets deliver it only
//! to a connection of that audience. Domain records are never serialized to the wire as they
//! are: each frame is built from a view type here.

mod agent;
mod inbound;
mod visitor;

pub use agent::*;
pub use inbound::*;
pub use visitor::*;

use crate::domain::ids::{CampaignId, ChatId};
use crate::domain::model::Campaign;
use crate::domain::switchboard::{ErrorCode, Out, Target};
use serde::Serialize;
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

/// Who a frame is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Audience {
    /// A visitor's widget.
    Visitor,
    /// An agent's console.
    Agent,
}

impl Audience {
    pub fn of(target: Target) -> Audience {
        if target.is_visitor() { Audience::Visitor } else { Audience::Agent }
    }
}

/// A frame ready to send: its audience, its JSON, and the chat event it carries (to drop
/// duplicates when a replay and the live stream overlap).
#[derive(Clone, Debug)]
pub struct Frame {
    pub audience: Audience,
    pub event: Option<(ChatId, u64)>,
    pub json: Arc<str>,
}

impl Frame {
    fn serialize(audience: Audience, event: Option<(ChatId, u64)>, value: &impl Serialize) -> Frame {
        // Serializing these plain view types cannot fail.
        Frame { audience, event, json: serde_json::to_string(value).expect("frames serialize").into() }
    }

    /// An `error` frame for `audience`.
    pub fn error(audience: Audience, e: WireError, detail: ErrorDetail<'_>) -> Frame {
        let ErrorDetail { message, id, field, chat } = detail;
        let message = message.unwrap_or(e.message());
        match audience {
            Audience::Visitor => VisitorFrame::Error { code: e, message, id, field, chat }.frame(),
            Audience::Agent => AgentFrame::Error { code: e, message, id, field, chat }.frame(),
        }
    }

    /// `pong`, for `audience`.
    pub fn pong(audience: Audience) -> Frame {
        match audience {
            Audience::Visitor => VisitorFrame::Pong.frame(),
            Audience::Agent => AgentFrame::Pong.frame(),
        }
    }
}

/// What an error frame says besides its code.
#[derive(Clone, Copy, Debug, Default)]
pub struct ErrorDetail<'a> {
    /// Instead of the code's own message.
    pub message: Option<&'a str>,
    /// The client id of the message the error answers.
    pub id: Option<&'a str>,
    /// The form field at fault.
    pub field: Option<&'a str>,
    /// The chat the failed frame was about.
    pub chat: Option<ChatId>,
}

impl<'a> ErrorDetail<'a> {
    pub fn message(message: &'a str) -> ErrorDetail<'a> {
        ErrorDetail { message: Some(message), ..Default::default() }
    }
    pub fn chat(chat: ChatId) -> ErrorDetail<'a> {
        ErrorDetail { chat: Some(chat), ..Default::default() }
    }
}

/// Every error code a client can receive, from the socket layer or the switchboard. The
/// serialized name is the code (`bad_frame`, `chat_not_found`, …).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WireError {
    // ---- the socket layer ----
    /// The frame could not be decoded.
    BadFrame,
    /// The first frame was not `hello`.
    HelloFirst,
    AlreadyHello,
    UnsupportedVersion,
    UnknownCampaign,
    SiteDisabled,
    InvalidToken,
    /// A pre-chat answer or a left message's field is not valid.
    InvalidField,
    RateLimited,
    /// The server could not do it (a store error); try again.
    Internal,
    /// A `message` names an upload that is not the sender's, not for this chat, not complete,
    /// or already sent by another message.
    UploadNotFound,
    // ---- the switchboard (`ErrorCode`) ----
    ChatNotFound,
    ChatEnded,
    EmptyMessage,
    MessageTooLong,
    InvalidRating,
    NotAllowed,
    TargetUnavailable,
    TargetFull,
    TransferPending,
    NoTransfer,
    OfferGone,
    NotInGroup,
    SiteUnavailable,
    NoOneAvailable,
    UnknownTarget,
    VisitorGone,
    AlreadyChatting,
    InvitationPending,
}

impl From<ErrorCode> for WireError {
    fn from(c: ErrorCode) -> WireError {
        match c {
            ErrorCode::ChatNotFound => WireError::ChatNotFound,
            ErrorCode::ChatEnded => WireError::ChatEnded,
            ErrorCode::EmptyMessage => WireError::EmptyMessage,
            ErrorCode::MessageTooLong => WireError::MessageTooLong,
            ErrorCode::InvalidRating => WireError::InvalidRating,
            ErrorCode::NotAllowed => WireError::NotAllowed,
            ErrorCode::TargetUnavailable => WireError::TargetUnavailable,
            ErrorCode::TargetFull => WireError::TargetFull,
            ErrorCode::TransferPending => WireError::TransferPending,
            ErrorCode::NoTransfer => WireError::NoTransfer,
            ErrorCode::OfferGone => WireError::OfferGone,
            ErrorCode::NotInGroup => WireError::NotInGroup,
            ErrorCode::SiteUnavailable => WireError::SiteUnavailable,
            ErrorCode::NoOneAvailable => WireError::NoOneAvailable,
            ErrorCode::UnknownTarget => WireError::UnknownTarget,
            ErrorCode::VisitorGone => WireError::VisitorGone,
            ErrorCode::AlreadyChatting => WireError::AlreadyChatting,
            ErrorCode::InvitationPending => WireError::InvitationPending,
        }
    }
}

impl WireError {
    /// Every code, for the check that the clients' copies do not drift.
    pub const ALL: [WireError; 29] = [
        WireError::BadFrame,
        WireError::HelloFirst,
        WireError::AlreadyHello,
        WireError::UnsupportedVersion,
        WireError::UnknownCampaign,
        WireError::SiteDisabled,
        WireError::InvalidToken,
        WireError::InvalidField,
        WireError::RateLimited,
        WireError::Internal,
        WireError::ChatNotFound,
        WireError::ChatEnded,
        WireError::EmptyMessage,
        WireError::MessageTooLong,
        WireError::InvalidRating,
        WireError::NotAllowed,
        WireError::TargetUnavailable,
        WireError::TargetFull,
        WireError::TransferPending,
        WireError::NoTransfer,
        WireError::OfferGone,
        WireError::NotInGroup,
        WireError::SiteUnavailable,
        WireError::NoOneAvailable,
        WireError::UnknownTarget,
        WireError::VisitorGone,
        WireError::AlreadyChatting,
        WireError::InvitationPending,
        WireError::UploadNotFound,
    ];

    /// The code as it is on the wire (for close reasons and logs).
    pub fn code(self) -> String {
        serde_json::to_value(self).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
    }

    /// The English explanation sent with the code (clients show their own words by code).
    pub fn message(self) -> &'static str {
        match self {
            WireError::BadFrame => "This frame could not be read.",
            WireError::HelloFirst => "The first frame must be hello.",
            WireError::AlreadyHello => "Hello was said already.",
            WireError::UnsupportedVersion => "This server speaks protocol version 1.",
            WireError::UnknownCampaign => "There is no such campaign.",
            WireError::SiteDisabled => "Live chat is turned off for this site.",
            WireError::InvalidToken => "This visitor token is not valid here; a new one was issued.",
            WireError::InvalidField => "A field is not valid.",
            WireError::RateLimited => "Too many frames: this one was dropped; slow down.",
            WireError::Internal => "The server could not do this; try again.",
            WireError::ChatNotFound => "No such chat.",
            WireError::ChatEnded => "This chat has ended.",
            WireError::EmptyMessage => "The message is empty.",
            WireError::MessageTooLong => "The message is too long.",
            WireError::InvalidRating => "The rating must be from 1 to 5.",
            WireError::NotAllowed => "Not allowed.",
            WireError::TargetUnavailable => "That agent is offline: transfer anyway to have the chat wait for them.",
            WireError::TargetFull => "That agent has no free place for another chat.",
            WireError::TransferPending => "A transfer of this chat is already under way.",
            WireError::NoTransfer => "There is no transfer under way for this chat.",
            WireError::OfferGone => "This offer is no longer open.",
            WireError::NotInGroup => "That site is not in a cross-site group with this one.",
            WireError::SiteUnavailable => "Nobody is available at that site right now.",
            WireError::NoOneAvailable => "Nobody of that department is available right now.",
            WireError::UnknownTarget => "There is no such agent, department or site.",
            WireError::VisitorGone => "That visitor is not on the site any more.",
            WireError::AlreadyChatting => "That visitor is already in a chat.",
            WireError::InvitationPending => "That visitor is already invited.",
            WireError::UploadNotFound => "No such upload for this chat: upload the file again.",
        }
    }
}

/// What files may be sent in a site's chats (`files` in both welcomes; null: none).
#[derive(Debug, Serialize)]
pub struct FilesView {
    /// The largest file, in bytes.
    pub max_bytes: u64,
    /// The families of types the site takes: "image", "pdf", "text", "office", "archive".
    pub types: Vec<&'static str>,
}

impl FilesView {
    pub fn of(site: &crate::domain::model::Site, max_bytes: u64) -> Option<FilesView> {
        let f = &site.files;
        (f.enabled && !f.types.is_empty())
            .then(|| FilesView { max_bytes, types: f.types.iter().map(|t| t.code()).collect() })
    }
}

/// A file in a message, as both audiences see it.
#[derive(Debug, Serialize)]
pub struct FileView<'a> {
    pub name: &'a str,
    /// The type read from the file's content.
    #[serde(rename = "type")]
    pub mime: &'a str,
    pub size: u64,
    /// Shown inline (PNG, JPEG, GIF, WebP); anything else is offered as a download.
    pub image: bool,
    /// Where to fetch it, relative to the server (with the session, or the visitor's token).
    pub url: String,
}

impl<'a> FileView<'a> {
    pub fn of(f: &'a crate::domain::files::FileRef) -> FileView<'a> {
        FileView { name: &f.name, mime: &f.mime, size: f.size, image: f.is_image(), url: f.path() }
    }
}

/// The frame for a switchboard output sent to `target`, shaped for the target's audience;
/// `None` when that audience may not receive it at all (a note or a transfer step for a
/// visitor, an agent's offer for a widget).
pub fn render(target: Target, out: &Out) -> Option<Frame> {
    render_with(target, out, &|_| None)
}

/// Where a campaign is found by id (the switchboard's directory).
pub type CampaignOf<'a> = dyn Fn(CampaignId) -> Option<&'a Campaign> + 'a;

/// `render`, with the campaigns of the directory (`campaign_of`), for the visitor's view of a
/// chat that moved to another site's campaign.
pub fn render_with<'a>(target: Target, out: &Out, campaign_of: &CampaignOf<'a>) -> Option<Frame> {
    match Audience::of(target) {
        Audience::Visitor => render_for_visitor(out, campaign_of),
        Audience::Agent => render_for_agent(out),
    }
}

fn render_for_visitor<'a>(out: &Out, campaign_of: &CampaignOf<'a>) -> Option<Frame> {
    let f = match out {
        Out::Event(e) => VisitorFrame::Event(VisitorEvent::of(e)?),
        Out::Ack { chat, client_id, seq } => VisitorFrame::Ack { chat: *chat, id: client_id, seq: *seq },
        Out::Chat(rec) => VisitorFrame::Chat { chat: VisitorChat::of(rec, campaign_of(rec.campaign)) },
        Out::Offline { chat } => VisitorFrame::Offline { chat: *chat },
        Out::Queue { chat, position, eta_secs } => {
            VisitorFrame::Queue { chat: *chat, position: *position, eta_secs: *eta_secs }
        }
        Out::Typing { chat, by_agent: true, on } => VisitorFrame::Typing { chat: *chat, by: "agent", on: *on },
        Out::Invitation { invitation, text, mode, agent } => {
            VisitorFrame::Invitation { invitation: *invitation, text, mode: *mode, agent: agent.as_deref() }
        }
        Out::InvitationClosed { invitation, outcome } => {
            VisitorFrame::InvitationClosed { invitation: *invitation, outcome: *outcome }
        }
        Out::Error { code, client_id, chat } => {
            let detail = ErrorDetail { id: client_id.as_deref(), chat: *chat, ..Default::default() };
            return Some(Frame::error(Audience::Visitor, WireError::from(*code), detail));
        }
        // Agents' business: the core never addresses these to a visitor, and if it did, the
        // visitor would not get them.
        Out::Typing { by_agent: false, .. }
        | Out::Presence { .. }
        | Out::Assigned(_)
        | Out::Unassigned { .. }
        | Out::Offer { .. }
        | Out::OfferWithdrawn { .. }
        | Out::TransferStatus { .. }
        | Out::Visitors { .. }
        | Out::ProactiveAlert { .. }
        | Out::ProactiveAlertWithdrawn { .. } => {
            tracing::error!(?out, "an agents' frame addressed to a visitor was not sent");
            return None;
        }
    };
    Some(f.frame())
}

fn render_for_agent(out: &Out) -> Option<Frame> {
    let f = match out {
        Out::Event(e) => AgentFrame::Event(AgentEvent::of(e)),
        Out::Ack { chat, client_id, seq } => AgentFrame::Ack { chat: *chat, id: client_id, seq: *seq },
        // A visitor's frames: an agent's console learns of chats by `assigned`.
        Out::Chat(_)
        | Out::Offline { .. }
        | Out::Queue { .. }
        | Out::Invitation { .. }
        | Out::InvitationClosed { .. } => {
            tracing::error!(?out, "a visitor's frame addressed to an agent was not sent");
            return None;
        }
        Out::Typing { chat, by_agent, on } => {
            AgentFrame::Typing { chat: *chat, by: if *by_agent { "agent" } else { "visitor" }, on: *on }
        }
        Out::Presence { agent, presence, active_chats } => {
            AgentFrame::Presence { agent: *agent, presence: *presence, active_chats: *active_chats }
        }
        Out::Assigned(rec) => AgentFrame::Assigned { chat: AgentChat::of(rec) },
        Out::Unassigned { chat } => AgentFrame::Unassigned { chat: *chat },
        Out::Offer { chat, from, from_name, note, expires_at, broadcast } => AgentFrame::Offer(OfferView {
            chat: AgentChat::of(chat),
            from: *from,
            from_name,
            note,
            expires_at: *expires_at,
            broadcast: *broadcast,
        }),
        Out::OfferWithdrawn { chat, reason } => AgentFrame::OfferWithdrawn { chat: *chat, reason: *reason },
        Out::TransferStatus { chat, outcome, reason, decline_text, note, expires_at } => AgentFrame::Transfer {
            chat: *chat,
            outcome: *outcome,
            reason: *reason,
            decline_text,
            note,
            expires_at: *expires_at,
        },
        Out::Error { code, client_id, chat } => {
            let detail = ErrorDetail { id: client_id.as_deref(), chat: *chat, ..Default::default() };
            return Some(Frame::error(Audience::Agent, WireError::from(*code), detail));
        }
        Out::Visitors { full, visitors, left } => {
            AgentFrame::Visitors { full: *full, visitors: visitors.iter().map(LiveVisitorView::of).collect(), left }
        }
        Out::ProactiveAlert { visitor, invitation, expires_at } => AgentFrame::ProactiveAlert {
            visitor: LiveVisitorView::of(visitor),
            invitation: *invitation,
            expires_at: *expires_at,
        },
        Out::ProactiveAlertWithdrawn { visitor, invitation, reason } => {
            AgentFrame::ProactiveAlertWithdrawn { visitor: *visitor, invitation: *invitation, reason: *reason }
        }
    };
    Some(f.frame())
}

#[cfg(test)]
mod tests;
