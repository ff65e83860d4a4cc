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

/// Bytes per stored chunk.
pub const CHUNK_BYTES: usize = 256 * 1024;

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
