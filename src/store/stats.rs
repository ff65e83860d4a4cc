//! Statistics aggregates, kept up to date as chats end and invitations settle: the pure rules
//! of `domain::stats` turn a chat's record and events into facts, which are added to cells by
//! (site, dimension, UTC quarter-hour) and by (site, dimension, UTC day) in the same
//! transaction that stores the chat. A report reads cells, never chats: a range of whole days
//! costs one cell a day, and its ragged ends (a time zone's day starts at any quarter-hour)
//! come from quarter-hour cells. A report by day in a zone reads, for each of its days, the
//! UTC day cell it overlaps most, adds the quarter-hours of the next UTC day it covers and
//! takes out those of the day cell it does not (`Figures::subtract`): a few quarter-hours a
//! day instead of 96.
//!
//! Cells are encoded as a version byte and postcard (compact, fast to read back in bulk). The
//! same pass indexes the transcript of a chat that ends (`search.rs`).

use super::codec::decode;
use super::tables::{CHAT_EVENTS, CHAT_TERMS, CHATS, STATS_DAYS, STATS_QUARTERS};
use super::{SiteStore, StoreError};
use crate::domain::Millis;
use crate::domain::chat::{ChatEvent, ChatRecord};
use crate::domain::ids::{CampaignId, DepartmentId, UserId};
use crate::domain::proactive::{InvitationMode, InvitationOutcome, InvitationRecord};
use crate::domain::stats::{Bucket, Bucketing, Dim, Figures, Granularity, Totals, chat_facts, invitation_facts};
use redb::{ReadableTable, TableDefinition, WriteTransaction};
use std::collections::BTreeMap;

const CELL_V1: u8 = 1;
const DAY_MS: i64 = 86_400_000;

type Cells = TableDefinition<'static, (u64, u8, u64, i64), &'static [u8]>;

/// The sum of one dimension's cells starting in [from, to) of an open table.
fn sum_cells(
    t: &impl ReadableTable<(u64, u8, u64, i64), &'static [u8]>,
    (site, kind, id): (u64, u8, u64),
    from: i64,
    to: i64,
) -> Result<Figures, StoreError> {
    let mut sum = Figures::default();
    if from < to {
        for e in t.range((site, kind, id, from)..(site, kind, id, to))? {
            sum.merge(&decode_cell(e?.1.value())?);
        }
    }
    Ok(sum)
}

fn dim_key(d: Dim) -> (u8, u64) {
    match d {
        Dim::Site => (0, 0),
        Dim::Campaign(c) => (1, c.0),
        Dim::Department(d) => (2, d.map(|d| d.0).unwrap_or(0)),
        Dim::Agent(a) => (3, a.0),
    }
}

fn dim_of(kind: u8, id: u64) -> Option<Dim> {
    Some(match kind {
        0 => Dim::Site,
        1 => Dim::Campaign(CampaignId(id)),
        2 => Dim::Department((id != 0).then_some(DepartmentId(id))),
        3 => Dim::Agent(UserId(id)),
        _ => return None,
    })
}

fn encode_cell(f: &Figures) -> Vec<u8> {
    let mut out = vec![CELL_V1];
    // Plain data into a Vec: cannot fail.
    out.extend(postcard::to_allocvec(f).expect("figures serialize"));
    out
}

fn decode_cell(bytes: &[u8]) -> Result<Figures, StoreError> {
    match bytes.split_first() {
        Some((&CELL_V1, rest)) => postcard::from_bytes(rest).map_err(|e| StoreError::Corrupt(e.to_string())),
        _ => Err(StoreError::Corrupt("unknown statistics cell encoding".into())),
    }
}

/// What a batch of chat records adds to the statistics: chats that ended (their facts from
/// the start, `since` = 0) or ended chats that got later events, e.g. a survey (`since` = the
/// last seq counted before).
#[derive(Default)]
pub(super) struct Pending {
    chats: BTreeMap<(u64, u64), u64>,
    invitations: Vec<InvitationRecord>,
}

impl Pending {
    /// A chat record is about to be stored over `old` (if any).
    pub(super) fn chat(&mut self, old: Option<&ChatRecord>, new: &ChatRecord) {
        use crate::domain::chat::ChatStatus::Ended;
        if new.status() != Ended {
            return;
        }
        let since = match old {
            Some(o) if o.status() == Ended => {
                if new.last_seq <= o.last_seq {
                    return;
                }
                o.last_seq
            }
            _ => 0,
        };
        let e = self.chats.entry((new.site.0, new.id.0)).or_insert(since);
        *e = (*e).min(since);
    }

    /// An invitation record is about to be stored over `old`: it counts once settled, and its
    /// chat once linked.
    pub(super) fn invitation(&mut self, old: Option<&InvitationRecord>, new: &InvitationRecord) {
        let was_settled = old.is_some_and(|o| o.outcome != InvitationOutcome::Pending);
        if new.outcome == InvitationOutcome::Pending {
            return;
        }
        if !was_settled {
            self.invitations.push(new.clone());
        } else if old.is_some_and(|o| o.chat.is_none()) && new.chat.is_some() {
            // Settled before, counted then without its chat: count the chat now.
            self.invitations.push(InvitationRecord { outcome: InvitationOutcome::Pending, ..new.clone() });
        }
    }

    /// Add what is pending to the cells (call with no other table handle of this txn open).
    pub(super) fn apply(self, txn: &WriteTransaction) -> Result<(), StoreError> {
        if self.chats.is_empty() && self.invitations.is_empty() {
            return Ok(());
        }
        let mut quarters = Totals::new(Bucketing::STORED);
        let mut days = Totals::new(Bucketing::new(0, Granularity::Day));
        {
            let chats = txn.open_table(CHATS)?;
            let events = txn.open_table(CHAT_EVENTS)?;
            let mut index = txn.open_table(CHAT_TERMS)?;
            for ((site, chat), since) in self.chats {
                let Some(rec) = chats.get((site, chat))? else { continue };
                let rec: ChatRecord = decode(rec.value())?;
                let evs = events
                    .range((site, chat, 0)..=(site, chat, u64::MAX))?
                    .map(|e| decode(e?.1.value()))
                    .collect::<Result<Vec<ChatEvent>, _>>()?;
                if since == 0 {
                    // The chat just ended: its transcript becomes searchable.
                    super::search::index_chat(&mut index, &rec, &evs)?;
                }
                let facts = chat_facts(&rec, &evs).since(since);
                quarters.add_chat(&facts);
                days.add_chat(&facts);
            }
        }
        for inv in &self.invitations {
            let mut f = invitation_facts(inv);
            if inv.outcome == InvitationOutcome::Pending {
                // Only the chat it led to (see `invitation`): not sent a second time.
                let mut cell = Figures::default();
                let counts = match inv.mode {
                    InvitationMode::Auto => &mut cell.invitations_auto,
                    InvitationMode::Manual => &mut cell.invitations_manual,
                    InvitationMode::Alert => &mut cell.alerts,
                };
                counts.chats = 1;
                for t in [&mut quarters, &mut days] {
                    let bucket = t.bucketing.bucket(inv.sent_at);
                    let mut dims = vec![Dim::Site, Dim::Campaign(inv.campaign)];
                    dims.extend(inv.agent.map(Dim::Agent));
                    for dim in dims {
                        let key = crate::domain::stats::Key { site: inv.site, dim, bucket };
                        t.cells.entry(key).or_default().merge(&cell);
                    }
                }
                continue;
            }
            f.chat = inv.chat;
            quarters.add_invitation(&f);
            days.add_invitation(&f);
        }
        add_cells(txn, STATS_QUARTERS, &quarters)?;
        add_cells(txn, STATS_DAYS, &days)
    }
}

fn add_cells(txn: &WriteTransaction, table: Cells, totals: &Totals) -> Result<(), StoreError> {
    let mut t = txn.open_table(table)?;
    for (k, f) in &totals.cells {
        let (kind, id) = dim_key(k.dim);
        let key = (k.site.0, kind, id, k.bucket.0);
        let mut cell = match t.get(key)? {
            Some(v) => decode_cell(v.value())?,
            None => Figures::default(),
        };
        cell.merge(f);
        t.insert(key, encode_cell(&cell).as_slice())?;
    }
    Ok(())
}

/// Add every ended chat and settled invitation of a store that had no statistics yet (the
/// upgrade to schema version 3).
pub(super) fn backfill(txn: &WriteTransaction) -> Result<(), StoreError> {
    let mut pending = Pending::default();
    {
        let chats = txn.open_table(CHATS)?;
        for e in chats.iter()? {
            let rec: ChatRecord = decode(e?.1.value())?;
            pending.chat(None, &rec);
        }
    }
    pending.apply(txn)
}

/// The day boundaries (UTC) inside [from, to): whole days between them read day cells.
fn whole_days(from: i64, to: i64) -> Option<(i64, i64)> {
    zone_days(from, to, 0)
}

/// The first and last local midnight (as UTC instants) inside [from, to) of the zone
/// `offset_ms` east of UTC, when they differ.
fn zone_days(from: i64, to: i64, offset_ms: i64) -> Option<(i64, i64)> {
    let first = (from + offset_ms).div_euclid(DAY_MS) * DAY_MS
        + if (from + offset_ms).rem_euclid(DAY_MS) == 0 { 0 } else { DAY_MS }
        - offset_ms;
    let last = (to + offset_ms).div_euclid(DAY_MS) * DAY_MS - offset_ms;
    (first < last).then_some((first, last))
}

impl SiteStore {
    fn cells(
        &self,
        table: Cells,
        dim: Dim,
        from: i64,
        to: i64,
        mut each: impl FnMut(i64, Figures),
    ) -> Result<(), StoreError> {
        if from >= to {
            return Ok(());
        }
        let site = self.id().0;
        let (kind, id) = dim_key(dim);
        self.store().read(|r| {
            let t = r.open_table(table)?;
            for e in t.range((site, kind, id, from)..(site, kind, id, to))? {
                let (k, v) = e?;
                each(k.value().3, decode_cell(v.value())?);
            }
            Ok(())
        })
    }

    /// One dimension's figures in the buckets of `bucketing` that start in [from, to) (give
    /// bucket starts), oldest first, with empty buckets left out.
    pub fn stats_series(
        &self,
        dim: Dim,
        from: Millis,
        to: Millis,
        bucketing: Bucketing,
    ) -> Result<Vec<(Bucket, Figures)>, StoreError> {
        let (from, to) = (from as i64, to as i64);
        let mut out: BTreeMap<Bucket, Figures> = BTreeMap::new();
        let offset = i64::from(bucketing.offset_min) * 60_000;
        // A zone 12 hours off UTC gains nothing from day cells (48 + 48 quarter-hours a day).
        let days = zone_days(from, to, offset)
            .filter(|_| bucketing.granularity == Granularity::Day && (-offset).rem_euclid(DAY_MS) != DAY_MS / 2);
        let quarters = |from: i64, to: i64, out: &mut BTreeMap<Bucket, Figures>| {
            self.cells(STATS_QUARTERS, dim, from, to, |at, f| {
                out.entry(bucketing.bucket(at as u64)).or_default().merge(&f);
            })
        };
        match days {
            Some((first, last)) => {
                quarters(from, first, &mut out)?;
                self.zone_day_series(dim, first, last, bucketing, &mut out)?;
                quarters(last, to, &mut out)?;
            }
            None => quarters(from, to, &mut out)?,
        }
        Ok(out.into_iter().collect())
    }

    /// The days of a zone starting at `first`, `first` + 1 day, … before `last` (local
    /// midnights): each is the UTC day cell it overlaps most, plus the quarter-hours it covers
    /// of the UTC day next to it, less the quarter-hours of its day cell it does not cover.
    fn zone_day_series(
        &self,
        dim: Dim,
        first: i64,
        last: i64,
        bucketing: Bucketing,
        out: &mut BTreeMap<Bucket, Figures>,
    ) -> Result<(), StoreError> {
        let (kind, id) = dim_key(dim);
        let key = (self.id().0, kind, id);
        // How far into its UTC day a local day starts.
        let into = first.rem_euclid(DAY_MS);
        self.store().read(|r| {
            let days = r.open_table(STATS_DAYS)?;
            let quarters = r.open_table(STATS_QUARTERS)?;
            let mut start = first;
            while start < last {
                let (day, plus, minus) = if into <= DAY_MS / 2 {
                    // Starts late in UTC day `day`: ends in the next one.
                    let day = start - into;
                    (day, (day + DAY_MS, start + DAY_MS), (day, start))
                } else {
                    // Starts early, the evening before UTC day `day`.
                    let day = start + (DAY_MS - into);
                    (day, (start, day), (start + DAY_MS, day + DAY_MS))
                };
                let mut f = sum_cells(&days, key, day, day + 1)?;
                f.merge(&sum_cells(&quarters, key, plus.0, plus.1)?);
                f.subtract(&sum_cells(&quarters, key, minus.0, minus.1)?);
                if f != Figures::default() {
                    out.entry(bucketing.bucket(start as u64)).or_default().merge(&f);
                }
                start += DAY_MS;
            }
            Ok(())
        })
    }

    /// Each dimension's figures over [from, to): whole UTC days from day cells, the ends from
    /// quarter-hour cells.
    pub fn stats_totals(&self, dims: &[Dim], from: Millis, to: Millis) -> Result<Vec<(Dim, Figures)>, StoreError> {
        let (from, to) = (from as i64, to as i64);
        let mut out = Vec::with_capacity(dims.len());
        for dim in dims {
            let mut sum = Figures::default();
            let mut add = |_: i64, f: Figures| sum.merge(&f);
            match whole_days(from, to) {
                Some((first, last)) => {
                    self.cells(STATS_QUARTERS, *dim, from, first, &mut add)?;
                    self.cells(STATS_DAYS, *dim, first, last, &mut add)?;
                    self.cells(STATS_QUARTERS, *dim, last, to, &mut add)?;
                }
                None => self.cells(STATS_QUARTERS, *dim, from, to, &mut add)?,
            }
            out.push((*dim, sum));
        }
        Ok(out)
    }

    /// The dimensions of `kind` ("campaign", "department", "agent") that have figures in the
    /// site, from the day cells (a person or campaign deleted since still shows).
    pub fn stats_dims(&self, kind: &str) -> Result<Vec<Dim>, StoreError> {
        let k = match kind {
            "campaign" => 1,
            "department" => 2,
            "agent" => 3,
            _ => return Ok(vec![Dim::Site]),
        };
        let site = self.id().0;
        self.store().read(|r| {
            let t = r.open_table(STATS_DAYS)?;
            let mut dims = Vec::new();
            let mut next = (site, k, 0u64, i64::MIN);
            // Skip from dimension to dimension: one lookup per id, not one per cell.
            while let Some(e) = t.range(next..=(site, k, u64::MAX, i64::MAX))?.next() {
                let (_, _, id, _) = e?.0.value();
                dims.extend(dim_of(k, id));
                match id.checked_add(1) {
                    Some(n) => next = (site, k, n, i64::MIN),
                    None => break,
                }
            }
            Ok(dims)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_days_are_the_utc_days_inside_the_range() {
        let d = DAY_MS;
        assert_eq!(whole_days(0, 3 * d), Some((0, 3 * d)));
        assert_eq!(whole_days(d / 2, 3 * d + 5), Some((d, 3 * d)));
        assert_eq!(whole_days(d / 2, d + 5), None);
        assert_eq!(whole_days(-d / 2, d), Some((0, d)));
    }

    #[test]
    fn zone_days_are_the_local_midnights_inside_the_range() {
        let (d, h) = (DAY_MS, 3_600_000);
        // UTC+1: midnight is 23:00 UTC the day before.
        assert_eq!(zone_days(0, 3 * d, h), Some((d - h, 3 * d - h)));
        assert_eq!(zone_days(-h, 3 * d - h, h), Some((-h, 3 * d - h)));
        // UTC-5: midnight is 05:00 UTC.
        assert_eq!(zone_days(0, 3 * d, -5 * h), Some((5 * h, 2 * d + 5 * h)));
        assert_eq!(zone_days(0, d, -5 * h), None);
    }

    #[test]
    fn cells_read_back_what_was_written() {
        let mut f = Figures { chats: 3, ..Default::default() };
        f.queue_wait.record(1500);
        assert_eq!(decode_cell(&encode_cell(&f)).expect("decode"), f);
        assert!(decode_cell(&[9, 1, 2]).is_err());
        for d in [Dim::Site, Dim::Campaign(CampaignId(4)), Dim::Department(None), Dim::Agent(UserId(9))] {
            let (k, id) = dim_key(d);
            assert_eq!(dim_of(k, id), Some(d));
        }
    }

    use crate::domain::chat::{Author, ChatState, EndedBy, EventKind, Survey, VisitorInfo};
    use crate::domain::ids::{ChatId, InvitationId, VisitorId};
    use crate::store::{ChatWrite, Store};

    use crate::store::write_for_test as write;

    fn ev(chat: ChatId, seq: u64, at: u64, kind: EventKind) -> ChatEvent {
        ChatEvent { chat, seq, at, client_id: None, kind }
    }

    /// 2026-11-22 10:00 UTC.
    const T0: u64 = 1_795_341_600_000;

    #[tokio::test]
    async fn a_series_by_day_in_any_zone_from_day_cells_equals_the_sum_of_its_quarter_hours() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("open");
        let site = store.create_site("Alpha".into(), 1).await.expect("site").id;
        let day0 = T0 - T0 % DAY_MS as u64;
        // Chats every 97 minutes over four days, by two agents, with waits and some ratings.
        let mut writes = Vec::new();
        for n in 0..60u64 {
            let (id, at, agent) = (ChatId(n + 1), day0 + n * 97 * 60_000, UserId(3 + n % 2));
            let mut rec = ChatRecord::queued(id, site, CampaignId(1), VisitorId(n), None, VisitorInfo::default(), at);
            let name = "A".to_string();
            let says = EventKind::Message {
                file: None,
                author: Author::Agent { agent, name: name.clone() },
                text: "Hi".into(),
            };
            let mut events = vec![
                ev(id, 1, at, EventKind::Queued { department: None }),
                ev(id, 2, at + 1_000 * n, EventKind::Assigned { agent, name }),
                ev(id, 3, at + 1_000 * n + 4_000, says),
                ev(id, 4, at + 20 * 60_000, EventKind::Ended { by: EndedBy::Visitor }),
            ];
            if n % 3 == 0 {
                events.push(ev(
                    id,
                    5,
                    at + 21 * 60_000,
                    EventKind::Survey { rating: 1 + (n % 5) as u8, comment: "".into() },
                ));
                rec.survey = Some(Survey { rating: 1 + (n % 5) as u8, comment: String::new() });
            }
            rec.state = ChatState::Ended { at: at + 20 * 60_000, by: EndedBy::Visitor, agent: Some(agent) };
            rec.last_seq = events.len() as u64;
            writes.extend(events.into_iter().map(|e| ChatWrite::Event(site, e)));
            writes.push(ChatWrite::Chat(rec));
        }
        write(&store, writes).await;
        let s = store.site(site);
        for offset in [-720, -570, -300, -60, 0, 60, 330, 345, 525, 720, 840] {
            let zone = Bucketing::new(offset, Granularity::Day);
            // Four local days, from the local midnight after `day0`.
            let from = (day0 as i64 + DAY_MS - i64::from(offset) * 60_000) as u64;
            let (from, to) = (from - DAY_MS as u64, from + 3 * DAY_MS as u64);
            for dim in [Dim::Site, Dim::Agent(UserId(3)), Dim::Department(None)] {
                let mut expected: BTreeMap<Bucket, Figures> = BTreeMap::new();
                s.cells(STATS_QUARTERS, dim, from as i64, to as i64, |at, f| {
                    expected.entry(zone.bucket(at as u64)).or_default().merge(&f);
                })
                .expect("quarters");
                let series = s.stats_series(dim, from, to, zone).expect("series");
                assert_eq!(series, expected.into_iter().collect::<Vec<_>>(), "offset {offset}, {dim:?}");
                assert_eq!(series.len(), 4, "offset {offset}");
            }
        }
    }

    #[tokio::test]
    async fn an_ended_chat_and_its_later_survey_are_added_once_to_the_cells_of_its_site() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("open");
        let site = store.create_site("Alpha".into(), 1).await.expect("site").id;
        let other = store.create_site("Beta".into(), 1).await.expect("site").id;
        let ada = UserId(3);
        let id = ChatId(1);
        let mut rec = ChatRecord::queued(id, site, CampaignId(1), VisitorId(5), None, VisitorInfo::default(), T0);
        let events = [
            ev(id, 1, T0, EventKind::Queued { department: None }),
            ev(id, 2, T0 + 1_000, EventKind::Assigned { agent: ada, name: "Ada".into() }),
            ev(
                id,
                3,
                T0 + 4_000,
                EventKind::Message {
                    file: None,
                    author: Author::Agent { agent: ada, name: "Ada".into() },
                    text: "Hi".into(),
                },
            ),
            ev(id, 4, T0 + 60_000, EventKind::Ended { by: EndedBy::Visitor }),
        ];
        // Open: nothing counted yet.
        rec.state = ChatState::Active(ada);
        rec.last_seq = 3;
        let mut writes: Vec<ChatWrite> = events[..3].iter().map(|e| ChatWrite::Event(site, e.clone())).collect();
        writes.push(ChatWrite::Chat(rec.clone()));
        write(&store, writes).await;
        let s = store.site(site);
        let day = (T0 - T0 % 86_400_000, T0 - T0 % 86_400_000 + 86_400_000);
        let totals = |dim| s.stats_totals(&[dim], day.0, day.1).expect("totals")[0].1.clone();
        assert_eq!(totals(Dim::Site).chats, 0);

        rec.state = ChatState::Ended { at: T0 + 60_000, by: EndedBy::Visitor, agent: Some(ada) };
        rec.last_seq = 4;
        write(&store, vec![ChatWrite::Event(site, events[3].clone()), ChatWrite::Chat(rec.clone())]).await;
        let ada_day = totals(Dim::Agent(ada));
        assert_eq!((ada_day.answered, ada_day.last_contacts), (1, 1));
        assert_eq!(totals(Dim::Site).chats, 1);
        // Within the histogram's 3.125 %.
        assert!(
            ada_day.first_response.median().is_some_and(|m| m.abs_diff(3_000) <= 94),
            "{:?}",
            ada_day.first_response
        );

        // The survey arrives later: only the rating is added.
        rec.survey = Some(Survey { rating: 4, comment: String::new() });
        rec.last_seq = 5;
        let survey = ev(id, 5, T0 + 70_000, EventKind::Survey { rating: 4, comment: String::new() });
        write(&store, vec![ChatWrite::Event(site, survey), ChatWrite::Chat(rec.clone())]).await;
        let ada_day = totals(Dim::Agent(ada));
        assert_eq!((ada_day.answered, ada_day.ratings), (1, [0, 0, 0, 1, 0]));
        assert_eq!(totals(Dim::Site).chats, 1, "not counted twice");

        // By hour in a zone: the chat is in its local hour (UTC+1: 11:00).
        let series = s.stats_series(Dim::Site, day.0, day.1, Bucketing::new(60, Granularity::Hour)).expect("series");
        assert_eq!(series.len(), 1);
        assert_eq!(Bucketing::new(60, Granularity::Hour).label(series[0].0), "2026-11-22 11:00");
        assert_eq!(s.stats_dims("agent").expect("dims"), [Dim::Agent(ada)]);
        assert!(store.site(other).stats_dims("agent").expect("dims").is_empty(), "one site's cells only");

        // An invitation counts once settled, and its chat when linked.
        let mut inv = InvitationRecord {
            id: InvitationId(1),
            site,
            campaign: CampaignId(1),
            visitor: VisitorId(5),
            mode: InvitationMode::Auto,
            agent: None,
            text: "Hi?".into(),
            page_url: String::new(),
            sent_at: T0,
            outcome: InvitationOutcome::Pending,
            answered_at: None,
            chat: None,
        };
        write(&store, vec![ChatWrite::Invitation(inv.clone())]).await;
        assert_eq!(totals(Dim::Site).invitations_auto.sent, 0);
        inv.outcome = InvitationOutcome::Accepted;
        inv.answered_at = Some(T0 + 5_000);
        write(&store, vec![ChatWrite::Invitation(inv.clone())]).await;
        inv.chat = Some(ChatId(2));
        write(&store, vec![ChatWrite::Invitation(inv.clone())]).await;
        let counts = totals(Dim::Site).invitations_auto;
        assert_eq!((counts.sent, counts.accepted, counts.chats), (1, 1, 1));
    }
}
