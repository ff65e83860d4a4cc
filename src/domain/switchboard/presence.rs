//! Presence: the directory of agents and departments, connections, statuses, the grace period.

use super::*;

impl Switchboard {
    // ---- presence ----

    pub(super) fn directory(&mut self, dir: SiteDirectory, now: Millis, fx: &mut Fx) {
        let site = dir.site;
        let (agents, departments) = (dir.agents.clone(), dir.departments.clone());
        self.sites.insert(site, dir);
        for p in agents.into_iter().filter(|p| p.site == site) {
            match self.agents.get_mut(&p.id) {
                Some(a) => a.profile = p,
                None => {
                    let id = p.id;
                    self.agents.insert(
                        id,
                        Agent {
                            away: p.away,
                            profile: p,
                            presence: Presence::Offline,
                            conns: BTreeSet::new(),
                            chats: BTreeSet::new(),
                            last_assigned: 0,
                            waiting: VecDeque::new(),
                            reserved: BTreeSet::new(),
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

    pub(super) fn agent_connected(&mut self, profile: AgentProfile, conn: ConnId, now: Millis, fx: &mut Fx) {
        let id = profile.id;
        let a = self.agents.entry(id).or_insert_with(|| Agent {
            away: profile.away,
            profile: profile.clone(),
            presence: Presence::Offline,
            conns: BTreeSet::new(),
            chats: BTreeSet::new(),
            last_assigned: 0,
            waiting: VecDeque::new(),
            reserved: BTreeSet::new(),
        });
        a.profile = profile;
        a.conns.insert(conn);
        fx.out.push(Effect::CancelTimer(TimerKey::Grace(id)));
        let presence = a.presence;
        if presence == Presence::Offline {
            // Back as they last chose: Away stays Away, across restarts too.
            let chosen = if a.away { Presence::Away } else { Presence::Online };
            self.set_presence(id, chosen, now, fx);
        } else {
            let a = &self.agents[&id];
            fx.send(Target::AgentConn(conn), Out::Presence { agent: id, presence, active_chats: a.chats.len() as u32 });
        }
    }

    pub(super) fn set_presence(&mut self, agent: UserId, presence: Presence, now: Millis, fx: &mut Fx) {
        let Some(a) = self.agents.get_mut(&agent) else { return };
        a.presence = presence;
        let site = a.profile.site;
        let active_chats = a.chats.len() as u32;
        fx.send(Target::SiteAgents(site), Out::Presence { agent, presence, active_chats });
        if presence == Presence::Offline {
            self.transfers_offline(agent, now, fx);
        }
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
    pub(super) fn site_available(&self, site: SiteId) -> bool {
        self.agents.values().any(|a| a.profile.site == site && a.profile.active && a.presence != Presence::Offline)
    }
}
