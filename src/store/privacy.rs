//! Data retention and visitors' rights: deleting old transcripts, and exporting or erasing
//! everything stored about one visitor of a site.

use super::codec::decode;
use super::tables::{CHAT_EVENTS, CHATS, LEFT_MESSAGES, OPEN_CHATS, VISITOR_TOKENS, VISITORS};
use super::{SiteStore, Store, StoreError, VisitorRecord};
use crate::domain::Millis;
use crate::domain::chat::{ChatEvent, ChatRecord, ChatStatus, LeftMessage};
use crate::domain::ids::VisitorId;
use redb::ReadableTable;
use serde::Serialize;

/// Everything stored about one visitor of one site.
#[derive(Debug, Serialize)]
pub struct VisitorData {
    pub visitor: VisitorRecord,
    pub chats: Vec<(ChatRecord, Vec<ChatEvent>)>,
    pub left_messages: Vec<LeftMessage>,
}

/// Chats deleted per transaction by the retention task, to keep each commit short.
const RETENTION_BATCH: usize = 500;

impl Store {
    /// Delete the transcripts (chat records and events) of chats ended before `cutoff`, in
    /// batches; returns how many chats were deleted.
    pub async fn delete_transcripts_before(&self, cutoff: Millis) -> Result<usize, StoreError> {
        let mut total = 0;
        loop {
            let old: Vec<(u64, u64)> = self.read(|r| {
                let t = r.open_table(CHATS)?;
                let mut v = Vec::new();
                for e in t.iter()? {
                    let (k, val) = e?;
                    let c: ChatRecord = decode(val.value())?;
                    if c.status == ChatStatus::Ended && c.ended_at.is_some_and(|at| at < cutoff) {
                        v.push(k.value());
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
                for (site, chat) in old {
                    chats.remove((site, chat))?;
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
            Ok(VisitorData { visitor: rec, chats, left_messages })
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
                        if c.status != ChatStatus::Ended {
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
                for chat in &theirs {
                    chats.remove((site.0, *chat))?;
                    open.remove((site.0, *chat))?;
                    events.retain_in((site.0, *chat, 0)..=(site.0, *chat, u64::MAX), |_, _| false)?;
                }
                txn.open_table(LEFT_MESSAGES)?.retain_in((site.0, 0)..=(site.0, u64::MAX), |_, v| {
                    decode::<LeftMessage>(v).map(|m| m.visitor != visitor).unwrap_or(true)
                })?;
                txn.open_table(VISITOR_TOKENS)?.retain(|_, owner| owner != (site.0, visitor.0))?;
                visitors.remove((site.0, visitor.0))?;
                Ok(theirs.len())
            })
            .await
    }
}
