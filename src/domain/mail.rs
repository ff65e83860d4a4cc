//! Mails as the outbox stores them: what each is about, where it is in its delivery, and the
//! retry policy. A mail is written in the same transaction as what caused it and composed by
//! the sender when it is due (`src/mail/`), from the records it names.

use super::Millis;
use super::ids::{ChatId, SiteId, UserId, VisitorId};
use serde::{Deserialize, Serialize};

/// What a mail is about: the records it is composed from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum MailKind {
    /// A message left by a visitor, to the site's notification addresses.
    LeftMessage { site: SiteId, message: u64, visitor: VisitorId },
    /// A chat nobody took, to the site's notification addresses.
    MissedChat { site: SiteId, chat: ChatId, visitor: VisitorId },
    /// A chat's conversation, to the chat's own email address.
    Transcript { site: SiteId, chat: ChatId, visitor: VisitorId },
    /// A person added by an admin: a link to choose a password. `token` is the link's secret,
    /// kept until the mail is sent (only its hash is in the token table).
    Invitation { site: SiteId, user: UserId, token: Option<String> },
    /// A forgotten password: a link to choose a new one (`token` as for an invitation).
    PasswordReset { site: SiteId, user: UserId, token: Option<String> },
    /// A webhook endpoint paused after failing for days, to the site's notification addresses.
    WebhookPaused { site: SiteId, endpoint: u64 },
}

impl MailKind {
    pub fn site(&self) -> SiteId {
        match self {
            MailKind::LeftMessage { site, .. }
            | MailKind::MissedChat { site, .. }
            | MailKind::Transcript { site, .. }
            | MailKind::Invitation { site, .. }
            | MailKind::PasswordReset { site, .. }
            | MailKind::WebhookPaused { site, .. } => *site,
        }
    }

    /// The visitor whose data the mail carries (erasure removes it).
    pub fn visitor(&self) -> Option<VisitorId> {
        match self {
            MailKind::LeftMessage { visitor, .. }
            | MailKind::MissedChat { visitor, .. }
            | MailKind::Transcript { visitor, .. } => Some(*visitor),
            _ => None,
        }
    }

    pub fn label(&self) -> &'static str {
        match self {
            MailKind::LeftMessage { .. } => "Message left",
            MailKind::MissedChat { .. } => "Missed chat",
            MailKind::Transcript { .. } => "Transcript",
            MailKind::Invitation { .. } => "Invitation",
            MailKind::PasswordReset { .. } => "Password reset",
            MailKind::WebhookPaused { .. } => "Webhook paused",
        }
    }

    /// The link's secret is dropped once the mail is delivered or given up.
    fn forget_secret(&mut self) {
        if let MailKind::Invitation { token, .. } | MailKind::PasswordReset { token, .. } = self {
            *token = None;
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MailStatus {
    Pending,
    Sent,
    Failed,
}

impl MailStatus {
    pub fn code(self) -> &'static str {
        match self {
            MailStatus::Pending => "pending",
            MailStatus::Sent => "sent",
            MailStatus::Failed => "failed",
        }
    }
}

/// One mail of the outbox.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mail {
    pub id: u64,
    pub kind: MailKind,
    pub created_at: Millis,
    pub status: MailStatus,
    /// Attempts made so far.
    #[serde(default)]
    pub attempts: u32,
    /// When the next attempt is due (pending mails).
    pub next_at: Millis,
    /// When it was sent or given up.
    #[serde(default)]
    pub done_at: Option<Millis>,
    /// The last attempt's error, as the SMTP server (or the composer) said it.
    #[serde(default)]
    pub last_error: Option<String>,
    /// The recipients and subject, once composed (for the outbox page).
    #[serde(default)]
    pub to: Vec<String>,
    #[serde(default)]
    pub subject: String,
}

/// Attempts stop a day after the mail was written; a permanent refusal stops them at once.
pub const GIVE_UP_AFTER_MS: Millis = 24 * 3600 * 1000;

/// The wait after the `attempts`-th failed attempt: `first_ms` (30 s by default), doubling, at
/// most an hour.
pub fn backoff_ms(attempts: u32, first_ms: Millis) -> Millis {
    let exp = attempts.saturating_sub(1).min(20);
    first_ms.saturating_mul(1 << exp).min(3_600_000)
}

impl Mail {
    pub fn new(kind: MailKind, now: Millis) -> Mail {
        Mail {
            id: 0,
            kind,
            created_at: now,
            status: MailStatus::Pending,
            attempts: 0,
            next_at: now,
            done_at: None,
            last_error: None,
            to: Vec::new(),
            subject: String::new(),
        }
    }

    pub fn sent(&mut self, now: Millis) {
        self.attempts += 1;
        self.status = MailStatus::Sent;
        self.done_at = Some(now);
        self.last_error = None;
        self.kind.forget_secret();
    }

    /// An attempt failed: try again after the back-off from `first_retry_ms`, or give up
    /// (`permanent`, or a day has passed).
    pub fn failed(&mut self, error: String, permanent: bool, now: Millis, first_retry_ms: Millis) {
        self.attempts += 1;
        self.last_error = Some(error);
        let next = now + backoff_ms(self.attempts, first_retry_ms);
        if permanent || next > self.created_at + GIVE_UP_AFTER_MS {
            self.status = MailStatus::Failed;
            self.done_at = Some(now);
            self.kind.forget_secret();
        } else {
            self.next_at = next;
        }
    }

    /// The owner asked for another try of a failed mail. An invitation or reset whose link was
    /// forgotten cannot be sent again (a new one is made instead).
    pub fn retry(&mut self, now: Millis) -> bool {
        let lost_link =
            matches!(self.kind, MailKind::Invitation { token: None, .. } | MailKind::PasswordReset { token: None, .. });
        if self.status != MailStatus::Failed || lost_link {
            return false;
        }
        self.status = MailStatus::Pending;
        self.created_at = now;
        self.next_at = now;
        self.done_at = None;
        true
    }
}

/// A site's mail settings.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SiteMail {
    /// Where messages left and missed chats go; empty: the site's admins.
    pub notify: Vec<String>,
    /// Mail a chat nobody took.
    pub missed_chats: bool,
    /// The language of the mails to the site's people (notifications, invitations, resets).
    pub language: super::i18n::Lang,
}

/// How many transcript mails a chat, a visitor and a site may ask for (per day for the last
/// two): the address is the chat's own, but nobody should make Parley send a flood.
pub const TRANSCRIPTS_PER_CHAT: usize = 2;
pub const TRANSCRIPTS_PER_VISITOR_PER_DAY: usize = 5;
pub const TRANSCRIPTS_PER_SITE_PER_DAY: usize = 500;

/// A one-time link to choose a password, as the store keeps it (under the hash of its secret).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountLink {
    pub purpose: LinkPurpose,
    pub site: SiteId,
    pub user: UserId,
    pub created_at: Millis,
    pub expires_at: Millis,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkPurpose {
    /// A new person chooses their first password (valid `INVITATION_TTL_MS`).
    Invitation,
    /// A person who forgot their password chooses a new one (valid `RESET_TTL_MS`).
    Reset,
}

pub const INVITATION_TTL_MS: Millis = 72 * 3600 * 1000;
pub const RESET_TTL_MS: Millis = 3600 * 1000;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_and_stop_after_a_day_or_a_permanent_refusal() {
        assert_eq!(backoff_ms(1, 30_000), 30_000);
        assert_eq!(backoff_ms(2, 30_000), 60_000);
        assert_eq!(backoff_ms(9, 30_000), 3_600_000);
        assert_eq!(backoff_ms(40, 1_000), 3_600_000);
        let mut m = Mail::new(MailKind::MissedChat { site: SiteId(1), chat: ChatId(2), visitor: VisitorId(3) }, 0);
        m.failed("421 busy".into(), false, 1_000, 30_000);
        assert_eq!((m.status, m.next_at), (MailStatus::Pending, 31_000));
        m.failed("421 busy".into(), false, GIVE_UP_AFTER_MS - 1_000, 30_000);
        assert_eq!(m.status, MailStatus::Failed);
        assert!(m.retry(GIVE_UP_AFTER_MS));
        m.failed("550 no such user".into(), true, GIVE_UP_AFTER_MS + 1, 30_000);
        assert_eq!((m.status, m.last_error.as_deref()), (MailStatus::Failed, Some("550 no such user")));
    }

    #[test]
    fn a_link_is_forgotten_once_sent_and_cannot_be_retried() {
        let mut m = Mail::new(MailKind::Invitation { site: SiteId(1), user: UserId(2), token: Some("s".into()) }, 0);
        m.sent(5);
        assert_eq!(m.kind, MailKind::Invitation { site: SiteId(1), user: UserId(2), token: None });
        m.status = MailStatus::Failed;
        assert!(!m.retry(6));
    }
}
