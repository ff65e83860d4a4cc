//! The year, played through the real `Switchboard` in virtual time: visitors arrive by a daily
//! and weekly curve, agents work shifts (Online on shift, Away off it), chats are written,
//! transferred, missed, abandoned, ended and rated by commands, and every record the
//! switchboard emits is handed on exactly as the realtime task would hand it to the store
//! (`ChatWrite`s in effect order). Timers the switchboard sets (offers, fallbacks, the maximum
//! queue wait) fire at their virtual time.

use crate::text::{Rng, Vocabulary};
use parley::domain::Millis;
use parley::domain::chat::{EventKind, TransferKind, TransferOutcome, VisitorInfo};
use parley::domain::ids::{CampaignId, ChatId, ConnId, DepartmentId, SiteId, UserId, VisitorId};
use parley::domain::switchboard::{
    AgentMode, AgentProfile, ChatTexts, Command, Effect, NewMessage, OfferAnswer, Out, Party, Presence, StartChat,
    SurveyAnswer, Switchboard, Target, TimerKey, TransferRequest, TransferTo,
};
use parley::store::ChatWrite;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap};

const SEC: u64 = 1000;
const HOUR: u64 = 3_600_000;
const DAY: u64 = 86_400_000;

/// Chats by hour of the day (UTC), relative.
const HOURLY: [f64; 24] = [
    0.20, 0.15, 0.10, 0.10, 0.10, 0.20, 0.50, 1.00, 1.80, 2.40, 2.60, 2.50, 2.20, 2.30, 2.50, 2.40, 2.10, 1.80, 1.50,
    1.30, 1.10, 0.90, 0.60, 0.35,
];
/// Monday first.
const WEEKLY: [f64; 7] = [1.05, 1.0, 1.0, 1.0, 0.95, 0.6, 0.45];

pub struct Campaign {
    pub id: CampaignId,
    pub department: Option<DepartmentId>,
    pub texts: ChatTexts,
    /// Share of the chats that come through it.
    pub share: f64,
}

pub struct Org {
    pub site: SiteId,
    pub campaigns: Vec<Campaign>,
    pub departments: Vec<DepartmentId>,
    /// Shift = index % 5: 0–1 early, 2–3 late, 4 night.
    pub agents: Vec<AgentProfile>,
    pub directory: Command,
}

pub struct Plan {
    pub chats: u64,
    pub messages_per_chat: f64,
    pub transfer_share: f64,
    pub start: Millis,
    /// Arrivals stop here; chats under way then still end (before `end`).
    pub last_arrival: Millis,
    pub end: Millis,
    pub batch: usize,
}

#[derive(Default, Clone, Debug)]
pub struct Counts {
    pub arrived: u64,
    pub offline: u64,
    pub chats: u64,
    pub ended: u64,
    pub messages: u64,
    pub notes: u64,
    pub events: u64,
    pub surveys: u64,
    /// Transfer attempts by kind (the step that starts one), and every step by outcome.
    pub transfers: BTreeMap<&'static str, u64>,
    pub transfer_steps: BTreeMap<(&'static str, &'static str), u64>,
    /// Transfers the switchboard refused (e.g. nobody of the department available).
    pub transfer_refused: u64,
    pub abandoned: u64,
    pub no_agent: u64,
    pub missed_by_agent: u64,
    pub now: Millis,
    /// An order number some chat's text has (for a rare-word search).
    pub probe_number: String,
}

impl Counts {
    pub fn transfers_total(&self) -> u64 {
        self.transfers.values().sum()
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    Cold,
    Warm,
    Queue,
    Broadcast,
    Unavailable,
}

const KINDS: [(Kind, f64); 5] =
    [(Kind::Cold, 0.30), (Kind::Warm, 0.25), (Kind::Queue, 0.20), (Kind::Broadcast, 0.15), (Kind::Unavailable, 0.10)];

enum Action {
    /// The arrivals of the hour starting now, and the shift changes.
    Hour,
    Arrive,
    Step(ChatId, u32),
    Patience(ChatId),
    Answer {
        chat: ChatId,
        agent: UserId,
        accept: bool,
    },
    Complete {
        chat: ChatId,
        agent: UserId,
    },
    Survey(ChatId),
    Timer(TimerKey),
}

/// One visitor's chat as the generator plays it.
struct Script {
    visitor: VisitorId,
    /// Messages still to write (visitor and agents together).
    left: u32,
    agent_turn: bool,
    /// Transfer when `left` falls to this, on an agent's turn.
    transfer: Option<(u32, Kind)>,
    /// The agent never writes (a missed chat).
    missed: bool,
    survey: Option<u8>,
    end_by_agent: bool,
    /// Scheduled steps of an older generation are stale.
    generation: u32,
    answered: bool,
    ended: bool,
    sent: u32,
}

/// What one command's effects said that the scripts react to.
#[derive(Default)]
struct Seen {
    assigned: Vec<ChatId>,
    resumed: Vec<ChatId>,
    ended: Vec<ChatId>,
    accepted_warm: Vec<(ChatId, UserId)>,
    offered: Vec<(ChatId, UserId)>,
    errors: Vec<ChatId>,
    offline: bool,
}

pub struct Sim<'a> {
    sb: Switchboard,
    org: &'a Org,
    plan: &'a Plan,
    rng: Rng,
    words: Vocabulary,
    heap: BinaryHeap<Reverse<(Millis, u64)>>,
    actions: HashMap<u64, Action>,
    seq: u64,
    timers: HashMap<TimerKey, Millis>,
    scripts: HashMap<ChatId, Script>,
    max_chats: HashMap<UserId, u32>,
    presence: HashMap<UserId, Presence>,
    next_visitor: u64,
    /// Visitors whose chat is over: some come back.
    returning: Vec<VisitorId>,
    hour_weights: f64,
    writes: Vec<ChatWrite>,
    ended_in_batch: usize,
    pub counts: Counts,
}

fn agent_conn(a: UserId) -> ConnId {
    ConnId(1_000_000 + a.0)
}

fn visitor_conn(v: VisitorId) -> ConnId {
    ConnId(1_000_000_000 + v.0)
}

fn weekday(at: Millis) -> usize {
    // 1970-01-01 was a Thursday.
    ((at / DAY + 3) % 7) as usize
}

fn on_shift(index: usize, at: Millis) -> bool {
    let hour = (at % DAY / HOUR) as usize;
    let weekend = weekday(at) >= 5;
    let shift = index % 5;
    // At weekends, half the day shifts work.
    if weekend && shift < 4 && (index / 5) % 2 == 1 {
        return false;
    }
    match shift {
        0 | 1 => (6..14).contains(&hour),
        2 | 3 => (14..22).contains(&hour),
        _ => !(6..22).contains(&hour),
    }
}

impl<'a> Sim<'a> {
    pub fn new(org: &'a Org, plan: &'a Plan, seed: u64) -> Sim<'a> {
        let mut rng = Rng::new(seed);
        let words = Vocabulary::new(&mut rng, 3000);
        let mut sim = Sim {
            sb: Switchboard::new(parley::domain::switchboard::Config {
                grace_ms: 30_000,
                max_queue_wait_ms: 600_000,
                max_message_bytes: 4096,
            }),
            org,
            plan,
            rng,
            words,
            heap: BinaryHeap::new(),
            actions: HashMap::new(),
            seq: 0,
            timers: HashMap::new(),
            scripts: HashMap::new(),
            max_chats: org.agents.iter().map(|p| (p.id, p.max_chats)).collect(),
            presence: HashMap::new(),
            next_visitor: 1,
            returning: Vec::new(),
            hour_weights: 0.0,
            writes: Vec::new(),
            ended_in_batch: 0,
            counts: Counts::default(),
        };
        let mut at = plan.start.next_multiple_of(HOUR);
        while at + HOUR <= plan.last_arrival {
            sim.hour_weights += sim.weight(at);
            at += HOUR;
        }
        sim
    }

    /// The relative number of chats in the hour starting `at`: daily and weekly curves, and
    /// a business that grows by a third over the year.
    fn weight(&self, at: Millis) -> f64 {
        let hour = (at % DAY / HOUR) as usize;
        let growth = 0.85 + 0.3 * at.saturating_sub(self.plan.start) as f64 / (self.plan.end - self.plan.start) as f64;
        HOURLY[hour] * WEEKLY[weekday(at)] * growth
    }

    fn schedule(&mut self, at: Millis, a: Action) {
        self.seq += 1;
        self.actions.insert(self.seq, a);
        self.heap.push(Reverse((at, self.seq)));
    }

    /// Play the year; `flush` gets each batch of records (about `plan.batch` ended chats).
    pub fn run(mut self, mut flush: impl FnMut(Vec<ChatWrite>, &Counts)) -> Counts {
        let t0 = self.plan.start;
        self.command(self.org.directory.clone(), t0);
        for p in &self.org.agents {
            let cmd = Command::AgentConnected { agent: p.clone(), conn: agent_conn(p.id) };
            self.command(cmd, t0);
            self.presence.insert(p.id, Presence::Online);
        }
        self.schedule(t0.next_multiple_of(HOUR), Action::Hour);
        while let Some(Reverse((now, seq))) = self.heap.pop() {
            if now >= self.plan.end || (now >= self.plan.last_arrival && self.scripts.is_empty()) {
                break;
            }
            let Some(action) = self.actions.remove(&seq) else { continue };
            self.counts.now = now;
            self.act(action, now);
            if self.ended_in_batch >= self.plan.batch {
                self.ended_in_batch = 0;
                flush(std::mem::take(&mut self.writes), &self.counts);
            }
        }
        flush(std::mem::take(&mut self.writes), &self.counts);
        self.counts.probe_number = self.words.last_number.clone();
        self.counts
    }

    fn act(&mut self, action: Action, now: Millis) {
        match action {
            Action::Hour => self.hour(now),
            Action::Arrive => self.arrive(now),
            Action::Step(chat, generation) => {
                if self.scripts.get(&chat).is_some_and(|s| s.generation == generation && !s.ended) {
                    self.step(chat, now);
                }
            }
            Action::Patience(chat) => {
                let queued = self.sb.chat(chat).is_some_and(|c| c.agent().is_none() && c.assigned_at.is_none());
                if let Some(s) = self.scripts.get(&chat).filter(|s| !s.ended && queued) {
                    let by = Party::Visitor(s.visitor);
                    self.counts.abandoned += 1;
                    self.command(Command::EndChat { conn: visitor_conn(s.visitor), by, chat }, now);
                }
            }
            Action::Answer { chat, agent, accept } => {
                if self.scripts.get(&chat).is_some_and(|s| !s.ended) {
                    let reason = if accept { String::new() } else { "Busy with a customer".into() };
                    let cmd =
                        Command::AnswerOffer(OfferAnswer { conn: agent_conn(agent), agent, chat, accept, reason });
                    self.command(cmd, now);
                }
            }
            Action::Complete { chat, agent } => {
                if self.scripts.get(&chat).is_some_and(|s| !s.ended) {
                    self.command(Command::CompleteTransfer { conn: agent_conn(agent), agent, chat }, now);
                }
            }
            Action::Survey(chat) => {
                if let Some(s) = self.scripts.remove(&chat) {
                    let rating = s.survey.unwrap_or(5);
                    let comment = if self.rng.chance(0.3) { self.words.sentence(&mut self.rng) } else { String::new() };
                    let cmd = Command::Survey(SurveyAnswer {
                        conn: visitor_conn(s.visitor),
                        visitor: s.visitor,
                        chat,
                        rating,
                        comment,
                    });
                    self.counts.surveys += 1;
                    self.command(cmd, now);
                    self.returning.push(s.visitor);
                }
            }
            Action::Timer(key) => {
                if self.timers.get(&key) == Some(&now) {
                    self.timers.remove(&key);
                    self.command(Command::Timer(key), now);
                }
            }
        }
    }

    fn hour(&mut self, now: Millis) {
        for (i, p) in self.org.agents.iter().enumerate() {
            let want = if on_shift(i, now) { Presence::Online } else { Presence::Away };
            if self.presence.get(&p.id) != Some(&want) {
                self.presence.insert(p.id, want);
                let cmd = Command::SetPresence { agent: p.id, conn: agent_conn(p.id), presence: want };
                self.command(cmd, now);
            }
        }
        if now + HOUR <= self.plan.last_arrival {
            let expected = self.plan.chats as f64 * self.weight(now) / self.hour_weights;
            let n = expected as u64 + u64::from(self.rng.chance(expected.fract()));
            for _ in 0..n {
                let at = now + self.rng.range(0, HOUR - 1);
                self.schedule(at, Action::Arrive);
            }
            self.schedule(now + HOUR, Action::Hour);
        }
    }

    fn visitor_info(&mut self) -> VisitorInfo {
        let product = ["tent", "backpack", "jacket", "boots", "bike", "stove", "kayak", "skis"];
        let p = *self.rng.pick(&product);
        let mut info = VisitorInfo {
            page_url: format!("https://shop.example/products/{p}-{}", self.rng.range(1, 400)),
            page_title: format!("{p} — Outdoor Shop"),
            ..Default::default()
        };
        if self.rng.chance(0.6) {
            let (first, last) = (*self.rng.pick(&self.words.first), *self.rng.pick(&self.words.last));
            info.name = format!("{first} {last}");
            if self.rng.chance(0.8) {
                info.email =
                    format!("{}.{}{}@mail.example", first.to_lowercase(), last.to_lowercase(), self.rng.range(1, 99));
            }
        }
        info
    }

    fn arrive(&mut self, now: Millis) {
        self.counts.arrived += 1;
        let visitor = if !self.returning.is_empty() && self.rng.chance(0.25) {
            let i = self.rng.next() as usize % self.returning.len();
            self.returning.swap_remove(i)
        } else {
            self.next_visitor += 1;
            VisitorId(self.next_visitor)
        };
        let r = self.rng.unit();
        let mut acc = 0.0;
        let campaign = self
            .org
            .campaigns
            .iter()
            .find(|c| {
                acc += c.share;
                r < acc
            })
            .unwrap_or(&self.org.campaigns[0]);
        let info = self.visitor_info();
        let cmd = Command::StartChat(StartChat {
            conn: visitor_conn(visitor),
            site: self.org.site,
            campaign: campaign.id,
            department: campaign.department,
            visitor,
            info,
            texts: campaign.texts.clone(),
        });
        let seen = self.command_seen(cmd, now);
        if seen.offline {
            self.counts.offline += 1;
            return;
        }
        let Some(chat) = self.sb.open_chat(visitor, campaign.id).map(|c| c.id) else { return };
        if self.scripts.contains_key(&chat) {
            return; // the visitor's chat was open already
        }
        self.counts.chats += 1;
        let mean = self.plan.messages_per_chat.max(1.0);
        let left = self.rng.range((mean * 0.5).round() as u64, (mean * 1.5).round() as u64).max(1) as u32;
        let missed = self.rng.chance(0.02);
        let transfer = (!missed && left >= 3 && self.rng.chance(self.plan.transfer_share)).then(|| {
            let r = self.rng.unit();
            let mut acc = 0.0;
            let kind = KINDS.iter().find(|(_, p)| {
                acc += p;
                r < acc
            });
            (self.rng.range(2, u64::from(left) - 1) as u32, kind.map(|k| k.0).unwrap_or(Kind::Cold))
        });
        let rating = [5, 5, 5, 5, 5, 4, 4, 4, 3, 3, 2, 1, 1][self.rng.next() as usize % 13];
        let script = Script {
            visitor,
            left: if missed { self.rng.range(1, 3) as u32 } else { left },
            agent_turn: false,
            transfer,
            missed,
            survey: self.rng.chance(0.3).then_some(rating),
            end_by_agent: self.rng.chance(0.35),
            generation: 0,
            answered: false,
            ended: false,
            sent: 0,
        };
        self.scripts.insert(chat, script);
        if self.rng.chance(0.05) {
            let patience = self.rng.range(20 * SEC, 180 * SEC);
            self.schedule(now + patience, Action::Patience(chat));
        }
        // The visitor's question comes with the start; the agent's turn is scheduled when
        // the chat is assigned (already, or later from the queue), which supersedes the step
        // `visitor_says` schedules.
        self.visitor_says(chat, now);
        self.react(seen, now);
    }

    fn visitor_says(&mut self, chat: ChatId, now: Millis) {
        let text = self.words.sentence(&mut self.rng);
        let Some(s) = self.scripts.get_mut(&chat) else { return };
        s.sent += 1;
        s.left = s.left.saturating_sub(1);
        s.agent_turn = !s.missed || s.left == 0;
        let (visitor, client_id) = (s.visitor, format!("v{}", s.sent));
        let cmd = Command::Message(NewMessage {
            file: None,
            conn: visitor_conn(visitor),
            from: Party::Visitor(visitor),
            chat,
            client_id,
            text,
            note: false,
        });
        self.command(cmd, now);
        let Some(s) = self.scripts.get(&chat) else { return };
        let generation = s.generation;
        if s.missed {
            // Nobody answers: the visitor writes again after a while, then leaves.
            let wait = self.rng.range(40 * SEC, 180 * SEC);
            self.schedule(now + wait, Action::Step(chat, generation));
        } else if self.sb.chat(chat).is_some_and(|c| c.agent().is_some()) {
            let wait = self.rng.range(8 * SEC, 60 * SEC);
            self.schedule(now + wait, Action::Step(chat, generation));
        }
    }

    fn step(&mut self, chat: ChatId, now: Millis) {
        let Some(rec) = self.sb.chat(chat) else { return };
        let agent = rec.agent();
        let Some(s) = self.scripts.get(&chat) else { return };
        let (visitor, left, agent_turn, missed, transfer) = (s.visitor, s.left, s.agent_turn, s.missed, s.transfer);
        if left == 0 {
            let (conn, by) = match agent.filter(|_| s.end_by_agent) {
                Some(a) => (agent_conn(a), Party::Agent(a)),
                None => (visitor_conn(visitor), Party::Visitor(visitor)),
            };
            self.command(Command::EndChat { conn, by, chat }, now);
            return;
        }
        if !agent_turn || missed {
            return self.visitor_says(chat, now);
        }
        // An agent's turn: nothing until someone has the chat (the Assigned event resumes it).
        let Some(agent) = agent else { return };
        if let Some((_, kind)) = transfer.filter(|(at, _)| left <= *at) {
            if let Some(s) = self.scripts.get_mut(&chat) {
                s.transfer = None;
            }
            return self.transfer(chat, agent, kind, now);
        }
        if self.rng.chance(0.02) {
            let text = self.words.sentence(&mut self.rng);
            let client_id = format!("n{}", self.seq);
            let cmd = Command::Message(NewMessage {
                file: None,
                conn: agent_conn(agent),
                from: Party::Agent(agent),
                chat,
                client_id,
                text,
                note: true,
            });
            self.command(cmd, now);
        }
        let mut text = self.words.sentence(&mut self.rng);
        if self.rng.chance(0.25) {
            text.push(' ');
            text.push_str(&self.words.sentence(&mut self.rng));
        }
        let Some(s) = self.scripts.get_mut(&chat) else { return };
        s.sent += 1;
        s.left -= 1;
        s.agent_turn = false;
        s.answered = true;
        let (client_id, generation) = (format!("{}", s.sent), s.generation);
        let cmd = Command::Message(NewMessage {
            file: None,
            conn: agent_conn(agent),
            from: Party::Agent(agent),
            chat,
            client_id,
            text,
            note: false,
        });
        self.command(cmd, now);
        let wait = self.rng.range(10 * SEC, 70 * SEC);
        self.schedule(now + wait, Action::Step(chat, generation));
    }

    /// Agents of the site other than `not` that `want` says yes to.
    fn agents_where(&self, not: UserId, want: impl Fn(UserId, Presence, u32, u32) -> bool) -> Vec<UserId> {
        self.sb
            .site_agents(self.org.site)
            .into_iter()
            .filter(|(a, p, n)| *a != not && want(*a, *p, *n, self.max_chats.get(a).copied().unwrap_or(0)))
            .map(|(a, _, _)| a)
            .collect()
    }

    fn other_department(&mut self, chat: ChatId) -> DepartmentId {
        let current = self.sb.chat(chat).and_then(|c| c.department);
        let others: Vec<DepartmentId> = self.org.departments.iter().copied().filter(|d| Some(*d) != current).collect();
        *self.rng.pick(&others)
    }

    fn transfer(&mut self, chat: ChatId, from: UserId, kind: Kind, now: Millis) {
        let free = self.agents_where(from, |_, p, n, max| p == Presence::Online && n < max);
        let kind = if free.is_empty() && matches!(kind, Kind::Cold | Kind::Warm) { Kind::Queue } else { kind };
        let to = match kind {
            Kind::Cold => TransferTo::Agent { agent: *self.rng.pick(&free), mode: AgentMode::Cold, fallback_ms: 0 },
            Kind::Warm => TransferTo::Agent { agent: *self.rng.pick(&free), mode: AgentMode::Warm, fallback_ms: 0 },
            Kind::Queue => TransferTo::Department { department: self.other_department(chat), broadcast: false },
            Kind::Broadcast => TransferTo::Department { department: self.other_department(chat), broadcast: true },
            Kind::Unavailable => {
                let away = self.agents_where(from, |_, p, _, _| p != Presence::Online);
                let pool = if away.is_empty() { self.agents_where(from, |_, _, _, _| true) } else { away };
                TransferTo::Agent { agent: *self.rng.pick(&pool), mode: AgentMode::Anyway, fallback_ms: 2 * 60 * SEC }
            }
        };
        let comment = if self.rng.chance(0.5) { self.words.sentence(&mut self.rng) } else { String::new() };
        let req = TransferRequest { conn: agent_conn(from), agent: from, chat, to: to.clone(), comment };
        let cmd = Command::Transfer(Box::new(req));
        let seen = self.command_seen(cmd, now);
        if seen.errors.contains(&chat) {
            self.counts.transfer_refused += 1;
            return self.resume(chat, now);
        }
        match (kind, to) {
            (Kind::Warm, TransferTo::Agent { agent, .. }) => {
                let r = self.rng.unit();
                if r < 0.9 {
                    let wait = self.rng.range(3 * SEC, 25 * SEC);
                    self.schedule(now + wait, Action::Answer { chat, agent, accept: r < 0.7 });
                }
            }
            (Kind::Broadcast, _) => {
                let offered: Vec<UserId> = seen.offered.iter().filter(|(c, _)| *c == chat).map(|(_, a)| *a).collect();
                if !offered.is_empty() && self.rng.chance(0.85) {
                    let agent = *self.rng.pick(&offered);
                    let wait = self.rng.range(3 * SEC, 20 * SEC);
                    self.schedule(now + wait, Action::Answer { chat, agent, accept: true });
                }
            }
            _ => {}
        }
        self.react(seen, now);
    }

    /// The chat's agent goes on after a transfer that did not happen.
    fn resume(&mut self, chat: ChatId, now: Millis) {
        let wait = self.rng.range(5 * SEC, 20 * SEC);
        let Some(s) = self.scripts.get_mut(&chat).filter(|s| !s.ended) else { return };
        s.generation += 1;
        s.agent_turn = true;
        let generation = s.generation;
        self.schedule(now + wait, Action::Step(chat, generation));
    }

    fn command(&mut self, cmd: Command, now: Millis) {
        let seen = self.command_seen(cmd, now);
        self.react(seen, now);
    }

    /// Run a command; its records go to the batch, its timers to the clock.
    fn command_seen(&mut self, cmd: Command, now: Millis) -> Seen {
        let mut seen = Seen::default();
        for effect in self.sb.handle(cmd, now) {
            match effect {
                Effect::PutChat(rec) => self.writes.push(ChatWrite::Chat(rec)),
                Effect::Append(ev) => {
                    self.counts.events += 1;
                    match &ev.kind {
                        EventKind::Message { .. } => self.counts.messages += 1,
                        EventKind::Note { .. } => self.counts.notes += 1,
                        EventKind::Assigned { .. } => seen.assigned.push(ev.chat),
                        EventKind::Ended { by } => {
                            seen.ended.push(ev.chat);
                            self.counts.ended += 1;
                            self.ended_in_batch += 1;
                            if *by == parley::domain::chat::EndedBy::NoAgent {
                                self.counts.no_agent += 1;
                            }
                        }
                        EventKind::Transfer { transfer, outcome, to_agent, .. } => {
                            self.count_transfer(*transfer, *outcome);
                            match outcome {
                                TransferOutcome::Declined | TransferOutcome::Expired | TransferOutcome::Cancelled => {
                                    seen.resumed.push(ev.chat)
                                }
                                TransferOutcome::Accepted => {
                                    seen.accepted_warm.push((ev.chat, to_agent.unwrap_or(UserId(0))))
                                }
                                _ => {}
                            }
                        }
                        _ => {}
                    }
                    self.writes.push(ChatWrite::Event(self.org.site, ev));
                }
                Effect::CopyEvents { from, to, up_to, .. } => {
                    self.writes.push(ChatWrite::CopyEvents { from, to, up_to })
                }
                Effect::PutInvitation(rec) => self.writes.push(ChatWrite::Invitation(rec)),
                Effect::PutAway { site, agent, away } => self.writes.push(ChatWrite::Away { site, user: agent, away }),
                Effect::SetTimer(key, at) => {
                    self.timers.insert(key, at);
                    self.schedule(at, Action::Timer(key));
                }
                Effect::CancelTimer(key) => _ = self.timers.remove(&key),
                Effect::Send(Target::Agent(a), Out::Offer { chat, .. }) => seen.offered.push((chat.id, a)),
                Effect::Send(_, Out::Error { chat: Some(chat), .. }) => seen.errors.push(chat),
                Effect::Send(_, Out::Offline { .. }) => seen.offline = true,
                Effect::Send(..) => {}
            }
        }
        seen
    }

    fn count_transfer(&mut self, kind: TransferKind, outcome: TransferOutcome) {
        let k = match kind {
            TransferKind::Cold => "cold",
            TransferKind::Warm => "warm",
            TransferKind::Queue => "queue",
            TransferKind::Broadcast => "broadcast",
            TransferKind::Unavailable => "unavailable",
            TransferKind::CrossSite => "cross_site",
        };
        let o = match outcome {
            TransferOutcome::Offered => "offered",
            TransferOutcome::Accepted => "accepted",
            TransferOutcome::Declined => "declined",
            TransferOutcome::Expired => "expired",
            TransferOutcome::Cancelled => "cancelled",
            TransferOutcome::Completed => "completed",
            TransferOutcome::Waiting => "waiting",
        };
        let starts = matches!(
            (kind, outcome),
            (TransferKind::Cold | TransferKind::Queue, TransferOutcome::Completed)
                | (TransferKind::Warm | TransferKind::Broadcast, TransferOutcome::Offered)
                | (TransferKind::Unavailable, TransferOutcome::Waiting)
        );
        if starts {
            *self.counts.transfers.entry(k).or_default() += 1;
        }
        *self.counts.transfer_steps.entry((k, o)).or_default() += 1;
    }

    fn react(&mut self, seen: Seen, now: Millis) {
        for chat in seen.assigned {
            let first = self.scripts.get(&chat).is_some_and(|s| !s.answered);
            let wait = if first { self.rng.range(5 * SEC, 60 * SEC) } else { self.rng.range(5 * SEC, 30 * SEC) };
            let Some(s) = self.scripts.get_mut(&chat).filter(|s| !s.ended) else { continue };
            if s.missed {
                self.counts.missed_by_agent += 1;
                continue;
            }
            s.generation += 1;
            s.agent_turn = true;
            let generation = s.generation;
            self.schedule(now + wait, Action::Step(chat, generation));
        }
        for chat in seen.resumed {
            self.resume(chat, now);
        }
        for (chat, _) in seen.accepted_warm {
            if let Some(from) = self.sb.chat(chat).and_then(|c| c.agent()) {
                let wait = self.rng.range(5 * SEC, 20 * SEC);
                self.schedule(now + wait, Action::Complete { chat, agent: from });
            }
        }
        for chat in seen.ended {
            let Some(s) = self.scripts.get_mut(&chat) else { continue };
            s.ended = true;
            if s.survey.is_some() && s.answered {
                let wait = self.rng.range(5 * SEC, 60 * SEC);
                self.schedule(now + wait, Action::Survey(chat));
            } else if let Some(s) = self.scripts.remove(&chat) {
                self.returning.push(s.visitor);
            }
        }
    }
}
