//! Online backup and offline restore. A backup copies every table inside one read transaction
//! (a consistent snapshot; writers are not blocked) into a new file. A restore replaces the
//! store file with a backup while the server is stopped, keeping the replaced file beside it.

use super::{Store, StoreError, db_path, migrate, tables};
use redb::{
    Database, DatabaseError, Key, ReadTransaction, ReadableDatabase, ReadableTable, TableDefinition, TableError, Value,
};
use std::path::{Path, PathBuf};

/// How a backup shares the machine with live chats: it copies in chunks of `CHUNK_BYTES`,
/// each committed (and synced) on its own, so the disk never has a large write to flush at
/// once in front of the live commits, and it keeps to a rate (`[backup] max_mb_per_sec`):
/// every byte the backup writes is disk time a live commit may wait behind
/// (BENCHMARKS.md, "Backups during live chats").
const CHUNK_BYTES: usize = 512 * 1024;

/// Paces a copy: bytes copied, in the current chunk and in all, against the rate.
struct Pace {
    chunk: usize,
    total: u64,
    bytes_per_sec: Option<u64>,
    started: std::time::Instant,
}

impl Pace {
    fn new(bytes_per_sec: Option<u64>) -> Pace {
        Pace { chunk: 0, total: 0, bytes_per_sec, started: std::time::Instant::now() }
    }

    /// `n` more bytes copied: true when the chunk is full (commit it, then `rest`).
    fn add(&mut self, n: usize) -> bool {
        self.chunk += n;
        self.total += n as u64;
        self.chunk >= CHUNK_BYTES
    }

    /// Wait until the bytes copied so far are due at the rate.
    fn rest(&mut self) {
        self.chunk = 0;
        if let Some(rate) = self.bytes_per_sec.filter(|r| *r > 0) {
            let due = self.started + std::time::Duration::from_secs_f64(self.total as f64 / rate as f64);
            if let Some(wait) = due.checked_duration_since(std::time::Instant::now()) {
                std::thread::sleep(wait);
            }
        }
    }
}

/// Copy the table `def` from the snapshot `r` into `out`, in paced chunks.
fn copy_table<K: Key + 'static, V: Value + 'static>(
    r: &ReadTransaction,
    out: &Database,
    def: TableDefinition<K, V>,
    pace: &mut Pace,
) -> Result<(), StoreError> {
    let src = match r.open_table(def) {
        Ok(src) => src,
        Err(TableError::TableDoesNotExist(_)) => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    let mut w = out.begin_write()?;
    let mut dst = w.open_table(def)?;
    for entry in src.iter()? {
        let (k, v) = entry?;
        let (k, v) = (k.value(), v.value());
        let size = K::as_bytes(&k).as_ref().len() + V::as_bytes(&v).as_ref().len();
        dst.insert(k, v)?;
        if pace.add(size) {
            drop(dst);
            w.commit()?;
            pace.rest();
            w = out.begin_write()?;
            dst = w.open_table(def)?;
        }
    }
    drop(dst);
    w.commit()?;
    Ok(())
}

impl Store {
    /// Write a consistent copy of the whole store to `dest` (which must not exist), at most
    /// `bytes_per_sec` (`None`: as fast as it goes). Blocking: call it off the async threads.
    /// Returns the size in bytes. Every table is read from one snapshot (writers are not
    /// blocked), and written in paced chunks (see `CHUNK_BYTES`).
    pub fn backup_to(&self, dest: &Path, bytes_per_sec: Option<u64>) -> Result<u64, StoreError> {
        if dest.exists() {
            return Err(StoreError::Storage(format!("{} exists already", dest.display())));
        }
        let partial = dest.with_extension("partial");
        let _ = std::fs::remove_file(&partial);
        // The copy is written once and not read back: a small cache keeps the server's memory.
        let out = redb::Builder::new().set_cache_size(4 * 1024 * 1024).create(&partial)?;
        let r = self.0.db.begin_read()?;
        let mut pace = Pace::new(bytes_per_sec);
        macro_rules! copy {
            ($($t:expr),* $(,)?) => {$( copy_table(&r, &out, $t, &mut pace)?; )*};
        }
        copy!(
            tables::META,
            tables::SITES,
            tables::GROUPS,
            tables::USERS,
            tables::USER_EMAILS,
            tables::DEPARTMENTS,
            tables::CAMPAIGNS,
            tables::SESSIONS,
            tables::CAMPAIGN_SITES,
            tables::VISITORS,
            tables::VISITOR_TOKENS,
            tables::CHATS,
            tables::CHAT_EVENTS,
            tables::OPEN_CHATS,
            tables::LEFT_MESSAGES,
            tables::INVITATIONS,
            tables::CANNED,
            tables::VISITOR_CHATS,
            tables::STATS_QUARTERS,
            tables::STATS_DAYS,
            tables::CHAT_TERMS,
            tables::MAILS,
            tables::MAIL_DUE,
            tables::ACCOUNT_LINKS,
            tables::UPLOADS,
            tables::UPLOAD_CHUNKS,
            tables::API_TOKENS,
            tables::API_TOKEN_HASHES,
            tables::WEBHOOKS,
            tables::WEBHOOK_DELIVERIES,
            tables::WEBHOOK_DUE,
        );
        drop(r);
        drop(out);
        std::fs::rename(&partial, dest)
            .map_err(|e| StoreError::Storage(format!("cannot finish {}: {e}", dest.display())))?;
        Ok(std::fs::metadata(dest).map(|m| m.len()).unwrap_or(0))
    }
}

/// Check that `file` is a Parley store this version can open: the schema version it holds.
pub fn check_backup(file: &Path) -> Result<u64, StoreError> {
    let db = match Database::open(file) {
        Ok(db) => db,
        Err(DatabaseError::DatabaseAlreadyOpen) => return Err(StoreError::Locked(file.to_path_buf())),
        Err(e) => return Err(StoreError::Storage(format!("{} is not a Parley store: {e}", file.display()))),
    };
    let version = migrate::version(&db)?;
    let known = migrate::latest(migrate::STEPS);
    if version == 0 {
        return Err(StoreError::Storage(format!("{} is not a Parley store (no schema version)", file.display())));
    }
    if version > known {
        return Err(StoreError::TooNew { path: file.to_path_buf(), found: version, known });
    }
    Ok(version)
}

/// Replace the store in `data_dir` with `file` (server stopped). The replaced store is kept as
/// `parley.redb.before-restore-<stamp>`; returns that path (None when there was no store).
pub fn restore(data_dir: &Path, file: &Path, stamp: &str) -> Result<Option<PathBuf>, StoreError> {
    check_backup(file)?;
    let current = db_path(data_dir);
    if current.exists() {
        // Opening proves no server holds the store.
        match Database::create(&current) {
            Ok(db) => drop(db),
            Err(DatabaseError::DatabaseAlreadyOpen) => return Err(StoreError::Locked(current)),
            Err(e) => return Err(e.into()),
        }
    }
    let io = |what: &str, e: std::io::Error| StoreError::Storage(format!("cannot {what}: {e}"));
    std::fs::create_dir_all(data_dir).map_err(|e| io("create the data directory", e))?;
    let incoming = data_dir.join("parley.redb.restoring");
    std::fs::copy(file, &incoming).map_err(|e| io("copy the backup", e))?;
    let kept = if current.exists() {
        let kept = current.with_extension(format!("redb.before-restore-{stamp}"));
        std::fs::rename(&current, &kept).map_err(|e| io("move the current store aside", e))?;
        Some(kept)
    } else {
        None
    };
    std::fs::rename(&incoming, &current).map_err(|e| io("put the backup in place", e))?;
    Ok(kept)
}

#[cfg(test)]
mod tests {
    use super::*;
    use redb::{ReadableTableMetadata, TableHandle};

    #[tokio::test]
    async fn a_backup_holds_every_table_and_restores_over_a_newer_store() {
        let dir = tempfile::tempdir().expect("tempdir");
        let data = dir.path().join("data");
        std::fs::create_dir_all(&data).expect("mkdir");
        let store = Store::open(&data).expect("open");
        store.create_site("Acme".into(), 1).await.expect("site");
        let backup = dir.path().join("b.redb");
        assert!(store.backup_to(&backup, None).expect("backup") > 0);
        assert!(store.backup_to(&backup, None).is_err(), "never overwrites");
        store.create_site("Later".into(), 2).await.expect("site");
        // Every table of the store is in the backup (a table added later must be added to the copy).
        let names = |db: &Database| -> Vec<String> {
            let r = db.begin_read().expect("read");
            let mut v: Vec<String> = r.list_tables().expect("tables").map(|t| t.name().to_string()).collect();
            v.sort();
            v
        };
        let copy = Database::open(&backup).expect("open backup");
        assert_eq!(names(&copy), names(&store.0.db));
        drop(copy);
        assert!(matches!(restore(&data, &backup, "t"), Err(StoreError::Locked(_))), "not while the store is open");
        store.close().await;
        drop(store);
        let kept = restore(&data, &backup, "t").expect("restore").expect("kept");
        assert!(kept.exists());
        let store = Store::open(&data).expect("reopen");
        let sites: Vec<String> = store.list_sites().expect("sites").into_iter().map(|s| s.name).collect();
        assert_eq!(sites, vec!["Acme"]);
    }

    #[tokio::test]
    async fn a_backup_larger_than_its_chunks_copies_every_record_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("open");
        // About 3 MiB of rows in one table: the copy commits it in three or more chunks.
        let pad = "x".repeat(1000);
        let key = move |i: u64| format!("bulk-{i:05}-{pad}");
        let k = key.clone();
        store
            .write(move |txn| {
                let mut t = txn.open_table(tables::META)?;
                for i in 0..3000 {
                    t.insert(k(i).as_str(), i)?;
                }
                Ok(())
            })
            .await
            .expect("rows");
        let backup = dir.path().join("b.redb");
        store.backup_to(&backup, None).expect("backup");
        let copy = Database::open(&backup).expect("open backup");
        let r = copy.begin_read().expect("read");
        let meta = r.open_table(tables::META).expect("meta");
        assert!((0..3000).all(|i| meta.get(key(i).as_str()).ok().flatten().map(|v| v.value()) == Some(i)));
        let src = store.0.db.begin_read().expect("read");
        assert_eq!(meta.len().expect("len"), src.open_table(tables::META).expect("meta").len().expect("len"));
    }

    #[test]
    fn restore_refuses_what_is_not_a_parley_store() {
        let dir = tempfile::tempdir().expect("tempdir");
        let junk = dir.path().join("junk.redb");
        std::fs::write(&junk, b"hello").expect("write");
        assert!(restore(&dir.path().join("data"), &junk, "t").is_err());
        let empty = dir.path().join("empty.redb");
        drop(Database::create(&empty).expect("create"));
        let err = restore(&dir.path().join("data"), &empty, "t").expect_err("refused");
        assert!(err.to_string().contains("not a Parley store"), "{err}");
    }
}
