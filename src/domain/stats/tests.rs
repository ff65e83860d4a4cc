//! One test per rule of `docs/statistics.md`, on chats written event by event.

use super::*;
use crate::domain::Millis;
use crate::domain::chat::*;
use crate::domain::ids::*;
use crate::domain::proactive::{InvitationMode, InvitationOutcome, InvitationRecord};

const A: UserId = UserId(1);
const B: UserId = UserId(2);
const C: UserId = UserId(3);
const SITE: SiteId = SiteId(1);
const OTHER_SITE: SiteId = SiteId(2);
const SALES: DepartmentId = DepartmentId(1);
const BILLING: DepartmentId = DepartmentId(2);
/// 2026-11-22 10:00:00 UTC.
const T0: Millis = 1_795_341_600_000;
const S: u64 = 1000;

/// A chat written event by event; `at(secs)` moves the clock to `T0 + secs`.
struct Log {
    rec: ChatRecord,
    events: Vec<ChatEvent>,
    now: Millis,
}

fn chat() -> Log {
    let rec = ChatRecord::queued(ChatId(1), SITE, CampaignId(1), VisitorId(1), Some(SALES), VisitorInfo::default(), T0);
    Log { rec, events: vec![], now: T0 }
}

fn step(kind: TransferKind, outcome: TransferOutcome, from: UserId) -> EventKind {
    EventKind::Transfer {
        transfer: kind,
        outcome,
        from,
        to_agent: None,
        to_department: None,
        to_site: None,
        comment: String::new(),
        replied: false,
        reason: None,
        decline_text: String::new(),
    }
}

/// A transfer step to an agent.
fn to(kind: TransferKind, outcome: TransferOutcome, from: UserId, agent: UserId) -> EventKind {
    let mut e = step(kind, outcome, from);
    if let EventKind::Transfer { to_agent, .. } = &mut e {
        *to_agent = Some(agent);
    }
    e
}

/// A transfer step to a department (a queue, a broadcast; `taker` once a member took it).
fn to_dept(
    kind: TransferKind,
    outcome: TransferOutcome,
    from: UserId,
    d: DepartmentId,
    taker: Option<UserId>,
) -> EventKind {
    let mut e = step(kind, outcome, from);
    if let EventKind::Transfer { to_department, to_agent, .. } = &mut e {
        *to_department = Some(d);
        *to_agent = taker;
    }
    e
}

fn cross_site(from: UserId, site: SiteId) -> EventKind {
    let mut e = step(TransferKind::CrossSite, TransferOutcome::Completed, from);
    if let EventKind::Transfer { to_site, .. } = &mut e {
        *to_site = Some(site);
    }
    e
}

/// The `replied` flag the switchboard sets on a step.
fn replied(mut e: EventKind) -> EventKind {
    if let EventKind::Transfer { replied, .. } = &mut e {
        *replied = true;
    }
    e
}

impl Log {
    fn at(&mut self, secs: u64) -> &mut Log {
        self.now = T0 + secs * S;
        self
    }

    fn push(&mut self, kind: EventKind) -> &mut Log {
        let seq = self.events.len() as u64 + 1;
        self.events.push(ChatEvent { chat: self.rec.id, seq, at: self.now, client_id: None, kind });
        self
    }

    fn queued(&mut self, department: Option<DepartmentId>) -> &mut Log {
        self.push(EventKind::Queued { department })
    }

    fn assigned(&mut self, agent: UserId) -> &mut Log {
        self.push(EventKind::Assigned { agent, name: format!("agent {agent}") })
    }

    fn agent_says(&mut self, agent: UserId) -> &mut Log {
        let author = Author::Agent { agent, name: format!("agent {agent}") };
        self.push(EventKind::Message { file: None, author, text: "Hello".into() })
    }

    fn visitor_says(&mut self) -> &mut Log {
        self.push(EventKind::Message { file: None, author: Author::Visitor, text: "Hi?".into() })
    }

    fn ended(&mut self, by: EndedBy) -> &mut Log {
        self.push(EventKind::Ended { by })
    }

    fn survey(&mut self, rating: u8) -> &mut Log {
        self.push(EventKind::Survey { rating, comment: String::new() })
    }

    fn facts(&self) -> ChatFacts {
        chat_facts(&self.rec, &self.events)
    }
}

fn totals(chats: &[&ChatFacts]) -> Totals {
    let mut t = Totals::new(Bucketing::new(0, Granularity::Day));
    chats.iter().for_each(|c| t.add_chat(c));
    t
}

/// A duration read from a histogram: within its documented 3.125 %.
fn about(read: Option<u64>, ms: u64) -> bool {
    read.is_some_and(|r| r.abs_diff(ms) * 32 <= ms)
}

fn agent(t: &Totals, a: UserId) -> Figures {
    t.total(SITE, Dim::Agent(a))
}

#[test]
fn an_agent_who_transfers_before_replying_has_an_unanswered_contact_and_the_rating_reaches_both() {
    // The seed's case: A receives, transfers unanswered to B, B answers, the visitor rates 4.
    let mut log = chat();
    log.queued(Some(SALES)).assigned(A).visitor_says();
    log.at(30).push(to(TransferKind::Cold, TransferOutcome::Completed, A, B)).assigned(B);
    log.at(40).agent_says(B).at(90).ended(EndedBy::Visitor).survey(4);
    let f = log.facts();

    let contacts: Vec<(UserId, bool)> = f.contacts().map(|c| (c.agent, c.answered)).collect();
    assert_eq!(contacts, [(A, false), (B, true)]);
    assert_eq!(f.last_contact(), Some(B));
    assert_eq!(f.rating(), Some((4, &[A, B][..])));

    let t = totals(&[&f]);
    let (a, b) = (agent(&t, A), agent(&t, B));
    assert_eq!((a.accepted, a.answered, a.unanswered, a.last_contacts), (1, 0, 1, 0));
    assert_eq!((b.accepted, b.answered, b.unanswered, b.last_contacts), (1, 1, 0, 1));
    assert_eq!((a.ratings[3], b.ratings[3]), (1, 1));
    let site = t.total(SITE, Dim::Site);
    assert_eq!((site.chats, site.chats_answered, site.chats_missed, site.ratings[3]), (1, 1, 0, 1));
    assert_eq!(site.transfers_out.count(TransferKind::Cold, Resolution::Accepted), 1);
}

#[test]
fn a_cell_taken_out_of_a_sum_leaves_the_sum_of_the_others() {
    // Two chats with contacts, a transfer, waits and ratings: their cells add up, and taking
    // one out again gives the other exactly (a report's day: a day cell less a few quarters).
    let mut one = chat();
    one.queued(Some(SALES)).assigned(A).visitor_says();
    one.at(30).push(to(TransferKind::Cold, TransferOutcome::Completed, A, B)).assigned(B);
    one.at(40).agent_says(B).at(90).ended(EndedBy::Visitor).survey(4);
    let mut two = chat();
    two.queued(None).at(50).assigned(A).at(55).agent_says(A).at(70).ended(EndedBy::Agent).survey(2);
    let (one, two) = (one.facts(), two.facts());
    let both = totals(&[&one, &two]);
    for dim in [Dim::Site, Dim::Agent(A), Dim::Agent(B), Dim::Department(Some(SALES))] {
        let mut sum = both.total(SITE, dim);
        sum.subtract(&totals(&[&two]).total(SITE, dim));
        assert_eq!(sum, totals(&[&one]).total(SITE, dim), "{dim:?}");
        sum.subtract(&totals(&[&one]).total(SITE, dim));
        assert_eq!(sum, Figures::default(), "{dim:?}");
    }
}

#[test]
fn a_warm_transfer_declined_by_one_agent_then_accepted_by_another() {
    let mut log = chat();
    log.queued(Some(SALES)).assigned(A).agent_says(A);
    log.at(10).push(replied(to(TransferKind::Warm, TransferOutcome::Offered, A, B)));
    log.at(15).push(replied(to(TransferKind::Warm, TransferOutcome::Declined, A, B)));
    log.at(20).push(replied(to(TransferKind::Warm, TransferOutcome::Offered, A, C)));
    log.at(23).push(replied(to(TransferKind::Warm, TransferOutcome::Accepted, A, C)));
    log.at(30).push(replied(to(TransferKind::Warm, TransferOutcome::Completed, A, C))).assigned(C);
    log.at(60).ended(EndedBy::Agent);
    let f = log.facts();

    let transfers: Vec<_> = f.transfers().map(|t| (t.to_agent, t.resolution, t.accept_ms)).collect();
    assert_eq!(transfers, [(Some(B), Resolution::Declined, None), (Some(C), Resolution::Accepted, Some(3 * S))]);
    let contacts: Vec<_> = f.contacts().map(|c| (c.agent, c.answered, c.left, c.by_transfer)).collect();
    assert_eq!(
        contacts,
        [
            (A, true, Left::Transfer(TransferKind::Warm), None),
            (C, false, Left::Ended(EndedBy::Agent), Some(TransferKind::Warm))
        ]
    );

    let t = totals(&[&f]);
    let (a, b, c) = (agent(&t, A), agent(&t, B), agent(&t, C));
    assert_eq!(a.transfers_out.count(TransferKind::Warm, Resolution::Declined), 1);
    assert_eq!(a.transfers_out.count(TransferKind::Warm, Resolution::Accepted), 1);
    assert_eq!((b.offered, b.accepted, b.transfers_in.count(TransferKind::Warm, Resolution::Declined)), (1, 0, 1));
    assert_eq!((c.offered, c.accepted, c.ended.agent), (1, 1, 1), "the offer is counted once");
    assert!(about(c.transfers_in.accept_time(TransferKind::Warm).median(), 3 * S));
    let site = t.total(SITE, Dim::Site);
    assert_eq!((site.offered, site.accepted), (3, 2), "A from the queue; B and C by the warm offers");
}

#[test]
fn a_broadcast_goes_to_the_member_who_accepts_first() {
    let mut log = chat();
    log.queued(Some(SALES)).assigned(A).agent_says(A);
    log.at(10).push(to_dept(TransferKind::Broadcast, TransferOutcome::Offered, A, BILLING, None));
    log.at(14).push(to_dept(TransferKind::Broadcast, TransferOutcome::Completed, A, BILLING, Some(C))).assigned(C);
    log.at(50).ended(EndedBy::Visitor);
    let f = log.facts();

    let t = f.transfers().next().cloned().unwrap();
    assert_eq!((t.kind, t.to_agent, t.to_department), (TransferKind::Broadcast, Some(C), Some(BILLING)));
    assert_eq!((t.resolution, t.accept_ms), (Resolution::Accepted, Some(4 * S)));
    let totals = totals(&[&f]);
    let billing = totals.total(SITE, Dim::Department(Some(BILLING)));
    let sales = totals.total(SITE, Dim::Department(Some(SALES)));
    assert_eq!(billing.transfers_in.count(TransferKind::Broadcast, Resolution::Accepted), 1);
    assert_eq!(sales.transfers_out.count(TransferKind::Broadcast, Resolution::Accepted), 1);
    assert_eq!(agent(&totals, C).offered, 1, "the taker was offered the chat");
}

#[test]
fn a_transfer_to_a_queue_is_accepted_by_whoever_takes_the_chat_from_it() {
    let mut log = chat();
    log.queued(Some(SALES)).at(5).assigned(A).agent_says(A);
    log.at(10).push(replied(to_dept(TransferKind::Queue, TransferOutcome::Completed, A, BILLING, None)));
    log.queued(Some(BILLING)).at(30).assigned(B).at(35).agent_says(B).at(60).ended(EndedBy::Visitor);
    let f = log.facts();

    let t = f.transfers().next().cloned().unwrap();
    assert_eq!(
        (t.to_agent, t.to_department, t.resolution, t.accept_ms),
        (Some(B), Some(BILLING), Resolution::Accepted, Some(20 * S))
    );
    let waits: Vec<_> = f.waits().map(|w| (w.wait_ms, w.end)).collect();
    assert_eq!(waits, [(5 * S, WaitEnd::Taken(A)), (20 * S, WaitEnd::Taken(B))]);
    assert_eq!(f.contacts().nth(1).map(|c| c.by_transfer), Some(Some(TransferKind::Queue)));
    let totals = totals(&[&f]);
    let billing = totals.total(SITE, Dim::Department(Some(BILLING)));
    assert!(billing.waits_taken == 1 && about(billing.queue_wait.median(), 20 * S));
    assert_eq!(agent(&totals, B).transfers_in.count(TransferKind::Queue, Resolution::Accepted), 1);

    // Nobody takes it: the visitor leaves the queue, the transfer is abandoned.
    let mut log = chat();
    log.queued(Some(SALES)).assigned(A);
    log.at(10).push(to_dept(TransferKind::Queue, TransferOutcome::Completed, A, BILLING, None)).queued(Some(BILLING));
    log.at(70).ended(EndedBy::Visitor);
    let f = log.facts();
    assert_eq!(f.transfers().next().map(|t| (t.resolution, t.to_agent)), Some((Resolution::Abandoned, None)));
    assert_eq!(f.waits().last().map(|w| w.end), Some(WaitEnd::Ended(EndedBy::Visitor)));
    assert_eq!(f.last_contact(), Some(A), "the last agent who held it");
}

#[test]
fn a_cold_transfer_after_the_agent_replied_is_an_answered_contact() {
    let mut log = chat();
    log.queued(Some(SALES)).assigned(A).at(8).agent_says(A);
    log.at(20).push(replied(to(TransferKind::Cold, TransferOutcome::Completed, A, B))).assigned(B);
    log.at(30).ended(EndedBy::Visitor);
    let f = log.facts();

    let a = f.contacts().next().cloned().unwrap();
    assert_eq!((a.answered, a.first_response_ms, a.handle_ms), (true, Some(8 * S), 20 * S));
    let t = f.transfers().next().cloned().unwrap();
    assert!(t.replied);
    assert_eq!((t.resolution, t.accept_ms), (Resolution::Accepted, None), "cold: at once, nobody accepts");
    // B never wrote: the chat is answered (by A), B's contact is not.
    assert_eq!(f.ended(), Some((EndedBy::Visitor, true)));
    assert_eq!(f.contacts().nth(1).map(|c| c.answered), Some(false));
}

#[test]
fn a_transfer_step_saying_the_agent_replied_counts_even_without_the_message() {
    let mut log = chat();
    log.queued(None).assigned(A).push(replied(to(TransferKind::Cold, TransferOutcome::Completed, A, B))).assigned(B);
    let a = log.facts().contacts().next().cloned().unwrap();
    assert_eq!((a.answered, a.first_response_ms), (true, None));
}

/// The source chat on `SITE`: A answers, then moves the chat to `OTHER_SITE` at 60 s.
fn source_chat() -> Log {
    let mut log = chat();
    log.queued(Some(SALES)).assigned(A).at(10).agent_says(A);
    log.at(60).push(replied(cross_site(A, OTHER_SITE))).ended(EndedBy::Transfer);
    log
}

/// The new chat on `OTHER_SITE`, with or without the source's transcript.
fn new_chat(source: &Log, with_transcript: bool) -> Log {
    let at = T0 + 60 * S;
    let mut rec =
        ChatRecord::queued(ChatId(2), OTHER_SITE, CampaignId(9), VisitorId(1), None, VisitorInfo::default(), at);
    rec.origin = Some(Origin {
        site: SITE,
        site_name: "Shop".into(),
        chat: ChatId(1),
        agent: A,
        agent_name: "A".into(),
        at,
        comment: String::new(),
        with_transcript,
        copied: 0,
    });
    let mut log = Log { rec, events: vec![], now: at };
    if with_transcript {
        log.events = source.events.iter().map(|e| ChatEvent { chat: ChatId(2), ..e.clone() }).collect();
    }
    log.push(replied(cross_site(A, OTHER_SITE))).queued(None);
    log.at(90).assigned(C).at(95).agent_says(C).at(200).ended(EndedBy::Visitor).survey(5);
    log
}

#[test]
fn a_cross_site_transfer_ends_the_source_chat_with_its_last_contact_and_counts_in_on_the_new_chat() {
    let source = source_chat();
    let f = source.facts();
    let a = f.contacts().next().cloned().unwrap();
    assert_eq!((a.agent, a.answered, a.left), (A, true, Left::Transfer(TransferKind::CrossSite)));
    let out = f.transfers().next().cloned().unwrap();
    assert_eq!((out.side, out.to_site, out.resolution), (Side::Out, Some(OTHER_SITE), Resolution::Accepted));
    assert_eq!(f.last_contact(), Some(A), "the source chat's last contact is its agent");
    assert_eq!(f.ended(), Some((EndedBy::Transfer, true)));

    for with_transcript in [true, false] {
        let g = new_chat(&source, with_transcript).facts();
        let contacts: Vec<UserId> = g.contacts().map(|c| c.agent).collect();
        assert_eq!(contacts, [C], "the copied transcript is the source chat's, not this one's");
        let into = g.transfers().next().cloned().unwrap();
        assert_eq!((into.side, into.from, into.to_agent), (Side::In, A, Some(C)));
        assert_eq!((into.resolution, into.accept_ms), (Resolution::Accepted, Some(30 * S)));
        assert_eq!((g.last_contact(), g.rating()), (Some(C), Some((5, &[C][..]))));
        assert_eq!(g.facts.iter().filter(|f| f.kind == FactKind::Started).count(), 1);
    }

    let g = new_chat(&source, true).facts();
    let t = totals(&[&f, &g]);
    let (here, there) = (t.total(SITE, Dim::Site), t.total(OTHER_SITE, Dim::Site));
    assert_eq!((here.transfers_out.total(), here.transfers_in.total()), (1, 0));
    assert_eq!((there.transfers_out.total(), there.transfers_in.total()), (0, 1));
    assert_eq!((here.chats_missed, here.ended.transfer, there.chats), (0, 1, 1));
    assert_eq!(t.total(OTHER_SITE, Dim::Agent(C)).transfers_in.count(TransferKind::CrossSite, Resolution::Accepted), 1);
    assert_eq!(agent(&t, A).transfers_out.count(TransferKind::CrossSite, Resolution::Accepted), 1);
}

#[test]
fn a_chat_no_agent_answered_is_missed_and_its_queue_abandoned() {
    let mut timed_out = chat();
    timed_out.queued(Some(SALES)).at(300).ended(EndedBy::NoAgent);
    let mut left = chat();
    left.queued(Some(SALES)).at(40).ended(EndedBy::Visitor);
    let mut ignored = chat();
    ignored.queued(Some(SALES)).at(5).assigned(A).at(45).ended(EndedBy::Visitor);
    let (f, g, h) = (timed_out.facts(), left.facts(), ignored.facts());

    assert_eq!(f.waits().next().map(|w| (w.wait_ms, w.end)), Some((300 * S, WaitEnd::Ended(EndedBy::NoAgent))));
    assert_eq!((f.contacts().count(), f.last_contact()), (0, None));
    assert_eq!(h.last_contact(), Some(A));
    let t = totals(&[&f, &g, &h]);
    let sales = t.total(SITE, Dim::Department(Some(SALES)));
    assert_eq!((sales.chats, sales.chats_missed, sales.chats_answered), (3, 3, 0));
    assert_eq!((sales.abandoned_no_agent, sales.abandoned_by_visitor, sales.abandoned()), (1, 1, 2));
    assert_eq!((sales.waits, sales.waits_taken), (3, 1));
    assert_eq!((agent(&t, A).unanswered, agent(&t, A).ended.visitor), (1, 1));
}

#[test]
fn first_response_and_handle_time_run_from_the_assignment_and_the_chats_from_its_start() {
    let mut log = chat();
    log.queued(Some(SALES)).at(10).assigned(A).at(20).visitor_says().at(25).agent_says(A).at(26).agent_says(A);
    log.at(100).ended(EndedBy::Agent);
    let f = log.facts();

    let a = f.contacts().next().cloned().unwrap();
    assert_eq!((a.first_response_ms, a.handle_ms), (Some(15 * S), 90 * S));
    let chat_first =
        f.facts.iter().find_map(|x| if let FactKind::FirstResponse { ms } = x.kind { Some(ms) } else { None });
    assert_eq!(chat_first, Some(25 * S));
    let t = totals(&[&f]);
    let site = t.total(SITE, Dim::Site);
    assert!(about(site.first_response.median(), 15 * S) && about(site.handle_time.p90(), 90 * S));
    assert!(about(site.chat_first_response.median(), 25 * S) && about(site.queue_wait.median(), 10 * S));
    assert_eq!(site.handle_time.mean(), Some(90 * S), "the mean is exact");
}

#[test]
fn a_rating_counts_once_for_every_agent_who_held_the_chat() {
    let mut log = chat();
    log.queued(Some(SALES)).assigned(A).agent_says(A).push(replied(to(
        TransferKind::Cold,
        TransferOutcome::Completed,
        A,
        B,
    )));
    log.assigned(B).agent_says(B).push(replied(to(TransferKind::Cold, TransferOutcome::Completed, B, A)));
    log.assigned(A).ended(EndedBy::Visitor).survey(2);
    let f = log.facts();
    assert_eq!(f.rating(), Some((2, &[A, B][..])));
    let t = totals(&[&f]);
    assert_eq!((agent(&t, A).ratings, agent(&t, B).ratings), ([0, 1, 0, 0, 0], [0, 1, 0, 0, 0]));
    assert_eq!((agent(&t, A).accepted, agent(&t, A).last_contacts, agent(&t, B).last_contacts), (2, 1, 0));
    let site = t.total(SITE, Dim::Site);
    assert_eq!((site.rating_count(), site.rating_mean_x100()), (1, Some(200)), "once for the site");
}

#[test]
fn a_transfer_to_an_unavailable_agent_times_out_when_the_chat_falls_back_to_the_queue() {
    let mut log = chat();
    log.queued(Some(SALES)).assigned(A);
    log.at(10).push(to(TransferKind::Unavailable, TransferOutcome::Waiting, A, B));
    log.at(610).queued(Some(SALES)).at(615).assigned(C).ended(EndedBy::Agent);
    let f = log.facts();
    let t = f.transfers().next().cloned().unwrap();
    assert_eq!((t.to_agent, t.resolution, t.accept_ms), (Some(B), Resolution::TimedOut, None));
    let waits: Vec<_> = f.waits().map(|w| (w.for_agent, w.wait_ms, w.end)).collect();
    assert_eq!(waits[1..], [(Some(B), 600 * S, WaitEnd::Moved), (None, 5 * S, WaitEnd::Taken(C))]);
    assert_eq!(f.contacts().nth(1).map(|c| c.by_transfer), Some(None), "C took it from the queue");

    // B comes back in time: accepted after the wait.
    let mut log = chat();
    log.queued(Some(SALES)).assigned(A);
    log.at(10).push(to(TransferKind::Unavailable, TransferOutcome::Waiting, A, B)).at(70).assigned(B);
    let t = log.facts().transfers().next().cloned().unwrap();
    assert_eq!((t.to_agent, t.resolution, t.accept_ms), (Some(B), Resolution::Accepted, Some(60 * S)));
}

#[test]
fn offers_that_expire_time_out_and_offers_open_when_the_chat_ends_are_cancelled() {
    let mut log = chat();
    log.queued(Some(SALES)).assigned(A);
    log.at(10).push(to(TransferKind::Warm, TransferOutcome::Offered, A, B));
    log.at(40).push(to(TransferKind::Warm, TransferOutcome::Expired, A, B));
    log.at(50).push(to(TransferKind::Warm, TransferOutcome::Offered, A, C));
    log.at(55).push(to(TransferKind::Warm, TransferOutcome::Cancelled, A, C));
    log.at(60).push(to_dept(TransferKind::Broadcast, TransferOutcome::Offered, A, BILLING, None));
    // The chat ends during the broadcast: the switchboard records no step for that.
    log.at(65).ended(EndedBy::Visitor);
    let f = log.facts();
    let r: Vec<_> = f.transfers().map(|t| (t.kind, t.resolution)).collect();
    assert_eq!(
        r,
        [
            (TransferKind::Warm, Resolution::TimedOut),
            (TransferKind::Warm, Resolution::Cancelled),
            (TransferKind::Broadcast, Resolution::Cancelled)
        ]
    );
    let contacts: Vec<_> = f.contacts().map(|c| (c.agent, c.left)).collect();
    assert_eq!(contacts, [(A, Left::Ended(EndedBy::Visitor))], "A kept the chat throughout");
}

#[test]
fn a_chat_an_agent_opens_starts_with_their_contact_and_no_wait() {
    // Proactive "without invite": assigned at once, no queue, the agent writes first.
    let mut log = chat();
    log.assigned(A).at(4).agent_says(A).at(60).ended(EndedBy::Visitor);
    let f = log.facts();
    assert_eq!(f.waits().count(), 0);
    assert_eq!(f.contacts().map(|c| (c.agent, c.answered, c.by_transfer)).collect::<Vec<_>>(), [(A, true, None)]);
    let started = f.facts.iter().find(|x| x.kind == FactKind::Started).map(|x| x.department);
    assert_eq!(started, Some(Some(SALES)), "the campaign's department, from the record");
}

/// A chat with a bit of everything, for the properties below.
fn busy_chat() -> Log {
    let mut log = chat();
    log.queued(Some(SALES)).at(3).assigned(A).visitor_says().at(9).agent_says(A);
    log.at(12).push(replied(to(TransferKind::Warm, TransferOutcome::Offered, A, B)));
    log.at(20).push(replied(to(TransferKind::Warm, TransferOutcome::Declined, A, B)));
    log.at(30).push(replied(to_dept(TransferKind::Queue, TransferOutcome::Completed, A, BILLING, None)));
    log.queued(Some(BILLING)).at(50).assigned(C);
    log.at(3_700).push(to(TransferKind::Cold, TransferOutcome::Completed, C, B)).assigned(B);
    log.at(3_800).agent_says(B).at(90_000).ended(EndedBy::Visitor).at(90_010).survey(5);
    log
}

#[test]
fn the_facts_of_the_first_events_are_the_facts_settled_by_then() {
    let log = busy_chat();
    let all = log.facts();
    for n in 0..=log.events.len() {
        let last = n.checked_sub(1).map_or(0, |i| log.events[i].seq);
        let prefix = chat_facts(&log.rec, &log.events[..n]);
        let settled: Vec<Fact> = all.facts.iter().filter(|f| f.settled <= last).cloned().collect();
        assert_eq!(prefix.facts, settled, "after {n} events");
    }
}

#[test]
fn totals_added_as_events_commit_equal_totals_of_the_whole_chat() {
    let log = busy_chat();
    let mut incremental = Totals::new(Bucketing::STORED);
    let mut done = 0;
    for n in [2, 5, 9, log.events.len()] {
        let facts = chat_facts(&log.rec, &log.events[..n]);
        incremental.add_chat(&facts.since(done));
        done = log.events[n - 1].seq;
    }
    let mut whole = Totals::new(Bucketing::STORED);
    whole.add_chat(&log.facts());
    assert_eq!(incremental, whole);
}

#[test]
fn stored_quarter_hours_merge_into_the_days_and_hours_of_a_report_zone() {
    let log = busy_chat();
    let mut stored = Totals::new(Bucketing::STORED);
    stored.add_chat(&log.facts());
    for zone in [Bucketing::new(-570, Granularity::Day), Bucketing::new(330, Granularity::Hour)] {
        let mut direct = Totals::new(zone);
        direct.add_chat(&log.facts());
        let mut merged = Totals::new(zone);
        merged.merge(&stored);
        assert_eq!(merged, direct);
    }
    // The chat started at 10:00 UTC; its last contact (B, reported under the chat's start) too,
    // though B got the chat an hour later.
    let hours = Bucketing::new(0, Granularity::Hour);
    let mut report = Totals::new(hours);
    report.merge(&stored);
    let ten = hours.bucket(T0);
    let b_at_ten = report.get(SITE, Dim::Agent(B), ten).cloned().unwrap_or_default();
    assert_eq!((b_at_ten.last_contacts, b_at_ten.accepted), (1, 0));
    let b_at_eleven = report.get(SITE, Dim::Agent(B), hours.bucket(T0 + 3_700 * S)).cloned().unwrap_or_default();
    assert_eq!(b_at_eleven.accepted, 1);
}

fn invitation(id: u64, mode: InvitationMode, outcome: InvitationOutcome, chat: Option<u64>) -> InvitationRecord {
    InvitationRecord {
        id: InvitationId(id),
        site: SITE,
        campaign: CampaignId(1),
        visitor: VisitorId(id),
        mode,
        agent: if mode == InvitationMode::Auto { None } else { Some(A) },
        text: "Can we help?".into(),
        page_url: String::new(),
        sent_at: T0,
        outcome,
        answered_at: Some(T0 + 7 * S),
        chat: chat.map(ChatId),
    }
}

#[test]
fn invitations_count_as_sent_and_by_outcome_with_the_chats_they_led_to() {
    use InvitationMode::*;
    use InvitationOutcome::*;
    let records = [
        invitation(1, Auto, Accepted, Some(7)),
        invitation(2, Auto, Refused, None),
        invitation(3, Auto, Ignored, None),
        invitation(4, Manual, Accepted, Some(8)),
        invitation(5, Alert, Ignored, None),
        invitation(6, Alert, Pending, None),
    ];
    let facts: Vec<InvitationFacts> = records.iter().map(invitation_facts).collect();
    assert_eq!((facts[0].answer_ms, facts[2].answer_ms), (Some(7 * S), None), "ignored: never answered");
    let mut t = Totals::new(Bucketing::new(0, Granularity::Day));
    facts.iter().for_each(|f| t.add_invitation(f));

    let site = t.total(SITE, Dim::Site);
    let auto = &site.invitations_auto;
    assert_eq!((auto.sent, auto.accepted, auto.refused, auto.ignored, auto.chats), (3, 1, 1, 1, 1));
    let manual = &site.invitations_manual;
    assert_eq!((manual.sent, manual.accepted, manual.chats), (1, 1, 1));
    assert_eq!((site.alerts.sent, site.alerts.ignored), (2, 1), "a pending alert is sent, not settled");
    let a = agent(&t, A);
    assert_eq!((a.invitations_auto.sent, a.invitations_manual.sent, a.alerts.sent), (0, 1, 2));
}
