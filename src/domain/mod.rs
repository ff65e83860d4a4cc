//! The pure core of Parley: identifiers, the organization model, form validation and policies
//! that depend on time. Nothing here does IO, reads a clock or spawns: time comes in as an
//! argument (`Millis`), randomness is injected. It must not import tokio, redb, poem or askama.

pub mod chat;
pub mod forms;
pub mod i18n;
pub mod ids;
pub mod model;
pub mod proactive;
pub mod stats;
pub mod switchboard;
pub mod throttle;
pub mod validate;

/// Milliseconds since the Unix epoch: the only notion of time the domain knows.
pub type Millis = u64;

/// A UTC timestamp people read, without a date-time dependency.
pub fn utc(ms: u64) -> String {
    let secs = ms / 1000;
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02} {:02}:{:02} UTC", rem / 3600, rem % 3600 / 60)
}

#[cfg(test)]
mod tests {
    #[test]
    fn timestamps_read_as_utc_dates() {
        assert_eq!(super::utc(0), "1970-01-01 00:00 UTC");
        assert_eq!(super::utc(951_782_400_000), "2000-02-29 00:00 UTC");
        assert_eq!(super::utc(1_795_316_511_436), "2026-11-22 03:01 UTC");
    }
}
