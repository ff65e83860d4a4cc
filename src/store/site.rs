//! `SiteStore`: the one way to reach a site's own records. Every key it builds starts with the
//! site id it was created with, so it cannot read or change another site's data.

use super::codec::Record;
use super::codec::{decode, encode};
use super::org::{check_email_free, get_user_tx, insert_user, put_user};
use super::tables::{CAMPAIGN_SITES, CAMPAIGNS, DEPARTMENTS, SITES, USER_EMAILS, USERS};
use super::{Change, Store, StoreError, next_id};
use crate::domain::Millis;
use crate::domain::forms::{CampaignDraft, DepartmentDraft, SettingsDraft, UserDraft};
use crate::domain::ids::{CampaignId, DepartmentId, SiteId, UserId};
use crate::domain::model::{Campaign, Department, Site, User};
use redb::{ReadableTable, TableDefinition, WriteTransaction};

type SiteTable = TableDefinition<'static, (u64, u64), &'static [u8]>;

#[derive(Clone)]
pub struct SiteStore {
    store: Store,
    site: SiteId,
}

fn range(site: SiteId) -> std::ops::RangeInclusive<(u64, u64)> {
    (site.0, 0)..=(site.0, u64::MAX)
}

fn all_in<T: Record>(
    txn_table: &impl ReadableTable<(u64, u64), &'static [u8]>,
    site: SiteId,
) -> Result<Vec<T>, StoreError> {
    txn_table.range(range(site))?.map(|r| decode(r?.1.value())).collect()
}

fn one_in<T: Record>(
    t: &impl ReadableTable<(u64, u64), &'static [u8]>,
    site: SiteId,
    id: u64,
) -> Result<T, StoreError> {
    let v = t.get((site.0, id))?.ok_or(StoreError::NotFound)?;
    decode(v.value())
}

fn same_name(a: &str, b: &str) -> bool {
    a.to_lowercase() == b.to_lowercase()
}

impl SiteStore {
    pub(super) fn new(store: Store, site: SiteId) -> SiteStore {
        SiteStore { store, site }
    }

    pub fn id(&self) -> SiteId {
        self.site
    }

    pub(super) fn store(&self) -> &Store {
        &self.store
    }

    fn list<T: Record>(&self, def: SiteTable) -> Result<Vec<T>, StoreError> {
        let site = self.site;
        self.store.read(|r| all_in(&r.open_table(def)?, site))
    }

    fn get<T: Record>(&self, def: SiteTable, id: u64) -> Result<T, StoreError> {
        let site = self.site;
        self.store.read(|r| one_in(&r.open_table(def)?, site, id))
    }

    pub fn site(&self) -> Result<Site, StoreError> {
        self.store.get_site(self.site)
    }

    // ---- people ----

    pub fn users(&self) -> Result<Vec<User>, StoreError> {
        self.list(USERS)
    }

    pub fn user(&self, id: UserId) -> Result<User, StoreError> {
        self.get(USERS, id.0)
    }

    /// Save an agent's console preferences.
    pub async fn save_prefs(&self, id: UserId, prefs: crate::domain::model::ConsolePrefs) -> Result<(), StoreError> {
        let site = self.site;
        self.store
            .write(move |txn| {
                let mut user: User = {
                    let t = txn.open_table(USERS)?;
                    let v = t.get((site.0, id.0))?.ok_or(StoreError::NotFound)?;
                    super::codec::decode(v.value())?
                };
                user.prefs = prefs;
                put_user(txn, &user)
            })
            .await
    }

    /// Create (`id` = None, with a password hash) or update an agent or site admin, and set
    /// which of this site's departments they belong to. Disabling ends their sessions.
    pub async fn save_user(
        &self,
        id: Option<UserId>,
        draft: UserDraft,
        hash: Option<String>,
        now: Millis,
    ) -> Result<User, StoreError> {
        let site = self.site;
        self.store
            .write_changing(move |_| vec![Change::Site(site)], move |txn| save_user_tx(txn, site, id, draft, hash, now))
            .await
    }

    // ---- departments ----

    pub fn departments(&self) -> Result<Vec<Department>, StoreError> {
        self.list(DEPARTMENTS)
    }

    pub fn department(&self, id: DepartmentId) -> Result<Department, StoreError> {
        self.get(DEPARTMENTS, id.0)
    }

    pub async fn save_department(
        &self,
        id: Option<DepartmentId>,
        draft: DepartmentDraft,
    ) -> Result<Department, StoreError> {
        let site = self.site;
        self.store
            .write_changing(
                move |_| vec![Change::Site(site)],
                move |txn| {
                    check_site_exists(txn, site)?;
                    let mut t = txn.open_table(DEPARTMENTS)?;
                    let all: Vec<Department> = all_in(&t, site)?;
                    if id.is_some_and(|id| !all.iter().any(|d| d.id == id)) {
                        return Err(StoreError::NotFound);
                    }
                    if all.iter().any(|d| Some(d.id) != id && same_name(&d.name, &draft.name)) {
                        return Err(StoreError::conflict("name", "Another department of this site has this name."));
                    }
                    let users = txn.open_table(USERS)?;
                    let mut members = Vec::new();
                    for m in draft.members {
                        // Only people of this site can be members; anything else is ignored.
                        if users.get((site.0, m.0))?.is_some() {
                            members.push(m);
                        }
                    }
                    let id = match id {
                        Some(id) => id,
                        None => DepartmentId(next_id(txn, "department")?),
                    };
                    let d = Department { id, site, name: draft.name, members, rule: draft.rule };
                    t.insert((site.0, id.0), encode(&d).as_slice())?;
                    Ok(d)
                },
            )
            .await
    }

    pub async fn delete_department(&self, id: DepartmentId) -> Result<(), StoreError> {
        let site = self.site;
        self.store
            .write_changing(
                move |_| vec![Change::Site(site)],
                move |txn| {
                    let campaigns: Vec<Campaign> = all_in(&txn.open_table(CAMPAIGNS)?, site)?;
                    let mut t = txn.open_table(DEPARTMENTS)?;
                    if t.get((site.0, id.0))?.is_none() {
                        return Err(StoreError::NotFound);
                    }
                    if let Some(c) = campaigns.iter().find(|c| c.department == Some(id)) {
                        return Err(StoreError::conflict(
                            "department",
                            format!(
                                "Campaign “{}” sends its chats to this department: point it elsewhere first.",
                                c.name
                            ),
                        ));
                    }
                    t.remove((site.0, id.0))?;
                    Ok(())
                },
            )
            .await
    }

    // ---- campaigns ----

    pub fn campaigns(&self) -> Result<Vec<Campaign>, StoreError> {
        self.list(CAMPAIGNS)
    }

    pub fn campaign(&self, id: CampaignId) -> Result<Campaign, StoreError> {
        self.get(CAMPAIGNS, id.0)
    }

    pub async fn save_campaign(
        &self,
        id: Option<CampaignId>,
        draft: CampaignDraft,
        now: Millis,
    ) -> Result<Campaign, StoreError> {
        let site = self.site;
        self.store
            .write_changing(
                move |_| vec![Change::Site(site)],
                move |txn| {
                    check_site_exists(txn, site)?;
                    if let Some(d) = draft.department
                        && txn.open_table(DEPARTMENTS)?.get((site.0, d.0))?.is_none()
                    {
                        return Err(StoreError::conflict("department", "That department no longer exists."));
                    }
                    let mut t = txn.open_table(CAMPAIGNS)?;
                    let all: Vec<Campaign> = all_in(&t, site)?;
                    let existing = match id {
                        Some(id) => Some(all.iter().find(|c| c.id == id).ok_or(StoreError::NotFound)?.clone()),
                        None => None,
                    };
                    if all.iter().any(|c| Some(c.id) != id && same_name(&c.name, &draft.name)) {
                        return Err(StoreError::conflict("name", "Another campaign of this site has this name."));
                    }
                    let id = match id {
                        Some(id) => id,
                        None => CampaignId(next_id(txn, "campaign")?),
                    };
                    let c = Campaign {
                        id,
                        site,
                        name: draft.name,
                        language: draft.language,
                        messages: draft.messages,
                        style: draft.style,
                        prechat: draft.prechat,
                        postchat: draft.postchat,
                        department: draft.department,
                        notify_transfer: draft.notify_transfer,
                        proactive: draft.proactive,
                        created_at: existing.map(|e| e.created_at).unwrap_or(now),
                    };
                    t.insert((site.0, id.0), encode(&c).as_slice())?;
                    txn.open_table(CAMPAIGN_SITES)?.insert(id.0, site.0)?;
                    Ok(c)
                },
            )
            .await
    }

    pub async fn delete_campaign(&self, id: CampaignId) -> Result<(), StoreError> {
        let site = self.site;
        self.store
            .write_changing(move |_| vec![Change::Site(site)], move |txn| {
                let s: Site = {
                    let t = txn.open_table(SITES)?;
                    let v = t.get(site.0)?.ok_or(StoreError::NotFound)?;
                    decode(v.value())?
                };
                let mut t = txn.open_table(CAMPAIGNS)?;
                if t.get((site.0, id.0))?.is_none() {
                    return Err(StoreError::NotFound);
                }
                if s.default_campaign == Some(id) {
                    return Err(StoreError::conflict(
                        "campaign",
                        "This campaign is the site's default for cross-site transfers: choose another default in Settings first.",
                    ));
                }
                t.remove((site.0, id.0))?;
                txn.open_table(CAMPAIGN_SITES)?.remove(id.0)?;
                Ok(())
            })
            .await
    }

    // ---- settings ----

    pub async fn save_settings(&self, draft: SettingsDraft) -> Result<Site, StoreError> {
        let site = self.site;
        self.store
            .update_site(site, move |txn, s| {
                if let Some(c) = draft.default_campaign
                    && txn.open_table(CAMPAIGNS)?.get((site.0, c.0))?.is_none()
                {
                    return Err(StoreError::conflict("default_campaign", "That campaign no longer exists."));
                }
                s.default_campaign = draft.default_campaign;
                s.transfer = draft.transfer;
                s.mail = draft.mail;
                s.files = draft.files;
                Ok(())
            })
            .await
    }
}

/// `save_user` inside a transaction (an invitation creates its person the same way).
pub(super) fn save_user_tx(
    txn: &WriteTransaction,
    site: SiteId,
    id: Option<UserId>,
    draft: UserDraft,
    hash: Option<String>,
    now: Millis,
) -> Result<User, StoreError> {
    check_site_exists(txn, site)?;
    check_email_free(txn, &draft.email, id.map(|id| (site, id)))?;
    let depts: Vec<Department> = all_in(&txn.open_table(DEPARTMENTS)?, site)?;
    let user = match id {
        Some(id) => {
            let mut u = get_user_tx(txn, site, id)?;
            if u.email != draft.email {
                let mut idx = txn.open_table(USER_EMAILS)?;
                idx.remove(u.email.as_str())?;
                idx.insert(draft.email.as_str(), (site.0, id.0))?;
            }
            if u.active && !draft.active {
                u.session_epoch += 1;
            }
            u.name = draft.name;
            u.email = draft.email;
            u.role = draft.role;
            u.skills = draft.skills;
            u.max_chats = draft.max_chats;
            u.active = draft.active;
            put_user(txn, &u)?;
            u
        }
        None => insert_user(
            txn,
            User {
                id: UserId(0),
                site,
                role: draft.role,
                name: draft.name,
                email: draft.email,
                password_hash: hash.unwrap_or_default(),
                skills: draft.skills,
                max_chats: draft.max_chats,
                active: draft.active,
                session_epoch: 0,
                away: false,
                created_at: now,
                prefs: Default::default(),
            },
        )?,
    };
    let mut t = txn.open_table(DEPARTMENTS)?;
    for mut d in depts {
        let want = draft.departments.contains(&d.id);
        let has = d.members.contains(&user.id);
        if want != has {
            if want {
                d.members.push(user.id);
            } else {
                d.members.retain(|m| *m != user.id);
            }
            t.insert((site.0, d.id.0), encode(&d).as_slice())?;
        }
    }
    Ok(user)
}

pub(super) fn check_site_exists(txn: &WriteTransaction, site: SiteId) -> Result<(), StoreError> {
    match txn.open_table(SITES)?.get(site.0)? {
        Some(_) => Ok(()),
        None => Err(StoreError::NotFound),
    }
}
