//! The transfer picker: whom an agent may transfer a chat to, searched by name, email,
//! department or skill, optionally of one site — their own site's agents and departments, and
//! the sites of their cross-site groups with those sites' people and departments. Answered
//! from the directory and the live state.

use super::*;

/// An agent a chat may go to.
#[derive(Clone, Debug, PartialEq)]
pub struct PickAgent {
    pub id: UserId,
    pub name: String,
    pub email: String,
    pub site: SiteId,
    pub presence: Presence,
    pub active_chats: u32,
    pub max_chats: u32,
    /// The names of their departments.
    pub departments: Vec<String>,
    pub skills: Vec<String>,
}

/// A department (queue) a chat may go to.
#[derive(Clone, Debug, PartialEq)]
pub struct PickDepartment {
    pub id: DepartmentId,
    pub name: String,
    pub site: SiteId,
    /// Visitors waiting in its queue now.
    pub waiting: u32,
    /// How long the longest of them has waited, in seconds.
    pub longest_wait_secs: u64,
    /// Members Online or Away.
    pub available: u32,
}

/// A site of a shared cross-site group.
#[derive(Clone, Debug, PartialEq)]
pub struct PickSite {
    pub id: SiteId,
    pub name: String,
    /// Someone is Online or Away there now (a transfer can go there).
    pub can_receive: bool,
    /// The "with chat transcript" box starts as the agent's own site's setting.
    pub with_transcript_default: bool,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Targets {
    pub agents: Vec<PickAgent>,
    pub departments: Vec<PickDepartment>,
    pub sites: Vec<PickSite>,
}

impl Switchboard {
    /// Whom `me` may transfer to, matching `q` (case-insensitive; empty: everyone), of `only`
    /// site when given.
    pub fn targets(&self, me: UserId, q: &str, only: Option<SiteId>, now: Millis) -> Targets {
        let Some(own) = self.agents.get(&me).map(|a| a.profile.site) else { return Targets::default() };
        let q = q.trim().to_lowercase();
        let hit = |text: &str| q.is_empty() || text.to_lowercase().contains(&q);
        let with_transcript_default = self.sites.get(&own).is_none_or(|s| s.settings.transcript_cross_site);
        let mut sites = vec![own];
        sites.extend(self.group_sites(own));
        let mut out = Targets::default();
        for site in sites.into_iter().filter(|s| only.is_none_or(|o| o == *s)) {
            let Some(dir) = self.sites.get(&site) else { continue };
            if site != own {
                let can_receive = self.site_available(site);
                out.sites.push(PickSite { id: site, name: dir.name.clone(), can_receive, with_transcript_default });
            }
            for d in dir.departments.iter().filter(|d| hit(&d.name)) {
                let (waiting, oldest) = self.queue_stats(site, Some(d.id));
                let available = d.members.iter().filter(|m| self.presence(**m) != Presence::Offline).count() as u32;
                out.departments.push(PickDepartment {
                    id: d.id,
                    name: d.name.clone(),
                    site,
                    waiting,
                    longest_wait_secs: oldest.map_or(0, |o| now.saturating_sub(o) / 1000),
                    available,
                });
            }
            for a in dir.agents.iter().filter(|a| a.active && a.id != me) {
                let departments: Vec<String> =
                    dir.departments.iter().filter(|d| d.members.contains(&a.id)).map(|d| d.name.clone()).collect();
                let matches = hit(&a.name)
                    || hit(&a.email)
                    || departments.iter().any(|d| hit(d))
                    || a.skills.iter().any(|k| hit(k));
                if !matches {
                    continue;
                }
                out.agents.push(PickAgent {
                    id: a.id,
                    name: a.name.clone(),
                    email: a.email.clone(),
                    site,
                    presence: self.presence(a.id),
                    active_chats: self.agents.get(&a.id).map_or(0, |x| x.chats.len() as u32),
                    max_chats: a.max_chats,
                    departments,
                    skills: a.skills.clone(),
                });
            }
        }
        out
    }
}
