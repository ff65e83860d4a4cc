//! The transcript search: an index of words to chats, written once when a chat ends (in the
//! transaction that stores the end, from the events read for the statistics), so a message
//! costs nothing extra while chats go on. Terms: the words of the messages and notes, of the
//! visitor's name and email, and `agent:<id>` for every agent who held the chat. Postings are
//! keyed newest chat first; a search walks the rarest term's postings and checks the others
//! by point lookups, stopping once it has a page. The end of a date range becomes a chat id
//! first (ids grow with the start time, so a bisection finds it), so that a search in an old
//! month does not read every newer chat on its way there.

use super::codec::decode;
use super::tables::{CHAT_TERMS, CHATS};
use super::{SiteStore, StoreError};
use crate::domain::Millis;
use crate::domain::chat::{ChatEvent, ChatRecord, EventKind};
use crate::domain::ids::{ChatId, UserId};
use redb::{ReadableTable, Table};
use std::collections::BTreeSet;

/// Longest word indexed (longer ones are cut), and the most terms one chat adds.
const MAX_WORD: usize = 40;
const MAX_TERMS: usize = 2_000;
/// Postings counted per term to find the rarest.
const SAMPLE: usize = 2_000;

/// The words of a text: runs of letters and digits, lower-cased, at least 2 characters.
pub fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.chars().count() >= 2)
        .map(|w| w.chars().take(MAX_WORD).collect::<String>().to_lowercase())
}

fn agent_term(agent: UserId) -> String {
    format!("agent:{agent}")
}

/// The terms a chat is found by.
pub(super) fn terms(rec: &ChatRecord, events: &[ChatEvent]) -> BTreeSet<String> {
    let mut t = BTreeSet::new();
    t.extend(words(&rec.info.name));
    t.extend(words(&rec.info.email));
    for e in events {
        match &e.kind {
            EventKind::Message { text, file, .. } => {
                t.extend(words(text));
                if let Some(f) = file {
                    t.extend(words(&f.name));
                }
            }
            EventKind::Note { text, .. } => t.extend(words(text)),
            EventKind::Assigned { agent, .. } => {
                t.insert(agent_term(*agent));
            }
            _ => {}
        }
        if t.len() >= MAX_TERMS {
            break;
        }
    }
    t
}

fn rev(chat: ChatId) -> u64 {
    u64::MAX - chat.0
}

/// The first id of the site's chats that started at or after `at` (one past the last chat
/// when none did): a bisection over ids, as chat ids grow with their start time.
fn first_chat_from(
    chats: &impl ReadableTable<(u64, u64), &'static [u8]>,
    site: u64,
    at: Millis,
) -> Result<u64, StoreError> {
    let Some(last) = chats.range((site, 0)..=(site, u64::MAX))?.next_back() else { return Ok(0) };
    let (mut lo, mut hi) = (0u64, last?.0.value().1 + 1);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        // The first chat at or after `mid` (there is one: the last chat is).
        let started = match chats.range((site, mid)..=(site, u64::MAX))?.next() {
            Some(e) => decode::<ChatRecord>(e?.1.value())?.created_at,
            None => Millis::MAX,
        };
        if started >= at {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    Ok(lo)
}

pub(super) fn index_chat(
    index: &mut Table<(u64, &str, u64), ()>,
    rec: &ChatRecord,
    events: &[ChatEvent],
) -> Result<(), StoreError> {
    for term in terms(rec, events) {
        index.insert((rec.site.0, term.as_str(), rev(rec.id)), ())?;
    }
    Ok(())
}

/// Remove a chat's terms (before its transcript is deleted). `events` are its stored events.
pub(super) fn unindex_chat(
    index: &mut Table<(u64, &str, u64), ()>,
    rec: &ChatRecord,
    events: &[ChatEvent],
) -> Result<(), StoreError> {
    for term in terms(rec, events) {
        index.remove((rec.site.0, term.as_str(), rev(rec.id)))?;
    }
    Ok(())
}

/// Read a chat's record and events and remove its terms (retention, erasure).
pub(super) fn unindex_stored(
    index: &mut Table<(u64, &str, u64), ()>,
    chats: &impl ReadableTable<(u64, u64), &'static [u8]>,
    events: &impl ReadableTable<(u64, u64, u64), &'static [u8]>,
    site: u64,
    chat: u64,
) -> Result<(), StoreError> {
    let Some(v) = chats.get((site, chat))? else { return Ok(()) };
    let rec: ChatRecord = decode(v.value())?;
    let evs = events
        .range((site, chat, 0)..=(site, chat, u64::MAX))?
        .map(|e| decode(e?.1.value()))
        .collect::<Result<Vec<ChatEvent>, _>>()?;
    unindex_chat(index, &rec, &evs)
}

/// What the transcript browser searches by; every part is optional.
#[derive(Clone, Debug, Default)]
pub struct ChatQuery {
    /// Words that must all be in the chat (messages, notes, the visitor's name or email).
    pub text: String,
    pub agent: Option<UserId>,
    /// Chats started in [from, to).
    pub from: Option<Millis>,
    pub to: Option<Millis>,
    /// Older than this chat (the next page).
    pub before: Option<ChatId>,
}

impl SiteStore {
    /// Ended chats matching `q`, newest first, at most `limit`. Open chats are not indexed yet
    /// (they are in the agents' consoles); without words or agent, every chat of the range.
    pub fn search_chats(&self, q: &ChatQuery, limit: usize) -> Result<Vec<ChatRecord>, StoreError> {
        let site = self.id().0;
        let mut wanted: Vec<String> = words(&q.text).collect();
        wanted.extend(q.agent.map(agent_term));
        wanted.sort();
        wanted.dedup();
        // Candidates come newest first: one older than `from` ends the search.
        let take = |c: ChatRecord, out: &mut Vec<ChatRecord>| -> bool {
            if q.from.is_some_and(|from| c.created_at < from) {
                return false;
            }
            if q.to.is_none_or(|to| c.created_at < to) {
                out.push(c);
            }
            out.len() < limit
        };
        self.store().read(|r| {
            let chats = r.open_table(CHATS)?;
            let mut out = Vec::new();
            // The chats older than `before` that started before `to`: ids below `end`.
            let mut end = q.before.map(|c| c.0).unwrap_or(u64::MAX);
            if let Some(to) = q.to {
                end = end.min(first_chat_from(&chats, site, to)?);
            }
            if end == 0 {
                return Ok(out);
            }
            // Their postings: reversed ids from `start` on.
            let start = rev(ChatId(end)) + 1;
            if wanted.is_empty() {
                for e in chats.range((site, 0)..(site, end))?.rev() {
                    if !take(decode(e?.1.value())?, &mut out) {
                        break;
                    }
                }
                return Ok(out);
            }
            let index = r.open_table(CHAT_TERMS)?;
            // Walk the rarest term (by a bounded count); check the others by lookups.
            let mut counted = Vec::with_capacity(wanted.len());
            for w in &wanted {
                let n = index.range((site, w.as_str(), start)..=(site, w.as_str(), u64::MAX))?.take(SAMPLE).count();
                if n == 0 {
                    return Ok(out);
                }
                counted.push((n, w.as_str()));
            }
            counted.sort();
            let (driver, others): (&str, Vec<&str>) = (counted[0].1, counted[1..].iter().map(|c| c.1).collect());
            'postings: for e in index.range((site, driver, start)..=(site, driver, u64::MAX))? {
                let (_, _, r_id) = e?.0.value();
                for o in &others {
                    if index.get((site, *o, r_id))?.is_none() {
                        continue 'postings;
                    }
                }
                let Some(v) = chats.get((site, u64::MAX - r_id))? else { continue };
                if !take(decode(v.value())?, &mut out) {
                    break;
                }
            }
            Ok(out)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::chat::{Author, ChatState, EndedBy, VisitorInfo};
    use crate::domain::ids::{CampaignId, SiteId, VisitorId};
    use crate::store::{ChatWrite, Store};

    use crate::store::write_for_test as write;

    /// A chat of `site` by visitor `v`, taken by `agent`, with one visitor message, ended.
    async fn ended_chat(store: &Store, site: SiteId, id: u64, v: u64, name: &str, agent: u64, text: &str) {
        let chat = ChatId(id);
        let info = VisitorInfo { name: name.into(), ..Default::default() };
        let mut rec = ChatRecord::queued(chat, site, CampaignId(1), VisitorId(v), None, info, id * 1000);
        let ev = |seq, kind| ChatEvent { chat, seq, at: id * 1000 + seq, client_id: None, kind };
        let events = [
            ev(1, EventKind::Assigned { agent: UserId(agent), name: "A".into() }),
            ev(2, EventKind::Message { file: None, author: Author::Visitor, text: text.into() }),
            ev(3, EventKind::Ended { by: EndedBy::Visitor }),
        ];
        rec.state = ChatState::Ended { at: id * 1000 + 3, by: EndedBy::Visitor, agent: Some(UserId(agent)) };
        rec.last_seq = 3;
        let mut writes: Vec<ChatWrite> = events.into_iter().map(|e| ChatWrite::Event(site, e)).collect();
        writes.push(ChatWrite::Chat(rec));
        write(store, writes).await;
    }

    #[tokio::test]
    async fn ended_chats_are_found_by_words_agent_date_and_page_and_not_after_erasure() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("open");
        let a = store.create_site("Alpha".into(), 1).await.expect("site").id;
        let b = store.create_site("Beta".into(), 1).await.expect("site").id;
        let vera = store.new_visitor(a, [1; 32], 0).await.expect("visitor").0;
        ended_chat(&store, a, 1, vera, "Vera Lind", 3, "My tent has a broken zipper").await;
        ended_chat(&store, a, 2, 6, "Wim", 4, "Where is my order 1042?").await;
        ended_chat(&store, a, 3, vera, "Vera Lind", 4, "The zipper again, the tent").await;
        ended_chat(&store, b, 4, 7, "Xia", 3, "zipper").await;
        let s = store.site(a);
        let ids = |q: &ChatQuery| s.search_chats(q, 10).expect("search").iter().map(|c| c.id.0).collect::<Vec<_>>();
        let text = |t: &str| ChatQuery { text: t.into(), ..Default::default() };
        assert_eq!(ids(&text("zipper")), [3, 1], "newest first, this site only");
        assert_eq!(ids(&text("ZIPPER tent")), [3, 1]);
        assert_eq!(ids(&text("zipper order")), Vec::<u64>::new());
        assert_eq!(ids(&text("vera")), [3, 1], "by the visitor's name");
        assert_eq!(ids(&ChatQuery { agent: Some(UserId(4)), ..Default::default() }), [3, 2]);
        assert_eq!(ids(&ChatQuery { text: "zipper".into(), agent: Some(UserId(3)), ..Default::default() }), [1]);
        assert_eq!(ids(&ChatQuery { text: "zipper".into(), before: Some(ChatId(3)), ..Default::default() }), [1]);
        assert_eq!(ids(&ChatQuery { from: Some(2000), to: Some(3000), ..Default::default() }), [2]);
        // The end of the range is found by bisection over ids, with words or without.
        assert_eq!(ids(&ChatQuery { text: "zipper".into(), to: Some(2500), ..Default::default() }), [1]);
        assert_eq!(ids(&ChatQuery { to: Some(3001), ..Default::default() }), [3, 2, 1]);
        assert_eq!(ids(&ChatQuery { to: Some(500), ..Default::default() }), Vec::<u64>::new());
        assert_eq!(ids(&ChatQuery { text: "tent".into(), to: Some(1000), ..Default::default() }), Vec::<u64>::new());
        assert_eq!(ids(&ChatQuery { text: "zipper".into(), from: Some(2000), ..Default::default() }), [3]);
        assert_eq!(ids(&ChatQuery::default()), [3, 2, 1]);
        assert_eq!(s.search_chats(&ChatQuery::default(), 2).expect("page").len(), 2);

        // Retention removes the index entries with the transcripts...
        store.delete_transcripts_before(2_500).await.expect("retention");
        assert_eq!(ids(&text("zipper")), [3]);
        assert_eq!(ids(&text("order")), Vec::<u64>::new());
        // ... and so does erasing a visitor.
        s.erase_visitor(VisitorId(vera)).await.expect("erased");
        assert_eq!(ids(&text("zipper")), Vec::<u64>::new());
        assert_eq!(ids(&text("vera")), Vec::<u64>::new());
        assert_eq!(store.site(b).search_chats(&text("zipper"), 10).expect("search").len(), 1, "another site's stay");
    }

    #[test]
    fn words_are_lower_cased_runs_of_letters_and_digits() {
        let w: Vec<String> = words("Order #1042: the Zelt (grün) — a x").collect();
        assert_eq!(w, ["order", "1042", "the", "zelt", "grün"]);
        assert_eq!(words("vera@example.com").collect::<Vec<_>>(), ["vera", "example", "com"]);
    }
}
