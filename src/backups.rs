//! Backup files: naming, making one through the running store, listing and pruning. Used by
//! the admin page, the local backup API (for `parley backup`) and the daily task.

use crate::store::{Store, StoreError};
use std::path::{Path, PathBuf};

/// `parley-YYYYMMDD-HHMMSS.redb` for a UTC time in ms.
pub fn file_name(now_ms: u64) -> String {
    let stamp = crate::domain::utc(now_ms); // "YYYY-MM-DD HH:MM UTC"
    let secs = (now_ms / 1000) % 60;
    let digits: String = stamp.chars().filter(char::is_ascii_digit).collect();
    format!("parley-{}-{}{secs:02}.redb", &digits[..8], &digits[8..12])
}

/// Is `name` one of ours (so a download or a prune never touches anything else)?
pub fn is_backup_name(name: &str) -> bool {
    let Some(core) = name.strip_prefix("parley-").and_then(|n| n.strip_suffix(".redb")) else { return false };
    core.len() == 15 && core.chars().enumerate().all(|(i, c)| if i == 8 { c == '-' } else { c.is_ascii_digit() })
}

#[derive(Debug, Clone)]
pub struct BackupFile {
    pub name: String,
    pub bytes: u64,
}

/// Backups in `dir`, newest first.
pub fn list(dir: &Path) -> Vec<BackupFile> {
    let mut v: Vec<BackupFile> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            is_backup_name(&name).then(|| BackupFile { bytes: e.metadata().map(|m| m.len()).unwrap_or(0), name })
        })
        .collect();
    v.sort_by(|a, b| b.name.cmp(&a.name));
    v
}

/// Make a backup now (off the async threads), at most `bytes_per_sec`; its path.
pub async fn make(store: &Store, dir: &Path, now_ms: u64, bytes_per_sec: u64) -> Result<PathBuf, StoreError> {
    std::fs::create_dir_all(dir).map_err(|e| StoreError::Storage(format!("cannot create {}: {e}", dir.display())))?;
    let path = dir.join(file_name(now_ms));
    let (store, p) = (store.clone(), path.clone());
    tokio::task::spawn_blocking(move || store.backup_to(&p, Some(bytes_per_sec)))
        .await
        .map_err(|e| StoreError::Storage(e.to_string()))??;
    Ok(path)
}

/// Delete all but the newest `keep` backups.
pub fn prune(dir: &Path, keep: usize) -> usize {
    list(dir).into_iter().skip(keep).filter(|b| std::fs::remove_file(dir.join(&b.name)).is_ok()).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_stamped_and_recognized() {
        let n = file_name(1_795_316_511_436);
        assert_eq!(n, "parley-20261122-030151.redb");
        assert!(is_backup_name(&n));
        for bad in [
            "parley.redb",
            "../parley-20261122-030151.redb",
            "parley-20261122-030151.redb.partial",
            "parley-2026112-0301510.redb",
        ] {
            assert!(!is_backup_name(bad), "{bad}");
        }
    }

    #[test]
    fn pruning_keeps_the_newest() {
        let dir = tempfile::tempdir().expect("tempdir");
        for i in 0..5 {
            std::fs::write(dir.path().join(file_name(1_795_316_511_436 + i * 86_400_000)), b"x").expect("write");
        }
        std::fs::write(dir.path().join("notes.txt"), b"mine").expect("write");
        assert_eq!(prune(dir.path(), 2), 3);
        let left: Vec<String> = list(dir.path()).into_iter().map(|b| b.name).collect();
        assert_eq!(left, vec!["parley-20261126-030151.redb", "parley-20261125-030151.redb"]);
        assert!(dir.path().join("notes.txt").exists(), "other files are left alone");
    }
}
