//! The mail outbox and the one-time account links. A mail is written in the transaction of what
//! caused it (`enqueue`), with its due time in `MAIL_DUE`; the sender (`src/mail/`) takes the
//! first due mail, tries it, and records the attempt before it takes the next, so a mail the
//! SMTP server accepted is never taken again.

use super::codec::{decode, encode};
use super::org::{get_user_tx, put_user};
use super::tables::{ACCOUNT_LINKS, LEFT_MESSAGES, MAIL_DUE, MAILS, SITES, USER_EMAILS, USERS};
use super::{SiteStore, Store, StoreError, next_id};
use crate::domain::Millis;
use crate::domain::chat::{ChatRecord, LeftMessage};
use crate::domain::forms::UserDraft;
use crate::domain::ids::{ChatId, SiteId, UserId, VisitorId};
use crate::domain::mail::{
    AccountLink, INVITATION_TTL_MS, LinkPurpose, Mail, MailKind, MailStatus, RESET_TTL_MS, TRANSCRIPTS_PER_CHAT,
    TRANSCRIPTS_PER_SITE_PER_DAY, TRANSCRIPTS_PER_VISITOR_PER_DAY,
};
use crate::domain::model::{Site, User};
use redb::{ReadableTable, WriteTransaction};

const DAY_MS: Millis = 24 * 3600 * 1000;

/// Write a new pending mail, due now, in `txn`.
pub(super) fn enqueue(txn: &WriteTransaction, kind: MailKind, now: Millis) -> Result<Mail, StoreError> {
    let mut mail = Mail::new(kind, now);
    mail.id = next_id(txn, "mail")?;
    txn.open_table(MAILS)?.insert(mail.id, encode(&mail).as_slice())?;
    txn.open_table(MAIL_DUE)?.insert((mail.next_at, mail.id), ())?;
    Ok(mail)
}

/// Replace a stored mail, keeping the due index in step.
fn put_mail(txn: &WriteTransaction, mail: &Mail) -> Result<(), StoreError> {
    let mut mails = txn.open_table(MAILS)?;
    let old: Option<Mail> = mails.get(mail.id)?.map(|v| decode(v.value())).transpose()?;
    let Some(old) = old else { return Err(StoreError::NotFound) };
    let mut due = txn.open_table(MAIL_DUE)?;
    if old.status == MailStatus::Pending {
        due.remove((old.next_at, old.id))?;
    }
    if mail.status == MailStatus::Pending {
        due.insert((mail.next_at, mail.id), ())?;
    }
    mails.insert(mail.id, encode(mail).as_slice())?;
    Ok(())
}

/// Store a one-time link for `user` under the hash of its secret, and queue the mail that
/// carries it (an invitation or a reset), in `txn`.
fn issue_link(
    txn: &WriteTransaction,
    purpose: LinkPurpose,
    (site, user): (SiteId, UserId),
    secret: String,
    secret_hash: [u8; 32],
    now: Millis,
) -> Result<(), StoreError> {
    let (ttl, kind) = match purpose {
        LinkPurpose::Invitation => (INVITATION_TTL_MS, MailKind::Invitation { site, user, token: Some(secret) }),
        LinkPurpose::Reset => (RESET_TTL_MS, MailKind::PasswordReset { site, user, token: Some(secret) }),
    };
    let link = AccountLink { purpose, site, user, created_at: now, expires_at: now + ttl };
    txn.open_table(ACCOUNT_LINKS)?.insert(secret_hash.as_slice(), encode(&link).as_slice())?;
    enqueue(txn, kind, now)?;
    Ok(())
}

/// A chat that ended without ever being taken, on a site that wants to hear of it: its mail.
pub(super) fn missed_chat(
    txn: &WriteTransaction,
    old: Option<&ChatRecord>,
    new: &ChatRecord,
) -> Result<(), StoreError> {
    use crate::domain::chat::ChatStatus;
    let ended_now = new.status() == ChatStatus::Ended && old.is_none_or(|o| o.status() != ChatStatus::Ended);
    if !ended_now || new.assigned_at.is_some() || new.origin.is_some() {
        return Ok(());
    }
    let site: Option<Site> = txn.open_table(SITES)?.get(new.site.0)?.map(|v| decode(v.value())).transpose()?;
    if site.is_some_and(|s| s.mail.missed_chats) {
        let at = new.ended_at().unwrap_or(new.created_at);
        enqueue(txn, MailKind::MissedChat { site: new.site, chat: new.id, visitor: new.visitor }, at)?;
    }
    Ok(())
}

/// How many mails of each status the outbox holds.
#[derive(Clone, Copy, Debug, Default)]
pub struct MailCounts {
    pub pending: usize,
    pub sent: usize,
    pub failed: usize,
}

impl Store {
    /// Add a mail to the outbox, due now.
    pub async fn queue_mail(&self, kind: MailKind, now: Millis) -> Result<Mail, StoreError> {
        self.write(move |txn| enqueue(txn, kind, now)).await
    }

    /// The pending mail due first (it may be due later than now).
    pub fn next_mail(&self) -> Result<Option<Mail>, StoreError> {
        self.read(|r| {
            let due = r.open_table(MAIL_DUE)?;
            let Some(first) = due.first()? else { return Ok(None) };
            let id = first.0.value().1;
            let mails = r.open_table(MAILS)?;
            mails.get(id)?.map(|v| decode(v.value())).transpose()
        })
    }

    /// Store the outcome of an attempt (or the composed recipients and subject).
    pub async fn save_mail(&self, mail: Mail) -> Result<(), StoreError> {
        self.write(move |txn| put_mail(txn, &mail)).await
    }

    pub fn mail(&self, id: u64) -> Result<Mail, StoreError> {
        self.read(|r| decode(r.open_table(MAILS)?.get(id)?.ok_or(StoreError::NotFound)?.value()))
    }

    /// Mails newest first, of one status or all, with ids below `before`.
    pub fn mails(
        &self,
        status: Option<MailStatus>,
        before: Option<u64>,
        limit: usize,
    ) -> Result<Vec<Mail>, StoreError> {
        self.read(|r| {
            let t = r.open_table(MAILS)?;
            let mut out = Vec::new();
            for e in t.range(..before.unwrap_or(u64::MAX))?.rev() {
                let m: Mail = decode(e?.1.value())?;
                if status.is_none_or(|s| s == m.status) {
                    out.push(m);
                    if out.len() == limit {
                        break;
                    }
                }
            }
            Ok(out)
        })
    }

    pub fn mail_counts(&self) -> Result<MailCounts, StoreError> {
        self.read(|r| {
            let mut c = MailCounts::default();
            for e in r.open_table(MAILS)?.iter()? {
                match decode::<Mail>(e?.1.value())?.status {
                    MailStatus::Pending => c.pending += 1,
                    MailStatus::Sent => c.sent += 1,
                    MailStatus::Failed => c.failed += 1,
                }
            }
            Ok(c)
        })
    }

    /// Try a failed mail again, now.
    pub async fn retry_mail(&self, id: u64, now: Millis) -> Result<Mail, StoreError> {
        self.write(move |txn| {
            let mut mail: Mail = decode(txn.open_table(MAILS)?.get(id)?.ok_or(StoreError::NotFound)?.value())?;
            if !mail.retry(now) {
                return Err(StoreError::conflict(
                    "mail",
                    "Only a failed mail can be retried, and an invitation or reset link cannot be sent twice: make a new one.",
                ));
            }
            put_mail(txn, &mail)?;
            Ok(mail)
        })
        .await
    }

    /// A visitor asks for their chat's transcript: queued unless a limit is reached (per chat,
    /// per visitor and per site over the last day). The address is the chat's own, read when
    /// the mail is composed.
    pub async fn queue_transcript(
        &self,
        site: SiteId,
        chat: ChatId,
        visitor: VisitorId,
        now: Millis,
    ) -> Result<Mail, StoreError> {
        self.write(move |txn| {
            let (mut of_chat, mut of_visitor, mut of_site) = (0, 0, 0);
            {
                let mails = txn.open_table(MAILS)?;
                for e in mails.iter()?.rev() {
                    let m: Mail = decode(e?.1.value())?;
                    if let MailKind::Transcript { site: s, chat: c, visitor: v } = m.kind {
                        let recent = m.created_at + DAY_MS > now;
                        of_chat += usize::from(s == site && c == chat);
                        of_visitor += usize::from(s == site && v == visitor && recent);
                        of_site += usize::from(s == site && recent);
                    }
                    if m.created_at + 7 * DAY_MS < now {
                        break;
                    }
                }
            }
            if of_chat >= TRANSCRIPTS_PER_CHAT
                || of_visitor >= TRANSCRIPTS_PER_VISITOR_PER_DAY
                || of_site >= TRANSCRIPTS_PER_SITE_PER_DAY
            {
                return Err(StoreError::conflict("transcript", "limit"));
            }
            enqueue(txn, MailKind::Transcript { site, chat, visitor }, now)
        })
        .await
    }

    // ---- one-time links ----

    /// A person forgot their password: a reset link for them, if `email` is an active person's.
    /// Returns whether a mail was queued (the page says the same either way).
    pub async fn request_reset(
        &self,
        email: String,
        secret: String,
        secret_hash: [u8; 32],
        now: Millis,
    ) -> Result<bool, StoreError> {
        self.write(move |txn| {
            let Some((site, user)) = txn.open_table(USER_EMAILS)?.get(email.as_str())?.map(|v| v.value()) else {
                return Ok(false);
            };
            let u = get_user_tx(txn, SiteId(site), UserId(user))?;
            if !u.active {
                return Ok(false);
            }
            issue_link(txn, LinkPurpose::Reset, (u.site, u.id), secret, secret_hash, now)?;
            Ok(true)
        })
        .await
    }

    /// The live link with this secret's hash (not used, not expired, its person still there).
    pub fn account_link(&self, secret_hash: &[u8; 32], now: Millis) -> Result<Option<(AccountLink, User)>, StoreError> {
        self.read(|r| {
            let Some(v) = r.open_table(ACCOUNT_LINKS)?.get(secret_hash.as_slice())? else {
                return Ok(None);
            };
            let link: AccountLink = decode(v.value())?;
            if link.expires_at <= now {
                return Ok(None);
            }
            let user: Option<User> =
                r.open_table(USERS)?.get((link.site.0, link.user.0))?.map(|v| decode(v.value())).transpose()?;
            Ok(user.filter(|u| u.active).map(|u| (link, u)))
        })
    }

    /// Use a link: set the person's password, end every session they have, and void the link
    /// (and any other link of theirs). `NotFound` when the link is not live.
    pub async fn use_account_link(
        &self,
        secret_hash: [u8; 32],
        password_hash: String,
        now: Millis,
    ) -> Result<User, StoreError> {
        self.write(move |txn| {
            let mut links = txn.open_table(ACCOUNT_LINKS)?;
            let link: AccountLink = match links.get(secret_hash.as_slice())? {
                Some(v) => decode(v.value())?,
                None => return Err(StoreError::NotFound),
            };
            if link.expires_at <= now {
                return Err(StoreError::NotFound);
            }
            let mut user = get_user_tx(txn, link.site, link.user)?;
            if !user.active {
                return Err(StoreError::NotFound);
            }
            user.password_hash = password_hash;
            user.session_epoch += 1;
            put_user(txn, &user)?;
            links.retain(|_, v| {
                decode::<AccountLink>(v).map(|l| (l.site, l.user) != (user.site, user.id)).unwrap_or(false)
            })?;
            Ok(user)
        })
        .await
    }

    /// Remove expired links; returns how many.
    pub async fn purge_account_links(&self, now: Millis) -> Result<usize, StoreError> {
        self.write(move |txn| {
            let mut n = 0;
            txn.open_table(ACCOUNT_LINKS)?.retain(|_, v| {
                let keep = decode::<AccountLink>(v).map(|l| l.expires_at > now).unwrap_or(false);
                n += usize::from(!keep);
                keep
            })?;
            Ok(n)
        })
        .await
    }

    /// Remove mails sent or given up before `cutoff` (retention); returns how many.
    pub async fn delete_mails_before(&self, cutoff: Millis) -> Result<usize, StoreError> {
        self.write(move |txn| {
            let mut n = 0;
            txn.open_table(MAILS)?.retain(|_, v| {
                let keep = decode::<Mail>(v).map(|m| m.done_at.is_none_or(|at| at >= cutoff)).unwrap_or(true);
                n += usize::from(!keep);
                keep
            })?;
            Ok(n)
        })
        .await
    }
}

/// Remove the mails `gone` says, with their due entries.
fn remove_mails(txn: &WriteTransaction, gone: impl Fn(&Mail) -> bool) -> Result<(), StoreError> {
    let mut due_keys = Vec::new();
    txn.open_table(MAILS)?.retain(|_, v| match decode::<Mail>(v) {
        Ok(m) if gone(&m) => {
            due_keys.push((m.next_at, m.id));
            false
        }
        _ => true,
    })?;
    let mut due = txn.open_table(MAIL_DUE)?;
    for key in due_keys {
        due.remove(key)?;
    }
    Ok(())
}

/// Remove every mail of a deleted site.
pub(super) fn erase_site_mails(txn: &WriteTransaction, site: SiteId) -> Result<(), StoreError> {
    remove_mails(txn, |m| m.kind.site() == site)
}

/// Remove every mail about `visitor` of `site` (erasure).
pub(super) fn erase_mails_of(txn: &WriteTransaction, site: SiteId, visitor: VisitorId) -> Result<(), StoreError> {
    remove_mails(txn, |m| m.kind.site() == site && m.kind.visitor() == Some(visitor))
}

impl SiteStore {
    pub fn left_message(&self, id: u64) -> Result<LeftMessage, StoreError> {
        let site = self.id();
        self.store()
            .read(|r| decode(r.open_table(LEFT_MESSAGES)?.get((site.0, id))?.ok_or(StoreError::NotFound)?.value()))
    }

    /// Add a person without a password: they get an invitation with a link to choose one.
    pub async fn invite_user(
        &self,
        draft: UserDraft,
        secret: String,
        secret_hash: [u8; 32],
        now: Millis,
    ) -> Result<User, StoreError> {
        let site = self.id();
        self.store()
            .write_changing(
                move |_| vec![super::Change::Site(site)],
                move |txn| {
                    let user = super::site::save_user_tx(txn, site, None, draft, None, now)?;
                    issue_link(txn, LinkPurpose::Invitation, (site, user.id), secret, secret_hash, now)?;
                    Ok(user)
                },
            )
            .await
    }

    /// Send a person who has not chosen a password yet a new invitation (the old links die).
    pub async fn reinvite_user(
        &self,
        user: UserId,
        secret: String,
        secret_hash: [u8; 32],
        now: Millis,
    ) -> Result<(), StoreError> {
        let site = self.id();
        self.store()
            .write(move |txn| {
                let u = get_user_tx(txn, site, user)?;
                if !u.password_hash.is_empty() {
                    return Err(StoreError::conflict("user", "This person has chosen a password already."));
                }
                txn.open_table(ACCOUNT_LINKS)?.retain(|_, v| {
                    decode::<AccountLink>(v).map(|l| (l.site, l.user) != (site, user)).unwrap_or(false)
                })?;
                issue_link(txn, LinkPurpose::Invitation, (site, user), secret, secret_hash, now)?;
                Ok(())
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_outbox_takes_the_due_mail_first_and_retention_removes_only_finished_mails() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("store");
        let kind = |chat| MailKind::MissedChat { site: SiteId(1), chat: ChatId(chat), visitor: VisitorId(2) };
        let a = store.queue_mail(kind(1), 1_000).await.expect("queued");
        let b = store.queue_mail(kind(2), 2_000).await.expect("queued");
        assert_eq!(store.next_mail().expect("read").map(|m| m.id), Some(a.id));
        let mut first = store.next_mail().expect("read").expect("a mail");
        first.failed("421 try later".into(), false, 3_000, 30_000);
        store.save_mail(first).await.expect("saved");
        assert_eq!(store.next_mail().expect("read").map(|m| m.id), Some(b.id), "the retry waits its turn");
        let mut second = store.next_mail().expect("read").expect("a mail");
        second.sent(4_000);
        store.save_mail(second).await.expect("saved");
        assert_eq!(store.next_mail().expect("read").map(|m| (m.id, m.next_at)), Some((a.id, 33_000)));
        assert_eq!(store.delete_mails_before(5_000).await.expect("retention"), 1, "the sent one");
        assert_eq!(store.mails(None, None, 10).expect("list").iter().map(|m| m.id).collect::<Vec<_>>(), vec![a.id]);
        // Erasing the visitor takes the pending mail and its place in the queue.
        store.write(|txn| erase_mails_of(txn, SiteId(1), VisitorId(2))).await.expect("erased");
        assert!(store.next_mail().expect("read").is_none() && store.mails(None, None, 10).expect("list").is_empty());
    }

    #[tokio::test]
    async fn a_reset_link_works_until_the_password_is_set_another_way() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("store");
        let owner = store.create_owner("O".into(), "o@example.com".into(), "x".into(), false, 1).await.expect("owner");
        assert!(store.request_reset("o@example.com".into(), "s".into(), [5; 32], 10).await.expect("asked"));
        assert!(!store.request_reset("nobody@example.com".into(), "t".into(), [6; 32], 10).await.expect("asked"));
        assert!(store.account_link(&[5; 32], 20).expect("read").is_some());
        store.set_password(owner.site, owner.id, "y".into()).await.expect("set by hand");
        assert!(store.account_link(&[5; 32], 20).expect("read").is_none(), "the old link is void");
        assert!(matches!(store.use_account_link([5; 32], "z".into(), 20).await, Err(StoreError::NotFound)));
    }

    #[tokio::test]
    async fn transcripts_are_limited_per_chat() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("store");
        for _ in 0..TRANSCRIPTS_PER_CHAT {
            store.queue_transcript(SiteId(1), ChatId(3), VisitorId(2), 10).await.expect("queued");
        }
        let refused = store.queue_transcript(SiteId(1), ChatId(3), VisitorId(2), 11).await;
        assert!(matches!(refused, Err(StoreError::Conflict { .. })), "{refused:?}");
        store.queue_transcript(SiteId(1), ChatId(4), VisitorId(2), 12).await.expect("another chat");
    }
}
