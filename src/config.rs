//! Configuration in two layers: `FileConfig` is exactly the TOML file (unknown keys rejected,
//! every key optional), and `validate()` turns it into the runtime `Config` with resolved paths,
//! checked files and cross-field rules. Every error names the key, and the line when there is
//! a file. The commented default file is `packaging/parley.toml`, embedded here.

use serde::Deserialize;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use toml::Spanned;

/// The commented default configuration (`parley config default`).
pub const DEFAULT_CONFIG: &str = include_str!("../packaging/parley.toml");

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    #[serde(default)]
    server: ServerSection,
    #[serde(default)]
    storage: StorageSection,
    #[serde(default)]
    tls: TlsSection,
    #[serde(default)]
    log: LogSection,
    #[serde(default)]
    auth: AuthSection,
    #[serde(default)]
    limits: LimitsSection,
    #[serde(default)]
    backup: BackupSection,
    #[serde(default)]
    chat: ChatSection,
    #[serde(default)]
    realtime: RealtimeSection,
    #[serde(default)]
    mail: Option<MailSection>,
    #[serde(default)]
    webhooks: WebhooksSection,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct WebhooksSection {
    allow_private_targets: bool,
    timeout_secs: Spanned<u64>,
    pause_after_hours: Spanned<u64>,
    give_up_hours: Spanned<u64>,
    keep_days: Spanned<u32>,
    retry_secs: Spanned<u64>,
}

impl Default for WebhooksSection {
    fn default() -> Self {
        WebhooksSection {
            allow_private_targets: false,
            timeout_secs: Spanned::new(0..0, 10),
            pause_after_hours: Spanned::new(0..0, 72),
            give_up_hours: Spanned::new(0..0, 72),
            keep_days: Spanned::new(0..0, 7),
            retry_secs: Spanned::new(0..0, 30),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MailSection {
    url: Spanned<String>,
    from: Spanned<String>,
    #[serde(default)]
    from_name: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    password_file: Option<Spanned<PathBuf>>,
    #[serde(default = "default_mail_timeout")]
    timeout_secs: Spanned<u64>,
    #[serde(default)]
    ca_file: Option<Spanned<PathBuf>>,
    #[serde(default = "default_mail_keep")]
    keep_days: Spanned<u32>,
    #[serde(default = "default_mail_retry")]
    retry_secs: Spanned<u64>,
}

fn default_mail_retry() -> Spanned<u64> {
    Spanned::new(0..0, 30)
}

fn default_mail_keep() -> Spanned<u32> {
    Spanned::new(0..0, 30)
}

fn default_mail_timeout() -> Spanned<u64> {
    Spanned::new(0..0, 30)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ServerSection {
    #[serde(default = "default_listen")]
    listen: SocketAddr,
    #[serde(default)]
    public_url: Option<Spanned<String>>,
    #[serde(default)]
    trusted_proxies: Vec<IpAddr>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StorageSection {
    #[serde(default = "default_data_dir")]
    data_dir: Spanned<PathBuf>,
    #[serde(default)]
    transcript_retention_days: u32,
    #[serde(default = "default_cache_mb")]
    cache_mb: Spanned<usize>,
}

fn default_cache_mb() -> Spanned<usize> {
    Spanned::new(0..0, 32)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BackupSection {
    #[serde(default = "yes")]
    daily: bool,
    #[serde(default = "default_backup_at")]
    at_utc: Spanned<String>,
    #[serde(default = "default_keep")]
    keep: Spanned<u32>,
    #[serde(default = "default_backup_rate")]
    max_mb_per_sec: Spanned<u64>,
}

fn default_backup_rate() -> Spanned<u64> {
    Spanned::new(0..0, 8)
}

fn yes() -> bool {
    true
}
fn default_backup_at() -> Spanned<String> {
    Spanned::new(0..0, "03:00".into())
}
fn default_keep() -> Spanned<u32> {
    Spanned::new(0..0, 7)
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct TlsSection {
    cert: Option<Spanned<PathBuf>>,
    key: Option<Spanned<PathBuf>>,
    #[serde(default)]
    acme_domains: Vec<String>,
    #[serde(default)]
    acme_contact: Option<String>,
    #[serde(default)]
    acme_staging: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LogSection {
    #[serde(default = "default_level")]
    level: Spanned<String>,
    #[serde(default)]
    format: LogFormat,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AuthSection {
    #[serde(default = "default_session_hours")]
    session_lifetime_hours: Spanned<u32>,
    #[serde(default = "default_free_failures")]
    login_free_failures: u32,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LimitsSection {
    #[serde(default = "default_max_body")]
    max_body_bytes: Spanned<usize>,
    #[serde(default = "default_max_connections")]
    max_connections: Spanned<usize>,
    #[serde(default = "default_timeout")]
    header_timeout_secs: Spanned<u64>,
    #[serde(default = "default_timeout")]
    body_timeout_secs: Spanned<u64>,
    #[serde(default = "default_timeout")]
    send_timeout_secs: Spanned<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ChatSection {
    #[serde(default = "default_max_message")]
    max_message_bytes: Spanned<usize>,
    #[serde(default = "default_grace")]
    agent_grace_secs: Spanned<u64>,
    #[serde(default = "default_max_wait")]
    max_queue_wait_secs: u64,
    #[serde(default = "default_max_file")]
    max_file_bytes: Spanned<u64>,
    #[serde(default = "default_site_files_mb")]
    site_files_mb: Spanned<u64>,
}

fn default_max_file() -> Spanned<u64> {
    Spanned::new(0..0, 10 * 1024 * 1024)
}

fn default_site_files_mb() -> Spanned<u64> {
    Spanned::new(0..0, 2048)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RealtimeSection {
    #[serde(default = "default_fps")]
    frames_per_second: Spanned<u32>,
    #[serde(default = "default_burst")]
    frames_burst: Spanned<u32>,
    #[serde(default = "default_send_queue")]
    send_queue: Spanned<usize>,
    #[serde(default = "default_ping")]
    ping_secs: Spanned<u64>,
    #[serde(default)]
    allowed_origins: Vec<String>,
}

fn default_max_message() -> Spanned<usize> {
    Spanned::new(0..0, 4096)
}
fn default_grace() -> Spanned<u64> {
    Spanned::new(0..0, 30)
}
fn default_max_wait() -> u64 {
    600
}
fn default_fps() -> Spanned<u32> {
    Spanned::new(0..0, 20)
}
fn default_burst() -> Spanned<u32> {
    Spanned::new(0..0, 60)
}
fn default_send_queue() -> Spanned<usize> {
    Spanned::new(0..0, 512)
}
fn default_ping() -> Spanned<u64> {
    Spanned::new(0..0, 20)
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8080))
}
fn default_data_dir() -> Spanned<PathBuf> {
    Spanned::new(0..0, PathBuf::from("./parley-data"))
}
fn default_level() -> Spanned<String> {
    Spanned::new(0..0, "info".into())
}
fn default_session_hours() -> Spanned<u32> {
    Spanned::new(0..0, 168)
}
fn default_free_failures() -> u32 {
    5
}
fn default_max_body() -> Spanned<usize> {
    Spanned::new(0..0, 65536)
}
fn default_max_connections() -> Spanned<usize> {
    Spanned::new(0..0, 16384)
}
fn default_timeout() -> Spanned<u64> {
    Spanned::new(0..0, 30)
}

macro_rules! section_defaults {
    ($($t:ty),*) => {$(
        impl Default for $t {
            fn default() -> Self {
                toml::from_str("").expect("an empty section takes every default")
            }
        }
    )*};
}
section_defaults!(
    ServerSection,
    StorageSection,
    BackupSection,
    LogSection,
    AuthSection,
    LimitsSection,
    ChatSection,
    RealtimeSection
);

#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

#[derive(Clone, Debug)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// Certificates from an ACME CA (cargo feature `acme`).
#[derive(Clone, Debug)]
pub struct Acme {
    pub domains: Vec<String>,
    pub contact: Option<String>,
    pub staging: bool,
}

/// The validated runtime configuration, passed around as `Arc<Config>`.
#[derive(Clone, Debug)]
pub struct Config {
    pub listen: SocketAddr,
    pub public_url: String,
    /// `public_url` was set in the file (otherwise it follows the address actually bound).
    pub public_url_explicit: bool,
    pub trusted_proxies: Vec<IpAddr>,
    pub data_dir: PathBuf,
    pub tls: Option<TlsFiles>,
    pub acme: Option<Acme>,
    pub log_level: String,
    pub log_format: LogFormat,
    pub session_lifetime_ms: u64,
    pub login_free_failures: u32,
    pub max_body_bytes: usize,
    /// redb's page cache, in bytes (`[storage] cache_mb`).
    pub cache_bytes: usize,
    pub connections: ConnectionLimits,
    pub chat: ChatLimits,
    pub realtime: RealtimeLimits,
    /// 0: keep transcripts forever.
    pub transcript_retention_days: u32,
    pub backup: BackupPolicy,
    /// `[mail]`; `None`: nothing is mailed.
    pub mail: Option<MailConfig>,
    pub webhooks: WebhooksConfig,
}

/// The validated `[webhooks]` section.
#[derive(Clone, Debug)]
pub struct WebhooksConfig {
    /// Endpoints on private, loopback and link-local addresses (and plain http://) allowed:
    /// for receivers on the organization's own network.
    pub allow_private_targets: bool,
    /// The longest a receiver may take to answer.
    pub timeout_secs: u64,
    /// An endpoint failing this long is paused (and its admins told).
    pub pause_after_ms: u64,
    /// A delivery failing this long is given up.
    pub give_up_ms: u64,
    /// How long deliveries are kept once delivered or given up.
    pub keep_days: u32,
    /// The wait before the first retry of a delivery (then doubling, at most hourly).
    pub retry_ms: u64,
}

/// How the connection to the SMTP server is protected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MailSecurity {
    /// `smtps://`: TLS from the first byte (port 465 by default).
    Tls,
    /// `smtp://`: STARTTLS, required (port 587 by default).
    StartTls,
    /// `smtp://…?tls=none`: no encryption, for a relay on this machine only.
    Plain,
}

/// A secret that `{:?}` does not print.
#[derive(Clone)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(..)")
    }
}

/// The validated `[mail]` section.
#[derive(Clone, Debug)]
pub struct MailConfig {
    pub security: MailSecurity,
    pub host: String,
    pub port: u16,
    pub username: Option<String>,
    pub password: Option<Secret>,
    /// The sender address, and the name mails are signed with (the organization's).
    pub from: String,
    pub from_name: String,
    pub timeout_secs: u64,
    /// Certificates (PEM) trusted besides the system's, for a relay with its own CA.
    pub ca_file: Option<PathBuf>,
    /// How long the outbox keeps a mail once it was sent or given up.
    pub keep_days: u32,
    /// The wait before the first retry of a mail that could not be sent (then doubling).
    pub retry_secs: u64,
}

impl MailConfig {
    /// The server as an operator reads it, without credentials.
    pub fn server(&self) -> String {
        let scheme = if self.security == MailSecurity::Tls { "smtps" } else { "smtp" };
        let plain = if self.security == MailSecurity::Plain { " (no TLS)" } else { "" };
        format!("{scheme}://{}:{}{plain}", self.host, self.port)
    }
}

#[derive(Clone, Debug)]
pub struct BackupPolicy {
    pub daily: bool,
    /// Minutes after midnight UTC.
    pub at_minute: u32,
    pub keep: u32,
    /// The most a backup writes a second (`max_mb_per_sec`).
    pub bytes_per_sec: u64,
}

impl Config {
    /// Where backups go.
    pub fn backup_dir(&self) -> PathBuf {
        self.data_dir.join("backups")
    }
}

/// The connection layer's limits (`[limits]`): see `web::server`.
#[derive(Clone, Copy, Debug)]
pub struct ConnectionLimits {
    pub max_connections: usize,
    pub header_timeout_secs: u64,
    pub body_timeout_secs: u64,
    pub send_timeout_secs: u64,
}

#[derive(Clone, Debug)]
pub struct ChatLimits {
    pub max_message_bytes: usize,
    pub agent_grace_ms: u64,
    /// 0: no limit.
    pub max_queue_wait_ms: u64,
    /// The largest file a visitor or an agent may send.
    pub max_file_bytes: u64,
    /// The most file bytes one site may hold (`site_files_mb`).
    pub site_file_bytes: u64,
}

#[derive(Clone, Debug)]
pub struct RealtimeLimits {
    pub frames_per_second: u32,
    pub frames_burst: u32,
    pub send_queue: usize,
    pub ping_secs: u64,
    /// Origins allowed for the agent socket besides `public_url`'s, without a trailing slash.
    pub allowed_origins: Vec<String>,
}

fn derived_url(listen: SocketAddr, tls: bool) -> String {
    let scheme = if tls { "https" } else { "http" };
    let host = match listen.ip() {
        ip if ip.is_unspecified() => "localhost".to_string(),
        IpAddr::V6(ip) => format!("[{ip}]"),
        ip => ip.to_string(),
    };
    format!("{scheme}://{host}:{}", listen.port())
}

impl Config {
    /// Does Parley itself serve HTTPS (certificate files or ACME)?
    pub fn serves_tls(&self) -> bool {
        self.tls.is_some() || self.acme.is_some()
    }

    /// After binding (port 0 picks a free port): a derived `public_url` names the real port.
    pub fn bound_to(mut self, addr: SocketAddr) -> Config {
        if !self.public_url_explicit {
            self.public_url = derived_url(addr, self.serves_tls());
        }
        self
    }
}

/// Where a value came from, for error messages: "(line N)" inside a file, nothing otherwise.
struct Source<'a> {
    text: &'a str,
    file: Option<&'a Path>,
}

impl Source<'_> {
    fn at<T>(&self, v: &Spanned<T>) -> String {
        match self.file {
            Some(_) if v.span().end > 0 => {
                let line = self.text[..v.span().start.min(self.text.len())].matches('\n').count() + 1;
                format!(" (line {line})")
            }
            _ => String::new(),
        }
    }
}

impl Config {
    /// Read and validate `file`, or the embedded default when `None`.
    pub fn load(file: Option<&Path>) -> Result<Config, ConfigError> {
        let text = match file {
            Some(p) => std::fs::read_to_string(p)
                .map_err(|e| ConfigError(format!("cannot read the configuration file {}: {e}", p.display())))?,
            None => DEFAULT_CONFIG.to_string(),
        };
        Config::parse(&text, file)
    }

    /// Parse and validate configuration text (`file` only names it in messages).
    pub fn parse(text: &str, file: Option<&Path>) -> Result<Config, ConfigError> {
        let name = file.map(|p| p.display().to_string()).unwrap_or_else(|| "the default configuration".into());
        let fc: FileConfig = toml::from_str(text).map_err(|e| ConfigError(format!("{name}: {e}")))?;
        fc.validate(&Source { text, file }).map_err(|m| ConfigError(format!("{name}: {m}")))
    }
}

impl FileConfig {
    fn validate(self, src: &Source<'_>) -> Result<Config, String> {
        let acme = match self.tls.acme_domains.is_empty() {
            true => None,
            false if self.tls.cert.is_some() || self.tls.key.is_some() => {
                return Err("[tls] acme_domains and cert/key are set: choose certificate files or ACME".into());
            }
            false if !cfg!(feature = "acme") => {
                return Err("[tls] acme_domains: this Parley was built without ACME support (cargo feature \"acme\"); use cert and key files".into());
            }
            false => Some(Acme {
                domains: self.tls.acme_domains.clone(),
                contact: self.tls.acme_contact.clone(),
                staging: self.tls.acme_staging,
            }),
        };
        let tls = match (self.tls.cert, self.tls.key) {
            (None, None) => None,
            (Some(c), None) => {
                return Err(format!(
                    "[tls] cert is set{} but [tls] key is not: set both, or neither for plain HTTP",
                    src.at(&c)
                ));
            }
            (None, Some(k)) => {
                return Err(format!(
                    "[tls] key is set{} but [tls] cert is not: set both, or neither for plain HTTP",
                    src.at(&k)
                ));
            }
            (Some(c), Some(k)) => {
                check_pem(&c, src, "cert")?;
                check_pem(&k, src, "key")?;
                Some(TlsFiles { cert: c.into_inner(), key: k.into_inner() })
            }
        };
        let level = self.log.level;
        if !valid_log_filter(level.get_ref()) {
            return Err(format!(
                "[log] level = {:?}{} is not a log filter: use error, warn, info, debug or trace",
                level.get_ref(),
                src.at(&level)
            ));
        }
        let hours = self.auth.session_lifetime_hours;
        if !(1..=8760).contains(hours.get_ref()) {
            return Err(format!("[auth] session_lifetime_hours{} must be from 1 to 8760", src.at(&hours)));
        }
        let body = &self.limits.max_body_bytes;
        if !(1024..=10 * 1024 * 1024).contains(body.get_ref()) {
            return Err(format!("[limits] max_body_bytes{} must be from 1024 to 10485760", src.at(body)));
        }
        let (chat, realtime, limits) = (self.chat, self.realtime, &self.limits);
        let range_check = |ok: bool, key: &str, at: String, range: &str| {
            if ok { Ok(()) } else { Err(format!("{key}{at} must be from {range}")) }
        };
        let cache_mb = &self.storage.cache_mb;
        range_check((4..=65536).contains(cache_mb.get_ref()), "[storage] cache_mb", src.at(cache_mb), "4 to 65536")?;
        range_check(
            (16..=1_000_000).contains(limits.max_connections.get_ref()),
            "[limits] max_connections",
            src.at(&limits.max_connections),
            "16 to 1000000",
        )?;
        for (key, v) in [
            ("[limits] header_timeout_secs", &limits.header_timeout_secs),
            ("[limits] body_timeout_secs", &limits.body_timeout_secs),
            ("[limits] send_timeout_secs", &limits.send_timeout_secs),
        ] {
            range_check((1..=3600).contains(v.get_ref()), key, src.at(v), "1 to 3600")?;
        }
        range_check(
            (1..=65536).contains(chat.max_message_bytes.get_ref()),
            "[chat] max_message_bytes",
            src.at(&chat.max_message_bytes),
            "1 to 65536",
        )?;
        range_check(
            *chat.agent_grace_secs.get_ref() <= 3600,
            "[chat] agent_grace_secs",
            src.at(&chat.agent_grace_secs),
            "0 to 3600",
        )?;
        range_check(
            *realtime.frames_per_second.get_ref() >= 1,
            "[realtime] frames_per_second",
            src.at(&realtime.frames_per_second),
            "1 up",
        )?;
        range_check(
            realtime.frames_burst.get_ref() >= realtime.frames_per_second.get_ref(),
            "[realtime] frames_burst",
            src.at(&realtime.frames_burst),
            "frames_per_second up",
        )?;
        range_check(
            (16..=65536).contains(realtime.send_queue.get_ref()),
            "[realtime] send_queue",
            src.at(&realtime.send_queue),
            "16 to 65536",
        )?;
        range_check(
            (5..=300).contains(realtime.ping_secs.get_ref()),
            "[realtime] ping_secs",
            src.at(&realtime.ping_secs),
            "5 to 300",
        )?;
        range_check(
            (1..=1 << 30).contains(chat.max_file_bytes.get_ref()),
            "[chat] max_file_bytes",
            src.at(&chat.max_file_bytes),
            "1 to 1073741824",
        )?;
        range_check(
            (1..=1 << 24).contains(chat.site_files_mb.get_ref()),
            "[chat] site_files_mb",
            src.at(&chat.site_files_mb),
            "1 to 16777216",
        )?;
        range_check(
            chat.max_queue_wait_secs <= 7 * 86_400,
            "[chat] max_queue_wait_secs",
            String::new(),
            "0 to 604800",
        )?;
        let mut allowed_origins = Vec::new();
        for o in &realtime.allowed_origins {
            let o = o.trim().trim_end_matches('/');
            if !(o.starts_with("http://") || o.starts_with("https://")) || o.matches('/').count() != 2 {
                return Err(format!(
                    "[realtime] allowed_origins: {o:?} is not an origin like \"https://console.example.com\""
                ));
            }
            allowed_origins.push(o.to_string());
        }
        let backup = self.backup;
        let at = backup.at_utc.get_ref();
        let at_minute = at
            .split_once(':')
            .and_then(|(h, m)| Some((h.parse::<u32>().ok()?, m.parse::<u32>().ok()?)))
            .filter(|(h, m)| *h < 24 && *m < 60 && at.len() == 5)
            .map(|(h, m)| h * 60 + m)
            .ok_or_else(|| {
                format!("[backup] at_utc = {at:?}{} must be a time like \"03:00\"", src.at(&backup.at_utc))
            })?;
        range_check((1..=365).contains(backup.keep.get_ref()), "[backup] keep", src.at(&backup.keep), "1 to 365")?;
        let rate = &backup.max_mb_per_sec;
        range_check((1..=10_000).contains(rate.get_ref()), "[backup] max_mb_per_sec", src.at(rate), "1 to 10000")?;
        let mail = self.mail.map(|m| mail_config(m, src)).transpose()?;
        let hooks = &self.webhooks;
        range_check(
            (1..=60).contains(hooks.timeout_secs.get_ref()),
            "[webhooks] timeout_secs",
            src.at(&hooks.timeout_secs),
            "1 to 60",
        )?;
        for (key, v) in [
            ("[webhooks] pause_after_hours", &hooks.pause_after_hours),
            ("[webhooks] give_up_hours", &hooks.give_up_hours),
        ] {
            range_check((1..=720).contains(v.get_ref()), key, src.at(v), "1 to 720")?;
        }
        range_check(
            (1..=365).contains(hooks.keep_days.get_ref()),
            "[webhooks] keep_days",
            src.at(&hooks.keep_days),
            "1 to 365",
        )?;
        range_check(
            (1..=3600).contains(hooks.retry_secs.get_ref()),
            "[webhooks] retry_secs",
            src.at(&hooks.retry_secs),
            "1 to 3600",
        )?;
        let webhooks = WebhooksConfig {
            allow_private_targets: hooks.allow_private_targets,
            timeout_secs: *hooks.timeout_secs.get_ref(),
            pause_after_ms: hooks.pause_after_hours.get_ref() * 3_600_000,
            give_up_ms: hooks.give_up_hours.get_ref() * 3_600_000,
            keep_days: *hooks.keep_days.get_ref(),
            retry_ms: hooks.retry_secs.get_ref() * 1000,
        };
        let public_url_explicit = self.server.public_url.is_some();
        let public_url = match self.server.public_url {
            Some(u) => {
                let s = u.get_ref().trim().trim_end_matches('/');
                let ok = (s.starts_with("http://") || s.starts_with("https://"))
                    && s.len() > "https://".len()
                    && !s.contains(char::is_whitespace);
                if !ok {
                    return Err(format!(
                        "[server] public_url{} must be an http:// or https:// address such as \"https://chat.example.com\"",
                        src.at(&u)
                    ));
                }
                s.to_string()
            }
            None => derived_url(self.server.listen, tls.is_some() || acme.is_some()),
        };
        let data_dir = self.storage.data_dir;
        check_data_dir(data_dir.get_ref()).map_err(|e| {
            use std::io::ErrorKind as K;
            let advice = match e.kind() {
                K::StorageFull | K::QuotaExceeded => "its disk is full: free space, then start Parley again",
                K::ReadOnlyFilesystem => "it is on a read-only file system: choose a writable place",
                K::PermissionDenied | K::NotFound => {
                    "create the directory and give the user running Parley write access, or choose another"
                }
                _ => "the disk failed with an I/O error: check it and the system log",
            };
            format!(
                "[storage] data_dir = {:?}{}: {e}; {advice}",
                data_dir.get_ref().display().to_string(),
                src.at(&data_dir)
            )
        })?;
        Ok(Config {
            listen: self.server.listen,
            public_url,
            public_url_explicit,
            acme,
            trusted_proxies: self.server.trusted_proxies,
            data_dir: data_dir.into_inner(),
            tls,
            log_level: level.into_inner(),
            log_format: self.log.format,
            session_lifetime_ms: u64::from(*hours.get_ref()) * 3_600_000,
            login_free_failures: self.auth.login_free_failures,
            max_body_bytes: *body.get_ref(),
            cache_bytes: self.storage.cache_mb.get_ref() * 1024 * 1024,
            connections: ConnectionLimits {
                max_connections: *limits.max_connections.get_ref(),
                header_timeout_secs: *limits.header_timeout_secs.get_ref(),
                body_timeout_secs: *limits.body_timeout_secs.get_ref(),
                send_timeout_secs: *limits.send_timeout_secs.get_ref(),
            },
            chat: ChatLimits {
                max_message_bytes: *chat.max_message_bytes.get_ref(),
                agent_grace_ms: chat.agent_grace_secs.get_ref() * 1000,
                max_queue_wait_ms: chat.max_queue_wait_secs * 1000,
                max_file_bytes: *chat.max_file_bytes.get_ref(),
                site_file_bytes: chat.site_files_mb.get_ref() * 1024 * 1024,
            },
            transcript_retention_days: self.storage.transcript_retention_days,
            backup: BackupPolicy {
                daily: backup.daily,
                at_minute,
                keep: *backup.keep.get_ref(),
                bytes_per_sec: backup.max_mb_per_sec.get_ref() * 1024 * 1024,
            },
            realtime: RealtimeLimits {
                frames_per_second: *realtime.frames_per_second.get_ref(),
                frames_burst: *realtime.frames_burst.get_ref(),
                send_queue: *realtime.send_queue.get_ref(),
                ping_secs: *realtime.ping_secs.get_ref(),
                allowed_origins,
            },
            mail,
            webhooks,
        })
    }
}

/// Check `[mail]`: the URL's scheme, host and port; the sender; the password (given, or read
/// from its file now, so a wrong path fails at start and not at the first mail).
fn mail_config(m: MailSection, src: &Source<'_>) -> Result<MailConfig, String> {
    let at = src.at(&m.url);
    let bad = |why: &str| {
        format!(
            "[mail] url{at} {why}: write it like \"smtp://smtp.example.com:587\" (STARTTLS) or \"smtps://smtp.example.com\" (TLS)"
        )
    };
    let url = url::Url::parse(m.url.get_ref().trim()).map_err(|e| bad(&format!("is not a URL ({e})")))?;
    let host = url.host_str().filter(|h| !h.is_empty()).ok_or_else(|| bad("has no host"))?.to_string();
    let plain = match url.query_pairs().find(|(k, _)| k == "tls").map(|(_, v)| v.into_owned()) {
        None => false,
        Some(v) if v == "none" => true,
        Some(v) => return Err(bad(&format!("has tls={v:?}; only tls=none is known (no encryption, local relays)"))),
    };
    let security = match (url.scheme(), plain) {
        ("smtps", false) => MailSecurity::Tls,
        ("smtp", false) => MailSecurity::StartTls,
        ("smtp", true) => {
            let local = host == "localhost"
                || host.trim_matches(|c| c == '[' || c == ']').parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback());
            if !local {
                return Err(bad(
                    "asks for no TLS to a host other than this machine; mail would cross the network unencrypted",
                ));
            }
            MailSecurity::Plain
        }
        ("smtps", true) => return Err(bad("is smtps:// with tls=none")),
        (other, _) => return Err(bad(&format!("has the scheme {other:?}"))),
    };
    let port = url.port().unwrap_or(match security {
        MailSecurity::Tls => 465,
        MailSecurity::StartTls => 587,
        MailSecurity::Plain => 25,
    });
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad("holds credentials; set username and password_file instead"));
    }
    let from = crate::domain::validate::email(m.from.get_ref())
        .map_err(|e| format!("[mail] from{} must be an email address: {e}", src.at(&m.from)))?;
    let from_name = m.from_name.unwrap_or_else(|| "Parley".into());
    if from_name.chars().any(char::is_control) || from_name.chars().count() > 100 {
        return Err("[mail] from_name must be one line of at most 100 characters".into());
    }
    let password = match (m.password, m.password_file) {
        (Some(_), Some(_)) => return Err("[mail] password and password_file are both set: choose one".into()),
        (Some(p), None) => Some(Secret(p)),
        (None, Some(f)) => {
            let text = std::fs::read_to_string(f.get_ref()).map_err(|e| {
                format!("[mail] password_file = {:?}{}: {e}", f.get_ref().display().to_string(), src.at(&f))
            })?;
            Some(Secret(text.trim_end_matches(['\r', '\n']).to_string()))
        }
        (None, None) => None,
    };
    if password.is_some() && m.username.is_none() {
        return Err("[mail] a password needs a username".into());
    }
    if password.is_some() && security == MailSecurity::Plain {
        return Err("[mail] credentials are never sent without TLS: remove tls=none, or the password".into());
    }
    let timeout = &m.timeout_secs;
    if !(1..=300).contains(timeout.get_ref()) {
        return Err(format!("[mail] timeout_secs{} must be from 1 to 300", src.at(timeout)));
    }
    if !(1..=3600).contains(m.retry_secs.get_ref()) {
        return Err(format!("[mail] retry_secs{} must be from 1 to 3600", src.at(&m.retry_secs)));
    }
    if !(1..=3650).contains(m.keep_days.get_ref()) {
        return Err(format!("[mail] keep_days{} must be from 1 to 3650", src.at(&m.keep_days)));
    }
    if let Some(f) = &m.ca_file {
        use rustls_pki_types::CertificateDer;
        use rustls_pki_types::pem::PemObject;
        let path = f.get_ref();
        let bytes = std::fs::read(path)
            .map_err(|e| format!("[mail] ca_file = {:?}{}: {e}", path.display().to_string(), src.at(f)))?;
        if CertificateDer::pem_slice_iter(&bytes).next().is_none_or(|c| c.is_err()) {
            return Err(format!(
                "[mail] ca_file = {:?}{}: this file holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
                path.display().to_string(),
                src.at(f)
            ));
        }
    }
    Ok(MailConfig {
        security,
        host,
        port,
        username: m.username,
        password,
        from,
        from_name,
        timeout_secs: *timeout.get_ref(),
        ca_file: m.ca_file.map(Spanned::into_inner),
        keep_days: *m.keep_days.get_ref(),
        retry_secs: *m.retry_secs.get_ref(),
    })
}

/// A level name, or comma-separated directives where a bare word must be a level (a typo such as
/// "inf" would otherwise silently mean "everything from a module called inf").
fn valid_log_filter(s: &str) -> bool {
    const LEVELS: [&str; 6] = ["off", "error", "warn", "info", "debug", "trace"];
    let directives_ok = s.split(',').map(str::trim).all(|d| match d.split_once('=') {
        Some((target, level)) => !target.is_empty() && LEVELS.contains(&level.to_ascii_lowercase().as_str()),
        None => LEVELS.contains(&d.to_ascii_lowercase().as_str()),
    });
    directives_ok && tracing_subscriber::EnvFilter::try_new(s).is_ok()
}

fn check_pem(v: &Spanned<PathBuf>, src: &Source<'_>, key: &str) -> Result<(), String> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let path = v.get_ref();
    let fail = |what: String| format!("[tls] {key} = {:?}{}: {what}", path.display().to_string(), src.at(v));
    let bytes = std::fs::read(path).map_err(|e| fail(format!("cannot read it: {e}")))?;
    let ok = if key == "cert" {
        CertificateDer::pem_slice_iter(&bytes).next().is_some_and(|c| c.is_ok())
    } else {
        PrivateKeyDer::from_pem_slice(&bytes).is_ok()
    };
    if ok {
        Ok(())
    } else {
        let wanted = if key == "cert" { "PEM certificate (-----BEGIN CERTIFICATE-----)" } else { "PEM private key" };
        Err(fail(format!("this file holds no {wanted}")))
    }
}

/// Create the directory when missing and prove it is writable. The probe file is named after
/// this process: `parley healthcheck` runs while the server starts, and two processes sharing
/// one probe name would remove each other's file.
pub fn check_data_dir(dir: &Path) -> Result<(), std::io::Error> {
    std::fs::create_dir_all(dir)?;
    let probe = dir.join(format!(".parley-write-test-{}", std::process::id()));
    std::fs::write(&probe, b"ok")?;
    std::fs::remove_file(&probe)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mail_needs_tls_a_sender_and_readable_secrets() {
        let dir = tempfile::tempdir().expect("tempdir");
        let pw = dir.path().join("smtp.pw");
        std::fs::write(&pw, "s3cret\n").expect("password file");
        let ok = parse_in(
            dir.path(),
            &format!(
                "[mail]\nurl = \"smtp://smtp.example.com\"\nfrom = \"Chat@Example.com\"\nusername = \"u\"\npassword_file = {:?}\n",
                pw.display().to_string()
            ),
        )
        .expect("valid");
        let m = ok.mail.expect("mail");
        assert_eq!((m.security, m.port, m.from.as_str()), (MailSecurity::StartTls, 587, "chat@example.com"));
        assert_eq!(m.password.as_ref().map(|p| p.0.as_str()), Some("s3cret"), "the file's line, without its newline");
        assert!(!format!("{m:?}").contains("s3cret"), "a password is never printed");
        assert_eq!(m.server(), "smtp://smtp.example.com:587");
        let tls = parse_in(dir.path(), "[mail]\nurl = \"smtps://mail.example.com\"\nfrom = \"a@example.com\"\n");
        assert_eq!(tls.expect("valid").mail.map(|m| (m.security, m.port)), Some((MailSecurity::Tls, 465)));
        let local = parse_in(dir.path(), "[mail]\nurl = \"smtp://127.0.0.1:25?tls=none\"\nfrom = \"a@example.com\"\n");
        assert_eq!(local.expect("valid").mail.map(|m| m.security), Some(MailSecurity::Plain));
        assert!(parse_in(dir.path(), "").expect("valid").mail.is_none(), "no [mail]: nothing is mailed");
        for (body, why) in [
            ("url = \"http://smtp.example.com\"\nfrom = \"a@example.com\"\n", "has the scheme \"http\""),
            ("url = \"smtp://smtp.example.com?tls=none\"\nfrom = \"a@example.com\"\n", "unencrypted"),
            ("url = \"smtp://u:p@smtp.example.com\"\nfrom = \"a@example.com\"\n", "holds credentials"),
            ("url = \"smtp://smtp.example.com\"\nfrom = \"not an address\"\n", "[mail] from (line 5) must be an email"),
            ("url = \"smtp://smtp.example.com\"\nfrom = \"a@example.com\"\npassword = \"p\"\n", "needs a username"),
            (
                "url = \"smtp://smtp.example.com\"\nfrom = \"a@example.com\"\nusername = \"u\"\npassword_file = \"/nonexistent/pw\"\n",
                "[mail] password_file = \"/nonexistent/pw\" (line 7)",
            ),
            (
                "url = \"smtp://smtp.example.com\"\nfrom = \"a@example.com\"\ntimeout_secs = 0\n",
                "[mail] timeout_secs (line 6)",
            ),
            (
                "url = \"smtp://smtp.example.com\"\nfrom = \"a@example.com\"\nretry_secs = 0\n",
                "[mail] retry_secs (line 6)",
            ),
            (
                "url = \"smtp://smtp.example.com\"\nfrom = \"a@example.com\"\nstarttls = false\n",
                "unknown field `starttls`",
            ),
            ("from = \"a@example.com\"\n", "missing field `url`"),
        ] {
            let err = parse_in(dir.path(), &format!("[mail]\n{body}")).expect_err(body);
            assert!(err.contains(why), "{body}: {err}");
        }
    }

    fn parse_in(dir: &Path, body: &str) -> Result<Config, String> {
        let text = format!("[storage]\ndata_dir = {:?}\n{body}", dir.join("data").display().to_string());
        Config::parse(&text, Some(Path::new("test.toml"))).map_err(|e| e.0)
    }

    #[test]
    fn the_embedded_default_file_states_the_defaults_of_the_code() {
        let file: FileConfig = toml::from_str(DEFAULT_CONFIG).expect("the default file parses");
        let empty: FileConfig = toml::from_str("").expect("an empty file parses");
        for fc in [&file, &empty] {
            assert_eq!(fc.server.listen, default_listen());
            assert_eq!(fc.storage.data_dir.get_ref(), Path::new("./parley-data"));
            assert_eq!(fc.log.level.get_ref(), "info");
            assert_eq!(fc.log.format, LogFormat::Text);
            assert_eq!(*fc.auth.session_lifetime_hours.get_ref(), 168);
            assert_eq!(fc.auth.login_free_failures, 5);
            assert_eq!(*fc.limits.max_body_bytes.get_ref(), 65536);
            assert!(fc.tls.cert.is_none() && fc.server.public_url.is_none());
            assert_eq!(*fc.chat.max_message_bytes.get_ref(), 4096);
            assert_eq!(*fc.chat.agent_grace_secs.get_ref(), 30);
            assert_eq!(fc.chat.max_queue_wait_secs, 600);
            assert_eq!(*fc.realtime.frames_per_second.get_ref(), 20);
            assert_eq!(*fc.realtime.frames_burst.get_ref(), 60);
            assert_eq!(*fc.realtime.send_queue.get_ref(), 512);
            assert_eq!(*fc.realtime.ping_secs.get_ref(), 20);
            assert!(fc.realtime.allowed_origins.is_empty());
            assert_eq!(fc.storage.transcript_retention_days, 0);
            assert!(fc.backup.daily);
            assert_eq!(fc.backup.at_utc.get_ref(), "03:00");
            assert_eq!(*fc.backup.keep.get_ref(), 7);
        }
    }

    #[test]
    fn an_unknown_key_is_named_with_its_line() {
        let dir = tempfile::tempdir().expect("tempdir");
        let err = parse_in(dir.path(), "[server]\nlisten = \"127.0.0.1:1\"\nlisen = \"x\"\n").expect_err("refused");
        assert!(err.contains("lisen"), "{err}");
        assert!(err.contains("line 5"), "{err}");
    }

    #[test]
    fn a_wrong_type_is_named() {
        let dir = tempfile::tempdir().expect("tempdir");
        let err = parse_in(dir.path(), "[auth]\nsession_lifetime_hours = \"long\"\n").expect_err("refused");
        assert!(err.contains("session_lifetime_hours"), "{err}");
        let err = parse_in(dir.path(), "[server]\nlisten = \"nowhere\"\n").expect_err("refused");
        assert!(err.contains("listen"), "{err}");
        let err = parse_in(dir.path(), "[log]\nformat = \"xml\"\n").expect_err("refused");
        assert!(err.contains("format") && err.contains("json"), "{err}");
    }

    #[test]
    fn tls_needs_both_files_and_readable_pem() {
        let dir = tempfile::tempdir().expect("tempdir");
        let err = parse_in(dir.path(), "[tls]\ncert = \"/nonexistent/cert.pem\"\n").expect_err("refused");
        assert!(err.contains("[tls] key is not"), "{err}");
        let err = parse_in(dir.path(), "[tls]\ncert = \"/nonexistent/c.pem\"\nkey = \"/nonexistent/k.pem\"\n")
            .expect_err("refused");
        assert!(err.contains("[tls] cert") && err.contains("cannot read") && err.contains("line 4"), "{err}");
        let junk = dir.path().join("junk.pem");
        std::fs::write(&junk, "hello").expect("write");
        let body = format!("[tls]\ncert = {:?}\nkey = {:?}\n", junk.display().to_string(), junk.display().to_string());
        let err = parse_in(dir.path(), &body).expect_err("refused");
        assert!(err.contains("holds no PEM certificate"), "{err}");
    }

    #[test]
    fn an_unwritable_data_dir_is_named() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("a-file");
        std::fs::write(&file, "x").expect("write");
        let text = format!("[storage]\ndata_dir = {:?}\n", file.join("sub").display().to_string());
        let err = Config::parse(&text, Some(Path::new("t.toml"))).expect_err("refused").0;
        assert!(err.contains("[storage] data_dir") && err.contains("line 2"), "{err}");
    }

    #[test]
    fn bad_values_are_explained() {
        let dir = tempfile::tempdir().expect("tempdir");
        for bad in ["loud", "inf", "parley=loud", "=info"] {
            let err = parse_in(dir.path(), &format!("[log]\nlevel = {bad:?}\n")).expect_err("refused");
            assert!(err.contains("[log] level"), "{err}");
        }
        for good in ["debug", "parley=debug,poem=info", "WARN"] {
            assert!(parse_in(dir.path(), &format!("[log]\nlevel = {good:?}\n")).is_ok(), "{good}");
        }
        let err = parse_in(dir.path(), "[server]\npublic_url = \"chat.example.com\"\n").expect_err("refused");
        assert!(err.contains("public_url"), "{err}");
        let err = parse_in(dir.path(), "[tls]\nacme_domains = [\"chat.example.com\"]\ncert = \"/x\"\nkey = \"/y\"\n")
            .expect_err("refused");
        assert!(err.contains("choose certificate files or ACME"), "{err}");
        if !cfg!(feature = "acme") {
            let err = parse_in(dir.path(), "[tls]\nacme_domains = [\"chat.example.com\"]\n").expect_err("refused");
            assert!(err.contains("without ACME support"), "{err}");
        }
        let err = parse_in(dir.path(), "[backup]\nat_utc = \"25:00\"\n").expect_err("refused");
        assert!(err.contains("[backup] at_utc") && err.contains("line 4"), "{err}");
        let err = parse_in(dir.path(), "[limits]\nmax_body_bytes = 10\n").expect_err("refused");
        assert!(err.contains("max_body_bytes"), "{err}");
    }

    #[test]
    fn connection_limits_and_the_cache_are_checked_with_their_line() {
        let dir = tempfile::tempdir().expect("tempdir");
        let ok = parse_in(dir.path(), "cache_mb = 8\n[limits]\nmax_connections = 100\nheader_timeout_secs = 5\n")
            .expect("valid");
        assert_eq!(
            (ok.cache_bytes, ok.connections.max_connections, ok.connections.header_timeout_secs),
            (8 << 20, 100, 5)
        );
        let defaults = parse_in(dir.path(), "").expect("valid");
        assert_eq!(defaults.connections.body_timeout_secs, 30);
        assert_eq!(defaults.backup.bytes_per_sec, 8 << 20);
        for (body, key) in [
            ("cache_mb = 1\n", "[storage] cache_mb (line 3) must be from 4 to 65536"),
            ("[limits]\nmax_connections = 3\n", "[limits] max_connections (line 4) must be from 16"),
            ("[limits]\nheader_timeout_secs = 0\n", "[limits] header_timeout_secs (line 4) must be from 1 to 3600"),
            ("[limits]\nbody_timeout_secs = 99999\n", "[limits] body_timeout_secs (line 4)"),
            ("[limits]\nsend_timeout_secs = 0\n", "[limits] send_timeout_secs (line 4)"),
            ("[limits]\nidle_timeout_secs = 5\n", "unknown field `idle_timeout_secs`"),
            ("[backup]\nmax_mb_per_sec = 0\n", "[backup] max_mb_per_sec (line 4) must be from 1 to 10000"),
        ] {
            let err = parse_in(dir.path(), body).expect_err("refused");
            assert!(err.contains(key), "{body}: {err}");
        }
    }

    #[test]
    fn public_url_defaults_from_listen_and_tls() {
        let dir = tempfile::tempdir().expect("tempdir");
        let c = parse_in(dir.path(), "[server]\nlisten = \"0.0.0.0:9000\"\n").expect("valid");
        assert_eq!(c.public_url, "http://localhost:9000");
        let c = parse_in(dir.path(), "[server]\npublic_url = \"https://chat.example.com/\"\n").expect("valid");
        assert_eq!(c.public_url, "https://chat.example.com");
    }
}
