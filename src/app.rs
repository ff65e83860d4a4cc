//! The composition root: open the store (migrating it), load the server secret, announce the
//! setup URL on a fresh install, build the routes, serve until the shutdown token fires, then
//! let the store writer finish what is in flight.

use crate::config::{Config, TlsFiles};
use crate::domain::switchboard::Config as CoreConfig;
use crate::domain::throttle::{Throttle, ThrottlePolicy};
use crate::realtime::Realtime;
use crate::store::{Store, StoreError};
use crate::web::metrics::Metrics;
use crate::web::server::Limits;
use crate::web::state::{AppState, now_ms, random_hex};
use poem::listener::{Acceptor, AcceptorExt, RustlsCertificate, RustlsConfig, TcpAcceptor};
use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Io(String),
}

/// Open the store off the async threads (opening may run migrations).
pub async fn open_store(data_dir: &Path, cache_bytes: usize) -> Result<Store, AppError> {
    let dir = data_dir.to_path_buf();
    tokio::task::spawn_blocking(move || Store::open_with_cache(&dir, cache_bytes))
        .await
        .map_err(|e| AppError::Io(e.to_string()))?
        .map_err(AppError::from)
}

/// The server secret (`secret.key` in the data dir, 32 random bytes, mode 0600), created on
/// first start.
pub fn load_secret(data_dir: &Path) -> Result<[u8; 32], AppError> {
    use std::os::unix::fs::OpenOptionsExt;
    let path = data_dir.join("secret.key");
    match std::fs::read(&path) {
        Ok(bytes) => bytes.try_into().map_err(|_| {
            AppError::Io(format!(
                "{} is damaged (not 32 bytes): delete it to make a new one (everyone signs in again)",
                path.display()
            ))
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut secret = [0u8; 32];
            getrandom::fill(&mut secret).map_err(|e| AppError::Io(format!("no randomness: {e}")))?;
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&path)
                .map_err(|e| AppError::Io(format!("cannot create {}: {e}", path.display())))?;
            f.write_all(&secret)
                .and_then(|_| f.sync_all())
                .map_err(|e| AppError::Io(format!("cannot write {}: {e}", path.display())))?;
            Ok(secret)
        }
        Err(e) => Err(AppError::Io(format!("cannot read {}: {e}", path.display()))),
    }
}

/// Read the certificate and key files into a rustls configuration, checking they are PEM.
fn load_tls(files: &TlsFiles) -> Result<RustlsConfig, AppError> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let read = |p: &Path| std::fs::read(p).map_err(|e| AppError::Io(format!("cannot read {}: {e}", p.display())));
    let (cert, key) = (read(&files.cert)?, read(&files.key)?);
    if CertificateDer::pem_slice_iter(&cert).next().is_none_or(|c| c.is_err())
        || PrivateKeyDer::from_pem_slice(&key).is_err()
    {
        return Err(AppError::Io(format!(
            "{} or {} holds no PEM certificate or key",
            files.cert.display(),
            files.key.display()
        )));
    }
    Ok(RustlsConfig::new().fallback(RustlsCertificate::new().cert(cert).key(key)))
}

/// The TLS configurations to serve: the files now, then again after each SIGHUP (a broken
/// new file is logged and the previous certificate stays).
fn tls_configs(files: TlsFiles) -> Result<impl futures_util::Stream<Item = RustlsConfig> + Send + Unpin, AppError> {
    use tokio::signal::unix::{SignalKind, signal};
    let first = load_tls(&files)?;
    let hup = signal(SignalKind::hangup()).map_err(|e| AppError::Io(format!("cannot watch SIGHUP: {e}")))?;
    let reloads = futures_util::stream::unfold((hup, files), |(mut hup, files)| async move {
        loop {
            hup.recv().await?;
            match load_tls(&files) {
                Ok(cfg) => {
                    tracing::info!("SIGHUP: TLS certificate reloaded");
                    return Some((cfg, (hup, files)));
                }
                Err(e) => {
                    tracing::error!(error = %e, "SIGHUP: the new TLS files are not usable; keeping the current certificate")
                }
            }
        }
    });
    Ok(Box::pin(futures_util::stream::once(async move { first }).chain(reloads)))
}

/// Run Parley on `listener` until `shutdown` is cancelled.
pub async fn serve(
    config: Config,
    listener: tokio::net::TcpListener,
    shutdown: CancellationToken,
) -> Result<(), AppError> {
    let addr = listener.local_addr().map_err(|e| AppError::Io(e.to_string()))?;
    let config = Arc::new(config.bound_to(addr));
    let store = open_store(&config.data_dir, config.cache_bytes).await?;
    let secret = load_secret(&config.data_dir)?;
    let setup_token = if store.owner_exists()? {
        None
    } else {
        let token = random_hex(16);
        tracing::warn!(
            "No owner account yet. Create it in a browser at {}/setup/{token} (this link works once), or stop the server and run `parley owner create --email EMAIL`.",
            config.public_url
        );
        Some(token)
    };
    let core = CoreConfig {
        grace_ms: config.chat.agent_grace_ms,
        max_queue_wait_ms: config.chat.max_queue_wait_ms,
        max_message_bytes: config.chat.max_message_bytes,
    };
    // The live side stops at the shutdown, or at once when the store fails; the HTTP server
    // then goes on for `FAILED_GRACE` so that /readyz can say why.
    let live = shutdown.child_token();
    let failure_watch = tokio::spawn(stop_when_the_store_fails(store.clone(), live.clone(), shutdown.clone()));
    let (realtime, switchboard) = Realtime::start(store.clone(), core, live.clone())?;
    let sockets = TaskTracker::new();
    let mailer = match &config.mail {
        Some(m) => {
            let mailer = crate::mail::Mailer::new(m).map_err(AppError::Io)?;
            store.enable_mail();
            tracing::info!(server = %m.server(), from = %m.from, "mail is sent through {}", m.server());
            Some(Arc::new(mailer))
        }
        None => None,
    };
    let mail_wake = Arc::new(tokio::sync::Notify::new());
    let state = AppState {
        config: config.clone(),
        store: store.clone(),
        secret: Arc::new(secret),
        throttle: Arc::new(Mutex::new(Throttle::new(ThrottlePolicy {
            free_failures: config.login_free_failures,
            ..Default::default()
        }))),
        setup_token: Arc::new(Mutex::new(setup_token)),
        metrics: Arc::new(Metrics::default()),
        realtime,
        shutdown: live.clone(),
        sockets: sockets.clone(),
        mailer: mailer.clone(),
        mail_wake: mail_wake.clone(),
        upload_rate: Default::default(),
        upload_pace: Default::default(),
        token_rate: Default::default(),
        token_uses: Default::default(),
    };
    let mail_sender = mailer
        .map(|m| tokio::spawn(crate::mail::run_sender(store.clone(), config.clone(), m, mail_wake, live.clone())));
    let webhook_sender =
        tokio::spawn(crate::webhooks::run_sender(store.clone(), config.clone(), state.mail_wake.clone(), live.clone()));
    let housekeeping = tokio::spawn(housekeeping(state.clone(), shutdown.clone()));
    let metrics = state.metrics.clone();
    let app = crate::web::routes(state);
    let limits = connection_limits(&config);
    let acceptor = NoDelay(TcpAcceptor::from_tokio(listener).map_err(|e| AppError::Io(e.to_string()))?);
    let scheme = if config.serves_tls() { "https" } else { "http" };
    tracing::info!(version = env!("CARGO_PKG_VERSION"), "Parley listening on {scheme}://{addr}");
    let result = match config.tls.clone() {
        #[cfg(feature = "acme")]
        None if config.acme.is_some() => {
            run_acme(&config, listener_addr(&acceptor)?, acceptor, app, limits, metrics, shutdown.clone()).await
        }
        Some(files) => {
            let stream = tls_configs(files)?;
            let acceptor = ConfigFirst { inner: acceptor, started: false }.rustls(stream);
            serve_http(acceptor, app, limits, metrics, shutdown.clone()).await;
            Ok(())
        }
        None => {
            serve_http(acceptor, app, limits, metrics, shutdown.clone()).await;
            Ok(())
        }
    };
    shutdown.cancel();
    // The HTTP server's graceful shutdown does not wait for WebSockets: they watch `shutdown` and close
    // themselves; give them a moment, then stop the switchboard and drain the store writer.
    sockets.close();
    if tokio::time::timeout(Duration::from_secs(5), sockets.wait()).await.is_err() {
        tracing::warn!("some sockets did not close within 5 s");
    }
    let _ = switchboard.await;
    let _ = housekeeping.await;
    let _ = failure_watch.await;
    if let Some(sender) = mail_sender {
        let _ = sender.await;
    }
    let _ = webhook_sender.await;
    store.close().await;
    if let Some(e) = store.failure() {
        tracing::error!(error = %e, "Parley stopped: the store failed");
        return Err(AppError::Store(e));
    }
    tracing::info!("Parley stopped");
    result
}

/// How long the HTTP server goes on after the store failed (sockets closed, /readyz saying
/// why), before it stops.
const FAILED_GRACE: Duration = Duration::from_secs(5);

/// When the store fails: stop the live side at once, then the whole server after
/// `FAILED_GRACE`.
async fn stop_when_the_store_fails(store: Store, live: CancellationToken, shutdown: CancellationToken) {
    let failed = store.failed();
    tokio::select! {
        _ = failed.cancelled() => {}
        _ = shutdown.cancelled() => return,
    }
    let cause = store.failure().map(|e| e.to_string()).unwrap_or_default();
    tracing::error!(
        cause = %cause,
        "the store takes no more writes: live chat stops now, the server in {} s (/readyz says why meanwhile)",
        FAILED_GRACE.as_secs()
    );
    live.cancel();
    tokio::select! {
        _ = tokio::time::sleep(FAILED_GRACE) => shutdown.cancel(),
        _ = shutdown.cancelled() => {}
    }
}

use futures_util::StreamExt;

/// How long requests in progress may finish after the shutdown began.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

async fn serve_http(
    acceptor: impl Acceptor + 'static,
    app: impl poem::Endpoint + 'static,
    limits: Limits,
    metrics: Arc<Metrics>,
    shutdown: CancellationToken,
) {
    crate::web::server::serve(acceptor, app, limits, metrics, shutdown, SHUTDOWN_GRACE).await
}

/// The connection limits of the configuration, with `max_connections` lowered to what the
/// open-file limit allows (raised first as far as the system lets this process).
fn connection_limits(config: &Config) -> Limits {
    let c = &config.connections;
    let secs = Duration::from_secs;
    let wanted = c.max_connections;
    // Besides its connections the server holds a few dozen files (the store, logs, backups).
    let spare = 256;
    let max_connections = match raise_open_files((wanted + spare) as u64) {
        Some(n) if (n as usize) < wanted + spare => {
            let fit = (n as usize).saturating_sub(spare).max(16);
            tracing::warn!(
                open_files = n,
                max_connections = fit,
                "[limits] max_connections = {wanted} does not fit the open-file limit ({n}); serving at most {fit} connections (raise LimitNOFILE or ulimit -n)"
            );
            fit
        }
        _ => wanted,
    };
    Limits {
        max_connections,
        header_timeout: secs(c.header_timeout_secs),
        body_timeout: secs(c.body_timeout_secs),
        send_timeout: secs(c.send_timeout_secs),
    }
}

/// Raise the soft open-file limit towards `wanted` (at most the hard limit); the limit now.
fn raise_open_files(wanted: u64) -> Option<u64> {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let now = getrlimit(Resource::Nofile);
    let current = now.current?;
    if current >= wanted {
        return Some(current);
    }
    let target = now.maximum.map_or(wanted, |max| max.min(wanted));
    match setrlimit(Resource::Nofile, Rlimit { current: Some(target), maximum: now.maximum }) {
        Ok(()) => Some(target),
        Err(e) => {
            tracing::debug!(error = %e, "cannot raise the open-file limit");
            Some(current)
        }
    }
}

#[cfg(feature = "acme")]
fn listener_addr(acceptor: &NoDelay) -> Result<std::net::SocketAddr, AppError> {
    acceptor
        .local_addr()
        .first()
        .and_then(|a| a.as_socket_addr().copied())
        .ok_or_else(|| AppError::Io("the listener has no address".into()))
}

/// Serve HTTPS with certificates from an ACME CA (TLS-ALPN-01 on this port), cached in the
/// data dir. poem offers ACME on listeners, so the address is bound again through poem.
#[cfg(feature = "acme")]
async fn run_acme(
    config: &Config,
    addr: std::net::SocketAddr,
    acceptor: NoDelay,
    app: impl poem::Endpoint + 'static,
    limits: Limits,
    metrics: Arc<Metrics>,
    shutdown: CancellationToken,
) -> Result<(), AppError> {
    use poem::listener::acme::{AutoCert, LETS_ENCRYPT_PRODUCTION, LETS_ENCRYPT_STAGING};
    use poem::listener::{Listener, TcpListener};
    let Some(acme) = &config.acme else { return Err(AppError::Io("no [tls] acme_domains".into())) };
    let mut builder = AutoCert::builder()
        .directory_url(if acme.staging { LETS_ENCRYPT_STAGING } else { LETS_ENCRYPT_PRODUCTION })
        .cache_path(config.data_dir.join("acme"));
    for d in &acme.domains {
        builder = builder.domain(d.clone());
    }
    if let Some(contact) = &acme.contact {
        builder = builder.contact(format!("mailto:{contact}"));
    }
    let auto = builder.build().map_err(|e| AppError::Io(format!("ACME: {e}")))?;
    drop(acceptor);
    let acceptor =
        TcpListener::bind(addr).acme(auto).into_acceptor().await.map_err(|e| AppError::Io(format!("ACME: {e}")))?;
    serve_http(acceptor, app, limits, metrics, shutdown).await;
    Ok(())
}

/// Sets TCP_NODELAY on every accepted connection: a chat message answers its sender with two
/// small frames (its event, then its ack), and Nagle's algorithm with the peer's delayed ACK
/// would hold the second for ~40 ms.
struct NoDelay(TcpAcceptor);

impl Acceptor for NoDelay {
    type Io = <TcpAcceptor as Acceptor>::Io;

    fn local_addr(&self) -> Vec<poem::web::LocalAddr> {
        self.0.local_addr()
    }

    async fn accept(
        &mut self,
    ) -> std::io::Result<(Self::Io, poem::web::LocalAddr, poem::web::RemoteAddr, poem::http::uri::Scheme)> {
        let (io, local, remote, scheme) = self.0.accept().await?;
        if let Err(e) = io.set_nodelay(true) {
            tracing::debug!(error = %e, "cannot set TCP_NODELAY");
        }
        Ok((io, local, remote, scheme))
    }
}

/// poem's rustls acceptor races "load the TLS config" against "accept a connection"; a
/// connection already waiting at start could win and be reset for want of a config. This
/// wrapper makes the very first accept wait one scheduler turn, so the config always loads first.
struct ConfigFirst<A> {
    inner: A,
    started: bool,
}

impl<A: Acceptor> Acceptor for ConfigFirst<A> {
    type Io = A::Io;

    fn local_addr(&self) -> Vec<poem::web::LocalAddr> {
        self.inner.local_addr()
    }

    async fn accept(
        &mut self,
    ) -> std::io::Result<(Self::Io, poem::web::LocalAddr, poem::web::RemoteAddr, poem::http::uri::Scheme)> {
        if !self.started {
            self.started = true;
            tokio::task::yield_now().await;
        }
        self.inner.accept().await
    }
}

/// Periodic clean-up: expired sessions, old sign-in failures.
/// Periodic work: every hour expired sessions and old sign-in failures go; once a day, at
/// the configured time, the daily backup (with pruning) and transcript retention run.
async fn housekeeping(state: AppState, shutdown: CancellationToken) {
    let mut tick = tokio::time::interval(Duration::from_secs(60));
    let mut minutes = 0u64;
    let mut last_daily_day = now_ms() / DAY_MS;
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        if minutes % 60 == 0 {
            hourly(&state).await;
        }
        minutes += 1;
        let now = now_ms();
        let (day, minute_of_day) = (now / DAY_MS, (now % DAY_MS / 60_000) as u32);
        if day != last_daily_day && minute_of_day >= state.config.backup.at_minute {
            last_daily_day = day;
            daily(&state, now).await;
        }
    }
}

const DAY_MS: u64 = 86_400_000;

async fn hourly(state: &AppState) {
    match state.store.purge_sessions(now_ms()).await {
        Ok(n) if n > 0 => tracing::info!(removed = n, "expired sessions removed"),
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "session clean-up failed"),
    }
    if let Ok(mut t) = state.throttle.lock() {
        t.forget_old(now_ms());
    }
    let now = now_ms();
    match state.store.purge_unsent_uploads(now.saturating_sub(DAY_MS), now.saturating_sub(3_600_000)).await {
        Ok(n) if n > 0 => tracing::info!(removed = n, "uploads never sent removed"),
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "clean-up of unsent uploads failed"),
    }
    if let Err(e) = state.store.purge_account_links(now_ms()).await {
        tracing::warn!(error = %e, "clean-up of expired account links failed");
    }
    let keep = u64::from(state.config.webhooks.keep_days) * DAY_MS;
    match state.store.delete_deliveries_before(now_ms().saturating_sub(keep)).await {
        Ok(n) if n > 0 => tracing::info!(deliveries = n, "old webhook deliveries removed"),
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "webhook log clean-up failed"),
    }
    if let Some(m) = &state.config.mail {
        match state.store.delete_mails_before(now_ms().saturating_sub(u64::from(m.keep_days) * DAY_MS)).await {
            Ok(n) if n > 0 => tracing::info!(mails = n, "old mails removed from the outbox"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "outbox clean-up failed"),
        }
    }
}

/// The daily backup (and pruning), then transcript retention.
pub async fn daily(state: &AppState, now: u64) {
    let policy = &state.config.backup;
    if policy.daily {
        let dir = state.config.backup_dir();
        match crate::backups::make(&state.store, &dir, now, policy.bytes_per_sec).await {
            Ok(path) => {
                let pruned = crate::backups::prune(&dir, policy.keep as usize);
                tracing::info!(file = %path.display(), pruned, "daily backup made");
            }
            Err(e) => tracing::error!(error = %e, "daily backup failed"),
        }
    }
    let days = state.config.transcript_retention_days;
    if days > 0 {
        match state.store.delete_transcripts_before(now.saturating_sub(u64::from(days) * DAY_MS)).await {
            Ok(n) if n > 0 => tracing::info!(chats = n, days, "old transcripts deleted"),
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "transcript retention failed"),
        }
    }
}
