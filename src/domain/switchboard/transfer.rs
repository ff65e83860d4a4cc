//! Transfers, every kind: cold and warm to an agent, to an unavailable agent ("anyway"), into a
//! department's queue, broadcast to a department, and to another site of a shared group.
//!
//! Offers (warm, broadcast) are one per chat at a time. The source keeps the chat — and keeps
//! chatting — until the hand-over; a decline or a timeout stops the offer with its reason and
//! keeps the note for the next attempt. A broadcast goes to every available member; the
//! first to accept takes the chat and the offer disappears for the others. Every step is a
//! stored, agents-only `Transfer` event for statistics.

use super::*;
use crate::domain::chat::OpenOffer;
use crate::domain::i18n::Message as Text;
use crate::domain::model::TransferSettings;

/// What a transfer step records.
pub(super) struct Step {
    pub(super) kind: TransferKind,
    pub(super) outcome: TransferOutcome,
    pub(super) from: UserId,
    pub(super) to_agent: Option<UserId>,
    pub(super) to_department: Option<DepartmentId>,
    pub(super) to_site: Option<SiteId>,
    pub(super) comment: String,
    pub(super) reason: Option<StopReason>,
    pub(super) decline_text: String,
}

impl Step {
    pub(super) fn new(kind: TransferKind, outcome: TransferOutcome, from: UserId) -> Step {
        Step {
            kind,
            outcome,
            from,
            to_agent: None,
            to_department: None,
            to_site: None,
            comment: String::new(),
            reason: None,
            decline_text: String::new(),
        }
    }
}

/// A transfer being carried out: who moves which chat with what comment, and what the
/// directory says about it.
pub(super) struct Move {
    pub(super) from: UserId,
    pub(super) chat: ChatId,
    pub(super) comment: String,
    /// The chat's campaign's "you are being transferred", when it tells visitors.
    pub(super) notice: Option<String>,
    /// What a visitor whose chat waits is told: the campaign's queue message.
    pub(super) waiting: String,
    /// How long a warm or broadcast offer waits for an answer: the site's setting.
    pub(super) offer_ms: u64,
}

/// How an offer stops: the step's outcome and reason, the decliner's words, and what the
/// agents still offered it are told.
struct Stop {
    outcome: TransferOutcome,
    reason: Option<StopReason>,
    decline_text: String,
    withdrawn: Withdrawal,
    /// An agent already told (the one who declined).
    told: Option<UserId>,
}

impl Stop {
    fn new(outcome: TransferOutcome, reason: StopReason) -> Stop {
        let withdrawn = match reason {
            StopReason::Declined => Withdrawal::Declined,
            StopReason::NoAnswer => Withdrawal::Expired,
            StopReason::ChatEnded => Withdrawal::ChatEnded,
            StopReason::Unavailable => Withdrawal::Unavailable,
            StopReason::Restart => Withdrawal::Restart,
        };
        Stop { outcome, reason: Some(reason), decline_text: String::new(), withdrawn, told: None }
    }
}

impl Switchboard {
    pub(super) fn record(&mut self, chat: ChatId, step: Step, now: Millis, fx: &mut Fx) {
        let replied = self.chats.get(&chat).is_some_and(|c| c.owner_replied);
        let kind = EventKind::Transfer {
            transfer: step.kind,
            outcome: step.outcome,
            from: step.from,
            to_agent: step.to_agent,
            to_department: step.to_department,
            to_site: step.to_site,
            comment: step.comment,
            replied,
            reason: step.reason,
            decline_text: step.decline_text,
        };
        self.append(chat, kind, None, now, fx);
    }

    pub(super) fn agent_name(&self, a: UserId) -> String {
        self.agents.get(&a).map(|x| x.profile.name.clone()).unwrap_or_default()
    }

    /// The source's own chat, with no transfer under way.
    pub(super) fn own_chat(&self, chat: ChatId, agent: UserId) -> Result<&Chat, ErrorCode> {
        let c = self.chats.get(&chat).filter(|c| c.rec.agent() == Some(agent)).ok_or(ErrorCode::ChatNotFound)?;
        if c.rec.status() != ChatStatus::Active {
            return Err(ErrorCode::ChatNotFound);
        }
        if c.pending.is_some() {
            return Err(ErrorCode::TransferPending);
        }
        Ok(c)
    }

    /// Take the chat away from its agent (telling them).
    pub(super) fn release(&mut self, chat: ChatId, fx: &mut Fx) {
        let Some(c) = self.chats.get_mut(&chat) else { return };
        let ChatState::Active(owner) = c.rec.state else { return };
        // Until the caller says where it goes next, it waits.
        c.rec.state = ChatState::Queued;
        c.owner_replied = false;
        if let Some(a) = self.agents.get_mut(&owner) {
            a.chats.remove(&chat);
            fx.send(Target::Agent(owner), Out::Unassigned { chat });
        }
    }

    /// The chat leaves its agent: record the step, tell the visitor (when the campaign says
    /// so), take the chat from the agent.
    pub(super) fn leave_source(&mut self, chat: ChatId, step: Step, notice: &Option<String>, now: Millis, fx: &mut Fx) {
        self.record(chat, step, now, fx);
        self.notify_visitor(chat, notice, now, fx);
        self.release(chat, fx);
    }

    /// Tell the visitor their chat is being transferred, when the campaign says so.
    pub(super) fn notify_visitor(&mut self, chat: ChatId, notice: &Option<String>, now: Millis, fx: &mut Fx) {
        if let Some(text) = notice.as_ref().filter(|t| !t.is_empty()) {
            self.append(chat, EventKind::System { text: text.clone() }, None, now, fx);
        }
    }

    fn has_room(&self, agent: UserId) -> bool {
        self.agents.get(&agent).is_some_and(|a| (a.chats.len() + a.reserved.len()) < a.profile.max_chats as usize)
    }

    /// An agent's transfer: resolved against the directory (the chat's campaign, the site's
    /// settings, the target site's cross-site campaign), then carried out by its kind.
    pub(super) fn transfer(&mut self, req: TransferRequest, now: Millis, fx: &mut Fx) {
        let TransferRequest { conn, agent, chat, to, comment } = req;
        let m = self.move_of(agent, chat, comment);
        let result = match to {
            TransferTo::Agent { agent: to, mode: AgentMode::Cold, .. } => self.cold(m, to, now, fx),
            TransferTo::Agent { agent: to, mode: AgentMode::Warm, .. } => self.offer(m, vec![to], None, now, fx),
            TransferTo::Agent { agent: to, mode: AgentMode::Anyway, fallback_ms } => {
                self.anyway(m, to, fallback_ms, now, fx)
            }
            TransferTo::Department { department, broadcast: false } => self.queue_transfer(m, department, now, fx),
            TransferTo::Department { department, broadcast: true } => self.broadcast(m, department, now, fx),
            TransferTo::Site { site, department, agent: to, with_transcript } => {
                match self.cross_site_target(chat, site, department, to, with_transcript) {
                    Some(t) => self.cross_site(m, t, now, fx),
                    None => Err(ErrorCode::UnknownTarget),
                }
            }
        };
        if let Err(code) = result {
            fx.send(Target::AgentConn(conn), Out::Error { code, client_id: None, chat: Some(chat) });
        }
    }

    /// What a transfer of `chat` by `from` carries: the comment, and from the directory the
    /// chat's campaign's transfer notice (when it tells visitors) and queue message, and the
    /// site's warm-transfer timeout.
    fn move_of(&self, from: UserId, chat: ChatId, comment: String) -> Move {
        let comment: String = comment.trim().chars().take(2000).collect();
        let rec = self.chats.get(&chat).map(|c| &c.rec);
        let site = rec.and_then(|r| self.sites.get(&r.site));
        let campaign = rec.and_then(|r| site?.campaigns.iter().find(|c| c.id == r.campaign));
        let notice = campaign.filter(|c| c.notify_transfer).map(|c| c.message(Text::Transfer).to_string());
        let waiting = campaign.map(|c| c.message(Text::Queue).to_string()).unwrap_or_default();
        let offer_ms =
            u64::from(site.map_or(TransferSettings::default().warm_timeout_secs, |s| s.settings.warm_timeout_secs))
                * 1000;
        Move { from, chat, comment, notice, waiting, offer_ms }
    }

    fn cold(&mut self, m: Move, to: UserId, now: Millis, fx: &mut Fx) -> Result<(), ErrorCode> {
        let Move { from, chat, comment, notice, .. } = m;
        let site = self.own_chat(chat, from)?.rec.site;
        let target = self
            .agents
            .get(&to)
            .filter(|a| a.profile.site == site && a.profile.active && to != from)
            .ok_or(ErrorCode::UnknownTarget)?;
        if target.presence == Presence::Offline {
            return Err(ErrorCode::TargetUnavailable);
        }
        if !self.has_room(to) {
            return Err(ErrorCode::TargetFull);
        }
        let mut step = Step::new(TransferKind::Cold, TransferOutcome::Completed, from);
        step.to_agent = Some(to);
        step.comment = comment;
        self.leave_source(chat, step, &notice, now, fx);
        self.assign(chat, to, now, fx);
        Ok(())
    }

    fn anyway(&mut self, m: Move, to: UserId, fallback_ms: u64, now: Millis, fx: &mut Fx) -> Result<(), ErrorCode> {
        let Move { from, chat, comment, notice, waiting, .. } = m;
        let site = self.own_chat(chat, from)?.rec.site;
        if !self.agents.get(&to).is_some_and(|a| a.profile.site == site && a.profile.active && to != from) {
            return Err(ErrorCode::UnknownTarget);
        }
        let mut step = Step::new(TransferKind::Unavailable, TransferOutcome::Waiting, from);
        step.to_agent = Some(to);
        step.comment = comment;
        self.leave_source(chat, step, &notice, now, fx);
        if let Some(c) = self.chats.get_mut(&chat) {
            c.rec.state = ChatState::WaitingFor(to);
            c.rec.queued_at = now;
        }
        if let Some(a) = self.agents.get_mut(&to) {
            a.waiting.push_back(chat);
        }
        if !waiting.is_empty() {
            self.append(chat, EventKind::System { text: waiting }, None, now, fx);
        }
        if fallback_ms > 0 {
            fx.out.push(Effect::SetTimer(TimerKey::Fallback(chat), now + fallback_ms));
        }
        self.dispatch(site, now, fx);
        Ok(())
    }

    /// The fallback of an unavailable-agent transfer: into the chat's department queue.
    pub(super) fn fallback(&mut self, chat: ChatId, now: Millis, fx: &mut Fx) {
        let Some(c) = self.chats.get_mut(&chat) else { return };
        let ChatState::WaitingFor(agent) = c.rec.state else { return };
        c.rec.state = ChatState::Queued;
        let (site, department) = (c.rec.site, c.rec.department);
        c.rec.queued_at = now;
        if let Some(a) = self.agents.get_mut(&agent) {
            a.waiting.retain(|x| *x != chat);
        }
        self.append(chat, EventKind::Queued { department }, None, now, fx);
        self.queue_mut((site, department)).waiting.push_back(chat);
        self.dispatch(site, now, fx);
        self.announce_queue((site, department), fx);
    }

    fn queue_transfer(&mut self, m: Move, department: DepartmentId, now: Millis, fx: &mut Fx) -> Result<(), ErrorCode> {
        let Move { from, chat, comment, notice, .. } = m;
        let site = self.own_chat(chat, from)?.rec.site;
        if !self.queues.contains_key(&(site, Some(department))) {
            return Err(ErrorCode::UnknownTarget);
        }
        let mut step = Step::new(TransferKind::Queue, TransferOutcome::Completed, from);
        step.to_department = Some(department);
        step.comment = comment;
        self.leave_source(chat, step, &notice, now, fx);
        if let Some(c) = self.chats.get_mut(&chat) {
            c.rec.state = ChatState::Queued;
            c.rec.department = Some(department);
            c.rec.queued_at = now;
            c.not_to = Some(from);
        }
        self.append(chat, EventKind::Queued { department: Some(department) }, None, now, fx);
        self.queue_mut((site, Some(department))).waiting.push_back(chat);
        self.dispatch(site, now, fx);
        self.announce_queue((site, Some(department)), fx);
        Ok(())
    }

    fn broadcast(&mut self, m: Move, department: DepartmentId, now: Millis, fx: &mut Fx) -> Result<(), ErrorCode> {
        let (from, chat) = (m.from, m.chat);
        let site = self.own_chat(chat, from)?.rec.site;
        let q = self.queues.get(&(site, Some(department))).ok_or(ErrorCode::UnknownTarget)?;
        let to: Vec<UserId> = q
            .members
            .iter()
            .filter(|m| **m != from)
            .filter(|m| {
                self.agents
                    .get(m)
                    .is_some_and(|a| a.profile.active && a.presence != Presence::Offline && a.profile.site == site)
            })
            .filter(|m| self.has_room(**m))
            .copied()
            .collect();
        if to.is_empty() {
            return Err(ErrorCode::NoOneAvailable);
        }
        self.offer(m, to, Some(department), now, fx)
    }

    /// Make a warm (one target) or broadcast (several) offer.
    fn offer(
        &mut self,
        m: Move,
        to: Vec<UserId>,
        department: Option<DepartmentId>,
        now: Millis,
        fx: &mut Fx,
    ) -> Result<(), ErrorCode> {
        let Move { from, chat, comment: note, notice, offer_ms, .. } = m;
        let site = self.own_chat(chat, from)?.rec.site;
        let kind = if department.is_some() { TransferKind::Broadcast } else { TransferKind::Warm };
        if kind == TransferKind::Warm {
            let target = to
                .first()
                .and_then(|t| self.agents.get(t))
                .filter(|a| a.profile.site == site && a.profile.active && a.profile.id != from)
                .ok_or(ErrorCode::UnknownTarget)?;
            if target.presence == Presence::Offline {
                return Err(ErrorCode::TargetUnavailable);
            }
        }
        let expires_at = now + offer_ms;
        let mut step = Step::new(kind, TransferOutcome::Offered, from);
        step.to_agent = if kind == TransferKind::Warm { to.first().copied() } else { None };
        step.to_department = department;
        step.comment = note.clone();
        self.record(chat, step, now, fx);
        let from_name = self.agent_name(from);
        let Some(c) = self.chats.get_mut(&chat) else { return Err(ErrorCode::ChatNotFound) };
        c.last_note = note.clone();
        let offer = match (department, to.as_slice()) {
            (Some(department), _) => Offer::Broadcast { department, to: to.clone() },
            (None, [one]) => Offer::Warm { to: *one },
            (None, _) => return Err(ErrorCode::UnknownTarget),
        };
        c.pending = Some(Pending { from, note: note.clone(), notice, expires_at, offer });
        let rec = c.rec.clone();
        for t in &to {
            let offer = Out::Offer {
                chat: rec.clone(),
                from,
                from_name: from_name.clone(),
                note: note.clone(),
                expires_at,
                broadcast: kind == TransferKind::Broadcast,
            };
            fx.send(Target::Agent(*t), offer);
        }
        fx.send(
            Target::Agent(from),
            Out::TransferStatus {
                chat,
                outcome: TransferOutcome::Offered,
                reason: None,
                decline_text: String::new(),
                note,
                expires_at: Some(expires_at),
            },
        );
        fx.out.push(Effect::SetTimer(TimerKey::Offer(chat), expires_at));
        Ok(())
    }

    /// Stop the chat's offer: tell the source (`outcome`, `reason`, the decliner's words) and
    /// every target still offered (`withdrawn`).
    fn stop_offer(&mut self, chat: ChatId, stop: Stop, now: Millis, fx: &mut Fx) {
        let Stop { outcome, reason, decline_text, withdrawn, told } = stop;
        let Some(p) = self.chats.get_mut(&chat).and_then(|c| c.pending.take()) else { return };
        fx.out.push(Effect::CancelTimer(TimerKey::Offer(chat)));
        if let Some(a) = p.offer.accepted_by().and_then(|a| self.agents.get_mut(&a)) {
            a.reserved.remove(&chat);
        }
        for t in p.offer.targets().iter().filter(|t| Some(**t) != told) {
            fx.send(Target::Agent(*t), Out::OfferWithdrawn { chat, reason: withdrawn });
        }
        let mut step = Step::new(p.offer.kind(), outcome, p.from);
        step.to_agent = p.offer.warm_target();
        step.to_department = p.offer.department();
        step.comment = p.note.clone();
        step.reason = reason;
        step.decline_text = decline_text.clone();
        if self.chats.get(&chat).is_some_and(|c| c.rec.status() != ChatStatus::Ended) {
            self.record(chat, step, now, fx);
        }
        let status = Out::TransferStatus { chat, outcome, reason, decline_text, note: p.note, expires_at: None };
        fx.send(Target::Agent(p.from), status);
    }

    pub(super) fn answer_offer(&mut self, answer: OfferAnswer, now: Millis, fx: &mut Fx) {
        let OfferAnswer { conn, agent, chat, accept, reason } = answer;
        let err = |fx: &mut Fx, code| {
            fx.send(Target::AgentConn(conn), Out::Error { code, client_id: None, chat: Some(chat) })
        };
        let Some(p) = self.chats.get(&chat).and_then(|c| c.pending.clone()) else {
            return err(fx, ErrorCode::OfferGone);
        };
        if !p.offer.open_to(agent) || now >= p.expires_at {
            return err(fx, ErrorCode::OfferGone);
        }
        let decline_text: String = reason.trim().chars().take(500).collect();
        if !accept {
            fx.send(Target::Agent(agent), Out::OfferWithdrawn { chat, reason: Withdrawal::Declined });
            if p.offer.targets().len() > 1 {
                // A broadcast: one member less; the others may still accept.
                if let Some(Offer::Broadcast { to, .. }) =
                    self.chats.get_mut(&chat).and_then(|c| c.pending.as_mut()).map(|p| &mut p.offer)
                {
                    to.retain(|t| *t != agent);
                }
                return;
            }
            let stop =
                Stop { decline_text, told: Some(agent), ..Stop::new(TransferOutcome::Declined, StopReason::Declined) };
            return self.stop_offer(chat, stop, now, fx);
        }
        if !self.has_room(agent) || self.agents.get(&agent).is_none_or(|a| a.presence == Presence::Offline) {
            return err(fx, ErrorCode::TargetFull);
        }
        match &p.offer {
            Offer::Broadcast { to, .. } => {
                // The first to accept takes the chat; the offer disappears for the others.
                if let Some(c) = self.chats.get_mut(&chat) {
                    c.pending = None;
                }
                fx.out.push(Effect::CancelTimer(TimerKey::Offer(chat)));
                for t in to.iter().filter(|t| **t != agent) {
                    fx.send(Target::Agent(*t), Out::OfferWithdrawn { chat, reason: Withdrawal::Taken });
                }
                self.hand_over(chat, &p, agent, now, fx);
            }
            Offer::Warm { .. } | Offer::Accepted { .. } => {
                if let Some(pp) = self.chats.get_mut(&chat).and_then(|c| c.pending.as_mut()) {
                    pp.offer = Offer::Accepted { by: agent };
                }
                if let Some(a) = self.agents.get_mut(&agent) {
                    a.reserved.insert(chat);
                }
                fx.out.push(Effect::CancelTimer(TimerKey::Offer(chat)));
                let mut step = Step::new(TransferKind::Warm, TransferOutcome::Accepted, p.from);
                step.to_agent = Some(agent);
                step.comment = p.note.clone();
                self.record(chat, step, now, fx);
                let status = Out::TransferStatus {
                    chat,
                    outcome: TransferOutcome::Accepted,
                    reason: None,
                    decline_text: String::new(),
                    note: p.note.clone(),
                    expires_at: None,
                };
                fx.send(Target::Agent(p.from), status.clone());
                fx.send(Target::Agent(agent), status);
                // A source who is gone cannot say goodbye: hand over at once, the chat is not lost.
                if self.presence(p.from) == Presence::Offline {
                    self.complete(None, p.from, chat, now, fx);
                }
            }
        }
    }

    /// Move the chat to the agent who took the offer.
    fn hand_over(&mut self, chat: ChatId, p: &Pending, to: UserId, now: Millis, fx: &mut Fx) {
        if let Some(a) = self.agents.get_mut(&to) {
            a.reserved.remove(&chat);
        }
        let mut step = Step::new(p.offer.kind(), TransferOutcome::Completed, p.from);
        step.to_agent = Some(to);
        step.to_department = p.offer.department();
        step.comment = p.note.clone();
        self.record(chat, step, now, fx);
        self.notify_visitor(chat, &p.notice, now, fx);
        fx.send(
            Target::Agent(p.from),
            Out::TransferStatus {
                chat,
                outcome: TransferOutcome::Completed,
                reason: None,
                decline_text: String::new(),
                note: p.note.clone(),
                expires_at: None,
            },
        );
        self.release(chat, fx);
        self.assign(chat, to, now, fx);
    }

    /// Hand over an accepted offer ("transfer now"). `conn`: the console that asked, told when
    /// there is nothing to hand over (`None` when the switchboard does it for an agent who left).
    pub(super) fn complete(&mut self, conn: Option<ConnId>, agent: UserId, chat: ChatId, now: Millis, fx: &mut Fx) {
        let p = self.chats.get(&chat).and_then(|c| c.pending.clone()).filter(|p| p.from == agent);
        let Some((p, to)) = p.and_then(|p| p.offer.accepted_by().map(|to| (p, to))) else {
            if let Some(conn) = conn {
                let error = Out::Error { code: ErrorCode::NoTransfer, client_id: None, chat: Some(chat) };
                fx.send(Target::AgentConn(conn), error);
            }
            return;
        };
        if let Some(c) = self.chats.get_mut(&chat) {
            c.pending = None;
        }
        self.hand_over(chat, &p, to, now, fx);
    }

    pub(super) fn cancel(&mut self, conn: ConnId, agent: UserId, chat: ChatId, now: Millis, fx: &mut Fx) {
        if self.chats.get(&chat).and_then(|c| c.pending.as_ref()).is_none_or(|p| p.from != agent) {
            return fx.send(
                Target::AgentConn(conn),
                Out::Error { code: ErrorCode::NoTransfer, client_id: None, chat: Some(chat) },
            );
        }
        let stop = Stop {
            outcome: TransferOutcome::Cancelled,
            reason: None,
            decline_text: String::new(),
            withdrawn: Withdrawal::Cancelled,
            told: None,
        };
        self.stop_offer(chat, stop, now, fx);
    }

    /// At a restart: withdraw the offer a chat's stored steps leave open (its timer and its
    /// targets' cards are gone with the old process). The step's outcome is recorded
    /// (`cancelled`, reason `restart`) and the source and targets are told.
    pub(super) fn withdraw_at_restart(&mut self, chat: ChatId, open: OpenOffer, now: Millis, fx: &mut Fx) {
        let Some(c) = self.chats.get(&chat) else { return };
        if c.rec.status() != ChatStatus::Active {
            return;
        }
        let offer = match (open.kind, open.to_agent, open.to_department) {
            (TransferKind::Warm, Some(to), _) => Offer::Warm { to },
            (TransferKind::Broadcast, _, Some(department)) => {
                let members = self.queues.get(&(c.rec.site, Some(department))).map(|q| q.members.clone());
                let to = members.unwrap_or_default().into_iter().filter(|m| *m != open.from).collect();
                Offer::Broadcast { department, to }
            }
            _ => return,
        };
        let pending = Pending { from: open.from, note: open.comment, notice: None, expires_at: now, offer };
        if let Some(c) = self.chats.get_mut(&chat) {
            c.pending = Some(pending);
        }
        self.stop_offer(chat, Stop::new(TransferOutcome::Cancelled, StopReason::Restart), now, fx);
    }

    pub(super) fn offer_expired(&mut self, chat: ChatId, now: Millis, fx: &mut Fx) {
        let open = self
            .chats
            .get(&chat)
            .and_then(|c| c.pending.as_ref())
            .is_some_and(|p| p.offer.accepted_by().is_none() && now >= p.expires_at);
        if open {
            self.stop_offer(chat, Stop::new(TransferOutcome::Expired, StopReason::NoAnswer), now, fx);
        }
    }

    /// The chat ends: its offer is withdrawn, a wait for an agent is over.
    pub(super) fn transfers_end(&mut self, chat: ChatId, now: Millis, fx: &mut Fx) {
        if self.chats.get(&chat).is_some_and(|c| c.pending.is_some()) {
            self.stop_offer(chat, Stop::new(TransferOutcome::Cancelled, StopReason::ChatEnded), now, fx);
        }
        // The chat ends next; it no longer waits for anyone.
        if let Some(agent) = self.chats.get(&chat).and_then(|c| c.rec.waiting_for()) {
            if let Some(a) = self.agents.get_mut(&agent) {
                a.waiting.retain(|x| *x != chat);
            }
        }
        fx.out.push(Effect::CancelTimer(TimerKey::Fallback(chat)));
    }

    /// An agent going Offline: offers to them are withdrawn (a warm one fails as "unavailable");
    /// an accepted offer of theirs as the source is handed over.
    pub(super) fn transfers_offline(&mut self, agent: UserId, now: Millis, fx: &mut Fx) {
        let involved: Vec<(ChatId, Pending)> = self
            .chats
            .iter()
            .filter_map(|(id, c)| c.pending.clone().map(|p| (*id, p)))
            .filter(|(_, p)| p.from == agent || p.offer.targets().contains(&agent))
            .collect();
        for (chat, p) in involved {
            if p.from == agent {
                if p.offer.accepted_by().is_some() {
                    self.complete(None, agent, chat, now, fx);
                }
                continue;
            }
            if p.offer.targets().len() == 1 {
                self.stop_offer(chat, Stop::new(TransferOutcome::Declined, StopReason::Unavailable), now, fx);
            } else if let Some(Offer::Broadcast { to, .. }) =
                self.chats.get_mut(&chat).and_then(|c| c.pending.as_mut()).map(|p| &mut p.offer)
            {
                to.retain(|t| *t != agent);
                fx.send(Target::Agent(agent), Out::OfferWithdrawn { chat, reason: Withdrawal::Unavailable });
            }
        }
    }
}
