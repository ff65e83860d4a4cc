//! The rules read what the switchboard really records: scenarios driven through it, its
//! stored events and records fed to `chat_facts`.

use super::*;
use crate::domain::Millis;
use crate::domain::chat::{ChatEvent, ChatRecord, EndedBy, TransferKind};
use crate::domain::ids::*;
use crate::domain::model::{AllocationRule, Campaign, SystemMessages};
use crate::domain::switchboard::*;
use std::collections::HashMap;

const SITE: SiteId = SiteId(1);
const SITE_B: SiteId = SiteId(2);
const CAMPAIGN: CampaignId = CampaignId(10);
const DESK: DepartmentId = DepartmentId(100);
const DESK_B: DepartmentId = DepartmentId(200);
const S: u64 = 1000;

/// The switchboard with what the store would keep: records and events by chat.
struct Live {
    sb: Switchboard,
    now: Millis,
    records: HashMap<ChatId, ChatRecord>,
    events: HashMap<ChatId, Vec<ChatEvent>>,
}

fn profile(id: u64) -> AgentProfile {
    let site = if id > 20 { SITE_B } else { SITE };
    AgentProfile { id: UserId(id), site, name: format!("agent{id}"), max_chats: 3, active: true, ..Default::default() }
}

fn conn(agent: u64) -> ConnId {
    ConnId(agent)
}

impl Live {
    /// Site 1: agents 1, 2, 3 in DESK; site 2: agent 21 in DESK_B; one cross-site group.
    fn new() -> Live {
        let mut l =
            Live { sb: Switchboard::new(Config::default()), now: 0, records: HashMap::new(), events: HashMap::new() };
        for (site, ids, dept, campaign) in
            [(SITE, vec![1, 2, 3], DESK, CAMPAIGN), (SITE_B, vec![21], DESK_B, CampaignId(20))]
        {
            let rule = AllocationRule::RoundRobin;
            let members = ids.iter().map(|i| UserId(*i)).collect();
            let departments = vec![DepartmentProfile { id: dept, site, rule, members, ..Default::default() }];
            let agents = ids.iter().map(|i| profile(*i)).collect();
            // Campaigns without texts: the facts do not depend on them.
            let mut c = Campaign::test(campaign, site);
            c.messages = SystemMessages {
                greeting: Some(String::new()),
                queue: Some(String::new()),
                transfer: Some(String::new()),
                offline: None,
            };
            let dir = SiteDirectory::test(site, agents, departments).with_campaign(c);
            l.run(Command::Directory(Box::new(dir)));
        }
        l.run(Command::Groups(vec![vec![SITE, SITE_B]]));
        l
    }

    fn at(&mut self, secs: u64) -> &mut Live {
        self.now = secs * S;
        self
    }

    fn run(&mut self, cmd: Command) -> &mut Live {
        for effect in self.sb.handle(cmd, self.now) {
            match effect {
                Effect::Append(e) => self.events.entry(e.chat).or_default().push(e),
                Effect::PutChat(r) => _ = self.records.insert(r.id, r),
                Effect::CopyEvents { from, to, up_to, .. } => {
                    let copies: Vec<ChatEvent> = self.events[&from.1]
                        .iter()
                        .filter(|e| e.seq <= up_to && e.kind.is_conversation())
                        .zip(1..)
                        .map(|(e, seq)| ChatEvent { chat: to.1, seq, client_id: None, ..e.clone() })
                        .collect();
                    self.events.entry(to.1).or_default().splice(0..0, copies);
                }
                _ => {}
            }
        }
        self
    }

    fn online(&mut self, agent: u64) -> &mut Live {
        self.run(Command::AgentConnected { agent: profile(agent), conn: conn(agent) })
    }

    fn start(&mut self) -> ChatId {
        let info = Default::default();
        let texts = ChatTexts { greeting: "Hello".into(), queue: "Please wait".into() };
        let department = Some(DESK);
        let (site, campaign, visitor) = (SITE, CAMPAIGN, VisitorId(1));
        self.run(Command::StartChat(StartChat { conn: ConnId(999), site, campaign, department, visitor, info, texts }));
        self.sb.open_chat(VisitorId(1), CAMPAIGN).map(|c| c.id).expect("a chat")
    }

    fn says(&mut self, agent: u64, chat: ChatId) -> &mut Live {
        let (from, client_id) = (Party::Agent(UserId(agent)), format!("{agent}-{}", self.now));
        self.run(Command::Message(NewMessage {
            file: None,
            conn: conn(agent),
            from,
            chat,
            client_id,
            text: "Hi".into(),
            note: false,
        }))
    }

    fn transfer(&mut self, agent: u64, chat: ChatId, to: TransferTo) -> &mut Live {
        let req = TransferRequest { conn: conn(agent), agent: UserId(agent), chat, to, comment: String::new() };
        self.run(Command::Transfer(Box::new(req)))
    }

    fn answer(&mut self, agent: u64, chat: ChatId, accept: bool) -> &mut Live {
        let reason = String::new();
        self.run(Command::AnswerOffer(OfferAnswer { conn: conn(agent), agent: UserId(agent), chat, accept, reason }))
    }

    fn visitor_ends(&mut self, chat: ChatId, rating: u8) -> &mut Live {
        self.run(Command::EndChat { conn: ConnId(999), by: Party::Visitor(VisitorId(1)), chat });
        let comment = String::new();
        self.run(Command::Survey(SurveyAnswer { conn: ConnId(999), visitor: VisitorId(1), chat, rating, comment }))
    }

    fn facts(&self, chat: ChatId) -> ChatFacts {
        chat_facts(&self.records[&chat], &self.events[&chat])
    }
}

fn agent_to(agent: u64, mode: AgentMode) -> TransferTo {
    TransferTo::Agent { agent: UserId(agent), mode, fallback_ms: 0 }
}

#[test]
fn the_seed_case_read_from_what_the_switchboard_records() {
    let mut l = Live::new();
    l.online(1);
    let chat = l.start();
    l.online(2).at(30).transfer(1, chat, agent_to(2, AgentMode::Cold));
    l.at(40).says(2, chat).at(90).visitor_ends(chat, 4);
    let f = l.facts(chat);

    let contacts: Vec<(UserId, bool)> = f.contacts().map(|c| (c.agent, c.answered)).collect();
    assert_eq!(contacts, [(UserId(1), false), (UserId(2), true)]);
    assert_eq!(f.last_contact(), Some(UserId(2)));
    assert_eq!(f.rating(), Some((4, &[UserId(1), UserId(2)][..])));
    assert_eq!(f.ended(), Some((EndedBy::Visitor, true)));
}

#[test]
fn a_warm_transfer_declined_then_accepted_read_from_what_the_switchboard_records() {
    let mut l = Live::new();
    l.online(1);
    let chat = l.start();
    l.online(2).online(3).at(5).says(1, chat);
    l.at(10).transfer(1, chat, agent_to(2, AgentMode::Warm)).at(12).answer(2, chat, false);
    l.at(20).transfer(1, chat, agent_to(3, AgentMode::Warm)).at(26).answer(3, chat, true);
    l.at(30).run(Command::CompleteTransfer { conn: conn(1), agent: UserId(1), chat });
    l.at(60).visitor_ends(chat, 5);
    let f = l.facts(chat);

    let transfers: Vec<_> = f.transfers().map(|t| (t.kind, t.to_agent, t.resolution, t.accept_ms)).collect();
    assert_eq!(
        transfers,
        [
            (TransferKind::Warm, Some(UserId(2)), Resolution::Declined, None),
            (TransferKind::Warm, Some(UserId(3)), Resolution::Accepted, Some(6 * S))
        ]
    );
    let contacts: Vec<(UserId, bool)> = f.contacts().map(|c| (c.agent, c.answered)).collect();
    assert_eq!(contacts, [(UserId(1), true), (UserId(3), false)]);
    assert_eq!(f.rating(), Some((5, &[UserId(1), UserId(3)][..])));
}

#[test]
fn a_cross_site_transfer_read_from_what_the_switchboard_records() {
    let mut l = Live::new();
    l.online(1).online(21);
    l.run(Command::SetPresence { agent: UserId(21), conn: conn(21), presence: Presence::Away });
    let chat = l.start();
    l.at(5).says(1, chat);
    let target = TransferTo::Site { site: SITE_B, department: None, agent: None, with_transcript: Some(true) };
    l.at(10).transfer(1, chat, target);
    // Nobody takes chats on site 2 until agent 21 is back Online.
    let new = l.records.values().find(|r| r.site == SITE_B).map(|r| r.id).expect("the new chat");
    l.at(25).run(Command::SetPresence { agent: UserId(21), conn: conn(21), presence: Presence::Online });
    l.at(30).says(21, new).at(80).visitor_ends(new, 3);

    let source = l.facts(chat);
    assert_eq!(source.last_contact(), Some(UserId(1)));
    assert_eq!(source.transfers().map(|t| t.side).collect::<Vec<_>>(), [Side::Out]);
    let g = l.facts(new);
    let copied = l.records[&new].origin.as_ref().map_or(0, |o| o.copied);
    let events = &l.events[&new];
    assert!(copied > 0, "the transcript came along");
    assert!(events[..copied as usize].iter().all(|e| e.kind.is_conversation()), "only the conversation is copied");
    assert_eq!(g.contacts().map(|c| c.agent).collect::<Vec<_>>(), [UserId(21)]);
    let into = g.transfers().next().cloned().expect("the transfer in");
    assert_eq!(
        (into.side, into.from, into.to_agent, into.accept_ms),
        (Side::In, UserId(1), Some(UserId(21)), Some(15 * S))
    );
    assert_eq!((g.last_contact(), g.rating()), (Some(UserId(21)), Some((3, &[UserId(21)][..]))));
}
