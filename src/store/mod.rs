//! The store: the only module that imports redb. One file, one writer thread that batches every
//! pending write into one durable transaction (group commit), and reads straight from MVCC
//! snapshots. Site-owned data is reached through [`SiteStore`], a handle bound to one site.

mod announce;
pub mod backup;
mod canned;
mod chats;
mod codec;
pub mod files;
pub mod mail;
mod migrate;
mod org;
pub mod privacy;
pub mod search;
mod site;
mod stats;
mod stored;
pub mod tables;
mod tokens;
pub mod webhooks;
mod writer;

pub use announce::{Announcer, Change, Changes};
#[cfg(test)]
pub(crate) use chats::write_for_test;
pub use chats::{ChatWrite, VisitorRecord};
pub use org::SessionRecord;
pub use site::SiteStore;

use redb::{Database, DatabaseError, ReadTransaction, ReadableDatabase, ReadableTable, WriteTransaction};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    /// A rule of the data refused the write; `field` names the form field to blame.
    #[error("{message}")]
    Conflict { field: &'static str, message: String },
    #[error(
        "the store {0} is in use by another process: is the Parley server running? Stop it first (or, to create the owner, use the setup URL it printed)"
    )]
    Locked(PathBuf),
    #[error(
        "the store {path} has schema version {found}, newer than this Parley knows ({known}): run the newer Parley, or restore a backup made by this version"
    )]
    TooNew { path: PathBuf, found: u64, known: u64 },
    #[error("a stored record is unreadable: {0}")]
    Corrupt(String),
    #[error("storage error: {0}")]
    Storage(String),
    /// The disk failed a read or a write.
    #[error("{fault} ({detail})")]
    Disk { fault: DiskFault, detail: String },
    #[error("the store is shut down")]
    Closed,
}

impl StoreError {
    pub fn conflict(field: &'static str, message: impl Into<String>) -> StoreError {
        StoreError::Conflict { field, message: message.into() }
    }
}

/// What went wrong with the disk under the store, for the operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DiskFault {
    /// No space left on the device (or the quota is used up).
    NoSpace,
    /// Permission denied, or a read-only file system.
    NoWriteAccess,
    /// Any other I/O error.
    Io,
}

impl DiskFault {
    pub fn of(kind: std::io::ErrorKind) -> DiskFault {
        use std::io::ErrorKind as K;
        match kind {
            K::StorageFull | K::QuotaExceeded | K::FileTooLarge => DiskFault::NoSpace,
            K::PermissionDenied | K::ReadOnlyFilesystem => DiskFault::NoWriteAccess,
            _ => DiskFault::Io,
        }
    }

    /// What the operator should do.
    pub fn advice(self) -> &'static str {
        match self {
            DiskFault::NoSpace => {
                "the disk holding the store is full (no space left on the device): free space, then start Parley again"
            }
            DiskFault::NoWriteAccess => {
                "the store cannot be written (permission denied or a read-only file system): give the user running Parley write access to the data directory"
            }
            DiskFault::Io => {
                "the disk holding the store failed with an I/O error: check the disk and the system log, then start Parley again"
            }
        }
    }
}

impl std::fmt::Display for DiskFault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.advice())
    }
}

impl From<redb::StorageError> for StoreError {
    fn from(e: redb::StorageError) -> Self {
        match e {
            redb::StorageError::Io(io) => StoreError::Disk { fault: DiskFault::of(io.kind()), detail: io.to_string() },
            redb::StorageError::PreviousIo => {
                StoreError::Disk { fault: DiskFault::Io, detail: "an earlier write to the store failed".into() }
            }
            other => StoreError::Storage(other.to_string()),
        }
    }
}

macro_rules! storage_errors {
    ($($t:ty),*) => {$(
        impl From<$t> for StoreError {
            fn from(e: $t) -> Self {
                StoreError::Storage(e.to_string())
            }
        }
    )*};
}
storage_errors!(redb::SetDurabilityError);

/// redb errors that may carry a storage error: the disk's fault is kept.
macro_rules! storage_wrapping_errors {
    ($($t:ident),*) => {$(
        impl From<redb::$t> for StoreError {
            fn from(e: redb::$t) -> Self {
                match e {
                    redb::$t::Storage(s) => s.into(),
                    other => StoreError::Storage(other.to_string()),
                }
            }
        }
    )*};
}
storage_wrapping_errors!(DatabaseError, TransactionError, TableError, CommitError);

impl From<redb::Error> for StoreError {
    fn from(e: redb::Error) -> Self {
        match e {
            redb::Error::Io(io) => redb::StorageError::Io(io).into(),
            redb::Error::PreviousIo => redb::StorageError::PreviousIo.into(),
            other => StoreError::Storage(other.to_string()),
        }
    }
}

/// Counters the metrics endpoint reads.
#[derive(Debug, Default)]
pub struct StoreStats {
    pub commits: AtomicU64,
    pub writes: AtomicU64,
}

struct Inner {
    db: Arc<Database>,
    writer: writer::Handle,
    failure: Arc<writer::Failure>,
    path: PathBuf,
    stats: Arc<StoreStats>,
    announcer: Arc<Announcer>,
    /// Mail is configured: what causes a mail writes one to the outbox (`store/mail.rs`).
    mail: std::sync::atomic::AtomicBool,
    /// Some site has (or had, since the start) a webhook endpoint: only then do the
    /// switchboard's writes look for endpoints that want their events.
    webhooks: std::sync::atomic::AtomicBool,
}

/// A cheap, cloneable handle to the open store.
#[derive(Clone)]
pub struct Store(Arc<Inner>);

/// redb's page cache when the configuration says nothing (`[storage] cache_mb`): redb's own
/// default is 1 GiB, which a busy server fills and keeps.
pub const DEFAULT_CACHE_BYTES: usize = 32 * 1024 * 1024;

/// The store's file inside the data directory.
pub fn db_path(data_dir: &Path) -> PathBuf {
    data_dir.join("parley.redb")
}

impl Store {
    /// Open (or create) the store in `data_dir`, run pending migrations, start the writer.
    pub fn open(data_dir: &Path) -> Result<Store, StoreError> {
        Store::open_with_cache(data_dir, DEFAULT_CACHE_BYTES)
    }

    /// `open`, with redb's page cache bounded to `cache_bytes` (`[storage] cache_mb`).
    pub fn open_with_cache(data_dir: &Path, cache_bytes: usize) -> Result<Store, StoreError> {
        let path = db_path(data_dir);
        let db = match redb::Builder::new().set_cache_size(cache_bytes).create(&path) {
            Ok(db) => db,
            Err(DatabaseError::DatabaseAlreadyOpen) => return Err(StoreError::Locked(path)),
            Err(e) => return Err(e.into()),
        };
        migrate::run(&db, &path, migrate::STEPS)?;
        let db = Arc::new(db);
        let stats = Arc::new(StoreStats::default());
        let failure = Arc::new(writer::Failure::default());
        let writer = writer::spawn(db.clone(), stats.clone(), failure.clone());
        let announcer = Arc::new(Announcer::default());
        let mail = Default::default();
        let webhooks = {
            use redb::{ReadableDatabase, ReadableTableMetadata};
            let r = db.begin_read()?;
            std::sync::atomic::AtomicBool::new(!r.open_table(tables::WEBHOOKS)?.is_empty()?)
        };
        Ok(Store(Arc::new(Inner { db, writer, failure, path, stats, announcer, mail, webhooks })))
    }

    /// Why the store stopped taking writes, once a transaction could not begin or commit
    /// (for good: nothing is written after it).
    pub fn failure(&self) -> Option<StoreError> {
        self.0.failure.get().cloned()
    }

    /// Record a failure found by a caller (a write the store reported failed).
    pub fn fail(&self, e: StoreError) {
        self.0.failure.set(e);
    }

    /// Cancelled when the store fails.
    pub fn failed(&self) -> tokio_util::sync::CancellationToken {
        self.0.failure.token.clone()
    }

    /// From now on, what causes a mail writes one to the outbox (`[mail]` is configured).
    pub fn enable_mail(&self) {
        self.0.mail.store(true, std::sync::atomic::Ordering::Relaxed);
    }

    pub fn mail_enabled(&self) -> bool {
        self.0.mail.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Some site has a webhook endpoint (or had one since the start).
    pub(crate) fn webhooks_exist(&self) -> bool {
        self.0.webhooks.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn webhook_made(&self) {
        self.0.webhooks.store(true, std::sync::atomic::Ordering::Relaxed);
    }

    pub fn path(&self) -> &Path {
        &self.0.path
    }

    pub fn stats(&self) -> &StoreStats {
        &self.0.stats
    }

    /// Run `f` in the next group-committed write transaction; its result comes back after the
    /// commit is durable. Contract: a job that returns `Err` must not have written anything
    /// (check first, then write), because its batch-mates still commit.
    pub async fn write<R, F>(&self, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&WriteTransaction) -> Result<R, StoreError> + Send + 'static,
    {
        self.0.writer.submit(f).await
    }

    /// A write that changes the directory: what `changes` says of its result is announced
    /// once it is committed.
    pub(crate) async fn write_changing<R, F, C>(&self, changes: C, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&WriteTransaction) -> Result<R, StoreError> + Send + 'static,
        C: FnOnce(&R) -> Vec<Change> + Send + 'static,
    {
        let announcer = self.0.announcer.clone();
        self.0.writer.submit_hooked(f, move |r: &R| announcer.announce(&changes(r))).await
    }

    /// Where the writes that change a site's directory (or the groups) are announced.
    pub fn announcer(&self) -> Arc<Announcer> {
        self.0.announcer.clone()
    }

    /// Read from a consistent snapshot. Keep `f` short: a live snapshot pins old pages.
    pub fn read<R>(&self, f: impl FnOnce(&ReadTransaction) -> Result<R, StoreError>) -> Result<R, StoreError> {
        let txn = self.0.db.begin_read()?;
        f(&txn)
    }

    /// A durable write of nothing much: proves the store takes writes (`/readyz`).
    pub async fn probe_write(&self, now: crate::domain::Millis) -> Result<(), StoreError> {
        self.write(move |txn| {
            txn.open_table(tables::META)?.insert("ready_probe", now)?;
            Ok(())
        })
        .await
    }

    /// Wait until every write submitted before this call is committed, then stop the writer.
    pub async fn close(&self) {
        self.0.writer.close().await;
    }

    /// The handle for one site's data. The web layer takes it only from an authorized principal.
    pub fn site(&self, site: parley_ids::SiteId) -> SiteStore {
        SiteStore::new(self.clone(), site)
    }
}

use crate::domain::ids as parley_ids;

/// Take the next id of a kind from its counter in `META`.
fn next_id(txn: &WriteTransaction, kind: &str) -> Result<u64, StoreError> {
    let mut meta = txn.open_table(tables::META)?;
    let key = format!("next_{kind}");
    let id = meta.get(key.as_str())?.map(|v| v.value()).unwrap_or(1);
    meta.insert(key.as_str(), id + 1)?;
    Ok(id)
}
