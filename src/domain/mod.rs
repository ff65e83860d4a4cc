//! The pure core of Parley: identifiers, the organization model, form validation and policies
//! that depend on time. Nothing here does IO, reads a clock or spawns: time comes in as an
//! argument (`Millis`), randomness is injected. It must not import tokio, redb, poem or askama.

pub mod chat;
pub mod files;
pub mod forms;
pub mod i18n;
pub mod ids;
pub mod mail;
pub mod model;
pub mod prechat;
pub mod proactive;
pub mod stats;
pub mod switchboard;
pub mod throttle;
pub mod tokens;
pub mod validate;
pub mod webhooks;

/// Milliseconds since the Unix epoch: the only notion of time the domain knows.
pub type Millis = u64;

/// Bytes as lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

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

/// Days since 1970-01-01 of a date written `YYYY-MM-DD` (1970 to 9999); `None` for anything
/// else, impossible dates such as 2026-02-30 included.
pub fn parse_day(s: &str) -> Option<i64> {
    let mut parts = s.trim().splitn(3, '-');
    let y: i64 = parts.next()?.parse().ok()?;
    let m: i64 = parts.next()?.parse().ok()?;
    let d: i64 = parts.next()?.parse().ok()?;
    if !(1970..=9999).contains(&y) || !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    // Howard Hinnant's days_from_civil.
    let yy = if m <= 2 { y - 1 } else { y };
    let era = yy.div_euclid(400);
    let yoe = yy - era * 400;
    let doy = (153 * ((m + 9) % 12) + 2) / 5 + d - 1;
    let days = era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719_468;
    // Refuse 2026-02-31 and the like: the date must read back the same.
    (utc(days as u64 * 86_400_000)[..10] == format!("{y:04}-{m:02}-{d:02}")).then_some(days)
}

#[cfg(test)]
mod tests {
    #[test]
    fn timestamps_read_as_utc_dates() {
        assert_eq!(super::utc(0), "1970-01-01 00:00 UTC");
        assert_eq!(super::utc(951_782_400_000), "2000-02-29 00:00 UTC");
        assert_eq!(super::utc(1_795_316_511_436), "2026-11-22 03:01 UTC");
    }

    #[test]
    fn days_are_read_from_dates_and_impossible_dates_are_refused() {
        use super::parse_day;
        assert_eq!(parse_day("1970-01-01"), Some(0));
        assert_eq!(
            parse_day("2026-11-22").map(|d| super::utc(d as u64 * 86_400_000)),
            Some("2026-11-22 00:00 UTC".into())
        );
        assert_eq!(parse_day("2024-02-29"), Some(19_782));
        assert_eq!(parse_day("2026-02-29"), None);
        assert_eq!(parse_day("22/11/2026"), None);
        assert_eq!(parse_day("2026-13-01"), None);
    }
}
