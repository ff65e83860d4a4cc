//! Durations kept as a compact, mergeable histogram with fixed log-linear bins, so that an
//! aggregate of a million chats stays a few hundred numbers and two aggregates add up exactly.
//!
//! Bins: values below 32 ms have a bin each (exact). Above, every power of two is split into
//! 16 equal bins, so a bin `[lo, lo + w)` has `w <= lo / 16`. A percentile is read as the
//! middle of the bin holding the sample of that rank (nearest rank), hence within
//! `w / 2 <= lo / 32`: **at most 3.125 % from the true sample** (exact below 32 ms).

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Sub-bins per power of two (4 bits of mantissa).
const SUB_BITS: u32 = 4;
const SUB: u64 = 1 << SUB_BITS;

/// Durations in milliseconds: count, exact sum (for means) and the bins (sparse).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Histogram {
    pub count: u64,
    pub sum_ms: u64,
    /// Bin index -> samples in it. Only bins that hold samples are kept.
    pub bins: BTreeMap<u16, u64>,
}

/// The bin of a value. Continuous: bin 32 starts at 32 ms, each later bin where the last ends.
fn bin_of(v: u64) -> u16 {
    if v < 2 * SUB {
        return v as u16;
    }
    let shift = 63 - v.leading_zeros() - SUB_BITS; // >= 1
    ((u64::from(shift) << SUB_BITS) + (v >> shift)) as u16
}

/// The lowest value of a bin and its width.
fn bin_range(bin: u16) -> (u64, u64) {
    let b = u64::from(bin);
    if b < 2 * SUB {
        return (b, 1);
    }
    // `bin_of` adds the mantissa (16..32) to `shift * 16`: one more than the shift above.
    let shift = (b >> SUB_BITS) as u32 - 1;
    let mantissa = b & (SUB - 1) | SUB;
    (mantissa << shift, 1 << shift)
}

impl Histogram {
    pub fn record(&mut self, ms: u64) {
        self.count += 1;
        self.sum_ms = self.sum_ms.saturating_add(ms);
        *self.bins.entry(bin_of(ms)).or_default() += 1;
    }

    pub fn merge(&mut self, other: &Histogram) {
        self.count += other.count;
        self.sum_ms = self.sum_ms.saturating_add(other.sum_ms);
        for (bin, n) in &other.bins {
            *self.bins.entry(*bin).or_default() += n;
        }
    }

    /// Take out the samples of `part`, a histogram merged into this one (a cell out of a sum of
    /// cells). Saturating: a `part` that is not one cannot make counts wrap.
    pub fn subtract(&mut self, part: &Histogram) {
        let Histogram { count, sum_ms, bins } = part;
        self.count = self.count.saturating_sub(*count);
        self.sum_ms = self.sum_ms.saturating_sub(*sum_ms);
        for (bin, n) in bins {
            if let Some(mine) = self.bins.get_mut(bin) {
                *mine = mine.saturating_sub(*n);
                if *mine == 0 {
                    self.bins.remove(bin);
                }
            }
        }
    }

    /// The `p`-th percentile (1..=100, nearest rank), within 3.125 %; `None` when empty.
    pub fn percentile(&self, p: u8) -> Option<u64> {
        if self.count == 0 {
            return None;
        }
        let p = u64::from(p.clamp(1, 100));
        let rank = (self.count * p).div_ceil(100).max(1);
        let mut seen = 0;
        for (bin, n) in &self.bins {
            seen += n;
            if seen >= rank {
                let (lo, width) = bin_range(*bin);
                return Some(lo + width / 2);
            }
        }
        None
    }

    pub fn median(&self) -> Option<u64> {
        self.percentile(50)
    }

    pub fn p90(&self) -> Option<u64> {
        self.percentile(90)
    }

    /// The exact mean.
    pub fn mean(&self) -> Option<u64> {
        self.sum_ms.checked_div(self.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bins_are_continuous_and_hold_their_values() {
        let mut v = 0u64;
        while v < 10_000_000 {
            let (lo, w) = bin_range(bin_of(v));
            assert!(lo <= v && v < lo + w, "{v} in [{lo}, {})", lo + w);
            assert!(w == 1 || w * SUB <= lo, "bin of {v} too wide");
            v = v * 17 / 16 + 1;
        }
        assert_eq!(bin_of(31), 31);
        assert_eq!(bin_of(32), 32);
        assert_eq!(bin_range(bin_of(63)).0 + bin_range(bin_of(63)).1, bin_range(bin_of(64)).0);
        assert!(bin_of(u64::MAX) < 1024, "u16 indices are enough");
    }

    #[test]
    fn percentiles_read_from_the_histogram_are_within_their_documented_error() {
        // A spread of waits, 40 ms to ~30 minutes, in a scrambled order.
        let samples: Vec<u64> = (0..997u64).map(|i| 40 + (i * 7919 % 997).pow(2) * 2).collect();
        let mut h = Histogram::default();
        samples.iter().for_each(|s| h.record(*s));
        let mut sorted = samples.clone();
        sorted.sort();
        for p in [1u8, 10, 25, 50, 75, 90, 99, 100] {
            let exact = sorted[(sorted.len() as u64 * u64::from(p)).div_ceil(100) as usize - 1];
            let read = h.percentile(p).unwrap();
            let err = read.abs_diff(exact) as f64 / exact as f64;
            assert!(err <= 1.0 / 32.0, "p{p}: {read} vs {exact} ({err})");
        }
        assert_eq!(h.mean(), Some(samples.iter().sum::<u64>() / 997));
    }

    #[test]
    fn small_durations_are_exact_and_an_empty_histogram_has_no_percentile() {
        let mut h = Histogram::default();
        assert_eq!(h.median(), None);
        [3, 1, 2].into_iter().for_each(|v| h.record(v));
        assert_eq!((h.median(), h.p90()), (Some(2), Some(3)));
    }

    #[test]
    fn merged_histograms_equal_one_built_from_all_samples() {
        let (mut a, mut b, mut all) = (Histogram::default(), Histogram::default(), Histogram::default());
        for v in [5, 900, 70_000, 1_200_000] {
            a.record(v);
            all.record(v);
        }
        for v in [12, 45_000, 3_600_000] {
            b.record(v);
            all.record(v);
        }
        a.merge(&b);
        assert_eq!(a, all);
        // And a part merged in comes out again exactly, bins emptied included.
        let mut c = all.clone();
        c.merge(&b);
        c.subtract(&b);
        assert_eq!(c, all);
        c.subtract(&all);
        assert_eq!(c, Histogram::default());
    }
}
