//! The pure core of Parley: identifiers, the organization model, form validation and policies
//! that depend on time. Nothing here does IO, reads a clock or spawns: time comes in as an
//! argument (`Millis`), randomness is injected. It must not import tokio, redb, poem or askama.

pub mod chat;
pub mod forms;
pub mod i18n;
pub mod ids;
pub mod model;
pub mod switchboard;
pub mod throttle;
pub mod validate;

/// Milliseconds since the Unix epoch: the only notion of time the domain knows.
pub type Millis = u64;
