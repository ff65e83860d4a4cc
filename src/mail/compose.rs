//! A mail of the outbox becomes a message: recipients, subject, and a plain text and an HTML
//! part from the same askama templates (`templates/mail/`), read from the records it names
//! when it is sent. Everything a visitor or a person typed is escaped in the HTML part; no
//! remote images, no tracking.

use super::texts::{Texts, fill, texts};
use crate::config::Config;
use crate::domain::chat::{Author, ChatEvent, EventKind};
use crate::domain::i18n::Lang;
use crate::domain::mail::MailKind;
use crate::domain::model::{Role, Site, User};
use crate::store::{Store, StoreError};
use askama::Template;

/// One line of a conversation.
pub struct Line {
    pub at: String,
    pub who: String,
    pub text: String,
}

/// What every mail is made of; the templates lay it out.
pub struct Body {
    pub lang: &'static str,
    pub heading: String,
    pub intro: Vec<String>,
    pub fields: Vec<(String, String)>,
    pub quote: Option<String>,
    pub lines: Vec<Line>,
    pub action: Option<(String, String)>,
    pub outro: Vec<String>,
    pub signature: String,
}

#[derive(Template)]
#[template(path = "mail/mail.txt")]
struct TextPart<'a> {
    b: &'a Body,
}

#[derive(Template)]
#[template(path = "mail/mail.html")]
struct HtmlPart<'a> {
    b: &'a Body,
}

/// A mail ready to send.
pub struct Composed {
    /// (name, address) of each recipient.
    pub to: Vec<(Option<String>, String)>,
    pub reply_to: Option<(Option<String>, String)>,
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// Why a mail cannot be composed: it will never be, so it fails at once.
#[derive(Debug, thiserror::Error)]
pub enum ComposeError {
    #[error("{0}")]
    Gone(&'static str),
    #[error("nobody to send it to: {0}")]
    NoRecipient(&'static str),
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("template: {0}")]
    Template(#[from] askama::Error),
}

impl ComposeError {
    /// A store that cannot be read now may be readable later.
    pub fn is_permanent(&self) -> bool {
        !matches!(self, ComposeError::Store(e) if !matches!(e, StoreError::NotFound))
    }
}

fn gone(what: &'static str) -> impl FnOnce(StoreError) -> ComposeError {
    move |e| match e {
        StoreError::NotFound => ComposeError::Gone(what),
        e => ComposeError::Store(e),
    }
}

fn render(
    to: Vec<(Option<String>, String)>,
    reply_to: Option<(Option<String>, String)>,
    b: Body,
) -> Result<Composed, ComposeError> {
    // One line: what visitors typed (a name) may hold line breaks.
    let subject = b.heading.split(|c: char| c.is_control()).filter(|p| !p.is_empty()).collect::<Vec<_>>().join(" ");
    Ok(Composed { to, reply_to, subject, text: TextPart { b: &b }.render()?, html: HtmlPart { b: &b }.render()? })
}

/// Where a site's notifications go: its chosen addresses, else its active admins, else the owner.
fn site_recipients(store: &Store, site: &Site) -> Result<Vec<(Option<String>, String)>, ComposeError> {
    if !site.mail.notify.is_empty() {
        return Ok(site.mail.notify.iter().map(|a| (None, a.clone())).collect());
    }
    let admins: Vec<User> =
        store.site(site.id).users()?.into_iter().filter(|u| u.role == Role::Admin && u.active).collect();
    let people = if admins.is_empty() { store.owners()? } else { admins };
    if people.is_empty() {
        return Err(ComposeError::NoRecipient("the site has no admin and no notification address"));
    }
    Ok(people.into_iter().map(|u| (Some(u.name), u.email)).collect())
}

fn base(lang: Lang, heading: String, cfg: &Config) -> Body {
    Body {
        lang: lang.code(),
        heading,
        intro: Vec::new(),
        fields: Vec::new(),
        quote: None,
        lines: Vec::new(),
        action: None,
        outro: Vec::new(),
        signature: cfg.mail.as_ref().map(|m| m.from_name.clone()).unwrap_or_else(|| "Parley".into()),
    }
}

fn at(ms: u64) -> String {
    crate::domain::utc(ms)
}

/// The conversation of a chat: messages only (no notes, no system texts, no transfer steps).
fn conversation(events: &[ChatEvent], you: &str, only_visitor: bool) -> Vec<Line> {
    events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Message { author: Author::Visitor, text, file } => {
                Some(Line { at: at(e.at), who: you.to_string(), text: with_file(text, file.as_ref()) })
            }
            EventKind::Message { author: Author::Agent { name, .. }, text, file } if !only_visitor => {
                Some(Line { at: at(e.at), who: name.clone(), text: with_file(text, file.as_ref()) })
            }
            _ => None,
        })
        .collect()
}

/// A message's text, with the name of the file it carried (files are not attached to mails).
fn with_file(text: &str, file: Option<&crate::domain::files::FileRef>) -> String {
    match file {
        Some(f) if text.is_empty() => format!("[{}]", f.name),
        Some(f) => format!("{text} [{}]", f.name),
        None => text.to_string(),
    }
}

/// Compose `kind` from the store as it is now.
pub fn compose(store: &Store, cfg: &Config, kind: &MailKind) -> Result<Composed, ComposeError> {
    let link = |path: String| format!("{}{path}", cfg.public_url);
    match kind {
        MailKind::LeftMessage { site, message, .. } => {
            let s = store.get_site(*site).map_err(gone("the site was deleted"))?;
            let m = store.site(*site).left_message(*message).map_err(gone("the message was deleted"))?;
            let t: &Texts = texts(s.mail.language);
            let name = if m.name.is_empty() { m.email.clone() } else { m.name.clone() };
            let mut b = base(s.mail.language, fill(t.left_subject, &[("site", &s.name), ("name", &name)]), cfg);
            b.intro.push(fill(t.left_intro, &[("site", &s.name), ("name", &name)]));
            b.fields.push((t.name.into(), m.name.clone()));
            b.fields.push((t.email.into(), m.email.clone()));
            if !m.page.is_empty() {
                b.fields.push((t.page.into(), m.page.clone()));
            }
            b.fields.push((t.time.into(), at(m.at)));
            b.quote = Some(m.text.clone());
            b.outro.push(t.reply_hint.into());
            b.action = Some((t.left_action.into(), link(format!("/admin/sites/{}/messages", site.0))));
            let to = site_recipients(store, &s)?;
            render(to, Some((Some(m.name).filter(|n| !n.is_empty()), m.email)), b)
        }
        MailKind::MissedChat { site, chat, .. } => {
            let s = store.get_site(*site).map_err(gone("the site was deleted"))?;
            let scope = store.site(*site);
            let c = scope.chat(*chat).map_err(gone("the chat was deleted"))?;
            let events = scope.chat_events(*chat, 0, 1000)?;
            let t = texts(s.mail.language);
            let name = [&c.info.name, &c.info.email].into_iter().find(|n| !n.is_empty()).cloned();
            let name = name.unwrap_or_else(|| format!("{} {}", t.visitor, c.visitor.0));
            let mut b = base(s.mail.language, fill(t.missed_subject, &[("site", &s.name), ("name", &name)]), cfg);
            b.intro.push(fill(t.missed_intro, &[("site", &s.name)]));
            if !c.info.name.is_empty() {
                b.fields.push((t.name.into(), c.info.name.clone()));
            }
            if !c.info.email.is_empty() {
                b.fields.push((t.email.into(), c.info.email.clone()));
            }
            if !c.info.page_url.is_empty() {
                b.fields.push((t.page.into(), c.info.page_url.clone()));
            }
            b.fields.push((t.time.into(), at(c.created_at)));
            b.lines = conversation(&events, &name, true);
            if b.lines.is_empty() {
                b.intro.push(t.missed_nothing.into());
            }
            if !c.info.email.is_empty() {
                b.outro.push(t.reply_hint.into());
            }
            b.action = Some((t.missed_action.into(), link(format!("/admin/sites/{}/chats/{}", site.0, chat.0))));
            let reply_to = (!c.info.email.is_empty())
                .then(|| (Some(c.info.name.clone()).filter(|n| !n.is_empty()), c.info.email.clone()));
            render(site_recipients(store, &s)?, reply_to, b)
        }
        MailKind::WebhookPaused { site, endpoint } => {
            let s = store.get_site(*site).map_err(gone("the site was deleted"))?;
            let p = store.site(*site).webhook(*endpoint).map_err(gone("the webhook was deleted"))?;
            let t = texts(s.mail.language);
            let since = at(p.failing_since.unwrap_or(p.created_at));
            let mut b = base(s.mail.language, fill(t.webhook_subject, &[("site", &s.name)]), cfg);
            b.intro.push(fill(t.webhook_intro, &[("since", &since)]));
            b.fields.push((t.webhook_address.into(), p.url.clone()));
            let last = store.site(*site).deliveries(p.id, None, 1)?.pop();
            if let Some(error) = last.and_then(|d| d.last_error.or(d.last_code.map(|c| format!("HTTP {c}")))) {
                b.fields.push((t.webhook_error.into(), error));
            }
            b.action = Some((t.webhook_action.into(), link(format!("/admin/sites/{}/webhooks/{}", site.0, p.id))));
            render(site_recipients(store, &s)?, None, b)
        }
        MailKind::Transcript { site, chat, .. } => {
            let scope = store.site(*site);
            let c = scope.chat(*chat).map_err(gone("the chat was deleted"))?;
            if c.info.email.is_empty() {
                return Err(ComposeError::NoRecipient("the chat has no email address"));
            }
            let lang = scope.campaign(c.campaign).map(|k| k.language).unwrap_or_default();
            let t = texts(lang);
            let events = scope.chat_events(*chat, 0, 10_000)?;
            let org = cfg.mail.as_ref().map(|m| m.from_name.clone()).unwrap_or_default();
            let mut b = base(lang, fill(t.transcript_subject, &[("org", &org)]), cfg);
            b.intro.push(fill(t.transcript_intro, &[("date", &at(c.created_at))]));
            b.lines = conversation(&events, t.transcript_you, false);
            b.outro.push(t.transcript_outro.into());
            let to = vec![(Some(c.info.name.clone()).filter(|n| !n.is_empty()), c.info.email.clone())];
            render(to, None, b)
        }
        MailKind::Invitation { site, user, token } | MailKind::PasswordReset { site, user, token } => {
            let invitation = matches!(kind, MailKind::Invitation { .. });
            let token = token.as_deref().ok_or(ComposeError::Gone("the link is no longer known; make a new one"))?;
            let u = store.get_user(*site, *user).map_err(gone("the person was deleted"))?;
            let s = if site.0 == 0 { None } else { Some(store.get_site(*site).map_err(gone("the site was deleted"))?) };
            let lang = s.as_ref().map(|s| s.mail.language).unwrap_or_default();
            let t = texts(lang);
            let site_name = s.as_ref().map(|s| s.name.clone()).unwrap_or_default();
            let role = if u.role == Role::Agent { t.agent } else { t.admin };
            let values =
                [("site", site_name.as_str()), ("name", u.name.as_str()), ("role", role), ("email", u.email.as_str())];
            let b = if invitation {
                let mut b = base(lang, fill(t.invitation_subject, &values), cfg);
                b.intro.push(fill(t.invitation_intro, &values));
                b.action = Some((t.invitation_action.into(), link(format!("/invite/{token}"))));
                b.outro.push(fill(t.invitation_outro, &values));
                b
            } else {
                let mut b = base(lang, t.reset_subject.into(), cfg);
                b.intro.push(fill(t.reset_intro, &values));
                b.action = Some((t.reset_action.into(), link(format!("/reset/{token}"))));
                b.outro.push(t.reset_outro.into());
                b
            };
            render(vec![(Some(u.name), u.email)], None, b)
        }
    }
}

/// The test mail (`parley mail test`, the owner's mail page): reads nothing from the store.
pub fn compose_test(cfg: &Config, to: &str) -> Result<Composed, ComposeError> {
    let server = cfg.mail.as_ref().map(|m| m.server()).unwrap_or_default();
    let mut b = base(Lang::En, "Parley test mail".into(), cfg);
    b.intro.push(format!("This mail shows that Parley can send mail through {server}."));
    b.intro.push(format!("Sent at {}.", at(super::now_ms())));
    render(vec![(None, to.to_string())], None, b)
}
