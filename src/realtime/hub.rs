//! Fan-out: which connections listen to which targets, and handing them frames. Publishing
//! never waits: each connection has a bounded queue, and a connection whose queue is full is
//! told it is too slow (it closes, and its client resumes from the last seq it saw).

use super::protocol::{Audience, Frame};
use crate::domain::ids::ConnId;
use crate::domain::switchboard::Target;
use std::collections::{HashMap, VecDeque};
use std::future::poll_fn;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Poll, Waker};
use tokio_util::sync::CancellationToken;

/// A connection's queue of frames from the hub, bounded to `capacity` frames. Unlike a tokio
/// channel (which allocates a block of 32 slots up front, ~1.3 KB, and a cache-padded shared
/// state), it holds no buffer while empty: most sockets are idle, and this is per socket.
pub fn outbox(capacity: usize) -> (FrameTx, FrameRx) {
    let shared = Arc::new(Mutex::new(Queue { frames: VecDeque::new(), capacity, waker: None, closed: false }));
    (FrameTx(shared.clone()), FrameRx(shared))
}

struct Queue {
    frames: VecDeque<Frame>,
    capacity: usize,
    /// The receiving task, when it waits for a frame.
    waker: Option<Waker>,
    /// The receiver is gone.
    closed: bool,
}

/// Capacity an empty queue may keep (in frames) instead of freeing its buffer.
const KEEP_EMPTY: usize = 8;

fn locked(q: &Mutex<Queue>) -> MutexGuard<'_, Queue> {
    // Nothing panics while holding this lock; a poisoned queue is still consistent.
    q.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Why a frame was not queued.
#[derive(Debug, PartialEq, Eq)]
pub enum SendError {
    /// The queue holds `capacity` frames: the connection does not keep up.
    Full,
    /// The connection is gone.
    Closed,
}

/// The sending side (the hub's, and the connection's own for frames to itself).
#[derive(Clone)]
pub struct FrameTx(Arc<Mutex<Queue>>);

impl FrameTx {
    pub fn try_send(&self, frame: Frame) -> Result<(), SendError> {
        let waker = {
            let mut q = locked(&self.0);
            if q.closed {
                return Err(SendError::Closed);
            }
            if q.frames.len() >= q.capacity {
                return Err(SendError::Full);
            }
            q.frames.push_back(frame);
            q.waker.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
        Ok(())
    }
}

/// The receiving side: the connection's loop.
pub struct FrameRx(Arc<Mutex<Queue>>);

impl FrameRx {
    /// The next frame, waiting for one (cancel safe: a frame is taken only when returned).
    pub async fn recv(&mut self) -> Frame {
        poll_fn(|cx| {
            let mut q = locked(&self.0);
            match pop(&mut q) {
                Some(f) => Poll::Ready(f),
                None => {
                    if !q.waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                        q.waker = Some(cx.waker().clone());
                    }
                    Poll::Pending
                }
            }
        })
        .await
    }

    /// A frame already waiting, if any.
    pub fn try_recv(&mut self) -> Option<Frame> {
        pop(&mut locked(&self.0))
    }
}

fn pop(q: &mut Queue) -> Option<Frame> {
    let f = q.frames.pop_front()?;
    if q.frames.is_empty() && q.frames.capacity() > KEEP_EMPTY {
        q.frames = VecDeque::new();
    }
    Some(f)
}

impl Drop for FrameRx {
    fn drop(&mut self) {
        let mut q = locked(&self.0);
        q.closed = true;
        q.frames = VecDeque::new();
        q.waker = None;
    }
}

#[derive(Clone)]
struct Sub {
    conn: ConnId,
    /// Who is at the other end: only frames made for this audience are queued.
    audience: Audience,
    tx: FrameTx,
    /// Cancelled when the connection cannot keep up.
    slow: CancellationToken,
}

#[derive(Default)]
struct Registry {
    by_target: HashMap<Target, Vec<Sub>>,
    by_conn: HashMap<ConnId, Vec<Target>>,
}

#[derive(Default)]
pub struct Hub {
    inner: Mutex<Registry>,
}

impl Hub {
    /// Listen to `targets` on behalf of connection `conn`, a client of `audience`, until
    /// `unregister`. A target of the other audience (a visitor's connection listening to an
    /// agent's frames, say) is refused.
    pub fn register(&self, conn: ConnId, audience: Audience, targets: &[Target], tx: FrameTx, slow: CancellationToken) {
        let Ok(mut r) = self.inner.lock() else { return };
        let mut kept = Vec::with_capacity(targets.len());
        for t in targets {
            if Audience::of(*t) != audience {
                tracing::error!(conn = %conn, target = ?t, "refused a target of another audience");
                continue;
            }
            // Most targets have one listener (a connection, a visitor's one tab): no spare room.
            r.by_target.entry(*t).or_insert_with(|| Vec::with_capacity(1)).push(Sub {
                conn,
                audience,
                tx: tx.clone(),
                slow: slow.clone(),
            });
            kept.push(*t);
        }
        r.by_conn.entry(conn).or_default().extend_from_slice(&kept);
    }

    pub fn unregister(&self, conn: ConnId) {
        let Ok(mut r) = self.inner.lock() else { return };
        let Some(targets) = r.by_conn.remove(&conn) else { return };
        for t in targets {
            if let Some(subs) = r.by_target.get_mut(&t) {
                subs.retain(|s| s.conn != conn);
                if subs.is_empty() {
                    r.by_target.remove(&t);
                }
            }
        }
    }

    /// Hand `frame` to every connection listening to `target`; returns how many got it.
    pub fn publish(&self, target: Target, frame: &Frame) -> usize {
        let Ok(r) = self.inner.lock() else { return 0 };
        let Some(subs) = r.by_target.get(&target) else { return 0 };
        let mut n = 0;
        for s in subs {
            if s.audience != frame.audience {
                tracing::error!(conn = %s.conn, target = ?target, "a frame made for another audience was not sent");
                continue;
            }
            match s.tx.try_send(frame.clone()) {
                Ok(()) => n += 1,
                Err(SendError::Full) => s.slow.cancel(),
                Err(SendError::Closed) => {}
            }
        }
        n
    }

    /// Connections registered now.
    #[cfg(test)]
    pub fn connections(&self) -> usize {
        self.inner.lock().map(|r| r.by_conn.len()).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ids::{UserId, VisitorId};

    fn frame(n: u32) -> Frame {
        Frame { audience: Audience::Visitor, event: None, json: format!("{{\"n\":{n}}}").into() }
    }

    #[tokio::test]
    async fn frames_reach_registered_connections_until_they_unregister() {
        let hub = Hub::default();
        let (tx, mut rx) = outbox(4);
        let t = Target::Visitor(VisitorId(1));
        hub.register(ConnId(1), Audience::Visitor, &[t, Target::VisitorConn(ConnId(1))], tx, CancellationToken::new());
        assert_eq!(hub.publish(t, &frame(1)), 1);
        assert_eq!(rx.recv().await.json.to_string(), "{\"n\":1}");
        hub.unregister(ConnId(1));
        assert_eq!(hub.publish(t, &frame(2)), 0);
        assert_eq!(hub.connections(), 0);
    }

    #[tokio::test]
    async fn a_visitor_connection_never_receives_an_agents_frame() {
        let hub = Hub::default();
        let (tx, mut rx) = outbox(4);
        let visitor = Target::Visitor(VisitorId(1));
        // Registering a visitor's connection for an agent's target is refused ...
        hub.register(ConnId(1), Audience::Visitor, &[visitor, Target::Agent(UserId(2))], tx, CancellationToken::new());
        let agents = Frame { audience: Audience::Agent, ..frame(1) };
        assert_eq!(hub.publish(Target::Agent(UserId(2)), &agents), 0);
        // ... and a frame made for agents, published to the visitor's target, is not queued.
        assert_eq!(hub.publish(visitor, &agents), 0);
        assert_eq!(hub.publish(visitor, &frame(2)), 1);
        assert_eq!(rx.recv().await.json.to_string(), "{\"n\":2}");
    }

    #[test]
    fn a_full_queue_marks_only_that_connection_slow() {
        let hub = Hub::default();
        let t = Target::Visitor(VisitorId(1));
        let (slow_tx, _slow_rx) = outbox(1);
        let (fast_tx, mut fast_rx) = outbox(16);
        let (slow, fast) = (CancellationToken::new(), CancellationToken::new());
        hub.register(ConnId(1), Audience::Visitor, &[t], slow_tx, slow.clone());
        hub.register(ConnId(2), Audience::Visitor, &[t], fast_tx, fast.clone());
        for n in 0..3 {
            hub.publish(t, &frame(n));
        }
        assert!(slow.is_cancelled());
        assert!(!fast.is_cancelled());
        let mut got = 0;
        while fast_rx.try_recv().is_some() {
            got += 1;
        }
        assert_eq!(got, 3, "the fast reader is not held back");
    }

    #[tokio::test]
    async fn an_outbox_keeps_order_wakes_its_reader_and_frees_its_buffer_when_drained() {
        let (tx, mut rx) = outbox(100);
        let reader = tokio::spawn(async move {
            let mut got = Vec::new();
            for _ in 0..50 {
                got.push(rx.recv().await.json.to_string());
            }
            (got, rx)
        });
        for n in 0..50 {
            tx.try_send(frame(n)).expect("room");
            tokio::task::yield_now().await;
        }
        let (got, rx) = reader.await.expect("reader");
        assert_eq!(got, (0..50).map(|n| format!("{{\"n\":{n}}}")).collect::<Vec<_>>());
        assert!(locked(&rx.0).frames.capacity() <= KEEP_EMPTY, "one frame at a time needs a small buffer");
        for n in 0..20 {
            tx.try_send(frame(n)).expect("room");
        }
        let mut rx = rx;
        while rx.try_recv().is_some() {}
        assert_eq!(locked(&rx.0).frames.capacity(), 0, "a drained queue gave its buffer back");
        drop(rx);
        assert_eq!(tx.try_send(frame(1)), Err(SendError::Closed));
    }

    #[test]
    fn an_outbox_refuses_past_its_capacity() {
        let (tx, mut rx) = outbox(2);
        assert!(tx.try_send(frame(1)).is_ok() && tx.try_send(frame(2)).is_ok());
        assert_eq!(tx.try_send(frame(3)), Err(SendError::Full));
        assert!(rx.try_recv().is_some());
        assert!(tx.try_send(frame(3)).is_ok());
    }
}
