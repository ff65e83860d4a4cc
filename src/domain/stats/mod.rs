//! The rules of Parley's statistics, as pure functions over what the store records: a chat's
//! record and events give its `ChatFacts` (contacts, waits, transfers, rating, last contact,
//! each settled once with its own timestamp), an invitation gives its `InvitationFacts`, and
//! `Totals` adds them up per (site, dimension, time bucket) into counters and mergeable
//! duration histograms. Definitions: `docs/statistics.md`.
//!
//! Pure: no IO, no clock, no tokio, redb or poem. Keeping aggregates as events commit and
//! drawing report pages from them is the store's and the web layer's work.

mod bucket;
mod facts;
mod histogram;
mod invitations;
#[cfg(test)]
mod recorded;
#[cfg(test)]
mod tests;
mod totals;
mod walk;

pub use bucket::{Bucket, Bucketing, Granularity, bucket};
pub use facts::*;
pub use histogram::Histogram;
pub use invitations::invitation_facts;
pub use totals::{Dim, EndCounts, Figures, InvitationCounts, Key, Totals, TransferTable};
pub use walk::chat_facts;
