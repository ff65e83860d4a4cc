//! Visitors, chats and their events. The switchboard's records arrive through
//! `write_chat_records` (group-committed, then announced in order); reads of one site's chats go
//! through `SiteStore`.

use super::codec::{decode, encode};
use super::tables::{
    CHAT_EVENTS, CHATS, INVITATIONS, LEFT_MESSAGES, OPEN_CHATS, USERS, VISITOR_CHATS, VISITOR_TOKENS, VISITORS,
};
use super::{SiteStore, Store, StoreError, next_id};
use crate::domain::Millis;
use crate::domain::chat::{Author, ChatEvent, ChatRecord, ChatStatus, EventKind, LeftMessage, OpenOffer};
use crate::domain::ids::{ChatId, SiteId, UserId, VisitorId};
use crate::domain::mail::MailKind;
use crate::domain::model::User;
use crate::domain::proactive::InvitationRecord;
use crate::domain::switchboard::{RestoredChat, event_client_key};
use redb::{ReadableTable, WriteTransaction};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct VisitorRecord {
    pub id: VisitorId,
    pub site: SiteId,
    pub created_at: Millis,
}

/// What the switchboard asks to store.
#[derive(Clone, Debug)]
#[allow(clippy::large_enum_variant)] // each is built once and moved into the writer's batch
pub enum ChatWrite {
    Chat(ChatRecord),
    Event(SiteId, ChatEvent),
    /// Copy the conversation among a chat's events 1..=up_to (`EventKind::is_conversation`) to
    /// another chat, numbered from 1 (a cross-site transfer with transcript).
    CopyEvents {
        from: (SiteId, ChatId),
        to: (SiteId, ChatId),
        up_to: u64,
    },
    Invitation(InvitationRecord),
    /// The status an agent chose (Away or not), for their next console.
    Away {
        site: SiteId,
        user: UserId,
        away: bool,
    },
}

/// `mail`: mail is configured; `hooks`: some webhook endpoint exists (else no event is looked
/// at for webhooks).
fn write_records(txn: &WriteTransaction, writes: &[ChatWrite], mail: bool, hooks_on: bool) -> Result<(), StoreError> {
    let mut stats = super::stats::Pending::default();
    let mut hooks = super::webhooks::Sources::default();
    let mut chats = txn.open_table(CHATS)?;
    let mut events = txn.open_table(CHAT_EVENTS)?;
    let mut open = txn.open_table(OPEN_CHATS)?;
    let mut by_visitor = txn.open_table(VISITOR_CHATS)?;
    let mut max_chat = 0;
    let mut max_invitation = 0;
    for (at, w) in writes.iter().enumerate() {
        match w {
            ChatWrite::Chat(c) => {
                let old: Option<ChatRecord> = chats.get((c.site.0, c.id.0))?.map(|v| decode(v.value())).transpose()?;
                stats.chat(old.as_ref(), c);
                hooks.chat(at, old.as_ref(), c);
                if mail {
                    super::mail::missed_chat(txn, old.as_ref(), c)?;
                }
                chats.insert((c.site.0, c.id.0), encode(c).as_slice())?;
                by_visitor.insert((c.site.0, c.visitor.0, c.id.0), ())?;
                if c.status() == ChatStatus::Ended {
                    open.remove((c.site.0, c.id.0))?;
                } else {
                    open.insert((c.site.0, c.id.0), ())?;
                }
                max_chat = max_chat.max(c.id.0);
            }
            ChatWrite::Event(site, e) => {
                events.insert((site.0, e.chat.0, e.seq), encode(e).as_slice())?;
                hooks.event(at, *site, e);
                if let EventKind::Message { file: Some(f), .. } = &e.kind {
                    super::files::mark_sent(txn, *site, f.id, e.seq, e.client_id.as_deref())?;
                }
            }
            ChatWrite::CopyEvents { from, to, up_to } => {
                let copies: Vec<ChatEvent> = events
                    .range((from.0.0, from.1.0, 1)..=(from.0.0, from.1.0, *up_to))?
                    .map(|e| decode::<ChatEvent>(e?.1.value()))
                    .collect::<Result<_, _>>()?;
                for (seq, mut e) in (1..).zip(copies.into_iter().filter(|e| e.kind.is_conversation())) {
                    e.chat = to.1;
                    e.seq = seq;
                    e.client_id = None;
                    // A file goes with the conversation as a copy of the receiving site's own.
                    if let EventKind::Message { file, .. } = &mut e.kind
                        && let Some(f) = file.take()
                    {
                        *file = super::files::copy_upload_tx(txn, f.site, f.id, *to, seq)?.map(|u| u.file_ref());
                    }
                    events.insert((to.0.0, to.1.0, seq), encode(&e).as_slice())?;
                }
            }
            ChatWrite::Invitation(i) => {
                let mut t = txn.open_table(INVITATIONS)?;
                let old: Option<InvitationRecord> =
                    t.get((i.site.0, i.id.0))?.map(|v| decode(v.value())).transpose()?;
                stats.invitation(old.as_ref(), i);
                hooks.invitation(at, old.as_ref(), i);
                t.insert((i.site.0, i.id.0), encode(i).as_slice())?;
                max_invitation = max_invitation.max(i.id.0);
            }
            ChatWrite::Away { site, user, away } => {
                let mut t = txn.open_table(USERS)?;
                // A person deleted meanwhile has nothing to keep.
                let found: Option<User> = t.get((site.0, user.0))?.map(|v| decode(v.value())).transpose()?;
                if let Some(mut u) = found {
                    u.away = *away;
                    t.insert((site.0, user.0), encode(&u).as_slice())?;
                }
            }
        }
    }
    let mut meta = txn.open_table(super::tables::META)?;
    for (counter, max) in [("next_chat", max_chat), ("next_invitation", max_invitation)] {
        if max > 0 && max >= meta.get(counter)?.map(|v| v.value()).unwrap_or(1) {
            meta.insert(counter, max + 1)?;
        }
    }
    drop((chats, events, open, by_visitor, meta));
    if hooks_on {
        hooks.record(txn, writes)?;
    }
    stats.apply(txn)
}

/// Store `writes` and wait for the commit (tests of the modules that read them).
#[cfg(test)]
pub(crate) async fn write_for_test(store: &Store, writes: Vec<ChatWrite>) {
    let (tx, rx) = tokio::sync::oneshot::channel();
    store.write_chat_records(writes, move |r| drop(tx.send(r))).expect("submitted");
    rx.await.expect("answered").expect("stored");
}

/// The record with its true `last_seq`: the summary is not rewritten for every new event (one
/// write per message), so the events say how far the chat is.
fn with_last_seq(
    mut rec: ChatRecord,
    events: &impl ReadableTable<(u64, u64, u64), &'static [u8]>,
) -> Result<ChatRecord, StoreError> {
    let (site, chat) = (rec.site.0, rec.id.0);
    if let Some(last) = events.range((site, chat, 0)..=(site, chat, u64::MAX))?.next_back() {
        rec.last_seq = rec.last_seq.max(last?.0.value().2);
    }
    Ok(rec)
}

impl Store {
    /// A new visitor of `site`, known from now on by the token whose hash is given.
    pub async fn new_visitor(&self, site: SiteId, token_hash: [u8; 32], now: Millis) -> Result<VisitorId, StoreError> {
        self.write(move |txn| {
            let id = VisitorId(next_id(txn, "visitor")?);
            let rec = VisitorRecord { id, site, created_at: now };
            txn.open_table(VISITORS)?.insert((site.0, id.0), encode(&rec).as_slice())?;
            txn.open_table(VISITOR_TOKENS)?.insert(token_hash.as_slice(), (site.0, id.0))?;
            Ok(id)
        })
        .await
    }

    pub fn visitor_by_token(&self, token_hash: &[u8; 32]) -> Result<Option<(SiteId, VisitorId)>, StoreError> {
        self.read(|r| {
            Ok(r.open_table(VISITOR_TOKENS)?.get(token_hash.as_slice())?.map(|v| {
                let (s, id) = v.value();
                (SiteId(s), VisitorId(id))
            }))
        })
    }

    /// Store the switchboard's records in the next group commit, then call `then` with the
    /// result, in order with every other write.
    pub fn write_chat_records(
        &self,
        writes: Vec<ChatWrite>,
        then: impl FnOnce(Result<(), StoreError>) + Send + 'static,
    ) -> Result<(), StoreError> {
        let (mail, hooks) = (self.mail_enabled(), self.webhooks_exist());
        self.0.writer.submit_then(move |txn| write_records(txn, &writes, mail, hooks), then)
    }

    /// Run `f` once everything submitted before is committed (for answers that store nothing
    /// but must not overtake what was stored before them).
    pub fn after_pending_writes(&self, f: impl FnOnce() + Send + 'static) -> Result<(), StoreError> {
        self.0.writer.then(f)
    }

    /// Every chat not ended, with the client keys of its stored messages, and the next chat id:
    /// what the switchboard needs after a start.
    #[allow(clippy::type_complexity)]
    pub fn open_chats(&self) -> Result<(Vec<RestoredChat>, u64), StoreError> {
        self.read(|r| {
            let open = r.open_table(OPEN_CHATS)?;
            let chats = r.open_table(CHATS)?;
            let events = r.open_table(CHAT_EVENTS)?;
            let mut out = Vec::new();
            for entry in open.iter()? {
                let (site, chat) = entry?.0.value();
                let Some(v) = chats.get((site, chat))? else { continue };
                let mut rec: ChatRecord = decode(v.value())?;
                let mut ids = Vec::new();
                let mut owner_replied = false;
                let mut conversation = 0;
                let mut open_offer = None;
                for e in events.range((site, chat, 0)..=(site, chat, u64::MAX))? {
                    let ev: ChatEvent = decode(e?.1.value())?;
                    // The summary is not rewritten for every event: the events hold the last seq.
                    rec.last_seq = rec.last_seq.max(ev.seq);
                    conversation += u64::from(ev.kind.is_conversation());
                    OpenOffer::follow(&mut open_offer, &ev.kind);
                    if let Some(key) = event_client_key(&ev, rec.visitor) {
                        ids.push((key, ev.seq));
                    }
                    match &ev.kind {
                        EventKind::Assigned { .. } => owner_replied = false,
                        EventKind::Message { author: Author::Agent { agent, .. }, .. } => {
                            owner_replied |= Some(*agent) == rec.agent()
                        }
                        _ => {}
                    }
                }
                out.push(RestoredChat { record: rec, client_ids: ids, owner_replied, conversation, open_offer });
            }
            let next = r.open_table(super::tables::META)?.get("next_chat")?.map(|v| v.value()).unwrap_or(1);
            Ok((out, next))
        })
    }

    /// The first invitation id not used yet.
    pub fn next_invitation(&self) -> Result<u64, StoreError> {
        self.read(|r| Ok(r.open_table(super::tables::META)?.get("next_invitation")?.map(|v| v.value()).unwrap_or(1)))
    }

    /// Store a message left, and (when mail is on) its mail to the site's people, together.
    pub async fn leave_message(&self, mut msg: LeftMessage) -> Result<LeftMessage, StoreError> {
        let mail = self.mail_enabled();
        self.write(move |txn| {
            msg.id = next_id(txn, "left_message")?;
            txn.open_table(LEFT_MESSAGES)?.insert((msg.site.0, msg.id), encode(&msg).as_slice())?;
            if mail {
                let kind = MailKind::LeftMessage { site: msg.site, message: msg.id, visitor: msg.visitor };
                super::mail::enqueue(txn, kind, msg.at)?;
            }
            super::webhooks::record_hook(txn, &crate::domain::webhooks::left_message_hook(&msg))?;
            Ok(msg)
        })
        .await
    }
}

impl SiteStore {
    pub fn chat(&self, chat: ChatId) -> Result<ChatRecord, StoreError> {
        let site = self.id();
        self.store().read(|r| {
            let t = r.open_table(CHATS)?;
            let v = t.get((site.0, chat.0))?.ok_or(StoreError::NotFound)?;
            with_last_seq(decode(v.value())?, &r.open_table(CHAT_EVENTS)?)
        })
    }

    /// Events of a chat with seq > `after`, oldest first, at most `limit`.
    pub fn chat_events(&self, chat: ChatId, after: u64, limit: usize) -> Result<Vec<ChatEvent>, StoreError> {
        let site = self.id();
        self.store().read(|r| {
            let t = r.open_table(CHAT_EVENTS)?;
            let start = after.saturating_add(1);
            t.range((site.0, chat.0, start)..=(site.0, chat.0, u64::MAX))?
                .take(limit)
                .map(|e| decode(e?.1.value()))
                .collect()
        })
    }

    /// The `limit` events before seq `before`, oldest first (for history loaded on scroll).
    pub fn chat_events_before(&self, chat: ChatId, before: u64, limit: usize) -> Result<Vec<ChatEvent>, StoreError> {
        let site = self.id();
        self.store().read(|r| {
            let t = r.open_table(CHAT_EVENTS)?;
            let mut v: Vec<ChatEvent> = t
                .range((site.0, chat.0, 0)..(site.0, chat.0, before))?
                .rev()
                .take(limit)
                .map(|e| decode(e?.1.value()))
                .collect::<Result<_, _>>()?;
            v.reverse();
            Ok(v)
        })
    }

    /// The visitor's chats in this site, newest first, at most `limit`.
    pub fn visitor_chats(&self, visitor: VisitorId, limit: usize) -> Result<Vec<ChatRecord>, StoreError> {
        let site = self.id();
        self.store().read(|r| {
            let index = r.open_table(VISITOR_CHATS)?;
            let chats = r.open_table(CHATS)?;
            let events = r.open_table(CHAT_EVENTS)?;
            let mut out = Vec::new();
            for e in index.range((site.0, visitor.0, 0)..=(site.0, visitor.0, u64::MAX))?.rev().take(limit) {
                let (_, _, chat) = e?.0.value();
                if let Some(v) = chats.get((site.0, chat))? {
                    out.push(with_last_seq(decode(v.value())?, &events)?);
                }
            }
            Ok(out)
        })
    }

    /// The site's invitations and alerts, oldest first.
    pub fn invitations(&self) -> Result<Vec<InvitationRecord>, StoreError> {
        let site = self.id();
        self.store().read(|r| {
            let t = r.open_table(INVITATIONS)?;
            t.range((site.0, 0)..=(site.0, u64::MAX))?.map(|e| decode(e?.1.value())).collect()
        })
    }

    /// Mark a message left handled (`by`: who) or back to unhandled (`by`: `None`).
    pub async fn set_message_handled(
        &self,
        id: u64,
        by: Option<String>,
        now: Millis,
    ) -> Result<LeftMessage, StoreError> {
        let site = self.id();
        self.store()
            .write(move |txn| {
                let mut t = txn.open_table(LEFT_MESSAGES)?;
                let mut m: LeftMessage = decode(t.get((site.0, id))?.ok_or(StoreError::NotFound)?.value())?;
                match by {
                    Some(by) if m.handled_at.is_none() => {
                        m.handled_at = Some(now);
                        m.handled_by = by;
                    }
                    Some(_) => {}
                    None => {
                        m.handled_at = None;
                        m.handled_by.clear();
                    }
                }
                t.insert((site.0, id), encode(&m).as_slice())?;
                Ok(m)
            })
            .await
    }

    pub fn left_messages(&self) -> Result<Vec<LeftMessage>, StoreError> {
        let site = self.id();
        self.store().read(|r| {
            let t = r.open_table(LEFT_MESSAGES)?;
            t.range((site.0, 0)..=(site.0, u64::MAX))?.map(|e| decode(e?.1.value())).collect()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::chat::VisitorInfo;
    use crate::domain::ids::{CampaignId, InvitationId, UserId};
    use crate::domain::proactive::{InvitationMode, InvitationOutcome};

    fn invitation(site: SiteId, id: u64, visitor: VisitorId, chat: Option<ChatId>) -> InvitationRecord {
        InvitationRecord {
            id: InvitationId(id),
            site,
            campaign: CampaignId(1),
            visitor,
            mode: InvitationMode::Manual,
            agent: Some(UserId(3)),
            text: "Need help?".into(),
            page_url: "https://shop.example/".into(),
            sent_at: 10,
            outcome: InvitationOutcome::Accepted,
            answered_at: Some(20),
            chat,
        }
    }

    use crate::store::write_for_test as write;

    #[tokio::test]
    async fn open_chats_come_back_with_their_ids_last_seq_and_whether_their_agent_replied() {
        use crate::domain::chat::{Author, EventKind};
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("open");
        let site = store.create_site("Alpha".into(), 1).await.expect("site").id;
        let ev =
            |chat, seq, kind| ChatEvent { chat: ChatId(chat), seq, at: seq, client_id: Some(format!("m{seq}")), kind };
        let agent_says = |agent: u64| EventKind::Message {
            file: None,
            author: Author::Agent { agent: UserId(agent), name: "A".into() },
            text: "Hello".into(),
        };
        let assigned = |agent: u64| EventKind::Assigned { agent: UserId(agent), name: "A".into() };
        let mut one = ChatRecord::queued(ChatId(1), site, CampaignId(1), VisitorId(5), None, VisitorInfo::default(), 1);
        one.state = crate::domain::chat::ChatState::Active(UserId(3));
        let mut two = one.clone();
        two.id = ChatId(2);
        two.state = crate::domain::chat::ChatState::Active(UserId(4));
        write(
            &store,
            vec![
                ChatWrite::Chat(one),
                ChatWrite::Event(site, ev(1, 1, assigned(3))),
                ChatWrite::Event(site, ev(1, 2, agent_says(3))),
                ChatWrite::Chat(two),
                // Agent 3 wrote, then the chat went to agent 4, who has not written yet.
                ChatWrite::Event(site, ev(2, 1, assigned(3))),
                ChatWrite::Event(site, ev(2, 2, agent_says(3))),
                ChatWrite::Event(site, ev(2, 3, assigned(4))),
            ],
        )
        .await;
        let (open, next) = store.open_chats().expect("open chats");
        assert_eq!(next, 3);
        let by_id = |id: u64| open.iter().find(|c| c.record.id == ChatId(id)).expect("restored");
        assert!(by_id(1).owner_replied);
        assert!(!by_id(2).owner_replied);
        assert_eq!(by_id(2).record.last_seq, 3, "the last seq comes from the events");
        assert_eq!(by_id(1).client_ids, [("a3:m2".to_string(), 2)]);
    }

    #[tokio::test]
    async fn a_visitors_chats_and_invitations_are_kept_by_site_and_go_with_the_site() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("open");
        let a = store.create_site("Alpha".into(), 1).await.expect("site").id;
        let b = store.create_site("Beta".into(), 1).await.expect("site").id;
        let vera = VisitorId(5);
        let chat =
            |site, id| ChatRecord::queued(ChatId(id), site, CampaignId(1), vera, None, VisitorInfo::default(), id);
        write(
            &store,
            vec![
                ChatWrite::Chat(chat(a, 1)),
                ChatWrite::Chat(chat(a, 2)),
                ChatWrite::Chat(chat(b, 3)),
                ChatWrite::Invitation(invitation(a, 1, vera, Some(ChatId(2)))),
                ChatWrite::Invitation(invitation(b, 2, vera, None)),
            ],
        )
        .await;
        let ids =
            |site| store.site(site).visitor_chats(vera, 20).expect("chats").iter().map(|c| c.id.0).collect::<Vec<_>>();
        assert_eq!(ids(a), [2, 1], "newest first, this site only");
        assert_eq!(ids(b), [3]);
        assert_eq!(store.site(a).visitor_chats(vera, 1).expect("chats").len(), 1);
        assert_eq!(store.site(a).invitations().expect("invitations"), [invitation(a, 1, vera, Some(ChatId(2)))]);
        assert_eq!(store.next_invitation().expect("counter"), 3);

        store.delete_site(a).await.expect("deleted");
        assert!(store.site(a).visitor_chats(vera, 20).expect("chats").is_empty());
        assert!(store.site(a).invitations().expect("invitations").is_empty());
        assert_eq!(ids(b), [3], "the other site keeps its own");
    }
}
