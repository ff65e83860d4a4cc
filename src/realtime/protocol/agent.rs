//! What an agent's console receives: the whole chat of their own site (notes, transfer steps,
//! who waits for whom), and of a chat that came from another site only what that site sent
//! along (its `origin`: the sender's name and site, the comment; never the other site's notes,
//! transfer log or people's emails).

use super::{Audience, Frame, WireError};
use crate::domain::Millis;
use crate::domain::chat::{
    Author, ChatEvent, ChatRecord, ChatStatus, EndedBy, EventKind, Origin, StopReason, Survey, TransferKind,
    TransferOutcome, VisitorInfo, Withdrawal,
};
use crate::domain::ids::{CampaignId, CannedId, ChatId, DepartmentId, InvitationId, SiteId, UserId, VisitorId};
use crate::domain::model::ConsolePrefs;
use crate::domain::proactive::{AlertEnd, CannedReply, InvitationMode, InvitationOutcome};
use crate::domain::switchboard::{InvitationBrief, PageSeen, Presence, Targets, VisitorView};
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Serialize)]
pub struct InfoView<'a> {
    pub name: &'a str,
    pub email: &'a str,
    pub fields: &'a BTreeMap<String, String>,
    pub page_url: &'a str,
    pub page_title: &'a str,
}

impl<'a> InfoView<'a> {
    fn of(i: &'a VisitorInfo) -> InfoView<'a> {
        InfoView { name: &i.name, email: &i.email, fields: &i.fields, page_url: &i.page_url, page_title: &i.page_title }
    }
}

#[derive(Debug, Serialize)]
pub struct SurveyView<'a> {
    pub rating: u8,
    pub comment: &'a str,
}

impl<'a> SurveyView<'a> {
    fn of(s: &'a Survey) -> SurveyView<'a> {
        SurveyView { rating: s.rating, comment: &s.comment }
    }
}

/// Where a chat that came by cross-site transfer came from, as the receiving site's agents see
/// it: the sending site and agent by name, when, the comment meant for them, and how many of
/// the chat's first events are the copied conversation.
#[derive(Debug, Serialize)]
pub struct OriginView<'a> {
    pub site_name: &'a str,
    /// The sending agent's user id (it is the `from` of the chat's `cross_site` step).
    pub agent: UserId,
    pub agent_name: &'a str,
    pub at: Millis,
    pub comment: &'a str,
    pub with_transcript: bool,
    /// Events 1..=`copied` are the conversation copied from the sending site.
    pub copied: u64,
}

impl<'a> OriginView<'a> {
    fn of(o: &'a Origin) -> OriginView<'a> {
        OriginView {
            site_name: &o.site_name,
            agent: o.agent,
            agent_name: &o.agent_name,
            at: o.at,
            comment: &o.comment,
            with_transcript: o.with_transcript,
            copied: o.copied,
        }
    }
}

/// A chat as an agent of its site sees it (`agent_welcome.chats`, `assigned`, `offer`,
/// `visitor_chats`).
#[derive(Debug, Serialize)]
pub struct AgentChat<'a> {
    pub id: ChatId,
    pub site: SiteId,
    pub campaign: CampaignId,
    pub visitor: VisitorId,
    pub department: Option<DepartmentId>,
    pub status: ChatStatus,
    pub agent: Option<UserId>,
    pub info: InfoView<'a>,
    pub created_at: Millis,
    pub queued_at: Millis,
    pub assigned_at: Option<Millis>,
    pub ended_at: Option<Millis>,
    pub ended_by: Option<EndedBy>,
    pub last_seq: u64,
    pub survey: Option<SurveyView<'a>>,
    /// Transferred "anyway" to this agent, who could not take it yet: it waits for them.
    pub waiting_for: Option<UserId>,
    pub origin: Option<OriginView<'a>>,
}

impl<'a> AgentChat<'a> {
    pub fn of(c: &'a ChatRecord) -> AgentChat<'a> {
        AgentChat {
            id: c.id,
            site: c.site,
            campaign: c.campaign,
            visitor: c.visitor,
            department: c.department,
            status: c.status(),
            agent: c.agent(),
            info: InfoView::of(&c.info),
            created_at: c.created_at,
            queued_at: c.queued_at,
            assigned_at: c.assigned_at,
            ended_at: c.ended_at(),
            ended_by: c.ended_by(),
            last_seq: c.last_seq,
            survey: c.survey.as_ref().map(SurveyView::of),
            waiting_for: c.waiting_for(),
            origin: c.origin.as_ref().map(OriginView::of),
        }
    }

    pub fn all(chats: &'a [ChatRecord]) -> Vec<AgentChat<'a>> {
        chats.iter().map(AgentChat::of).collect()
    }
}

#[derive(Debug, Serialize)]
#[serde(tag = "by", rename_all = "snake_case")]
pub enum AuthorView<'a> {
    Visitor,
    Agent { agent: UserId, name: &'a str },
}

#[derive(Debug, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AgentEventKind<'a> {
    Message {
        author: AuthorView<'a>,
        text: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        file: Option<super::FileView<'a>>,
    },
    Note {
        agent: UserId,
        name: &'a str,
        text: &'a str,
    },
    System {
        text: &'a str,
    },
    Queued {
        department: Option<DepartmentId>,
    },
    Assigned {
        agent: UserId,
        name: &'a str,
    },
    Ended {
        by: EndedBy,
    },
    Survey {
        rating: u8,
        comment: &'a str,
    },
    Transfer {
        transfer: TransferKind,
        outcome: TransferOutcome,
        from: UserId,
        #[serde(skip_serializing_if = "Option::is_none")]
        to_agent: Option<UserId>,
        #[serde(skip_serializing_if = "Option::is_none")]
        to_department: Option<DepartmentId>,
        #[serde(skip_serializing_if = "Option::is_none")]
        to_site: Option<SiteId>,
        comment: &'a str,
        replied: bool,
        /// Why it stopped short, as a code.
        #[serde(skip_serializing_if = "Option::is_none")]
        reason: Option<StopReason>,
        /// The declining agent's own words.
        #[serde(skip_serializing_if = "str::is_empty")]
        decline_text: &'a str,
    },
}

/// A chat event as an agent of the chat's site sees it.
#[derive(Debug, Serialize)]
pub struct AgentEvent<'a> {
    pub chat: ChatId,
    pub seq: u64,
    pub at: Millis,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<&'a str>,
    #[serde(flatten)]
    pub kind: AgentEventKind<'a>,
}

impl<'a> AgentEvent<'a> {
    pub fn of(e: &'a ChatEvent) -> AgentEvent<'a> {
        let kind = match &e.kind {
            EventKind::Message { author, text, file } => {
                let author = match author {
                    Author::Visitor => AuthorView::Visitor,
                    Author::Agent { agent, name } => AuthorView::Agent { agent: *agent, name },
                };
                AgentEventKind::Message { author, text, file: file.as_ref().map(super::FileView::of) }
            }
            EventKind::Note { agent, name, text } => AgentEventKind::Note { agent: *agent, name, text },
            EventKind::System { text } => AgentEventKind::System { text },
            EventKind::Queued { department } => AgentEventKind::Queued { department: *department },
            EventKind::Assigned { agent, name } => AgentEventKind::Assigned { agent: *agent, name },
            EventKind::Ended { by } => AgentEventKind::Ended { by: *by },
            EventKind::Survey { rating, comment } => AgentEventKind::Survey { rating: *rating, comment },
            EventKind::Transfer {
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
            } => AgentEventKind::Transfer {
                transfer: *transfer,
                outcome: *outcome,
                from: *from,
                to_agent: *to_agent,
                to_department: *to_department,
                to_site: *to_site,
                comment,
                replied: *replied,
                reason: *reason,
                decline_text,
            },
        };
        AgentEvent { chat: e.chat, seq: e.seq, at: e.at, client_id: e.client_id.as_deref(), kind }
    }
}

/// An agent the chat may go to (`targets`).
#[derive(Debug, Serialize)]
pub struct TargetAgent<'a> {
    pub id: UserId,
    pub name: &'a str,
    pub email: &'a str,
    pub site: SiteId,
    pub presence: Presence,
    pub active_chats: u32,
    pub max_chats: u32,
    pub departments: &'a [String],
    pub skills: &'a [String],
}

/// A department (queue) the chat may go to.
#[derive(Debug, Serialize)]
pub struct TargetDepartment<'a> {
    pub id: DepartmentId,
    pub name: &'a str,
    pub site: SiteId,
    pub waiting: u32,
    pub longest_wait_secs: u64,
    pub available: u32,
}

/// A site of a shared cross-site group.
#[derive(Debug, Serialize)]
pub struct TargetSite<'a> {
    pub id: SiteId,
    pub name: &'a str,
    pub can_receive: bool,
    pub with_transcript_default: bool,
}

impl<'a> AgentFrame<'a> {
    /// The answer to `targets`.
    pub fn targets(t: &'a Targets) -> AgentFrame<'a> {
        let agents = t
            .agents
            .iter()
            .map(|a| TargetAgent {
                id: a.id,
                name: &a.name,
                email: &a.email,
                site: a.site,
                presence: a.presence,
                active_chats: a.active_chats,
                max_chats: a.max_chats,
                departments: &a.departments,
                skills: &a.skills,
            })
            .collect();
        let departments = t
            .departments
            .iter()
            .map(|d| TargetDepartment {
                id: d.id,
                name: &d.name,
                site: d.site,
                waiting: d.waiting,
                longest_wait_secs: d.longest_wait_secs,
                available: d.available,
            })
            .collect();
        let sites = t
            .sites
            .iter()
            .map(|s| TargetSite {
                id: s.id,
                name: &s.name,
                can_receive: s.can_receive,
                with_transcript_default: s.with_transcript_default,
            })
            .collect();
        AgentFrame::Targets { agents, departments, sites }
    }
}

/// A colleague as the console lists them.
#[derive(Clone, Debug, Serialize)]
pub struct AgentView {
    pub id: UserId,
    pub name: String,
    pub presence: Presence,
    pub active_chats: u32,
}

/// An agent's console preferences.
#[derive(Debug, Serialize)]
pub struct PrefsView {
    pub sound: bool,
    pub notify: bool,
    pub front_on_chat: bool,
    pub front_on_message: bool,
}

impl PrefsView {
    pub fn of(p: &ConsolePrefs) -> PrefsView {
        PrefsView {
            sound: p.sound,
            notify: p.notify,
            front_on_chat: p.front_on_chat,
            front_on_message: p.front_on_message,
        }
    }
}

/// A transfer offered to you (the `offer` frame, and `agent_welcome.offers`).
#[derive(Debug, Serialize)]
pub struct OfferView<'a> {
    pub chat: AgentChat<'a>,
    pub from: UserId,
    pub from_name: &'a str,
    pub note: &'a str,
    pub expires_at: u64,
    pub broadcast: bool,
}

/// One of your transfers under way, in `agent_welcome.transfers`.
#[derive(Debug, Serialize)]
pub struct TransferView<'a> {
    pub chat: ChatId,
    /// `offered` or `accepted`.
    pub outcome: TransferOutcome,
    pub note: &'a str,
    /// For `offered`: when the offer runs out (ms since the epoch).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<u64>,
}

/// A canned reply as the console offers it.
#[derive(Debug, Serialize)]
pub struct CannedView<'a> {
    pub id: CannedId,
    pub shortcut: &'a str,
    pub text: &'a str,
}

impl<'a> CannedView<'a> {
    pub fn of(c: &'a CannedReply) -> CannedView<'a> {
        CannedView { id: c.id, shortcut: &c.shortcut, text: &c.text }
    }
}

#[derive(Debug, Serialize)]
pub struct PageSeenView<'a> {
    pub url: &'a str,
    pub title: &'a str,
    pub at: Millis,
}

#[derive(Debug, Serialize)]
pub struct InvitationBriefView {
    pub id: InvitationId,
    pub mode: InvitationMode,
    pub outcome: InvitationOutcome,
}

/// A visitor on the site, as the live list shows them.
#[derive(Debug, Serialize)]
pub struct LiveVisitorView<'a> {
    pub id: VisitorId,
    pub campaign: CampaignId,
    pub name: &'a str,
    pub page_url: &'a str,
    pub page_title: &'a str,
    pub referrer: &'a str,
    pub pages: Vec<PageSeenView<'a>>,
    pub visit_started_at: Millis,
    pub browser: &'a str,
    pub os: &'a str,
    pub device: &'a str,
    pub language: &'a str,
    pub time_zone: &'a str,
    pub tabs: u32,
    pub chat: Option<ChatId>,
    pub invitation: Option<InvitationBriefView>,
}

impl<'a> LiveVisitorView<'a> {
    pub fn of(v: &'a VisitorView) -> LiveVisitorView<'a> {
        let page = |p: &'a PageSeen| PageSeenView { url: &p.url, title: &p.title, at: p.at };
        let brief = |i: &InvitationBrief| InvitationBriefView { id: i.id, mode: i.mode, outcome: i.outcome };
        LiveVisitorView {
            id: v.id,
            campaign: v.campaign,
            name: &v.name,
            page_url: &v.page_url,
            page_title: &v.page_title,
            referrer: &v.referrer,
            pages: v.pages.iter().map(page).collect(),
            visit_started_at: v.visit_started_at,
            browser: &v.client.browser,
            os: &v.client.os,
            device: &v.client.device,
            language: &v.client.language,
            time_zone: &v.client.time_zone,
            tabs: v.tabs,
            chat: v.chat,
            invitation: v.invitation.as_ref().map(brief),
        }
    }
}

/// Every frame an agent's console can receive.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum AgentFrame<'a> {
    /// Answer to an agent's `hello`.
    AgentWelcome {
        v: u32,
        agent: UserId,
        name: &'a str,
        site: u64,
        presence: Presence,
        chats: Vec<AgentChat<'a>>,
        agents: &'a [AgentView],
        /// The site's canned replies.
        canned: Vec<CannedView<'a>>,
        prefs: PrefsView,
        /// The largest message or note text the server takes, in bytes (UTF-8).
        max_message_bytes: usize,
        /// The transfers offered to you and still open (as `offer` frames said them).
        offers: Vec<OfferView<'a>>,
        /// Your own transfers under way (offered, or accepted and not handed over yet).
        transfers: Vec<TransferView<'a>>,
        /// Files the site's chats take; null: none.
        files: Option<super::FilesView>,
    },
    Event(AgentEvent<'a>),
    Ack {
        chat: ChatId,
        id: &'a str,
        seq: u64,
    },
    /// Only the visitor's typing reaches agents.
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
        chat: AgentChat<'a>,
    },
    /// The chat is no longer yours (you transferred it).
    Unassigned {
        chat: ChatId,
    },
    /// A transfer offered to you: accept or decline before `expires_at` (ms since the epoch).
    Offer(OfferView<'a>),
    /// An offer made to you is gone.
    OfferWithdrawn {
        chat: ChatId,
        reason: Withdrawal,
    },
    /// How your transfer goes; with why it stopped, the decliner's words and your note (kept
    /// for another attempt).
    Transfer {
        chat: ChatId,
        outcome: TransferOutcome,
        #[serde(skip_serializing_if = "Option::is_none")]
        reason: Option<StopReason>,
        #[serde(skip_serializing_if = "str::is_empty")]
        decline_text: &'a str,
        note: &'a str,
        /// For `offered`: when the offer runs out (ms since the epoch).
        #[serde(skip_serializing_if = "Option::is_none")]
        expires_at: Option<u64>,
    },
    /// Answer to `targets`: whom this chat may be transferred to.
    Targets {
        agents: Vec<TargetAgent<'a>>,
        departments: Vec<TargetDepartment<'a>>,
        sites: Vec<TargetSite<'a>>,
    },
    History {
        chat: ChatId,
        events: Vec<AgentEvent<'a>>,
        /// Older events exist.
        more: bool,
    },
    /// The live visitor list: all of it (`full`), or what changed.
    Visitors {
        full: bool,
        visitors: Vec<LiveVisitorView<'a>>,
        left: &'a [VisitorId],
    },
    ProactiveAlert {
        visitor: LiveVisitorView<'a>,
        invitation: InvitationId,
        expires_at: u64,
    },
    ProactiveAlertWithdrawn {
        visitor: VisitorId,
        invitation: InvitationId,
        reason: AlertEnd,
    },
    /// Answer to `visitor_chats`.
    VisitorChats {
        visitor: VisitorId,
        chats: Vec<AgentChat<'a>>,
    },
    /// Your console preferences (changed in another tab).
    Prefs {
        prefs: PrefsView,
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

impl AgentFrame<'_> {
    pub fn frame(&self) -> Frame {
        let event = match self {
            AgentFrame::Event(e) => Some((e.chat, e.seq)),
            _ => None,
        };
        Frame::serialize(Audience::Agent, event, self)
    }
}
