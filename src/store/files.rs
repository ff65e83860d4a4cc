//! Uploaded files, in the store beside the chats (so backups, restore, retention and erasure
//! cover them). An upload is a record in `UPLOADS` and its bytes in `UPLOAD_CHUNKS`, written
//! one chunk per write job so that a large file never holds up the live chats' group commits
//! (BENCHMARKS.md, "Files"); the record becomes `complete` with its last chunk. A chat event
//! references an upload; the upload then records the event (`sent`). Uploads never sent are
//! removed after a day.

use super::codec::{decode, encode};
use super::tables::{META, SITES, UPLOAD_CHUNKS, UPLOADS};
use super::{SiteStore, Store, StoreError, next_id};
use crate::domain::Millis;
use crate::domain::chat::{ChatEvent, EventKind};
use crate::domain::files::{Upload, Uploader};
use crate::domain::ids::{ChatId, SiteId};
use redb::{ReadableTable, WriteTransaction};

/// Bytes per stored chunk: each chunk is one write job, batched with whatever live chat writes
/// are pending, so a chunk is the most an upload adds to one commit (BENCHMARKS.md, "Files").
pub const CHUNK_BYTES: usize = 64 * 1024;

/// The most all uploads together write to the store a second: every byte is disk time the live
/// chats' commits may wait behind. A 10 MiB file takes at least 0.6 s to store.
pub const UPLOAD_BYTES_PER_SEC: u64 = 16 * 1024 * 1024;

fn usage_key(site: SiteId) -> String {
    format!("file_bytes_site_{}", site.0)
}

/// Remove an upload and its chunks, and take its size off its site's usage.
pub(super) fn delete_upload_tx(txn: &WriteTransaction, site: SiteId, id: u64) -> Result<(), StoreError> {
    let Some(up): Option<Upload> =
        txn.open_table(UPLOADS)?.remove((site.0, id))?.map(|v| decode(v.value())).transpose()?
    else {
        return Ok(());
    };
    txn.open_table(UPLOAD_CHUNKS)?.retain_in((site.0, id, 0)..=(site.0, id, u32::MAX), |_, _| false)?;
    if up.complete {
        let mut meta = txn.open_table(META)?;
        let key = usage_key(site);
        let used = meta.get(key.as_str())?.map(|v| v.value()).unwrap_or(0);
        meta.insert(key.as_str(), used.saturating_sub(up.size))?;
    }
    Ok(())
}

/// The uploads the events of a chat carry (read before the events are deleted).
pub(super) fn files_of_chat(
    events: &impl ReadableTable<(u64, u64, u64), &'static [u8]>,
    site: SiteId,
    chat: u64,
) -> Result<Vec<u64>, StoreError> {
    let mut ids = Vec::new();
    for e in events.range((site.0, chat, 0)..=(site.0, chat, u64::MAX))? {
        let ev: ChatEvent = decode(e?.1.value())?;
        if let EventKind::Message { file: Some(f), .. } = ev.kind {
            ids.push(f.id);
        }
    }
    Ok(ids)
}

/// Remove every upload of `by` in `site` (erasure: the ones never sent too).
pub(super) fn delete_uploads_by(txn: &WriteTransaction, site: SiteId, by: Uploader) -> Result<(), StoreError> {
    let ids: Vec<u64> = {
        let t = txn.open_table(UPLOADS)?;
        let mut ids = Vec::new();
        for e in t.range((site.0, 0)..=(site.0, u64::MAX))? {
            let (k, v) = e?;
            if decode::<Upload>(v.value())?.by == by {
                ids.push(k.value().1);
            }
        }
        ids
    };
    for id in ids {
        delete_upload_tx(txn, site, id)?;
    }
    Ok(())
}

/// Copy an upload (record and bytes) to another site's chat, as a new upload of that site
/// (a cross-site transfer "with transcript"); returns the copy.
pub(super) fn copy_upload_tx(
    txn: &WriteTransaction,
    from: SiteId,
    id: u64,
    to: (SiteId, ChatId),
    seq: u64,
) -> Result<Option<Upload>, StoreError> {
    let Some(mut up): Option<Upload> =
        txn.open_table(UPLOADS)?.get((from.0, id))?.map(|v| decode(v.value())).transpose()?
    else {
        return Ok(None);
    };
    let new_id = next_id(txn, "upload")?;
    let chunks: Vec<Vec<u8>> = txn
        .open_table(UPLOAD_CHUNKS)?
        .range((from.0, id, 0)..=(from.0, id, u32::MAX))?
        .map(|e| e.map(|(_, v)| v.value().to_vec()))
        .collect::<Result<_, _>>()?;
    let mut dst = txn.open_table(UPLOAD_CHUNKS)?;
    for (i, c) in (0u32..).zip(chunks) {
        dst.insert((to.0.0, new_id, i), c.as_slice())?;
    }
    up.id = new_id;
    up.site = to.0;
    up.chat = to.1;
    up.sent = up.sent.map(|(_, client)| (seq, client));
    txn.open_table(UPLOADS)?.insert((to.0.0, new_id), encode(&up).as_slice())?;
    let mut meta = txn.open_table(META)?;
    let key = usage_key(to.0);
    let used = meta.get(key.as_str())?.map(|v| v.value()).unwrap_or(0);
    meta.insert(key.as_str(), used + up.size)?;
    Ok(Some(up))
}

/// The event `seq` of `chat` sent this upload.
pub(super) fn mark_sent(
    txn: &WriteTransaction,
    site: SiteId,
    id: u64,
    seq: u64,
    client_id: Option<&str>,
) -> Result<(), StoreError> {
    let mut t = txn.open_table(UPLOADS)?;
    let found: Option<Upload> = t.get((site.0, id))?.map(|v| decode(v.value())).transpose()?;
    if let Some(mut up) = found {
        up.sent = Some((seq, client_id.unwrap_or_default().to_string()));
        t.insert((site.0, id), encode(&up).as_slice())?;
    }
    Ok(())
}

impl Store {
    /// Remove uploads never sent, made before `cutoff`, and incomplete ones made before
    /// `incomplete_cutoff` (an upload cut off midway); returns how many.
    pub async fn purge_unsent_uploads(&self, cutoff: Millis, incomplete_cutoff: Millis) -> Result<usize, StoreError> {
        let old: Vec<(SiteId, u64)> = self.read(|r| {
            let mut v = Vec::new();
            for e in r.open_table(UPLOADS)?.iter()? {
                let up: Upload = decode(e?.1.value())?;
                let stale = if up.complete { up.created_at < cutoff } else { up.created_at < incomplete_cutoff };
                if up.sent.is_none() && stale {
                    v.push((up.site, up.id));
                }
            }
            Ok(v)
        })?;
        let n = old.len();
        for chunk in old.chunks(50) {
            let chunk = chunk.to_vec();
            self.write(move |txn| {
                for (site, id) in &chunk {
                    // Sent meanwhile: kept.
                    let up: Option<Upload> =
                        txn.open_table(UPLOADS)?.get((site.0, *id))?.map(|v| decode(v.value())).transpose()?;
                    if up.is_some_and(|u| u.sent.is_none()) {
                        delete_upload_tx(txn, *site, *id)?;
                    }
                }
                Ok(())
            })
            .await?;
        }
        Ok(n)
    }
}

impl SiteStore {
    /// Bytes of files this site holds.
    pub fn file_bytes(&self) -> Result<u64, StoreError> {
        let key = usage_key(self.id());
        self.store().read(|r| Ok(r.open_table(META)?.get(key.as_str())?.map(|v| v.value()).unwrap_or(0)))
    }

    /// Start an upload: its record, not complete, with no bytes yet.
    pub async fn begin_upload(&self, mut up: Upload) -> Result<Upload, StoreError> {
        let site = self.id();
        self.store()
            .write(move |txn| {
                if txn.open_table(SITES)?.get(site.0)?.is_none() {
                    return Err(StoreError::NotFound);
                }
                up.id = next_id(txn, "upload")?;
                up.site = site;
                up.complete = false;
                txn.open_table(UPLOADS)?.insert((site.0, up.id), encode(&up).as_slice())?;
                Ok(up)
            })
            .await
    }

    /// Store chunk `index` of an upload (a write job of its own).
    pub async fn put_chunk(&self, id: u64, index: u32, bytes: Vec<u8>) -> Result<(), StoreError> {
        let site = self.id();
        self.store()
            .write(move |txn| {
                if txn.open_table(UPLOADS)?.get((site.0, id))?.is_none() {
                    return Err(StoreError::NotFound);
                }
                txn.open_table(UPLOAD_CHUNKS)?.insert((site.0, id, index), bytes.as_slice())?;
                Ok(())
            })
            .await
    }

    /// The last chunk is stored: the upload is complete, with its type, size and chunk count.
    /// Refused (and removed) when the site's quota would be passed.
    pub async fn finish_upload(
        &self,
        id: u64,
        mime: String,
        size: u64,
        chunks: u32,
        quota: u64,
    ) -> Result<Upload, StoreError> {
        let site = self.id();
        self.store()
            .write(move |txn| {
                let key = usage_key(site);
                let used = txn.open_table(META)?.get(key.as_str())?.map(|v| v.value()).unwrap_or(0);
                let found: Option<Upload> =
                    txn.open_table(UPLOADS)?.get((site.0, id))?.map(|v| decode(v.value())).transpose()?;
                let Some(mut up) = found else { return Err(StoreError::NotFound) };
                if used + size > quota {
                    delete_upload_tx(txn, site, id)?;
                    return Err(StoreError::conflict("quota", "This site's space for files is full."));
                }
                up.mime = mime;
                up.size = size;
                up.chunks = chunks;
                up.complete = true;
                txn.open_table(UPLOADS)?.insert((site.0, id), encode(&up).as_slice())?;
                txn.open_table(META)?.insert(key.as_str(), used + size)?;
                Ok(up)
            })
            .await
    }

    /// Remove an upload (cancelled, refused midway).
    pub async fn delete_upload(&self, id: u64) -> Result<(), StoreError> {
        let site = self.id();
        self.store().write(move |txn| delete_upload_tx(txn, site, id)).await
    }

    pub fn upload(&self, id: u64) -> Result<Upload, StoreError> {
        let site = self.id();
        self.store().read(|r| decode(r.open_table(UPLOADS)?.get((site.0, id))?.ok_or(StoreError::NotFound)?.value()))
    }

    /// Chunk `index` of an upload.
    pub fn chunk(&self, id: u64, index: u32) -> Result<Vec<u8>, StoreError> {
        let site = self.id();
        self.store().read(|r| {
            Ok(r.open_table(UPLOAD_CHUNKS)?.get((site.0, id, index))?.ok_or(StoreError::NotFound)?.value().to_vec())
        })
    }

    /// The uploads of a visitor's chats and their own, for the export.
    pub fn uploads_of_chats(&self, chats: &[ChatId], by: Option<Uploader>) -> Result<Vec<Upload>, StoreError> {
        let site = self.id();
        self.store().read(|r| {
            let mut out = Vec::new();
            for e in r.open_table(UPLOADS)?.range((site.0, 0)..=(site.0, u64::MAX))? {
                let up: Upload = decode(e?.1.value())?;
                if up.complete && (chats.contains(&up.chat) || by == Some(up.by)) {
                    out.push(up);
                }
            }
            Ok(out)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::chat::{Author, ChatRecord, ChatState, EndedBy, VisitorInfo};
    use crate::domain::files::FileRef;
    use crate::domain::ids::{CampaignId, VisitorId};
    use crate::store::ChatWrite;

    fn ended_chat(site: SiteId, id: u64, visitor: VisitorId) -> ChatRecord {
        ChatRecord {
            id: ChatId(id),
            site,
            campaign: CampaignId(1),
            visitor,
            department: None,
            state: ChatState::Ended { at: 1_000, by: EndedBy::Visitor, agent: None },
            info: VisitorInfo::default(),
            created_at: 0,
            queued_at: 0,
            assigned_at: None,
            last_seq: 1,
            survey: None,
            origin: None,
        }
    }

    async fn stored_file(scope: &SiteStore, chat: ChatId, visitor: VisitorId, bytes: &[u8]) -> FileRef {
        let up = Upload {
            id: 0,
            site: scope.id(),
            by: Uploader::Visitor(visitor),
            chat,
            key: "0123456789abcdef0123456789abcdef".into(),
            name: "a.txt".into(),
            mime: String::new(),
            size: 0,
            chunks: 0,
            created_at: 10,
            complete: false,
            sent: None,
        };
        let up = scope.begin_upload(up).await.expect("begun");
        let mut n = 0;
        for (i, part) in (0u32..).zip(bytes.chunks(CHUNK_BYTES)) {
            scope.put_chunk(up.id, i, part.to_vec()).await.expect("chunk");
            n += 1;
        }
        scope.finish_upload(up.id, "text/plain".into(), bytes.len() as u64, n, u64::MAX).await.expect("done").file_ref()
    }

    fn message(chat: ChatId, seq: u64, file: FileRef) -> crate::domain::chat::ChatEvent {
        crate::domain::chat::ChatEvent {
            chat,
            seq,
            at: 20,
            client_id: Some("v1".into()),
            kind: EventKind::Message { author: Author::Visitor, text: String::new(), file: Some(file) },
        }
    }

    fn content(scope: &SiteStore, f: &FileRef) -> Vec<u8> {
        let up = scope.upload(f.id).expect("upload");
        (0..up.chunks).flat_map(|i| scope.chunk(f.id, i).expect("chunk")).collect()
    }

    #[tokio::test]
    async fn a_sent_file_goes_with_its_chat_to_another_site_and_with_its_transcript_at_retention() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("store");
        let a = store.create_site("A".into(), 0).await.expect("site").id;
        let b = store.create_site("B".into(), 0).await.expect("site").id;
        let vera = store.new_visitor(a, [1; 32], 0).await.expect("visitor");
        let (sa, sb) = (store.site(a), store.site(b));
        let bytes: Vec<u8> = (0..(CHUNK_BYTES + 1000)).map(|i| (i % 251) as u8).collect();
        let f = stored_file(&sa, ChatId(1), vera, &bytes).await;
        crate::store::write_for_test(
            &store,
            vec![ChatWrite::Chat(ended_chat(a, 1, vera)), ChatWrite::Event(a, message(ChatId(1), 1, f.clone()))],
        )
        .await;
        assert_eq!(sa.upload(f.id).expect("upload").sent, Some((1, "v1".into())));
        assert_eq!(sa.file_bytes().expect("usage"), bytes.len() as u64);
        // A cross-site transfer with transcript: site B gets a copy of its own.
        let moved = ended_chat(b, 2, VisitorId(9));
        crate::store::write_for_test(
            &store,
            vec![ChatWrite::Chat(moved), ChatWrite::CopyEvents { from: (a, ChatId(1)), to: (b, ChatId(2)), up_to: 1 }],
        )
        .await;
        let copied = sb.chat_events(ChatId(2), 0, 10).expect("events");
        let Some(EventKind::Message { file: Some(copy), .. }) = copied.first().map(|e| e.kind.clone()) else {
            panic!("the file is copied: {copied:?}")
        };
        assert_eq!(copy.site, b);
        assert_ne!(copy.id, f.id);
        assert_eq!(content(&sb, &copy), bytes);
        assert_eq!(sb.file_bytes().expect("usage"), bytes.len() as u64);
        // Retention deletes site A's transcript and its file; B's copy stays.
        assert_eq!(store.delete_transcripts_before(2_000).await.expect("retention"), 2);
        assert!(matches!(sa.upload(f.id), Err(StoreError::NotFound)));
        assert!(sa.chunk(f.id, 0).is_err());
        assert_eq!(sa.file_bytes().expect("usage"), 0);
    }

    #[tokio::test]
    async fn uploads_never_sent_are_purged_and_sent_ones_stay() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("store");
        let a = store.create_site("A".into(), 0).await.expect("site").id;
        let v = store.new_visitor(a, [1; 32], 0).await.expect("visitor");
        let scope = store.site(a);
        let sent = stored_file(&scope, ChatId(1), v, b"kept").await;
        let unsent = stored_file(&scope, ChatId(1), v, b"dropped").await;
        crate::store::write_for_test(&store, vec![ChatWrite::Event(a, message(ChatId(1), 1, sent.clone()))]).await;
        assert_eq!(store.purge_unsent_uploads(5, 5).await.expect("purge"), 0, "not old enough");
        assert_eq!(store.purge_unsent_uploads(100, 100).await.expect("purge"), 1);
        assert!(scope.upload(sent.id).is_ok());
        assert!(matches!(scope.upload(unsent.id), Err(StoreError::NotFound)));
        assert_eq!(scope.file_bytes().expect("usage"), 4);
    }

    #[tokio::test]
    async fn a_backup_restores_a_files_bytes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let data = dir.path().join("data");
        std::fs::create_dir_all(&data).expect("mkdir");
        let store = Store::open(&data).expect("store");
        let a = store.create_site("A".into(), 0).await.expect("site").id;
        let v = store.new_visitor(a, [1; 32], 0).await.expect("visitor");
        let bytes: Vec<u8> = (0..(3 * CHUNK_BYTES + 17)).map(|i| (i % 253) as u8).collect();
        let f = stored_file(&store.site(a), ChatId(1), v, &bytes).await;
        crate::store::write_for_test(&store, vec![ChatWrite::Event(a, message(ChatId(1), 1, f.clone()))]).await;
        let backup = dir.path().join("b.redb");
        store.backup_to(&backup, None).expect("backup");
        store.site(a).delete_upload(f.id).await.expect("deleted after the backup");
        store.close().await;
        drop(store);
        crate::store::backup::restore(&data, &backup, "t").expect("restore");
        let store = Store::open(&data).expect("reopen");
        assert_eq!(content(&store.site(a), &f), bytes);
        assert_eq!(store.site(a).upload(f.id).expect("upload").sent, Some((1, "v1".into())));
    }
}
