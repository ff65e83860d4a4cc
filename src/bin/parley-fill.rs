//! parley-fill: fills a new store with a year of a busy site, for the report and search
//! benchmarks (tests/bench/REPORTS.md).
//!
//! It creates the store with the library's `Store` (migrations included), an owner, one site,
//! agents, departments and campaigns through the same store calls as the admin pages, then
//! plays a year of chats through the real `Switchboard` in virtual time (`sim.rs`) and writes
//! its records with `Store::write_chat_records`, as the realtime task does: statistics cells
//! and the search index are written by the store itself as chats end. Seeded: the same flags
//! give the same chats (times are relative to the moment it runs).
//!
//! Not written: visitor records and tokens (a widget's `hello` writes them; no report or
//! search reads them), invitations, cross-site transfers (one site).

#[path = "parley-fill/sim.rs"]
mod sim;
#[path = "parley-fill/text.rs"]
mod text;

use anyhow::{Context, bail};
use clap::Parser;
use parley::domain::forms::{CampaignForm, DepartmentDraft, UserDraft};
use parley::domain::i18n::Message as Text;

use parley::domain::model::{AllocationRule, Role};
use parley::domain::switchboard::{AgentProfile, ChatTexts};
use parley::store::Store;
use std::path::PathBuf;
use std::sync::mpsc;
use std::time::Instant;

#[derive(Parser)]
#[command(name = "parley-fill", about = "Fill a new Parley store with a year of a busy site (benchmark data)")]
struct Cli {
    /// The data directory: created, or empty.
    #[arg(long)]
    data: PathBuf,
    /// Chats to start over the year (visitors who find an agent or a queue).
    #[arg(long, default_value_t = 1_000_000)]
    chats: u64,
    /// Mean messages of a conversation (visitor and agents; uniform from half to 1.5 times).
    #[arg(long, default_value_t = 10.0)]
    messages_per_chat: f64,
    /// Share of chats with a transfer (cold, warm, queue, broadcast, unavailable agent).
    #[arg(long, default_value_t = 0.2)]
    transfer_share: f64,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Days of history, ending now.
    #[arg(long, default_value_t = 365)]
    days: u64,
    /// Agents of the site.
    #[arg(long, default_value_t = 40)]
    agents: u64,
    /// Ended chats per `write_chat_records` call.
    #[arg(long, default_value_t = 1000)]
    batch: usize,
}

/// Sign-in for the benchmark: the owner, and agent k is agent<k>@fill.example.
const OWNER_EMAIL: &str = "owner@fill.example";
const OWNER_PASSWORD: &str = "fill-owner-password";
const AGENT_PASSWORD: &str = "fill-agent-password";

fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if cli.data.exists() && std::fs::read_dir(&cli.data)?.next().is_some() {
        bail!("{} is not empty: parley-fill only fills a new store", cli.data.display());
    }
    std::fs::create_dir_all(&cli.data)?;
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let started = Instant::now();
    let store = Store::open(&cli.data).context("open the store")?;
    let now = now_ms();
    let start = now - cli.days * 86_400_000;
    let org = rt.block_on(setup(&store, &cli, start))?;
    eprintln!("organisation created in {:.1} s", started.elapsed().as_secs_f64());

    let plan = sim::Plan {
        chats: cli.chats,
        messages_per_chat: cli.messages_per_chat,
        transfer_share: cli.transfer_share,
        start,
        last_arrival: now - 3 * 3_600_000,
        end: now - 60_000,
        batch: cli.batch,
    };
    // At most two batches in flight: the simulation and the writer run side by side.
    let (done_tx, done_rx) = mpsc::sync_channel::<Result<(), parley::store::StoreError>>(4);
    let mut in_flight = 0usize;
    let mut last_report = 0u64;
    let sim_started = Instant::now();
    let counts = sim::Sim::new(&org, &plan, cli.seed).run(|writes, counts| {
        while in_flight >= 2 {
            match done_rx.recv() {
                Ok(Ok(())) => in_flight -= 1,
                Ok(Err(e)) => panic!("the store refused a batch: {e}"),
                Err(_) => panic!("the store writer stopped"),
            }
        }
        if writes.is_empty() {
            return;
        }
        let tx = done_tx.clone();
        in_flight += 1;
        if let Err(e) = store.write_chat_records(writes, move |r| drop(tx.send(r))) {
            panic!("the store is closed: {e}");
        }
        if counts.chats >= last_report + cli.chats / 20 {
            last_report = counts.chats;
            let secs = sim_started.elapsed().as_secs_f64();
            eprintln!(
                "{} chats ({} ended), {} messages, {} transfers; virtual {}; {:.0} s, {:.0} chats/s",
                counts.chats,
                counts.ended,
                counts.messages,
                counts.transfers_total(),
                parley::domain::utc(counts.now),
                secs,
                counts.chats as f64 / secs
            );
        }
    });
    for _ in 0..in_flight {
        if let Ok(Err(e)) = done_rx.recv() {
            bail!("the store refused a batch: {e}");
        }
    }
    rt.block_on(store.close());
    drop(store);
    let elapsed = started.elapsed().as_secs_f64();
    let size = std::fs::metadata(parley::store::db_path(&cli.data))?.len();
    println!("data dir:        {}", cli.data.display());
    println!("owner:           {OWNER_EMAIL} / {OWNER_PASSWORD} (agents: agent1@fill.example … / {AGENT_PASSWORD})");
    println!("history:         {} to {}", parley::domain::utc(start), parley::domain::utc(counts.now));
    println!("chats started:   {} (arrivals {}, refused offline {})", counts.chats, counts.arrived, counts.offline);
    println!(
        "chats ended:     {} (abandoned in queue by the visitor {}, no agent {}, agent never wrote {})",
        counts.ended, counts.abandoned, counts.no_agent, counts.missed_by_agent
    );
    println!(
        "messages:        {} (+ {} notes), {} events in all, {} surveys",
        counts.messages, counts.notes, counts.events, counts.surveys
    );
    println!(
        "transfers:       {} {:?}; refused by the switchboard: {}",
        counts.transfers_total(),
        counts.transfers,
        counts.transfer_refused
    );
    println!("transfer steps:  {:?}", counts.transfer_steps);
    println!("a rare word:     {} (an order number in the last chats)", counts.probe_number);
    println!("elapsed:         {elapsed:.1} s");
    println!("store file:      {} bytes ({:.2} GiB)", size, size as f64 / (1u64 << 30) as f64);
    Ok(())
}

async fn hash(password: &str) -> anyhow::Result<String> {
    parley::web::auth::hash_password(password.to_string()).await.map_err(|e| anyhow::anyhow!("{e}"))
}

/// The owner, one site, four departments, the agents, two campaigns; what the switchboard
/// needs of them.
async fn setup(store: &Store, cli: &Cli, at: u64) -> anyhow::Result<sim::Org> {
    store.create_owner("Owner".into(), OWNER_EMAIL.into(), hash(OWNER_PASSWORD).await?, true, at).await?;
    let site = store.create_site("Outdoor Shop".into(), at).await?;
    let scope = store.site(site.id);
    let mut departments = Vec::new();
    for (name, rule) in [
        ("Sales", AllocationRule::RoundRobin),
        ("Support", AllocationRule::LeastBusy),
        ("Billing", AllocationRule::RoundRobin),
        ("Technical", AllocationRule::LeastBusy),
    ] {
        let d = scope.save_department(None, DepartmentDraft { name: name.into(), rule, members: vec![] }).await?;
        departments.push(d.id);
    }
    // One hash for every agent: argon2 is slow on purpose, and they share the password.
    let agent_hash = hash(AGENT_PASSWORD).await?;
    let mut agents = Vec::new();
    for k in 1..=cli.agents {
        // Every agent in one or two departments, so that each shift covers all four.
        let i = k as usize;
        let mut member = vec![departments[i % 4]];
        if i % 3 == 0 {
            member.push(departments[(i + 1) % 4]);
        }
        let (first, last) = (text::list(text::FIRST), text::list(text::LAST));
        let (first, last) = (first[i % first.len()], last[(i * 7) % last.len()]);
        let draft = UserDraft {
            name: format!("{first} {last}"),
            email: format!("agent{k}@fill.example"),
            role: if k <= 2 { Role::Admin } else { Role::Agent },
            skills: vec![],
            max_chats: 4,
            active: true,
            departments: member,
            password: Some(AGENT_PASSWORD.into()),
        };
        let u = scope.save_user(None, draft, Some(agent_hash.clone()), at).await?;
        agents.push(AgentProfile {
            id: u.id,
            site: site.id,
            name: u.name,
            email: u.email,
            skills: u.skills,
            max_chats: u.max_chats,
            active: true,
            away: false,
        });
    }
    let mut campaigns = Vec::new();
    for (name, dept, share) in [("Shop", departments[0], 0.55), ("Help centre", departments[1], 0.45)] {
        let form = CampaignForm {
            name: name.into(),
            language: "en".into(),
            color: "#2f6fde".into(),
            postchat_enabled: Some("on".into()),
            department: dept.0.to_string(),
            notify_transfer: Some("on".into()),
            proactive_mode: "disabled".into(),
            proactive_after_secs: "30".into(),
            reinvite_after_mins: "0".into(),
            ..Default::default()
        };
        let draft = form.validate().map_err(|e| anyhow::anyhow!("campaign form: {:?}", e.0))?;
        let c = scope.save_campaign(None, draft, at).await?;
        campaigns.push(sim::Campaign {
            id: c.id,
            department: c.department,
            texts: ChatTexts {
                greeting: c.message(Text::Greeting).to_string(),
                queue: c.message(Text::Queue).to_string(),
            },
            share,
        });
    }
    let site = store.get_site(site.id)?;
    let directory = parley::realtime::directory(store, site.id)?;
    Ok(sim::Org { site: site.id, campaigns, departments, agents, directory })
}
