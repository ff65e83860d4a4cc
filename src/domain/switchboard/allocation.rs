//! Picking the agent for a queue's next chat: round robin or least busy, among the queue's
//! members who are Online, active and below their maximum of concurrent chats.

use super::{Agent, Presence, Queue, QueueKey, Switchboard};
use crate::domain::ids::UserId;
use crate::domain::model::AllocationRule;

/// The queue's members: a department's listed members, or every agent of the site for the
/// site queue (in id order, so round robin has a stable order).
pub(super) fn members<'a>(sb: &'a Switchboard, key: QueueKey, q: &'a Queue) -> impl Iterator<Item = &'a Agent> + 'a {
    let listed: Vec<&Agent> = match key.1 {
        Some(_) => q.members.iter().filter_map(|id| sb.agents.get(id)).filter(|a| a.profile.site == key.0).collect(),
        None => {
            let mut all: Vec<&Agent> = sb.agents.values().filter(|a| a.profile.site == key.0).collect();
            all.sort_by_key(|a| a.profile.id);
            all
        }
    };
    listed.into_iter()
}

pub(super) fn eligible(a: &Agent) -> bool {
    a.profile.active
        && a.presence == Presence::Online
        && ((a.chats.len() + a.reserved.len()) as u32) < a.profile.max_chats
}

/// The agent who gets the queue's next chat, if anyone can take it now (never one of
/// `exclude`: the agent who just sent the chat to this queue, or the agents alerted already).
pub(super) fn pick(sb: &Switchboard, key: QueueKey, q: &Queue, exclude: &[UserId]) -> Option<UserId> {
    let ordered: Vec<&Agent> = members(sb, key, q).filter(|a| !exclude.contains(&a.profile.id)).collect();
    match q.rule {
        AllocationRule::RoundRobin => {
            let start = q
                .rr_last
                .and_then(|last| ordered.iter().position(|a| a.profile.id == last))
                .map(|i| i + 1)
                .unwrap_or(0);
            (0..ordered.len()).map(|i| ordered[(start + i) % ordered.len()]).find(|a| eligible(a)).map(|a| a.profile.id)
        }
        AllocationRule::LeastBusy => ordered
            .into_iter()
            .filter(|a| eligible(a))
            .min_by_key(|a| (a.chats.len(), a.last_assigned, a.profile.id))
            .map(|a| a.profile.id),
    }
}
