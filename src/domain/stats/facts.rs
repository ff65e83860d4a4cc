//! What one chat (or one invitation) contributes to the statistics: a list of settled facts,
//! each with the moment it is reported under and the event that settled it. Definitions of
//! every figure: `docs/statistics.md`.

use super::super::Millis;
use super::super::chat::{EndedBy, TransferKind};
use super::super::ids::{CampaignId, ChatId, DepartmentId, SiteId, UserId};
use super::super::proactive::{InvitationMode, InvitationOutcome};
use serde::{Deserialize, Serialize};

/// A chat's contribution. Facts only appear once settled and never change afterwards: the
/// facts of a chat's first n events are exactly the facts of all its events settled by the
/// n-th (`since` gives what later events added), so aggregates can be built as events commit.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChatFacts {
    pub chat: ChatId,
    pub site: SiteId,
    pub campaign: CampaignId,
    pub facts: Vec<Fact>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Fact {
    /// When it is reported: the chat's start for chat-level facts, the contact's start, the
    /// moment the chat entered the queue, the moment the transfer was asked for.
    pub at: Millis,
    /// The seq of the event that settled it.
    pub settled: u64,
    /// The department (queue) the chat was in for this fact; `None`: the site's "any agent" queue.
    pub department: Option<DepartmentId>,
    pub kind: FactKind,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "fact", rename_all = "snake_case")]
pub enum FactKind {
    /// The chat reached the site (offered to it); `department`: the queue it first entered.
    Started,
    /// The first message an agent wrote to the visitor, counted from the chat's start.
    FirstResponse { ms: u64 },
    /// The chat ended. `answered`: an agent wrote to the visitor in it. Not answered and not
    /// moved to another site (`by` transfer): missed.
    Ended { by: EndedBy, answered: bool },
    /// The agent who held the chat last (settled when it ends).
    LastContact { agent: UserId },
    /// One agent's hold of the chat, from assignment to the chat leaving them.
    Contact(Contact),
    /// One wait without an agent, from entering a queue (or waiting for one agent) to leaving it.
    Waited(Wait),
    /// One transfer attempt, from request to resolution.
    Transfer(Transfer),
    /// The visitor's rating, credited to every agent who held the chat.
    Rating { rating: u8, agents: Vec<UserId> },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Contact {
    pub agent: UserId,
    /// How the agent got the chat: `None` from a queue (or directly), else by this transfer.
    pub by_transfer: Option<TransferKind>,
    /// The agent wrote to the visitor during the contact.
    pub answered: bool,
    /// Assignment to the agent's first message to the visitor.
    pub first_response_ms: Option<u64>,
    /// Assignment to the chat leaving the agent.
    pub handle_ms: u64,
    pub left: Left,
}

/// How a contact ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Left {
    /// The agent transferred the chat away.
    Transfer(TransferKind),
    /// The chat ended while the agent held it.
    Ended(EndedBy),
    /// Another agent was assigned without a transfer step (not done by the switchboard today).
    Reassigned,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Wait {
    /// Waiting for one agent (a transfer to an unavailable agent, a cross-site transfer to an
    /// agent), not in a queue.
    pub for_agent: Option<UserId>,
    pub wait_ms: u64,
    pub end: WaitEnd,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WaitEnd {
    /// An agent took the chat.
    Taken(UserId),
    /// It went on waiting elsewhere (a wait for an agent fell back to the department queue).
    Moved,
    /// The chat ended while waiting: abandoned (by the visitor, or nobody could take it).
    Ended(EndedBy),
}

/// Which sides of a transfer a fact counts: a transfer within a site counts out for its source
/// and in for its target in one fact; a cross-site transfer is counted out by the source chat
/// and in by the new chat on the other site.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    Both,
    Out,
    In,
}

/// How a transfer attempt ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Resolution {
    /// The chat reached the target (cold and cross-site out: at once).
    Accepted,
    /// The target declined (every member, for a broadcast), or went offline.
    Declined,
    /// No answer before the offer's timeout; an unavailable agent not back before the fallback.
    TimedOut,
    /// The source withdrew the offer, or the chat ended during it.
    Cancelled,
    /// The chat ended while waiting in the target queue (or for the target agent).
    Abandoned,
}

impl Resolution {
    pub const ALL: [Resolution; 5] = [
        Resolution::Accepted,
        Resolution::Declined,
        Resolution::TimedOut,
        Resolution::Cancelled,
        Resolution::Abandoned,
    ];
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Transfer {
    pub kind: TransferKind,
    pub side: Side,
    /// The transferring agent (for `Side::In`: an agent of the other site, `Origin::agent`).
    pub from: UserId,
    /// The agent offered or reached: warm and unavailable targets, the broadcast member or queue
    /// member who took it, the agent of the other site who took a cross-site chat.
    pub to_agent: Option<UserId>,
    pub to_department: Option<DepartmentId>,
    pub to_site: Option<SiteId>,
    pub resolution: Resolution,
    /// Request to acceptance, when someone had to take it (not for cold or cross-site out).
    pub accept_ms: Option<u64>,
    /// Had the transferring agent written to the visitor before?
    pub replied: bool,
}

/// An invitation's contribution.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InvitationFacts {
    pub site: SiteId,
    pub campaign: CampaignId,
    /// The inviting agent (manual) or the agent alerted (alert).
    pub agent: Option<UserId>,
    pub mode: InvitationMode,
    /// When it was sent: the moment it is reported under.
    pub at: Millis,
    pub outcome: InvitationOutcome,
    /// The chat it led to.
    pub chat: Option<ChatId>,
    /// Sent to answered (accepted or refused).
    pub answer_ms: Option<u64>,
}

impl ChatFacts {
    /// The facts settled after event `seq`: what to add to aggregates built up to `seq`.
    pub fn since(&self, seq: u64) -> ChatFacts {
        let facts = self.facts.iter().filter(|f| f.settled > seq).cloned().collect();
        ChatFacts { facts, ..*self }
    }

    pub fn contacts(&self) -> impl Iterator<Item = &Contact> {
        self.facts.iter().filter_map(|f| if let FactKind::Contact(c) = &f.kind { Some(c) } else { None })
    }

    pub fn waits(&self) -> impl Iterator<Item = &Wait> {
        self.facts.iter().filter_map(|f| if let FactKind::Waited(w) = &f.kind { Some(w) } else { None })
    }

    pub fn transfers(&self) -> impl Iterator<Item = &Transfer> {
        self.facts.iter().filter_map(|f| if let FactKind::Transfer(t) = &f.kind { Some(t) } else { None })
    }

    pub fn last_contact(&self) -> Option<UserId> {
        self.facts.iter().find_map(|f| if let FactKind::LastContact { agent } = f.kind { Some(agent) } else { None })
    }

    pub fn ended(&self) -> Option<(EndedBy, bool)> {
        self.facts
            .iter()
            .find_map(|f| if let FactKind::Ended { by, answered } = f.kind { Some((by, answered)) } else { None })
    }

    /// The rating and the agents it is credited to.
    pub fn rating(&self) -> Option<(u8, &[UserId])> {
        self.facts.iter().find_map(|f| match &f.kind {
            FactKind::Rating { rating, agents } => Some((*rating, agents.as_slice())),
            _ => None,
        })
    }
}
