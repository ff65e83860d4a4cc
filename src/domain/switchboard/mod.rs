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
mod api;
mod chats;
mod cross_site;
mod picker;
mod presence;
mod queues;
#[cfg(test)]
pub(crate) mod sim;
#[cfg(test)]
mod tests;
mod transfer;
#[cfg(test)]
mod transfer_tests;
#[cfg(test)]
mod visitor_tests;
mod visitors;

use super::Millis;
use super::chat::{
    Author, ChatEvent, ChatRecord, ChatState, ChatStatus, EndedBy, EventKind, StopReason, TransferKind,
    TransferOutcome, VisitorInfo, Withdrawal,
};
use super::ids::{CampaignId, ChatId, ConnId, DepartmentId, InvitationId, SiteId, UserId, VisitorId};
use super::model::AllocationRule;
use std::collections::{BTreeSet, HashMap, VecDeque};

pub use api::*;
pub use picker::{PickAgent, PickDepartment, PickSite, Targets};

pub(crate) type QueueKey = (SiteId, Option<DepartmentId>);

#[derive(Debug)]
pub(crate) struct Agent {
    pub(crate) profile: AgentProfile,
    pub(crate) presence: Presence,
    pub(crate) conns: BTreeSet<ConnId>,
    pub(crate) chats: BTreeSet<ChatId>,
    pub(crate) last_assigned: Millis,
    /// Chats transferred to this agent that wait until they can take them, oldest first.
    pub(crate) waiting: VecDeque<ChatId>,
    /// Accepted warm offers not handed over yet: they count against the maximum.
    pub(crate) reserved: BTreeSet<ChatId>,
    /// They last chose Away: a console they open starts Away.
    pub(crate) away: bool,
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
    /// The `client_key`s of its most recent messages and notes, with their seqs
    /// (exactly-once on resend).
    pub(crate) client_ids: RecentIds,
    /// The transfer under way, if any.
    pub(crate) pending: Option<Pending>,
    /// The last transfer note, offered again on the next attempt.
    pub(crate) last_note: String,
    /// Has the current owner written to the visitor since taking the chat?
    pub(crate) owner_replied: bool,
    /// How many of its events are conversation (what a cross-site transfer copies).
    pub(crate) conversation: u64,
    /// The other keys this chat is the open chat of: the windows (campaigns) of the chats it
    /// moved on from by cross-site transfer.
    pub(crate) also_open_as: Vec<(VisitorId, CampaignId)>,
    /// The agent who sent it to a queue: not given back to them.
    pub(crate) not_to: Option<UserId>,
    /// The summary as last stored; `None` for a chat never stored yet.
    pub(crate) persisted: Option<ChatRecord>,
}

impl Chat {
    /// A chat read back from the store.
    pub(crate) fn stored(rec: ChatRecord, client_ids: RecentIds) -> Chat {
        let mut c = Chat::new(rec, client_ids);
        c.persisted = Some(c.rec.clone());
        c
    }

    pub(crate) fn new(rec: ChatRecord, client_ids: RecentIds) -> Chat {
        Chat {
            persisted: None,
            rec,
            client_ids,
            pending: None,
            last_note: String::new(),
            owner_replied: false,
            conversation: 0,
            also_open_as: Vec::new(),
            not_to: None,
        }
    }
}

/// How many of a chat's latest messages and notes a resend is recognized among (by its
/// sender's message id): a resend is of a message whose ack the client did not get, which
/// the client sent just before its connection was lost. Kept per chat, in memory; a chat's
/// whole history of ids would grow with every message (docs/protocol.md, "Exactly once").
pub const RESEND_WINDOW: usize = 64;

/// The same for a chat that ended (10,000 of which are held): its last few messages.
pub const ENDED_RESEND_WINDOW: usize = 8;

/// The client keys of a chat's latest `RESEND_WINDOW` messages and notes, oldest first.
#[derive(Debug, Default)]
pub(crate) struct RecentIds(std::collections::VecDeque<(Box<str>, u64)>);

impl RecentIds {
    /// The latest of `ids` (in seq order), as a restart reads them back.
    pub(crate) fn of(ids: impl IntoIterator<Item = (String, u64)>) -> RecentIds {
        let mut recent = RecentIds::default();
        for (key, seq) in ids {
            recent.insert(key, seq);
        }
        recent
    }

    pub(crate) fn get(&self, key: &str) -> Option<u64> {
        self.0.iter().rev().find(|(k, _)| &**k == key).map(|(_, seq)| *seq)
    }

    pub(crate) fn insert(&mut self, key: String, seq: u64) {
        if self.0.len() >= RESEND_WINDOW {
            self.0.pop_front();
        }
        self.0.push_back((key.into_boxed_str(), seq));
    }

    /// Forget all but the latest `n`, and the room the others took.
    pub(crate) fn keep_latest(&mut self, n: usize) {
        while self.0.len() > n {
            self.0.pop_front();
        }
        self.0.shrink_to_fit();
    }

    #[cfg(test)]
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&str, u64)> {
        self.0.iter().map(|(k, s)| (&**k, *s))
    }
}

/// An offer open to an agent, for their console's welcome.
#[derive(Clone, Debug)]
pub struct OpenOfferTo {
    pub chat: ChatRecord,
    pub from: UserId,
    pub from_name: String,
    pub note: String,
    pub expires_at: Millis,
    pub broadcast: bool,
}

/// A warm or broadcast offer under way.
#[derive(Debug, Clone)]
pub(crate) struct Pending {
    pub(crate) from: UserId,
    pub(crate) note: String,
    pub(crate) notice: Option<String>,
    pub(crate) expires_at: Millis,
    pub(crate) offer: Offer,
}

/// To whom an offer is made, and how far it got.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Offer {
    /// A warm transfer to one agent, not answered yet.
    Warm { to: UserId },
    /// The warm transfer's target accepted: the source hands the chat over ("transfer now").
    Accepted { by: UserId },
    /// A broadcast to the department's available members still offered it; the first to
    /// accept takes the chat.
    Broadcast { department: DepartmentId, to: Vec<UserId> },
}

impl Offer {
    pub(crate) fn kind(&self) -> TransferKind {
        match self {
            Offer::Broadcast { .. } => TransferKind::Broadcast,
            Offer::Warm { .. } | Offer::Accepted { .. } => TransferKind::Warm,
        }
    }

    /// The agents shown the offer.
    pub(crate) fn targets(&self) -> &[UserId] {
        match self {
            Offer::Warm { to } | Offer::Accepted { by: to } => std::slice::from_ref(to),
            Offer::Broadcast { to, .. } => to,
        }
    }

    /// May `agent` still answer it?
    pub(crate) fn open_to(&self, agent: UserId) -> bool {
        match self {
            Offer::Warm { to } => *to == agent,
            Offer::Broadcast { to, .. } => to.contains(&agent),
            Offer::Accepted { .. } => false,
        }
    }

    pub(crate) fn accepted_by(&self) -> Option<UserId> {
        match self {
            Offer::Accepted { by } => Some(*by),
            _ => None,
        }
    }

    pub(crate) fn department(&self) -> Option<DepartmentId> {
        match self {
            Offer::Broadcast { department, .. } => Some(*department),
            _ => None,
        }
    }

    /// The agent a warm transfer is (or was) to.
    pub(crate) fn warm_target(&self) -> Option<UserId> {
        match self {
            Offer::Warm { to } | Offer::Accepted { by: to } => Some(*to),
            Offer::Broadcast { .. } => None,
        }
    }
}

/// A sender's message id, made unique per sender: ids are chosen by clients, and the visitor
/// and an agent may well both pick "1".
pub fn client_key(from: Party, id: &str) -> String {
    match from {
        Party::Visitor(_) => format!("v:{id}"),
        Party::Agent(a) => format!("a{a}:{id}"),
    }
}

/// The `client_key` of a stored event, if it carries a client id.
pub fn event_client_key(e: &ChatEvent, visitor: VisitorId) -> Option<String> {
    let id = e.client_id.as_deref()?;
    let from = match &e.kind {
        EventKind::Message { author: Author::Visitor, .. } => Party::Visitor(visitor),
        EventKind::Message { author: Author::Agent { agent, .. }, .. } | EventKind::Note { agent, .. } => {
            Party::Agent(*agent)
        }
        _ => return None,
    };
    Some(client_key(from, id))
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
    /// Cross-site transfer groups.
    pub(crate) groups: Vec<Vec<SiteId>>,
    /// Each site's directory: people, departments, campaigns, settings.
    pub(crate) sites: HashMap<SiteId, SiteDirectory>,
    /// Visitors on the sites now (and for a while after they left, to continue their visit).
    pub(crate) visitors: HashMap<VisitorId, visitors::LiveVisitor>,
    pub(crate) next_invitation: u64,
    /// Consoles that receive each site's live visitor list.
    pub(crate) watchers: HashMap<SiteId, BTreeSet<ConnId>>,
    /// Live-list changes per site not sent yet.
    pub(crate) dirty: HashMap<SiteId, visitors::Dirty>,
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
        Switchboard { cfg, next_chat: 1, next_invitation: 1, ..Default::default() }
    }

    /// Rebuild from the store after a start: open chats (with the `client_key`s of their stored
    /// messages, see `event_client_key`) and the next chat id. Call after `Directory` for every site. Agents start
    /// Offline; queued chats wait in their queues in their original order.
    pub fn restore(&mut self, chats: Vec<RestoredChat>, next_chat: u64, now: Millis) -> Vec<Effect> {
        let mut fx = Fx { out: vec![], touched: BTreeSet::new() };
        self.next_chat = self.next_chat.max(next_chat);
        let mut queued: Vec<ChatId> = vec![];
        let mut open_offers = vec![];
        for RestoredChat { record: rec, client_ids: ids, owner_replied, conversation, open_offer } in chats {
            let id = rec.id;
            self.next_chat = self.next_chat.max(id.0 + 1);
            if rec.status() == ChatStatus::Ended {
                self.ended.push_back(id);
                self.chats.insert(id, Chat::stored(rec, RecentIds::of(ids)));
                continue;
            }
            self.open_by_visitor.insert((rec.visitor, rec.campaign), id);
            match (rec.status(), rec.waiting_for()) {
                (ChatStatus::Active, _) => {
                    if let Some(a) = rec.agent().and_then(|a| self.agents.get_mut(&a)) {
                        a.chats.insert(id);
                    }
                }
                (_, Some(agent)) => {
                    if let Some(a) = self.agents.get_mut(&agent) {
                        a.waiting.push_back(id);
                    }
                }
                _ => queued.push(id),
            }
            let mut chat = Chat::stored(rec, RecentIds::of(ids));
            chat.owner_replied = owner_replied;
            chat.conversation = conversation;
            self.chats.insert(id, chat);
            if let Some(open) = open_offer {
                open_offers.push((id, open));
            }
        }
        for (chat, open) in open_offers {
            self.withdraw_at_restart(chat, open, now, &mut fx);
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
        self.finish(fx)
    }

    pub fn handle(&mut self, cmd: Command, now: Millis) -> Vec<Effect> {
        let mut fx = Fx { out: vec![], touched: BTreeSet::new() };
        match cmd {
            Command::Directory(dir) => self.directory(*dir, now, &mut fx),
            Command::AgentConnected { agent, conn } => self.agent_connected(agent, conn, now, &mut fx),
            Command::AgentDisconnected { agent, conn } => {
                self.unwatch(conn);
                if let Some(a) = self.agents.get_mut(&agent) {
                    a.conns.remove(&conn);
                    if a.conns.is_empty() {
                        fx.out.push(Effect::SetTimer(TimerKey::Grace(agent), now + self.cfg.grace_ms));
                    }
                }
            }
            Command::SetPresence { agent, conn, presence } => {
                if let Some(a) = self.agents.get_mut(&agent).filter(|a| a.conns.contains(&conn)) {
                    // Away is kept for their next console; choosing Online, or signing off with
                    // Offline, makes the next one start Online again.
                    let away = presence == Presence::Away;
                    if away != a.away {
                        a.away = away;
                        fx.out.push(Effect::PutAway { site: a.profile.site, agent, away });
                    }
                    self.set_presence(agent, presence, now, &mut fx);
                }
            }
            Command::StartChat(req) => self.start_chat(req, now, &mut fx),
            Command::Message(m) => self.message(m, now, &mut fx),
            Command::Typing { conn, from, chat, on } => match self.check_party(chat, from) {
                Ok(()) => {
                    let Some(c) = self.chats.get(&chat).filter(|c| c.rec.status() != ChatStatus::Ended) else {
                        return fx.out;
                    };
                    match from {
                        Party::Visitor(_) => {
                            if let Some(a) = c.rec.agent() {
                                fx.send(Target::Agent(a), Out::Typing { chat, by_agent: false, on });
                            }
                        }
                        Party::Agent(_) => {
                            fx.send(Target::Visitor(c.rec.visitor), Out::Typing { chat, by_agent: true, on })
                        }
                    }
                }
                Err(code) => fx.send(Target::reply(from, conn), Out::Error { code, client_id: None, chat: Some(chat) }),
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
                Err(code) => fx.send(Target::reply(by, conn), Out::Error { code, client_id: None, chat: Some(chat) }),
            },
            Command::Survey(answer) => self.survey(answer, now, &mut fx),
            Command::Groups(groups) => self.groups = groups,
            Command::Transfer(req) => {
                let chat = req.chat;
                self.transfer(*req, now, &mut fx);
                self.dispatch_chat_site(chat, now, &mut fx);
            }
            Command::AnswerOffer(answer) => {
                let chat = answer.chat;
                self.answer_offer(answer, now, &mut fx);
                self.dispatch_chat_site(chat, now, &mut fx);
            }
            Command::CancelTransfer { conn, agent, chat } => {
                self.cancel(conn, agent, chat, now, &mut fx);
                self.dispatch_chat_site(chat, now, &mut fx);
            }
            Command::CompleteTransfer { conn, agent, chat } => {
                self.complete(Some(conn), agent, chat, now, &mut fx);
                self.dispatch_chat_site(chat, now, &mut fx);
            }
            Command::Timer(TimerKey::Offer(chat)) => self.offer_expired(chat, now, &mut fx),
            Command::Timer(TimerKey::Fallback(chat)) => self.fallback(chat, now, &mut fx),
            Command::Timer(TimerKey::Grace(agent)) => {
                if self.agents.get(&agent).is_some_and(|a| a.conns.is_empty()) {
                    self.set_presence(agent, Presence::Offline, now, &mut fx);
                }
            }
            Command::Timer(TimerKey::VisitorLeave(visitor)) => self.visitor_leave(visitor, now, &mut fx),
            Command::Timer(TimerKey::VisitorForget(visitor)) => self.visitor_forget(visitor),
            Command::Timer(TimerKey::Proactive(visitor)) => self.proactive_due(visitor, now, &mut fx),
            Command::Timer(TimerKey::InvitationExpiry(visitor)) => self.invitation_expired(visitor, now, &mut fx),
            Command::Timer(TimerKey::VisitorFlush(site)) => self.visitor_flush(site, &mut fx),
            Command::VisitorConnected(arrival) => self.visitor_connected(arrival, now, &mut fx),
            Command::VisitorPage { conn, visitor, page } => self.visitor_page(conn, visitor, page, now, &mut fx),
            Command::VisitorDisconnected { conn, visitor } => self.visitor_disconnected(conn, visitor, now, &mut fx),
            Command::Invite { conn, agent, visitor, text } => self.invite(conn, agent, visitor, text, now, &mut fx),
            Command::AnswerInvitation { conn, visitor, invitation, accept } => {
                self.answer_invitation(conn, visitor, invitation, accept, now, &mut fx)
            }
            Command::OpenChat { conn, agent, visitor } => {
                self.open_chat_with(conn, agent, visitor, now, &mut fx);
                if let Some(site) = self.agents.get(&agent).map(|a| a.profile.site) {
                    self.dispatch(site, now, &mut fx);
                }
            }
            Command::WatchVisitors { conn, agent, on } => self.watch_visitors(conn, agent, on, &mut fx),
            Command::Timer(TimerKey::QueueWait(chat)) => {
                let queued =
                    self.chats.get(&chat).filter(|c| c.rec.status() == ChatStatus::Queued).map(|c| c.rec.visitor);
                if let Some(visitor) = queued {
                    self.end(chat, EndedBy::NoAgent, now, &mut fx);
                    fx.send(Target::Visitor(visitor), Out::Offline { chat: Some(chat) });
                }
            }
        }
        self.finish(fx)
    }

    /// The effects, with each changed chat's summary stored once.
    fn finish(&mut self, mut fx: Fx) -> Vec<Effect> {
        for id in std::mem::take(&mut fx.touched) {
            if let Some(c) = self.chats.get_mut(&id) {
                // A new event alone only moves `last_seq`, which the events themselves record:
                // the summary is stored again only when something else changed (one write per
                // message instead of two). A restart takes `last_seq` from the events.
                let same = c.persisted.as_ref().is_some_and(|p| {
                    let mut p = p.clone();
                    p.last_seq = c.rec.last_seq;
                    p == c.rec
                });
                if !same {
                    fx.out.push(Effect::PutChat(c.rec.clone()));
                    c.persisted = Some(c.rec.clone());
                }
            }
        }
        fx.out
    }

    /// A transfer step may have freed a place (the source's, or a held one): fill it.
    fn dispatch_chat_site(&mut self, chat: ChatId, now: Millis, fx: &mut Fx) {
        if let Some(site) = self.chats.get(&chat).map(|c| c.rec.site) {
            self.dispatch(site, now, fx);
        }
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

    /// The offers `agent` may answer now, oldest chat first: the chat, its offer, and the
    /// sender's name.
    pub fn offers_to(&self, agent: UserId) -> Vec<OpenOfferTo> {
        let mut out: Vec<OpenOfferTo> = self
            .chats
            .values()
            .filter_map(|c| c.pending.as_ref().filter(|p| p.offer.open_to(agent)).map(|p| (c, p)))
            .map(|(c, p)| OpenOfferTo {
                chat: c.rec.clone(),
                from: p.from,
                from_name: self.agent_name(p.from),
                note: p.note.clone(),
                expires_at: p.expires_at,
                broadcast: p.offer.kind() == TransferKind::Broadcast,
            })
            .collect();
        out.sort_by_key(|o| o.chat.id);
        out
    }

    /// `agent`'s own transfers under way: (chat, `Offered` or `Accepted`, the note, when an
    /// unanswered offer runs out).
    pub fn transfers_of(&self, agent: UserId) -> Vec<(ChatId, TransferOutcome, String, Option<Millis>)> {
        let mut out: Vec<_> = self
            .chats
            .values()
            .filter_map(|c| c.pending.as_ref().filter(|p| p.from == agent).map(|p| (c.rec.id, p)))
            .map(|(id, p)| match p.offer.accepted_by() {
                Some(_) => (id, TransferOutcome::Accepted, p.note.clone(), None),
                None => (id, TransferOutcome::Offered, p.note.clone(), Some(p.expires_at)),
            })
            .collect();
        out.sort_by_key(|t| t.0);
        out
    }

    /// A campaign of any site, with its site's directory (campaign ids are unique across the
    /// organization).
    pub fn campaign(&self, id: CampaignId) -> Option<(&SiteDirectory, &crate::domain::model::Campaign)> {
        self.sites.values().find_map(|d| d.campaigns.iter().find(|c| c.id == id).map(|c| (d, c)))
    }

    /// The visitor's open chat on a campaign.
    pub fn open_chat(&self, visitor: VisitorId, campaign: CampaignId) -> Option<&ChatRecord> {
        self.open_by_visitor.get(&(visitor, campaign)).and_then(|id| self.chat(*id))
    }

    /// Position (1-based) and estimated wait of a queued chat.
    pub fn queue_position(&self, chat: ChatId) -> Option<(u32, Option<u32>)> {
        let c = self.chats.get(&chat)?;
        if let Some(agent) = c.rec.waiting_for() {
            let pos = self.agents.get(&agent)?.waiting.iter().position(|id| *id == chat)? as u32 + 1;
            return Some((pos, None));
        }
        let q = self.queues.get(&(c.rec.site, c.rec.department))?;
        let pos = q.waiting.iter().position(|id| *id == chat)? as u32 + 1;
        Some((pos, self.eta_secs(&(c.rec.site, c.rec.department), pos)))
    }

    /// Visitors waiting in a queue and when the longest-waiting of them joined it.
    pub fn queue_stats(&self, site: SiteId, department: Option<DepartmentId>) -> (u32, Option<Millis>) {
        let Some(q) = self.queues.get(&(site, department)) else { return (0, None) };
        let oldest = q.waiting.iter().filter_map(|c| self.chats.get(c)).map(|c| c.rec.queued_at).min();
        (q.waiting.len() as u32, oldest)
    }

    /// The queues of a site (`None`: its "any agent" queue).
    pub fn queue_keys(&self, site: SiteId) -> Vec<Option<DepartmentId>> {
        self.queues.keys().filter(|k| k.0 == site).map(|k| k.1).collect()
    }

    /// The sites `site` shares a cross-site group with.
    pub fn group_sites(&self, site: SiteId) -> Vec<SiteId> {
        let mut v: Vec<SiteId> =
            self.groups.iter().filter(|g| g.contains(&site)).flatten().copied().filter(|s| *s != site).collect();
        v.sort();
        v.dedup();
        v
    }

    /// Can the site receive a chat now (someone Online or Away)?
    pub fn can_receive(&self, site: SiteId) -> bool {
        self.site_available(site)
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
}
