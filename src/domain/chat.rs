//! Chats as they are stored: the chat's summary record and its numbered events. Every event of
//! a chat has a sequence number (1, 2, 3, …, no gaps) so that a client that reconnects can say
//! the last one it saw and get exactly what it missed.

use super::Millis;
use super::ids::{CampaignId, ChatId, DepartmentId, SiteId, UserId, VisitorId};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChatStatus {
    /// Waiting in a queue for an agent.
    Queued,
    /// An agent owns it.
    Active,
    Ended,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EndedBy {
    Visitor,
    Agent,
    /// Nobody could take it: every agent left, or the maximum queue wait passed.
    NoAgent,
    /// Transferred to another site, where a new chat goes on.
    Transfer,
}

/// What the visitor told us before the chat (name, email and the campaign's other fields).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct VisitorInfo {
    pub name: String,
    pub email: String,
    /// Other pre-chat answers by field key.
    pub fields: BTreeMap<String, String>,
    /// The page the chat started on.
    pub page_url: String,
    pub page_title: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Survey {
    /// 1 to 5.
    pub rating: u8,
    pub comment: String,
}

/// A chat's summary, rewritten whenever its status, owner or counters change.
#[derive(Clone, Debug, PartialEq)]
pub struct ChatRecord {
    pub id: ChatId,
    pub site: SiteId,
    pub campaign: CampaignId,
    pub visitor: VisitorId,
    /// The queue it waits in: a department, or `None` for "any agent of the site".
    pub department: Option<DepartmentId>,
    /// Where it is in its life, and whose it is.
    pub state: ChatState,
    pub info: VisitorInfo,
    pub created_at: Millis,
    /// When it (last) entered a queue.
    pub queued_at: Millis,
    pub assigned_at: Option<Millis>,
    /// Sequence number of the chat's last event.
    pub last_seq: u64,
    pub survey: Option<Survey>,
    /// Where a chat that came by cross-site transfer came from.
    pub origin: Option<Origin>,
}

impl ChatRecord {
    /// A new chat, waiting in `department`'s queue (`None`: the site's "any agent" queue).
    pub fn queued(
        id: ChatId,
        site: SiteId,
        campaign: CampaignId,
        visitor: VisitorId,
        department: Option<DepartmentId>,
        info: VisitorInfo,
        now: Millis,
    ) -> ChatRecord {
        ChatRecord {
            id,
            site,
            campaign,
            visitor,
            department,
            state: ChatState::Queued,
            info,
            created_at: now,
            queued_at: now,
            assigned_at: None,
            last_seq: 0,
            survey: None,
            origin: None,
        }
    }

    pub fn status(&self) -> ChatStatus {
        match self.state {
            ChatState::Queued | ChatState::WaitingFor(_) => ChatStatus::Queued,
            ChatState::Active(_) => ChatStatus::Active,
            ChatState::Ended { .. } => ChatStatus::Ended,
        }
    }

    /// The agent who has it, or who had it when it ended.
    pub fn agent(&self) -> Option<UserId> {
        match self.state {
            ChatState::Active(a) => Some(a),
            ChatState::Ended { agent, .. } => agent,
            ChatState::Queued | ChatState::WaitingFor(_) => None,
        }
    }

    /// Transferred "anyway" to one agent who could not take it yet: it waits for them.
    pub fn waiting_for(&self) -> Option<UserId> {
        match self.state {
            ChatState::WaitingFor(a) => Some(a),
            _ => None,
        }
    }

    pub fn ended_at(&self) -> Option<Millis> {
        match self.state {
            ChatState::Ended { at, .. } => Some(at),
            _ => None,
        }
    }

    pub fn ended_by(&self) -> Option<EndedBy> {
        match self.state {
            ChatState::Ended { by, .. } => Some(by),
            _ => None,
        }
    }
}

/// Where a chat is in its life. A chat waiting has no agent, an active one has exactly one,
/// only an ended one has an end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChatState {
    /// Waiting in its queue for the agent the queue's rule picks.
    Queued,
    /// Transferred "anyway" to one agent who could not take it yet: it waits for them.
    WaitingFor(UserId),
    /// An agent has it.
    Active(UserId),
    /// Over. `agent`: who had it at the end, if anyone.
    Ended { at: Millis, by: EndedBy, agent: Option<UserId> },
}

/// The transfer log a receiving agent sees for a chat that came from another site.
#[derive(Clone, Debug, PartialEq)]
pub struct Origin {
    pub site: SiteId,
    pub site_name: String,
    pub chat: ChatId,
    pub agent: UserId,
    pub agent_name: String,
    pub at: Millis,
    pub comment: String,
    pub with_transcript: bool,
    /// Events 1..=`copied` of the new chat are the conversation copied from the source chat.
    pub copied: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TransferKind {
    /// To an agent, at once.
    Cold,
    /// To an agent who accepts or declines first.
    Warm,
    /// To an agent who is away, offline or full: the chat waits for them.
    Unavailable,
    /// Into a department's queue.
    Queue,
    /// Offered to every available member of a department; the first to accept takes it.
    Broadcast,
    /// To another site of a shared cross-site group.
    CrossSite,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TransferOutcome {
    Offered,
    Accepted,
    Declined,
    /// No answer before the timeout.
    Expired,
    Cancelled,
    /// The chat moved.
    Completed,
    /// Waiting for the target agent (unavailable transfer).
    Waiting,
}

/// Why a transfer stopped before the chat moved, stored as a code (words are the reader's).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// The target agent declined (their own words, if any, are the step's `decline_text`).
    Declined,
    /// Nobody answered before the timeout.
    NoAnswer,
    /// The chat ended while the offer was open.
    ChatEnded,
    /// The target went Offline.
    Unavailable,
    /// The server restarted while the offer was open: offers are withdrawn at a restart.
    Restart,
}

impl StopReason {
    pub const ALL: [StopReason; 5] = [
        StopReason::Declined,
        StopReason::NoAnswer,
        StopReason::ChatEnded,
        StopReason::Unavailable,
        StopReason::Restart,
    ];
}

/// Why an offer made to an agent is gone.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Withdrawal {
    /// Another member of the department accepted it first.
    Taken,
    /// The sender withdrew it.
    Cancelled,
    Expired,
    ChatEnded,
    /// You (or, for a warm offer, the target) declined it.
    Declined,
    /// You went Offline.
    Unavailable,
    /// The server restarted.
    Restart,
}

impl Withdrawal {
    pub const ALL: [Withdrawal; 7] = [
        Withdrawal::Taken,
        Withdrawal::Cancelled,
        Withdrawal::Expired,
        Withdrawal::ChatEnded,
        Withdrawal::Declined,
        Withdrawal::Unavailable,
        Withdrawal::Restart,
    ];
}

/// A warm or broadcast offer a chat's stored steps leave open (offered, or accepted and not
/// handed over): what a restart must withdraw.
#[derive(Clone, Debug, PartialEq)]
pub struct OpenOffer {
    pub kind: TransferKind,
    pub from: UserId,
    pub to_agent: Option<UserId>,
    pub to_department: Option<DepartmentId>,
    pub comment: String,
}

impl OpenOffer {
    /// Follow a chat's events in order: `open` is the offer still open after `kind`.
    pub fn follow(open: &mut Option<OpenOffer>, kind: &EventKind) {
        let EventKind::Transfer { transfer, outcome, from, to_agent, to_department, comment, .. } = kind else {
            return;
        };
        let offered = matches!(transfer, TransferKind::Warm | TransferKind::Broadcast);
        match outcome {
            TransferOutcome::Offered if offered => {
                *open = Some(OpenOffer {
                    kind: *transfer,
                    from: *from,
                    to_agent: *to_agent,
                    to_department: *to_department,
                    comment: comment.clone(),
                })
            }
            // Accepted: still open until the hand-over.
            TransferOutcome::Accepted if offered => {}
            _ => *open = None,
        }
    }
}

/// Who wrote a message.
#[derive(Clone, Debug, PartialEq)]
pub enum Author {
    Visitor,
    Agent { agent: UserId, name: String },
}

#[derive(Clone, Debug, PartialEq)]
pub enum EventKind {
    /// A message both sides see; with a file, `text` may be empty (a caption otherwise).
    Message {
        author: Author,
        text: String,
        file: Option<crate::domain::files::FileRef>,
    },
    /// An agents-only note; never sent to the visitor.
    Note {
        agent: UserId,
        name: String,
        text: String,
    },
    /// A system message from the campaign, in its language (greeting, queue message, …).
    System {
        text: String,
    },
    /// The chat entered a queue.
    Queued {
        department: Option<DepartmentId>,
    },
    /// An agent took the chat.
    Assigned {
        agent: UserId,
        name: String,
    },
    Ended {
        by: EndedBy,
    },
    Survey {
        rating: u8,
        comment: String,
    },
    /// A step of a transfer (agents only): what was tried, by whom, to whom, and how it went.
    Transfer {
        transfer: TransferKind,
        outcome: TransferOutcome,
        from: UserId,
        to_agent: Option<UserId>,
        to_department: Option<DepartmentId>,
        to_site: Option<SiteId>,
        comment: String,
        /// Had the transferring agent replied to the visitor before?
        replied: bool,
        /// Why it stopped short, when it did.
        reason: Option<StopReason>,
        /// The declining agent's own words.
        decline_text: String,
    },
}

impl EventKind {
    /// Does the visitor see this event (live and in replays)?
    pub fn visible_to_visitor(&self) -> bool {
        !matches!(self, EventKind::Note { .. } | EventKind::Transfer { .. })
    }

    /// Is it part of the conversation itself (what a cross-site transfer "with transcript"
    /// copies): messages and system texts, not notes, transfer steps or the chat's own course.
    pub fn is_conversation(&self) -> bool {
        matches!(self, EventKind::Message { .. } | EventKind::System { .. })
    }
}

/// One numbered event of a chat.
#[derive(Clone, Debug, PartialEq)]
pub struct ChatEvent {
    pub chat: ChatId,
    pub seq: u64,
    pub at: Millis,
    /// The sender's id for this message, for exactly-once delivery of resends.
    pub client_id: Option<String>,
    pub kind: EventKind,
}

/// A message left when nobody could chat.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LeftMessage {
    pub id: u64,
    pub site: SiteId,
    pub campaign: CampaignId,
    pub visitor: VisitorId,
    pub name: String,
    pub email: String,
    pub text: String,
    pub at: Millis,
    /// The page the visitor was on.
    #[serde(default)]
    pub page: String,
    /// When someone marked it handled (answered, or nothing to do); `None`: still to handle.
    #[serde(default)]
    pub handled_at: Option<Millis>,
    /// Who did: a person's name, or an API token's ("API token CRM").
    #[serde(default)]
    pub handled_by: String,
}
