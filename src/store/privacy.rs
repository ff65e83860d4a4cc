//! Data retention and visitors' rights: deleting old transcripts, and exporting or erasing
//! everything stored about one visitor of a site.

use super::codec::decode;
use super::tables::{
    CHAT_EVENTS, CHAT_TERMS, CHATS, INVITATIONS, LEFT_MESSAGES, OPEN_CHATS, VISITOR_CHATS, VISITOR_TOKENS, VISITORS,
};
use super::{SiteStore, Store, StoreError, VisitorRecord};
use crate::domain::Millis;
use crate::domain::chat::{ChatEvent, ChatRecord, ChatStatus, LeftMessage};
use crate::domain::ids::VisitorId;
use crate::domain::proactive::InvitationRecord;
use redb::ReadableTable;

/// Everything stored about one visitor of one site.
#[derive(Debug)]
pub struct VisitorData {
    pub visitor: VisitorRecord,
    pub chats: Vec<(ChatRecord, Vec<ChatEvent>)>,
    pub left_messages: Vec<LeftMessage>,
    /// The files of their chats (theirs and the agents'), with their bytes.
    pub files: Vec<(crate::domain::files::Upload, Vec<u8>)>,
}

impl VisitorData {
    /// The export: every record as it is stored (chats and their events in the store's own
    /// stored shapes), as pretty JSON.
    pub fn export_json(&self) -> Result<String, StoreError> {
        let chats = self
            .chats
            .iter()
            .map(|(c, events)| super::stored::export_chat(c, events))
            .collect::<Result<Vec<_>, _>>()?;
        use base64::Engine;
        let files: Vec<serde_json::Value> = self
            .files
            .iter()
            .map(|(up, bytes)| {
                serde_json::json!({
                    "chat": up.chat,
                    "name": up.name,
                    "type": up.mime,
                    "size": up.size,
                    "uploaded_at": up.created_at,
                    "by": up.by,
                    "content_base64": base64::engine::general_purpose::STANDARD.encode(bytes),
                })
            })
            .collect();
        let all = serde_json::json!({
            "visitor": self.visitor,
            "chats": chats,
            "left_messages": self.left_messages,
            "files": files,
        });
        serde_json::to_string_pretty(&all).map_err(|e| StoreError::Corrupt(e.to_string()))
    }
}

/// Chats deleted per transaction by the retention task, to keep each commit short.
const RETENTION_BATCH: usize = 500;

impl Store {
    /// Delete the transcripts (chat records and events) of chats ended before `cutoff`, in
    /// batches; returns how many chats were deleted.
    pub async fn delete_transcripts_before(&self, cutoff: Millis) -> Result<usize, StoreError> {
        let mut total = 0;
        loop {
            let old: Vec<(u64, u64, u64)> = self.read(|r| {
                let t = r.open_table(CHATS)?;
                let mut v = Vec::new();
                for e in t.iter()? {
                    let (k, val) = e?;
                    let c: ChatRecord = decode(val.value())?;
                    if c.status() == ChatStatus::Ended && c.ended_at().is_some_and(|at| at < cutoff) {
                        let (site, chat) = k.value();
                        v.push((site, chat, c.visitor.0));
                        if v.len() == RETENTION_BATCH {
                            break;
                        }
                    }
                }
                Ok(v)
            })?;
            if old.is_empty() {
                return Ok(total);
            }
            let n = old.len();
            self.write(move |txn| {
                let mut chats = txn.open_table(CHATS)?;
                let mut events = txn.open_table(CHAT_EVENTS)?;
                let mut by_visitor = txn.open_table(VISITOR_CHATS)?;
                let mut terms = txn.open_table(CHAT_TERMS)?;
                for (site, chat, visitor) in old {
                    for file in super::files::files_of_chat(&events, crate::domain::ids::SiteId(site), chat)? {
                        super::files::delete_upload_tx(txn, crate::domain::ids::SiteId(site), file)?;
                    }
                    super::search::unindex_stored(&mut terms, &chats, &events, site, chat)?;
                    chats.remove((site, chat))?;
                    by_visitor.remove((site, visitor, chat))?;
                    events.retain_in((site, chat, 0)..=(site, chat, u64::MAX), |_, _| false)?;
                }
                Ok(())
            })
            .await?;
            total += n;
        }
    }
}

impl SiteStore {
    /// Visitors of this site whose chats or left messages match `q` (name or email), with
    /// their latest name and email and how many chats they had.
    pub fn find_visitors(&self, q: &str) -> Result<Vec<(VisitorId, String, String, usize)>, StoreError> {
        let site = self.id();
        let q = q.trim().to_lowercase();
        self.store().read(|r| {
            let mut found: std::collections::BTreeMap<u64, (String, String, usize)> = Default::default();
            let chats = r.open_table(CHATS)?;
            for e in chats.range((site.0, 0)..=(site.0, u64::MAX))? {
                let c: ChatRecord = decode(e?.1.value())?;
                let entry = found.entry(c.visitor.0).or_default();
                entry.2 += 1;
                if !c.info.name.is_empty() {
                    entry.0 = c.info.name.clone();
                }
                if !c.info.email.is_empty() {
                    entry.1 = c.info.email.clone();
                }
            }
            let left = r.open_table(LEFT_MESSAGES)?;
            for e in left.range((site.0, 0)..=(site.0, u64::MAX))? {
                let m: LeftMessage = decode(e?.1.value())?;
                let entry = found.entry(m.visitor.0).or_default();
                if entry.0.is_empty() {
                    entry.0 = m.name.clone();
                }
                if entry.1.is_empty() {
                    entry.1 = m.email.clone();
                }
            }
            Ok(found
                .into_iter()
                .filter(|(_, (n, e, _))| {
                    !q.is_empty() && (n.to_lowercase().contains(&q) || e.to_lowercase().contains(&q))
                })
                .map(|(id, (n, e, c))| (VisitorId(id), n, e, c))
                .collect())
        })
    }

    /// A visitor's record (when they first came).
    pub fn visitor(&self, visitor: VisitorId) -> Result<VisitorRecord, StoreError> {
        let site = self.id();
        self.store()
            .read(|r| decode(r.open_table(VISITORS)?.get((site.0, visitor.0))?.ok_or(StoreError::NotFound)?.value()))
    }

    pub fn visitor_data(&self, visitor: VisitorId) -> Result<VisitorData, StoreError> {
        let site = self.id();
        self.store().read(|r| {
            let v = r.open_table(VISITORS)?;
            let rec: VisitorRecord = decode(v.get((site.0, visitor.0))?.ok_or(StoreError::NotFound)?.value())?;
            let chats_t = r.open_table(CHATS)?;
            let events_t = r.open_table(CHAT_EVENTS)?;
            let mut chats = Vec::new();
            for e in chats_t.range((site.0, 0)..=(site.0, u64::MAX))? {
                let c: ChatRecord = decode(e?.1.value())?;
                if c.visitor == visitor {
                    let evs = events_t
                        .range((site.0, c.id.0, 0)..=(site.0, c.id.0, u64::MAX))?
                        .map(|e| decode(e?.1.value()))
                        .collect::<Result<Vec<ChatEvent>, _>>()?;
                    chats.push((c, evs));
                }
            }
            let left_t = r.open_table(LEFT_MESSAGES)?;
            let mut left_messages = Vec::new();
            for e in left_t.range((site.0, 0)..=(site.0, u64::MAX))? {
                let m: LeftMessage = decode(e?.1.value())?;
                if m.visitor == visitor {
                    left_messages.push(m);
                }
            }
            let uploads = r.open_table(super::tables::UPLOADS)?;
            let bytes = r.open_table(super::tables::UPLOAD_CHUNKS)?;
            let mut files = Vec::new();
            for e in uploads.range((site.0, 0)..=(site.0, u64::MAX))? {
                let up: crate::domain::files::Upload = decode(e?.1.value())?;
                let theirs = up.by == crate::domain::files::Uploader::Visitor(visitor)
                    || chats.iter().any(|(c, _)| c.id == up.chat);
                if theirs && up.complete {
                    let mut content = Vec::with_capacity(up.size as usize);
                    for c in bytes.range((site.0, up.id, 0)..=(site.0, up.id, u32::MAX))? {
                        content.extend_from_slice(c?.1.value());
                    }
                    files.push((up, content));
                }
            }
            Ok(VisitorData { visitor: rec, chats, left_messages, files })
        })
    }

    /// Erase everything stored about a visitor of this site. Refused while a chat of theirs is
    /// open (end it first): the live chat would otherwise write to what was erased.
    pub async fn erase_visitor(&self, visitor: VisitorId) -> Result<usize, StoreError> {
        let site = self.id();
        self.store()
            .write(move |txn| {
                let mut visitors = txn.open_table(VISITORS)?;
                if visitors.get((site.0, visitor.0))?.is_none() {
                    return Err(StoreError::NotFound);
                }
                let mut chats = txn.open_table(CHATS)?;
                let mut theirs = Vec::new();
                for e in chats.range((site.0, 0)..=(site.0, u64::MAX))? {
                    let c: ChatRecord = decode(e?.1.value())?;
                    if c.visitor == visitor {
                        if c.status() != ChatStatus::Ended {
                            return Err(StoreError::conflict(
                                "visitor",
                                "This visitor has an open chat: end it first.",
                            ));
                        }
                        theirs.push(c.id.0);
                    }
                }
                let mut events = txn.open_table(CHAT_EVENTS)?;
                let mut open = txn.open_table(OPEN_CHATS)?;
                let mut terms = txn.open_table(CHAT_TERMS)?;
                for chat in &theirs {
                    for file in super::files::files_of_chat(&events, site, *chat)? {
                        super::files::delete_upload_tx(txn, site, file)?;
                    }
                    super::search::unindex_stored(&mut terms, &chats, &events, site.0, *chat)?;
                    chats.remove((site.0, *chat))?;
                    open.remove((site.0, *chat))?;
                    events.retain_in((site.0, *chat, 0)..=(site.0, *chat, u64::MAX), |_, _| false)?;
                }
                txn.open_table(LEFT_MESSAGES)?.retain_in((site.0, 0)..=(site.0, u64::MAX), |_, v| {
                    decode::<LeftMessage>(v).map(|m| m.visitor != visitor).unwrap_or(true)
                })?;
                txn.open_table(VISITOR_CHATS)?
                    .retain_in((site.0, visitor.0, 0)..=(site.0, visitor.0, u64::MAX), |_, _| false)?;
                txn.open_table(INVITATIONS)?.retain_in((site.0, 0)..=(site.0, u64::MAX), |_, v| {
                    decode::<InvitationRecord>(v).map(|i| i.visitor != visitor).unwrap_or(true)
                })?;
                txn.open_table(VISITOR_TOKENS)?.retain(|_, owner| owner != (site.0, visitor.0))?;
                super::mail::erase_mails_of(txn, site, visitor)?;
                super::webhooks::erase_deliveries_of(txn, site, visitor)?;
                super::files::delete_uploads_by(txn, site, crate::domain::files::Uploader::Visitor(visitor))?;
                visitors.remove((site.0, visitor.0))?;
                Ok(theirs.len())
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::chat::{Author, ChatState, EndedBy, EventKind, VisitorInfo};
    use crate::domain::ids::{CampaignId, ChatId, SiteId, UserId};
    use crate::store::ChatWrite;

    fn chat(id: u64, visitor: VisitorId, ended_at: Option<u64>) -> ChatRecord {
        ChatRecord {
            id: ChatId(id),
            site: SiteId(1),
            campaign: CampaignId(1),
            visitor,
            department: None,
            state: match ended_at {
                Some(at) => ChatState::Ended { at, by: EndedBy::Visitor, agent: None },
                None => ChatState::Active(UserId(1)),
            },
            info: VisitorInfo { name: "Vera".into(), email: "vera@example.com".into(), ..Default::default() },
            created_at: 0,
            queued_at: 0,
            assigned_at: None,
            last_seq: 1,
            survey: None,
            origin: None,
        }
    }

    async fn put(store: &Store, c: ChatRecord) {
        let ev = ChatEvent {
            chat: c.id,
            seq: 1,
            at: 0,
            client_id: None,
            kind: EventKind::Message { file: None, author: Author::Visitor, text: "hi".into() },
        };
        let (tx, rx) = tokio::sync::oneshot::channel();
        let site = c.site;
        store
            .write_chat_records(vec![ChatWrite::Chat(c), ChatWrite::Event(site, ev)], move |r| drop(tx.send(r)))
            .expect("submit");
        rx.await.expect("answer").expect("stored");
    }

    #[tokio::test]
    async fn retention_deletes_only_transcripts_ended_before_the_cutoff() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("open");
        let v = store.new_visitor(SiteId(1), [1; 32], 0).await.expect("visitor");
        put(&store, chat(1, v, Some(1_000))).await;
        put(&store, chat(2, v, Some(5_000))).await;
        put(&store, chat(3, v, None)).await;
        assert_eq!(store.delete_transcripts_before(2_000).await.expect("retention"), 1);
        let site = store.site(SiteId(1));
        assert!(matches!(site.chat(ChatId(1)), Err(StoreError::NotFound)));
        assert!(site.chat_events(ChatId(1), 0, 10).expect("events").is_empty());
        assert!(site.chat(ChatId(2)).is_ok() && site.chat(ChatId(3)).is_ok());
    }

    #[tokio::test]
    async fn a_visitor_is_exported_then_erased_but_not_while_chatting() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("open");
        let v = store.new_visitor(SiteId(1), [2; 32], 0).await.expect("visitor");
        let other = store.new_visitor(SiteId(1), [3; 32], 0).await.expect("visitor");
        put(&store, chat(1, v, Some(1_000))).await;
        put(&store, chat(2, v, None)).await;
        put(&store, chat(3, other, Some(1_000))).await;
        let site = store.site(SiteId(1));
        assert_eq!(site.find_visitors("VERA@").expect("find").len(), 2);
        let data = site.visitor_data(v).expect("data");
        assert_eq!(data.chats.len(), 2);
        assert_eq!(data.chats[0].1.len(), 1, "with the transcript");
        let err = site.erase_visitor(v).await.expect_err("open chat");
        assert!(err.to_string().contains("open chat"));
        put(&store, chat(2, v, Some(2_000))).await;
        assert_eq!(site.erase_visitor(v).await.expect("erased"), 2);
        assert!(matches!(site.visitor_data(v), Err(StoreError::NotFound)));
        assert!(store.visitor_by_token(&[2; 32]).expect("token").is_none());
        assert!(site.chat(ChatId(3)).is_ok(), "other visitors stay");
        // Another site's handle cannot reach this site's visitor.
        assert!(matches!(store.site(SiteId(9)).erase_visitor(other).await, Err(StoreError::NotFound)));
    }
}
