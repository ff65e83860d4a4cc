//! A worker process: holds its share of the visitor and agent sockets, sends what the
//! coordinator asks, and measures what comes back. Every latency is the difference of two
//! wall-clock readings (CLOCK_REALTIME, one clock for every process on this machine), the
//! first carried in the frame itself: the message text and client id (`ld <step> <ns>`), and
//! the visitor's name in `start` (echoed back in the agent's `assigned` record). So a chat's
//! visitor and agent may live in different processes.

use crate::proto::*;
use crate::stats::{H, Hist, cpu_ticks, hist, record_ns, self_rss_kb, wall_ns};
use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::io::Write;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};
use tokio::io::AsyncBufReadExt;
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::{Semaphore, mpsc};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

type Ws = WebSocketStream<TcpStream>;

enum ConnCmd {
    Start,
    Msg { step: u32, chat: u64 },
    End { chat: u64 },
    Close,
}

#[derive(Default)]
struct VisitorState {
    tx: OnceLock<mpsc::UnboundedSender<ConnCmd>>,
    connected: AtomicBool,
    start_ns: AtomicU64,
    chat: AtomicU64,
    assigned: AtomicBool,
    offline: AtomicBool,
    ended: AtomicBool,
    multi: AtomicBool,
}

#[derive(Default)]
struct AgentState {
    tx: OnceLock<mpsc::UnboundedSender<ConnCmd>>,
    connected: AtomicBool,
    chats: Mutex<Vec<u64>>,
    peak: AtomicU32,
}

#[derive(Default)]
struct StepAcc {
    ack_v: Option<H>,
    ack_a: Option<H>,
    deliv_va: Option<H>,
    deliv_av: Option<H>,
    sent_v: u64,
    sent_a: u64,
    acked_v: u64,
    acked_a: u64,
    errors: u64,
}

fn rec(h: &mut Option<H>, ns: i128) {
    record_ns(h.get_or_insert_with(hist), ns);
}

fn of(h: &Option<H>) -> Hist {
    h.as_ref().map(Hist::of).unwrap_or_default()
}

#[derive(Default)]
struct Recorder {
    steps: BTreeMap<u32, StepAcc>,
    alloc: Option<H>,
    chat_frame: Option<H>,
    counters: BTreeMap<String, u64>,
    assigned: Vec<(u64, u64, u64)>,
    last_chat_frame_ns: u64,
    last_assigned_ns: u64,
}

impl Recorder {
    fn count(&mut self, key: &str) {
        match self.counters.get_mut(key) {
            Some(n) => *n += 1,
            None => {
                self.counters.insert(key.to_string(), 1);
            }
        }
    }
}

struct Shared {
    spec: Spec,
    server: SocketAddr,
    visitors: Vec<VisitorState>,
    agents: Vec<AgentState>,
    rec: Mutex<Recorder>,
    live: AtomicU64,
    starts_sent: AtomicU64,
    assigned_frames: AtomicU64,
    presence_frames: AtomicU64,
    queue_frames: AtomicU64,
    pad: String,
}

impl Shared {
    fn rec(&self) -> std::sync::MutexGuard<'_, Recorder> {
        self.rec.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Role {
    Visitor,
    Agent,
}

// ---- frames from the server (only the fields measured) ----

#[derive(Deserialize)]
struct In<'a> {
    #[serde(rename = "type", borrow)]
    ty: Cow<'a, str>,
    #[serde(default, borrow)]
    kind: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    text: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    id: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    code: Option<Cow<'a, str>>,
    #[serde(default)]
    chat: Option<ChatRef>,
    #[serde(default)]
    author: Option<AuthorBy>,
    #[serde(default)]
    chats: Option<Vec<ChatRec>>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum ChatRef {
    Id(u64),
    Rec(Box<ChatRec>),
}

impl ChatRef {
    fn id(&self) -> u64 {
        match self {
            ChatRef::Id(id) => *id,
            ChatRef::Rec(r) => r.id,
        }
    }
}

#[derive(Deserialize)]
struct ChatRec {
    id: u64,
    #[serde(default)]
    status: String,
    #[serde(default)]
    visitor: u64,
    #[serde(default)]
    info: Info,
}

#[derive(Default, Deserialize)]
struct Info {
    #[serde(default)]
    name: String,
}

#[derive(Deserialize)]
struct AuthorBy {
    by: String,
}

/// `ld <step> <ns> …` (message texts) or `<step>.<ns>.<n>` (client ids) -> (step, ns).
fn stamp_text(t: &str) -> Option<(u32, u64)> {
    let mut it = t.strip_prefix("ld ")?.split(' ');
    Some((it.next()?.parse().ok()?, it.next()?.parse().ok()?))
}

fn stamp_id(t: &str) -> Option<(u32, u64)> {
    let mut it = t.split('.');
    Some((it.next()?.parse().ok()?, it.next()?.parse().ok()?))
}

// ---- the process ----

pub fn main() -> i32 {
    let mut first = String::new();
    if std::io::stdin().read_line(&mut first).is_err() {
        return 2;
    }
    let spec: Spec = match serde_json::from_str(&first) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("worker: bad spec: {e}");
            return 2;
        }
    };
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(spec.threads.max(1)).enable_all().build();
    let Ok(rt) = rt else { return 2 };
    let max = Duration::from_secs(spec.max_secs);
    let code = rt.block_on(async move {
        match tokio::time::timeout(max, serve(spec)).await {
            Ok(code) => code,
            Err(_) => {
                eprintln!("worker: the time limit passed; exiting");
                3
            }
        }
    });
    rt.shutdown_timeout(Duration::from_secs(2));
    code
}

fn reply<T: serde::Serialize>(v: &T) {
    let line = serde_json::to_string(v).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"));
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

async fn serve(spec: Spec) -> i32 {
    let server: SocketAddr = match spec.server.parse() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("worker: server address {:?}: {e}", spec.server);
            return 2;
        }
    };
    let pad = "x".repeat(spec.message_bytes);
    let shared = Arc::new(Shared {
        visitors: (0..spec.visitors.len()).map(|_| VisitorState::default()).collect(),
        agents: (0..spec.agents.len()).map(|_| AgentState::default()).collect(),
        spec,
        server,
        rec: Mutex::new(Recorder::default()),
        live: AtomicU64::new(0),
        starts_sent: AtomicU64::new(0),
        assigned_frames: AtomicU64::new(0),
        presence_frames: AtomicU64::new(0),
        queue_frames: AtomicU64::new(0),
        pad,
    });
    let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        let cmd: Cmd = match serde_json::from_str(&line) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("worker: bad command {line:?}: {e}");
                return 2;
            }
        };
        match cmd {
            Cmd::ConnectAgents => reply(&connect_all(&shared, Role::Agent).await),
            Cmd::ConnectVisitors => reply(&connect_all(&shared, Role::Visitor).await),
            Cmd::StartChats { at_ns, window_ms } => {
                tokio::spawn(start_chats(shared.clone(), at_ns, window_ms));
                reply(&"scheduled");
            }
            Cmd::Status => reply(&status(&shared)),
            Cmd::Messages { start_ns, steps, total_v_slots, total_a_slots } => {
                reply(&messages(&shared, start_ns, &steps, total_v_slots, total_a_slots).await)
            }
            Cmd::Report => reply(&report(&shared)),
            Cmd::EndChats { timeout_ms } => reply(&end_chats(&shared, timeout_ms).await),
            Cmd::Close { timeout_ms } => reply(&close_all(&shared, timeout_ms).await),
            Cmd::Exit => return 0,
        }
    }
    // The coordinator went away: close everything and stop.
    close_all(&shared, 2000).await;
    0
}

fn ws_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(4096)
        .write_buffer_size(0)
        .max_write_buffer_size(1 << 20)
        .max_message_size(Some(4 << 20))
        .max_frame_size(Some(4 << 20))
}

/// A TCP connection from the socket's source address, then the WebSocket handshake.
async fn open(shared: &Shared, global: usize, path: &str, cookie: Option<&str>) -> Result<Ws, String> {
    let ips = &shared.spec.source_ips;
    let ip = ips[global % ips.len()];
    let sock = if ip.is_ipv4() { TcpSocket::new_v4() } else { TcpSocket::new_v6() }.map_err(|e| e.to_string())?;
    sock.set_reuseaddr(true).map_err(|e| e.to_string())?;
    sock.bind(SocketAddr::new(ip, 0)).map_err(|e| format!("bind {ip}: {e}"))?;
    let stream = sock.connect(shared.server).await.map_err(|e| format!("connect from {ip}: {e}"))?;
    let _ = stream.set_nodelay(true);
    let url = format!("ws://{}{path}", shared.spec.server);
    let mut req = url.into_client_request().map_err(|e| e.to_string())?;
    if let Some(c) = cookie {
        let h = req.headers_mut();
        h.insert("cookie", c.parse().map_err(|_| "cookie header")?);
        h.insert("origin", shared.spec.origin.parse().map_err(|_| "origin header")?);
    }
    let (ws, _) = tokio_tungstenite::client_async_with_config(req, stream, Some(ws_config()))
        .await
        .map_err(|e| format!("handshake: {e}"))?;
    Ok(ws)
}

/// Read frames until one of type `ty` (handling the others as usual).
async fn until_type(shared: &Shared, role: Role, local: usize, ws: &mut Ws, ty: &str) -> Result<(), String> {
    let wait = async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Text(t))) => {
                    if t.as_str().starts_with(&format!("{{\"type\":\"{ty}\"")) {
                        on_frame(shared, role, local, t.as_str());
                        return Ok(());
                    }
                    on_frame(shared, role, local, t.as_str());
                }
                Some(Ok(Message::Close(c))) => return Err(format!("closed: {c:?}")),
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(e.to_string()),
                None => return Err("closed".into()),
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(60), wait).await.map_err(|_| format!("no {ty} within 60 s"))?
}

async fn connect_all(shared: &Arc<Shared>, role: Role) -> ConnectReply {
    let t0 = Instant::now();
    let n = match role {
        Role::Visitor => shared.visitors.len(),
        Role::Agent => shared.agents.len(),
    };
    let sem = Arc::new(Semaphore::new(shared.spec.connect_concurrency.max(1)));
    let (done_tx, mut done_rx) = mpsc::unbounded_channel::<Result<u64, String>>();
    for local in 0..n {
        let (tx, rx) = mpsc::unbounded_channel();
        let ok = match role {
            Role::Visitor => shared.visitors[local].tx.set(tx).is_ok(),
            Role::Agent => shared.agents[local].tx.set(tx).is_ok(),
        };
        if !ok {
            let _ = done_tx.send(Err("already connected once".into()));
            continue;
        }
        let (shared, sem, done) = (shared.clone(), sem.clone(), done_tx.clone());
        shared.live.fetch_add(1, Relaxed);
        tokio::spawn(async move {
            conn_main(&shared, role, local, sem, done, rx).await;
            shared.live.fetch_sub(1, Relaxed);
        });
    }
    drop(done_tx);
    let mut out = ConnectReply::default();
    let mut h = hist();
    while let Some(r) = done_rx.recv().await {
        match r {
            Ok(ns) => {
                out.ok += 1;
                record_ns(&mut h, i128::from(ns));
            }
            Err(e) => {
                out.failed += 1;
                if out.errors.len() < 5 {
                    out.errors.push(e);
                }
            }
        }
    }
    out.latency = Hist::of(&h);
    out.elapsed_ms = t0.elapsed().as_millis() as u64;
    out
}

async fn conn_main(
    shared: &Shared,
    role: Role,
    local: usize,
    sem: Arc<Semaphore>,
    done: mpsc::UnboundedSender<Result<u64, String>>,
    rx: mpsc::UnboundedReceiver<ConnCmd>,
) {
    let permit = sem.acquire_owned().await;
    let t0 = Instant::now();
    let opened = async {
        let mut ws = match role {
            Role::Visitor => {
                let v = &shared.spec.visitors[local];
                let mut ws = open(shared, v.index, "/ws/visitor", None).await?;
                let hello = format!("{{\"type\":\"hello\",\"v\":1,\"campaign\":{}}}", v.campaign);
                ws.send(Message::text(hello)).await.map_err(|e| e.to_string())?;
                ws
            }
            Role::Agent => {
                let a = &shared.spec.agents[local];
                let mut ws = open(shared, a.index, "/ws/agent", Some(&a.cookie)).await?;
                ws.send(Message::text("{\"type\":\"hello\",\"v\":1,\"chats\":[]}")).await.map_err(|e| e.to_string())?;
                ws
            }
        };
        let welcome = if role == Role::Visitor { "visitor_welcome" } else { "agent_welcome" };
        until_type(shared, role, local, &mut ws, welcome).await?;
        Ok::<Ws, String>(ws)
    };
    let ws = match opened.await {
        Ok(ws) => ws,
        Err(e) => {
            let _ = done.send(Err(e));
            return;
        }
    };
    drop(permit);
    match role {
        Role::Visitor => shared.visitors[local].connected.store(true, Relaxed),
        Role::Agent => shared.agents[local].connected.store(true, Relaxed),
    }
    let _ = done.send(Ok(t0.elapsed().as_nanos() as u64));
    drop(done);
    run_conn(shared, role, local, ws, rx).await;
    match role {
        Role::Visitor => shared.visitors[local].connected.store(false, Relaxed),
        Role::Agent => shared.agents[local].connected.store(false, Relaxed),
    }
}

async fn run_conn(shared: &Shared, role: Role, local: usize, mut ws: Ws, mut rx: mpsc::UnboundedReceiver<ConnCmd>) {
    let mut n: u64 = 0;
    let why: String = loop {
        tokio::select! {
            cmd = rx.recv() => {
                let text = match cmd {
                    Some(ConnCmd::Start) => {
                        let now = wall_ns();
                        let v = &shared.visitors[local];
                        v.start_ns.store(now, Relaxed);
                        shared.starts_sent.fetch_add(1, Relaxed);
                        let idx = shared.spec.visitors[local].index;
                        format!("{{\"type\":\"start\",\"fields\":{{\"name\":\"ld {idx} {now}\"}}}}")
                    }
                    Some(ConnCmd::Msg { step, chat }) => {
                        n += 1;
                        let now = wall_ns();
                        {
                            let mut r = shared.rec();
                            let s = r.steps.entry(step).or_default();
                            if role == Role::Visitor { s.sent_v += 1 } else { s.sent_a += 1 }
                        }
                        format!(
                            "{{\"type\":\"message\",\"chat\":{chat},\"id\":\"{step}.{now}.{n}\",\"text\":\"ld {step} {now} {}\"}}",
                            shared.pad
                        )
                    }
                    Some(ConnCmd::End { chat }) => format!("{{\"type\":\"end\",\"chat\":{chat}}}"),
                    Some(ConnCmd::Close) | None => {
                        let _ = ws.close(None).await;
                        let drain = async { while let Some(Ok(_)) = ws.next().await {} };
                        let _ = tokio::time::timeout(Duration::from_secs(3), drain).await;
                        return;
                    }
                };
                if let Err(e) = ws.send(Message::text(text)).await {
                    break format!("send: {e}");
                }
            }
            msg = ws.next() => match msg {
                Some(Ok(Message::Text(t))) => on_frame(shared, role, local, t.as_str()),
                Some(Ok(Message::Close(c))) => {
                    break match c {
                        Some(c) => format!("close_{}", u16::from(c.code)),
                        None => "close_none".into(),
                    };
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => break format!("error: {e}"),
                None => break "eof".into(),
            }
        }
    };
    let key = match role {
        Role::Visitor => format!("visitor socket ended: {}", short(&why)),
        Role::Agent => format!("agent socket ended: {}", short(&why)),
    };
    shared.rec().count(&key);
}

fn short(s: &str) -> String {
    s.chars().take(60).collect()
}

fn on_frame(shared: &Shared, role: Role, local: usize, t: &str) {
    // The fan-out frames come in great numbers: count them without parsing.
    if t.starts_with("{\"type\":\"presence\"") {
        shared.presence_frames.fetch_add(1, Relaxed);
        return;
    }
    if t.starts_with("{\"type\":\"queue\"") {
        shared.queue_frames.fetch_add(1, Relaxed);
        return;
    }
    let now = wall_ns();
    let f: In<'_> = match serde_json::from_str(t) {
        Ok(f) => f,
        Err(_) => {
            shared.rec().count("unreadable frames");
            return;
        }
    };
    match role {
        Role::Visitor => on_visitor_frame(shared, local, f, now),
        Role::Agent => on_agent_frame(shared, local, f, now),
    }
}

fn on_visitor_frame(shared: &Shared, local: usize, f: In<'_>, now: u64) {
    let v = &shared.visitors[local];
    match f.ty.as_ref() {
        "chat" => {
            let Some(ChatRef::Rec(rec)) = f.chat else { return };
            let prev = v.chat.load(Relaxed);
            if prev == 0 {
                v.chat.store(rec.id, Relaxed);
                let start = v.start_ns.load(Relaxed);
                let mut r = shared.rec();
                if start > 0 {
                    rec_opt(&mut r.chat_frame, i128::from(now) - i128::from(start));
                }
                r.last_chat_frame_ns = r.last_chat_frame_ns.max(now);
            } else if prev != rec.id {
                v.multi.store(true, Relaxed);
            }
            if rec.status == "active" {
                v.assigned.store(true, Relaxed);
            }
        }
        "event" => match f.kind.as_deref() {
            Some("message") => {
                if f.author.as_ref().is_some_and(|a| a.by == "agent")
                    && let Some((step, ns)) = f.text.as_deref().and_then(stamp_text)
                {
                    let mut r = shared.rec();
                    rec(&mut r.steps.entry(step).or_default().deliv_av, i128::from(now) - i128::from(ns));
                }
            }
            Some("assigned") => v.assigned.store(true, Relaxed),
            Some("ended") => v.ended.store(true, Relaxed),
            _ => {}
        },
        "ack" => {
            if let Some((step, ns)) = f.id.as_deref().and_then(stamp_id) {
                let mut r = shared.rec();
                let s = r.steps.entry(step).or_default();
                s.acked_v += 1;
                rec(&mut s.ack_v, i128::from(now) - i128::from(ns));
            }
        }
        "offline" => {
            v.offline.store(true, Relaxed);
            let mut r = shared.rec();
            r.count("visitor offline frames");
            r.last_chat_frame_ns = r.last_chat_frame_ns.max(now);
        }
        "error" => error_frame(shared, "visitor", &f),
        other => shared.rec().count(&format!("visitor {other} frames")),
    }
}

fn on_agent_frame(shared: &Shared, local: usize, f: In<'_>, now: u64) {
    let a = &shared.agents[local];
    match f.ty.as_ref() {
        "assigned" => {
            let Some(ChatRef::Rec(rec)) = f.chat else { return };
            shared.assigned_frames.fetch_add(1, Relaxed);
            let held = {
                let mut chats = a.chats.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                if !chats.contains(&rec.id) {
                    chats.push(rec.id);
                }
                chats.len() as u32
            };
            a.peak.fetch_max(held, Relaxed);
            let mut r = shared.rec();
            r.assigned.push((rec.visitor, rec.id, shared.spec.agents[local].id));
            r.last_assigned_ns = r.last_assigned_ns.max(now);
            if let Some((_, ns)) = stamp_text(&rec.info.name) {
                rec_opt(&mut r.alloc, i128::from(now) - i128::from(ns));
            }
        }
        "event" => match f.kind.as_deref() {
            Some("message") => {
                if f.author.as_ref().is_some_and(|a| a.by == "visitor")
                    && let Some((step, ns)) = f.text.as_deref().and_then(stamp_text)
                {
                    let mut r = shared.rec();
                    rec(&mut r.steps.entry(step).or_default().deliv_va, i128::from(now) - i128::from(ns));
                }
            }
            Some("ended") => {
                if let Some(c) = f.chat.as_ref().map(ChatRef::id) {
                    a.chats.lock().unwrap_or_else(std::sync::PoisonError::into_inner).retain(|x| *x != c);
                }
            }
            _ => {}
        },
        "ack" => {
            if let Some((step, ns)) = f.id.as_deref().and_then(stamp_id) {
                let mut r = shared.rec();
                let s = r.steps.entry(step).or_default();
                s.acked_a += 1;
                rec(&mut s.ack_a, i128::from(now) - i128::from(ns));
            }
        }
        "agent_welcome" => {
            let held = f.chats.as_ref().map(Vec::len).unwrap_or(0);
            if held > 0 {
                let ids: Vec<u64> = f.chats.iter().flatten().map(|c| c.id).collect();
                a.chats.lock().unwrap_or_else(std::sync::PoisonError::into_inner).extend(ids);
                *shared.rec().counters.entry("chats agents already held at hello".into()).or_default() += held as u64;
            }
        }
        "error" => error_frame(shared, "agent", &f),
        other => shared.rec().count(&format!("agent {other} frames")),
    }
}

fn rec_opt(h: &mut Option<H>, ns: i128) {
    rec(h, ns);
}

fn error_frame(shared: &Shared, who: &str, f: &In<'_>) {
    let code = f.code.as_deref().unwrap_or("?");
    let mut r = shared.rec();
    r.count(&format!("{who} error {code}"));
    if let Some((step, _)) = f.id.as_deref().and_then(stamp_id) {
        r.steps.entry(step).or_default().errors += 1;
    }
}

async fn start_chats(shared: Arc<Shared>, at_ns: u64, window_ms: u64) {
    let n = shared.visitors.len();
    if n == 0 {
        return;
    }
    let (shard, shards) = (shared.spec.shard as u64, shared.spec.shards.max(1) as u64);
    let now_ns = wall_ns();
    let base = Instant::now() + Duration::from_nanos(at_ns.saturating_sub(now_ns));
    let window = window_ms * 1_000_000;
    for (i, v) in shared.visitors.iter().enumerate() {
        // Visitor i of shard s starts at (i*shards + s)/(n*shards) of the window.
        let offset = window * (i as u64 * shards + shard) / (n as u64 * shards);
        tokio::time::sleep_until((base + Duration::from_nanos(offset)).into()).await;
        if let Some(tx) = v.tx.get() {
            let _ = tx.send(ConnCmd::Start);
        }
    }
}

fn status(shared: &Shared) -> Status {
    let mut s = Status {
        visitors: shared.visitors.len() as u64,
        agents: shared.agents.len() as u64,
        starts_sent: shared.starts_sent.load(Relaxed),
        assigned_frames: shared.assigned_frames.load(Relaxed),
        ..Default::default()
    };
    for v in &shared.visitors {
        s.connected_v += u64::from(v.connected.load(Relaxed));
        s.chat_frames += u64::from(v.chat.load(Relaxed) != 0);
        s.assigned_v += u64::from(v.assigned.load(Relaxed));
        s.offline += u64::from(v.offline.load(Relaxed));
        s.ended_v += u64::from(v.ended.load(Relaxed));
        let slot = v.connected.load(Relaxed) && v.assigned.load(Relaxed) && !v.ended.load(Relaxed);
        s.slots_v += u64::from(slot);
    }
    for a in &shared.agents {
        s.connected_a += u64::from(a.connected.load(Relaxed));
        let held = a.chats.lock().unwrap_or_else(std::sync::PoisonError::into_inner).len() as u64;
        s.agent_chats += held;
        if a.connected.load(Relaxed) {
            s.slots_a += held;
        }
    }
    let r = shared.rec();
    s.last_chat_frame_ns = r.last_chat_frame_ns;
    s.last_assigned_ns = r.last_assigned_ns;
    s
}

type Slot = (mpsc::UnboundedSender<ConnCmd>, u64);

async fn messages(shared: &Shared, start_ns: u64, steps: &[StepPlan], total_v: u64, total_a: u64) -> MessagesReply {
    let mut vslots: Vec<Slot> = vec![];
    for v in &shared.visitors {
        let chat = v.chat.load(Relaxed);
        if v.connected.load(Relaxed) && v.assigned.load(Relaxed) && !v.ended.load(Relaxed) && chat != 0 {
            if let Some(tx) = v.tx.get() {
                vslots.push((tx.clone(), chat));
            }
        }
    }
    // Agents' chats in turn (agent 0's first chat, agent 1's first, …) to spread each agent's sends.
    let per_agent: Vec<(Option<mpsc::UnboundedSender<ConnCmd>>, Vec<u64>)> = shared
        .agents
        .iter()
        .filter(|a| a.connected.load(Relaxed))
        .map(|a| (a.tx.get().cloned(), a.chats.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone()))
        .collect();
    let mut aslots: Vec<Slot> = vec![];
    let most = per_agent.iter().map(|(_, c)| c.len()).max().unwrap_or(0);
    for i in 0..most {
        for (tx, chats) in &per_agent {
            if let (Some(tx), Some(c)) = (tx, chats.get(i)) {
                aslots.push((tx.clone(), *c));
            }
        }
    }
    let share = |mine: usize, total: u64| if total == 0 { 0.0 } else { mine as f64 / total as f64 };
    let (sv, sa) = (share(vslots.len(), total_v), share(aslots.len(), total_a));
    let now_ns = wall_ns();
    let mut step_start = Instant::now() + Duration::from_nanos(start_ns.saturating_sub(now_ns));
    let (mut cv, mut ca) = (0usize, 0usize);
    let mut out = MessagesReply::default();
    for plan in steps {
        let (rv, ra) = (plan.rate_v * sv, plan.rate_a * sa);
        let dur = Duration::from_millis(plan.duration_ms);
        let end = step_start + dur;
        out.planned += ((rv + ra) * dur.as_secs_f64()).round() as u64;
        let (mut sent_v, mut sent_a) = (0u64, 0u64);
        tokio::time::sleep_until(step_start.into()).await;
        let mut tick = tokio::time::interval(Duration::from_millis(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            let tick_at = tick.tick().await;
            let now = Instant::now();
            out.max_behind_ms = out.max_behind_ms.max(now.duration_since(tick_at.into_std()).as_secs_f64() * 1000.0);
            let el = now.min(end).duration_since(step_start).as_secs_f64();
            let due_v = (rv * el) as u64;
            let due_a = (ra * el) as u64;
            while sent_v < due_v && !vslots.is_empty() {
                let (tx, chat) = &vslots[cv % vslots.len()];
                let _ = tx.send(ConnCmd::Msg { step: plan.step, chat: *chat });
                cv += 1;
                sent_v += 1;
            }
            while sent_a < due_a && !aslots.is_empty() {
                let (tx, chat) = &aslots[ca % aslots.len()];
                let _ = tx.send(ConnCmd::Msg { step: plan.step, chat: *chat });
                ca += 1;
                sent_a += 1;
            }
            if now >= end {
                break;
            }
        }
        out.queued += sent_v + sent_a;
        step_start = end;
    }
    out
}

fn report(shared: &Shared) -> Report {
    let mut peaks = vec![];
    for (i, a) in shared.agents.iter().enumerate() {
        let spec = &shared.spec.agents[i];
        peaks.push((spec.id, spec.max_chats, a.peak.load(Relaxed)));
    }
    let multi = shared.visitors.iter().filter(|v| v.multi.load(Relaxed)).count() as u64;
    let r = shared.rec();
    let mut counters = r.counters.clone();
    counters.insert("agent presence frames".into(), shared.presence_frames.load(Relaxed));
    counters.insert("visitor queue frames".into(), shared.queue_frames.load(Relaxed));
    Report {
        steps: r
            .steps
            .iter()
            .map(|(k, s)| {
                (
                    *k,
                    StepStats {
                        ack_v: of(&s.ack_v),
                        ack_a: of(&s.ack_a),
                        deliv_va: of(&s.deliv_va),
                        deliv_av: of(&s.deliv_av),
                        sent_v: s.sent_v,
                        sent_a: s.sent_a,
                        acked_v: s.acked_v,
                        acked_a: s.acked_a,
                        errors: s.errors,
                    },
                )
            })
            .collect(),
        alloc: of(&r.alloc),
        chat_frame: of(&r.chat_frame),
        counters,
        assigned: r.assigned.clone(),
        agent_peaks: peaks,
        visitors_multi_chat: multi,
        cpu_ticks: cpu_ticks(None).unwrap_or(0),
        rss_kb: self_rss_kb(),
    }
}

async fn end_chats(shared: &Shared, timeout_ms: u64) -> EndReply {
    let mut asked = 0;
    let mut waiting = vec![];
    for v in &shared.visitors {
        let chat = v.chat.load(Relaxed);
        if chat != 0 && !v.ended.load(Relaxed) && v.connected.load(Relaxed) {
            if let Some(tx) = v.tx.get() {
                let _ = tx.send(ConnCmd::End { chat });
                asked += 1;
                waiting.push(v);
            }
        }
    }
    let deadline = Instant::now() + Duration::from_millis(timeout_ms);
    while Instant::now() < deadline && waiting.iter().any(|v| !v.ended.load(Relaxed) && v.connected.load(Relaxed)) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    EndReply { asked, ended: waiting.iter().filter(|v| v.ended.load(Relaxed)).count() as u64 }
}

async fn close_all(shared: &Shared, timeout_ms: u64) -> CloseReply {
    let before = shared.live.load(Relaxed);
    for v in &shared.visitors {
        if let Some(tx) = v.tx.get() {
            let _ = tx.send(ConnCmd::Close);
        }
    }
    for a in &shared.agents {
        if let Some(tx) = a.tx.get() {
            let _ = tx.send(ConnCmd::Close);
        }
    }
    let deadline = Instant::now() + Duration::from_millis(timeout_ms);
    while Instant::now() < deadline && shared.live.load(Relaxed) > 0 {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let left = shared.live.load(Relaxed);
    CloseReply { closed: before.saturating_sub(left), left }
}
