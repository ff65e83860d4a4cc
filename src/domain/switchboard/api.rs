//! The switchboard's vocabulary: its configuration, the commands it takes, the effects and
//! outputs it returns, and the error codes it answers with.

use super::super::Millis;
use super::super::chat::VisitorInfo;
use super::super::chat::{ChatEvent, ChatRecord, StopReason, TransferOutcome, Withdrawal};
use super::super::ids::{CampaignId, ChatId, ConnId, DepartmentId, InvitationId, SiteId, UserId, VisitorId};
use super::super::model::{AllocationRule, Campaign, Proactive, TransferSettings};
use super::super::proactive::{AlertEnd, InvitationMode, InvitationOutcome, InvitationRecord};
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Presence {
    Online,
    Away,
    Offline,
}

#[derive(Clone, Debug)]
pub struct Config {
    /// How long an agent with no console connection stays in their status before Offline.
    pub grace_ms: u64,
    /// Longest wait in a queue before the visitor is offered to leave a message (0: no limit).
    pub max_queue_wait_ms: u64,
    /// Largest message text, in bytes.
    pub max_message_bytes: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config { grace_ms: 30_000, max_queue_wait_ms: 0, max_message_bytes: 4096 }
    }
}

/// An open chat read back from the store after a start.
#[derive(Clone, Debug)]
pub struct RestoredChat {
    pub record: ChatRecord,
    /// The `client_key`s of its stored messages and notes, with their seqs (exactly-once).
    pub client_ids: Vec<(String, u64)>,
    /// Has its current agent written to the visitor since taking it (for the transfer log)?
    pub owner_replied: bool,
    /// How many of its events are conversation (`EventKind::is_conversation`).
    pub conversation: u64,
    /// A warm or broadcast offer its steps leave open (withdrawn at the restore).
    pub open_offer: Option<crate::domain::chat::OpenOffer>,
}

/// An agent (or site admin) as the admin pages define them.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AgentProfile {
    pub id: UserId,
    pub site: SiteId,
    pub name: String,
    pub email: String,
    pub skills: Vec<String>,
    pub max_chats: u32,
    pub active: bool,
    /// They last chose Away: their consoles start Away, not Online.
    pub away: bool,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct DepartmentProfile {
    pub id: DepartmentId,
    pub site: SiteId,
    pub name: String,
    pub rule: AllocationRule,
    pub members: Vec<UserId>,
}

/// A site as the switchboard knows it: its people, departments, campaigns and settings. The
/// store announces a site whose directory a commit changed, and the whole of it is read again.
#[derive(Clone, Debug, Default)]
pub struct SiteDirectory {
    pub site: SiteId,
    pub name: String,
    /// Live chat is on for the site.
    pub enabled: bool,
    pub agents: Vec<AgentProfile>,
    pub departments: Vec<DepartmentProfile>,
    pub campaigns: Vec<Campaign>,
    pub settings: TransferSettings,
    /// The campaign that receives chats transferred from other sites.
    pub cross_site_campaign: Option<CampaignId>,
}

/// The campaign texts a new chat needs, already in the campaign's language.
#[derive(Clone, Debug, Default)]
pub struct ChatTexts {
    pub greeting: String,
    pub queue: String,
}

/// Who acts on a chat.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Party {
    Visitor(VisitorId),
    Agent(UserId),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TimerKey {
    /// The agent's grace period after their last connection dropped.
    Grace(UserId),
    /// The chat's maximum queue wait.
    QueueWait(ChatId),
    /// A warm or broadcast offer's answer time.
    Offer(ChatId),
    /// An unavailable-agent transfer's fallback to the department queue.
    Fallback(ChatId),
    /// A visitor whose last tab closed: gone from the live list unless a tab comes back.
    VisitorLeave(VisitorId),
    /// A visitor gone long enough that their visit is over: forget them.
    VisitorForget(VisitorId),
    /// The visitor's time on site reaches the campaign's proactive delay.
    Proactive(VisitorId),
    /// The visitor's open invitation (10 minutes) or alert (60 seconds) runs out.
    InvitationExpiry(VisitorId),
    /// Send the site's live-list changes to the consoles watching it.
    VisitorFlush(SiteId),
}

/// The page a visitor is on, as their widget reports it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PageReport {
    pub url: String,
    pub title: String,
    pub referrer: String,
}

/// What the switchboard needs of a visitor's campaign for proactive chat.
#[derive(Clone, Debug, PartialEq)]
pub struct VisitorCampaign {
    pub id: CampaignId,
    pub department: Option<DepartmentId>,
    pub proactive: Proactive,
    /// The invitation's text (the campaign's, or its language's default).
    pub invitation_text: String,
}

/// One page of a visit.
#[derive(Clone, Debug, PartialEq)]
pub struct PageSeen {
    pub url: String,
    pub title: String,
    pub at: Millis,
}

/// The latest invitation of a visit, as the live list shows it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct InvitationBrief {
    pub id: InvitationId,
    pub mode: InvitationMode,
    pub outcome: InvitationOutcome,
}

/// A visitor on the site, as the agents' live list shows them.
#[derive(Clone, Debug, PartialEq)]
pub struct VisitorView {
    pub id: VisitorId,
    pub campaign: CampaignId,
    pub name: String,
    pub page_url: String,
    pub page_title: String,
    pub referrer: String,
    pub pages: Vec<PageSeen>,
    pub visit_started_at: Millis,
    pub client: ClientInfo,
    pub tabs: u32,
    pub chat: Option<ChatId>,
    pub invitation: Option<InvitationBrief>,
}

#[derive(Clone, Debug)]
pub enum Command {
    /// A site's directory as currently configured (replaces the previous one).
    Directory(Box<SiteDirectory>),
    AgentConnected {
        agent: AgentProfile,
        conn: ConnId,
    },
    AgentDisconnected {
        agent: UserId,
        conn: ConnId,
    },
    SetPresence {
        agent: UserId,
        conn: ConnId,
        presence: Presence,
    },
    /// Start (or find again) the visitor's chat on this campaign.
    StartChat(StartChat),
    Message(NewMessage),
    Typing {
        conn: ConnId,
        from: Party,
        chat: ChatId,
        on: bool,
    },
    EndChat {
        conn: ConnId,
        by: Party,
        chat: ChatId,
    },
    Survey(SurveyAnswer),
    /// The organization's cross-site transfer groups (each a set of sites), replacing the last.
    Groups(Vec<Vec<SiteId>>),
    /// The chat's agent transfers it.
    Transfer(Box<TransferRequest>),
    /// A target answers an offer.
    AnswerOffer(OfferAnswer),
    /// The source withdraws a pending or accepted offer.
    CancelTransfer {
        conn: ConnId,
        agent: UserId,
        chat: ChatId,
    },
    /// After a warm offer was accepted, the source hands the chat over ("transfer now").
    CompleteTransfer {
        conn: ConnId,
        agent: UserId,
        chat: ChatId,
    },
    Timer(TimerKey),
    /// A widget said hello (a page load, a new tab). `name`: from the visitor's latest chat.
    VisitorConnected(VisitorArrival),
    /// The page changed without a reload.
    VisitorPage {
        conn: ConnId,
        visitor: VisitorId,
        page: PageReport,
    },
    VisitorDisconnected {
        conn: ConnId,
        visitor: VisitorId,
    },
    /// An agent invites a visitor of the live list (`text`: `None` for the campaign's).
    Invite {
        conn: ConnId,
        agent: UserId,
        visitor: VisitorId,
        text: Option<String>,
    },
    AnswerInvitation {
        conn: ConnId,
        visitor: VisitorId,
        invitation: InvitationId,
        accept: bool,
    },
    /// An agent starts a chat with a visitor on the site, assigned to them at once.
    OpenChat {
        conn: ConnId,
        agent: UserId,
        visitor: VisitorId,
    },
    /// A console starts or stops receiving the site's live visitor list.
    WatchVisitors {
        conn: ConnId,
        agent: UserId,
        on: bool,
    },
}

#[cfg(test)]
impl SiteDirectory {
    /// A site of these people and departments, with the default settings and no campaign.
    pub(crate) fn test(site: SiteId, agents: Vec<AgentProfile>, departments: Vec<DepartmentProfile>) -> SiteDirectory {
        SiteDirectory { site, name: format!("site {site}"), enabled: true, agents, departments, ..Default::default() }
    }

    /// ... with this campaign, which also receives cross-site transfers when it is the first.
    pub(crate) fn with_campaign(mut self, c: Campaign) -> SiteDirectory {
        self.cross_site_campaign = self.cross_site_campaign.or(Some(c.id));
        self.campaigns.push(c);
        self
    }
}

/// An agent's transfer of their chat. The chat's campaign (its transfer notice and queue
/// message), the site's warm-transfer timeout and the target site's cross-site campaign come
/// from the switchboard's directory.
#[derive(Clone, Debug, PartialEq)]
pub struct TransferRequest {
    pub conn: ConnId,
    pub agent: UserId,
    pub chat: ChatId,
    pub to: TransferTo,
    /// For agents only.
    pub comment: String,
}

/// Start (or find again) the visitor's chat on this campaign.
#[derive(Clone, Debug)]
pub struct StartChat {
    pub conn: ConnId,
    pub site: SiteId,
    pub campaign: CampaignId,
    pub department: Option<DepartmentId>,
    pub visitor: VisitorId,
    pub info: VisitorInfo,
    pub texts: ChatTexts,
}

/// A message (or, from an agent, an internal note) for a chat.
#[derive(Clone, Debug)]
pub struct NewMessage {
    pub conn: ConnId,
    pub from: Party,
    pub chat: ChatId,
    pub client_id: String,
    pub text: String,
    pub note: bool,
    /// A file sent with the message (checked by the socket: the sender's upload for this chat).
    pub file: Option<crate::domain::files::FileRef>,
}

/// The visitor rates their ended chat.
#[derive(Clone, Debug)]
pub struct SurveyAnswer {
    pub conn: ConnId,
    pub visitor: VisitorId,
    pub chat: ChatId,
    pub rating: u8,
    pub comment: String,
}

/// A target answers an offer.
#[derive(Clone, Debug)]
pub struct OfferAnswer {
    pub conn: ConnId,
    pub agent: UserId,
    pub chat: ChatId,
    pub accept: bool,
    pub reason: String,
}

/// A widget said hello (a page load, a new tab). `name`: from the visitor's latest chat.
#[derive(Clone, Debug)]
pub struct VisitorArrival {
    pub conn: ConnId,
    pub visitor: VisitorId,
    pub site: SiteId,
    pub campaign: Box<VisitorCampaign>,
    pub page: PageReport,
    pub name: String,
    /// What the connection says of the visitor's browser (the latest tab's).
    pub client: Box<ClientInfo>,
}

/// A visitor's browser, system, device and preferred language, as their connection tells
/// them (`web::client_info`); empty when unknown.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ClientInfo {
    /// "Firefox 128"
    pub browser: String,
    /// "Windows 10", "macOS 10.15.7", "iOS 17.4", "Android 14"
    pub os: String,
    /// `desktop`, `phone`, `tablet`, `bot` or empty.
    pub device: String,
    /// The first language of `Accept-Language`: "fr-FR".
    pub language: String,
    /// Their time zone ("Europe/Paris"), as their widget reports it.
    pub time_zone: String,
}

/// Where a transfer goes.
#[derive(Clone, Debug, PartialEq)]
pub enum TransferTo {
    /// An agent of the same site: cold (at once), warm (accept first), or anyway (wait for an
    /// unavailable agent; back to the department queue after `fallback_ms` if not 0).
    Agent { agent: UserId, mode: AgentMode, fallback_ms: u64 },
    /// A department of the same site: into its queue, or offered to all its available members.
    Department { department: DepartmentId, broadcast: bool },
    /// Another site of a shared group: a department or an agent of it, or its cross-site
    /// campaign's queue; with the transcript or not (default: the source site's setting).
    Site { site: SiteId, department: Option<DepartmentId>, agent: Option<UserId>, with_transcript: Option<bool> },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AgentMode {
    Cold,
    Warm,
    Anyway,
}

/// A cross-site transfer resolved against the directory.
#[derive(Clone, Debug, PartialEq)]
pub struct CrossSite {
    pub site: SiteId,
    /// The source site's name, for the transfer log the receiving agent sees.
    pub from_site_name: String,
    /// The target site's default campaign for cross-site transfers.
    pub campaign: CampaignId,
    /// A department of the target site, or `None` for the campaign's (or any agent).
    pub department: Option<DepartmentId>,
    /// A particular agent of the target site.
    pub agent: Option<UserId>,
    pub with_transcript: bool,
    /// The target campaign's queue message, in its language.
    pub queue_text: String,
    /// What the visitor reads first on the target site, in its campaign's language: its
    /// transfer notice when that campaign tells visitors of transfers, else its greeting.
    pub welcome_text: String,
}

/// Where a frame goes. Every target belongs to one audience: a visitor's (`VisitorConn`,
/// `Visitor`) or an agent's (the others); the edge renders each frame for its target's audience.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Target {
    /// One visitor connection (answers and errors to what it sent).
    VisitorConn(ConnId),
    /// One console connection (answers and errors to what it sent).
    AgentConn(ConnId),
    /// Every connection (tab) of a visitor.
    Visitor(VisitorId),
    /// Every console connection of an agent.
    Agent(UserId),
    /// Every connected agent of a site (presence changes).
    SiteAgents(SiteId),
}

impl Target {
    /// The connection of `party` that sent a command, to answer it.
    pub fn reply(party: Party, conn: ConnId) -> Target {
        match party {
            Party::Visitor(_) => Target::VisitorConn(conn),
            Party::Agent(_) => Target::AgentConn(conn),
        }
    }

    /// Does a visitor's widget listen here (rather than an agent's console)?
    pub fn is_visitor(self) -> bool {
        matches!(self, Target::VisitorConn(_) | Target::Visitor(_))
    }
}

/// Why the switchboard refused a command (the wire's `WireError` names each as a code).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorCode {
    /// No such chat, or not yours (the two are not told apart).
    ChatNotFound,
    ChatEnded,
    EmptyMessage,
    MessageTooLong,
    InvalidRating,
    /// Only the chat's agent may do this.
    NotAllowed,
    /// The target agent is offline: transfer "anyway" to have the chat wait for them.
    TargetUnavailable,
    /// The target agent has no free place for one more chat.
    TargetFull,
    /// The chat already has a transfer under way.
    TransferPending,
    /// There is no transfer under way to answer, cancel or complete.
    NoTransfer,
    /// The offer was taken by someone else, withdrawn, or timed out.
    OfferGone,
    /// The target site shares no cross-site group with this one.
    NotInGroup,
    /// Nobody is Online or Away at the target site.
    SiteUnavailable,
    /// Nobody of the department is available for a broadcast.
    NoOneAvailable,
    /// No such agent, department or site to transfer to.
    UnknownTarget,
    /// The visitor is not on the site now (or is of another site).
    VisitorGone,
    /// The visitor already has an open chat.
    AlreadyChatting,
    /// The visitor is already shown an invitation.
    InvitationPending,
}

/// What the switchboard tells clients.
#[derive(Clone, Debug, PartialEq)]
pub enum Out {
    /// A stored chat event.
    Event(ChatEvent),
    /// The message with this client id is durable, as event `seq`.
    Ack {
        chat: ChatId,
        client_id: String,
        seq: u64,
    },
    /// The visitor's chat (new or found again).
    Chat(ChatRecord),
    /// Nobody can chat now: offer "leave a message".
    Offline {
        chat: Option<ChatId>,
    },
    /// The visitor's place in the queue and the estimated wait.
    Queue {
        chat: ChatId,
        position: u32,
        eta_secs: Option<u32>,
    },
    Typing {
        chat: ChatId,
        by_agent: bool,
        on: bool,
    },
    Presence {
        agent: UserId,
        presence: Presence,
        active_chats: u32,
    },
    /// A chat was given to the agent receiving this.
    Assigned(ChatRecord),
    /// The agent receiving this no longer has the chat (transferred away).
    Unassigned {
        chat: ChatId,
    },
    /// A transfer is offered to the agent receiving this.
    Offer {
        chat: ChatRecord,
        from: UserId,
        from_name: String,
        note: String,
        expires_at: Millis,
        broadcast: bool,
    },
    /// An offer made to the agent receiving this is gone.
    OfferWithdrawn {
        chat: ChatId,
        reason: Withdrawal,
    },
    /// How the source's transfer goes (the note is kept for another attempt).
    TransferStatus {
        chat: ChatId,
        outcome: TransferOutcome,
        reason: Option<StopReason>,
        /// The declining agent's own words.
        decline_text: String,
        note: String,
        /// For `offered`: when the offer runs out.
        expires_at: Option<Millis>,
    },
    Error {
        code: ErrorCode,
        client_id: Option<String>,
        /// The chat the failed command was about.
        chat: Option<ChatId>,
    },
    /// The live list: everyone (`full`), or what changed since the last one.
    Visitors {
        full: bool,
        visitors: Vec<VisitorView>,
        left: Vec<VisitorId>,
    },
    /// Show an invitation to the visitor.
    Invitation {
        invitation: InvitationId,
        text: String,
        mode: InvitationMode,
        agent: Option<String>,
    },
    InvitationClosed {
        invitation: InvitationId,
        outcome: InvitationOutcome,
    },
    /// Without-invite proactive chat: this visitor qualifies; the agent may open the chat.
    ProactiveAlert {
        visitor: Box<VisitorView>,
        invitation: InvitationId,
        expires_at: Millis,
    },
    ProactiveAlertWithdrawn {
        visitor: VisitorId,
        invitation: InvitationId,
        reason: AlertEnd,
    },
}

#[derive(Clone, Debug, PartialEq)]
pub enum Effect {
    /// Store the chat's summary (after every change of it).
    PutChat(ChatRecord),
    /// Store a new event of a chat.
    Append(ChatEvent),
    /// Copy the conversation among events 1..=`up_to` of a chat (its messages and system
    /// texts, `EventKind::is_conversation`) to a new chat as its events 1..=`copied`
    /// (cross-site transfer with transcript).
    CopyEvents {
        from: (SiteId, ChatId),
        to: (SiteId, ChatId),
        up_to: u64,
        copied: u64,
    },
    Send(Target, Out),
    SetTimer(TimerKey, Millis),
    CancelTimer(TimerKey),
    /// Store an invitation (when made, and again when its outcome or chat changes).
    PutInvitation(InvitationRecord),
    /// Store the status an agent chose (Away, or back Online), kept across restarts.
    PutAway {
        site: SiteId,
        agent: UserId,
        away: bool,
    },
}
