//! Queues: first in, first out per queue, longest wait first across queues; assignment and
//! the position and estimated wait told to waiting visitors.

use super::*;

impl Switchboard {
    // ---- queues and allocation ----

    pub(super) fn queue_mut(&mut self, key: QueueKey) -> &mut Queue {
        self.queues.entry(key).or_default()
    }

    /// Give waiting chats of `site` to agents with capacity: repeatedly the queue head that has
    /// waited longest among the queues that have an eligible agent.
    pub(super) fn dispatch(&mut self, site: SiteId, now: Millis, fx: &mut Fx) {
        // Chats transferred to a particular agent go first, as soon as that agent can take them.
        let ready: Vec<UserId> = self
            .agents
            .values()
            .filter(|a| a.profile.site == site && !a.waiting.is_empty() && allocation::eligible(a))
            .map(|a| a.profile.id)
            .collect();
        for agent in ready {
            while let Some(chat) =
                self.agents.get(&agent).filter(|a| allocation::eligible(a)).and_then(|a| a.waiting.front().copied())
            {
                if let Some(a) = self.agents.get_mut(&agent) {
                    a.waiting.pop_front();
                }
                fx.out.push(Effect::CancelTimer(TimerKey::Fallback(chat)));
                self.assign(chat, agent, now, fx);
            }
        }
        loop {
            let mut best: Option<(Millis, ChatId, QueueKey, UserId)> = None;
            for (key, q) in self.queues.iter().filter(|(k, q)| k.0 == site && !q.waiting.is_empty()) {
                let Some(&head) = q.waiting.front() else { continue };
                let Some(queued_at) = self.chats.get(&head).map(|c| c.rec.queued_at) else { continue };
                if best.as_ref().is_some_and(|b| (b.0, b.1) <= (queued_at, head)) {
                    continue;
                }
                let exclude = self.chats.get(&head).and_then(|c| c.not_to);
                if let Some(agent) = allocation::pick(self, *key, q, exclude.as_slice()) {
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

    pub(super) fn assign(&mut self, chat: ChatId, agent: UserId, now: Millis, fx: &mut Fx) {
        let Some(a) = self.agents.get_mut(&agent) else { return };
        a.chats.insert(chat);
        a.last_assigned = now;
        let name = a.profile.name.clone();
        let Some(c) = self.chats.get_mut(&chat) else { return };
        c.not_to = None;
        c.rec.state = ChatState::Active(agent);
        c.rec.assigned_at = Some(now);
        self.append(chat, EventKind::Assigned { agent, name }, None, now, fx);
        if let Some(c) = self.chats.get(&chat) {
            fx.send(Target::Agent(agent), Out::Assigned(c.rec.clone()));
        }
    }

    /// Tell every visitor waiting in the queue their position and estimated wait.
    pub(super) fn announce_queue(&self, key: QueueKey, fx: &mut Fx) {
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
    pub(super) fn eta_secs(&self, key: &QueueKey, position: u32) -> Option<u32> {
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
