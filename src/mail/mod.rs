//! Mail: the SMTP transport (lettre, over rustls), composing the outbox's mails, and the sender
//! task that delivers them. The only importer of lettre.
//!
//! Delivery: the sender takes the pending mail due first, composes it from the records it names,
//! sends it, and stores the outcome before it takes the next one. A mail the server accepted is
//! marked sent before anything else is sent, so a crash can repeat at most the one mail in
//! flight, and that one carries the same `Message-ID`. Failed attempts back off (30 s, doubling,
//! at most an hour) for up to a day; a permanent refusal (5xx) fails at once.

pub mod compose;
mod texts;

use crate::config::{Config, MailConfig, MailSecurity};
use crate::domain::Millis;
use crate::domain::mail::Mail;
use crate::store::Store;
use compose::Composed;
use lettre::message::header::ContentType;
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

pub use crate::clock::now_ms;

/// Why a mail was not sent, as an operator reads it.
#[derive(Debug)]
pub struct SendError {
    pub message: String,
    /// The server refused for good (5xx), or the mail cannot be built: retrying will not help.
    pub permanent: bool,
}

impl std::fmt::Display for SendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// The configured SMTP server.
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    /// The domain of the `Message-ID`s (the sender address's).
    domain: String,
}

impl Mailer {
    pub fn new(cfg: &MailConfig) -> Result<Mailer, String> {
        let tls = || -> Result<TlsParameters, String> {
            let mut b = TlsParameters::builder(cfg.host.clone());
            if let Some(path) = &cfg.ca_file {
                let pem = std::fs::read(path).map_err(|e| format!("[mail] ca_file {}: {e}", path.display()))?;
                let cert =
                    Certificate::from_pem(&pem).map_err(|e| format!("[mail] ca_file {}: {e}", path.display()))?;
                b = b.add_root_certificate(cert);
            }
            b.build_rustls().map_err(|e| format!("TLS for {}: {e}", cfg.host))
        };
        let security = match cfg.security {
            MailSecurity::Tls => Tls::Wrapper(tls()?),
            MailSecurity::StartTls => Tls::Required(tls()?),
            MailSecurity::Plain => Tls::None,
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(cfg.host.clone())
            .port(cfg.port)
            .tls(security)
            .timeout(Some(Duration::from_secs(cfg.timeout_secs)));
        if let (Some(user), Some(password)) = (&cfg.username, &cfg.password) {
            builder = builder.credentials(Credentials::new(user.clone(), password.0.clone()));
        }
        let from = mailbox(Some(cfg.from_name.clone()), &cfg.from).map_err(|e| format!("[mail] from: {e}"))?;
        let domain = cfg.from.rsplit_once('@').map(|(_, d)| d.to_string()).unwrap_or_else(|| "parley.invalid".into());
        Ok(Mailer { transport: builder.build(), from, domain })
    }

    /// Build the message of a composed mail. The `Message-ID` is the outbox id's, so a mail sent
    /// again after a crash is recognisably the same mail.
    pub fn message(&self, id: u64, created_at: Millis, c: &Composed) -> Result<Message, SendError> {
        let bad = |e: String| SendError { message: e, permanent: true };
        let mut b = Message::builder()
            .from(self.from.clone())
            .subject(c.subject.clone())
            .message_id(Some(format!("<parley.{id}.{created_at}@{}>", self.domain)));
        for (name, addr) in &c.to {
            b = b.to(mailbox(name.clone(), addr).map_err(bad)?);
        }
        if let Some((name, addr)) = &c.reply_to {
            // A reply-to that does not parse is left out rather than failing the mail.
            if let Ok(m) = mailbox(name.clone(), addr) {
                b = b.reply_to(m);
            }
        }
        let body = MultiPart::alternative()
            .singlepart(SinglePart::builder().header(ContentType::TEXT_PLAIN).body(c.text.clone()))
            .singlepart(SinglePart::builder().header(ContentType::TEXT_HTML).body(c.html.clone()));
        b.multipart(body).map_err(|e| bad(e.to_string()))
    }

    /// Send one message; `Ok` holds the server's answer.
    pub async fn send(&self, msg: Message) -> Result<String, SendError> {
        match self.transport.send(msg).await {
            Ok(r) => Ok(format!("{} {}", r.code(), r.message().collect::<Vec<_>>().join(" "))),
            Err(e) => Err(SendError { message: describe(&e), permanent: e.is_permanent() }),
        }
    }
}

/// An SMTP error with its causes (lettre's own text stops at the first).
fn describe(e: &lettre::transport::smtp::Error) -> String {
    let mut s = e.to_string();
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cause = c.source();
    }
    s
}

/// A mailbox from a name (any text: it is encoded, never spliced into a header) and an address.
fn mailbox(name: Option<String>, address: &str) -> Result<Mailbox, String> {
    let addr = address.parse().map_err(|e| format!("{address:?} is not an email address ({e})"))?;
    let name = name.map(|n| n.chars().filter(|c| !c.is_control()).collect::<String>()).filter(|n| !n.trim().is_empty());
    Ok(Mailbox::new(name, addr))
}

/// How often the sender looks at the outbox when nothing woke it.
const IDLE_POLL: Duration = Duration::from_secs(1);

/// Deliver the outbox until `stop`.
pub async fn run_sender(
    store: Store,
    cfg: Arc<Config>,
    mailer: Arc<Mailer>,
    wake: Arc<tokio::sync::Notify>,
    stop: CancellationToken,
) {
    loop {
        let next = match store.next_mail() {
            Ok(n) => n,
            Err(e) => {
                tracing::error!(error = %e, "cannot read the mail outbox");
                None
            }
        };
        let wait = match &next {
            Some(m) => Duration::from_millis(m.next_at.saturating_sub(now_ms())),
            None => IDLE_POLL,
        };
        if let (Some(mail), true) = (next, wait.is_zero()) {
            let mail = attempt(&store, &cfg, &mailer, mail).await;
            if let Err(e) = store.save_mail(mail).await {
                // The outcome could not be stored: stop rather than send it twice.
                tracing::error!(error = %e, "cannot record a mail's delivery; the mail sender stops");
                return;
            }
            continue;
        }
        tokio::select! {
            () = stop.cancelled() => return,
            () = wake.notified() => {}
            () = tokio::time::sleep(wait.min(IDLE_POLL)) => {}
        }
    }
}

/// One attempt at `mail`: composed, sent, and the outcome written into it.
async fn attempt(store: &Store, cfg: &Config, mailer: &Mailer, mut mail: Mail) -> Mail {
    let now = now_ms();
    let composed = match compose::compose(store, cfg, &mail.kind) {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(mail = mail.id, kind = mail.kind.label(), error = %e, "a mail cannot be composed");
            mail.failed(e.to_string(), e.is_permanent(), now, first_retry_ms(cfg));
            return mail;
        }
    };
    mail.to = composed.to.iter().map(|(_, a)| a.clone()).collect();
    mail.subject = composed.subject.clone();
    let sent = match mailer.message(mail.id, mail.created_at, &composed) {
        Ok(msg) => mailer.send(msg).await,
        Err(e) => Err(e),
    };
    match sent {
        Ok(answer) => {
            tracing::info!(mail = mail.id, kind = mail.kind.label(), answer = %answer, "mail sent");
            mail.sent(now_ms());
        }
        Err(e) => {
            tracing::warn!(mail = mail.id, kind = mail.kind.label(), error = %e, permanent = e.permanent, "mail not sent");
            mail.failed(e.message, e.permanent, now_ms(), first_retry_ms(cfg));
        }
    }
    mail
}

fn first_retry_ms(cfg: &Config) -> Millis {
    cfg.mail.as_ref().map(|m| m.retry_secs * 1000).unwrap_or(30_000)
}

/// Send a test mail at once (the command line's `parley mail test`, the owner's mail page),
/// returning the server's answer.
pub async fn send_test(cfg: &Config, to: &str) -> Result<String, SendError> {
    let mail_cfg = cfg
        .mail
        .as_ref()
        .ok_or(SendError { message: "no [mail] section in the configuration".into(), permanent: true })?;
    let mailer = Mailer::new(mail_cfg).map_err(|e| SendError { message: e, permanent: true })?;
    let to = crate::domain::validate::email(to).map_err(|e| SendError { message: e, permanent: true })?;
    // Composing a test mail reads nothing from the store.
    let composed =
        compose::compose_test(cfg, &to).map_err(|e| SendError { message: e.to_string(), permanent: true })?;
    let msg = mailer.message(0, now_ms(), &composed)?;
    mailer.send(msg).await
}
