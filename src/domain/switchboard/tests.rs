//! Every switchboard rule, with virtual time: a 30 s grace or a queue timeout is a number here,
//! never a sleep.

use super::*;
use crate::domain::chat::EventKind;

const SITE: SiteId = SiteId(1);
const OTHER_SITE: SiteId = SiteId(2);
const CAMPAIGN: CampaignId = CampaignId(10);
const SALES: DepartmentId = DepartmentId(100);
const SUPPORT: DepartmentId = DepartmentId(101);

struct H {
    sb: Switchboard,
    now: Millis,
    next_conn: u64,
}

fn profile(id: u64, site: SiteId, max: u32) -> AgentProfile {
    AgentProfile {
        id: UserId(id),
        site,
        name: format!("agent{id}"),
        max_chats: max,
        active: true,
        ..Default::default()
    }
}

fn texts() -> ChatTexts {
    ChatTexts { greeting: "Hello!".into(), queue: "Please wait.".into() }
}

impl H {
    fn new() -> H {
        H::with(Config { grace_ms: 30_000, max_queue_wait_ms: 0, max_message_bytes: 4096 })
    }

    fn with(cfg: Config) -> H {
        let mut h = H { sb: Switchboard::new(cfg), now: 1_000_000, next_conn: 1 };
        h.directory(SITE, &[(1, 2), (2, 2), (3, 2)], &[(SALES, AllocationRule::RoundRobin, &[1, 2, 3])]);
        h
    }

    fn directory(
        &mut self,
        site: SiteId,
        agents: &[(u64, u32)],
        depts: &[(DepartmentId, AllocationRule, &[u64])],
    ) -> Vec<Effect> {
        let agents = agents.iter().map(|(id, max)| profile(*id, site, *max)).collect();
        let departments = depts
            .iter()
            .map(|(id, rule, members)| DepartmentProfile {
                id: *id,
                site,
                rule: *rule,
                members: members.iter().map(|m| UserId(*m)).collect(),
                ..Default::default()
            })
            .collect();
        self.run(Command::Directory(Box::new(SiteDirectory::test(site, agents, departments))))
    }

    fn run(&mut self, cmd: Command) -> Vec<Effect> {
        self.sb.handle(cmd, self.now)
    }

    fn conn(&mut self) -> ConnId {
        self.next_conn += 1;
        ConnId(self.next_conn)
    }

    /// Connect agent `id` (of SITE unless already known); returns the connection.
    fn online(&mut self, id: u64) -> ConnId {
        let conn = self.conn();
        let p = self.sb.agents.get(&UserId(id)).map(|a| a.profile.clone()).unwrap_or_else(|| profile(id, SITE, 2));
        self.run(Command::AgentConnected { agent: p, conn });
        conn
    }

    fn away(&mut self, id: u64, conn: ConnId) -> Vec<Effect> {
        self.run(Command::SetPresence { agent: UserId(id), conn, presence: Presence::Away })
    }

    fn start(&mut self, visitor: u64, dept: Option<DepartmentId>) -> (Vec<Effect>, Option<ChatId>) {
        self.start_on(SITE, visitor, dept)
    }

    fn start_on(&mut self, site: SiteId, visitor: u64, dept: Option<DepartmentId>) -> (Vec<Effect>, Option<ChatId>) {
        let conn = self.conn();
        let fx = self.run(Command::StartChat(StartChat {
            conn,
            site,
            campaign: CAMPAIGN,
            department: dept,
            visitor: VisitorId(visitor),
            info: VisitorInfo { name: format!("visitor{visitor}"), ..Default::default() },
            texts: texts(),
        }));
        let chat = self.sb.open_chat(VisitorId(visitor), CAMPAIGN).map(|c| c.id);
        (fx, chat)
    }

    fn owner(&self, chat: ChatId) -> Option<u64> {
        self.sb.chat(chat).and_then(|c| c.agent()).map(|a| a.0)
    }

    fn status(&self, chat: ChatId) -> ChatStatus {
        self.sb.chat(chat).map(|c| c.status()).unwrap_or(ChatStatus::Ended)
    }

    fn end(&mut self, chat: ChatId) -> Vec<Effect> {
        let v = self.sb.chat(chat).map(|c| c.visitor).expect("chat");
        let conn = self.conn();
        self.run(Command::EndChat { conn, by: Party::Visitor(v), chat })
    }
}

fn appended(fx: &[Effect]) -> Vec<EventKind> {
    fx.iter().filter_map(|e| if let Effect::Append(ev) = e { Some(ev.kind.clone()) } else { None }).collect()
}

fn sent_to(fx: &[Effect], to: Target) -> Vec<Out> {
    fx.iter().filter_map(|e| if let Effect::Send(t, o) = e { (*t == to).then(|| o.clone()) } else { None }).collect()
}

fn errors(fx: &[Effect]) -> Vec<ErrorCode> {
    fx.iter()
        .filter_map(|e| if let Effect::Send(_, Out::Error { code, .. }) = e { Some(*code) } else { None })
        .collect()
}

#[test]
fn an_online_agent_gets_a_new_chat_at_once_with_numbered_events() {
    let mut h = H::new();
    h.online(1);
    let (fx, chat) = h.start(1, Some(SALES));
    let chat = chat.expect("chat");
    assert_eq!(h.owner(chat), Some(1));
    let kinds = appended(&fx);
    assert!(matches!(kinds[0], EventKind::System { ref text } if text == "Hello!"));
    assert!(matches!(kinds[1], EventKind::Queued { department: Some(SALES) }));
    assert!(matches!(kinds[2], EventKind::Assigned { agent: UserId(1), .. }));
    let seqs: Vec<u64> =
        fx.iter().filter_map(|e| if let Effect::Append(ev) = e { Some(ev.seq) } else { None }).collect();
    assert_eq!(seqs, vec![1, 2, 3]);
    assert!(sent_to(&fx, Target::Agent(UserId(1))).iter().any(|o| matches!(o, Out::Assigned(r) if r.id == chat)));
    // The summary is stored once, in its final state.
    let puts: Vec<&ChatRecord> =
        fx.iter().filter_map(|e| if let Effect::PutChat(r) = e { Some(r) } else { None }).collect();
    assert_eq!(puts.len(), 1);
    assert_eq!(puts[0].status(), ChatStatus::Active);
    assert_eq!(puts[0].last_seq, 3);
}

#[test]
fn nobody_online_or_away_means_leave_a_message() {
    let mut h = H::new();
    let (fx, chat) = h.start(1, Some(SALES));
    assert!(chat.is_none());
    assert!(fx.iter().any(|e| matches!(e, Effect::Send(Target::VisitorConn(_), Out::Offline { chat: None }))));
    assert!(appended(&fx).is_empty(), "nothing stored");
}

#[test]
fn away_agents_count_as_available_but_receive_no_chats() {
    let mut h = H::new();
    let c = h.online(1);
    h.away(1, c);
    let (fx, chat) = h.start(1, Some(SALES));
    let chat = chat.expect("chat starts while someone is away");
    assert_eq!(h.status(chat), ChatStatus::Queued);
    assert!(appended(&fx).iter().any(|k| matches!(k, EventKind::System { text } if text == "Please wait.")));
    assert!(sent_to(&fx, Target::Visitor(VisitorId(1))).contains(&Out::Queue { chat, position: 1, eta_secs: None }));
    h.run(Command::SetPresence { agent: UserId(1), conn: c, presence: Presence::Online });
    assert_eq!(h.owner(chat), Some(1));
}

#[test]
fn queues_are_first_in_first_out_and_capacity_is_respected() {
    let mut h = H::new();
    let c = h.online(1);
    h.away(1, c);
    let chats: Vec<ChatId> = (1..=3).map(|v| h.start(v, Some(SALES)).1.expect("chat")).collect();
    let fx = h.run(Command::SetPresence { agent: UserId(1), conn: c, presence: Presence::Online });
    assert_eq!(h.owner(chats[0]), Some(1));
    assert_eq!(h.owner(chats[1]), Some(1));
    assert_eq!(h.status(chats[2]), ChatStatus::Queued, "agent 1 is at max 2");
    assert!(sent_to(&fx, Target::Visitor(VisitorId(3))).iter().any(|o| matches!(o, Out::Queue { position: 1, .. })));
    h.end(chats[0]);
    assert_eq!(h.owner(chats[2]), Some(1), "freed capacity takes the next in line");
}

#[test]
fn round_robin_takes_turns() {
    let mut h = H::new();
    for a in [1, 2, 3] {
        h.online(a);
    }
    let owners: Vec<u64> =
        (1..=4).map(|v| h.start(v, Some(SALES)).1.and_then(|c| h.owner(c)).expect("owner")).collect();
    assert_eq!(owners, vec![1, 2, 3, 1]);
}

#[test]
fn least_busy_prefers_fewest_chats_then_longest_idle() {
    let mut h = H::new();
    h.directory(SITE, &[(1, 5), (2, 5)], &[(SUPPORT, AllocationRule::LeastBusy, &[1, 2])]);
    h.online(1);
    let a = h.start(1, Some(SUPPORT)).1.expect("chat");
    assert_eq!(h.owner(a), Some(1), "only agent 1 online");
    h.now += 1000;
    h.online(2);
    let b = h.start(2, Some(SUPPORT)).1.expect("chat");
    assert_eq!(h.owner(b), Some(2), "agent 2 has fewer chats");
    h.now += 1000;
    h.end(a);
    h.end(b);
    // Both idle now with no chats; agent 1 was assigned longest ago.
    h.now += 1000;
    let c = h.start(3, Some(SUPPORT)).1.expect("chat");
    assert_eq!(h.owner(c), Some(1));
}

#[test]
fn starting_twice_gives_the_same_chat() {
    let mut h = H::new();
    h.online(1);
    let (_, first) = h.start(7, Some(SALES));
    let (fx, second) = h.start(7, Some(SALES));
    assert_eq!(first, second);
    assert!(appended(&fx).is_empty());
    assert!(fx.iter().any(|e| matches!(e, Effect::Send(Target::VisitorConn(_), Out::Chat(r)) if Some(r.id) == first)));
}

#[test]
fn messages_are_acknowledged_with_their_seq_and_resends_are_not_stored_twice() {
    let mut h = H::new();
    let ac = h.online(1);
    let chat = h.start(1, Some(SALES)).1.expect("chat");
    let vc = h.conn();
    let msg = |client_id: &str| {
        Command::Message(NewMessage {
            file: None,
            conn: vc,
            from: Party::Visitor(VisitorId(1)),
            chat,
            client_id: client_id.into(),
            text: "hi".into(),
            note: false,
        })
    };
    let fx = h.run(msg("m1"));
    assert_eq!(appended(&fx).len(), 1);
    assert!(sent_to(&fx, Target::VisitorConn(vc)).contains(&Out::Ack { chat, client_id: "m1".into(), seq: 4 }));
    assert!(sent_to(&fx, Target::Agent(UserId(1))).iter().any(|o| matches!(o, Out::Event(e) if e.seq == 4)));
    assert!(!fx.iter().any(|e| matches!(e, Effect::PutChat(_))), "a message alone is one write: its event");
    let again = h.run(msg("m1"));
    assert!(appended(&again).is_empty(), "a resend stores nothing");
    assert!(sent_to(&again, Target::VisitorConn(vc)).contains(&Out::Ack { chat, client_id: "m1".into(), seq: 4 }));
    let reply = h.run(Command::Message(NewMessage {
        file: None,
        conn: ac,
        from: Party::Agent(UserId(1)),
        chat,
        client_id: "a1".into(),
        text: "hello".into(),
        note: false,
    }));
    assert!(sent_to(&reply, Target::Visitor(VisitorId(1))).iter().any(|o| matches!(o, Out::Event(e) if e.seq == 5)));
}

#[test]
fn notes_never_reach_the_visitor_and_visitors_cannot_write_them() {
    let mut h = H::new();
    let ac = h.online(1);
    let chat = h.start(1, Some(SALES)).1.expect("chat");
    let fx = h.run(Command::Message(NewMessage {
        file: None,
        conn: ac,
        from: Party::Agent(UserId(1)),
        chat,
        client_id: "n1".into(),
        text: "VIP".into(),
        note: true,
    }));
    assert!(matches!(appended(&fx)[0], EventKind::Note { .. }));
    assert!(sent_to(&fx, Target::Visitor(VisitorId(1))).is_empty());
    assert!(!sent_to(&fx, Target::Agent(UserId(1))).is_empty());
    let vc = h.conn();
    let fx = h.run(Command::Message(NewMessage {
        file: None,
        conn: vc,
        from: Party::Visitor(VisitorId(1)),
        chat,
        client_id: "x".into(),
        text: "sneaky".into(),
        note: true,
    }));
    assert_eq!(errors(&fx), vec![ErrorCode::NotAllowed]);
}

#[test]
fn bad_messages_get_explicit_errors_and_change_nothing() {
    let mut h = H::with(Config { max_message_bytes: 10, ..Config::default() });
    h.online(1);
    let ac = h.online(2);
    let chat = h.start(1, Some(SALES)).1.expect("chat");
    assert_eq!(h.owner(chat), Some(1));
    let cases = [
        (Party::Agent(UserId(2)), "hello", ErrorCode::ChatNotFound),
        (Party::Visitor(VisitorId(99)), "hello", ErrorCode::ChatNotFound),
        (Party::Visitor(VisitorId(1)), "   ", ErrorCode::EmptyMessage),
        (Party::Visitor(VisitorId(1)), "far too long text", ErrorCode::MessageTooLong),
    ];
    for (from, text, code) in cases {
        let fx = h.run(Command::Message(NewMessage {
            file: None,
            conn: ac,
            from,
            chat,
            client_id: "c".into(),
            text: text.into(),
            note: false,
        }));
        assert_eq!(errors(&fx), vec![code]);
        assert!(appended(&fx).is_empty());
    }
    let fx = h.run(Command::Message(NewMessage {
        file: None,
        conn: ac,
        from: Party::Visitor(VisitorId(1)),
        chat: ChatId(999),
        client_id: "c".into(),
        text: "x".into(),
        note: false,
    }));
    assert_eq!(errors(&fx), vec![ErrorCode::ChatNotFound]);
    h.end(chat);
    let fx = h.run(Command::Message(NewMessage {
        file: None,
        conn: ac,
        from: Party::Visitor(VisitorId(1)),
        chat,
        client_id: "late".into(),
        text: "x".into(),
        note: false,
    }));
    assert_eq!(errors(&fx), vec![ErrorCode::ChatEnded]);
}

#[test]
fn a_dropped_console_keeps_its_status_through_the_grace_period() {
    let mut h = H::new();
    let c = h.online(1);
    let fx = h.run(Command::AgentDisconnected { agent: UserId(1), conn: c });
    assert!(fx.contains(&Effect::SetTimer(TimerKey::Grace(UserId(1)), h.now + 30_000)));
    assert_eq!(h.sb.presence(UserId(1)), Presence::Online);
    h.now += 5_000;
    let c2 = h.online(1);
    h.now += 30_000;
    h.run(Command::Timer(TimerKey::Grace(UserId(1))));
    assert_eq!(h.sb.presence(UserId(1)), Presence::Online, "a reload within the grace loses nothing");
    h.run(Command::AgentDisconnected { agent: UserId(1), conn: c2 });
    h.now += 30_000;
    h.run(Command::Timer(TimerKey::Grace(UserId(1))));
    assert_eq!(h.sb.presence(UserId(1)), Presence::Offline);
}

#[test]
fn when_the_last_agent_leaves_waiting_visitors_may_leave_a_message() {
    let mut h = H::new();
    let c = h.online(1);
    h.away(1, c);
    let chat = h.start(1, Some(SALES)).1.expect("chat");
    let fx = h.run(Command::SetPresence { agent: UserId(1), conn: c, presence: Presence::Offline });
    assert_eq!(h.status(chat), ChatStatus::Ended);
    assert!(appended(&fx).contains(&EventKind::Ended { by: EndedBy::NoAgent }));
    assert!(sent_to(&fx, Target::Visitor(VisitorId(1))).contains(&Out::Offline { chat: Some(chat) }));
}

#[test]
fn the_maximum_queue_wait_ends_the_wait_with_leave_a_message() {
    let mut h = H::with(Config { max_queue_wait_ms: 120_000, ..Config::default() });
    let c = h.online(1);
    h.away(1, c);
    let (fx, chat) = h.start(1, Some(SALES));
    let chat = chat.expect("chat");
    assert!(fx.contains(&Effect::SetTimer(TimerKey::QueueWait(chat), h.now + 120_000)));
    h.now += 120_000;
    let fx = h.run(Command::Timer(TimerKey::QueueWait(chat)));
    assert_eq!(h.status(chat), ChatStatus::Ended);
    assert!(sent_to(&fx, Target::Visitor(VisitorId(1))).contains(&Out::Offline { chat: Some(chat) }));
    // A timer for a chat that was taken meanwhile does nothing.
    let chat2 = h.start(2, Some(SALES)).1.expect("chat");
    h.run(Command::SetPresence { agent: UserId(1), conn: c, presence: Presence::Online });
    let fx = h.run(Command::Timer(TimerKey::QueueWait(chat2)));
    assert!(appended(&fx).is_empty());
    assert_eq!(h.status(chat2), ChatStatus::Active);
}

#[test]
fn surveys_once_after_the_end_by_the_chats_visitor() {
    let mut h = H::new();
    h.online(1);
    let chat = h.start(1, Some(SALES)).1.expect("chat");
    let vc = h.conn();
    let survey = |visitor: u64, rating: u8| {
        Command::Survey(SurveyAnswer { conn: vc, visitor: VisitorId(visitor), chat, rating, comment: " great ".into() })
    };
    assert_eq!(errors(&h.run(survey(1, 5))), vec![ErrorCode::NotAllowed], "not before the end");
    h.end(chat);
    assert_eq!(errors(&h.run(survey(2, 5))), vec![ErrorCode::ChatNotFound]);
    assert_eq!(errors(&h.run(survey(1, 6))), vec![ErrorCode::InvalidRating]);
    let fx = h.run(survey(1, 4));
    assert_eq!(appended(&fx), vec![EventKind::Survey { rating: 4, comment: "great".into() }]);
    assert!(fx.iter().any(|e| matches!(e, Effect::PutChat(r) if r.survey.as_ref().is_some_and(|s| s.rating == 4))));
    assert_eq!(errors(&h.run(survey(1, 3))), vec![ErrorCode::NotAllowed], "only once");
}

#[test]
fn restore_rebuilds_queues_in_order_owners_and_exactly_once() {
    let mut h = H::new();
    let c = h.online(1);
    h.away(1, c);
    let q1 = h.start(1, Some(SALES)).1.expect("chat");
    h.now += 10;
    let q2 = h.start(2, Some(SALES)).1.expect("chat");
    h.run(Command::SetPresence { agent: UserId(1), conn: c, presence: Presence::Online });
    let q3 = h.start(3, Some(SALES)).1.expect("chat");
    assert_eq!(h.owner(q3), None, "agent 1 is full");
    let vc = h.conn();
    h.run(Command::Message(NewMessage {
        file: None,
        conn: vc,
        from: Party::Visitor(VisitorId(1)),
        chat: q1,
        client_id: "m1".into(),
        text: "hi".into(),
        note: false,
    }));
    // "Restart": a new switchboard from what the store would hold.
    let stored: Vec<RestoredChat> = [q3, q1, q2]
        .iter()
        .map(|id| {
            let c = &h.sb.chats[id];
            RestoredChat {
                record: c.rec.clone(),
                client_ids: c.client_ids.iter().map(|(k, v)| (k.to_string(), v)).collect(),
                owner_replied: c.owner_replied,
                conversation: c.conversation,
                open_offer: None,
            }
        })
        .collect();
    let mut r = H::new();
    r.now = h.now;
    r.sb.restore(stored, h.sb.next_chat, r.now);
    assert_eq!(r.sb.presence(UserId(1)), Presence::Offline, "agents come back Offline");
    assert_eq!(r.sb.agent_chats(UserId(1)), vec![q1, q2]);
    assert_eq!(r.sb.queue_position(q3).map(|p| p.0), Some(1));
    let again = r.run(Command::Message(NewMessage {
        file: None,
        conn: vc,
        from: Party::Visitor(VisitorId(1)),
        chat: q1,
        client_id: "m1".into(),
        text: "hi".into(),
        note: false,
    }));
    assert!(appended(&again).is_empty(), "a resend after the restart is not stored twice");
    r.online(1);
    assert_eq!(r.sb.queue_position(q3).map(|p| p.0), Some(1), "agent 1 is still full");
    let (_, new_chat) = r.start(9, Some(SALES));
    assert!(new_chat.expect("chat").0 > q3.0, "ids continue");
}

#[test]
fn across_queues_the_longest_wait_goes_first() {
    let mut h = H::new();
    h.directory(
        SITE,
        &[(1, 1)],
        &[(SALES, AllocationRule::RoundRobin, &[1]), (SUPPORT, AllocationRule::RoundRobin, &[1])],
    );
    let c = h.online(1);
    h.away(1, c);
    let support = h.start(1, Some(SUPPORT)).1.expect("chat");
    h.now += 5;
    let sales = h.start(2, Some(SALES)).1.expect("chat");
    h.run(Command::SetPresence { agent: UserId(1), conn: c, presence: Presence::Online });
    assert_eq!(h.owner(support), Some(1));
    assert_eq!(h.status(sales), ChatStatus::Queued);
}

#[test]
fn sites_never_share_agents() {
    let mut h = H::new();
    h.directory(OTHER_SITE, &[(50, 5)], &[]);
    let c = h.conn();
    h.run(Command::AgentConnected { agent: profile(50, OTHER_SITE, 5), conn: c });
    let (fx, chat) = h.start(1, None);
    assert!(chat.is_none(), "site 1 has nobody available; site 2's agent does not count");
    assert!(fx.iter().any(|e| matches!(e, Effect::Send(_, Out::Offline { .. }))));
    h.online(1);
    let chat = h.start(2, None).1.expect("chat");
    assert_eq!(h.owner(chat), Some(1));
}

#[test]
fn typing_is_relayed_to_the_other_side_only() {
    let mut h = H::new();
    let ac = h.online(1);
    let chat = h.start(1, Some(SALES)).1.expect("chat");
    let vc = h.conn();
    let fx = h.run(Command::Typing { conn: vc, from: Party::Visitor(VisitorId(1)), chat, on: true });
    assert_eq!(sent_to(&fx, Target::Agent(UserId(1))), vec![Out::Typing { chat, by_agent: false, on: true }]);
    let fx = h.run(Command::Typing { conn: ac, from: Party::Agent(UserId(1)), chat, on: true });
    assert_eq!(sent_to(&fx, Target::Visitor(VisitorId(1))), vec![Out::Typing { chat, by_agent: true, on: true }]);
    let fx = h.run(Command::Typing { conn: ac, from: Party::Agent(UserId(2)), chat, on: true });
    assert_eq!(errors(&fx), vec![ErrorCode::ChatNotFound]);
}

#[test]
fn the_estimated_wait_comes_from_recent_real_waits() {
    let mut h = H::new();
    h.directory(SITE, &[(1, 1)], &[(SALES, AllocationRule::RoundRobin, &[1])]);
    let c = h.online(1);
    h.away(1, c);
    let early = h.start(9, Some(SALES)).1.expect("chat");
    assert_eq!(h.sb.queue_position(early), Some((1, None)), "no history yet: no estimate");
    h.end(early);
    h.run(Command::SetPresence { agent: UserId(1), conn: c, presence: Presence::Online });
    let first = h.start(1, Some(SALES)).1.expect("chat");
    let waiting = h.start(2, Some(SALES)).1.expect("chat");
    h.now += 60_000;
    h.end(first);
    assert_eq!(h.owner(waiting), Some(1), "taken after waiting 60 s");
    // Waits so far: 0 s and 60 s; the median (upper) is 60 s, shared by the one Online member.
    let third = h.start(3, Some(SALES)).1.expect("chat");
    let fourth = h.start(4, Some(SALES)).1.expect("chat");
    assert_eq!(h.sb.queue_position(third), Some((1, Some(60))));
    assert_eq!(h.sb.queue_position(fourth), Some((2, Some(120))));
}

#[test]
fn a_deleted_department_hands_its_waiting_chats_to_the_site_queue() {
    let mut h = H::new();
    let c = h.online(1);
    h.away(1, c);
    let chat = h.start(1, Some(SALES)).1.expect("chat");
    h.directory(SITE, &[(1, 2)], &[]);
    assert_eq!(h.sb.chat(chat).and_then(|c| c.department), None);
    h.run(Command::SetPresence { agent: UserId(1), conn: c, presence: Presence::Online });
    assert_eq!(h.owner(chat), Some(1));
}

#[test]
fn a_console_opened_later_starts_in_the_status_last_chosen() {
    let mut h = H::new();
    let conn = h.online(1);
    let fx = h.away(1, conn);
    assert!(fx.contains(&Effect::PutAway { site: SITE, agent: UserId(1), away: true }), "the choice is stored");
    // Choosing Away again stores nothing new.
    assert!(!h.away(1, conn).iter().any(|e| matches!(e, Effect::PutAway { .. })));
    h.run(Command::AgentDisconnected { agent: UserId(1), conn });
    h.now += 31_000;
    h.run(Command::Timer(TimerKey::Grace(UserId(1))));
    assert_eq!(h.sb.presence(UserId(1)), Presence::Offline);
    // Agent 2 keeps the site available; a chat waits, and agent 1's new console is Away.
    let two = h.online(2);
    h.away(2, two);
    let (_, chat) = h.start(7, None);
    let back = h.online(1);
    assert_eq!(h.sb.presence(UserId(1)), Presence::Away);
    assert_eq!(chat.and_then(|c| h.owner(c)), None, "no chat for an agent who chose Away");
    // Signing off with Offline: the next console starts Online again, and takes the chat.
    let fx = h.run(Command::SetPresence { agent: UserId(1), conn: back, presence: Presence::Offline });
    assert!(fx.contains(&Effect::PutAway { site: SITE, agent: UserId(1), away: false }));
    h.online(1);
    assert_eq!(h.sb.presence(UserId(1)), Presence::Online);
    assert_eq!(chat.and_then(|c| h.owner(c)), Some(1));
}

#[test]
fn a_resend_is_recognized_within_the_window_and_memory_stays_bounded() {
    let mut ids = RecentIds::default();
    for i in 0..(RESEND_WINDOW as u64 * 3) {
        ids.insert(format!("v:m{i}"), i + 1);
    }
    assert_eq!(ids.iter().count(), RESEND_WINDOW, "only the latest are kept");
    let last = RESEND_WINDOW as u64 * 3 - 1;
    assert_eq!(ids.get(&format!("v:m{last}")), Some(last + 1));
    let oldest_kept = last + 1 - RESEND_WINDOW as u64;
    assert_eq!(ids.get(&format!("v:m{oldest_kept}")), Some(oldest_kept + 1));
    assert_eq!(ids.get(&format!("v:m{}", oldest_kept - 1)), None);
    let restored = RecentIds::of((0..200u64).map(|i| (format!("a:{i}"), i)));
    assert_eq!(restored.get("a:199"), Some(199));
    assert_eq!(restored.get("a:100"), None, "a restart keeps the latest too");
}
