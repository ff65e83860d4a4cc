//! The clock: milliseconds since the Unix epoch. Read by the edges (web, mail, webhooks) and
//! passed into the store and the domain, which never read it themselves.

pub fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}
