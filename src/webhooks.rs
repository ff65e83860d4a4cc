//! The webhook sender: takes the deliveries that are due (written by the store with their
//! events), signs each body, posts it to its endpoint and records the outcome; and the rules
//! for an endpoint's address. Requests never reach private, loopback or link-local addresses
//! (checked on the addresses a name resolves to, the ones then connected to) unless
//! `[webhooks] allow_private_targets` is set; redirects are not followed; every request has
//! the `[webhooks] timeout_secs` bound.

use crate::clock::now_ms;
use crate::config::{Config, WebhooksConfig};
use crate::domain::Millis;
use crate::domain::webhooks::{Delivery, Endpoint, check_url, reachable};
use crate::store::Store;
use crate::store::webhooks::{Attempt, Policy};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How often the sender looks for deliveries when none is due sooner.
const POLL: Duration = Duration::from_millis(500);
/// Deliveries posted at once.
const AT_ONCE: usize = 8;
/// The most of a receiver's answer kept in the log.
const ERROR_CHARS: usize = 200;

/// `v1=` and the hex HMAC-SHA256 of `{timestamp}.{body}` under the endpoint's secret.
pub fn signature(secret: &str, timestamp: u64, body: &str) -> String {
    let mut m = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    m.update(timestamp.to_string().as_bytes());
    m.update(b".");
    m.update(body.as_bytes());
    format!("v1={}", crate::domain::hex(&m.finalize().into_bytes()))
}

/// Name resolution that keeps only the addresses a webhook may reach: the request connects to
/// exactly what was checked, so a name cannot change its answer between check and use.
struct Guarded {
    allow_private: bool,
}

impl reqwest::dns::Resolve for Guarded {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allow = self.allow_private;
        let host = name.as_str().to_string();
        Box::pin(async move {
            let all: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let ok: Vec<SocketAddr> = all.iter().copied().filter(|a| reachable(a.ip(), allow)).collect();
            if ok.is_empty() {
                let why = if all.is_empty() { "no address" } else { "only private, loopback or link-local addresses" };
                return Err(format!("{host} has {why}: refused").into());
            }
            Ok(Box::new(ok.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// The HTTP client of the sender.
pub fn client(cfg: &WebhooksConfig) -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .dns_resolver(Arc::new(Guarded { allow_private: cfg.allow_private_targets }))
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .timeout(Duration::from_secs(cfg.timeout_secs))
        .connect_timeout(Duration::from_secs(cfg.timeout_secs))
        .user_agent(concat!("Parley-Webhooks/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| format!("cannot make the webhook client: {e}"))
}

/// Post one delivery; how it went.
async fn post(http: &reqwest::Client, cfg: &WebhooksConfig, d: &Delivery, p: &Endpoint) -> Attempt {
    let started = now_ms();
    // An address stored when private targets were allowed is refused once they are not.
    if let Err(e) = check_url(&p.url, cfg.allow_private_targets) {
        return Attempt { at: started, ok: false, code: None, error: Some(e) };
    }
    let timestamp = started / 1000;
    let request = http
        .post(&p.url)
        .header("content-type", "application/json")
        .header("parley-webhook-id", &d.event_id)
        .header("parley-webhook-timestamp", timestamp.to_string())
        .header("parley-webhook-signature", signature(&p.secret, timestamp, &d.body))
        .body(d.body.clone());
    match request.send().await {
        Ok(resp) => {
            let status = resp.status();
            let ok = status.is_success();
            let error = if ok {
                None
            } else {
                let text = resp.text().await.unwrap_or_default();
                let short: String = text.chars().take(ERROR_CHARS).collect();
                Some(format!(
                    "HTTP {}{}",
                    status.as_u16(),
                    if short.is_empty() { String::new() } else { format!(": {short}") }
                ))
            };
            Attempt { at: now_ms(), ok, code: Some(status.as_u16()), error }
        }
        Err(e) => {
            let why = if e.is_timeout() {
                format!("no answer within {} s", cfg.timeout_secs)
            } else {
                // The chain says what failed (refused address, connection refused, TLS).
                let mut why = e.to_string();
                let mut source = std::error::Error::source(&e);
                while let Some(s) = source {
                    why = format!("{why}: {s}");
                    source = s.source();
                }
                why
            };
            Attempt { at: now_ms(), ok: false, code: None, error: Some(why) }
        }
    }
}

/// Deliver what is due until `stop`: a few at once, each outcome stored before the delivery
/// is taken again.
pub async fn run_sender(store: Store, cfg: Arc<Config>, mail_wake: Arc<tokio::sync::Notify>, stop: CancellationToken) {
    let hooks = &cfg.webhooks;
    let http = match client(hooks) {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "webhooks cannot be sent");
            return;
        }
    };
    let policy =
        Policy { retry_ms: hooks.retry_ms, give_up_ms: hooks.give_up_ms, pause_after_ms: hooks.pause_after_ms };
    loop {
        let now = now_ms();
        let (due, next) = match store.due_deliveries(now, AT_ONCE) {
            Ok(d) => d,
            Err(e) => {
                tracing::error!(error = %e, "cannot read the webhook outbox");
                (Vec::new(), None)
            }
        };
        if due.is_empty() {
            let wait = next.map_or(POLL, |at| Duration::from_millis(at.saturating_sub(now)).min(POLL));
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(wait) => {}
            }
            continue;
        }
        let attempts = due.iter().map(|(d, p)| post(&http, hooks, d, p));
        let outcomes = tokio::select! {
            () = stop.cancelled() => return,
            o = futures_util::future::join_all(attempts) => o,
        };
        for ((d, p), attempt) in due.into_iter().zip(outcomes) {
            log_attempt(&d, &p, &attempt);
            match store.finish_delivery(d.site, d.id, attempt, policy).await {
                Ok(Some(paused)) => {
                    tracing::warn!(site = %paused.site, endpoint = paused.id, url = %paused.url, "a webhook endpoint kept failing: paused");
                    mail_wake.notify_one();
                }
                Ok(None) => {}
                Err(crate::store::StoreError::NotFound) => {}
                Err(e) => {
                    // The outcome could not be stored: stop rather than post it again and again.
                    tracing::error!(error = %e, "cannot record a webhook delivery; the webhook sender stops");
                    return;
                }
            }
        }
    }
}

fn log_attempt(d: &Delivery, p: &Endpoint, a: &Attempt) {
    if a.ok {
        tracing::debug!(endpoint = p.id, event = d.event.code(), id = %d.event_id, "webhook delivered");
    } else {
        tracing::info!(
            endpoint = p.id,
            event = d.event.code(),
            id = %d.event_id,
            error = a.error.as_deref().unwrap_or_default(),
            "webhook not delivered"
        );
    }
}

/// When `at` is, for the pages: "2026-11-22 14:05 UTC", or "—".
pub fn when(at: Option<Millis>) -> String {
    at.map(crate::domain::utc).unwrap_or_else(|| "—".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_covers_timestamp_and_body() {
        let s = signature("whsec_test", 1_700_000_000, "{\"a\":1}");
        assert!(s.starts_with("v1=") && s.len() == 3 + 64, "{s}");
        assert_ne!(s, signature("whsec_test", 1_700_000_001, "{\"a\":1}"));
        assert_ne!(s, signature("whsec_test", 1_700_000_000, "{\"a\":2}"));
        assert_ne!(s, signature("whsec_other", 1_700_000_000, "{\"a\":1}"));
    }

    /// The client itself (not only the form) refuses a name that resolves to loopback: the
    /// listener there is never reached.
    #[tokio::test]
    async fn the_client_does_not_connect_to_a_name_resolving_to_loopback() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let cfg = WebhooksConfig {
            allow_private_targets: false,
            timeout_secs: 2,
            pause_after_ms: 1,
            give_up_ms: 1,
            keep_days: 1,
            retry_ms: 1,
        };
        let err =
            client(&cfg).expect("client").post(format!("http://localhost:{port}/")).send().await.expect_err("refused");
        let mut why = err.to_string();
        let mut source = std::error::Error::source(&err);
        while let Some(s) = source {
            why = format!("{why}: {s}");
            source = s.source();
        }
        assert!(why.contains("only private, loopback or link-local addresses"), "{why}");
        let accepted = tokio::time::timeout(Duration::from_millis(200), listener.accept()).await;
        assert!(accepted.is_err(), "nothing connected");
        let allowed = WebhooksConfig { allow_private_targets: true, ..cfg };
        let send = client(&allowed).expect("client").post(format!("http://localhost:{port}/")).send();
        let (r, a) = tokio::join!(tokio::time::timeout(Duration::from_millis(500), send), listener.accept());
        assert!(a.is_ok() && r.is_err(), "with allow_private_targets the receiver is reached");
    }
}
