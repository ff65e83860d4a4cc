//! WebSocket endpoints: the visitor widget's (`/ws/visitor`) and the agent console's
//! (`/ws/agent`). Each connection is one `select!` loop (`Socket::next`) over our shutdown
//! token, its too-slow signal, a ping timer, frames from the hub and frames from the client.

pub mod agent;
mod transfer;
pub mod visitor;

use crate::config::Config;
use crate::domain::ids::{ChatId, ConnId};
use crate::realtime::hub::{FrameRx, FrameTx, outbox};
use crate::realtime::protocol::{Audience, ErrorDetail, Frame, WireError, close};
use crate::web::state::AppState;
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use poem::web::websocket::{CloseCode, Message, WebSocketConfig, WebSocketStream};
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// The most a client frame may weigh: a maximal message in the worst JSON escaping (a control
/// character is six bytes, `\u0001`), with its envelope. So any message is judged by its own
/// size (`message_too_long`), not by its frame's.
pub fn max_frame_bytes(cfg: &Config) -> usize {
    (cfg.chat.max_message_bytes * 6 + 1024).max(16 * 1024)
}

/// Explicit socket limits (the library defaults allow 64 MiB messages and cost ~135 KB per idle
/// socket):
/// - the read buffer is allocated per socket for its whole life, so it is small: 512 bytes hold a
///   usual client frame (hello, message, typing) in one read; a larger frame grows that
///   socket's buffer only;
/// - frames are gathered up to `WRITE_BATCH` bytes and written at the flush, so the frames
///   a connection has queued leave in one system call (with 0, tungstenite writes every frame
///   at once, one `write` and one TCP segment each). The buffer keeps the capacity it reached;
/// - frame and message caps (`MAX_FRAME_OUT` for what the server writes).
pub fn socket_config(cfg: &Config) -> WebSocketConfig {
    let max = max_frame_bytes(cfg);
    WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(WRITE_BATCH)
        .max_write_buffer_size(MAX_FRAME_OUT)
        .max_message_size(Some(max))
        .max_frame_size(Some(max))
}

/// A WebSocket's connection ends with a lingering close (see `web::server::Linger`).
fn linger(req: &poem::Request) {
    if let Some(l) = req.extensions().get::<crate::web::server::Linger>() {
        l.on_close();
    }
}

const READ_BUFFER: usize = 512;
/// The largest frame the server can write. Not an allocation: frames are written as they
/// come, and the write waits for the client before the next (a slow client is closed with
/// `4008`). The largest frames are bounded well below it (a `history` page by bytes); a
/// frame over it closes the connection with `1011`, logged.
const MAX_FRAME_OUT: usize = 16 * 1024 * 1024;
const WRITE_BATCH: usize = 8 * 1024;

/// A token bucket: `per_sec` frames a second on average, `burst` at once.
struct Bucket {
    tokens: f64,
    per_sec: f64,
    burst: f64,
    last: Instant,
}

impl Bucket {
    fn allow(&mut self) -> bool {
        let now = Instant::now();
        self.tokens = (self.tokens + now.duration_since(self.last).as_secs_f64() * self.per_sec).min(self.burst);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// What the connection loop has for its handler next.
pub enum Step {
    /// A text frame from the client (already rate-checked).
    Text(String),
    /// A frame for the client from the hub.
    Out(Frame),
    /// A ping was just sent: a moment for periodic checks.
    Tick,
    /// The connection is over (already closed with the right code).
    Closed,
}

/// One client connection. Boxed: the connection's task holds its `Socket` for its whole life
/// (the async fn that takes it by value even keeps a second copy of it), and every idle
/// socket pays for that task's size. The fields and methods are `Connection`'s.
pub struct Socket(Box<Connection>);

impl std::ops::Deref for Socket {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        &self.0
    }
}

impl std::ops::DerefMut for Socket {
    fn deref_mut(&mut self) -> &mut Connection {
        &mut self.0
    }
}

pub struct Connection {
    /// Who is at the other end: only frames made for them are written.
    pub audience: Audience,
    sink: SplitSink<WebSocketStream, Message>,
    stream: SplitStream<WebSocketStream>,
    pub conn: ConnId,
    pub rx: FrameRx,
    pub tx: FrameTx,
    pub slow: CancellationToken,
    shutdown: CancellationToken,
    ping: tokio::time::Interval,
    ping_every: Duration,
    last_heard: Instant,
    bucket: Bucket,
    refused: u32,
    /// The last event seq sent per chat, to drop duplicates where a replay meets the live stream.
    sent: HashMap<ChatId, u64>,
    /// The longest a write may wait for the client (`[limits] send_timeout_secs`).
    send_timeout: Duration,
    /// A close frame was sent (or the connection is gone): nothing more is written.
    closed: bool,
    pub state: AppState,
}

impl Socket {
    pub fn new(socket: WebSocketStream, state: AppState, audience: Audience) -> Socket {
        let (sink, stream) = socket.split();
        let rt = &state.config.realtime;
        let (tx, rx) = outbox(rt.send_queue);
        let ping_every = Duration::from_secs(rt.ping_secs);
        let mut ping = tokio::time::interval_at(tokio::time::Instant::now() + ping_every, ping_every);
        ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let bucket = Bucket {
            tokens: f64::from(rt.frames_burst),
            per_sec: f64::from(rt.frames_per_second),
            burst: f64::from(rt.frames_burst),
            last: Instant::now(),
        };
        state.metrics.open_sockets.fetch_add(1, Ordering::Relaxed);
        Socket(Box::new(Connection {
            audience,
            sink,
            stream,
            conn: state.realtime.new_conn(),
            rx,
            tx,
            slow: CancellationToken::new(),
            shutdown: state.shutdown.clone(),
            ping,
            ping_every,
            last_heard: Instant::now(),
            bucket,
            refused: 0,
            sent: HashMap::new(),
            send_timeout: Duration::from_secs(state.config.connections.send_timeout_secs),
            closed: false,
            state,
        }))
    }
}

/// How a write to the client ended.
enum Wrote {
    Done,
    /// The client does not take its frames: its queue filled up while the write waited, or
    /// the write waited `send_timeout`.
    TooSlow,
    /// The frame cannot be written at all (larger than the write buffer's cap).
    TooLarge,
    /// The connection is gone.
    Gone,
}

impl Connection {
    /// Write a frame; false when the connection is over (closed here with the right code
    /// when the client is too slow or the frame cannot be written).
    pub async fn send(&mut self, frame: &Frame) -> bool {
        if self.closed {
            return false;
        }
        if !self.for_me(frame) {
            return true;
        }
        let write = self.sink.send(Message::Text(frame.json.to_string()));
        let wrote = watched(write, &self.slow, self.send_timeout).await;
        self.after(wrote).await
    }

    /// Send a chat event unless this connection sent it already; other frames always.
    pub async fn deliver(&mut self, frame: &Frame) -> bool {
        if self.duplicate(frame) {
            return true;
        }
        self.send(frame).await
    }

    /// Is `frame` made for this connection's audience? A frame for the other one is a bug:
    /// it is logged and never written.
    fn for_me(&self, frame: &Frame) -> bool {
        made_for(self.audience, self.conn, frame)
    }

    fn duplicate(&mut self, frame: &Frame) -> bool {
        duplicate_in(&mut self.sent, frame)
    }

    /// Deliver `first` and every frame already waiting behind it, then flush once: under load a
    /// connection writes its backlog in one go instead of one system call per frame.
    pub async fn deliver_queued(&mut self, first: Frame) -> bool {
        if self.closed {
            return false;
        }
        let (sink, rx, sent, audience, conn) = (&mut self.sink, &mut self.rx, &mut self.sent, self.audience, self.conn);
        let write = async {
            let mut next = Some(first);
            let mut n = 0;
            while let Some(f) = next.take() {
                if made_for(audience, conn, &f) && !duplicate_in(sent, &f) {
                    sink.feed(Message::Text(f.json.to_string())).await?;
                }
                n += 1;
                if n < 256 {
                    next = rx.try_recv();
                }
            }
            sink.flush().await
        };
        let wrote = watched(write, &self.slow, self.send_timeout).await;
        self.after(wrote).await
    }

    /// Act on how a write ended: a client too slow is closed with `4008`, a frame that cannot
    /// be written with `1011`, each with a log line; never silently.
    async fn after(&mut self, wrote: Wrote) -> bool {
        match wrote {
            Wrote::Done => true,
            Wrote::TooSlow => {
                self.close_too_slow().await;
                false
            }
            Wrote::TooLarge => {
                tracing::error!(conn = %self.conn, "a frame too large for the connection's write buffer: closing it");
                self.close(1011, "internal").await;
                false
            }
            Wrote::Gone => {
                self.closed = true;
                false
            }
        }
    }

    /// Close a connection whose client does not take its frames: `4008`, logged and counted.
    async fn close_too_slow(&mut self) {
        tracing::info!(conn = %self.conn, "closing a connection that reads too slowly");
        self.state.metrics.sockets_too_slow.fetch_add(1, Ordering::Relaxed);
        self.close(close::TOO_SLOW, "too slow: reconnect and resume").await;
    }

    /// Send an `error` frame (the connection stays).
    pub async fn error(&mut self, e: WireError, detail: ErrorDetail<'_>) {
        self.send(&Frame::error(self.audience, e, detail)).await;
    }

    /// Send an `error` frame and close the connection with `close_code`.
    pub async fn refuse(&mut self, e: WireError, detail: ErrorDetail<'_>, close_code: u16) {
        self.error(e, detail).await;
        self.close(close_code, &e.code()).await;
    }

    /// Close with `code`: the close frame (waiting at most `send_timeout` for the client to
    /// take what is before it), then the closing handshake. What the client still sends is
    /// read and dropped here until its close frame, for 2 s at most, and the server's side of
    /// the connection then drains the rest (`web::server`'s linger): closing a TCP connection
    /// with the client's bytes unread resets it, and the client would lose our close frame and
    /// its code (a flooding client's 4029, a too-large frame's 1009).
    pub async fn close(&mut self, code: u16, reason: &str) {
        if std::mem::replace(&mut self.closed, true) {
            return;
        }
        let frame = Message::Close(Some((CloseCode::from(code), reason.to_string())));
        if !matches!(tokio::time::timeout(self.send_timeout, self.sink.send(frame)).await, Ok(Ok(()))) {
            return;
        }
        let drain = async {
            while let Some(Ok(m)) = self.stream.next().await {
                if matches!(m, Message::Close(_)) {
                    break;
                }
            }
        };
        let _ = tokio::time::timeout(Duration::from_secs(2), drain).await;
        let _ = tokio::time::timeout(Duration::from_secs(2), self.sink.close()).await;
    }

    /// The first text frame, within 10 seconds (the `hello`); pings before it are fine.
    pub async fn first_text(&mut self) -> Option<String> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        let wait = loop {
            match tokio::time::timeout_at(deadline, self.stream.next()).await {
                Ok(Some(Ok(Message::Ping(_) | Message::Pong(_)))) => continue,
                other => break other,
            }
        };
        match wait {
            Ok(Some(Ok(Message::Text(t)))) => Some(t),
            Ok(Some(Ok(Message::Close(_)))) => {
                let _ = self.sink.close().await;
                None
            }
            Ok(None) => None,
            Err(_) => {
                self.close(close::BAD_HELLO, "expected hello").await;
                None
            }
            Ok(Some(Ok(_))) => {
                self.close(close::BAD_HELLO, "expected a hello text frame").await;
                None
            }
            Ok(Some(Err(e))) => {
                self.close_for(&e).await;
                None
            }
        }
    }

    async fn close_for(&mut self, e: &std::io::Error) {
        let text = e.to_string();
        if text.contains("UTF-8") || text.contains("utf-8") {
            self.close(1007, "text frames must be UTF-8").await;
        } else if text.contains("too long") || text.contains("Space limit") || text.contains("too big") {
            self.close(1009, "frame too large").await;
        } else {
            tracing::debug!(error = %e, conn = %self.conn, "socket read error");
        }
    }

    pub async fn next(&mut self) -> Step {
        if self.closed {
            return Step::Closed;
        }
        loop {
            tokio::select! {
                _ = self.shutdown.cancelled() => {
                    self.close(1001, "server shutting down").await;
                    return Step::Closed;
                }
                _ = self.slow.cancelled() => {
                    self.close_too_slow().await;
                    return Step::Closed;
                }
                _ = self.ping.tick() => {
                    if self.last_heard.elapsed() > self.ping_every * 3 {
                        self.close(1001, "no answer to pings").await;
                        return Step::Closed;
                    }
                    let ping = self.sink.send(Message::Ping(Vec::new()));
                    let wrote = watched(ping, &self.slow, self.send_timeout).await;
                    if !self.after(wrote).await {
                        return Step::Closed;
                    }
                    return Step::Tick;
                }
                frame = self.rx.recv() => return Step::Out(frame),
                msg = self.stream.next() => match msg {
                    None => return Step::Closed,
                    Some(Ok(Message::Close(_))) => {
                        // Complete the closing handshake (the library queued our reply).
                        let _ = self.sink.close().await;
                        return Step::Closed;
                    }
                    Some(Err(e)) => {
                        self.close_for(&e).await;
                        return Step::Closed;
                    }
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => self.last_heard = Instant::now(),
                    Some(Ok(Message::Binary(_))) => {
                        self.close(1003, "text frames only").await;
                        return Step::Closed;
                    }
                    Some(Ok(Message::Text(t))) => {
                        self.last_heard = Instant::now();
                        if self.bucket.allow() {
                            self.refused = 0;
                            return Step::Text(t);
                        }
                        self.refused += 1;
                        if self.refused > self.state.config.realtime.frames_burst * 2 {
                            tracing::info!(conn = %self.conn, "closing a connection that keeps flooding");
                            self.close(close::RATE_LIMITED, "too many frames").await;
                            return Step::Closed;
                        }
                        self.error(WireError::RateLimited, ErrorDetail::default()).await;
                    }
                }
            }
        }
    }
}

/// Is `frame` made for a connection of `audience`? See `Connection::for_me`.
fn made_for(audience: Audience, conn: ConnId, frame: &Frame) -> bool {
    let ok = frame.audience == audience;
    if !ok {
        tracing::error!(conn = %conn, audience = ?audience, "a frame made for another audience was not sent");
    }
    debug_assert!(ok, "a frame for {:?} on a {:?} connection", frame.audience, audience);
    ok
}

/// Has this connection sent `frame`'s event already (by chat and seq)? Records it if not.
fn duplicate_in(sent: &mut HashMap<ChatId, u64>, frame: &Frame) -> bool {
    if let Some((chat, seq)) = frame.event {
        let last = sent.entry(chat).or_insert(0);
        if seq <= *last {
            return true;
        }
        *last = seq;
    }
    false
}

/// Run a write, watching the connection's too-slow signal and the send timeout meanwhile: a
/// write blocked by a client that stopped reading must not keep the connection from noticing.
async fn watched(
    write: impl std::future::Future<Output = std::io::Result<()>>,
    slow: &CancellationToken,
    within: Duration,
) -> Wrote {
    tokio::select! {
        r = write => match r {
            Ok(()) => Wrote::Done,
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => Wrote::TooSlow,
            Err(e) if e.to_string().contains("Write buffer is full") => Wrote::TooLarge,
            Err(_) => Wrote::Gone,
        },
        _ = slow.cancelled() => Wrote::TooSlow,
        _ = tokio::time::sleep(within) => Wrote::TooSlow,
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.state.realtime.hub.unregister(self.conn);
        self.state.metrics.open_sockets.fetch_sub(1, Ordering::Relaxed);
    }
}

/// What `bad_frame` says of a message id that breaks the rule of `valid_client_id`.
pub const CLIENT_ID_RULE: &str = "A message id is 1 to 64 characters.";

/// A client message id: 1 to 64 bytes, no control characters.
/// The file an upload names, for a `message` frame: the upload must be this sender's, made for
/// this chat, complete, and not sent yet — or sent by this very message id (a resend, which the
/// switchboard acknowledges again).
pub fn attached_file<'a>(
    s: &Socket,
    site: crate::domain::ids::SiteId,
    by: crate::domain::files::Uploader,
    chat: ChatId,
    upload: u64,
    id: &'a str,
) -> Result<crate::domain::files::FileRef, ErrorDetail<'a>> {
    match s.state.store.site(site).upload(upload) {
        Ok(u) if u.by == by && u.chat == chat && u.complete && u.sent.as_ref().is_none_or(|(_, c)| c == id) => {
            Ok(u.file_ref())
        }
        _ => Err(ErrorDetail {
            message: Some("No such upload for this chat: upload the file again."),
            id: Some(id),
            field: None,
            chat: Some(chat),
        }),
    }
}

pub fn valid_client_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && !id.chars().any(char::is_control)
}

/// The description of a frame that could not be read, for the `bad_frame` error.
pub fn bad_frame_message(e: &serde_json::Error) -> String {
    format!("This frame could not be read: {e}.")
}
