//! Aggregates: the figures of one (site, dimension, bucket) cell, and the cells of a report.
//! Cells only add up (counters and histograms), so per-chat facts can be added as chats settle
//! and stored cells merged into any report's zone and granularity. Who each fact is credited
//! to: `docs/statistics.md`.

use super::super::chat::{EndedBy, TransferKind};
use super::super::ids::{CampaignId, DepartmentId, SiteId, UserId};
use super::super::proactive::{InvitationMode, InvitationOutcome};
use super::bucket::{Bucket, Bucketing};
use super::facts::*;
use super::histogram::Histogram;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What a cell is about, within a site.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(tag = "dim", content = "id", rename_all = "snake_case")]
pub enum Dim {
    Site,
    Campaign(CampaignId),
    /// `None`: the site's "any agent" queue.
    Department(Option<DepartmentId>),
    Agent(UserId),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Key {
    pub site: SiteId,
    pub dim: Dim,
    pub bucket: Bucket,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndCounts {
    pub visitor: u64,
    pub agent: u64,
    pub no_agent: u64,
    pub transfer: u64,
}

impl EndCounts {
    fn count(&mut self, by: EndedBy) {
        *match by {
            EndedBy::Visitor => &mut self.visitor,
            EndedBy::Agent => &mut self.agent,
            EndedBy::NoAgent => &mut self.no_agent,
            EndedBy::Transfer => &mut self.transfer,
        } += 1;
    }

    fn merge(&mut self, o: &EndCounts) {
        self.visitor += o.visitor;
        self.agent += o.agent;
        self.no_agent += o.no_agent;
        self.transfer += o.transfer;
    }

    fn subtract(&mut self, part: &EndCounts) {
        let EndCounts { visitor, agent, no_agent, transfer } = part;
        self.visitor = self.visitor.saturating_sub(*visitor);
        self.agent = self.agent.saturating_sub(*agent);
        self.no_agent = self.no_agent.saturating_sub(*no_agent);
        self.transfer = self.transfer.saturating_sub(*transfer);
    }
}

const KINDS: [TransferKind; 6] = [
    TransferKind::Cold,
    TransferKind::Warm,
    TransferKind::Queue,
    TransferKind::Broadcast,
    TransferKind::Unavailable,
    TransferKind::CrossSite,
];

fn kind_index(k: TransferKind) -> usize {
    KINDS.iter().position(|x| *x == k).unwrap_or(0)
}

/// Transfers by kind and resolution, with the time to accept by kind.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransferTable {
    /// `[kind][resolution]`, in the order of `KINDS` and `Resolution::ALL`.
    pub counts: [[u64; 5]; 6],
    pub accept: [Histogram; 6],
}

impl TransferTable {
    pub fn count(&self, kind: TransferKind, r: Resolution) -> u64 {
        self.counts[kind_index(kind)][r as usize]
    }

    pub fn total(&self) -> u64 {
        self.counts.iter().flatten().sum()
    }

    pub fn accept_time(&self, kind: TransferKind) -> &Histogram {
        &self.accept[kind_index(kind)]
    }

    fn add(&mut self, t: &Transfer) {
        let k = kind_index(t.kind);
        self.counts[k][t.resolution as usize] += 1;
        if let Some(ms) = t.accept_ms {
            self.accept[k].record(ms);
        }
    }

    fn merge(&mut self, o: &TransferTable) {
        for (row, orow) in self.counts.iter_mut().zip(&o.counts) {
            row.iter_mut().zip(orow).for_each(|(a, b)| *a += b);
        }
        self.accept.iter_mut().zip(&o.accept).for_each(|(a, b)| a.merge(b));
    }

    fn subtract(&mut self, part: &TransferTable) {
        let TransferTable { counts, accept } = part;
        for (row, orow) in self.counts.iter_mut().zip(counts) {
            row.iter_mut().zip(orow).for_each(|(a, b)| *a = a.saturating_sub(*b));
        }
        self.accept.iter_mut().zip(accept).for_each(|(a, b)| a.subtract(b));
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvitationCounts {
    pub sent: u64,
    pub accepted: u64,
    pub refused: u64,
    pub ignored: u64,
    /// Chats they led to.
    pub chats: u64,
}

impl InvitationCounts {
    fn merge(&mut self, o: &InvitationCounts) {
        self.sent += o.sent;
        self.accepted += o.accepted;
        self.refused += o.refused;
        self.ignored += o.ignored;
        self.chats += o.chats;
    }

    fn subtract(&mut self, part: &InvitationCounts) {
        let InvitationCounts { sent, accepted, refused, ignored, chats } = part;
        self.sent = self.sent.saturating_sub(*sent);
        self.accepted = self.accepted.saturating_sub(*accepted);
        self.refused = self.refused.saturating_sub(*refused);
        self.ignored = self.ignored.saturating_sub(*ignored);
        self.chats = self.chats.saturating_sub(*chats);
    }
}

/// The figures of one cell. Which fields a dimension fills: `docs/statistics.md`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Figures {
    // Chats (site, campaign, department).
    pub chats: u64,
    pub chats_answered: u64,
    pub chats_missed: u64,
    /// Chats by who ended them; for an agent, the chats that ended while theirs.
    pub ended: EndCounts,
    /// Chat start to the first agent message.
    pub chat_first_response: Histogram,
    // Contacts (agent; summed for department, campaign, site).
    pub offered: u64,
    pub accepted: u64,
    pub answered: u64,
    pub unanswered: u64,
    /// Assignment to the agent's first message, per answered contact.
    pub first_response: Histogram,
    /// Assignment to the chat leaving the agent, per contact.
    pub handle_time: Histogram,
    /// Chats whose last contact this is (for an agent: the chats credited to them).
    pub last_contacts: u64,
    // Waits without an agent (department, campaign, site).
    pub waits: u64,
    pub waits_taken: u64,
    pub abandoned_by_visitor: u64,
    pub abandoned_no_agent: u64,
    /// Entering the wait to an agent taking the chat.
    pub queue_wait: Histogram,
    pub transfers_out: TransferTable,
    pub transfers_in: TransferTable,
    /// Ratings 1 to 5: `ratings[r - 1]`.
    pub ratings: [u64; 5],
    pub invitations_auto: InvitationCounts,
    pub invitations_manual: InvitationCounts,
    pub alerts: InvitationCounts,
}

impl Figures {
    pub fn abandoned(&self) -> u64 {
        self.abandoned_by_visitor + self.abandoned_no_agent
    }

    pub fn rating_count(&self) -> u64 {
        self.ratings.iter().sum()
    }

    /// The mean rating times 100 (`None` without ratings).
    pub fn rating_mean_x100(&self) -> Option<u64> {
        let sum: u64 = self.ratings.iter().zip(1..).map(|(n, r)| n * r).sum();
        (sum * 100).checked_div(self.rating_count())
    }

    pub fn merge(&mut self, o: &Figures) {
        self.chats += o.chats;
        self.chats_answered += o.chats_answered;
        self.chats_missed += o.chats_missed;
        self.ended.merge(&o.ended);
        self.chat_first_response.merge(&o.chat_first_response);
        self.offered += o.offered;
        self.accepted += o.accepted;
        self.answered += o.answered;
        self.unanswered += o.unanswered;
        self.first_response.merge(&o.first_response);
        self.handle_time.merge(&o.handle_time);
        self.last_contacts += o.last_contacts;
        self.waits += o.waits;
        self.waits_taken += o.waits_taken;
        self.abandoned_by_visitor += o.abandoned_by_visitor;
        self.abandoned_no_agent += o.abandoned_no_agent;
        self.queue_wait.merge(&o.queue_wait);
        self.transfers_out.merge(&o.transfers_out);
        self.transfers_in.merge(&o.transfers_in);
        self.ratings.iter_mut().zip(&o.ratings).for_each(|(a, b)| *a += b);
        self.invitations_auto.merge(&o.invitations_auto);
        self.invitations_manual.merge(&o.invitations_manual);
        self.alerts.merge(&o.alerts);
    }

    /// Take out `part`, a cell merged into this one: a day cell less the quarter-hours of it
    /// that a report's day leaves out, so that a day in a time zone is one day cell and a few
    /// quarter-hours instead of 96 of them. Exact, as cells are counters and histograms. Every
    /// field is named (no `..`), so a new field does not compile until it is handled here.
    pub fn subtract(&mut self, part: &Figures) {
        let Figures {
            chats,
            chats_answered,
            chats_missed,
            ended,
            chat_first_response,
            offered,
            accepted,
            answered,
            unanswered,
            first_response,
            handle_time,
            last_contacts,
            waits,
            waits_taken,
            abandoned_by_visitor,
            abandoned_no_agent,
            queue_wait,
            transfers_out,
            transfers_in,
            ratings,
            invitations_auto,
            invitations_manual,
            alerts,
        } = part;
        for (mine, theirs) in [
            (&mut self.chats, chats),
            (&mut self.chats_answered, chats_answered),
            (&mut self.chats_missed, chats_missed),
            (&mut self.offered, offered),
            (&mut self.accepted, accepted),
            (&mut self.answered, answered),
            (&mut self.unanswered, unanswered),
            (&mut self.last_contacts, last_contacts),
            (&mut self.waits, waits),
            (&mut self.waits_taken, waits_taken),
            (&mut self.abandoned_by_visitor, abandoned_by_visitor),
            (&mut self.abandoned_no_agent, abandoned_no_agent),
        ] {
            *mine = mine.saturating_sub(*theirs);
        }
        self.ended.subtract(ended);
        self.chat_first_response.subtract(chat_first_response);
        self.first_response.subtract(first_response);
        self.handle_time.subtract(handle_time);
        self.queue_wait.subtract(queue_wait);
        self.transfers_out.subtract(transfers_out);
        self.transfers_in.subtract(transfers_in);
        self.ratings.iter_mut().zip(ratings).for_each(|(a, b)| *a = a.saturating_sub(*b));
        self.invitations_auto.subtract(invitations_auto);
        self.invitations_manual.subtract(invitations_manual);
        self.alerts.subtract(alerts);
    }

    fn contact(&mut self, c: &Contact) {
        // A warm transfer's target was offered the chat by the transfer itself.
        if c.by_transfer != Some(TransferKind::Warm) {
            self.offered += 1;
        }
        self.accepted += 1;
        if c.answered {
            self.answered += 1;
        } else {
            self.unanswered += 1;
        }
        if let Some(ms) = c.first_response_ms {
            self.first_response.record(ms);
        }
        self.handle_time.record(c.handle_ms);
    }

    fn waited(&mut self, w: &Wait) {
        self.waits += 1;
        match w.end {
            WaitEnd::Taken(_) => {
                self.waits_taken += 1;
                self.queue_wait.record(w.wait_ms);
            }
            WaitEnd::Ended(EndedBy::NoAgent) => self.abandoned_no_agent += 1,
            WaitEnd::Ended(_) => self.abandoned_by_visitor += 1,
            WaitEnd::Moved => {}
        }
    }

    fn invitation(&mut self, f: &InvitationFacts) {
        let counts = match f.mode {
            InvitationMode::Auto => &mut self.invitations_auto,
            InvitationMode::Manual => &mut self.invitations_manual,
            InvitationMode::Alert => &mut self.alerts,
        };
        counts.sent += 1;
        match f.outcome {
            InvitationOutcome::Accepted => counts.accepted += 1,
            InvitationOutcome::Refused => counts.refused += 1,
            InvitationOutcome::Ignored => counts.ignored += 1,
            InvitationOutcome::Pending => {}
        }
        counts.chats += u64::from(f.chat.is_some());
    }
}

/// The cells of a report (or of the store), in one bucketing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Totals {
    pub bucketing: Bucketing,
    pub cells: BTreeMap<Key, Figures>,
}

impl Totals {
    pub fn new(bucketing: Bucketing) -> Totals {
        Totals { bucketing, cells: BTreeMap::new() }
    }

    pub fn get(&self, site: SiteId, dim: Dim, bucket: Bucket) -> Option<&Figures> {
        self.cells.get(&Key { site, dim, bucket })
    }

    /// One dimension over every bucket.
    pub fn total(&self, site: SiteId, dim: Dim) -> Figures {
        let mut sum = Figures::default();
        self.cells.iter().filter(|(k, _)| k.site == site && k.dim == dim).for_each(|(_, f)| sum.merge(f));
        sum
    }

    fn cell(&mut self, site: SiteId, dim: Dim, at: u64) -> &mut Figures {
        let bucket = self.bucketing.bucket(at);
        self.cells.entry(Key { site, dim, bucket }).or_default()
    }

    /// Add a chat's facts (or those settled since the last time: `ChatFacts::since`).
    pub fn add_chat(&mut self, chat: &ChatFacts) {
        for f in &chat.facts {
            self.add_fact(chat, f);
        }
    }

    fn add_fact(&mut self, chat: &ChatFacts, f: &Fact) {
        let site = chat.site;
        let chat_dims = [Dim::Site, Dim::Campaign(chat.campaign), Dim::Department(f.department)];
        let mut each = |dims: &[Dim], apply: &dyn Fn(&mut Figures)| {
            for d in dims {
                apply(self.cell(site, *d, f.at));
            }
        };
        match &f.kind {
            FactKind::Started => each(&chat_dims, &|x| x.chats += 1),
            FactKind::FirstResponse { ms } => each(&chat_dims, &|x| x.chat_first_response.record(*ms)),
            FactKind::Ended { by, answered } => each(&chat_dims, &|x| {
                x.ended.count(*by);
                if *answered {
                    x.chats_answered += 1;
                } else if *by != EndedBy::Transfer {
                    x.chats_missed += 1;
                }
            }),
            FactKind::LastContact { agent } => {
                each(&chat_dims, &|x| x.last_contacts += 1);
                each(&[Dim::Agent(*agent)], &|x| x.last_contacts += 1);
            }
            FactKind::Contact(c) => {
                each(&chat_dims, &|x| x.contact(c));
                each(&[Dim::Agent(c.agent)], &|x| {
                    x.contact(c);
                    if let Left::Ended(by) = c.left {
                        x.ended.count(by);
                    }
                });
            }
            FactKind::Waited(w) => each(&chat_dims, &|x| x.waited(w)),
            FactKind::Transfer(t) => {
                if t.side != Side::In {
                    let out =
                        [Dim::Site, Dim::Campaign(chat.campaign), Dim::Department(f.department), Dim::Agent(t.from)];
                    each(&out, &|x| x.transfers_out.add(t));
                }
                if t.side != Side::Out {
                    let mut into = vec![Dim::Site, Dim::Campaign(chat.campaign)];
                    into.extend(t.to_department.map(|d| Dim::Department(Some(d))));
                    each(&into, &|x| x.transfers_in.add(t));
                    if let Some(agent) = t.to_agent {
                        each(&[Dim::Agent(agent)], &|x| x.transfers_in.add(t));
                    }
                }
                // A warm offer offers the chat to its target, like a contact would.
                if let Some(agent) = t.to_agent.filter(|_| t.kind == TransferKind::Warm) {
                    let mut dims = chat_dims.to_vec();
                    dims.push(Dim::Agent(agent));
                    each(&dims, &|x| x.offered += 1);
                }
            }
            FactKind::Rating { rating, agents } => {
                let r = usize::from(rating.clamp(&1, &5) - 1);
                let mut dims = chat_dims.to_vec();
                dims.extend(agents.iter().map(|a| Dim::Agent(*a)));
                each(&dims, &|x| x.ratings[r] += 1);
            }
        }
    }

    /// Add an invitation: to its site, campaign and agent.
    pub fn add_invitation(&mut self, f: &InvitationFacts) {
        let mut dims = vec![Dim::Site, Dim::Campaign(f.campaign)];
        dims.extend(f.agent.map(Dim::Agent));
        for d in dims {
            self.cell(f.site, d, f.at).invitation(f);
        }
    }

    /// Add another aggregate's cells, each into the bucket of this one that holds its start.
    /// Exact when the other's buckets nest in these (UTC quarter-hours into any zone's hours
    /// or days, hours into days of the same zone).
    pub fn merge(&mut self, other: &Totals) {
        for (k, f) in &other.cells {
            let bucket = self.bucketing.bucket_of(k.bucket.0);
            self.cells.entry(Key { bucket, ..*k }).or_default().merge(f);
        }
    }
}
