//! What every handler can reach: the configuration, the store, the server secret, the sign-in
//! throttle, the one-time setup token and the metrics. Cloned per request (all `Arc`s).

use crate::config::Config;
use crate::domain::throttle::Throttle;
use crate::realtime::Realtime;
use crate::store::Store;
use crate::web::metrics::Metrics;
use std::sync::{Arc, Mutex};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub store: Store,
    /// 32 random bytes generated at first start (`secret.key`, mode 0600): keys CSRF tokens.
    pub secret: Arc<[u8; 32]>,
    pub throttle: Arc<Mutex<Throttle>>,
    /// While no owner exists: the token of the one-time setup URL.
    pub setup_token: Arc<Mutex<Option<String>>>,
    pub metrics: Arc<Metrics>,
    pub realtime: Realtime,
    /// Fires when the server shuts down: every socket loop watches it.
    pub shutdown: CancellationToken,
    /// Every socket task, so shutdown can wait for them to close.
    pub sockets: TaskTracker,
    /// The SMTP server, when `[mail]` is configured.
    pub mailer: Option<Arc<crate::mail::Mailer>>,
    /// Wakes the mail sender when a mail is queued.
    pub mail_wake: Arc<tokio::sync::Notify>,
    /// Uploads per visitor and agent per minute.
    pub upload_rate: Arc<crate::web::http::PerMinute>,
    /// The pace of all uploads' store writes.
    pub upload_pace: Arc<crate::web::files::UploadPace>,
    /// API requests per token per minute.
    pub token_rate: Arc<crate::web::http::PerMinute>,
    /// When each API token's last use was last written (Unix ms), to write it once a minute.
    pub token_uses: Arc<std::sync::Mutex<std::collections::HashMap<u64, u64>>>,
}

impl AppState {
    /// A mail was queued: deliver it now rather than at the sender's next look.
    pub fn mail_queued(&self) {
        self.mail_wake.notify_one();
    }
}

impl AppState {
    pub fn https(&self) -> bool {
        self.config.serves_tls() || self.config.public_url.starts_with("https://")
    }
}

pub use crate::clock::now_ms;
pub use crate::domain::hex;

/// `n` random bytes as lower-case hex (tokens for sessions, CSRF cookies, setup links).
pub fn random_hex(n: usize) -> String {
    let mut buf = vec![0u8; n];
    getrandom::fill(&mut buf).expect("the operating system's random source works");
    hex(&buf)
}
