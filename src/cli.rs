//! The command line: `serve`, `config default|check`, `owner create`, `healthcheck`.

use crate::config::{Config, DEFAULT_CONFIG, LogFormat};
use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use std::io::{BufRead, IsTerminal, Read, Write};
use std::path::PathBuf;
use tokio_util::sync::CancellationToken;

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
                if c.tls.is_some() { "TLS" } else { "plain HTTP" }
            );
            Ok(())
        }
        Command::Owner { action: OwnerAction::Create { email, name, config } } => {
            owner_create(load(config.as_ref())?, email, name).await
        }
        Command::Healthcheck { config } => healthcheck(load(config.as_ref())?).await,
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

async fn owner_create(config: Config, email: String, name: String) -> anyhow::Result<()> {
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
    let password = password.lines().next().unwrap_or_default().to_string();
    let form =
        crate::domain::forms::AccountForm { name, email, password: password.clone(), password_confirm: password };
    let draft = match form.validate() {
        Ok(d) => d,
        Err(e) => {
            let msg: Vec<String> = e.0.iter().map(|(f, m)| format!("{f}: {m}")).collect();
            bail!("{}", msg.join("; "));
        }
    };
    let store = crate::app::open_store(&config.data_dir).await?;
    let hash = crate::web::auth::hash_password(draft.password).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let user = store.create_owner(draft.name, draft.email, hash, false, crate::web::state::now_ms()).await?;
    store.close().await;
    println!("Owner {} created. Sign in at /login.", user.email);
    Ok(())
}

async fn healthcheck(config: Config) -> anyhow::Result<()> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut addr = config.listen;
    if addr.ip().is_unspecified() {
        addr.set_ip(if addr.is_ipv4() { [127, 0, 0, 1].into() } else { std::net::Ipv6Addr::LOCALHOST.into() });
    }
    if config.tls.is_some() {
        // The TLS listener answering a TCP connection is the check; the HTTP probe needs a
        // client certificate policy that a health check should not carry.
        tokio::time::timeout(std::time::Duration::from_secs(5), tokio::net::TcpStream::connect(addr))
            .await
            .context("timed out")?
            .with_context(|| format!("nothing answers on {addr}"))?;
        return Ok(());
    }
    let probe = async {
        let mut s = tokio::net::TcpStream::connect(addr).await?;
        s.write_all(format!("GET /healthz HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes()).await?;
        let mut buf = Vec::new();
        s.read_to_end(&mut buf).await?;
        Ok::<_, std::io::Error>(buf)
    };
    let buf = tokio::time::timeout(std::time::Duration::from_secs(5), probe)
        .await
        .context("timed out")?
        .with_context(|| format!("nothing answers on {addr}"))?;
    let text = String::from_utf8_lossy(&buf);
    if text.starts_with("HTTP/1.1 200") && text.contains("\"status\":\"ok\"") {
        Ok(())
    } else {
        bail!("{addr} answered, but not healthy: {}", text.lines().next().unwrap_or(""))
    }
}
