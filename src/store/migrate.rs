//! Schema versions without SQL: `META["schema_version"]` and an ordered, append-only list of
//! steps. Each step runs in its own transaction that also bumps the version. A file newer than
//! this binary knows is refused; before the first step on an existing file, the file is copied
//! to `parley.redb.pre-v{N}` so an upgrade can always be undone.

use super::{StoreError, tables};
use redb::{Database, ReadableDatabase, WriteTransaction};
use std::path::Path;

#[derive(Clone, Copy)]
pub struct Step {
    /// The version this step produces.
    pub to: u64,
    pub what: &'static str,
    pub run: fn(&WriteTransaction) -> Result<(), StoreError>,
}

/// Every step, in order. Append only: never edit or reorder a released step.
pub const STEPS: &[Step] = &[
    Step { to: 1, what: "organization, sites, users, departments, campaigns, sessions", run: v1 },
    Step { to: 2, what: "live chat: visitors, chats and their events, campaign index, left messages", run: v2 },
    Step {
        to: 3,
        what: "proactive invitations, canned replies, each visitor's chats, statistics, transcript search",
        run: v3,
    },
    Step { to: 4, what: "mail: the outbox, one-time account links", run: v4 },
    Step { to: 5, what: "files in chat: uploads and their bytes", run: v5 },
    Step { to: 6, what: "API tokens", run: v6 },
    Step { to: 7, what: "webhooks: endpoints and their delivery outbox", run: v7 },
];

/// The version this binary writes.
pub fn latest(steps: &[Step]) -> u64 {
    steps.last().map(|s| s.to).unwrap_or(0)
}

fn v1(txn: &WriteTransaction) -> Result<(), StoreError> {
    txn.open_table(tables::SITES)?;
    txn.open_table(tables::GROUPS)?;
    txn.open_table(tables::USERS)?;
    txn.open_table(tables::USER_EMAILS)?;
    txn.open_table(tables::DEPARTMENTS)?;
    txn.open_table(tables::CAMPAIGNS)?;
    txn.open_table(tables::SESSIONS)?;
    Ok(())
}

fn v2(txn: &WriteTransaction) -> Result<(), StoreError> {
    use redb::ReadableTable;
    txn.open_table(tables::VISITORS)?;
    txn.open_table(tables::VISITOR_TOKENS)?;
    txn.open_table(tables::CHATS)?;
    txn.open_table(tables::CHAT_EVENTS)?;
    txn.open_table(tables::OPEN_CHATS)?;
    txn.open_table(tables::LEFT_MESSAGES)?;
    // Index the campaigns that exist already.
    let campaigns = txn.open_table(tables::CAMPAIGNS)?;
    let mut index = txn.open_table(tables::CAMPAIGN_SITES)?;
    for entry in campaigns.iter()? {
        let (key, _) = entry?;
        let (site, campaign) = key.value();
        index.insert(campaign, site)?;
    }
    Ok(())
}

fn v3(txn: &WriteTransaction) -> Result<(), StoreError> {
    use redb::ReadableTable;
    txn.open_table(tables::INVITATIONS)?;
    txn.open_table(tables::CANNED)?;
    txn.open_table(tables::STATS_QUARTERS)?;
    txn.open_table(tables::STATS_DAYS)?;
    txn.open_table(tables::CHAT_TERMS)?;
    // Index the chats that exist already by visitor.
    let chats = txn.open_table(tables::CHATS)?;
    let mut index = txn.open_table(tables::VISITOR_CHATS)?;
    for entry in chats.iter()? {
        let (key, value) = entry?;
        let (site, chat) = key.value();
        let rec: crate::domain::chat::ChatRecord = super::codec::decode(value.value())?;
        index.insert((site, rec.visitor.0, chat), ())?;
    }
    drop((chats, index));
    super::stats::backfill(txn)
}

fn v4(txn: &WriteTransaction) -> Result<(), StoreError> {
    txn.open_table(tables::MAILS)?;
    txn.open_table(tables::MAIL_DUE)?;
    txn.open_table(tables::ACCOUNT_LINKS)?;
    Ok(())
}

fn v5(txn: &WriteTransaction) -> Result<(), StoreError> {
    txn.open_table(tables::UPLOADS)?;
    txn.open_table(tables::UPLOAD_CHUNKS)?;
    Ok(())
}

fn v6(txn: &WriteTransaction) -> Result<(), StoreError> {
    txn.open_table(tables::API_TOKENS)?;
    txn.open_table(tables::API_TOKEN_HASHES)?;
    Ok(())
}

/// The schema version stored in `db` (0 for a new, empty file).
fn v7(txn: &WriteTransaction) -> Result<(), StoreError> {
    txn.open_table(tables::WEBHOOKS)?;
    txn.open_table(tables::WEBHOOK_DELIVERIES)?;
    txn.open_table(tables::WEBHOOK_DUE)?;
    Ok(())
}

pub fn version(db: &Database) -> Result<u64, StoreError> {
    let txn = db.begin_read()?;
    let meta = match txn.open_table(tables::META) {
        Ok(t) => t,
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok(0),
        Err(e) => return Err(e.into()),
    };
    Ok(meta.get("schema_version")?.map(|v| v.value()).unwrap_or(0))
}

/// Bring `db` (stored at `path`) to the latest version of `steps`.
pub fn run(db: &Database, path: &Path, steps: &[Step]) -> Result<(), StoreError> {
    let found = version(db)?;
    let known = latest(steps);
    if found > known {
        return Err(StoreError::TooNew { path: path.to_path_buf(), found, known });
    }
    let pending: Vec<&Step> = steps.iter().filter(|s| s.to > found).collect();
    if pending.is_empty() {
        return Ok(());
    }
    if found > 0 {
        let backup = path.with_extension(format!("redb.pre-v{}", pending[0].to));
        std::fs::copy(path, &backup).map_err(|e| {
            StoreError::Storage(format!("cannot copy {} to {} before migrating: {e}", path.display(), backup.display()))
        })?;
        tracing::info!(backup = %backup.display(), "copied the store before migrating");
    }
    for step in pending {
        let txn = db.begin_write()?;
        (step.run)(&txn)?;
        txn.open_table(tables::META)?.insert("schema_version", step.to)?;
        txn.commit()?;
        tracing::info!(version = step.to, what = step.what, "store migrated");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use redb::TableDefinition;

    const EXTRA: TableDefinition<u64, u64> = TableDefinition::new("test_extra-1");

    fn extra(txn: &WriteTransaction) -> Result<(), StoreError> {
        txn.open_table(EXTRA)?.insert(1, 2)?;
        Ok(())
    }

    /// Today's steps plus one more, as the next release would have.
    fn next_release() -> Vec<Step> {
        let mut steps = STEPS.to_vec();
        steps.push(Step { to: latest(STEPS) + 1, what: "extra", run: extra });
        steps
    }

    fn fresh() -> (tempfile::TempDir, std::path::PathBuf, Database) {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("parley.redb");
        let db = Database::create(&path).expect("create");
        (dir, path, db)
    }

    #[test]
    fn a_new_file_gets_every_step_without_a_copy() {
        let (dir, path, db) = fresh();
        run(&db, &path, STEPS).expect("migrate");
        assert_eq!(version(&db).ok(), Some(latest(STEPS)));
        assert_eq!(std::fs::read_dir(dir.path()).expect("ls").count(), 1, "no copy for a new file");
    }

    #[test]
    fn an_old_file_is_copied_then_upgraded_once() {
        let (dir, path, db) = fresh();
        run(&db, &path, STEPS).expect("today");
        let next = next_release();
        run(&db, &path, &next).expect("next");
        let new = latest(&next);
        assert_eq!(version(&db).ok(), Some(new));
        assert!(dir.path().join(format!("parley.redb.pre-v{new}")).exists());
        run(&db, &path, &next).expect("again");
        assert_eq!(version(&db).ok(), Some(new));
    }

    #[test]
    fn a_newer_file_is_refused() {
        let (_dir, path, db) = fresh();
        let next = next_release();
        run(&db, &path, &next).expect("next");
        let err = run(&db, &path, STEPS).expect_err("refused");
        assert!(matches!(err, StoreError::TooNew { .. }), "{err}");
        assert!(err.to_string().contains("newer than this Parley knows"), "{err}");
    }

    #[test]
    fn version_2_indexes_the_campaigns_of_a_version_1_store() {
        let (_dir, path, db) = fresh();
        run(&db, &path, &STEPS[..1]).expect("v1");
        let txn = db.begin_write().expect("write");
        txn.open_table(tables::CAMPAIGNS).expect("table").insert((3, 17), b"x".as_slice()).expect("insert");
        txn.commit().expect("commit");
        run(&db, &path, &STEPS[..2]).expect("v2");
        assert_eq!(version(&db).ok(), Some(2));
        let r = db.begin_read().expect("read");
        let index = r.open_table(tables::CAMPAIGN_SITES).expect("index");
        assert_eq!(index.get(17).expect("get").map(|v| v.value()), Some(3));
    }

    #[test]
    fn version_3_adds_the_invitation_and_canned_reply_tables_to_a_version_2_store() {
        let (_dir, path, db) = fresh();
        run(&db, &path, &STEPS[..2]).expect("v2");
        assert!(db.begin_read().expect("read").open_table(tables::CANNED).is_err(), "no table before v3");
        run(&db, &path, &STEPS[..3]).expect("v3");
        assert_eq!(version(&db).ok(), Some(3));
        let r = db.begin_read().expect("read");
        assert!(r.open_table(tables::CANNED).is_ok());
        assert!(r.open_table(tables::INVITATIONS).is_ok());
    }

    #[test]
    fn version_4_adds_the_outbox_and_the_account_links_to_a_version_3_store() {
        let (_dir, path, db) = fresh();
        run(&db, &path, &STEPS[..3]).expect("v3");
        assert!(db.begin_read().expect("read").open_table(tables::MAILS).is_err(), "no outbox before v4");
        run(&db, &path, &STEPS[..4]).expect("v4");
        assert_eq!(version(&db).ok(), Some(4));
        let r = db.begin_read().expect("read");
        assert!(r.open_table(tables::MAILS).is_ok() && r.open_table(tables::MAIL_DUE).is_ok());
        assert!(r.open_table(tables::ACCOUNT_LINKS).is_ok());
    }

    #[test]
    fn version_5_adds_the_upload_tables_to_a_version_4_store() {
        let (_dir, path, db) = fresh();
        run(&db, &path, &STEPS[..4]).expect("v4");
        assert!(db.begin_read().expect("read").open_table(tables::UPLOADS).is_err(), "no uploads before v5");
        run(&db, &path, &STEPS[..5]).expect("v5");
        assert_eq!(version(&db).ok(), Some(5));
        let r = db.begin_read().expect("read");
        assert!(r.open_table(tables::UPLOADS).is_ok() && r.open_table(tables::UPLOAD_CHUNKS).is_ok());
    }

    #[test]
    fn version_6_adds_the_api_token_tables_to_a_version_5_store() {
        let (_dir, path, db) = fresh();
        run(&db, &path, &STEPS[..5]).expect("v5");
        run(&db, &path, &STEPS[..6]).expect("v6");
        assert_eq!(version(&db).ok(), Some(6));
        let r = db.begin_read().expect("read");
        assert!(r.open_table(tables::API_TOKENS).is_ok() && r.open_table(tables::API_TOKEN_HASHES).is_ok());
    }

    #[test]
    fn version_7_adds_the_webhook_tables_to_a_version_6_store() {
        let (_dir, path, db) = fresh();
        run(&db, &path, &STEPS[..6]).expect("v6");
        assert!(db.begin_read().expect("read").open_table(tables::WEBHOOKS).is_err(), "no webhooks before v7");
        run(&db, &path, STEPS).expect("v7");
        assert_eq!(version(&db).ok(), Some(7));
        let r = db.begin_read().expect("read");
        assert!(r.open_table(tables::WEBHOOKS).is_ok() && r.open_table(tables::WEBHOOK_DELIVERIES).is_ok());
        assert!(r.open_table(tables::WEBHOOK_DUE).is_ok());
    }
}
