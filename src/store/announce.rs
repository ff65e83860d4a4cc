//! "Site N's directory changed": announced after each commit that changed a site's people,
//! departments, campaigns, settings or existence, or the cross-site groups, for the switchboard
//! to read that part again. The writer announces it right after the commit (the job's
//! post-commit hook), so no handler has to remember a reload. Announcements collect in a set:
//! repeated ones merge, and none is ever dropped for want of room.

use crate::domain::ids::SiteId;
use std::collections::BTreeSet;
use std::sync::Mutex;
use tokio::sync::Notify;

/// What a commit changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    /// A site's directory (or the site itself).
    Site(SiteId),
    /// The cross-site groups.
    Groups,
}

/// The changes announced and not taken yet.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Changes {
    pub sites: BTreeSet<SiteId>,
    pub groups: bool,
}

#[derive(Debug, Default)]
pub struct Announcer {
    pending: Mutex<Changes>,
    notify: Notify,
}

impl Announcer {
    pub(super) fn announce(&self, changes: &[Change]) {
        {
            let mut p = self.pending.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            for c in changes {
                match c {
                    Change::Site(s) => _ = p.sites.insert(*s),
                    Change::Groups => p.groups = true,
                }
            }
        }
        self.notify.notify_one();
    }

    /// Take every change announced so far (`None`: nothing new).
    pub fn take(&self) -> Option<Changes> {
        let mut p = self.pending.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if p.sites.is_empty() && !p.groups {
            return None;
        }
        Some(std::mem::take(&mut *p))
    }

    /// Wait until something may have been announced (then `take` it).
    pub async fn announced(&self) {
        self.notify.notified().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn announcements_merge_and_are_taken_once() {
        let a = Announcer::default();
        assert_eq!(a.take(), None);
        a.announce(&[Change::Site(SiteId(2)), Change::Site(SiteId(1))]);
        a.announce(&[Change::Site(SiteId(2)), Change::Groups]);
        let got = a.take().expect("changes");
        assert_eq!(got.sites.into_iter().collect::<Vec<_>>(), [SiteId(1), SiteId(2)]);
        assert!(got.groups);
        assert_eq!(a.take(), None);
    }

    /// Every write that changes what the switchboard knows is announced after its commit;
    /// a refused write announces nothing.
    #[tokio::test]
    async fn directory_writes_are_announced_after_their_commit() {
        use crate::domain::forms::{DepartmentDraft, GroupDraft, SettingsDraft};
        use crate::domain::model::AllocationRule;
        let dir = tempfile::tempdir().expect("tempdir");
        let store = super::super::Store::open(dir.path()).expect("open");
        let a = store.announcer();
        let sites = |ids: &[u64]| ids.iter().map(|i| SiteId(*i)).collect::<BTreeSet<_>>();
        let one = store.create_site("One".into(), 1).await.expect("site").id;
        let two = store.create_site("Two".into(), 1).await.expect("site").id;
        assert_eq!(a.take(), Some(Changes { sites: sites(&[one.0, two.0]), groups: false }));
        let draft = DepartmentDraft { name: "Desk".into(), rule: AllocationRule::RoundRobin, members: vec![] };
        store.site(one).save_department(None, draft).await.expect("department");
        store
            .site(two)
            .save_settings(SettingsDraft {
                default_campaign: None,
                transfer: Default::default(),
                mail: Default::default(),
                files: Default::default(),
            })
            .await
            .expect("settings");
        assert_eq!(a.take(), Some(Changes { sites: sites(&[one.0, two.0]), groups: false }));
        store.save_group(None, GroupDraft { name: "EU".into(), sites: vec![one, two] }).await.expect("group");
        assert_eq!(a.take(), Some(Changes { sites: sites(&[]), groups: true }));
        // Refused (the name is taken): nothing was written, nothing is announced.
        assert!(store.rename_site(two, "One".into()).await.is_err());
        assert_eq!(a.take(), None);
        store.set_site_enabled(two, false).await.expect("turned off");
        store.delete_site(one).await.expect("deleted");
        assert_eq!(a.take(), Some(Changes { sites: sites(&[one.0, two.0]), groups: true }));
    }

    #[tokio::test]
    async fn an_announcement_before_the_wait_still_wakes_it() {
        let a = Announcer::default();
        a.announce(&[Change::Groups]);
        tokio::time::timeout(std::time::Duration::from_secs(5), a.announced()).await.expect("woken");
        assert!(a.take().is_some_and(|c| c.groups));
    }
}
