//! Visitors on the site and proactive chat, with virtual time: the harness keeps the timers the
//! switchboard sets and fires them as the clock is moved on.

use super::visitors::{ALERT_MS, FLUSH_MS, INVITATION_MS, LEAVE_MS, RECHECK_MS, VISIT_GAP_MS};
use super::*;
use crate::domain::model::{Proactive, ProactiveMode};
use crate::domain::proactive::{AlertEnd, InvitationMode, InvitationOutcome, InvitationRecord};

const SITE: SiteId = SiteId(1);
const OTHER: SiteId = SiteId(2);
const CAMPAIGN: CampaignId = CampaignId(10);
const DESK: DepartmentId = DepartmentId(100);
const V: VisitorId = VisitorId(7);

struct H {
    sb: Switchboard,
    now: Millis,
    next_conn: u64,
    timers: BTreeMap<TimerKey, Millis>,
    /// Every effect so far, in order.
    log: Vec<Effect>,
}

use std::collections::BTreeMap;

fn campaign(mode: ProactiveMode, after_secs: u32) -> VisitorCampaign {
    VisitorCampaign {
        id: CAMPAIGN,
        department: Some(DESK),
        proactive: Proactive {
            mode,
            after_secs,
            url_rules: vec![],
            invitation_text: "Need help?".into(),
            reinvite_after_mins: 0,
        },
        invitation_text: "Need help?".into(),
    }
}

fn page(url: &str) -> PageReport {
    PageReport { url: url.into(), title: format!("Title of {url}"), referrer: "https://search.example/".into() }
}

impl H {
    fn new() -> H {
        let mut h = H {
            sb: Switchboard::new(Config::default()),
            now: 1_000_000,
            next_conn: 0,
            timers: BTreeMap::new(),
            log: vec![],
        };
        let agents = (1..=3)
            .map(|id| AgentProfile {
                id: UserId(id),
                site: SITE,
                name: format!("agent{id}"),
                max_chats: 2,
                active: true,
                ..Default::default()
            })
            .collect();
        let departments = vec![DepartmentProfile {
            id: DESK,
            site: SITE,
            rule: AllocationRule::RoundRobin,
            members: vec![UserId(1), UserId(2), UserId(3)],
            ..Default::default()
        }];
        h.run(Command::Directory(Box::new(SiteDirectory::test(SITE, agents, departments))));
        h
    }

    fn run(&mut self, cmd: Command) -> Vec<Effect> {
        let fx = self.sb.handle(cmd, self.now);
        for e in &fx {
            match e {
                Effect::SetTimer(k, at) => {
                    self.timers.insert(*k, *at);
                }
                Effect::CancelTimer(k) => {
                    self.timers.remove(k);
                }
                _ => {}
            }
        }
        self.log.extend(fx.iter().cloned());
        fx
    }

    /// Move the clock on by `ms`, firing every timer due on the way, in order.
    fn advance(&mut self, ms: u64) {
        let until = self.now + ms;
        loop {
            let next = self.timers.iter().filter(|(_, at)| **at <= until).min_by_key(|(k, at)| (**at, **k));
            let Some((key, at)) = next.map(|(k, at)| (*k, *at)) else { break };
            self.timers.remove(&key);
            self.now = self.now.max(at);
            self.run(Command::Timer(key));
        }
        self.now = until;
    }

    fn conn(&mut self) -> ConnId {
        self.next_conn += 1;
        ConnId(self.next_conn)
    }

    fn agent_online(&mut self, id: u64) -> ConnId {
        let conn = self.conn();
        let p = self.sb.agents.get(&UserId(id)).map(|a| a.profile.clone()).expect("agent");
        self.run(Command::AgentConnected { agent: p, conn });
        conn
    }

    fn visit(&mut self, c: VisitorCampaign, url: &str) -> ConnId {
        let conn = self.conn();
        self.run(Command::VisitorConnected(VisitorArrival {
            conn,
            visitor: V,
            site: SITE,
            campaign: Box::new(c),
            page: page(url),
            name: String::new(),
            client: Box::new(ClientInfo { browser: "Firefox 128".into(), ..ClientInfo::default() }),
        }));
        conn
    }

    fn leave(&mut self, conn: ConnId) {
        self.run(Command::VisitorDisconnected { conn, visitor: V });
    }

    fn sent(&self, to: Target) -> Vec<Out> {
        self.log
            .iter()
            .filter_map(|e| if let Effect::Send(t, o) = e { (*t == to).then(|| o.clone()) } else { None })
            .collect()
    }

    fn invitations_sent(&self) -> Vec<(InvitationId, InvitationMode)> {
        self.sent(Target::Visitor(V))
            .into_iter()
            .filter_map(
                |o| if let Out::Invitation { invitation, mode, .. } = o { Some((invitation, mode)) } else { None },
            )
            .collect()
    }

    fn alerts(&self, agent: u64) -> Vec<InvitationId> {
        self.sent(Target::Agent(UserId(agent)))
            .into_iter()
            .filter_map(|o| if let Out::ProactiveAlert { invitation, .. } = o { Some(invitation) } else { None })
            .collect()
    }

    /// The last stored version of each invitation.
    fn stored(&self) -> Vec<InvitationRecord> {
        let mut by_id: BTreeMap<InvitationId, InvitationRecord> = BTreeMap::new();
        for e in &self.log {
            if let Effect::PutInvitation(r) = e {
                by_id.insert(r.id, r.clone());
            }
        }
        by_id.into_values().collect()
    }

    fn watch(&mut self, agent: u64, conn: ConnId) -> Vec<Effect> {
        self.run(Command::WatchVisitors { conn, agent: UserId(agent), on: true })
    }

    fn start_chat(&mut self) -> ChatId {
        let conn = self.conn();
        self.run(Command::StartChat(StartChat {
            conn,
            site: SITE,
            campaign: CAMPAIGN,
            department: Some(DESK),
            visitor: V,
            info: VisitorInfo { name: "Vera".into(), ..Default::default() },
            texts: ChatTexts::default(),
        }));
        self.sb.open_chat(V, CAMPAIGN).map(|c| c.id).expect("a chat")
    }
}

fn visitors_frames(fx: &[Out]) -> Vec<(bool, Vec<VisitorView>, Vec<VisitorId>)> {
    fx.iter()
        .filter_map(|o| match o {
            Out::Visitors { full, visitors, left } => Some((*full, visitors.clone(), left.clone())),
            _ => None,
        })
        .collect()
}

#[test]
fn a_watching_console_gets_the_list_then_batched_changes_and_departures_after_the_leave_delay() {
    let mut h = H::new();
    let a = h.agent_online(1);
    h.visit(campaign(ProactiveMode::Disabled, 0), "https://shop.example/");
    let fx = h.watch(1, a);
    let first = visitors_frames(&sent_to(&fx, a));
    assert_eq!(first.len(), 1);
    assert!(first[0].0, "the first list is full");
    assert_eq!(first[0].1[0].page_url, "https://shop.example/");
    assert_eq!(first[0].1[0].referrer, "https://search.example/");
    assert_eq!(first[0].1[0].client.browser, "Firefox 128", "what the connection told");

    // Two page changes within a second make one batch.
    let conn2 = h.visit(campaign(ProactiveMode::Disabled, 0), "https://shop.example/a");
    h.run(Command::VisitorPage { conn: conn2, visitor: V, page: page("https://shop.example/b") });
    let before = visitors_frames(&h.sent(Target::AgentConn(a))).len();
    h.advance(FLUSH_MS);
    let frames = visitors_frames(&h.sent(Target::AgentConn(a)));
    assert_eq!(frames.len(), before + 1, "one batch");
    let (full, views, left) = frames.last().cloned().expect("batch");
    assert!(!full && left.is_empty());
    assert_eq!(
        views[0].pages.iter().map(|p| p.url.as_str()).collect::<Vec<_>>(),
        ["https://shop.example/", "https://shop.example/a", "https://shop.example/b"]
    );
    assert_eq!(views[0].tabs, 2);

    // Every tab closes: still on the list until the leave delay has passed.
    let tabs: Vec<ConnId> = h.sb.visitors[&V].conns.iter().copied().collect();
    for c in tabs {
        h.leave(c);
    }
    h.advance(LEAVE_MS - 1);
    assert!(h.sb.site_visitors(SITE).len() == 1, "not gone before the delay");
    h.advance(1 + FLUSH_MS);
    assert!(h.sb.site_visitors(SITE).is_empty());
    let (_, _, left) = visitors_frames(&h.sent(Target::AgentConn(a))).last().cloned().expect("batch");
    assert_eq!(left, [V]);
}

#[test]
fn the_next_page_within_the_leave_delay_continues_the_visit_and_a_return_after_the_gap_starts_a_new_one() {
    let mut h = H::new();
    let c = h.visit(campaign(ProactiveMode::Disabled, 0), "https://shop.example/");
    let started = h.now;
    h.advance(5_000);
    h.leave(c);
    h.advance(2_000);
    h.visit(campaign(ProactiveMode::Disabled, 0), "https://shop.example/next");
    assert_eq!(h.sb.visitor_view(V).expect("on site").visit_started_at, started);

    let tabs: Vec<ConnId> = h.sb.visitors[&V].conns.iter().copied().collect();
    for c in tabs {
        h.leave(c);
    }
    h.advance(VISIT_GAP_MS + LEAVE_MS + 1);
    assert!(!h.sb.visitors.contains_key(&V), "forgotten after the visit gap");
    h.visit(campaign(ProactiveMode::Disabled, 0), "https://shop.example/");
    assert_eq!(h.sb.visitor_view(V).expect("back").visit_started_at, h.now);
}

#[test]
fn consoles_not_watching_get_no_visitor_frames() {
    let mut h = H::new();
    let a = h.agent_online(1);
    h.visit(campaign(ProactiveMode::Disabled, 0), "https://shop.example/");
    h.advance(FLUSH_MS * 3);
    assert!(visitors_frames(&h.sent(Target::AgentConn(a))).is_empty());
    assert!(visitors_frames(&h.sent(Target::SiteAgents(SITE))).is_empty());
}

#[test]
fn with_invite_the_invitation_comes_after_the_time_on_site_counted_across_pages() {
    let mut h = H::new();
    h.agent_online(1);
    let c = h.visit(campaign(ProactiveMode::WithInvite, 30), "https://shop.example/");
    h.advance(20_000);
    h.leave(c);
    h.advance(1_000);
    h.visit(campaign(ProactiveMode::WithInvite, 30), "https://shop.example/product");
    h.advance(8_000);
    assert!(h.invitations_sent().is_empty(), "29 s on the site: not yet");
    h.advance(1_000);
    assert_eq!(h.invitations_sent().len(), 1, "30 s across two pages");
    let rec = h.stored().pop().expect("stored");
    assert_eq!(
        (rec.mode, rec.outcome, rec.page_url.as_str()),
        (InvitationMode::Auto, InvitationOutcome::Pending, "https://shop.example/product")
    );
}

#[test]
fn url_rules_hold_the_invitation_until_a_matching_page() {
    let mut h = H::new();
    h.agent_online(1);
    let mut c = campaign(ProactiveMode::WithInvite, 5);
    c.proactive.url_rules = vec!["https://shop.example/pricing*".into()];
    let conn = h.visit(c.clone(), "https://shop.example/");
    h.advance(60_000);
    assert!(h.invitations_sent().is_empty());
    h.run(Command::VisitorPage { conn, visitor: V, page: page("https://shop.example/pricing/team") });
    h.advance(0);
    assert_eq!(h.invitations_sent().len(), 1);
}

#[test]
fn with_nobody_online_no_invitation_is_shown_until_an_agent_comes_online() {
    let mut h = H::new();
    h.visit(campaign(ProactiveMode::WithInvite, 5), "https://shop.example/");
    h.advance(10_000);
    assert!(h.invitations_sent().is_empty());
    h.agent_online(2);
    h.advance(RECHECK_MS);
    assert_eq!(h.invitations_sent().len(), 1);
}

#[test]
fn a_refused_invitation_closes_in_every_tab_and_is_not_made_again_in_the_visit() {
    let mut h = H::new();
    h.agent_online(1);
    let tab1 = h.visit(campaign(ProactiveMode::WithInvite, 5), "https://shop.example/");
    h.advance(5_000);
    let (id, _) = h.invitations_sent()[0];
    h.run(Command::AnswerInvitation { conn: tab1, visitor: V, invitation: id, accept: false });
    assert!(
        h.sent(Target::Visitor(V))
            .contains(&Out::InvitationClosed { invitation: id, outcome: InvitationOutcome::Refused })
    );
    // More pages and a new tab: no second invitation.
    let tab2 = h.visit(campaign(ProactiveMode::WithInvite, 5), "https://shop.example/2");
    h.leave(tab1);
    h.run(Command::VisitorPage { conn: tab2, visitor: V, page: page("https://shop.example/3") });
    h.advance(3_600_000);
    assert_eq!(h.invitations_sent().len(), 1);
    assert_eq!(h.stored()[0].outcome, InvitationOutcome::Refused);
}

#[test]
fn a_campaign_may_invite_again_a_set_time_after_a_refusal() {
    let mut h = H::new();
    h.agent_online(1);
    let mut c = campaign(ProactiveMode::WithInvite, 5);
    c.proactive.reinvite_after_mins = 10;
    let tab = h.visit(c, "https://shop.example/");
    h.advance(5_000);
    let (id, _) = h.invitations_sent()[0];
    h.run(Command::AnswerInvitation { conn: tab, visitor: V, invitation: id, accept: false });
    h.advance(9 * 60_000);
    assert_eq!(h.invitations_sent().len(), 1);
    h.advance(60_000);
    assert_eq!(h.invitations_sent().len(), 2);
}

#[test]
fn an_accepted_invitation_is_linked_to_the_chat_the_visitor_starts() {
    let mut h = H::new();
    h.agent_online(1);
    let tab = h.visit(campaign(ProactiveMode::WithInvite, 5), "https://shop.example/");
    h.advance(5_000);
    let (id, _) = h.invitations_sent()[0];
    h.run(Command::AnswerInvitation { conn: tab, visitor: V, invitation: id, accept: true });
    let chat = h.start_chat();
    let rec = h.stored().pop().expect("stored");
    assert_eq!((rec.outcome, rec.chat), (InvitationOutcome::Accepted, Some(chat)));
}

#[test]
fn an_invitation_not_answered_is_ignored_when_the_visitor_leaves() {
    let mut h = H::new();
    h.agent_online(1);
    let tab = h.visit(campaign(ProactiveMode::WithInvite, 5), "https://shop.example/");
    h.advance(5_000);
    h.leave(tab);
    h.advance(LEAVE_MS);
    assert_eq!(h.stored()[0].outcome, InvitationOutcome::Ignored);
}

#[test]
fn an_invitation_not_answered_in_ten_minutes_is_ignored_and_closed() {
    let mut h = H::new();
    h.agent_online(1);
    h.visit(campaign(ProactiveMode::WithInvite, 5), "https://shop.example/");
    h.advance(5_000 + INVITATION_MS);
    let id = h.stored()[0].id;
    assert_eq!(h.stored()[0].outcome, InvitationOutcome::Ignored);
    assert!(
        h.sent(Target::Visitor(V))
            .contains(&Out::InvitationClosed { invitation: id, outcome: InvitationOutcome::Ignored })
    );
}

#[test]
fn without_invite_the_first_available_agent_is_alerted_then_the_next_after_no_answer() {
    let mut h = H::new();
    h.agent_online(1);
    h.agent_online(2);
    h.visit(campaign(ProactiveMode::WithoutInvite, 10), "https://shop.example/");
    h.advance(10_000);
    assert!(h.invitations_sent().is_empty(), "no invitation is shown to the visitor");
    let first = if h.alerts(1).len() == 1 { 1 } else { 2 };
    let second = 3 - first;
    assert_eq!(h.alerts(first).len(), 1);
    assert!(h.alerts(second).is_empty(), "one agent at a time");
    h.advance(ALERT_MS);
    assert!(
        h.sent(Target::Agent(UserId(first)))
            .iter()
            .any(|o| matches!(o, Out::ProactiveAlertWithdrawn { reason: AlertEnd::Expired, .. }))
    );
    assert_eq!(h.alerts(second).len(), 1);
    h.advance(ALERT_MS);
    assert_eq!(h.alerts(first).len(), 1, "each agent once per visit");
    let outcomes: Vec<_> = h.stored().iter().map(|r| (r.mode, r.outcome)).collect();
    assert_eq!(
        outcomes,
        [(InvitationMode::Alert, InvitationOutcome::Ignored), (InvitationMode::Alert, InvitationOutcome::Ignored)]
    );
}

#[test]
fn an_alerted_agent_opens_the_chat_which_is_theirs_at_once_without_a_pre_chat_form() {
    let mut h = H::new();
    let a = h.agent_online(1);
    h.visit(campaign(ProactiveMode::WithoutInvite, 10), "https://shop.example/cart");
    h.advance(10_000);
    assert_eq!(h.alerts(1).len(), 1);
    h.run(Command::OpenChat { conn: a, agent: UserId(1), visitor: V });
    let chat = h.sb.open_chat(V, CAMPAIGN).cloned().expect("chat");
    assert_eq!((chat.status(), chat.agent()), (ChatStatus::Active, Some(UserId(1))));
    assert_eq!(chat.info.page_url, "https://shop.example/cart");
    assert!(h.sent(Target::Visitor(V)).iter().any(|o| matches!(o, Out::Chat(c) if c.id == chat.id)));
    assert!(h.sent(Target::Agent(UserId(1))).iter().any(|o| matches!(o, Out::Assigned(c) if c.id == chat.id)));
    assert!(
        h.sent(Target::Agent(UserId(1)))
            .iter()
            .any(|o| matches!(o, Out::ProactiveAlertWithdrawn { reason: AlertEnd::Opened, .. }))
    );
    let rec = h.stored().pop().expect("stored");
    assert_eq!((rec.outcome, rec.chat, rec.agent), (InvitationOutcome::Accepted, Some(chat.id), Some(UserId(1))));
    // No second alert while chatting.
    h.advance(ALERT_MS * 3);
    assert_eq!(h.alerts(2).len() + h.alerts(3).len(), 0);
}

#[test]
fn a_manual_invitation_shows_the_agents_name_and_an_accepted_one_brings_the_chat_to_that_agent() {
    let mut h = H::new();
    let a1 = h.agent_online(1);
    h.agent_online(2);
    let tab = h.visit(campaign(ProactiveMode::Disabled, 0), "https://shop.example/");
    h.run(Command::Invite { conn: a1, agent: UserId(2), visitor: V, text: None });
    let inv = h.sent(Target::Visitor(V)).into_iter().find_map(|o| match o {
        Out::Invitation { invitation, text, mode, agent } => Some((invitation, text, mode, agent)),
        _ => None,
    });
    let (id, text, mode, agent) = inv.expect("invitation");
    assert_eq!((text.as_str(), mode, agent.as_deref()), ("Need help?", InvitationMode::Manual, Some("agent2")));
    h.run(Command::AnswerInvitation { conn: tab, visitor: V, invitation: id, accept: true });
    let chat = h.start_chat();
    assert_eq!(h.sb.chat(chat).and_then(|c| c.agent()), Some(UserId(2)), "round robin would have picked agent 1");
}

#[test]
fn manual_invitations_are_refused_for_visitors_gone_chatting_already_invited_or_of_another_site() {
    let mut h = H::new();
    let a = h.agent_online(1);
    let err = |h: &mut H, text: Option<String>| {
        let fx = h.run(Command::Invite { conn: a, agent: UserId(1), visitor: V, text });
        sent_to(&fx, a).into_iter().find_map(|o| if let Out::Error { code, .. } = o { Some(code) } else { None })
    };
    assert_eq!(err(&mut h, None), Some(ErrorCode::VisitorGone));
    let conn = h.conn();
    h.run(Command::VisitorConnected(VisitorArrival {
        conn,
        visitor: V,
        site: OTHER,
        campaign: Box::new(campaign(ProactiveMode::Disabled, 0)),
        page: page("https://other.example/"),
        name: String::new(),
        client: Box::default(),
    }));
    assert_eq!(err(&mut h, None), Some(ErrorCode::VisitorGone), "a visitor of another site");
    h.leave(conn);
    h.visit(campaign(ProactiveMode::Disabled, 0), "https://shop.example/");
    assert_eq!(err(&mut h, Some("  Hi there  ".into())), None);
    assert_eq!(h.stored()[0].text, "Hi there");
    assert_eq!(err(&mut h, None), Some(ErrorCode::InvitationPending));
    h.start_chat();
    let fx = h.run(Command::OpenChat { conn: a, agent: UserId(1), visitor: V });
    assert!(sent_to(&fx, a).contains(&Out::Error { code: ErrorCode::AlreadyChatting, client_id: None, chat: None }));
}

#[test]
fn a_new_tab_shows_the_open_invitation_and_a_late_answer_learns_how_it_ended() {
    let mut h = H::new();
    h.agent_online(1);
    let tab1 = h.visit(campaign(ProactiveMode::WithInvite, 5), "https://shop.example/");
    h.advance(5_000);
    let (id, _) = h.invitations_sent()[0];
    let tab2 = h.visit(campaign(ProactiveMode::WithInvite, 5), "https://shop.example/other");
    assert!(
        h.sent(Target::VisitorConn(tab2))
            .iter()
            .any(|o| matches!(o, Out::Invitation { invitation, .. } if *invitation == id))
    );
    h.run(Command::AnswerInvitation { conn: tab1, visitor: V, invitation: id, accept: true });
    let fx = h.run(Command::AnswerInvitation { conn: tab2, visitor: V, invitation: id, accept: false });
    assert_eq!(sent_to(&fx, tab2), [Out::InvitationClosed { invitation: id, outcome: InvitationOutcome::Accepted }]);
    assert_eq!(h.stored()[0].outcome, InvitationOutcome::Accepted);
}

#[test]
fn an_answer_to_an_invitation_that_was_never_made_is_not_allowed() {
    let mut h = H::new();
    let tab = h.visit(campaign(ProactiveMode::Disabled, 0), "https://shop.example/");
    let fx = h.run(Command::AnswerInvitation { conn: tab, visitor: V, invitation: InvitationId(42), accept: true });
    assert_eq!(sent_to(&fx, tab), [Out::Error { code: ErrorCode::NotAllowed, client_id: None, chat: None }]);
    assert!(h.stored().is_empty(), "nothing is recorded");
}

#[test]
fn a_chat_records_the_page_the_visitor_is_on_when_it_starts() {
    let mut h = H::new();
    h.agent_online(1);
    let conn = h.visit(campaign(ProactiveMode::Disabled, 0), "https://shop.example/");
    h.run(Command::VisitorPage { conn, visitor: V, page: page("https://shop.example/help") });
    let chat = h.start_chat();
    let info = h.sb.chat(chat).map(|c| c.info.clone()).expect("chat");
    assert_eq!(
        (info.page_url.as_str(), info.page_title.as_str()),
        ("https://shop.example/help", "Title of https://shop.example/help")
    );
}

#[test]
fn the_live_list_shows_the_open_chat_and_the_name_from_the_pre_chat_form() {
    let mut h = H::new();
    let a = h.agent_online(1);
    h.visit(campaign(ProactiveMode::Disabled, 0), "https://shop.example/");
    h.watch(1, a);
    let chat = h.start_chat();
    h.advance(FLUSH_MS);
    let (_, views, _) = visitors_frames(&h.sent(Target::AgentConn(a))).last().cloned().expect("batch");
    assert_eq!((views[0].chat, views[0].name.as_str()), (Some(chat), "Vera"));
}

/// What one connection (a visitor's tab or a console) was sent.
fn sent_to(fx: &[Effect], conn: ConnId) -> Vec<Out> {
    let mine = |t: &Target| matches!(t, Target::VisitorConn(c) | Target::AgentConn(c) if *c == conn);
    fx.iter().filter_map(|e| if let Effect::Send(t, o) = e { mine(t).then(|| o.clone()) } else { None }).collect()
}
