//! The rules: one pass over a chat's events, keeping what is under way (the agent's contact,
//! the wait, the offer, the transfer looking for its taker) and emitting each fact at the
//! event that settles it.

use super::super::Millis;
use super::super::chat::{Author, ChatEvent, ChatRecord, EndedBy, EventKind, TransferKind, TransferOutcome};
use super::super::ids::{DepartmentId, SiteId, UserId};
use super::facts::*;

/// What a chat contributes to the statistics, from its record and its events (in seq order).
///
/// A chat that came from another site carries a copy of the source chat's events (the
/// transcript) before its own: those are the source chat's facts and are skipped here.
pub fn chat_facts(chat: &ChatRecord, events: &[ChatEvent]) -> ChatFacts {
    let own = own_events(chat, events);
    let mut w = Walk::new(chat, own);
    for e in own {
        w.event(e);
    }
    ChatFacts { chat: chat.id, site: chat.site, campaign: chat.campaign, facts: w.facts }
}

/// The chat's own events. A cross-site chat's own events follow the conversation copied from
/// the source chat (`origin.copied` events). Chats stored before that count was kept copied
/// every event of the source: their own events start at the incoming cross-site transfer
/// step, the first event or the one right after the copied `ended` (by transfer).
fn own_events<'a>(chat: &ChatRecord, events: &'a [ChatEvent]) -> &'a [ChatEvent] {
    let Some(origin) = &chat.origin else { return events };
    if origin.copied > 0 {
        let first = events.iter().position(|e| e.seq > origin.copied).unwrap_or(events.len());
        return &events[first..];
    }
    let start = (0..events.len()).rev().find(|i| {
        let e = &events[*i];
        is_incoming(chat.site, e)
            && e.at == origin.at
            && (*i == 0 || matches!(events[i - 1].kind, EventKind::Ended { .. }))
    });
    match start {
        Some(i) => &events[i..],
        None => &[],
    }
}

/// The step a cross-site chat starts with on its new site.
fn is_incoming(site: SiteId, e: &ChatEvent) -> bool {
    matches!(
        e.kind,
        EventKind::Transfer { transfer: TransferKind::CrossSite, outcome: TransferOutcome::Completed, to_site: Some(s), .. }
            if s == site
    )
}

struct OpenContact {
    agent: UserId,
    at: Millis,
    department: Option<DepartmentId>,
    by_transfer: Option<TransferKind>,
    first_reply: Option<Millis>,
}

struct OpenWait {
    at: Millis,
    department: Option<DepartmentId>,
    for_agent: Option<UserId>,
}

/// A transfer not resolved yet: an offer (warm, broadcast), or a chat on its way to a queue,
/// an unavailable agent or another site's agents.
struct OpenTransfer {
    fact: Transfer,
    at: Millis,
    department: Option<DepartmentId>,
    accepted_at: Option<Millis>,
}

struct Walk<'a> {
    rec: &'a ChatRecord,
    facts: Vec<Fact>,
    department: Option<DepartmentId>,
    /// The department the chat started in, and whether `Started` was emitted.
    start_department: Option<DepartmentId>,
    started: bool,
    contact: Option<OpenContact>,
    wait: Option<OpenWait>,
    offer: Option<OpenTransfer>,
    moving: Option<OpenTransfer>,
    /// The transfer the next assignment comes from.
    arriving: Option<TransferKind>,
    answered: bool,
    participants: Vec<UserId>,
    last_agent: Option<UserId>,
    seq: u64,
}

impl<'a> Walk<'a> {
    fn new(rec: &'a ChatRecord, own: &[ChatEvent]) -> Walk<'a> {
        // The queue the chat started in: its first `queued` event, or the department a
        // cross-site chat arrived in; a chat assigned without a queue keeps the record's.
        let start_department = own
            .iter()
            .find_map(|e| match &e.kind {
                EventKind::Queued { department } => Some(*department),
                EventKind::Transfer { to_department, .. } if is_incoming(rec.site, e) => Some(*to_department),
                EventKind::Assigned { .. } | EventKind::Ended { .. } => Some(rec.department),
                _ => None,
            })
            .unwrap_or(rec.department);
        Walk {
            rec,
            facts: vec![],
            department: start_department,
            start_department,
            started: false,
            contact: None,
            wait: None,
            offer: None,
            moving: None,
            arriving: None,
            answered: false,
            participants: vec![],
            last_agent: None,
            seq: 0,
        }
    }

    fn emit(&mut self, at: Millis, department: Option<DepartmentId>, kind: FactKind) {
        self.facts.push(Fact { at, settled: self.seq, department, kind });
    }

    /// A chat-level fact: reported under the chat's start.
    fn emit_chat(&mut self, kind: FactKind) {
        self.emit(self.rec.created_at, self.department, kind);
    }

    fn event(&mut self, e: &ChatEvent) {
        self.seq = e.seq;
        let settles_start =
            matches!(e.kind, EventKind::Queued { .. } | EventKind::Assigned { .. } | EventKind::Ended { .. })
                || is_incoming(self.rec.site, e);
        if !self.started && settles_start {
            self.started = true;
            self.emit(self.rec.created_at, self.start_department, FactKind::Started);
        }
        match &e.kind {
            EventKind::Message { author: Author::Agent { agent, .. }, .. } => self.agent_wrote(*agent, e.at),
            EventKind::Queued { department } => self.queued(*department, e.at),
            EventKind::Assigned { agent, .. } => self.assigned(*agent, e.at),
            EventKind::Ended { by } => self.ended(*by, e.at),
            EventKind::Survey { rating, .. } => {
                let agents = self.participants.clone();
                self.emit_chat(FactKind::Rating { rating: *rating, agents });
            }
            EventKind::Transfer { .. } => self.transfer(e),
            EventKind::Message { author: Author::Visitor, .. } | EventKind::Note { .. } | EventKind::System { .. } => {}
        }
    }

    fn agent_wrote(&mut self, agent: UserId, at: Millis) {
        if let Some(c) = self.contact.as_mut().filter(|c| c.agent == agent && c.first_reply.is_none()) {
            c.first_reply = Some(at);
        }
        if !self.answered {
            self.answered = true;
            let ms = at.saturating_sub(self.rec.created_at);
            self.emit_chat(FactKind::FirstResponse { ms });
        }
    }

    fn queued(&mut self, department: Option<DepartmentId>, at: Millis) {
        self.department = department;
        self.close_wait(WaitEnd::Moved, at);
        // A chat waiting for an unavailable agent fell back to the queue: that agent never came.
        if self.moving.as_ref().is_some_and(|m| m.fact.kind == TransferKind::Unavailable) {
            self.arriving = None;
            self.resolve_moving(Resolution::TimedOut, at, None);
        }
        self.wait = Some(OpenWait { at, department, for_agent: None });
    }

    fn assigned(&mut self, agent: UserId, at: Millis) {
        self.close_contact(Left::Reassigned, at, false);
        self.close_wait(WaitEnd::Taken(agent), at);
        self.resolve_moving(Resolution::Accepted, at, Some(agent));
        let by_transfer = self.arriving.take();
        self.contact = Some(OpenContact { agent, at, department: self.department, by_transfer, first_reply: None });
        if !self.participants.contains(&agent) {
            self.participants.push(agent);
        }
        self.last_agent = Some(agent);
    }

    fn ended(&mut self, by: EndedBy, at: Millis) {
        self.close_contact(Left::Ended(by), at, false);
        self.close_wait(WaitEnd::Ended(by), at);
        self.resolve_offer(Resolution::Cancelled, at, None);
        self.resolve_moving(Resolution::Abandoned, at, None);
        self.arriving = None;
        let answered = self.answered;
        self.emit_chat(FactKind::Ended { by, answered });
        if let Some(agent) = self.last_agent {
            self.emit_chat(FactKind::LastContact { agent });
        }
    }

    fn close_contact(&mut self, left: Left, at: Millis, replied: bool) {
        let Some(c) = self.contact.take() else { return };
        let contact = Contact {
            agent: c.agent,
            by_transfer: c.by_transfer,
            // The messages decide; `replied` on a transfer step agrees (it is not kept across a
            // restart of the server, so it alone could miss a reply).
            answered: c.first_reply.is_some() || replied,
            first_response_ms: c.first_reply.map(|r| r.saturating_sub(c.at)),
            handle_ms: at.saturating_sub(c.at),
            left,
        };
        self.emit(c.at, c.department, FactKind::Contact(contact));
    }

    fn close_wait(&mut self, end: WaitEnd, at: Millis) {
        let Some(w) = self.wait.take() else { return };
        let wait = Wait { for_agent: w.for_agent, wait_ms: at.saturating_sub(w.at), end };
        self.emit(w.at, w.department, FactKind::Waited(wait));
    }

    fn resolve(&mut self, open: Option<OpenTransfer>, resolution: Resolution, at: Millis, taker: Option<UserId>) {
        let Some(mut t) = open else { return };
        t.fact.resolution = resolution;
        if resolution == Resolution::Accepted {
            t.fact.to_agent = taker.or(t.fact.to_agent);
            t.fact.accept_ms = Some(t.accepted_at.unwrap_or(at).saturating_sub(t.at));
        }
        self.emit(t.at, t.department, FactKind::Transfer(t.fact));
    }

    fn resolve_offer(&mut self, resolution: Resolution, at: Millis, taker: Option<UserId>) {
        let open = self.offer.take();
        self.resolve(open, resolution, at, taker);
    }

    fn resolve_moving(&mut self, resolution: Resolution, at: Millis, taker: Option<UserId>) {
        let open = self.moving.take();
        self.resolve(open, resolution, at, taker);
    }

    fn transfer(&mut self, e: &ChatEvent) {
        let EventKind::Transfer { transfer: kind, outcome, from, to_agent, to_department, to_site, replied, .. } =
            &e.kind
        else {
            return;
        };
        let (kind, at, replied) = (*kind, e.at, *replied);
        let fact = Transfer {
            kind,
            side: Side::Both,
            from: *from,
            to_agent: *to_agent,
            to_department: *to_department,
            to_site: *to_site,
            resolution: Resolution::Accepted,
            accept_ms: None,
            replied,
        };
        let open = |fact: Transfer, department| OpenTransfer { fact, at, department, accepted_at: None };
        use TransferKind as K;
        use TransferOutcome as O;
        match (kind, outcome) {
            (K::CrossSite, O::Completed) if is_incoming(self.rec.site, e) => {
                // The new chat of a cross-site transfer: in for this site, until someone takes it.
                let from = self.rec.origin.as_ref().map_or(*from, |o| o.agent);
                let fact = Transfer { side: Side::In, from, ..fact };
                self.moving = Some(open(fact, *to_department));
                self.arriving = Some(kind);
                if let Some(agent) = to_agent {
                    self.wait = Some(OpenWait { at, department: *to_department, for_agent: Some(*agent) });
                }
            }
            (K::CrossSite, O::Completed) => {
                self.close_contact(Left::Transfer(kind), at, replied);
                let fact = Transfer { side: Side::Out, ..fact };
                self.emit(at, self.department, FactKind::Transfer(fact));
            }
            (K::Cold, O::Completed) => {
                self.close_contact(Left::Transfer(kind), at, replied);
                self.emit(at, self.department, FactKind::Transfer(fact));
                self.arriving = Some(kind);
            }
            (K::Warm | K::Broadcast, O::Offered) => {
                self.resolve_offer(Resolution::Cancelled, at, None);
                self.offer = Some(open(fact, self.department));
            }
            (K::Warm, O::Accepted) => {
                if let Some(o) = self.offer.as_mut() {
                    o.accepted_at = Some(at);
                    o.fact.to_agent = to_agent.or(o.fact.to_agent);
                }
            }
            (K::Warm | K::Broadcast, O::Completed) => {
                self.close_contact(Left::Transfer(kind), at, replied);
                if self.offer.is_none() {
                    self.offer = Some(open(fact, self.department));
                }
                self.resolve_offer(Resolution::Accepted, at, *to_agent);
                self.arriving = Some(kind);
            }
            (K::Warm | K::Broadcast, O::Declined | O::Expired | O::Cancelled) => {
                let resolution = match outcome {
                    O::Declined => Resolution::Declined,
                    O::Expired => Resolution::TimedOut,
                    _ => Resolution::Cancelled,
                };
                if self.offer.is_none() {
                    self.offer = Some(open(fact, self.department));
                }
                self.resolve_offer(resolution, at, None);
            }
            (K::Queue, O::Completed) => {
                self.close_contact(Left::Transfer(kind), at, replied);
                self.moving = Some(open(fact, self.department));
                self.arriving = Some(kind);
            }
            (K::Unavailable, O::Waiting) => {
                self.close_contact(Left::Transfer(kind), at, replied);
                self.moving = Some(open(fact, self.department));
                self.arriving = Some(kind);
                self.wait = Some(OpenWait { at, department: self.department, for_agent: *to_agent });
            }
            _ => {}
        }
    }
}
