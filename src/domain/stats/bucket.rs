//! Time buckets: which day or hour of a report a moment belongs to, in a time zone given as a
//! fixed offset from UTC in minutes.
//!
//! Daylight saving time is out of scope: one offset holds for the whole report (a report over
//! a DST change is off by one hour on one side of it). Every offset in use is a multiple of
//! 15 minutes, so aggregates kept in UTC quarter-hours (`Granularity::QuarterHour`, offset 0)
//! can be re-bucketed exactly into the hours and days of any zone (`Totals::merge`).

use super::super::{Millis, utc};
use serde::{Deserialize, Serialize};

const MINUTE: i64 = 60_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Granularity {
    /// For storage: UTC quarter-hours nest in the hours and days of every zone.
    QuarterHour,
    Hour,
    Day,
}

impl Granularity {
    fn millis(self) -> i64 {
        match self {
            Granularity::QuarterHour => 15 * MINUTE,
            Granularity::Hour => 60 * MINUTE,
            Granularity::Day => 24 * 60 * MINUTE,
        }
    }
}

/// A bucket, named by the instant (Unix ms, UTC) its local day, hour or quarter starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Bucket(pub i64);

/// How a report cuts time: a zone (fixed offset, minutes east of UTC) and a granularity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bucketing {
    pub offset_min: i32,
    pub granularity: Granularity,
}

impl Bucketing {
    /// What the store keeps: UTC quarter-hours.
    pub const STORED: Bucketing = Bucketing { offset_min: 0, granularity: Granularity::QuarterHour };

    pub fn new(offset_min: i32, granularity: Granularity) -> Bucketing {
        Bucketing { offset_min, granularity }
    }

    pub fn bucket(self, at: Millis) -> Bucket {
        self.bucket_of(at as i64)
    }

    /// The bucket of an instant given as a signed Unix ms (a bucket's own start, for re-bucketing).
    pub(crate) fn bucket_of(self, at: i64) -> Bucket {
        let offset = i64::from(self.offset_min) * MINUTE;
        let size = self.granularity.millis();
        Bucket((at + offset).div_euclid(size) * size - offset)
    }

    /// The bucket's local label: `2026-11-22` for a day, `2026-11-22 14:00` for an hour or quarter.
    pub fn label(self, bucket: Bucket) -> String {
        let local = (bucket.0 + i64::from(self.offset_min) * MINUTE).max(0) as u64;
        let text = utc(local);
        let text = text.trim_end_matches(" UTC");
        match self.granularity {
            Granularity::Day => text[..10].to_string(),
            _ => text.to_string(),
        }
    }
}

/// The bucket `at` falls in, for a zone `offset_min` minutes east of UTC.
pub fn bucket(at: Millis, offset_min: i32, granularity: Granularity) -> Bucket {
    Bucketing::new(offset_min, granularity).bucket(at)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-11-22 03:01:51 UTC.
    const AT: Millis = 1_795_316_511_436;

    #[test]
    fn a_moment_falls_in_its_local_day_and_hour() {
        let day = Bucketing::new(0, Granularity::Day);
        assert_eq!(day.label(day.bucket(AT)), "2026-11-22");
        // 03:01 UTC is still the 21st in New York (UTC-5) and 08:31 in India (UTC+5:30).
        let ny = Bucketing::new(-300, Granularity::Day);
        assert_eq!(ny.label(ny.bucket(AT)), "2026-11-21");
        let india = Bucketing::new(330, Granularity::Hour);
        assert_eq!(india.label(india.bucket(AT)), "2026-11-22 08:00");
        // The bucket is named by the UTC instant its local hour starts: 08:00 IST = 02:30 UTC.
        assert_eq!(utc(india.bucket(AT).0 as u64), "2026-11-22 02:30 UTC");
    }

    #[test]
    fn bucket_boundaries_belong_to_the_bucket_they_start() {
        let hour = Bucketing::new(60, Granularity::Hour);
        let b = hour.bucket(AT);
        assert_eq!(hour.bucket(b.0 as u64), b);
        assert_eq!(hour.bucket(b.0 as u64 - 1).0, b.0 - 3_600_000);
        assert_eq!(bucket(AT, 60, Granularity::Hour), b);
    }

    #[test]
    fn utc_quarter_hours_nest_in_the_days_of_every_zone() {
        for offset in [-720, -570, -300, 0, 330, 345, 525, 840] {
            let day = Bucketing::new(offset, Granularity::Day);
            for k in 0..200u64 {
                let at = AT + k * 431_113;
                let quarter = Bucketing::STORED.bucket(at);
                assert_eq!(day.bucket_of(quarter.0), day.bucket(at), "offset {offset}, at {at}");
            }
        }
    }
}
