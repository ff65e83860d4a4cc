//! Organization-level records: sites, cross-site groups, the owner, the sign-in index and
//! sessions. Site-owned records live in `site.rs`.

use super::codec::{decode, encode};
use super::tables::{
    CAMPAIGN_SITES, CAMPAIGNS, CANNED, CHAT_EVENTS, CHAT_TERMS, CHATS, DEPARTMENTS, GROUPS, INVITATIONS, LEFT_MESSAGES,
    OPEN_CHATS, SESSIONS, SITES, STATS_DAYS, STATS_QUARTERS, USER_EMAILS, USERS, VISITOR_CHATS, VISITOR_TOKENS,
    VISITORS,
};
use super::{Change, Store, StoreError, next_id};
use crate::domain::Millis;
use crate::domain::forms::GroupDraft;
use crate::domain::ids::{GroupId, SiteId, UserId};
use crate::domain::model::{Group, Role, Site, TransferSettings, User};
use redb::{ReadTransaction, ReadableTable, WriteTransaction};
use serde::{Deserialize, Serialize};

/// A signed-in browser. Valid while unexpired and while the user's `session_epoch` matches.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SessionRecord {
    pub site: SiteId,
    pub user: UserId,
    pub epoch: u64,
    pub created_at: Millis,
    pub expires_at: Millis,
}

fn same_name(a: &str, b: &str) -> bool {
    a.to_lowercase() == b.to_lowercase()
}

pub(super) fn read_all<T: super::codec::Record>(
    table: &impl ReadableTable<u64, &'static [u8]>,
) -> Result<Vec<T>, StoreError> {
    table.iter()?.map(|r| decode(r?.1.value())).collect()
}

pub(super) fn get_user_tx(txn: &WriteTransaction, site: SiteId, id: UserId) -> Result<User, StoreError> {
    let t = txn.open_table(USERS)?;
    let v = t.get((site.0, id.0))?.ok_or(StoreError::NotFound)?;
    decode(v.value())
}

pub(super) fn put_user(txn: &WriteTransaction, user: &User) -> Result<(), StoreError> {
    txn.open_table(USERS)?.insert((user.site.0, user.id.0), encode(user).as_slice())?;
    Ok(())
}

/// Refuse an email that another user has. `except` is the user being edited.
pub(super) fn check_email_free(
    txn: &WriteTransaction,
    email: &str,
    except: Option<(SiteId, UserId)>,
) -> Result<(), StoreError> {
    let idx = txn.open_table(USER_EMAILS)?;
    if let Some(owner) = idx.get(email)?.map(|v| v.value())
        && Some((SiteId(owner.0), UserId(owner.1))) != except
    {
        return Err(StoreError::conflict("email", "Another account already uses this email."));
    }
    Ok(())
}

/// Insert a new user and its sign-in index entry (the caller checked the email is free).
pub(super) fn insert_user(txn: &WriteTransaction, mut user: User) -> Result<User, StoreError> {
    user.id = UserId(next_id(txn, "user")?);
    txn.open_table(USER_EMAILS)?.insert(user.email.as_str(), (user.site.0, user.id.0))?;
    put_user(txn, &user)?;
    Ok(user)
}

impl Store {
    // ---- sites ----

    pub fn list_sites(&self) -> Result<Vec<Site>, StoreError> {
        self.read(|r| read_all(&r.open_table(SITES)?))
    }

    pub fn get_site(&self, id: SiteId) -> Result<Site, StoreError> {
        self.read(|r| get_site_tx(r, id))
    }

    pub async fn create_site(&self, name: String, now: Millis) -> Result<Site, StoreError> {
        self.write_changing(
            |site: &Site| vec![Change::Site(site.id)],
            move |txn| {
                check_site_name(txn, &name, None)?;
                let site = Site {
                    id: SiteId(next_id(txn, "site")?),
                    name,
                    created_at: now,
                    default_campaign: None,
                    transfer: TransferSettings::default(),
                    enabled: true,
                    mail: Default::default(),
                    files: Default::default(),
                };
                txn.open_table(SITES)?.insert(site.id.0, encode(&site).as_slice())?;
                Ok(site)
            },
        )
        .await
    }

    pub async fn rename_site(&self, id: SiteId, name: String) -> Result<Site, StoreError> {
        self.update_site(id, move |txn, site| {
            check_site_name(txn, &name, Some(site.id))?;
            site.name = name;
            Ok(())
        })
        .await
    }

    /// Turn the site's live chat on or off.
    pub async fn set_site_enabled(&self, id: SiteId, enabled: bool) -> Result<Site, StoreError> {
        self.update_site(id, move |_, site| {
            site.enabled = enabled;
            Ok(())
        })
        .await
    }

    /// Load a site in the write transaction, let `f` check and change it, store it.
    pub(super) async fn update_site(
        &self,
        id: SiteId,
        f: impl FnOnce(&WriteTransaction, &mut Site) -> Result<(), StoreError> + Send + 'static,
    ) -> Result<Site, StoreError> {
        self.write_changing(
            move |_| vec![Change::Site(id)],
            move |txn| {
                let mut site: Site = {
                    let t = txn.open_table(SITES)?;
                    let v = t.get(id.0)?.ok_or(StoreError::NotFound)?;
                    decode(v.value())?
                };
                f(txn, &mut site)?;
                txn.open_table(SITES)?.insert(id.0, encode(&site).as_slice())?;
                Ok(site)
            },
        )
        .await
    }

    /// Groups that deleting `site` would leave with fewer than two sites (they go with it).
    pub fn groups_ending_with_site(&self, site: SiteId) -> Result<Vec<Group>, StoreError> {
        Ok(self.list_groups()?.into_iter().filter(|g| g.sites.contains(&site) && g.sites.len() <= 2).collect())
    }

    /// Delete a site with everything it owns. Its users' sessions die with the users.
    pub async fn delete_site(&self, id: SiteId) -> Result<(), StoreError> {
        self.write_changing(
            move |_| vec![Change::Site(id), Change::Groups],
            move |txn| {
                if txn.open_table(SITES)?.remove(id.0)?.is_none() {
                    return Err(StoreError::NotFound);
                }
                let range = (id.0, 0)..=(id.0, u64::MAX);
                let users: Vec<User> = {
                    let t = txn.open_table(USERS)?;
                    t.range(range.clone())?
                        .map(|r| r.map_err(StoreError::from).and_then(|(_, v)| decode(v.value())))
                        .collect::<Result<_, _>>()?
                };
                let mut emails = txn.open_table(USER_EMAILS)?;
                for u in &users {
                    emails.remove(u.email.as_str())?;
                }
                txn.open_table(USERS)?.retain_in(range.clone(), |_, _| false)?;
                txn.open_table(DEPARTMENTS)?.retain_in(range.clone(), |_, _| false)?;
                let mut index = txn.open_table(CAMPAIGN_SITES)?;
                index.retain(|_, s| s != id.0)?;
                txn.open_table(CAMPAIGNS)?.retain_in(range.clone(), |_, _| false)?;
                // The site's visitors, chats and messages go with it.
                txn.open_table(VISITORS)?.retain_in(range.clone(), |_, _| false)?;
                txn.open_table(VISITOR_TOKENS)?.retain(|_, owner| owner.0 != id.0)?;
                txn.open_table(CHATS)?.retain_in(range.clone(), |_, _| false)?;
                txn.open_table(OPEN_CHATS)?.retain_in(range.clone(), |_, _| false)?;
                txn.open_table(LEFT_MESSAGES)?.retain_in(range.clone(), |_, _| false)?;
                txn.open_table(INVITATIONS)?.retain_in(range.clone(), |_, _| false)?;
                txn.open_table(CANNED)?.retain_in(range, |_, _| false)?;
                let everything = (id.0, 0, 0)..=(id.0, u64::MAX, u64::MAX);
                txn.open_table(CHAT_EVENTS)?.retain_in(everything.clone(), |_, _| false)?;
                txn.open_table(VISITOR_CHATS)?.retain_in(everything, |_, _| false)?;
                txn.open_table(CHAT_TERMS)?.retain_in((id.0, "", 0)..(id.0 + 1, "", 0), |_, _| false)?;
                let cells = (id.0, 0, 0, i64::MIN)..=(id.0, u8::MAX, u64::MAX, i64::MAX);
                txn.open_table(STATS_QUARTERS)?.retain_in(cells.clone(), |_, _| false)?;
                txn.open_table(STATS_DAYS)?.retain_in(cells, |_, _| false)?;
                txn.open_table(super::tables::UPLOADS)?.retain_in((id.0, 0)..=(id.0, u64::MAX), |_, _| false)?;
                txn.open_table(super::tables::UPLOAD_CHUNKS)?
                    .retain_in((id.0, 0, 0)..=(id.0, u64::MAX, u32::MAX), |_, _| false)?;
                txn.open_table(super::tables::META)?.remove(format!("file_bytes_site_{}", id.0).as_str())?;
                super::tokens::delete_site_tokens(txn, id)?;
                super::mail::erase_site_mails(txn, id)?;
                super::webhooks::erase_site_webhooks(txn, id)?;
                let mut groups = txn.open_table(GROUPS)?;
                let all: Vec<Group> = read_all(&groups)?;
                for mut g in all.into_iter().filter(|g| g.sites.contains(&id)) {
                    g.sites.retain(|s| *s != id);
                    if g.sites.len() < 2 {
                        groups.remove(g.id.0)?;
                    } else {
                        groups.insert(g.id.0, encode(&g).as_slice())?;
                    }
                }
                Ok(())
            },
        )
        .await
    }

    // ---- cross-site groups ----

    pub fn list_groups(&self) -> Result<Vec<Group>, StoreError> {
        self.read(|r| read_all(&r.open_table(GROUPS)?))
    }

    pub fn get_group(&self, id: GroupId) -> Result<Group, StoreError> {
        self.read(|r| {
            let t = r.open_table(GROUPS)?;
            let v = t.get(id.0)?.ok_or(StoreError::NotFound)?;
            decode(v.value())
        })
    }

    /// Create (`id` = None) or replace a group.
    pub async fn save_group(&self, id: Option<GroupId>, draft: GroupDraft) -> Result<Group, StoreError> {
        self.write_changing(
            |_| vec![Change::Groups],
            move |txn| {
                let mut groups = txn.open_table(GROUPS)?;
                let all: Vec<Group> = read_all(&groups)?;
                if id.is_some_and(|id| !all.iter().any(|g| g.id == id)) {
                    return Err(StoreError::NotFound);
                }
                if all.iter().any(|g| Some(g.id) != id && same_name(&g.name, &draft.name)) {
                    return Err(StoreError::conflict("name", "Another group has this name."));
                }
                let sites = txn.open_table(SITES)?;
                for s in &draft.sites {
                    if sites.get(s.0)?.is_none() {
                        return Err(StoreError::conflict("sites", "One of the chosen sites no longer exists."));
                    }
                }
                let id = match id {
                    Some(id) => id,
                    None => GroupId(next_id(txn, "group")?),
                };
                let group = Group { id, name: draft.name, sites: draft.sites };
                groups.insert(id.0, encode(&group).as_slice())?;
                Ok(group)
            },
        )
        .await
    }

    pub async fn delete_group(&self, id: GroupId) -> Result<(), StoreError> {
        self.write_changing(
            |_| vec![Change::Groups],
            move |txn| match txn.open_table(GROUPS)?.remove(id.0)? {
                Some(_) => Ok(()),
                None => Err(StoreError::NotFound),
            },
        )
        .await
    }

    // ---- accounts and sign-in ----

    pub fn owner_exists(&self) -> Result<bool, StoreError> {
        self.read(|r| {
            let t = r.open_table(USERS)?;
            Ok(t.range((SiteId::ORG.0, 0)..=(SiteId::ORG.0, u64::MAX))?.next().is_some())
        })
    }

    /// Create the owner account. With `only_first`, refuse when an owner exists already (the
    /// one-time setup page); the CLI may add further owners.
    pub async fn create_owner(
        &self,
        name: String,
        email: String,
        hash: String,
        only_first: bool,
        now: Millis,
    ) -> Result<User, StoreError> {
        self.write(move |txn| {
            if only_first {
                let t = txn.open_table(USERS)?;
                if t.range((SiteId::ORG.0, 0)..=(SiteId::ORG.0, u64::MAX))?.next().is_some() {
                    return Err(StoreError::conflict("email", "The owner account exists already: sign in instead."));
                }
            }
            check_email_free(txn, &email, None)?;
            let user = User {
                id: UserId(0),
                site: SiteId::ORG,
                role: Role::Owner,
                name,
                email,
                password_hash: hash,
                skills: vec![],
                max_chats: 0,
                active: true,
                session_epoch: 0,
                created_at: now,
                prefs: Default::default(),
                away: false,
            };
            insert_user(txn, user)
        })
        .await
    }

    pub fn user_by_email(&self, email: &str) -> Result<Option<User>, StoreError> {
        self.read(|r| {
            let idx = r.open_table(USER_EMAILS)?;
            let Some((site, id)) = idx.get(email)?.map(|v| v.value()) else {
                return Ok(None);
            };
            let t = r.open_table(USERS)?;
            t.get((site, id))?.map(|v| decode(v.value())).transpose()
        })
    }

    /// The owner accounts (site 0).
    pub fn owners(&self) -> Result<Vec<User>, StoreError> {
        self.read(|r| {
            let t = r.open_table(USERS)?;
            t.range((0, 0)..=(0, u64::MAX))?.map(|e| decode(e?.1.value())).collect()
        })
    }

    pub fn get_user(&self, site: SiteId, id: UserId) -> Result<User, StoreError> {
        self.read(|r| {
            let t = r.open_table(USERS)?;
            let v = t.get((site.0, id.0))?.ok_or(StoreError::NotFound)?;
            decode(v.value())
        })
    }

    /// Set a user's password, end every session they have, and void their one-time links (an
    /// invitation or reset mailed earlier must not replace it later).
    pub async fn set_password(&self, site: SiteId, id: UserId, hash: String) -> Result<User, StoreError> {
        self.write(move |txn| {
            let mut user = get_user_tx(txn, site, id)?;
            user.password_hash = hash;
            user.session_epoch += 1;
            put_user(txn, &user)?;
            txn.open_table(super::tables::ACCOUNT_LINKS)?.retain(|_, v| {
                decode::<crate::domain::mail::AccountLink>(v).map(|l| (l.site, l.user) != (site, id)).unwrap_or(false)
            })?;
            Ok(user)
        })
        .await
    }

    // ---- sessions ----

    pub async fn create_session(&self, token_hash: [u8; 32], rec: SessionRecord) -> Result<(), StoreError> {
        self.write(move |txn| {
            txn.open_table(SESSIONS)?.insert(token_hash.as_slice(), encode(&rec).as_slice())?;
            Ok(())
        })
        .await
    }

    /// The session and its user, if the session is live: unexpired, user present and active,
    /// and not ended by a password change or disable since it was created.
    pub fn live_session(
        &self,
        token_hash: &[u8; 32],
        now: Millis,
    ) -> Result<Option<(SessionRecord, User)>, StoreError> {
        self.read(|r| {
            let t = r.open_table(SESSIONS)?;
            let Some(v) = t.get(token_hash.as_slice())? else {
                return Ok(None);
            };
            let rec: SessionRecord = decode(v.value())?;
            if rec.expires_at <= now {
                return Ok(None);
            }
            let users = r.open_table(USERS)?;
            let Some(u) = users.get((rec.site.0, rec.user.0))? else {
                return Ok(None);
            };
            let user: User = decode(u.value())?;
            Ok((user.active && user.session_epoch == rec.epoch).then_some((rec, user)))
        })
    }

    pub async fn delete_session(&self, token_hash: [u8; 32]) -> Result<(), StoreError> {
        self.write(move |txn| {
            txn.open_table(SESSIONS)?.remove(token_hash.as_slice())?;
            Ok(())
        })
        .await
    }

    /// Remove expired sessions; returns how many.
    pub async fn purge_sessions(&self, now: Millis) -> Result<usize, StoreError> {
        self.write(move |txn| {
            let mut t = txn.open_table(SESSIONS)?;
            let mut n = 0;
            t.retain(|_, v| {
                let keep = decode::<SessionRecord>(v).map(|s| s.expires_at > now).unwrap_or(false);
                n += usize::from(!keep);
                keep
            })?;
            Ok(n)
        })
        .await
    }
}

fn get_site_tx(r: &ReadTransaction, id: SiteId) -> Result<Site, StoreError> {
    let t = r.open_table(SITES)?;
    let v = t.get(id.0)?.ok_or(StoreError::NotFound)?;
    decode(v.value())
}

fn check_site_name(txn: &WriteTransaction, name: &str, except: Option<SiteId>) -> Result<(), StoreError> {
    let sites: Vec<Site> = read_all(&txn.open_table(SITES)?)?;
    if sites.iter().any(|s| Some(s.id) != except && same_name(&s.name, name)) {
        return Err(StoreError::conflict("name", "Another site has this name."));
    }
    Ok(())
}
