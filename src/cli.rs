//! The command line: `serve`, `config default|check`, `owner create|reset-password`,
//! `healthcheck`, `backup`, `restore`, `mail test`.

use crate::config::{Config, DEFAULT_CONFIG, LogFormat};
use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use std::io::{BufRead, IsTerminal, Read, Write};
use std::path::PathBuf;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How long `parley backup` waits for the server's copy: a backup is paced to spare the live
/// chats, and a store of gigabytes takes minutes.
const BACKUP_WITHIN: Duration = Duration::from_secs(3600);

#[derive(Parser)]
#[command(name = "parley", version, about = "Parley: self-hosted live chat with chat transfer done right")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Run the server (on the embedded default configuration when no file is given).
    Serve {
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
    /// Print or check configuration.
    Config {
        #[command(subcommand)]
        action: ConfigAction,
    },
    /// Manage the organization owner account (with the server stopped).
    Owner {
        #[command(subcommand)]
        action: OwnerAction,
    },
    /// Exit 0 when the server of this configuration answers /healthz (for container checks).
    Healthcheck {
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
    /// Ask the running server for a consistent backup of its store (run as the server's user).
    Backup {
        #[arg(long, short)]
        config: Option<PathBuf>,
        /// Also copy the backup to this file.
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
    /// Replace the store with a backup (server stopped); the replaced store is kept beside it.
    Restore {
        /// The backup file.
        file: PathBuf,
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
    /// Mail: check the [mail] settings.
    Mail {
        #[command(subcommand)]
        action: MailAction,
    },
}

#[derive(Subcommand)]
pub enum MailAction {
    /// Send a test mail now and print the SMTP server's answer.
    Test {
        /// Where to send it.
        #[arg(long)]
        to: String,
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
pub enum ConfigAction {
    /// Print the default configuration, every key commented.
    Default,
    /// Validate a configuration file without starting.
    Check {
        #[arg(long, short)]
        config: PathBuf,
    },
}

#[derive(Subcommand)]
pub enum OwnerAction {
    /// Create an owner account; the password is read from standard input.
    Create {
        #[arg(long)]
        email: String,
        #[arg(long, default_value = "Owner")]
        name: String,
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
    /// Set an owner's new password, read from standard input; ends their sessions.
    ResetPassword {
        #[arg(long)]
        email: String,
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
}

fn load(config: Option<&PathBuf>) -> anyhow::Result<Config> {
    Ok(Config::load(config.map(PathBuf::as_path))?)
}

pub fn init_tracing(config: &Config) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(&config.log_level));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match config.log_format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve { config } => serve(load(config.as_ref())?).await,
        Command::Config { action: ConfigAction::Default } => {
            print!("{DEFAULT_CONFIG}");
            Ok(())
        }
        Command::Config { action: ConfigAction::Check { config } } => {
            let c = load(Some(&config))?;
            println!(
                "{}: valid (listen {}, data in {}, {})",
                config.display(),
                c.listen,
                c.data_dir.display(),
                if c.acme.is_some() {
                    "TLS by ACME"
                } else if c.tls.is_some() {
                    "TLS"
                } else {
                    "plain HTTP"
                }
            );
            Ok(())
        }
        Command::Owner { action: OwnerAction::Create { email, name, config } } => {
            owner_create(load(config.as_ref())?, email, name).await
        }
        Command::Owner { action: OwnerAction::ResetPassword { email, config } } => {
            owner_reset_password(load(config.as_ref())?, email).await
        }
        Command::Mail { action: MailAction::Test { to, config } } => mail_test(load(config.as_ref())?, &to).await,
        Command::Healthcheck { config } => healthcheck(load(config.as_ref())?).await,
        Command::Backup { config, output } => backup(load(config.as_ref())?, output).await,
        Command::Restore { file, config } => restore(load(config.as_ref())?, &file),
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    init_tracing(&config);
    let listener = tokio::net::TcpListener::bind(config.listen).await.with_context(|| {
        format!("cannot listen on {} ([server] listen): is another server using it?", config.listen)
    })?;
    let shutdown = CancellationToken::new();
    let signals = shutdown.clone();
    tokio::spawn(async move {
        wait_for_signal().await;
        tracing::info!("shutting down: finishing in-flight requests and commits");
        signals.cancel();
    });
    crate::app::serve(config, listener, shutdown).await?;
    Ok(())
}

async fn wait_for_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    match (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) {
        (Ok(mut term), Ok(mut int)) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
        }
        _ => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

/// A password from standard input: asked for on a terminal, else the first line.
fn read_password(email: &str) -> anyhow::Result<String> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        eprint!("Password for {email}: ");
        let _ = std::io::stderr().flush();
    }
    let mut password = String::new();
    if stdin.is_terminal() {
        stdin.lock().read_line(&mut password)?;
    } else {
        stdin.lock().read_to_string(&mut password)?;
    }
    Ok(password.lines().next().unwrap_or_default().to_string())
}

async fn owner_create(config: Config, email: String, name: String) -> anyhow::Result<()> {
    let password = read_password(&email)?;
    let form =
        crate::domain::forms::AccountForm { name, email, password: password.clone(), password_confirm: password };
    let draft = match form.validate() {
        Ok(d) => d,
        Err(e) => {
            let msg: Vec<String> = e.0.iter().map(|(f, m)| format!("{f}: {m}")).collect();
            bail!("{}", msg.join("; "));
        }
    };
    let store = crate::app::open_store(&config.data_dir, config.cache_bytes).await?;
    let hash = crate::web::auth::hash_password(draft.password).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let user = store.create_owner(draft.name, draft.email, hash, false, crate::web::state::now_ms()).await?;
    store.close().await;
    println!("Owner {} created. Sign in at /login.", user.email);
    Ok(())
}

async fn owner_reset_password(config: Config, email: String) -> anyhow::Result<()> {
    let email = email.trim().to_lowercase();
    let password = read_password(&email)?;
    if let Err(m) = crate::domain::validate::new_password(&password, &password) {
        bail!("password: {m}");
    }
    let store = crate::app::open_store(&config.data_dir, config.cache_bytes).await?;
    let owner = store.owners()?.into_iter().find(|u| u.email == email);
    let Some(owner) = owner else {
        store.close().await;
        bail!(
            "{email} is not an owner's address (a site's people reset theirs on the sign-in page, or an admin sets it)"
        );
    };
    let hash = crate::web::auth::hash_password(password).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    store.set_password(owner.site, owner.id, hash).await?;
    store.close().await;
    println!("New password set for {email}; their sessions are ended. Sign in at /login.");
    Ok(())
}

async fn mail_test(config: Config, to: &str) -> anyhow::Result<()> {
    let Some(m) = &config.mail else {
        bail!("there is no [mail] section in the configuration: add one (README, \"Mail\")");
    };
    println!("Sending a test mail to {to} through {} ...", m.server());
    match crate::mail::send_test(&config, to).await {
        Ok(answer) => {
            println!("Accepted: {answer}");
            Ok(())
        }
        Err(e) => bail!("not sent: {e}"),
    }
}

async fn healthcheck(config: Config) -> anyhow::Result<()> {
    let (status, body) = crate::local_client::request(&config, "GET", "/healthz", &[], Duration::from_secs(10))
        .await
        .map_err(anyhow::Error::msg)?;
    if status == 200 && body.contains("\"status\":\"ok\"") {
        Ok(())
    } else {
        bail!("{} answered, but not healthy: HTTP {status}", crate::local_client::local_addr(&config))
    }
}

async fn backup(config: Config, output: Option<PathBuf>) -> anyhow::Result<()> {
    let key = config.data_dir.join("secret.key");
    let secret: [u8; 32] = std::fs::read(&key)
        .with_context(|| {
            format!("cannot read {} (run this with the server running, as the user it runs as)", key.display())
        })?
        .try_into()
        .map_err(|_| anyhow::anyhow!("{} is damaged", key.display()))?;
    let proof = crate::web::ops::local_proof(&secret);
    let (status, body) = crate::local_client::request(
        &config,
        "POST",
        "/api/local/backup",
        &[("x-parley-local", &proof)],
        BACKUP_WITHIN,
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e} (is the server running? with it stopped, copy parley.redb instead)"))?;
    if status != 200 {
        bail!("the server refused the backup: HTTP {status}");
    }
    let v: serde_json::Value = serde_json::from_str(&body).context("the server's answer is not JSON")?;
    let file = v["file"].as_str().context("the server named no file")?;
    println!("Backup written: {file} ({} bytes)", v["bytes"]);
    if let Some(out) = output {
        // A hard link on the same file system: instant, and no gigabytes written behind the
        // live chats' commits. Elsewhere, a copy.
        if std::fs::hard_link(file, &out).is_ok() {
            println!("Linked to {}", out.display());
        } else {
            std::fs::copy(file, &out).with_context(|| format!("cannot copy it to {}", out.display()))?;
            println!("Copied to {}", out.display());
        }
    }
    Ok(())
}

fn restore(config: Config, file: &std::path::Path) -> anyhow::Result<()> {
    let stamp = crate::backups::file_name(crate::web::state::now_ms()).replace("parley-", "").replace(".redb", "");
    let kept = crate::store::backup::restore(&config.data_dir, file, &stamp)?;
    println!("Restored {} into {}.", file.display(), config.data_dir.display());
    if let Some(k) = kept {
        println!("The replaced store is kept as {}.", k.display());
    }
    println!("Start Parley: a store from an older version is migrated at start.");
    Ok(())
}
