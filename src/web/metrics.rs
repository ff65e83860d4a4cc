//! Prometheus text exposition of a handful of counters. Hand-written: the format is four lines
//! per metric and the set is small.

use crate::store::Store;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Debug, Default)]
pub struct Metrics {
    /// Responses by status class: 1xx..5xx.
    pub responses: [AtomicU64; 5],
    pub open_sockets: AtomicU64,
    pub logins_failed: AtomicU64,
    /// HTTP connections held (WebSockets included).
    pub open_connections: AtomicU64,
    /// Connections closed at once because `max_connections` were held.
    pub connections_refused: AtomicU64,
    /// Connections ended by a header, first-bytes or send timeout.
    pub connections_timed_out: AtomicU64,
    /// WebSockets closed with `4008` because the client did not take its frames.
    pub sockets_too_slow: AtomicU64,
}

impl Metrics {
    pub fn count_response(&self, status: u16) {
        let class = usize::from((status / 100).clamp(1, 5)) - 1;
        self.responses[class].fetch_add(1, Ordering::Relaxed);
    }

    pub fn render(&self, store: &Store) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "# HELP parley_build_info Parley version.\n# TYPE parley_build_info gauge");
        let _ = writeln!(out, "parley_build_info{{version=\"{}\"}} 1", env!("CARGO_PKG_VERSION"));
        let _ = writeln!(
            out,
            "# HELP parley_http_responses_total HTTP responses by status class.\n# TYPE parley_http_responses_total counter"
        );
        for (i, c) in self.responses.iter().enumerate() {
            let _ = writeln!(out, "parley_http_responses_total{{class=\"{}xx\"}} {}", i + 1, c.load(Ordering::Relaxed));
        }
        let stats = store.stats();
        let counters = [
            (
                "parley_store_commits_total",
                "Durable store commits (one per group-committed batch).",
                stats.commits.load(Ordering::Relaxed),
            ),
            ("parley_store_writes_total", "Writes committed to the store.", stats.writes.load(Ordering::Relaxed)),
            ("parley_logins_failed_total", "Failed sign-in attempts.", self.logins_failed.load(Ordering::Relaxed)),
            (
                "parley_connections_refused_total",
                "Connections closed at once because [limits] max_connections were held.",
                self.connections_refused.load(Ordering::Relaxed),
            ),
            (
                "parley_connections_timed_out_total",
                "Connections ended because the client stalled (headers or writes past their timeout).",
                self.connections_timed_out.load(Ordering::Relaxed),
            ),
            (
                "parley_sockets_too_slow_total",
                "WebSockets closed with 4008 because the client did not take its frames.",
                self.sockets_too_slow.load(Ordering::Relaxed),
            ),
        ];
        for (name, help, v) in counters {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter\n{name} {v}");
        }
        let _ =
            writeln!(out, "# HELP parley_open_sockets Open WebSocket connections.\n# TYPE parley_open_sockets gauge");
        let _ = writeln!(out, "parley_open_sockets {}", self.open_sockets.load(Ordering::Relaxed));
        let _ = writeln!(
            out,
            "# HELP parley_open_connections Open HTTP connections, WebSockets included.\n# TYPE parley_open_connections gauge"
        );
        let _ = writeln!(out, "parley_open_connections {}", self.open_connections.load(Ordering::Relaxed));
        out
    }
}
