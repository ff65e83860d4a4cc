//! The switchboard: the routing core of live chat, as a pure state machine. It owns presence,
//! queues, assignments and each chat's event numbering. `handle(command, now)` returns effects
//! — records to persist, frames to send, timers to set — and does no IO of its own; the caller
//! persists the records and sends the frames only after they are committed.
//!
//! Rules (each unit-tested in `tests.rs`, and the invariants checked by the simulation in
//! `sim.rs` after every step):
//! - Online agents receive chats up to their max; Away agents receive none but keep theirs.
//! - An agent whose last console connection drops becomes Offline after a grace period.
//! - A new chat goes to its campaign's department queue (or the site's "any agent" queue);
//!   the queue's rule picks the agent: round robin, or least busy (ties: idle longest).
//! - Queues are first in, first out: a waiting chat is never passed by a later one of the same
//!   queue while an agent of that queue has capacity. Across queues, the longest wait goes first.
//! - Nobody Online or Away in the site: no chat starts ("leave a message"), and chats waiting
//!   are ended for the visitor to leave a message instead; likewise past the maximum wait.
//! - Every chat event has the next sequence number; a resent client id is acknowledged again
//!   and never stored twice.

mod allocation;
#[cfg(test)]
mod sim;
#[cfg(test)]
mod tests;

use super::Millis;
use super::chat::{Author, ChatEvent, ChatRecord, ChatStatus, EndedBy, EventKind, VisitorInfo};
use super::ids::{CampaignId, ChatId, ConnId, DepartmentId, SiteId, UserId, VisitorId};
use super::model::AllocationRule;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashMap, VecDeque};

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

/// An agent as the admin pages define them.
#[derive(Clone, Debug, PartialEq)]
pub struct AgentProfile {
    pub id: UserId,
    pub site: SiteId,
    pub name: String,
    pub max_chats: u32,
    pub active: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct DepartmentProfile {
    pub id: DepartmentId,
    pub site: SiteId,
    pub rule: AllocationRule,
    pub members: Vec<UserId>,
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
}

#[derive(Clone, Debug)]
pub enum Command {
    /// The site's agents and departments as currently configured (replaces the previous ones).
    Directory {
        site: SiteId,
        agents: Vec<AgentProfile>,
        departments: Vec<DepartmentProfile>,
    },
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
    StartChat {
        conn: ConnId,
        site: SiteId,
        campaign: CampaignId,
        department: Option<DepartmentId>,
        visitor: VisitorId,
        info: VisitorInfo,
        texts: ChatTexts,
    },
    Message {
        conn: ConnId,
        from: Party,
        chat: ChatId,
        client_id: String,
        text: String,
        note: bool,
    },
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
    Survey {
        conn: ConnId,
        visitor: VisitorId,
        chat: ChatId,
        rating: u8,
        comment: String,
    },
    Timer(TimerKey),
}

/// Where a frame goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Target {
    /// One connection (answers and errors to what it sent).
    Conn(ConnId),
    /// Every connection (tab) of a visitor.
    Visitor(VisitorId),
    /// Every console connection of an agent.
    Agent(UserId),
    /// Every connected agent of a site (presence changes).
    SiteAgents(SiteId),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// No such chat, or not yours (the two are not told apart).
    ChatNotFound,
    ChatEnded,
    EmptyMessage,
    MessageTooLong,
    InvalidRating,
    /// Only the chat's agent may do this.
    NotAllowed,
}

impl ErrorCode {
    pub fn message(self) -> &'static str {
        match self {
            ErrorCode::ChatNotFound => "No such chat.",
            ErrorCode::ChatEnded => "This chat has ended.",
            ErrorCode::EmptyMessage => "The message is empty.",
            ErrorCode::MessageTooLong => "The message is too long.",
            ErrorCode::InvalidRating => "The rating must be from 1 to 5.",
            ErrorCode::NotAllowed => "Not allowed.",
        }
    }
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
    Error {
        code: ErrorCode,
        client_id: Option<String>,
    },
}

#[derive(Clone, Debug, PartialEq)]
pub enum Effect {
    /// Store the chat's summary (after every change of it).
    PutChat(ChatRecord),
    /// Store a new event of a chat.
    Append(ChatEvent),
    Send(Target, Out),
    SetTimer(TimerKey, Millis),
    CancelTimer(TimerKey),
}

pub(crate) type QueueKey = (SiteId, Option<DepartmentId>);

#[derive(Debug)]
pub(crate) struct Agent {
    pub(crate) profile: AgentProfile,
    pub(crate) presence: Presence,
    pub(crate) conns: BTreeSet<ConnId>,
    pub(crate) chats: BTreeSet<ChatId>,
    pub(crate) last_assigned: Millis,
}

#[derive(Debug, Default)]
pub(crate) struct Queue {
    pub(crate) rule: AllocationRule,
    /// Members for a department queue; empty for the site queue (every agent of the site).
    pub(crate) members: Vec<UserId>,
    pub(crate) waiting: VecDeque<ChatId>,
    pub(crate) rr_last: Option<UserId>,
    /// Recent waits (ms) of chats taken from this queue, newest last.
    pub(crate) recent_waits: VecDeque<u64>,
}

#[derive(Debug)]
pub(crate) struct Chat {
    pub(crate) rec: ChatRecord,
    /// Client ids of stored messages -> their seq (exactly-once).
    pub(crate) client_ids: HashMap<String, u64>,
}

/// How many recent waits feed the estimate.
const WAIT_SAMPLES: usize = 20;

#[derive(Debug, Default)]
pub struct Switchboard {
    pub(crate) cfg: Config,
    pub(crate) agents: HashMap<UserId, Agent>,
    pub(crate) queues: HashMap<QueueKey, Queue>,
    pub(crate) chats: HashMap<ChatId, Chat>,
    pub(crate) open_by_visitor: HashMap<(VisitorId, CampaignId), ChatId>,
    /// Ended chats still in memory (for their survey), oldest first; bounded by `KEEP_ENDED`.
    pub(crate) ended: VecDeque<ChatId>,
    pub(crate) next_chat: u64,
}

/// How many ended chats stay in memory to receive their post-chat survey.
const KEEP_ENDED: usize = 10_000;

/// Collects effects and remembers which chats changed, to store each summary once at the end.
struct Fx {
    out: Vec<Effect>,
    touched: BTreeSet<ChatId>,
}

impl Fx {
    fn send(&mut self, to: Target, out: Out) {
        self.out.push(Effect::Send(to, out));
    }
}

impl Switchboard {
    pub fn new(cfg: Config) -> Switchboard {
        Switchboard { cfg, next_chat: 1, ..Default::default() }
    }

    /// Rebuild from the store after a start: open chats (with the client ids of their stored
    /// messages) and the next chat id. Call after `Directory` for every site. Agents start
    /// Offline; queued chats wait in their queues in their original order.
    pub fn restore(
        &mut self,
        chats: Vec<(ChatRecord, Vec<(String, u64)>)>,
        next_chat: u64,
        now: Millis,
    ) -> Vec<Effect> {
        let mut fx = Fx { out: vec![], touched: BTreeSet::new() };
        self.next_chat = self.next_chat.max(next_chat);
        let mut queued: Vec<ChatId> = vec![];
        for (rec, ids) in chats {
            let id = rec.id;
            self.next_chat = self.next_chat.max(id.0 + 1);
            if rec.status == ChatStatus::Ended {
                self.ended.push_back(id);
                self.chats.insert(id, Chat { rec, client_ids: ids.into_iter().collect() });
                continue;
            }
            self.open_by_visitor.insert((rec.visitor, rec.campaign), id);
            match rec.status {
                ChatStatus::Active => {
                    if let Some(a) = rec.agent.and_then(|a| self.agents.get_mut(&a)) {
                        a.chats.insert(id);
                    }
                }
                _ => queued.push(id),
            }
            self.chats.insert(id, Chat { rec, client_ids: ids.into_iter().collect() });
        }
        queued.sort_by_key(|id| self.chats.get(id).map(|c| (c.rec.queued_at, c.rec.id)));
        for id in queued {
            let Some(c) = self.chats.get(&id) else { continue };
            let key = (c.rec.site, c.rec.department);
            let deadline = c.rec.queued_at + self.cfg.max_queue_wait_ms;
            self.queue_mut(key).waiting.push_back(id);
            if self.cfg.max_queue_wait_ms > 0 {
                fx.out.push(Effect::SetTimer(TimerKey::QueueWait(id), deadline.max(now)));
            }
        }
        fx.out
    }

    pub fn handle(&mut self, cmd: Command, now: Millis) -> Vec<Effect> {
        let mut fx = Fx { out: vec![], touched: BTreeSet::new() };
        match cmd {
            Command::Directory { site, agents, departments } => self.directory(site, agents, departments, now, &mut fx),
            Command::AgentConnected { agent, conn } => self.agent_connected(agent, conn, now, &mut fx),
            Command::AgentDisconnected { agent, conn } => {
                if let Some(a) = self.agents.get_mut(&agent) {
                    a.conns.remove(&conn);
                    if a.conns.is_empty() {
                        fx.out.push(Effect::SetTimer(TimerKey::Grace(agent), now + self.cfg.grace_ms));
                    }
                }
            }
            Command::SetPresence { agent, conn, presence } => {
                if self.agents.get(&agent).is_some_and(|a| a.conns.contains(&conn)) {
                    self.set_presence(agent, presence, now, &mut fx);
                }
            }
            Command::StartChat { conn, site, campaign, department, visitor, info, texts } => {
                self.start_chat(conn, site, campaign, department, visitor, info, texts, now, &mut fx)
            }
            Command::Message { conn, from, chat, client_id, text, note } => {
                self.message(conn, from, chat, client_id, text, note, now, &mut fx)
            }
            Command::Typing { conn, from, chat, on } => match self.check_party(chat, from) {
                Ok(()) => {
                    let Some(c) = self.chats.get(&chat).filter(|c| c.rec.status != ChatStatus::Ended) else {
                        return fx.out;
                    };
                    match from {
                        Party::Visitor(_) => {
                            if let Some(a) = c.rec.agent {
                                fx.send(Target::Agent(a), Out::Typing { chat, by_agent: false, on });
                            }
                        }
                        Party::Agent(_) => {
                            fx.send(Target::Visitor(c.rec.visitor), Out::Typing { chat, by_agent: true, on })
                        }
                    }
                }
                Err(code) => fx.send(Target::Conn(conn), Out::Error { code, client_id: None }),
            },
            Command::EndChat { conn, by, chat } => match self.check_party(chat, by) {
                Ok(()) => {
                    let ended_by = if matches!(by, Party::Visitor(_)) { EndedBy::Visitor } else { EndedBy::Agent };
                    let site = self.chats.get(&chat).map(|c| c.rec.site);
                    self.end(chat, ended_by, now, &mut fx);
                    if let Some(site) = site {
                        self.dispatch(site, now, &mut fx);
                    }
                }
                Err(code) => fx.send(Target::Conn(conn), Out::Error { code, client_id: None }),
            },
            Command::Survey { conn, visitor, chat, rating, comment } => {
                self.survey(conn, visitor, chat, rating, comment, now, &mut fx)
            }
            Command::Timer(TimerKey::Grace(agent)) => {
                if self.agents.get(&agent).is_some_and(|a| a.conns.is_empty()) {
                    self.set_presence(agent, Presence::Offline, now, &mut fx);
                }
            }
            Command::Timer(TimerKey::QueueWait(chat)) => {
                let queued =
                    self.chats.get(&chat).filter(|c| c.rec.status == ChatStatus::Queued).map(|c| c.rec.visitor);
                if let Some(visitor) = queued {
                    self.end(chat, EndedBy::NoAgent, now, &mut fx);
                    fx.send(Target::Visitor(visitor), Out::Offline { chat: Some(chat) });
                }
            }
        }
        for id in std::mem::take(&mut fx.touched) {
            if let Some(c) = self.chats.get(&id) {
                fx.out.push(Effect::PutChat(c.rec.clone()));
            }
        }
        fx.out
    }

    // ---- read-only views (for the caller's queries and for tests) ----

    pub fn presence(&self, agent: UserId) -> Presence {
        self.agents.get(&agent).map(|a| a.presence).unwrap_or(Presence::Offline)
    }

    pub fn agent_chats(&self, agent: UserId) -> Vec<ChatId> {
        self.agents.get(&agent).map(|a| a.chats.iter().copied().collect()).unwrap_or_default()
    }

    pub fn chat(&self, chat: ChatId) -> Option<&ChatRecord> {
        self.chats.get(&chat).map(|c| &c.rec)
    }

    /// The visitor's open chat on a campaign.
    pub fn open_chat(&self, visitor: VisitorId, campaign: CampaignId) -> Option<&ChatRecord> {
        self.open_by_visitor.get(&(visitor, campaign)).and_then(|id| self.chat(*id))
    }

    /// Position (1-based) and estimated wait of a queued chat.
    pub fn queue_position(&self, chat: ChatId) -> Option<(u32, Option<u32>)> {
        let c = self.chats.get(&chat)?;
        let q = self.queues.get(&(c.rec.site, c.rec.department))?;
        let pos = q.waiting.iter().position(|id| *id == chat)? as u32 + 1;
        Some((pos, self.eta_secs(&(c.rec.site, c.rec.department), pos)))
    }

    /// Agents of a site with their presence and number of active chats.
    pub fn site_agents(&self, site: SiteId) -> Vec<(UserId, Presence, u32)> {
        let mut v: Vec<_> = self
            .agents
            .values()
            .filter(|a| a.profile.site == site)
            .map(|a| (a.profile.id, a.presence, a.chats.len() as u32))
            .collect();
        v.sort_by_key(|x| x.0);
        v
    }

    // ---- presence ----

    fn directory(
        &mut self,
        site: SiteId,
        agents: Vec<AgentProfile>,
        departments: Vec<DepartmentProfile>,
        now: Millis,
        fx: &mut Fx,
    ) {
        for p in agents.into_iter().filter(|p| p.site == site) {
            match self.agents.get_mut(&p.id) {
                Some(a) => a.profile = p,
                None => {
                    let id = p.id;
                    self.agents.insert(
                        id,
                        Agent {
                            profile: p,
                            presence: Presence::Offline,
                            conns: BTreeSet::new(),
                            chats: BTreeSet::new(),
                            last_assigned: 0,
                        },
                    );
                }
            }
        }
        let depts: Vec<DepartmentProfile> = departments.into_iter().filter(|d| d.site == site).collect();
        // A department that no longer exists: its waiting chats move to the site queue, in order.
        let gone: Vec<QueueKey> = self
            .queues
            .keys()
            .filter(|(s, d)| *s == site && d.is_some_and(|d| !depts.iter().any(|x| x.id == d)))
            .copied()
            .collect();
        for key in gone {
            if let Some(q) = self.queues.remove(&key) {
                for id in q.waiting {
                    if let Some(c) = self.chats.get_mut(&id) {
                        c.rec.department = None;
                    }
                    self.queue_mut((site, None)).waiting.push_back(id);
                }
            }
        }
        for d in depts {
            let q = self.queue_mut((site, Some(d.id)));
            q.rule = d.rule;
            q.members = d.members;
        }
        self.dispatch(site, now, fx);
    }

    fn agent_connected(&mut self, profile: AgentProfile, conn: ConnId, now: Millis, fx: &mut Fx) {
        let id = profile.id;
        let a = self.agents.entry(id).or_insert_with(|| Agent {
            profile: profile.clone(),
            presence: Presence::Offline,
            conns: BTreeSet::new(),
            chats: BTreeSet::new(),
            last_assigned: 0,
        });
        a.profile = profile;
        a.conns.insert(conn);
        fx.out.push(Effect::CancelTimer(TimerKey::Grace(id)));
        let presence = a.presence;
        if presence == Presence::Offline {
            self.set_presence(id, Presence::Online, now, fx);
        } else {
            let a = &self.agents[&id];
            fx.send(Target::Conn(conn), Out::Presence { agent: id, presence, active_chats: a.chats.len() as u32 });
        }
    }

    fn set_presence(&mut self, agent: UserId, presence: Presence, now: Millis, fx: &mut Fx) {
        let Some(a) = self.agents.get_mut(&agent) else { return };
        a.presence = presence;
        let site = a.profile.site;
        let active_chats = a.chats.len() as u32;
        fx.send(Target::SiteAgents(site), Out::Presence { agent, presence, active_chats });
        if presence == Presence::Online {
            self.dispatch(site, now, fx);
        } else if !self.site_available(site) {
            // Nobody left to take waiting chats: their visitors may leave a message instead.
            let waiting: Vec<ChatId> =
                self.queues.iter().filter(|(k, _)| k.0 == site).flat_map(|(_, q)| q.waiting.iter().copied()).collect();
            for chat in waiting {
                let visitor = self.chats.get(&chat).map(|c| c.rec.visitor);
                self.end(chat, EndedBy::NoAgent, now, fx);
                if let Some(v) = visitor {
                    fx.send(Target::Visitor(v), Out::Offline { chat: Some(chat) });
                }
            }
        }
    }

    /// Is anyone of the site Online or Away?
    fn site_available(&self, site: SiteId) -> bool {
        self.agents.values().any(|a| a.profile.site == site && a.profile.active && a.presence != Presence::Offline)
    }

    // ---- chats ----

    #[allow(clippy::too_many_arguments)]
    fn start_chat(
        &mut self,
        conn: ConnId,
        site: SiteId,
        campaign: CampaignId,
        department: Option<DepartmentId>,
        visitor: VisitorId,
        info: VisitorInfo,
        texts: ChatTexts,
        now: Millis,
        fx: &mut Fx,
    ) {
        if let Some(c) = self.open_by_visitor.get(&(visitor, campaign)).and_then(|id| self.chats.get(id)) {
            fx.send(Target::Conn(conn), Out::Chat(c.rec.clone()));
            return;
        }
        if !self.site_available(site) {
            fx.send(Target::Conn(conn), Out::Offline { chat: None });
            return;
        }
        // A department that is not (or no longer) known to the directory: the site queue.
        let department = department.filter(|d| self.queues.contains_key(&(site, Some(*d))));
        let id = ChatId(self.next_chat);
        self.next_chat += 1;
        let rec = ChatRecord {
            id,
            site,
            campaign,
            visitor,
            department,
            status: ChatStatus::Queued,
            agent: None,
            info,
            created_at: now,
            queued_at: now,
            assigned_at: None,
            ended_at: None,
            ended_by: None,
            last_seq: 0,
            survey: None,
        };
        self.chats.insert(id, Chat { rec, client_ids: HashMap::new() });
        self.open_by_visitor.insert((visitor, campaign), id);
        fx.touched.insert(id);
        if !texts.greeting.is_empty() {
            self.append(id, EventKind::System { text: texts.greeting }, None, now, fx);
        }
        self.append(id, EventKind::Queued { department }, None, now, fx);
        self.queue_mut((site, department)).waiting.push_back(id);
        if let Some(c) = self.chats.get(&id) {
            fx.send(Target::Visitor(visitor), Out::Chat(c.rec.clone()));
        }
        self.dispatch(site, now, fx);
        if self.chats.get(&id).is_some_and(|c| c.rec.status == ChatStatus::Queued) {
            if !texts.queue.is_empty() {
                self.append(id, EventKind::System { text: texts.queue }, None, now, fx);
            }
            if self.cfg.max_queue_wait_ms > 0 {
                fx.out.push(Effect::SetTimer(TimerKey::QueueWait(id), now + self.cfg.max_queue_wait_ms));
            }
            self.announce_queue((site, department), fx);
        }
    }

    /// Check that `party` may act on `chat`: the chat's visitor, or its agent.
    fn check_party(&self, chat: ChatId, party: Party) -> Result<(), ErrorCode> {
        let c = self.chats.get(&chat).ok_or(ErrorCode::ChatNotFound)?;
        let ok = match party {
            Party::Visitor(v) => c.rec.visitor == v,
            Party::Agent(a) => c.rec.agent == Some(a),
        };
        if ok { Ok(()) } else { Err(ErrorCode::ChatNotFound) }
    }

    #[allow(clippy::too_many_arguments)]
    fn message(
        &mut self,
        conn: ConnId,
        from: Party,
        chat: ChatId,
        client_id: String,
        text: String,
        note: bool,
        now: Millis,
        fx: &mut Fx,
    ) {
        let err =
            |fx: &mut Fx, code| fx.send(Target::Conn(conn), Out::Error { code, client_id: Some(client_id.clone()) });
        if let Err(code) = self.check_party(chat, from) {
            return err(fx, code);
        }
        let Some(c) = self.chats.get(&chat) else { return err(fx, ErrorCode::ChatNotFound) };
        if let Some(seq) = c.client_ids.get(&client_id) {
            // A resend: acknowledge again, store nothing.
            fx.send(Target::Conn(conn), Out::Ack { chat, client_id, seq: *seq });
            return;
        }
        if c.rec.status == ChatStatus::Ended {
            return err(fx, ErrorCode::ChatEnded);
        }
        let text = text.trim().to_string();
        if text.is_empty() {
            return err(fx, ErrorCode::EmptyMessage);
        }
        if text.len() > self.cfg.max_message_bytes {
            return err(fx, ErrorCode::MessageTooLong);
        }
        let kind = match from {
            Party::Visitor(_) if note => return err(fx, ErrorCode::NotAllowed),
            Party::Visitor(_) => EventKind::Message { author: Author::Visitor, text },
            Party::Agent(a) => {
                let name = self.agents.get(&a).map(|x| x.profile.name.clone()).unwrap_or_default();
                if note {
                    EventKind::Note { agent: a, name, text }
                } else {
                    EventKind::Message { author: Author::Agent { agent: a, name }, text }
                }
            }
        };
        let seq = self.append(chat, kind, Some(client_id.clone()), now, fx);
        if let Some(c) = self.chats.get_mut(&chat) {
            c.client_ids.insert(client_id.clone(), seq);
        }
        fx.send(Target::Conn(conn), Out::Ack { chat, client_id, seq });
    }

    #[allow(clippy::too_many_arguments)]
    fn survey(
        &mut self,
        conn: ConnId,
        visitor: VisitorId,
        chat: ChatId,
        rating: u8,
        comment: String,
        now: Millis,
        fx: &mut Fx,
    ) {
        let err = |fx: &mut Fx, code| fx.send(Target::Conn(conn), Out::Error { code, client_id: None });
        let Some(c) = self.chats.get(&chat).filter(|c| c.rec.visitor == visitor) else {
            return err(fx, ErrorCode::ChatNotFound);
        };
        if c.rec.status != ChatStatus::Ended || c.rec.survey.is_some() {
            return err(fx, ErrorCode::NotAllowed);
        }
        if !(1..=5).contains(&rating) {
            return err(fx, ErrorCode::InvalidRating);
        }
        let comment: String = comment.trim().chars().take(1000).collect();
        if let Some(c) = self.chats.get_mut(&chat) {
            c.rec.survey = Some(super::chat::Survey { rating, comment: comment.clone() });
        }
        self.append(chat, EventKind::Survey { rating, comment }, None, now, fx);
    }

    /// Append an event with the chat's next sequence number and send it to who may see it.
    fn append(&mut self, chat: ChatId, kind: EventKind, client_id: Option<String>, now: Millis, fx: &mut Fx) -> u64 {
        let Some(c) = self.chats.get_mut(&chat) else { return 0 };
        c.rec.last_seq += 1;
        let event = ChatEvent { chat, seq: c.rec.last_seq, at: now, client_id, kind };
        if event.kind.visible_to_visitor() {
            fx.send(Target::Visitor(c.rec.visitor), Out::Event(event.clone()));
        }
        if let Some(a) = c.rec.agent {
            fx.send(Target::Agent(a), Out::Event(event.clone()));
        }
        fx.touched.insert(chat);
        let seq = event.seq;
        fx.out.push(Effect::Append(event));
        seq
    }

    fn end(&mut self, chat: ChatId, by: EndedBy, now: Millis, fx: &mut Fx) {
        let Some(c) = self.chats.get_mut(&chat) else { return };
        if c.rec.status == ChatStatus::Ended {
            return;
        }
        let was_queued = c.rec.status == ChatStatus::Queued;
        let key = (c.rec.site, c.rec.department);
        let (visitor, campaign, agent) = (c.rec.visitor, c.rec.campaign, c.rec.agent);
        self.append(chat, EventKind::Ended { by }, None, now, fx);
        if let Some(c) = self.chats.get_mut(&chat) {
            c.rec.status = ChatStatus::Ended;
            c.rec.ended_at = Some(now);
            c.rec.ended_by = Some(by);
        }
        self.open_by_visitor.remove(&(visitor, campaign));
        self.ended.push_back(chat);
        while self.ended.len() > KEEP_ENDED {
            if let Some(old) = self.ended.pop_front() {
                self.chats.remove(&old);
            }
        }
        if was_queued {
            if let Some(q) = self.queues.get_mut(&key) {
                q.waiting.retain(|id| *id != chat);
            }
            fx.out.push(Effect::CancelTimer(TimerKey::QueueWait(chat)));
            self.announce_queue(key, fx);
        }
        if let Some(a) = agent.and_then(|a| self.agents.get_mut(&a)) {
            a.chats.remove(&chat);
            let (id, presence, n, site) = (a.profile.id, a.presence, a.chats.len() as u32, a.profile.site);
            fx.send(Target::SiteAgents(site), Out::Presence { agent: id, presence, active_chats: n });
        }
    }

    // ---- queues and allocation ----

    fn queue_mut(&mut self, key: QueueKey) -> &mut Queue {
        self.queues.entry(key).or_default()
    }

    /// Give waiting chats of `site` to agents with capacity: repeatedly the queue head that has
    /// waited longest among the queues that have an eligible agent.
    fn dispatch(&mut self, site: SiteId, now: Millis, fx: &mut Fx) {
        loop {
            let mut best: Option<(Millis, ChatId, QueueKey, UserId)> = None;
            for (key, q) in self.queues.iter().filter(|(k, q)| k.0 == site && !q.waiting.is_empty()) {
                let Some(&head) = q.waiting.front() else { continue };
                let Some(queued_at) = self.chats.get(&head).map(|c| c.rec.queued_at) else { continue };
                if best.as_ref().is_some_and(|b| (b.0, b.1) <= (queued_at, head)) {
                    continue;
                }
                if let Some(agent) = allocation::pick(self, *key, q) {
                    best = Some((queued_at, head, *key, agent));
                }
            }
            let Some((queued_at, chat, key, agent)) = best else { return };
            if let Some(q) = self.queues.get_mut(&key) {
                q.waiting.pop_front();
                q.rr_last = Some(agent);
                q.recent_waits.push_back(now.saturating_sub(queued_at));
                if q.recent_waits.len() > WAIT_SAMPLES {
                    q.recent_waits.pop_front();
                }
            }
            self.assign(chat, agent, now, fx);
            fx.out.push(Effect::CancelTimer(TimerKey::QueueWait(chat)));
            self.announce_queue(key, fx);
        }
    }

    fn assign(&mut self, chat: ChatId, agent: UserId, now: Millis, fx: &mut Fx) {
        let Some(a) = self.agents.get_mut(&agent) else { return };
        a.chats.insert(chat);
        a.last_assigned = now;
        let (name, site, presence, n) = (a.profile.name.clone(), a.profile.site, a.presence, a.chats.len() as u32);
        let Some(c) = self.chats.get_mut(&chat) else { return };
        c.rec.status = ChatStatus::Active;
        c.rec.agent = Some(agent);
        c.rec.assigned_at = Some(now);
        self.append(chat, EventKind::Assigned { agent, name }, None, now, fx);
        if let Some(c) = self.chats.get(&chat) {
            fx.send(Target::Agent(agent), Out::Assigned(c.rec.clone()));
        }
        fx.send(Target::SiteAgents(site), Out::Presence { agent, presence, active_chats: n });
    }

    /// Tell every visitor waiting in the queue their position and estimated wait.
    fn announce_queue(&self, key: QueueKey, fx: &mut Fx) {
        let Some(q) = self.queues.get(&key) else { return };
        for (i, chat) in q.waiting.iter().enumerate() {
            let Some(c) = self.chats.get(chat) else { continue };
            let position = i as u32 + 1;
            fx.send(
                Target::Visitor(c.rec.visitor),
                Out::Queue { chat: *chat, position, eta_secs: self.eta_secs(&key, position) },
            );
        }
    }

    /// Median of the queue's recent waits, times the position, shared among the members who
    /// are Online: `None` until the queue has history.
    fn eta_secs(&self, key: &QueueKey, position: u32) -> Option<u32> {
        let q = self.queues.get(key)?;
        if q.recent_waits.is_empty() {
            return None;
        }
        let mut w: Vec<u64> = q.recent_waits.iter().copied().collect();
        w.sort_unstable();
        let median = w[w.len() / 2];
        let online =
            allocation::members(self, *key, q).filter(|a| a.presence == Presence::Online).count().max(1) as u64;
        Some(((median * u64::from(position)).div_ceil(online) / 1000).max(1) as u32)
    }
}
