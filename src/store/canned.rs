//! A site's canned replies: the short answers its admins prepare and its agents insert by
//! shortcut. Keyed `(site, canned id)` in `CANNED`, so a handle of another site finds nothing.
//! A shortcut is unique in its site, ignoring case (drafts arrive lower-cased; the check
//! lower-cases again so older or hand-made records cannot slip past it).

use super::codec::{decode, encode};
use super::tables::CANNED;
use super::{SiteStore, StoreError, next_id};
use crate::domain::Millis;
use crate::domain::forms::CannedDraft;
use crate::domain::ids::{CannedId, SiteId};
use crate::domain::proactive::CannedReply;
use redb::ReadableTable;

fn site_range(site: SiteId) -> std::ops::RangeInclusive<(u64, u64)> {
    (site.0, 0)..=(site.0, u64::MAX)
}

fn all_of(t: &impl ReadableTable<(u64, u64), &'static [u8]>, site: SiteId) -> Result<Vec<CannedReply>, StoreError> {
    t.range(site_range(site))?.map(|r| decode(r?.1.value())).collect()
}

impl SiteStore {
    /// Every canned reply of this site, by shortcut.
    pub fn canned_replies(&self) -> Result<Vec<CannedReply>, StoreError> {
        let site = self.id();
        let mut all = self.store().read(|r| all_of(&r.open_table(CANNED)?, site))?;
        all.sort_by(|a, b| a.shortcut.cmp(&b.shortcut).then(a.id.cmp(&b.id)));
        Ok(all)
    }

    pub fn canned_reply(&self, id: CannedId) -> Result<CannedReply, StoreError> {
        let site = self.id();
        self.store().read(|r| {
            let t = r.open_table(CANNED)?;
            let v = t.get((site.0, id.0))?.ok_or(StoreError::NotFound)?;
            decode(v.value())
        })
    }

    /// Create (`id` None) or update a canned reply of this site. Another reply of the site with
    /// the same shortcut is a conflict on `shortcut`; an id not of this site is `NotFound`.
    pub async fn save_canned_reply(
        &self,
        id: Option<CannedId>,
        draft: CannedDraft,
        now: Millis,
    ) -> Result<CannedReply, StoreError> {
        let site = self.id();
        self.store()
            .write(move |txn| {
                super::site::check_site_exists(txn, site)?;
                let mut t = txn.open_table(CANNED)?;
                let all = all_of(&t, site)?;
                if id.is_some_and(|id| !all.iter().any(|c| c.id == id)) {
                    return Err(StoreError::NotFound);
                }
                let shortcut = draft.shortcut.to_lowercase();
                if all.iter().any(|c| Some(c.id) != id && c.shortcut.to_lowercase() == shortcut) {
                    return Err(StoreError::conflict(
                        "shortcut",
                        format!("Another canned reply of this site has the shortcut /{shortcut}."),
                    ));
                }
                let id = match id {
                    Some(id) => id,
                    None => CannedId(next_id(txn, "canned")?),
                };
                let c = CannedReply { id, site, shortcut, text: draft.text, updated_at: now };
                t.insert((site.0, id.0), encode(&c).as_slice())?;
                Ok(c)
            })
            .await
    }

    pub async fn delete_canned_reply(&self, id: CannedId) -> Result<(), StoreError> {
        let site = self.id();
        self.store()
            .write(move |txn| match txn.open_table(CANNED)?.remove((site.0, id.0))? {
                Some(_) => Ok(()),
                None => Err(StoreError::NotFound),
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    fn draft(shortcut: &str, text: &str) -> CannedDraft {
        CannedDraft { shortcut: shortcut.into(), text: text.into() }
    }

    async fn two_sites() -> (tempfile::TempDir, Store, SiteStore, SiteStore) {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("open");
        let a = store.create_site("Alpha".into(), 1).await.expect("site a");
        let b = store.create_site("Beta".into(), 1).await.expect("site b");
        let (a, b) = (store.site(a.id), store.site(b.id));
        (dir, store, a, b)
    }

    #[tokio::test]
    async fn canned_replies_round_trip_sorted_by_shortcut() {
        let (_dir, _store, a, _b) = two_sites().await;
        let thanks = a.save_canned_reply(None, draft("thanks", "Thank you!"), 10).await.expect("created");
        let hello = a.save_canned_reply(None, draft("hello", "Hello!"), 11).await.expect("created");
        assert_ne!(thanks.id, hello.id);
        let all = a.canned_replies().expect("list");
        assert_eq!(all.iter().map(|c| c.shortcut.as_str()).collect::<Vec<_>>(), ["hello", "thanks"]);
        let edited = a.save_canned_reply(Some(thanks.id), draft("ty", "Thanks a lot."), 20).await.expect("saved");
        assert_eq!((edited.id, edited.updated_at), (thanks.id, 20));
        assert_eq!(a.canned_reply(thanks.id).expect("read").text, "Thanks a lot.");
        a.delete_canned_reply(hello.id).await.expect("deleted");
        assert!(matches!(a.canned_reply(hello.id), Err(StoreError::NotFound)));
        assert!(matches!(a.delete_canned_reply(hello.id).await, Err(StoreError::NotFound)));
        assert_eq!(a.canned_replies().expect("list").len(), 1);
    }

    #[tokio::test]
    async fn a_shortcut_is_unique_in_its_site_ignoring_case() {
        let (_dir, _store, a, b) = two_sites().await;
        let hi = a.save_canned_reply(None, draft("hi", "Hi!"), 1).await.expect("created");
        let other = a.save_canned_reply(None, draft("bye", "Bye!"), 1).await.expect("created");
        let err = a.save_canned_reply(None, draft("HI", "Again"), 2).await.expect_err("duplicate");
        assert!(matches!(err, StoreError::Conflict { field: "shortcut", .. }), "{err:?}");
        let err = a.save_canned_reply(Some(other.id), draft("hi", "Bye!"), 2).await.expect_err("rename onto");
        assert!(matches!(err, StoreError::Conflict { field: "shortcut", .. }), "{err:?}");
        // Saving a reply under its own shortcut is fine; another site may use the same one.
        a.save_canned_reply(Some(hi.id), draft("hi", "Hello there!"), 3).await.expect("own shortcut");
        b.save_canned_reply(None, draft("hi", "Hej!"), 3).await.expect("other site");
        assert_eq!(a.canned_replies().expect("list").len(), 2, "nothing written by the refusals");
    }

    #[tokio::test]
    async fn another_site_cannot_read_edit_or_delete_a_reply() {
        let (_dir, store, a, b) = two_sites().await;
        let mine = a.save_canned_reply(None, draft("secret", "Site A only"), 1).await.expect("created");
        assert!(b.canned_replies().expect("list").is_empty());
        assert!(matches!(b.canned_reply(mine.id), Err(StoreError::NotFound)));
        let err = b.save_canned_reply(Some(mine.id), draft("stolen", "B was here"), 2).await.expect_err("edit");
        assert!(matches!(err, StoreError::NotFound), "{err:?}");
        assert!(matches!(b.delete_canned_reply(mine.id).await, Err(StoreError::NotFound)));
        assert_eq!(a.canned_reply(mine.id).expect("intact"), mine);
        // A site that does not exist cannot get replies either.
        let ghost = store.site(SiteId(99));
        assert!(matches!(ghost.save_canned_reply(None, draft("x", "y"), 1).await, Err(StoreError::NotFound)));
    }
}
