//! Sign-in throttling: after a few failures for the same key (an account's email, a client IP)
//! each further attempt must wait, doubling up to a cap. Pure: the caller passes the time.

use super::Millis;
use std::collections::HashMap;

#[derive(Clone, Copy, Debug)]
pub struct ThrottlePolicy {
    /// Failures allowed before waiting starts.
    pub free_failures: u32,
    /// Wait after the first failure beyond the free ones; doubles with each further failure.
    pub base_delay_ms: u64,
    pub max_delay_ms: u64,
    /// Failures older than this are forgotten.
    pub forget_after_ms: u64,
}

impl Default for ThrottlePolicy {
    fn default() -> Self {
        ThrottlePolicy {
            free_failures: 5,
            base_delay_ms: 2_000,
            max_delay_ms: 15 * 60_000,
            forget_after_ms: 60 * 60_000,
        }
    }
}

#[derive(Clone, Copy, Debug)]
struct Entry {
    failures: u32,
    last_failure: Millis,
}

#[derive(Debug, Default)]
pub struct Throttle {
    policy: ThrottlePolicy,
    entries: HashMap<String, Entry>,
}

/// Keeps memory bounded under a flood of distinct keys.
const MAX_KEYS: usize = 100_000;

impl Throttle {
    pub fn new(policy: ThrottlePolicy) -> Throttle {
        Throttle { policy, entries: HashMap::new() }
    }

    /// Milliseconds the key must still wait before its next attempt (0: go ahead).
    pub fn wait_ms(&self, key: &str, now: Millis) -> u64 {
        let Some(e) = self.entries.get(key) else {
            return 0;
        };
        if now.saturating_sub(e.last_failure) >= self.policy.forget_after_ms || e.failures < self.policy.free_failures {
            return 0;
        }
        let doublings = (e.failures - self.policy.free_failures).min(30);
        let delay = self.policy.base_delay_ms.saturating_mul(1 << doublings).min(self.policy.max_delay_ms);
        (e.last_failure + delay).saturating_sub(now)
    }

    pub fn failed(&mut self, key: &str, now: Millis) {
        if self.entries.len() >= MAX_KEYS {
            self.forget_old(now);
        }
        let forget = self.policy.forget_after_ms;
        let e = self.entries.entry(key.to_string()).or_insert(Entry { failures: 0, last_failure: now });
        if now.saturating_sub(e.last_failure) >= forget {
            e.failures = 0;
        }
        e.failures += 1;
        e.last_failure = now;
    }

    pub fn succeeded(&mut self, key: &str) {
        self.entries.remove(key);
    }

    pub fn forget_old(&mut self, now: Millis) {
        let forget = self.policy.forget_after_ms;
        self.entries.retain(|_, e| now.saturating_sub(e.last_failure) < forget);
        if self.entries.len() >= MAX_KEYS {
            self.entries.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> ThrottlePolicy {
        ThrottlePolicy { free_failures: 3, base_delay_ms: 1_000, max_delay_ms: 8_000, forget_after_ms: 60_000 }
    }

    #[test]
    fn free_failures_then_doubling_waits_up_to_the_cap() {
        let mut t = Throttle::new(policy());
        for i in 0..3 {
            assert_eq!(t.wait_ms("a", i), 0);
            t.failed("a", i);
        }
        assert_eq!(t.wait_ms("a", 2), 1_000);
        assert_eq!(t.wait_ms("a", 1_002), 0);
        t.failed("a", 1_002);
        assert_eq!(t.wait_ms("a", 1_002), 2_000);
        for _ in 0..10 {
            t.failed("a", 5_000);
        }
        assert_eq!(t.wait_ms("a", 5_000), 8_000, "capped");
        assert_eq!(t.wait_ms("b", 5_000), 0, "keys are independent");
    }

    #[test]
    fn success_and_time_clear_the_record() {
        let mut t = Throttle::new(policy());
        for _ in 0..5 {
            t.failed("a", 0);
        }
        assert!(t.wait_ms("a", 0) > 0);
        assert_eq!(t.wait_ms("a", 60_000), 0, "forgotten after the window");
        t.succeeded("a");
        assert_eq!(t.wait_ms("a", 1), 0);
    }
}
