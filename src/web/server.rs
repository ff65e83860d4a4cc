//! The HTTP server loop: accept connections (plain or TLS) up to a cap, serve each with hyper
//! (HTTP/1.1 with upgrades to WebSocket, and HTTP/2), and never let a stalled client hold a
//! connection: the first bytes and every request's headers must arrive within
//! `header_timeout`, a request body may not pause longer than `body_timeout`, and a write
//! the client does not take within `send_timeout` ends the connection.

use super::metrics::Metrics;
use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use poem::listener::Acceptor;
use poem::{Body, Endpoint, EndpointExt, IntoEndpoint, Request, Response};
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// The limits of the connection layer (`[limits]` in the configuration).
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Connections held at once (WebSockets included); one more is closed at once.
    pub max_connections: usize,
    /// From the connection's start (TLS handshake included), or from the end of the previous
    /// response, to a request's complete headers.
    pub header_timeout: Duration,
    /// The longest pause within a request body.
    pub body_timeout: Duration,
    /// The longest a write may wait for the client to take bytes.
    pub send_timeout: Duration,
}

/// Serve `app` on the connections of `acceptor` until `shutdown`; then stop accepting, let
/// requests in progress finish for up to `grace`, and return.
pub async fn serve(
    mut acceptor: impl Acceptor + 'static,
    app: impl IntoEndpoint<Endpoint: 'static>,
    limits: Limits,
    metrics: Arc<Metrics>,
    shutdown: CancellationToken,
    grace: Duration,
) {
    let app = Arc::new(app.into_endpoint().map_to_response().boxed());
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let connections = TaskTracker::new();
    let closing = CancellationToken::new();
    let mut refusals = Refusals::default();
    loop {
        let accepted = tokio::select! {
            _ = shutdown.cancelled() => break,
            accepted = acceptor.accept() => accepted,
        };
        let (io, local, remote, scheme) = match accepted {
            Ok(a) => a,
            Err(e) => {
                // Out of file descriptors, say: pause instead of spinning on the error.
                tracing::warn!(error = %e, "cannot accept a connection");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            metrics.connections_refused.fetch_add(1, Ordering::Relaxed);
            refusals.note(limits.max_connections);
            drop(io);
            continue;
        };
        let linger = Linger::default();
        let io = Guarded::new(io, permit, &limits, metrics.clone(), linger.clone());
        let (app, closing, metrics) = (app.clone(), closing.clone(), metrics.clone());
        let peer = remote.to_string();
        connections.spawn(async move {
            let service = hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                let (app, local, remote, scheme) = (app.clone(), local.clone(), remote.clone(), scheme.clone());
                let linger = linger.clone();
                async move {
                    let mut req = Request::from((req, local, remote, scheme));
                    req.extensions_mut().insert(linger);
                    let resp = respond(&app, req, limits.body_timeout).await;
                    Ok::<_, std::convert::Infallible>(hyper::Response::from(resp))
                }
            });
            let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
            builder.http1().timer(TokioTimer::new()).header_read_timeout(limits.header_timeout).keep_alive(true);
            builder
                .http2()
                .timer(TokioTimer::new())
                .keep_alive_interval(Some(limits.header_timeout))
                .keep_alive_timeout(limits.header_timeout)
                .max_concurrent_streams(100);
            let conn = builder.serve_connection_with_upgrades(TokioIo::new(io), service);
            tokio::pin!(conn);
            let result = tokio::select! {
                r = &mut conn => r,
                _ = closing.cancelled() => {
                    conn.as_mut().graceful_shutdown();
                    conn.await
                }
            };
            if let Err(e) = result {
                if is_timeout(e.as_ref()) {
                    metrics.connections_timed_out.fetch_add(1, Ordering::Relaxed);
                }
                tracing::debug!(error = %e, remote = %peer, "connection ended with an error");
            }
        });
    }
    drop(acceptor);
    closing.cancel();
    connections.close();
    if tokio::time::timeout(grace, connections.wait()).await.is_err() {
        tracing::warn!("some connections were still busy {} s after the shutdown began", grace.as_secs());
    }
}

type App = poem::endpoint::BoxEndpoint<'static, Response>;

/// One request: its body may not pause longer than `body_timeout`. A body that stalled
/// answers 408 and closes the connection, whatever the handler made of the broken body.
async fn respond(app: &App, mut req: Request, body_timeout: Duration) -> Response {
    let stalled = Arc::new(AtomicBool::new(false));
    let body = req.take_body();
    req.set_body(Body::from_bytes_stream(paced(body.into_bytes_stream(), body_timeout, stalled.clone())));
    let resp = app.get_response(req).await;
    if stalled.load(Ordering::Relaxed) {
        return Response::builder()
            .status(poem::http::StatusCode::REQUEST_TIMEOUT)
            .header(poem::http::header::CONNECTION, "close")
            .content_type("text/plain; charset=utf-8")
            .body(format!("The request body stopped arriving for {} s.", body_timeout.as_secs()));
    }
    resp
}

/// `body`, failing with `TimedOut` (and raising `stalled`) when no chunk comes for `every`.
fn paced(
    body: impl Stream<Item = io::Result<Bytes>> + Send + 'static,
    every: Duration,
    stalled: Arc<AtomicBool>,
) -> impl Stream<Item = io::Result<Bytes>> + Send + 'static {
    futures_util::stream::unfold(Some(Box::pin(body)), move |body| {
        let stalled = stalled.clone();
        async move {
            let mut body = body?;
            match tokio::time::timeout(every, body.next()).await {
                Ok(Some(chunk)) => Some((chunk, Some(body))),
                Ok(None) => None,
                Err(_) => {
                    stalled.store(true, Ordering::Relaxed);
                    Some((Err(io::Error::new(io::ErrorKind::TimedOut, "the request body stalled")), None))
                }
            }
        }
    })
}

fn is_timeout(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut source = Some(e);
    while let Some(e) = source {
        if e.downcast_ref::<hyper::Error>().is_some_and(hyper::Error::is_timeout)
            || e.downcast_ref::<io::Error>().is_some_and(|e| e.kind() == io::ErrorKind::TimedOut)
        {
            return true;
        }
        source = e.source();
    }
    false
}

/// Connections refused at the cap, logged at most every 10 s.
#[derive(Default)]
struct Refusals {
    since_log: u64,
    logged: Option<Instant>,
}

impl Refusals {
    fn note(&mut self, cap: usize) {
        self.since_log += 1;
        if self.logged.is_none_or(|t| t.elapsed() >= Duration::from_secs(10)) {
            tracing::warn!(
                refused = self.since_log,
                max_connections = cap,
                "connections refused: the server holds [limits] max_connections connections"
            );
            self.since_log = 0;
            self.logged = Some(Instant::now());
        }
    }
}

/// The bytes a connection must deliver before `header_timeout` (an HTTP/2 preface is 24;
/// an HTTP/1.1 request line is longer): enough for the server to tell the protocol, after
/// which hyper's own header timeout takes over.
const FIRST_BYTES: usize = 24;

/// A connection's lingering close, in each of its requests' extensions. A handler that
/// upgrades the connection to a WebSocket asks for it: when the connection ends, its side is
/// shut down and what the client still sends is read and dropped (2 s and 4 MiB at most)
/// before the socket closes. Closing with the client's bytes unread would reset the
/// connection, and the client could lose the close frame just sent (and its code).
#[derive(Clone, Default)]
pub struct Linger(Arc<AtomicBool>);

impl Linger {
    pub fn on_close(&self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// The most a lingering close reads and drops: a message far over the frame limit that a
/// browser is still sending (a paste of megabytes) fits.
const LINGER_BYTES: usize = 4 * 1024 * 1024;

/// Shut down our side of `io`, then read and drop what the client sends until it closes
/// (bounded in time and bytes).
async fn linger<Io: AsyncRead + AsyncWrite + Unpin>(mut io: Io) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let drain = async {
        let _ = io.shutdown().await;
        let mut buf = [0u8; 4096];
        let mut left = LINGER_BYTES;
        while left > 0 {
            match io.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => left = left.saturating_sub(n),
            }
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(2), drain).await;
}

/// A connection's IO with its slot under the cap and its timeouts: the first bytes must
/// arrive by a deadline, and a write may not wait longer than `send_timeout`. Timers are
/// allocated only while armed: most connections are idle WebSockets.
struct Guarded<Io: AsyncRead + AsyncWrite + Unpin + Send + 'static> {
    /// Always there until dropped (taken by a lingering close).
    io: Option<Io>,
    linger: Linger,
    _permit: OwnedSemaphorePermit,
    metrics: Arc<Metrics>,
    /// Until `FIRST_BYTES` have come: when they must have.
    first: Option<Pin<Box<tokio::time::Sleep>>>,
    received: usize,
    send_timeout: Duration,
    /// While a write waits: when it gives up.
    stalled_write: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl<Io: AsyncRead + AsyncWrite + Unpin + Send + 'static> Guarded<Io> {
    fn new(io: Io, permit: OwnedSemaphorePermit, limits: &Limits, metrics: Arc<Metrics>, linger: Linger) -> Self {
        metrics.open_connections.fetch_add(1, Ordering::Relaxed);
        Guarded {
            io: Some(io),
            linger,
            _permit: permit,
            metrics,
            first: Some(Box::pin(tokio::time::sleep(limits.header_timeout))),
            received: 0,
            send_timeout: limits.send_timeout,
            stalled_write: None,
        }
    }

    /// Called when a write is pending: an error once it has waited `send_timeout`.
    fn write_waits(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let send_timeout = self.send_timeout;
        let timer = self.stalled_write.get_or_insert_with(|| Box::pin(tokio::time::sleep(send_timeout)));
        ready!(timer.as_mut().poll(cx));
        self.stalled_write = None;
        Poll::Ready(Err(io::Error::new(io::ErrorKind::TimedOut, "the client did not take its data in time")))
    }

    /// The IO, there until the connection is dropped (a lingering close takes it then).
    fn io(&mut self) -> io::Result<Pin<&mut Io>> {
        self.io.as_mut().map(Pin::new).ok_or_else(|| io::Error::from(io::ErrorKind::NotConnected))
    }

    /// A write step's result: pending arms the send timeout, anything else disarms it.
    fn after_write<T>(&mut self, cx: &mut Context<'_>, r: Poll<io::Result<T>>) -> Poll<io::Result<T>> {
        match r {
            Poll::Pending => match self.write_waits(cx) {
                Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
                _ => Poll::Pending,
            },
            done => {
                self.stalled_write = None;
                done
            }
        }
    }
}

impl<Io: AsyncRead + AsyncWrite + Unpin + Send + 'static> Drop for Guarded<Io> {
    fn drop(&mut self) {
        self.metrics.open_connections.fetch_sub(1, Ordering::Relaxed);
        if self.linger.0.load(Ordering::Relaxed)
            && let Some(io) = self.io.take()
            && let Ok(rt) = tokio::runtime::Handle::try_current()
        {
            rt.spawn(linger(io));
        }
    }
}

use std::future::Future;

impl<Io: AsyncRead + AsyncWrite + Unpin + Send + 'static> AsyncRead for Guarded<Io> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let this = &mut *self;
        let read = match this.io() {
            Ok(io) => io.poll_read(cx, buf),
            Err(e) => return Poll::Ready(Err(e)),
        };
        match read {
            Poll::Ready(r) => {
                if this.first.is_some() {
                    this.received += buf.filled().len() - before;
                    if this.received >= FIRST_BYTES || buf.filled().len() == before {
                        this.first = None;
                    }
                }
                Poll::Ready(r)
            }
            Poll::Pending => {
                if let Some(deadline) = this.first.as_mut()
                    && deadline.as_mut().poll(cx).is_ready()
                {
                    this.first = None;
                    return Poll::Ready(Err(io::Error::new(io::ErrorKind::TimedOut, "no request in time")));
                }
                Poll::Pending
            }
        }
    }
}

impl<Io: AsyncRead + AsyncWrite + Unpin + Send + 'static> AsyncWrite for Guarded<Io> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let r = match self.io() {
            Ok(io) => io.poll_write(cx, buf),
            Err(e) => return Poll::Ready(Err(e)),
        };
        self.after_write(cx, r)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let r = match self.io() {
            Ok(io) => io.poll_write_vectored(cx, bufs),
            Err(e) => return Poll::Ready(Err(e)),
        };
        self.after_write(cx, r)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.as_ref().is_some_and(|io| io.is_write_vectored())
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let r = match self.io() {
            Ok(io) => io.poll_flush(cx),
            Err(e) => return Poll::Ready(Err(e)),
        };
        self.after_write(cx, r)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let r = match self.io() {
            Ok(io) => io.poll_shutdown(cx),
            Err(e) => return Poll::Ready(Err(e)),
        };
        self.after_write(cx, r)
    }
}
