//! Fan-out: which connections listen to which targets, and handing them frames. Publishing
//! never waits: each connection has a bounded queue, and a connection whose queue is full is
//! told it is too slow (it closes, and its client resumes from the last seq it saw).

use super::protocol::Frame;
use crate::domain::ids::ConnId;
use crate::domain::switchboard::Target;
use std::collections::HashMap;
use std::sync::Mutex;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

#[derive(Clone)]
struct Sub {
    conn: ConnId,
    tx: mpsc::Sender<Frame>,
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
    /// Listen to `targets` on behalf of connection `conn` until `unregister`.
    pub fn register(&self, conn: ConnId, targets: &[Target], tx: mpsc::Sender<Frame>, slow: CancellationToken) {
        let Ok(mut r) = self.inner.lock() else { return };
        for t in targets {
            r.by_target.entry(*t).or_default().push(Sub { conn, tx: tx.clone(), slow: slow.clone() });
        }
        r.by_conn.entry(conn).or_default().extend_from_slice(targets);
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
            match s.tx.try_send(frame.clone()) {
                Ok(()) => n += 1,
                Err(mpsc::error::TrySendError::Full(_)) => s.slow.cancel(),
                Err(mpsc::error::TrySendError::Closed(_)) => {}
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
    use crate::domain::ids::VisitorId;

    fn frame(n: u32) -> Frame {
        Frame { event: None, json: format!("{{\"n\":{n}}}").into() }
    }

    #[tokio::test]
    async fn frames_reach_registered_connections_until_they_unregister() {
        let hub = Hub::default();
        let (tx, mut rx) = mpsc::channel(4);
        let t = Target::Visitor(VisitorId(1));
        hub.register(ConnId(1), &[t, Target::Conn(ConnId(1))], tx, CancellationToken::new());
        assert_eq!(hub.publish(t, &frame(1)), 1);
        assert_eq!(rx.recv().await.map(|f| f.json.to_string()), Some("{\"n\":1}".into()));
        hub.unregister(ConnId(1));
        assert_eq!(hub.publish(t, &frame(2)), 0);
        assert_eq!(hub.connections(), 0);
    }

    #[test]
    fn a_full_queue_marks_only_that_connection_slow() {
        let hub = Hub::default();
        let t = Target::Visitor(VisitorId(1));
        let (slow_tx, _slow_rx) = mpsc::channel(1);
        let (fast_tx, mut fast_rx) = mpsc::channel(16);
        let (slow, fast) = (CancellationToken::new(), CancellationToken::new());
        hub.register(ConnId(1), &[t], slow_tx, slow.clone());
        hub.register(ConnId(2), &[t], fast_tx, fast.clone());
        for n in 0..3 {
            hub.publish(t, &frame(n));
        }
        assert!(slow.is_cancelled());
        assert!(!fast.is_cancelled());
        let mut got = 0;
        while fast_rx.try_recv().is_ok() {
            got += 1;
        }
        assert_eq!(got, 3, "the fast reader is not held back");
    }
}
