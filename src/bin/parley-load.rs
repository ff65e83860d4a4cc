//! parley-load: drives a running Parley server over real WebSockets and measures it.
//!
//! The coordinator (this process) sets up or loads an organisation (admin pages, agents signed
//! in once), measures the floor (a bare WebSocket echo, fsync of the data directory), spawns
//! `--processes` worker processes (itself, `parley-load worker`) that hold the sockets, steps
//! them through a scenario over their standard input, samples the server's RSS, CPU and
//! /metrics, merges the workers' histograms and prints one report. See BENCHMARKS.md.
//!
//! Scenarios: `idle`, `steady`, `throughput`, `burst`; `setup` and `floor` on their own.
//! Every loop is bounded in count and time, and traffic goes only to loopback addresses.

#[path = "parley-load/floor.rs"]
mod floor;
#[path = "parley-load/http.rs"]
mod http;
#[path = "parley-load/proto.rs"]
mod proto;
#[path = "parley-load/stats.rs"]
mod stats;
#[path = "parley-load/worker.rs"]
mod worker;

use clap::{Args, Parser, Subcommand};
use proto::*;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use stats::{H, Summary, merge, summary, wall_ns};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout};

#[derive(Parser)]
#[command(name = "parley-load", about = "Load generator and benchmark for a running Parley server (loopback only)")]
struct Cli {
    #[command(flatten)]
    o: Opts,
    #[command(subcommand)]
    cmd: Scenario,
}

#[derive(Args, Clone, Debug)]
struct Opts {
    /// The server's base URL (plain HTTP on a loopback address).
    #[arg(long, global = true, default_value = "http://127.0.0.1:8080")]
    base: String,
    /// The organisation file: read when it exists, else set up through the admin pages and written.
    #[arg(long, global = true, default_value = "parley-load-org.json")]
    org: PathBuf,
    /// The owner's email, for setting up the organisation.
    #[arg(long, global = true)]
    owner_email: Option<String>,
    /// File with the owner's password (or set PARLEY_LOAD_OWNER_PASSWORD).
    #[arg(long, global = true)]
    owner_password_file: Option<PathBuf>,
    /// Setup: sites to create (agents and visitors are spread over them).
    #[arg(long, global = true, default_value_t = 1)]
    sites: usize,
    /// Setup: agents to create in all (spread over the sites).
    #[arg(long, global = true, default_value_t = 500)]
    org_agents: usize,
    /// Setup: each agent's max concurrent chats (1 to 50).
    #[arg(long, global = true, default_value_t = 20)]
    max_chats: u32,
    /// Setup: the department's allocation rule (round_robin or least_busy).
    #[arg(long, global = true, default_value = "round_robin")]
    rule: String,
    /// The server's process id (default: the one running `parley serve`).
    #[arg(long, global = true)]
    server_pid: Option<u32>,
    /// The server's data directory, for the fsync floor (default: from the server's --config).
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,
    /// Worker processes holding the sockets.
    #[arg(long, global = true, default_value_t = 1)]
    processes: usize,
    /// Local source addresses for client sockets: a count N (127.0.0.1 … 127.0.0.N) or a list.
    #[arg(long, global = true, default_value = "1")]
    source_ips: String,
    /// Tokio threads per worker process.
    #[arg(long, global = true, default_value_t = 2)]
    threads: usize,
    /// Connections opened at once per worker.
    #[arg(long, global = true, default_value_t = 200)]
    connect_concurrency: usize,
    /// Bytes of padding in every chat message's text.
    #[arg(long, global = true, default_value_t = 64)]
    message_bytes: usize,
    /// Share of the message rate sent by agents (the rest by visitors).
    #[arg(long, global = true, default_value_t = 0.5)]
    agent_share: f64,
    /// Also write the report as JSON to this file.
    #[arg(long, global = true)]
    json: Option<PathBuf>,
    #[arg(long, global = true, default_value_t = 5000)]
    echo_samples: usize,
    #[arg(long, global = true, default_value_t = 1000)]
    fsync_samples: usize,
    /// Skip the floor measurements.
    #[arg(long, global = true)]
    no_floor: bool,
    /// Hard limit of the whole run; workers are killed past it.
    #[arg(long, global = true, default_value_t = 1800)]
    max_run_secs: u64,
    /// Leave the chats open at the end (by default visitors end them, freeing the agents).
    #[arg(long, global = true)]
    keep_chats: bool,
    /// Before starting, wait up to this long for the machine to be quiet (under 15% busy over
    /// 3 s), since other work on the same cores distorts every figure.
    #[arg(long, global = true, default_value_t = 0)]
    wait_idle_secs: u64,
}

#[derive(Subcommand, Clone, Debug)]
enum Scenario {
    /// Create the organisation (owner sign-in, sites, department, agents, campaign) and sign
    /// the agents in; writes --org.
    Setup,
    /// Only the floor: WebSocket echo and fsync latency.
    Floor,
    /// V visitor and A agent sockets connected and idle: server RSS per socket.
    Idle {
        #[arg(long, default_value_t = 15_000)]
        visitors: usize,
        #[arg(long, default_value_t = 500)]
        agents: usize,
        /// Seconds to hold the sockets open after they are all connected (RSS sampled each second).
        #[arg(long, default_value_t = 30)]
        hold_secs: u64,
        #[arg(long, default_value_t = 5)]
        settle_secs: u64,
    },
    /// C concurrent chats exchanging messages at a total rate.
    Steady {
        #[arg(long, default_value_t = 5000)]
        chats: usize,
        #[arg(long, default_value_t = 500)]
        agents: usize,
        /// Messages per second, all chats together (visitors' and agents').
        #[arg(long, default_value_t = 2000.0)]
        rate: f64,
        #[arg(long, default_value_t = 30)]
        duration_secs: u64,
        #[arg(long, default_value_t = 5)]
        warmup_secs: u64,
        /// Chats started per second while setting up.
        #[arg(long, default_value_t = 1000.0)]
        start_rate: f64,
    },
    /// Raise the rate step by step until the durable-ack p99 passes the limit.
    Throughput {
        #[arg(long, default_value_t = 5000)]
        chats: usize,
        #[arg(long, default_value_t = 500)]
        agents: usize,
        /// First rate (messages/s).
        #[arg(long, default_value_t = 2000.0)]
        from: f64,
        /// Each next rate is this times the previous one.
        #[arg(long, default_value_t = 1.25)]
        factor: f64,
        #[arg(long, default_value_t = 10)]
        step_secs: u64,
        #[arg(long, default_value_t = 200_000.0)]
        max_rate: f64,
        #[arg(long, default_value_t = 20)]
        max_steps: u32,
        #[arg(long, default_value_t = 50.0)]
        p99_limit_ms: f64,
        #[arg(long, default_value_t = 1000.0)]
        start_rate: f64,
        /// Repeat a step (at most this many times in the run) when other processes used more
        /// than 5% of the machine during it.
        #[arg(long, default_value_t = 4)]
        retries: u32,
    },
    /// N new chats within a window: time until all are allocated or queued, and checks.
    Burst {
        #[arg(long, default_value_t = 10_000)]
        chats: usize,
        #[arg(long, default_value_t = 500)]
        agents: usize,
        #[arg(long, default_value_t = 1000)]
        window_ms: u64,
        /// The target: all allocated or queued within this long of the burst's start.
        #[arg(long, default_value_t = 2000)]
        deadline_ms: u64,
        /// Longest wait for the outcome.
        #[arg(long, default_value_t = 60)]
        wait_secs: u64,
    },
    /// (internal) a worker process, driven over standard input.
    #[command(hide = true)]
    Worker,
}

type Res<T> = Result<T, String>;

fn main() {
    if std::env::args().nth(1).as_deref() == Some("worker") {
        std::process::exit(worker::main());
    }
    let cli = Cli::parse();
    let rt = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("parley-load: {e}");
            std::process::exit(1);
        }
    };
    let max = Duration::from_secs(cli.o.max_run_secs);
    let out = rt.block_on(async move {
        match tokio::time::timeout(max, run(cli)).await {
            Ok(r) => r,
            Err(_) => Err("the run passed --max-run-secs; stopped (workers are killed)".into()),
        }
    });
    rt.shutdown_timeout(Duration::from_secs(3));
    if let Err(e) = out {
        eprintln!("parley-load: {e}");
        std::process::exit(1);
    }
}

// ---- the server, seen from outside ----

#[derive(Clone)]
struct Probe {
    pid: Option<u32>,
    hp: String,
    tck: u64,
    /// This process and its workers.
    mine: std::sync::Arc<std::sync::Mutex<Vec<u32>>>,
}

#[derive(Clone, Debug, Default)]
struct Snap {
    wall_ns: u64,
    rss_kb: u64,
    cpu_ticks: u64,
    fds: u64,
    commits: f64,
    writes: f64,
    open_sockets: f64,
    /// The whole machine: busy and all clock ticks (every core).
    machine: (u64, u64, u64),
    /// Every process: (command, CPU ticks).
    procs: HashMap<u32, (String, u64)>,
}

impl Probe {
    async fn snap(&self) -> Snap {
        let m = match http::request(&self.hp, "GET", "/metrics", "", None).await {
            Ok(r) => stats::parse_metrics(&r.body),
            Err(_) => BTreeMap::new(),
        };
        let g = |k: &str| m.get(k).copied().unwrap_or(f64::NAN);
        Snap {
            wall_ns: wall_ns(),
            rss_kb: self.pid.and_then(stats::rss_kb).unwrap_or(0),
            cpu_ticks: stats::cpu_ticks(self.pid).filter(|_| self.pid.is_some()).unwrap_or(0),
            fds: self.pid.and_then(stats::fd_count).unwrap_or(0),
            commits: g("parley_store_commits_total"),
            writes: g("parley_store_writes_total"),
            open_sockets: g("parley_open_sockets"),
            machine: stats::machine_ticks_irq(),
            procs: stats::all_processes(),
        }
    }

    fn cpu_secs(&self, a: &Snap, b: &Snap) -> f64 {
        b.cpu_ticks.saturating_sub(a.cpu_ticks) as f64 / self.tck as f64
    }

    /// CPU seconds between two snapshots: (this load generator's processes, every other
    /// process but the server, the three busiest of those others).
    fn others(&self, a: &Snap, b: &Snap) -> (f64, f64, Vec<(String, f64)>) {
        let mine: Vec<u32> = self.mine.lock().map(|m| m.clone()).unwrap_or_default();
        let (mut load, mut other) = (0u64, 0u64);
        let mut top = vec![];
        for (pid, (comm, t1)) in &b.procs {
            let t0 = a.procs.get(pid).map(|x| x.1).unwrap_or(0);
            let d = t1.saturating_sub(t0);
            if Some(*pid) == self.pid {
                continue;
            }
            if mine.contains(pid) || *pid == std::process::id() {
                load += d;
            } else {
                other += d;
                if d > 0 {
                    top.push((format!("{comm} ({pid})"), d as f64 / self.tck as f64));
                }
            }
        }
        top.sort_by(|x, y| y.1.total_cmp(&x.1));
        top.truncate(3);
        (load as f64 / self.tck as f64, other as f64 / self.tck as f64, top)
    }
}

/// Server-side figures between two snapshots.
fn between(p: &Probe, a: &Snap, b: &Snap, messages: u64) -> Value {
    let secs = (b.wall_ns.saturating_sub(a.wall_ns)) as f64 / 1e9;
    let cpu = p.cpu_secs(a, b);
    let commits = b.commits - a.commits;
    let writes = b.writes - a.writes;
    let all = b.machine.1.saturating_sub(a.machine.1) as f64;
    let busy = b.machine.0.saturating_sub(a.machine.0) as f64;
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1) as f64;
    let (load_cpu, other_cpu, top) = p.others(a, b);
    let irq = b.machine.2.saturating_sub(a.machine.2) as f64 / p.tck as f64;
    json!({
        "load_generator_cpu_seconds": load_cpu,
        "other_processes_cpu_seconds": other_cpu,
        "irq_softirq_cpu_seconds": irq,
        "short_lived_or_kernel_cpu_seconds": (if all > 0.0 { secs * cores * busy / all } else { 0.0 }) - cpu - load_cpu - other_cpu - irq,
        "busiest_other_processes": top,
        "machine_busy_percent_of_all_cores": if all > 0.0 { 100.0 * busy / all } else { f64::NAN },
        "machine_busy_cpu_seconds": if all > 0.0 { secs * cores * busy / all } else { f64::NAN },
        "seconds": secs,
        "server_cpu_seconds": cpu,
        "server_cpu_percent_of_one_core": if secs > 0.0 { 100.0 * cpu / secs } else { 0.0 },
        "server_cpu_us_per_message": if messages > 0 { 1e6 * cpu / messages as f64 } else { f64::NAN },
        "store_commits": commits,
        "store_writes": writes,
        "writes_per_commit": if commits > 0.0 { writes / commits } else { f64::NAN },
        "commits_per_second": if secs > 0.0 { commits / secs } else { 0.0 },
        "server_rss_kb_before": a.rss_kb,
        "server_rss_kb_after": b.rss_kb,
    })
}

/// Wait (at most `secs`) for the machine to be quiet; false when it never was.
async fn wait_idle(secs: u64) -> bool {
    if secs == 0 {
        return true;
    }
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let busy = stats::machine_busy(3000).await;
        if busy < 0.15 {
            eprintln!("machine quiet ({:.0}% busy over 3 s): starting", busy * 100.0);
            return true;
        }
        if Instant::now() >= deadline {
            eprintln!("machine still {:.0}% busy after waiting {secs} s: starting anyway", busy * 100.0);
            return false;
        }
        eprintln!("machine {:.0}% busy (other work): waiting", busy * 100.0);
    }
}

// ---- workers ----

struct Workers {
    kids: Vec<Child>,
    ins: Vec<ChildStdin>,
    outs: Vec<Lines<BufReader<ChildStdout>>>,
}

impl Workers {
    async fn spawn(specs: Vec<Spec>, probe: &Probe) -> Res<Workers> {
        let exe = std::env::current_exe().map_err(|e| e.to_string())?;
        let mut w = Workers { kids: vec![], ins: vec![], outs: vec![] };
        for spec in specs {
            let mut child = tokio::process::Command::new(&exe)
                .arg("worker")
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::inherit())
                .kill_on_drop(true)
                .spawn()
                .map_err(|e| format!("spawn a worker: {e}"))?;
            let mut stdin = child.stdin.take().ok_or("worker stdin")?;
            let stdout = child.stdout.take().ok_or("worker stdout")?;
            let line = serde_json::to_string(&spec).map_err(|e| e.to_string())? + "\n";
            stdin.write_all(line.as_bytes()).await.map_err(|e| e.to_string())?;
            w.ins.push(stdin);
            w.outs.push(BufReader::new(stdout).lines());
            if let (Some(id), Ok(mut m)) = (child.id(), probe.mine.lock()) {
                m.push(id);
            }
            w.kids.push(child);
        }
        Ok(w)
    }

    /// Send `cmd` to every worker and read one reply from each.
    async fn call<T: DeserializeOwned>(&mut self, cmd: &Cmd, secs: u64) -> Res<Vec<T>> {
        let line = serde_json::to_string(cmd).map_err(|e| e.to_string())? + "\n";
        for i in &mut self.ins {
            i.write_all(line.as_bytes()).await.map_err(|e| format!("to a worker: {e}"))?;
            i.flush().await.map_err(|e| e.to_string())?;
        }
        let mut out = vec![];
        let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
        for (k, o) in self.outs.iter_mut().enumerate() {
            let got = tokio::time::timeout_at(deadline, o.next_line()).await;
            let text = match got {
                Ok(Ok(Some(t))) => t,
                Ok(Ok(None)) => return Err(format!("worker {k} exited")),
                Ok(Err(e)) => return Err(format!("worker {k}: {e}")),
                Err(_) => return Err(format!("worker {k}: no answer to {cmd:?} within {secs} s")),
            };
            out.push(serde_json::from_str(&text).map_err(|e| format!("worker {k} said {text:?}: {e}"))?);
        }
        Ok(out)
    }

    async fn finish(mut self) {
        let _ = self.call::<Value>(&Cmd::Exit, 1).await;
        for k in &mut self.kids {
            if tokio::time::timeout(Duration::from_secs(5), k.wait()).await.is_err() {
                let _ = k.kill().await;
            }
        }
    }

    async fn status(&mut self) -> Res<Status> {
        let all: Vec<Status> = self.call(&Cmd::Status, 30).await?;
        let mut s = Status::default();
        for x in all {
            s.visitors += x.visitors;
            s.agents += x.agents;
            s.connected_v += x.connected_v;
            s.connected_a += x.connected_a;
            s.starts_sent += x.starts_sent;
            s.chat_frames += x.chat_frames;
            s.assigned_v += x.assigned_v;
            s.offline += x.offline;
            s.ended_v += x.ended_v;
            s.assigned_frames += x.assigned_frames;
            s.agent_chats += x.agent_chats;
            s.last_chat_frame_ns = s.last_chat_frame_ns.max(x.last_chat_frame_ns);
            s.last_assigned_ns = s.last_assigned_ns.max(x.last_assigned_ns);
            s.slots_v += x.slots_v;
            s.slots_a += x.slots_a;
        }
        Ok(s)
    }

    async fn connect(&mut self, agents: bool) -> Res<(ConnectReply, H)> {
        let cmd = if agents { Cmd::ConnectAgents } else { Cmd::ConnectVisitors };
        let all: Vec<ConnectReply> = self.call(&cmd, 600).await?;
        let h = merge(all.iter().map(|r| &r.latency));
        let mut sum = ConnectReply::default();
        for r in all {
            sum.ok += r.ok;
            sum.failed += r.failed;
            sum.elapsed_ms = sum.elapsed_ms.max(r.elapsed_ms);
            sum.errors.extend(r.errors);
        }
        let who = if agents { "agents" } else { "visitors" };
        let s = summary(&h);
        eprintln!(
            "connected {} {who} ({} failed) in {:.1} s; connect+hello p50 {:.1} ms, p99 {:.1} ms",
            sum.ok,
            sum.failed,
            sum.elapsed_ms as f64 / 1000.0,
            s.p50_ms,
            s.p99_ms
        );
        for e in sum.errors.iter().take(5) {
            eprintln!("  connect error: {e}");
        }
        Ok((sum, h))
    }

    async fn report(&mut self) -> Res<Vec<Report>> {
        self.call(&Cmd::Report, 120).await
    }

    /// Poll until `done` or `secs` pass.
    async fn wait(&mut self, secs: u64, every_ms: u64, done: impl Fn(&Status) -> bool) -> Res<(Status, bool)> {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let s = self.status().await?;
            if done(&s) {
                return Ok((s, true));
            }
            if Instant::now() >= deadline {
                return Ok((s, false));
            }
            tokio::time::sleep(Duration::from_millis(every_ms)).await;
        }
    }

    /// End the chats (unless kept) and close every socket.
    async fn wind_down(&mut self, keep_chats: bool) -> Res<Value> {
        let mut out = json!({});
        if !keep_chats {
            let r: Vec<EndReply> = self.call(&Cmd::EndChats { timeout_ms: 30_000 }, 90).await?;
            let (asked, ended) = r.iter().fold((0, 0), |a, x| (a.0 + x.asked, a.1 + x.ended));
            eprintln!("ended {ended} of {asked} chats");
            out["chats_ended"] = json!({"asked": asked, "ended": ended});
        }
        let st = self.status().await?;
        let m = Merged { reports: self.report().await? };
        let ended: BTreeMap<String, u64> =
            m.counters().into_iter().filter(|(k, _)| k.contains("socket ended")).collect();
        eprintln!(
            "before closing: {} visitor and {} agent sockets connected; sockets ended by the server so far: {ended:?}",
            st.connected_v, st.connected_a
        );
        out["before_close"] =
            json!({"connected_visitors": st.connected_v, "connected_agents": st.connected_a, "ended": ended});
        let r: Vec<CloseReply> = self.call(&Cmd::Close { timeout_ms: 20_000 }, 60).await?;
        let (closed, left) = r.iter().fold((0, 0), |a, x| (a.0 + x.closed, a.1 + x.left));
        eprintln!("closed {closed} sockets ({left} did not finish closing)");
        out["sockets_closed"] = json!({"closed": closed, "left": left});
        Ok(out)
    }
}

/// The workers' reports, merged.
#[derive(Default)]
struct Merged {
    reports: Vec<Report>,
}

impl Merged {
    fn step(&self, step: u32) -> StepView {
        let parts: Vec<&StepStats> = self.reports.iter().filter_map(|r| r.steps.get(&step)).collect();
        let mut v = StepView {
            ack_v: merge(parts.iter().map(|s| &s.ack_v)),
            ack_a: merge(parts.iter().map(|s| &s.ack_a)),
            deliv_va: merge(parts.iter().map(|s| &s.deliv_va)),
            deliv_av: merge(parts.iter().map(|s| &s.deliv_av)),
            ..Default::default()
        };
        for s in parts {
            v.sent += s.sent_v + s.sent_a;
            v.acked += s.acked_v + s.acked_a;
            v.errors += s.errors;
        }
        v
    }

    fn counters(&self) -> BTreeMap<String, u64> {
        let mut c = BTreeMap::new();
        for r in &self.reports {
            for (k, v) in &r.counters {
                *c.entry(k.clone()).or_insert(0) += v;
            }
        }
        c
    }

    fn cpu_ticks(&self) -> u64 {
        self.reports.iter().map(|r| r.cpu_ticks).sum()
    }
}

struct StepView {
    ack_v: H,
    ack_a: H,
    deliv_va: H,
    deliv_av: H,
    sent: u64,
    acked: u64,
    errors: u64,
}

impl Default for StepView {
    fn default() -> Self {
        StepView {
            ack_v: stats::hist(),
            ack_a: stats::hist(),
            deliv_va: stats::hist(),
            deliv_av: stats::hist(),
            sent: 0,
            acked: 0,
            errors: 0,
        }
    }
}

impl StepView {
    fn ack(&self) -> H {
        let mut h = self.ack_v.clone();
        let _ = h.add(&self.ack_a);
        h
    }
    fn deliv(&self) -> H {
        let mut h = self.deliv_va.clone();
        let _ = h.add(&self.deliv_av);
        h
    }
}

fn sjson(s: &Summary) -> Value {
    serde_json::to_value(s).unwrap_or(Value::Null)
}

// ---- the run ----

fn source_ips(spec: &str) -> Res<Vec<IpAddr>> {
    let ips: Vec<IpAddr> = if let Ok(n) = spec.parse::<u8>() {
        (1..=n.max(1)).map(|i| IpAddr::V4(Ipv4Addr::new(127, 0, 0, i))).collect()
    } else {
        spec.split(',').map(|s| s.trim().parse().map_err(|_| format!("not an address: {s}"))).collect::<Res<_>>()?
    };
    if let Some(bad) = ips.iter().find(|ip| !ip.is_loopback()) {
        return Err(format!("{bad}: source addresses must be loopback (127.0.0.0/8)"));
    }
    Ok(ips)
}

fn owner_password(o: &Opts) -> Res<String> {
    if let Some(f) = &o.owner_password_file {
        return std::fs::read_to_string(f)
            .map(|s| s.trim_end_matches(['\n', '\r']).to_string())
            .map_err(|e| e.to_string());
    }
    std::env::var("PARLEY_LOAD_OWNER_PASSWORD")
        .map_err(|_| "the owner's password: give --owner-password-file or set PARLEY_LOAD_OWNER_PASSWORD".into())
}

async fn setup_org(o: &Opts, hp: &str) -> Res<http::Org> {
    let email = o.owner_email.clone().ok_or("setting up needs --owner-email (and the owner's password)")?;
    let password = owner_password(o)?;
    let sites = o.sites.max(1);
    let per_site = o.org_agents.div_ceil(sites);
    let t0 = Instant::now();
    let org = http::setup(hp, &o.base, &email, &password, sites, per_site, o.max_chats, &o.rule).await?;
    let text = serde_json::to_string_pretty(&org).map_err(|e| e.to_string())?;
    std::fs::write(&o.org, text).map_err(|e| format!("{}: {e}", o.org.display()))?;
    eprintln!(
        "setup: {} site(s), {} agents (max {} chats each) in {:.1} s; written to {}",
        org.sites.len(),
        org.agent_count(),
        org.max_chats,
        t0.elapsed().as_secs_f64(),
        o.org.display()
    );
    Ok(org)
}

async fn load_org(o: &Opts, hp: &str, need_agents: usize) -> Res<http::Org> {
    let org: http::Org = if o.org.exists() {
        let text = std::fs::read_to_string(&o.org).map_err(|e| e.to_string())?;
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", o.org.display()))?
    } else {
        setup_org(o, hp).await?
    };
    if org.agent_count() < need_agents {
        return Err(format!(
            "{} has {} agents; {need_agents} needed (set up a new one with --org-agents)",
            o.org.display(),
            org.agent_count()
        ));
    }
    if let Some(a) = org.pick_agents(1).first()
        && !http::session_ok(hp, &a.1.cookie).await
    {
        return Err(format!(
            "the agents' sessions in {} are not valid on {} (another server or data dir?): remove the file to set up anew",
            o.org.display(),
            o.base
        ));
    }
    Ok(org)
}

struct Ctx {
    o: Opts,
    hp: String,
    probe: Probe,
    ips: Vec<IpAddr>,
    data_dir: Option<PathBuf>,
    report: Value,
}

fn machine() -> Value {
    let nproc = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|t| t.lines().next().map(str::to_string))
        .unwrap_or_default();
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default().trim().to_string();
    json!({"nproc": nproc, "memory": mem, "kernel": kernel, "open_files_limit": stats::open_files_limit()})
}

async fn run(cli: Cli) -> Res<()> {
    let o = cli.o.clone();
    let hp = http::host_port(&o.base)?;
    let ips = source_ips(&o.source_ips)?;
    if let Scenario::Setup = cli.cmd {
        setup_org(&o, &hp).await?;
        return Ok(());
    }
    let pid = match o.server_pid {
        Some(p) => Some(p),
        None => match stats::find_server_pid() {
            Ok(p) => Some(p),
            Err(e) => {
                eprintln!("note: {e}; server RSS and CPU will not be reported");
                None
            }
        },
    };
    let data_dir = o.data_dir.clone().or_else(|| pid.and_then(stats::server_data_dir));
    let probe = Probe { pid, hp: hp.clone(), tck: stats::clk_tck(), mine: Default::default() };
    let mut ctx = Ctx {
        report: json!({
            "scenario": format!("{:?}", cli.cmd),
            "argv": std::env::args().collect::<Vec<_>>(),
            "machine": machine(),
            "server_pid": pid,
            "data_dir": data_dir.as_deref().map(stats::path_display),
            "processes": o.processes,
            "source_ips": ips.iter().map(|i| i.to_string()).collect::<Vec<_>>(),
        }),
        o,
        hp,
        probe,
        ips,
        data_dir,
    };
    let quiet = wait_idle(ctx.o.wait_idle_secs).await;
    ctx.report["machine_quiet_at_start"] = json!(quiet);
    ctx.report["loadavg_at_start"] = json!(std::fs::read_to_string("/proc/loadavg").unwrap_or_default().trim());
    println!("parley-load {:?}", cli.cmd);
    let threads = pid.and_then(stats::threads);
    println!("  server {} pid {:?} ({threads:?} threads), data dir {:?}", ctx.o.base, pid, ctx.data_dir);
    if !ctx.o.no_floor {
        floor(&mut ctx).await?;
    }
    match cli.cmd.clone() {
        Scenario::Setup | Scenario::Worker | Scenario::Floor => {}
        Scenario::Idle { visitors, agents, hold_secs, settle_secs } => {
            idle(&mut ctx, visitors, agents, hold_secs, settle_secs).await?
        }
        Scenario::Steady { chats, agents, rate, duration_secs, warmup_secs, start_rate } => {
            steady(&mut ctx, chats, agents, rate, duration_secs, warmup_secs, start_rate).await?
        }
        Scenario::Throughput {
            chats,
            agents,
            from,
            factor,
            step_secs,
            max_rate,
            max_steps,
            p99_limit_ms,
            start_rate,
            retries,
        } => {
            let t = ThroughputPlan { from, factor, step_secs, max_rate, max_steps, p99_limit_ms, start_rate, retries };
            throughput(&mut ctx, chats, agents, t).await?
        }
        Scenario::Burst { chats, agents, window_ms, deadline_ms, wait_secs } => {
            burst(&mut ctx, chats, agents, window_ms, deadline_ms, wait_secs).await?
        }
    }
    if let Some(p) = &ctx.o.json {
        let text = serde_json::to_string_pretty(&ctx.report).map_err(|e| e.to_string())?;
        std::fs::write(p, text).map_err(|e| format!("{}: {e}", p.display()))?;
        println!("  (JSON report written to {})", p.display());
    }
    Ok(())
}

async fn floor(ctx: &mut Ctx) -> Res<()> {
    let echo = floor::echo(ctx.o.echo_samples, ctx.o.message_bytes).await?;
    let e = summary(&echo);
    let mut f = json!({"echo_round_trip": sjson(&e)});
    println!("floor (measured now, server idle):");
    println!("{}", stats::header());
    println!("{}", stats::row("WebSocket echo round trip", &e));
    if let Some(dir) = ctx.data_dir.clone() {
        let n = ctx.o.fsync_samples;
        let h = tokio::task::spawn_blocking(move || floor::fsync(&dir, n)).await.map_err(|e| e.to_string())??;
        let s = summary(&h);
        println!("{}", stats::row("4 KiB write + fdatasync (data dir)", &s));
        f["fsync"] = sjson(&s);
    } else {
        println!("  (no data dir known: give --data-dir for the fsync floor)");
    }
    ctx.report["floor"] = f;
    Ok(())
}

/// p50 of Parley's delivery as a multiple of (echo p50 + fsync p50).
fn floor_ratio(ctx: &Ctx, delivery_p50_ms: f64) -> Option<f64> {
    let echo = ctx.report["floor"]["echo_round_trip"]["p50_ms"].as_f64()?;
    let fsync = ctx.report["floor"]["fsync"]["p50_ms"].as_f64()?;
    (echo + fsync > 0.0).then(|| delivery_p50_ms / (echo + fsync))
}

fn specs(ctx: &Ctx, org: &http::Org, agents: usize, visitors: usize) -> Res<Vec<Spec>> {
    let n = ctx.o.processes.max(1);
    let picked = org.pick_agents(agents);
    let per = (agents + visitors).div_ceil(n) as u64 + 64;
    if let Some(limit) = stats::open_files_limit()
        && per > limit
    {
        return Err(format!(
            "{per} sockets per process exceed the open-files limit {limit}: raise `ulimit -n` or use more --processes"
        ));
    }
    let per_ip = (agents + visitors).div_ceil(ctx.ips.len());
    if per_ip > 28_000 {
        return Err(format!("{per_ip} sockets per source address: more than the ephemeral ports; add --source-ips"));
    }
    let sites = org.sites.len().max(1);
    let mut out = vec![];
    for k in 0..n {
        out.push(Spec {
            shard: k,
            shards: n,
            server: ctx.hp.clone(),
            origin: ctx.o.base.trim_end_matches('/').to_string(),
            source_ips: ctx.ips.clone(),
            agents: picked
                .iter()
                .enumerate()
                .filter(|(i, _)| i % n == k)
                .map(|(i, (_, a))| AgentSpec { index: i, id: a.id, cookie: a.cookie.clone(), max_chats: org.max_chats })
                .collect(),
            visitors: (0..visitors)
                .filter(|i| i % n == k)
                .map(|i| VisitorSpec { index: agents + i, campaign: org.sites[i % sites].campaign })
                .collect(),
            message_bytes: ctx.o.message_bytes,
            connect_concurrency: ctx.o.connect_concurrency,
            threads: ctx.o.threads,
            max_secs: ctx.o.max_run_secs + 60,
        });
    }
    Ok(out)
}

fn kb_per(a: u64, b: u64, n: u64) -> f64 {
    if n == 0 { f64::NAN } else { (b as f64 - a as f64) * 1024.0 / n as f64 / 1000.0 }
}

async fn idle(ctx: &mut Ctx, visitors: usize, agents: usize, hold_secs: u64, settle_secs: u64) -> Res<()> {
    let org = load_org(&ctx.o, &ctx.hp, agents).await?;
    let mut w = Workers::spawn(specs(ctx, &org, agents, visitors)?, &ctx.probe).await?;
    let s0 = ctx.probe.snap().await;
    let (ca, ha) = w.connect(true).await?;
    let (cv, hv) = w.connect(false).await?;
    tokio::time::sleep(Duration::from_secs(settle_secs)).await;
    let s1 = ctx.probe.snap().await;
    let mut peak = s1.rss_kb;
    for _ in 0..hold_secs {
        tokio::time::sleep(Duration::from_secs(1)).await;
        peak = peak.max(ctx.probe.pid.and_then(stats::rss_kb).unwrap_or(0));
    }
    let st = w.status().await?;
    let s2 = ctx.probe.snap().await;
    let reports = Merged { reports: w.report().await? };
    let down = w.wind_down(true).await?;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let s3 = ctx.probe.snap().await;
    w.finish().await;
    let sockets = ca.ok + cv.ok;
    let load_rss: u64 = reports.reports.iter().map(|r| r.rss_kb).sum();
    println!("idle: {} visitor + {} agent sockets ({} + {} failed)", cv.ok, ca.ok, cv.failed, ca.failed);
    println!("{}", stats::header());
    println!("{}", stats::row("agent connect + hello -> welcome", &summary(&ha)));
    println!("{}", stats::row("visitor connect + hello -> welcome", &summary(&hv)));
    println!(
        "  server RSS: {} KiB before, {} KiB connected (+{settle_secs} s), {} KiB after holding {hold_secs} s (peak {} KiB), {} KiB after closing",
        s0.rss_kb, s1.rss_kb, s2.rss_kb, peak, s3.rss_kb
    );
    println!(
        "  server RSS per socket: {:.2} KB connected, {:.2} KB after the hold (1 KB = 1000 bytes)",
        kb_per(s0.rss_kb, s1.rss_kb, sockets),
        kb_per(s0.rss_kb, s2.rss_kb, sockets)
    );
    println!(
        "  still connected after the hold: {} visitors, {} agents; server open sockets metric {}; server fds {} -> {}",
        st.connected_v, st.connected_a, s2.open_sockets, s0.fds, s2.fds
    );
    println!("  load processes' RSS: {load_rss} KiB in all; counters: {:?}", reports.counters());
    ctx.report["idle"] = json!({
        "visitors": {"ok": cv.ok, "failed": cv.failed, "connect": sjson(&summary(&hv))},
        "agents": {"ok": ca.ok, "failed": ca.failed, "connect": sjson(&summary(&ha))},
        "server_rss_kb": {"before": s0.rss_kb, "connected": s1.rss_kb, "after_hold": s2.rss_kb, "peak": peak, "after_close": s3.rss_kb},
        "server_rss_kb_per_socket_connected": kb_per(s0.rss_kb, s1.rss_kb, sockets) ,
        "server_rss_kb_per_socket_after_hold": kb_per(s0.rss_kb, s2.rss_kb, sockets),
        "server_fds": {"before": s0.fds, "connected": s2.fds},
        "server_open_sockets_metric": s2.open_sockets,
        "still_connected": {"visitors": st.connected_v, "agents": st.connected_a},
        "store_writes_during_connect": s1.writes - s0.writes,
        "store_commits_during_connect": s1.commits - s0.commits,
        "load_rss_kb": load_rss,
        "counters": reports.counters(),
        "wind_down": down,
    });
    Ok(())
}

/// Connect agents and visitors, start every chat (spread at `start_rate`), wait until assigned.
async fn chats_up(ctx: &mut Ctx, chats: usize, agents: usize, start_rate: f64) -> Res<(Workers, Status)> {
    let org = load_org(&ctx.o, &ctx.hp, agents).await?;
    let capacity = agents as u64 * u64::from(org.max_chats);
    if (chats as u64) > capacity {
        eprintln!("note: {chats} chats > agent capacity {capacity}: the rest wait in the queue and carry no messages");
    }
    let mut w = Workers::spawn(specs(ctx, &org, agents, chats)?, &ctx.probe).await?;
    w.connect(true).await?;
    w.connect(false).await?;
    let window_ms = ((chats as f64 / start_rate.max(1.0)) * 1000.0) as u64;
    let at = wall_ns() + 300_000_000;
    let _: Vec<Value> = w.call(&Cmd::StartChats { at_ns: at, window_ms }, 30).await?;
    let expect = (chats as u64).min(capacity);
    let (st, ok) = w
        .wait(window_ms / 1000 + 120, 250, |s| s.starts_sent >= s.visitors && s.assigned_v >= expect.min(s.connected_v))
        .await?;
    eprintln!(
        "chats: {} started, {} told, {} assigned ({} offline){}",
        st.starts_sent,
        st.chat_frames,
        st.assigned_v,
        st.offline,
        if ok { "" } else { " — not all assigned in time" }
    );
    Ok((w, st))
}

#[allow(clippy::too_many_arguments)]
async fn steady(
    ctx: &mut Ctx,
    chats: usize,
    agents: usize,
    rate: f64,
    duration_secs: u64,
    warmup_secs: u64,
    start_rate: f64,
) -> Res<()> {
    let (mut w, st) = chats_up(ctx, chats, agents, start_rate).await?;
    let share = ctx.o.agent_share.clamp(0.0, 1.0);
    let (rv, ra) = (rate * (1.0 - share), rate * share);
    let steps = vec![
        StepPlan { step: 0, rate_v: rv, rate_a: ra, duration_ms: warmup_secs * 1000 },
        StepPlan { step: 1, rate_v: rv, rate_a: ra, duration_ms: duration_secs * 1000 },
    ];
    let start_ns = wall_ns() + 500_000_000;
    let probe = ctx.probe.clone();
    let sampler = tokio::spawn(async move {
        let until = |ns: u64| tokio::time::sleep(Duration::from_nanos(ns.saturating_sub(wall_ns())));
        until(start_ns + warmup_secs * 1_000_000_000).await;
        let a = probe.snap().await;
        until(start_ns + (warmup_secs + duration_secs) * 1_000_000_000).await;
        let b = probe.snap().await;
        (a, b)
    });
    let cmd = Cmd::Messages { start_ns, steps, total_v_slots: st.slots_v, total_a_slots: st.slots_a };
    let replies: Vec<MessagesReply> = w.call(&cmd, warmup_secs + duration_secs + 120).await?;
    let (a, b) = sampler.await.map_err(|e| e.to_string())?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let m = Merged { reports: w.report().await? };
    let down = w.wind_down(ctx.o.keep_chats).await?;
    w.finish().await;
    let v = m.step(1);
    let server = between(&ctx.probe, &a, &b, v.acked);
    let behind = replies.iter().map(|r| r.max_behind_ms).fold(0.0, f64::max);
    let (ack, deliv) = (v.ack(), v.deliv());
    let secs = duration_secs as f64;
    println!(
        "steady: {} chats ({} assigned), {} agents, {rate} msg/s offered ({:.0}% by agents), {duration_secs} s measured after {warmup_secs} s warm-up",
        chats,
        st.assigned_v,
        agents,
        share * 100.0
    );
    println!(
        "  messages: {} sent, {} acknowledged ({:.0}/s), {} errors; pacing fell behind by {:.1} ms at worst",
        v.sent,
        v.acked,
        v.acked as f64 / secs,
        v.errors,
        behind
    );
    println!("{}", stats::header());
    let rows = [
        ("delivery visitor -> agent", summary(&v.deliv_va)),
        ("delivery agent -> visitor", summary(&v.deliv_av)),
        ("delivery (both)", summary(&deliv)),
        ("durable ack (visitor)", summary(&v.ack_v)),
        ("durable ack (agent)", summary(&v.ack_a)),
        ("durable ack (both)", summary(&ack)),
    ];
    for (l, s) in &rows {
        println!("{}", stats::row(l, s));
    }
    print_server(&server, "message");
    let ratio = floor_ratio(ctx, summary(&v.deliv_va).p50_ms);
    if let Some(r) = ratio {
        println!("  delivery p50 (visitor -> agent) = {r:.2} x (echo p50 + fsync p50)");
    }
    let load_cpu = m.cpu_ticks() as f64 / ctx.probe.tck as f64;
    println!("  load processes: {load_cpu:.1} CPU s in all (whole run); counters: {:?}", m.counters());
    ctx.report["steady"] = json!({
        "chats": chats, "assigned": st.assigned_v, "agents": agents, "rate": rate, "agent_share": share,
        "duration_secs": duration_secs, "warmup_secs": warmup_secs,
        "sent": v.sent, "acked": v.acked, "acked_per_sec": v.acked as f64 / secs, "errors": v.errors,
        "pacing_max_behind_ms": behind,
        "latency": rows.iter().map(|(l, s)| (l.to_string(), sjson(s))).collect::<serde_json::Map<_, _>>(),
        "server": server,
        "delivery_p50_over_floor": ratio,
        "load_cpu_seconds": load_cpu,
        "counters": m.counters(),
        "wind_down": down,
    });
    Ok(())
}

fn print_server(s: &Value, per: &str) {
    let f = |k: &str| s[k].as_f64().unwrap_or(f64::NAN);
    println!(
        "  server: {:.1} CPU s ({:.0}% of one core), {:.1} CPU us per {per}; {:.0} commits ({:.0}/s) of {:.0} writes = {:.1} writes per commit; RSS {} -> {} KiB",
        f("server_cpu_seconds"),
        f("server_cpu_percent_of_one_core"),
        f("server_cpu_us_per_message"),
        f("store_commits"),
        f("commits_per_second"),
        f("store_writes"),
        f("writes_per_commit"),
        s["server_rss_kb_before"],
        s["server_rss_kb_after"]
    );
    println!(
        "  machine: {:.0}% of all cores busy ({:.1} CPU s): load generator {:.1} s, other processes {:.1} s, short-lived processes and kernel {:.1} s; busiest others {}",
        f("machine_busy_percent_of_all_cores"),
        f("machine_busy_cpu_seconds"),
        f("load_generator_cpu_seconds"),
        f("other_processes_cpu_seconds"),
        f("short_lived_or_kernel_cpu_seconds"),
        s["busiest_other_processes"]
    );
}

struct ThroughputPlan {
    from: f64,
    factor: f64,
    step_secs: u64,
    max_rate: f64,
    max_steps: u32,
    p99_limit_ms: f64,
    start_rate: f64,
    retries: u32,
}

async fn throughput(ctx: &mut Ctx, chats: usize, agents: usize, t: ThroughputPlan) -> Res<()> {
    let (mut w, st) = chats_up(ctx, chats, agents, t.start_rate).await?;
    let share = ctx.o.agent_share.clamp(0.0, 1.0);
    let mut rate = t.from;
    let mut rows = vec![];
    let mut best: Option<(f64, f64)> = None;
    let mut prev_load: (u64, Instant);
    println!(
        "throughput: {} chats ({} assigned), {} agents, {:.0}% of messages by agents; steps of {} s from {} msg/s x{} until ack p99 > {} ms",
        chats,
        st.assigned_v,
        agents,
        share * 100.0,
        t.step_secs,
        t.from,
        t.factor,
        t.p99_limit_ms
    );
    println!(
        "  {:>5} {:>9} {:>9} {:>8} {:>8} {:>8} {:>8} {:>8} {:>7} {:>7} {:>7} {:>7} {:>7} {:>7}",
        "step",
        "offered",
        "acked/s",
        "ack p50",
        "ack p99",
        "ack max",
        "dlv p50",
        "dlv p99",
        "srv cpu",
        "load",
        "w/cmt",
        "cmt/s",
        "machine",
        "other"
    );
    // A short warm-up at the first rate (step 0), not judged.
    let warm = vec![StepPlan { step: 0, rate_v: rate * (1.0 - share), rate_a: rate * share, duration_ms: 3000 }];
    let cmd = Cmd::Messages {
        start_ns: wall_ns() + 300_000_000,
        steps: warm,
        total_v_slots: st.slots_v,
        total_a_slots: st.slots_a,
    };
    let _: Vec<MessagesReply> = w.call(&cmd, 120).await?;
    prev_load = (Merged { reports: w.report().await? }.cpu_ticks(), Instant::now());
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1) as f64;
    let mut retries = 0;
    for k in 1..=t.max_steps {
        if rate > t.max_rate {
            break;
        }
        let plan =
            StepPlan { step: k, rate_v: rate * (1.0 - share), rate_a: rate * share, duration_ms: t.step_secs * 1000 };
        let start_ns = wall_ns() + 300_000_000;
        let probe = ctx.probe.clone();
        let step_secs = t.step_secs;
        let sampler = tokio::spawn(async move {
            let until = |ns: u64| tokio::time::sleep(Duration::from_nanos(ns.saturating_sub(wall_ns())));
            until(start_ns).await;
            let a = probe.snap().await;
            until(start_ns + step_secs * 1_000_000_000).await;
            let b = probe.snap().await;
            (a, b)
        });
        let cmd = Cmd::Messages { start_ns, steps: vec![plan], total_v_slots: st.slots_v, total_a_slots: st.slots_a };
        let replies: Vec<MessagesReply> = w.call(&cmd, t.step_secs + 120).await?;
        let (a, b) = sampler.await.map_err(|e| e.to_string())?;
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let m = Merged { reports: w.report().await? };
        let v = m.step(k);
        let (ack, deliv) = (summary(&v.ack()), summary(&v.deliv()));
        let server = between(&ctx.probe, &a, &b, v.acked);
        let load_ticks = m.cpu_ticks();
        let load_cpu = load_ticks.saturating_sub(prev_load.0) as f64 / ctx.probe.tck as f64;
        let load_secs = prev_load.1.elapsed().as_secs_f64();
        prev_load = (load_ticks, Instant::now());
        let planned: u64 = replies.iter().map(|r| r.planned).sum();
        let acked_rate = v.acked as f64 / t.step_secs as f64;
        let behind = replies.iter().map(|r| r.max_behind_ms).fold(0.0, f64::max);
        let f = |k: &str| server[k].as_f64().unwrap_or(f64::NAN);
        println!(
            "  {:>5} {:>9.0} {:>9.0} {:>8.2} {:>8.2} {:>8.1} {:>8.2} {:>8.2} {:>6.0}% {:>6.0}% {:>7.1} {:>7.0} {:>6.0}% {:>6.1}s",
            k,
            rate,
            acked_rate,
            ack.p50_ms,
            ack.p99_ms,
            ack.max_ms,
            deliv.p50_ms,
            deliv.p99_ms,
            f("server_cpu_percent_of_one_core"),
            100.0 * load_cpu / load_secs,
            f("writes_per_commit"),
            f("commits_per_second"),
            f("machine_busy_percent_of_all_cores"),
            f("other_processes_cpu_seconds") + f("short_lived_or_kernel_cpu_seconds").max(0.0),
        );
        let kept_up = v.acked as f64 >= 0.95 * planned as f64 && planned > 0;
        let pass = ack.p99_ms <= t.p99_limit_ms && kept_up && v.errors == 0;
        rows.push(json!({
            "step": k, "offered": rate, "planned": planned, "sent": v.sent, "acked": v.acked, "acked_per_sec": acked_rate,
            "errors": v.errors, "ack": sjson(&ack), "delivery": sjson(&deliv),
            "ack_visitor": sjson(&summary(&v.ack_v)), "ack_agent": sjson(&summary(&v.ack_a)),
            "delivery_visitor_to_agent": sjson(&summary(&v.deliv_va)),
            "server": server, "load_cpu_seconds": load_cpu, "pacing_max_behind_ms": behind, "pass": pass,
        }));
        // Other work on the machine (builds, tests) distorts a step: do it again, a few times at most.
        let other = server["other_processes_cpu_seconds"].as_f64().unwrap_or(0.0)
            + server["short_lived_or_kernel_cpu_seconds"].as_f64().unwrap_or(0.0).max(0.0);
        if other > 0.05 * cores * t.step_secs as f64 && retries < t.retries {
            retries += 1;
            println!("  (step {k} disturbed: other processes used {other:.1} CPU s; waiting for quiet and repeating)");
            wait_idle(120).await;
            continue;
        }
        if !pass {
            let why = if !kept_up {
                format!("only {} of {planned} messages acknowledged", v.acked)
            } else if v.errors > 0 {
                format!("{} error frames", v.errors)
            } else {
                format!("ack p99 {:.1} ms > {} ms", ack.p99_ms, t.p99_limit_ms)
            };
            println!("  stop: {why}");
            break;
        }
        best = Some((rate, acked_rate));
        rate *= t.factor.max(1.01);
    }
    let m = Merged { reports: w.report().await? };
    let down = w.wind_down(ctx.o.keep_chats).await?;
    w.finish().await;
    match best {
        Some((r, a)) => println!(
            "  highest sustained: {r:.0} msg/s offered ({a:.0} durable acks/s) with ack p99 <= {} ms",
            t.p99_limit_ms
        ),
        None => println!("  no step passed"),
    }
    println!("  counters: {:?}", m.counters());
    ctx.report["throughput"] = json!({
        "chats": chats, "assigned": st.assigned_v, "agents": agents, "agent_share": share, "step_secs": t.step_secs,
        "p99_limit_ms": t.p99_limit_ms, "steps": rows,
        "highest_sustained_offered": best.map(|b| b.0), "highest_sustained_acked_per_sec": best.map(|b| b.1),
        "counters": m.counters(), "wind_down": down,
    });
    Ok(())
}

async fn burst(
    ctx: &mut Ctx,
    chats: usize,
    agents: usize,
    window_ms: u64,
    deadline_ms: u64,
    wait_secs: u64,
) -> Res<()> {
    let org = load_org(&ctx.o, &ctx.hp, agents).await?;
    let capacity = agents as u64 * u64::from(org.max_chats);
    let mut w = Workers::spawn(specs(ctx, &org, agents, chats)?, &ctx.probe).await?;
    w.connect(true).await?;
    w.connect(false).await?;
    let s0 = ctx.probe.snap().await;
    let at = wall_ns() + 1_000_000_000;
    let _: Vec<Value> = w.call(&Cmd::StartChats { at_ns: at, window_ms }, 30).await?;
    tokio::time::sleep(Duration::from_nanos(at.saturating_sub(wall_ns()))).await;
    let (told, all_told) =
        w.wait(wait_secs, 20, |s| s.starts_sent >= s.visitors && s.chat_frames + s.offline >= s.visitors).await?;
    let s1 = ctx.probe.snap().await;
    let expect = (chats as u64).min(capacity);
    let (st, all_assigned) = w.wait(wait_secs, 20, |s| s.assigned_frames >= expect).await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let m = Merged { reports: w.report().await? };
    let st_late = w.status().await?;
    let down = w.wind_down(ctx.o.keep_chats).await?;
    w.finish().await;
    let t_told = told.last_chat_frame_ns.saturating_sub(at) as f64 / 1e6;
    let t_assigned = st.last_assigned_ns.saturating_sub(at) as f64 / 1e6;
    // Checks: one chat per visitor, one agent per chat, nobody over capacity.
    let assigned: Vec<(u64, u64, u64)> = m.reports.iter().flat_map(|r| r.assigned.iter().copied()).collect();
    let mut by_visitor: HashMap<u64, HashSet<u64>> = HashMap::new();
    let mut by_chat: HashMap<u64, HashSet<u64>> = HashMap::new();
    for (v, c, a) in &assigned {
        by_visitor.entry(*v).or_default().insert(*c);
        by_chat.entry(*c).or_default().insert(*a);
    }
    let visitors_two_chats = by_visitor.values().filter(|c| c.len() > 1).count() as u64
        + m.reports.iter().map(|r| r.visitors_multi_chat).sum::<u64>();
    let chats_two_agents = by_chat.values().filter(|a| a.len() > 1).count() + assigned.len() - by_chat.len();
    let over: Vec<(u64, u32, u32)> =
        m.reports.iter().flat_map(|r| r.agent_peaks.iter().copied()).filter(|(_, max, peak)| peak > max).collect();
    let peak_max = m.reports.iter().flat_map(|r| r.agent_peaks.iter().map(|p| p.2)).max().unwrap_or(0);
    let alloc = summary(&merge(m.reports.iter().map(|r| &r.alloc)));
    let told_h = summary(&merge(m.reports.iter().map(|r| &r.chat_frame)));
    let server = between(&ctx.probe, &s0, &s1, chats as u64);
    let counters = m.counters();
    println!(
        "burst: {chats} chats started within {window_ms} ms; {agents} agents x {} chats = capacity {capacity}",
        org.max_chats
    );
    println!(
        "  told (chat frame: allocated or queued) {} + offline {} of {}: the last {:.0} ms after the burst began{}",
        told.chat_frames,
        told.offline,
        chats,
        t_told,
        if all_told { "" } else { " (NOT ALL within the wait)" }
    );
    println!(
        "  visitors told their chat is assigned: {} when all were told, {} at the end",
        told.assigned_v, st_late.assigned_v
    );
    println!(
        "  assigned frames {} of {expect} expected: the last {:.0} ms after the burst began{}",
        st.assigned_frames,
        t_assigned,
        if all_assigned { "" } else { " (NOT ALL within the wait)" }
    );
    let pass = all_told && t_told <= deadline_ms as f64;
    println!("  target (all allocated or queued within {deadline_ms} ms): {}", if pass { "met" } else { "NOT met" });
    println!("{}", stats::header());
    println!("{}", stats::row("start -> visitor's chat frame", &told_h));
    println!("{}", stats::row("start -> agent's assigned", &alloc));
    println!(
        "  checks: visitors with two chats {visitors_two_chats}; chats given twice {chats_two_agents}; agents over capacity {} (highest held {peak_max})",
        over.len()
    );
    println!(
        "  after: {} visitor and {} agent sockets still connected of {} and {}",
        st_late.connected_v, st_late.connected_a, chats, agents
    );
    print_server(&server, "chat started");
    println!("  counters: {counters:?}");
    ctx.report["burst"] = json!({
        "chats": chats, "window_ms": window_ms, "agents": agents, "max_chats": org.max_chats, "capacity": capacity,
        "told": told.chat_frames, "offline": told.offline, "visitors_assigned_when_all_told": told.assigned_v,
        "visitors_assigned_at_end": st_late.assigned_v, "all_told": all_told, "ms_until_all_told": t_told,
        "assigned_frames": st.assigned_frames, "expected_assigned": expect, "all_assigned": all_assigned,
        "ms_until_all_assigned": t_assigned, "deadline_ms": deadline_ms, "target_met": pass,
        "start_to_chat_frame": sjson(&told_h), "start_to_assigned": sjson(&alloc),
        "visitors_with_two_chats": visitors_two_chats, "chats_given_twice": chats_two_agents,
        "agents_over_capacity": over, "highest_held": peak_max,
        "still_connected": {"visitors": st_late.connected_v, "agents": st_late.connected_a},
        "server": server, "counters": counters, "wind_down": down,
    });
    Ok(())
}
