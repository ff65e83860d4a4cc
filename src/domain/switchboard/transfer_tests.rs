//! Every kind of transfer and its races, with virtual time.

use super::*;
use crate::domain::chat::{EventKind, StopReason, Withdrawal};
use crate::domain::model::Campaign;

const SITE: SiteId = SiteId(1);
const SITE_B: SiteId = SiteId(2);
const CAMPAIGN: CampaignId = CampaignId(10);
const CAMPAIGN_B: CampaignId = CampaignId(20);
const DESK: DepartmentId = DepartmentId(100);
const DESK_B: DepartmentId = DepartmentId(200);
const OFFER_MS: u64 = 30_000;

struct H {
    sb: Switchboard,
    now: Millis,
    conns: HashMap<u64, ConnId>,
    next: u64,
}

fn profile(id: u64, site: SiteId) -> AgentProfile {
    AgentProfile { id: UserId(id), site, name: format!("agent{id}"), max_chats: 2, active: true, ..Default::default() }
}

impl H {
    /// Site 1: agents 1, 2, 3 in DESK (round robin). Site 2: agents 21, 22 in DESK_B.
    /// Sites 1 and 2 share a group. Agents 1 and 21 online; the rest offline.
    fn new() -> H {
        let mut h = H { sb: Switchboard::new(Config::default()), now: 1_000_000, conns: HashMap::new(), next: 0 };
        // Each site's campaign tells visitors of transfers, in its own words.
        let dir = |site, name: &str, ids: &[u64], dept, campaign, (transfer, queue): (&str, &str)| {
            let departments = vec![DepartmentProfile {
                id: dept,
                site,
                name: "Desk".into(),
                rule: AllocationRule::RoundRobin,
                members: ids.iter().map(|i| UserId(*i)).collect(),
            }];
            let mut c = Campaign::test(campaign, site);
            c.notify_transfer = true;
            c.messages.transfer = Some(transfer.into());
            c.messages.queue = Some(queue.into());
            let mut d = SiteDirectory::test(site, ids.iter().map(|i| profile(*i, site)).collect(), departments);
            d.name = name.into();
            Command::Directory(Box::new(d.with_campaign(c)))
        };
        h.run(dir(
            SITE,
            "Acme",
            &[1, 2, 3],
            DESK,
            CAMPAIGN,
            ("You are being transferred.", "Please wait for your agent."),
        ));
        h.run(dir(SITE_B, "Globex", &[21, 22], DESK_B, CAMPAIGN_B, ("Willkommen bei Globex", "Bitte warten")));
        h.run(Command::Groups(vec![vec![SITE, SITE_B]]));
        h.online(1);
        h.online(21);
        h
    }

    fn run(&mut self, cmd: Command) -> Vec<Effect> {
        self.sb.handle(cmd, self.now)
    }

    fn online(&mut self, id: u64) {
        self.next += 1;
        let conn = ConnId(self.next);
        self.conns.insert(id, conn);
        let site = if id > 20 { SITE_B } else { SITE };
        self.run(Command::AgentConnected { agent: profile(id, site), conn });
    }

    fn presence(&mut self, id: u64, presence: Presence) -> Vec<Effect> {
        let conn = self.conns[&id];
        self.run(Command::SetPresence { agent: UserId(id), conn, presence })
    }

    /// A chat of visitor `v`, taken by agent 1 (the only one online at first).
    fn chat(&mut self, v: u64) -> ChatId {
        self.run(Command::StartChat(StartChat {
            conn: ConnId(999),
            site: SITE,
            campaign: CAMPAIGN,
            department: Some(DESK),
            visitor: VisitorId(v),
            info: VisitorInfo { name: "Vera".into(), email: "vera@example.com".into(), ..Default::default() },
            texts: ChatTexts { greeting: "Hello".into(), queue: "Wait".into() },
        }));
        self.sb.open_chat(VisitorId(v), CAMPAIGN).map(|c| c.id).expect("chat")
    }

    fn transfer(&mut self, from: u64, chat: ChatId, to: TransferTo) -> Vec<Effect> {
        let conn = self.conns.get(&from).copied().unwrap_or(ConnId(0));
        let comment = "VIP, wants a refund".into();
        self.run(Command::Transfer(Box::new(TransferRequest { conn, agent: UserId(from), chat, to, comment })))
    }

    fn answer(&mut self, agent: u64, chat: ChatId, accept: bool, reason: &str) -> Vec<Effect> {
        let conn = self.conns[&agent];
        self.run(Command::AnswerOffer(OfferAnswer { conn, agent: UserId(agent), chat, accept, reason: reason.into() }))
    }

    fn owner(&self, chat: ChatId) -> Option<u64> {
        self.sb.chat(chat).and_then(|c| c.agent()).map(|a| a.0)
    }
}

fn to_agent(agent: u64, mode: AgentMode) -> TransferTo {
    TransferTo::Agent { agent: UserId(agent), mode, fallback_ms: 0 }
}

fn sent(fx: &[Effect], to: Target) -> Vec<Out> {
    fx.iter().filter_map(|e| if let Effect::Send(t, o) = e { (*t == to).then(|| o.clone()) } else { None }).collect()
}

fn errors(fx: &[Effect]) -> Vec<ErrorCode> {
    fx.iter()
        .filter_map(|e| if let Effect::Send(_, Out::Error { code, .. }) = e { Some(*code) } else { None })
        .collect()
}

fn steps(fx: &[Effect]) -> Vec<(TransferKind, TransferOutcome)> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Append(ChatEvent { kind: EventKind::Transfer { transfer, outcome, .. }, .. }) => {
                Some((*transfer, *outcome))
            }
            _ => None,
        })
        .collect()
}

/// The source's `transfer` frames: outcome, reason code, the decliner's words, the note.
fn status(fx: &[Effect], agent: u64) -> Vec<(TransferOutcome, Option<StopReason>, String, String)> {
    sent(fx, Target::Agent(UserId(agent)))
        .into_iter()
        .filter_map(|o| match o {
            Out::TransferStatus { outcome, reason, decline_text, note, .. } => {
                Some((outcome, reason, decline_text, note))
            }
            _ => None,
        })
        .collect()
}

fn visitor_texts(fx: &[Effect], v: u64) -> Vec<String> {
    sent(fx, Target::Visitor(VisitorId(v)))
        .into_iter()
        .filter_map(|o| {
            if let Out::Event(ChatEvent { kind: EventKind::System { text }, .. }) = o { Some(text) } else { None }
        })
        .collect()
}

#[test]
fn cold_transfer_moves_the_chat_at_once_with_history_and_comment() {
    let mut h = H::new();
    h.online(2);
    let chat = h.chat(1);
    assert_eq!(h.owner(chat), Some(1));
    let fx = h.transfer(1, chat, to_agent(2, AgentMode::Cold));
    assert_eq!(h.owner(chat), Some(2));
    assert!(sent(&fx, Target::Agent(UserId(1))).contains(&Out::Unassigned { chat }), "the source loses it");
    assert!(sent(&fx, Target::Agent(UserId(2))).iter().any(|o| matches!(o, Out::Assigned(r) if r.id == chat)));
    assert_eq!(steps(&fx), vec![(TransferKind::Cold, TransferOutcome::Completed)]);
    assert!(fx.iter().any(|e| matches!(e, Effect::Append(ChatEvent { kind: EventKind::Transfer { comment, replied: false, .. }, .. }) if comment == "VIP, wants a refund")));
    assert_eq!(visitor_texts(&fx, 1), vec!["You are being transferred."]);
    assert!(
        !sent(&fx, Target::Visitor(VisitorId(1)))
            .iter()
            .any(|o| matches!(o, Out::Event(ChatEvent { kind: EventKind::Transfer { .. }, .. }))),
        "comments stay among agents"
    );
}

#[test]
fn cold_transfer_refuses_offline_full_and_foreign_targets() {
    let mut h = H::new();
    let chat = h.chat(1);
    assert_eq!(errors(&h.transfer(1, chat, to_agent(2, AgentMode::Cold))), vec![ErrorCode::TargetUnavailable]);
    assert_eq!(
        errors(&h.transfer(1, chat, to_agent(21, AgentMode::Cold))),
        vec![ErrorCode::UnknownTarget],
        "another site's agent"
    );
    assert_eq!(errors(&h.transfer(1, chat, to_agent(1, AgentMode::Cold))), vec![ErrorCode::UnknownTarget], "oneself");
    h.online(2);
    h.chat(2);
    h.chat(3);
    h.chat(4);
    // Round robin: 1 had chat 1; 2 got visitor 2; 1 got 3; 2 got 4: agent 2 is full.
    assert_eq!(errors(&h.transfer(1, chat, to_agent(2, AgentMode::Cold))), vec![ErrorCode::TargetFull]);
    assert_eq!(
        errors(&h.transfer(2, chat, to_agent(3, AgentMode::Cold))),
        vec![ErrorCode::ChatNotFound],
        "only the owner transfers"
    );
    assert_eq!(h.owner(chat), Some(1));
}

#[test]
fn warm_transfer_declined_then_accepted_by_another_with_the_note_kept() {
    let mut h = H::new();
    h.online(2);
    h.online(3);
    let chat = h.chat(1);
    let fx = h.transfer(1, chat, to_agent(2, AgentMode::Warm));
    let offer = sent(&fx, Target::Agent(UserId(2)));
    assert!(
        matches!(&offer[..], [Out::Offer { note, from: UserId(1), broadcast: false, .. }] if note == "VIP, wants a refund")
    );
    assert!(fx.contains(&Effect::SetTimer(TimerKey::Offer(chat), h.now + OFFER_MS)));
    assert_eq!(errors(&h.transfer(1, chat, to_agent(3, AgentMode::Warm))), vec![ErrorCode::TransferPending]);
    // The source keeps chatting with the visitor meanwhile.
    let conn = h.conns[&1];
    let msg = h.run(Command::Message(NewMessage {
        file: None,
        conn,
        from: Party::Agent(UserId(1)),
        chat,
        client_id: "a1".into(),
        text: "One moment".into(),
        note: false,
    }));
    assert!(errors(&msg).is_empty());
    let fx = h.answer(2, chat, false, "in a meeting");
    assert_eq!(
        status(&fx, 1),
        vec![(
            TransferOutcome::Declined,
            Some(StopReason::Declined),
            "in a meeting".into(),
            "VIP, wants a refund".into()
        )]
    );
    assert_eq!(h.owner(chat), Some(1));
    assert_eq!(h.sb.chats[&chat].last_note, "VIP, wants a refund", "kept for the next attempt");
    h.transfer(1, chat, to_agent(3, AgentMode::Warm));
    let fx = h.answer(3, chat, true, "");
    assert_eq!(status(&fx, 1)[0].0, TransferOutcome::Accepted);
    assert_eq!(h.owner(chat), Some(1), "not before 'transfer now'");
    assert!(h.sb.agents[&UserId(3)].reserved.contains(&chat), "the place is held");
    let conn = h.conns[&1];
    let fx = h.run(Command::CompleteTransfer { conn, agent: UserId(1), chat });
    assert_eq!(h.owner(chat), Some(3));
    assert!(h.sb.agents[&UserId(3)].reserved.is_empty());
    assert!(steps(&fx).contains(&(TransferKind::Warm, TransferOutcome::Completed)));
    assert!(
        fx.iter()
            .any(|e| matches!(e, Effect::Append(ChatEvent { kind: EventKind::Transfer { replied: true, .. }, .. }))),
        "the source had replied"
    );
}

#[test]
fn an_unanswered_offer_expires_and_a_late_accept_is_refused() {
    let mut h = H::new();
    h.online(2);
    let chat = h.chat(1);
    h.transfer(1, chat, to_agent(2, AgentMode::Warm));
    h.now += OFFER_MS;
    let fx = h.run(Command::Timer(TimerKey::Offer(chat)));
    assert_eq!(
        status(&fx, 1),
        vec![(TransferOutcome::Expired, Some(StopReason::NoAnswer), String::new(), "VIP, wants a refund".into())]
    );
    assert!(sent(&fx, Target::Agent(UserId(2))).contains(&Out::OfferWithdrawn { chat, reason: Withdrawal::Expired }));
    assert_eq!(errors(&h.answer(2, chat, true, "")), vec![ErrorCode::OfferGone]);
    assert_eq!(h.owner(chat), Some(1));
}

#[test]
fn an_accept_just_before_the_timeout_wins_and_the_timer_then_does_nothing() {
    let mut h = H::new();
    h.online(2);
    let chat = h.chat(1);
    h.transfer(1, chat, to_agent(2, AgentMode::Warm));
    h.now += OFFER_MS - 1;
    h.answer(2, chat, true, "");
    h.now += 1;
    let fx = h.run(Command::Timer(TimerKey::Offer(chat)));
    assert!(status(&fx, 1).is_empty());
    let conn = h.conns[&1];
    h.run(Command::CompleteTransfer { conn, agent: UserId(1), chat });
    assert_eq!(h.owner(chat), Some(2));
}

#[test]
fn the_source_can_cancel_and_an_ending_chat_withdraws_the_offer() {
    let mut h = H::new();
    h.online(2);
    let chat = h.chat(1);
    h.transfer(1, chat, to_agent(2, AgentMode::Warm));
    let conn = h.conns[&1];
    let fx = h.run(Command::CancelTransfer { conn, agent: UserId(1), chat });
    assert!(sent(&fx, Target::Agent(UserId(2))).contains(&Out::OfferWithdrawn { chat, reason: Withdrawal::Cancelled }));
    assert_eq!(errors(&h.run(Command::CancelTransfer { conn, agent: UserId(1), chat })), vec![ErrorCode::NoTransfer]);
    h.transfer(1, chat, to_agent(2, AgentMode::Warm));
    let fx = h.run(Command::EndChat { conn: ConnId(999), by: Party::Visitor(VisitorId(1)), chat });
    assert!(sent(&fx, Target::Agent(UserId(2))).contains(&Out::OfferWithdrawn { chat, reason: Withdrawal::ChatEnded }));
    assert_eq!(errors(&h.answer(2, chat, true, "")), vec![ErrorCode::OfferGone]);
    // The history says what became of the offer, before the end.
    let kinds: Vec<String> = fx
        .iter()
        .filter_map(|e| match e {
            Effect::Append(ChatEvent { kind: EventKind::Transfer { outcome, reason, .. }, .. }) => {
                Some(format!("transfer {outcome:?} {reason:?}"))
            }
            Effect::Append(ChatEvent { kind: EventKind::Ended { .. }, .. }) => Some("ended".into()),
            _ => None,
        })
        .collect();
    assert_eq!(kinds, ["transfer Cancelled Some(ChatEnded)", "ended"]);
}

#[test]
fn a_target_going_offline_fails_the_offer_and_a_departed_source_hands_over() {
    let mut h = H::new();
    h.online(2);
    let chat = h.chat(1);
    h.transfer(1, chat, to_agent(2, AgentMode::Warm));
    let fx = h.presence(2, Presence::Offline);
    assert_eq!(
        status(&fx, 1)[0],
        (TransferOutcome::Declined, Some(StopReason::Unavailable), String::new(), "VIP, wants a refund".into())
    );
    // The source disconnects for good while its accepted offer waits for "transfer now".
    h.presence(2, Presence::Online);
    h.transfer(1, chat, to_agent(2, AgentMode::Warm));
    h.answer(2, chat, true, "");
    let conn = h.conns[&1];
    h.run(Command::AgentDisconnected { agent: UserId(1), conn });
    h.now += 30_000;
    h.run(Command::Timer(TimerKey::Grace(UserId(1))));
    assert_eq!(h.owner(chat), Some(2), "the chat is not lost");
}

#[test]
fn transfer_anyway_waits_for_the_agent_and_falls_back_to_the_queue() {
    let mut h = H::new();
    let chat = h.chat(1);
    let fx = h.transfer(1, chat, TransferTo::Agent { agent: UserId(2), mode: AgentMode::Anyway, fallback_ms: 0 });
    assert_eq!(h.owner(chat), None);
    assert_eq!(h.sb.chat(chat).and_then(|c| c.waiting_for()), Some(UserId(2)));
    assert!(visitor_texts(&fx, 1).contains(&"Please wait for your agent.".to_string()));
    assert_eq!(steps(&fx), vec![(TransferKind::Unavailable, TransferOutcome::Waiting)]);
    h.online(2);
    assert_eq!(h.owner(chat), Some(2), "delivered when they come online");
    // With a fallback: back to the department queue after it.
    let chat2 = h.chat(2);
    let owner = h.owner(chat2).expect("taken");
    h.transfer(owner, chat2, TransferTo::Agent { agent: UserId(3), mode: AgentMode::Anyway, fallback_ms: 300_000 });
    assert_eq!(h.owner(chat2), None);
    h.now += 300_000;
    h.run(Command::Timer(TimerKey::Fallback(chat2)));
    assert!(h.owner(chat2).is_some(), "the queue gave it to someone available");
    assert_eq!(h.sb.chat(chat2).and_then(|c| c.waiting_for()), None);
}

#[test]
fn a_queue_transfer_goes_to_the_first_available_or_waits_in_fair_order() {
    let mut h = H::new();
    let chat = h.chat(1);
    h.online(2);
    let fx = h.transfer(1, chat, TransferTo::Department { department: DESK, broadcast: false });
    assert_eq!(steps(&fx), vec![(TransferKind::Queue, TransferOutcome::Completed)]);
    assert_eq!(h.owner(chat), Some(2), "the department's rule picks agent 2, never the sender");
    // Nobody free: the chat waits in the queue, behind those already waiting.
    h.presence(1, Presence::Away);
    h.presence(2, Presence::Away);
    let waiting = h.chat(7);
    assert_eq!(
        errors(&h.transfer(2, chat, TransferTo::Department { department: DepartmentId(999), broadcast: false })),
        vec![ErrorCode::UnknownTarget]
    );
    h.transfer(2, chat, TransferTo::Department { department: DESK, broadcast: false });
    assert_eq!(h.owner(chat), None);
    assert_eq!(h.sb.queue_position(waiting).map(|p| p.0), Some(1));
    assert_eq!(h.sb.queue_position(chat).map(|p| p.0), Some(2));
    h.presence(1, Presence::Online);
    assert_eq!((h.owner(waiting), h.owner(chat)), (Some(1), Some(1)), "in order, as capacity allows");
}

#[test]
fn a_broadcast_goes_to_every_available_member_and_the_first_to_accept_wins() {
    let mut h = H::new();
    h.online(2);
    h.online(3);
    let chat = h.chat(1);
    let fx = h.transfer(1, chat, TransferTo::Department { department: DESK, broadcast: true });
    for a in [2, 3] {
        assert!(
            sent(&fx, Target::Agent(UserId(a))).iter().any(|o| matches!(o, Out::Offer { broadcast: true, .. })),
            "agent {a} alerted"
        );
    }
    assert!(sent(&fx, Target::Agent(UserId(1))).iter().all(|o| !matches!(o, Out::Offer { .. })), "not the source");
    let fx = h.answer(3, chat, true, "");
    assert_eq!(h.owner(chat), Some(3), "taken at once");
    assert!(sent(&fx, Target::Agent(UserId(2))).contains(&Out::OfferWithdrawn { chat, reason: Withdrawal::Taken }));
    assert_eq!(errors(&h.answer(2, chat, true, "")), vec![ErrorCode::OfferGone], "the second is told");
    // Nobody available: refused.
    h.presence(2, Presence::Offline);
    let c = h.chat(5);
    let owner = h.owner(c).expect("taken");
    let others = if owner == 1 { 3 } else { 1 };
    h.presence(others, Presence::Offline);
    assert_eq!(
        errors(&h.transfer(owner, c, TransferTo::Department { department: DESK, broadcast: true })),
        vec![ErrorCode::NoOneAvailable]
    );
}

#[test]
fn a_broadcast_declined_by_everyone_fails_for_the_source() {
    let mut h = H::new();
    h.online(2);
    let chat = h.chat(1);
    h.transfer(1, chat, TransferTo::Department { department: DESK, broadcast: true });
    let fx = h.answer(2, chat, false, "busy");
    assert_eq!(status(&fx, 1)[0].0, TransferOutcome::Declined);
}

fn cross(with_transcript: bool) -> TransferTo {
    TransferTo::Site { site: SITE_B, department: Some(DESK_B), agent: None, with_transcript: Some(with_transcript) }
}

#[test]
fn a_cross_site_transfer_ends_the_chat_here_and_starts_one_there() {
    let mut h = H::new();
    let chat = h.chat(1);
    let last = h.sb.chat(chat).map(|c| c.last_seq).expect("chat");
    let fx = h.transfer(1, chat, cross(true));
    let old = h.sb.chat(chat).expect("old");
    assert_eq!((old.status(), old.ended_by()), (ChatStatus::Ended, Some(EndedBy::Transfer)));
    assert!(sent(&fx, Target::Agent(UserId(1))).contains(&Out::Unassigned { chat }));
    let new = h.sb.open_chat(VisitorId(1), CAMPAIGN).cloned().expect("the visitor's window finds the new chat");
    assert_ne!(new.id, chat);
    assert_eq!((new.site, new.campaign), (SITE_B, CAMPAIGN_B));
    assert_eq!(new.agent(), Some(UserId(21)));
    let greeted = |fx: &[Effect], id: ChatId| {
        sent(fx, Target::Visitor(VisitorId(1))).iter().any(|o| {
            matches!(o, Out::Event(e) if e.chat == id
                && matches!(&e.kind, EventKind::System { text } if text == "Willkommen bei Globex"))
        })
    };
    assert!(greeted(&fx, new.id), "the receiving campaign's own words, though an agent took it at once");
    assert_eq!((new.info.name.as_str(), new.info.email.as_str()), ("Vera", "vera@example.com"));
    let origin = new.origin.clone().expect("transfer log");
    assert_eq!(
        (origin.site, origin.chat, origin.agent, origin.comment.as_str()),
        (SITE, chat, UserId(1), "VIP, wants a refund")
    );
    // The conversation comes along: its messages and system texts among events 1..=last (+ the
    // source's closing ones), as the new chat's first events.
    let copy = fx.iter().find_map(|e| {
        if let Effect::CopyEvents { from, to, up_to, copied } = e { Some((*from, *to, *up_to, *copied)) } else { None }
    });
    let (from, to, up_to, copied) = copy.expect("a copy");
    assert_eq!((from, to.1), ((SITE, chat), new.id));
    assert!(up_to > last);
    assert!(copied > 0 && copied < up_to, "notes, the transfer step and the end stay behind");
    assert_eq!(origin.copied, copied);
    assert!(
        sent(&fx, Target::Visitor(VisitorId(1))).iter().any(|o| matches!(o, Out::Chat(r) if r.id == new.id)),
        "the window switches"
    );
    // The source can no longer act on it.
    let conn = h.conns[&1];
    let e = h.run(Command::Message(NewMessage {
        file: None,
        conn,
        from: Party::Agent(UserId(1)),
        chat: new.id,
        client_id: "x".into(),
        text: "hi".into(),
        note: false,
    }));
    assert_eq!(errors(&e), vec![ErrorCode::ChatNotFound]);
}

#[test]
fn cross_site_rules_groups_availability_and_the_transcript_box() {
    let mut h = H::new();
    let chat = h.chat(1);
    h.run(Command::Groups(vec![]));
    assert_eq!(errors(&h.transfer(1, chat, cross(true))), vec![ErrorCode::NotInGroup]);
    h.run(Command::Groups(vec![vec![SITE, SITE_B]]));
    h.presence(21, Presence::Offline);
    assert_eq!(
        errors(&h.transfer(1, chat, cross(true))),
        vec![ErrorCode::SiteUnavailable],
        "the target lost its last agent"
    );
    assert_eq!(h.owner(chat), Some(1), "the chat stays");
    h.presence(21, Presence::Away);
    let fx = h.transfer(1, chat, cross(false));
    assert!(!fx.iter().any(|e| matches!(e, Effect::CopyEvents { .. })), "without transcript");
    let new = h.sb.open_chat(VisitorId(1), CAMPAIGN_B).cloned().expect("new chat");
    assert_eq!(new.status(), ChatStatus::Queued, "agent 21 is away: it waits in site 2's queue");
    assert!(
        sent(&fx, Target::Visitor(VisitorId(1))).iter().any(|o| matches!(o, Out::Event(e) if e.chat == new.id
            && matches!(&e.kind, EventKind::System { text } if text == "Willkommen bei Globex"))),
        "and when it waits"
    );
    h.presence(21, Presence::Online);
    assert_eq!(h.sb.chat(new.id).and_then(|c| c.agent()), Some(UserId(21)));
}

#[test]
fn the_picker_searches_names_emails_departments_and_skills_of_the_sites_it_may_reach() {
    let mut h = H::new();
    // Agent 2 speaks German; agent 22 (site 2) handles refunds.
    let mut dir = h.sb.sites[&SITE].clone();
    dir.agents[1].skills = vec!["German".into()];
    dir.agents[1].email = "bea@acme.example".into();
    h.run(Command::Directory(Box::new(dir)));
    let mut dir = h.sb.sites[&SITE_B].clone();
    dir.agents[1].skills = vec!["refunds".into()];
    h.run(Command::Directory(Box::new(dir)));
    let ids = |t: &Targets| t.agents.iter().map(|a| a.id.0).collect::<Vec<_>>();

    let all = h.sb.targets(UserId(1), "", None, h.now);
    assert_eq!(ids(&all), [2, 3, 21, 22], "everyone but the asking agent, of both sites");
    assert_eq!(all.departments.len(), 2);
    let site_b = all.sites.iter().find(|s| s.id == SITE_B).expect("the group's site");
    assert!(site_b.can_receive, "agent 21 is online there");
    assert_eq!(site_b.name, "Globex");
    assert!(all.agents.iter().any(|a| a.id == UserId(21) && a.presence == Presence::Online));

    assert_eq!(ids(&h.sb.targets(UserId(1), "germ", None, h.now)), [2], "by skill, any case");
    assert_eq!(ids(&h.sb.targets(UserId(1), "bea@", None, h.now)), [2], "by email");
    assert_eq!(ids(&h.sb.targets(UserId(1), "REFUNDS", None, h.now)), [22]);
    assert_eq!(ids(&h.sb.targets(UserId(1), "desk", Some(SITE_B), h.now)), [21, 22], "by department, of one site");
    let none = h.sb.targets(UserId(1), "nobody here", None, h.now);
    assert!(none.agents.is_empty() && none.departments.is_empty());
    // Without a shared group, the other site is out of reach.
    h.run(Command::Groups(vec![]));
    let alone = h.sb.targets(UserId(1), "", None, h.now);
    assert_eq!(ids(&alone), [2, 3]);
    assert!(alone.sites.is_empty());
}

/// A visitor chatting in two windows (two campaigns of site 1) whose chats both move to site 2
/// and back: each window keeps finding the chat it was showing, and no window takes another's.
#[test]
fn each_window_follows_its_own_chat_through_cross_site_moves() {
    let mut h = H::new();
    let v = VisitorId(1);
    let other = CampaignId(11);
    let r0 = h.chat(1);
    let info = VisitorInfo { name: "Vera".into(), ..Default::default() };
    let texts = ChatTexts::default();
    h.run(Command::StartChat(StartChat {
        conn: ConnId(998),
        site: SITE,
        campaign: other,
        department: Some(DESK),
        visitor: v,
        info,
        texts,
    }));
    let r1 = h.sb.open_chat(v, other).map(|c| c.id).expect("the second window's chat");
    let window = |h: &H, campaign| h.sb.open_chat(v, campaign).map(|c| c.id);
    let back = TransferTo::Site { site: SITE, department: Some(DESK), agent: None, with_transcript: Some(true) };

    h.transfer(1, r1, cross(true));
    let t = window(&h, other).expect("window 11 follows to site 2");
    h.transfer(1, r0, cross(true));
    let s = window(&h, CAMPAIGN).expect("window 10 follows to site 2");
    assert_ne!(s, t);
    assert_eq!(window(&h, CAMPAIGN_B), Some(t), "site 2's own window shows the first chat that came");

    h.transfer(21, s, back.clone());
    let y = window(&h, CAMPAIGN).expect("window 10 follows back to site 1");
    assert_eq!(window(&h, other), Some(t), "window 11 still shows its chat");
    assert_eq!(window(&h, CAMPAIGN_B), Some(t), "the move of another chat took nothing from it");

    h.transfer(21, t, back);
    let y2 = window(&h, other).expect("window 11 follows back to site 1");
    assert_ne!(y, y2);
    assert_eq!(window(&h, CAMPAIGN), Some(y));
    // Every open chat is found, and no window shows an ended one.
    for (key, id) in &h.sb.open_by_visitor {
        assert_ne!(h.sb.chat(*id).map(|c| c.status()), Some(ChatStatus::Ended), "{key:?}");
    }
}

#[test]
fn a_restart_withdraws_an_open_offer_and_records_why() {
    use crate::domain::chat::OpenOffer;
    let mut h = H::new();
    h.online(2);
    let chat = h.chat(1);
    let fx = h.transfer(1, chat, to_agent(2, AgentMode::Warm));
    // What the store holds: the chat and its events; the offered step is the last one.
    let mut open = None;
    for e in &fx {
        if let Effect::Append(ev) = e {
            OpenOffer::follow(&mut open, &ev.kind);
        }
    }
    assert!(open.as_ref().is_some_and(|o| o.to_agent == Some(UserId(2)) && o.from == UserId(1)), "{open:?}");
    let c = &h.sb.chats[&chat];
    let stored = vec![RestoredChat {
        record: c.rec.clone(),
        client_ids: vec![],
        owner_replied: c.owner_replied,
        conversation: c.conversation,
        open_offer: open,
    }];
    let mut r = H::new();
    r.now = h.now + 1000;
    let fx = r.sb.restore(stored, h.sb.next_chat, r.now);
    assert!(
        fx.iter().any(|e| matches!(
            e,
            Effect::Append(ChatEvent {
                kind: EventKind::Transfer {
                    transfer: TransferKind::Warm,
                    outcome: TransferOutcome::Cancelled,
                    reason: Some(StopReason::Restart),
                    to_agent: Some(UserId(2)),
                    ..
                },
                ..
            })
        )),
        "the offered step gets its outcome: {fx:?}"
    );
    assert_eq!(
        sent(&fx, Target::Agent(UserId(2))),
        vec![Out::OfferWithdrawn { chat, reason: Withdrawal::Restart }],
        "the target is told"
    );
    assert_eq!(
        status(&fx, 1),
        vec![(TransferOutcome::Cancelled, Some(StopReason::Restart), String::new(), "VIP, wants a refund".into())]
    );
    assert!(r.sb.chats[&chat].pending.is_none());
    assert_eq!(r.owner(chat), Some(1), "the chat stays with its agent");
    // A step that already has its outcome leaves nothing open; an accepted one stays open.
    let warm_step = |outcome| EventKind::Transfer {
        transfer: TransferKind::Warm,
        outcome,
        from: UserId(1),
        to_agent: Some(UserId(2)),
        to_department: None,
        to_site: None,
        comment: String::new(),
        replied: false,
        reason: None,
        decline_text: String::new(),
    };
    let mut offered = None;
    OpenOffer::follow(&mut offered, &warm_step(TransferOutcome::Offered));
    assert!(offered.is_some());
    for outcome in
        [TransferOutcome::Declined, TransferOutcome::Expired, TransferOutcome::Cancelled, TransferOutcome::Completed]
    {
        let mut o = offered.clone();
        OpenOffer::follow(&mut o, &warm_step(outcome));
        assert_eq!(o, None, "{outcome:?} closes the offer");
    }
    let mut accepted = offered.clone();
    OpenOffer::follow(&mut accepted, &warm_step(TransferOutcome::Accepted));
    assert!(accepted.is_some(), "accepted and not handed over: still open");
}
