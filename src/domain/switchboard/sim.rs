//! A seeded random simulation: thousands of steps of agents coming and going, visitors
//! arriving, writing, leaving, and timers firing, with the invariants checked after each step.

use super::*;

/// A small deterministic generator (xorshift64*), so a failing seed replays exactly.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

const SITES: [SiteId; 2] = [SiteId(1), SiteId(2)];

fn setup(sb: &mut Switchboard, now: Millis) {
    for (i, site) in SITES.iter().enumerate() {
        let base = i as u64 * 100;
        let agents = (1..=6)
            .map(|n| AgentProfile {
                id: UserId(base + n),
                site: *site,
                name: format!("a{n}"),
                max_chats: 1 + (n % 3) as u32,
                active: true,
                ..Default::default()
            })
            .collect();
        let departments = vec![
            DepartmentProfile {
                id: DepartmentId(base + 1),
                site: *site,
                rule: AllocationRule::RoundRobin,
                members: (1..=4).map(|n| UserId(base + n)).collect(),
                ..Default::default()
            },
            DepartmentProfile {
                id: DepartmentId(base + 2),
                site: *site,
                rule: AllocationRule::LeastBusy,
                members: (3..=6).map(|n| UserId(base + n)).collect(),
                ..Default::default()
            },
        ];
        // The campaign receiving cross-site transfers, then the two the visitors chat on; all
        // tell visitors of transfers.
        let mut dir = SiteDirectory::test(*site, agents, departments);
        for id in [50 + site.0, 0, 1] {
            let mut c = crate::domain::model::Campaign::test(CampaignId(id), *site);
            c.notify_transfer = true;
            dir = dir.with_campaign(c);
        }
        sb.handle(Command::Directory(Box::new(dir)), now);
    }
}

fn check_invariants(sb: &Switchboard, step: usize) {
    let mut owned: HashMap<ChatId, UserId> = HashMap::new();
    let mut personal = 0;
    for a in sb.agents.values() {
        assert!(
            (a.chats.len() + a.reserved.len()) as u32 <= a.profile.max_chats,
            "step {step}: agent {} over capacity",
            a.profile.id
        );
        for c in &a.waiting {
            let chat = &sb.chats[c].rec;
            assert_eq!(chat.state, ChatState::WaitingFor(a.profile.id), "step {step}: chat {c} waits wrongly");
            assert_eq!(chat.site, a.profile.site, "step {step}");
            personal += 1;
        }
        assert!(
            a.waiting.is_empty() || !allocation::eligible(a),
            "step {step}: agent {} could take a chat waiting for them",
            a.profile.id
        );
        for c in &a.chats {
            assert!(owned.insert(*c, a.profile.id).is_none(), "step {step}: chat {c} has two owners");
            let chat = &sb.chats[c].rec;
            assert_eq!(chat.state, ChatState::Active(a.profile.id), "step {step}");
            assert_eq!(chat.site, a.profile.site, "step {step}: chat {c} crossed sites");
        }
    }
    let mut queued = 0;
    for (key, q) in &sb.queues {
        for id in &q.waiting {
            let c = &sb.chats[id].rec;
            assert_eq!(c.state, ChatState::Queued, "step {step}");
            assert_eq!((c.site, c.department), *key, "step {step}: chat in the wrong queue");
            queued += 1;
        }
        if let Some(head) = q.waiting.front() {
            let exclude = sb.chats[head].not_to;
            assert!(
                allocation::pick(sb, *key, q, exclude.as_slice()).is_none(),
                "step {step}: queue {key:?} waits while a member has capacity"
            );
        }
    }
    let open = sb.chats.values().filter(|c| c.rec.status() != ChatStatus::Ended).count();
    assert_eq!(open, owned.len() + queued + personal, "step {step}: a chat is lost or in two places");
    for c in sb.chats.values() {
        if let Some(p) = &c.pending {
            assert_eq!(c.rec.agent(), Some(p.from), "step {step}: an offer for a chat its source no longer has");
        }
    }
    for (key, id) in &sb.open_by_visitor {
        let c = &sb.chats[id];
        assert_ne!(c.rec.status(), ChatStatus::Ended, "step {step}: {key:?} finds an ended chat");
        assert_eq!(c.rec.visitor, key.0, "step {step}");
    }
    for c in sb.chats.values().filter(|c| c.rec.status() != ChatStatus::Ended) {
        let found = sb.open_by_visitor.values().any(|id| *id == c.rec.id);
        assert!(found, "step {step}: the visitor's window cannot find open chat {}", c.rec.id);
    }
    for c in sb.chats.values().filter(|c| c.rec.status() == ChatStatus::Active) {
        assert!(owned.contains_key(&c.rec.id), "step {step}: active chat {} has no owner", c.rec.id);
    }
}

/// What agents alone may read, as the simulation writes it (notes and transfer comments), so
/// that a check of what visitors receive can look for it.
pub(crate) const AGENTS_ONLY: &str = "AGENTS-ONLY";

fn run(seed: u64, steps: usize) {
    run_observed(seed, steps, &mut |_, _| {});
}

/// Run the simulation, showing every effect (with the state after its command) to `observe`.
pub(crate) fn run_observed(seed: u64, steps: usize, observe: &mut dyn FnMut(&Switchboard, &Effect)) {
    let mut rng = Rng(seed | 1);
    let mut sb = Switchboard::new(Config { grace_ms: 30_000, max_queue_wait_ms: 300_000, max_message_bytes: 100 });
    let mut now: Millis = 1_000_000;
    setup(&mut sb, now);
    sb.handle(Command::Groups(vec![SITES.to_vec()]), now);
    let mut conns: HashMap<UserId, Vec<ConnId>> = HashMap::new();
    let mut timers: Vec<(Millis, TimerKey)> = vec![];
    let mut next_conn = 0u64;
    let mut last_seq: HashMap<ChatId, u64> = HashMap::new();
    let mut max_queued = 0;
    let mut transfers: HashMap<String, usize> = HashMap::new();
    for step in 0..steps {
        now += rng.below(5_000);
        // Fire due timers first, as the real task does.
        timers.sort();
        while timers.first().is_some_and(|t| t.0 <= now) {
            let (_, key) = timers.remove(0);
            let fx = sb.handle(Command::Timer(key), now);
            fx.iter().for_each(|e| observe(&sb, e));
            apply(&fx, &mut timers, &mut last_seq, step);
            check_invariants(&sb, step);
        }
        let site = SITES[rng.below(2) as usize];
        let base = if site == SITES[0] { 0 } else { 100 };
        let agent = UserId(base + 1 + rng.below(6));
        let cmd = match rng.below(14) {
            10..=12 => {
                // A transfer of some agent's chat, of a random kind.
                let active = by_id(sb.chats.values().map(|c| &c.rec).filter(|c| c.status() == ChatStatus::Active));
                if active.is_empty() {
                    continue;
                }
                let c = active[rng.below(active.len() as u64) as usize];
                let (from, chat, site) = (c.agent().unwrap_or(UserId(0)), c.id, c.site);
                let base = if site == SITES[0] { 0 } else { 100 };
                let to = match rng.below(6) {
                    0 => TransferTo::Agent {
                        agent: UserId(base + 1 + rng.below(6)),
                        mode: AgentMode::Cold,
                        fallback_ms: 0,
                    },
                    1 => TransferTo::Agent {
                        agent: UserId(base + 1 + rng.below(6)),
                        mode: AgentMode::Warm,
                        fallback_ms: 0,
                    },
                    2 => TransferTo::Agent {
                        agent: UserId(base + 1 + rng.below(6)),
                        mode: AgentMode::Anyway,
                        fallback_ms: rng.below(2) * 60_000,
                    },
                    3 => TransferTo::Department { department: DepartmentId(base + 1 + rng.below(2)), broadcast: false },
                    4 => TransferTo::Department { department: DepartmentId(base + 1 + rng.below(2)), broadcast: true },
                    _ => {
                        let other = if site == SITES[0] { SITES[1] } else { SITES[0] };
                        let obase = if other == SITES[0] { 0 } else { 100 };
                        TransferTo::Site {
                            site: other,
                            department: if rng.below(2) == 0 { Some(DepartmentId(obase + 1)) } else { None },
                            agent: if rng.below(3) == 0 { Some(UserId(obase + 1 + rng.below(6))) } else { None },
                            with_transcript: Some(rng.below(2) == 0),
                        }
                    }
                };
                let comment = format!("{AGENTS_ONLY} comment");
                Command::Transfer(Box::new(TransferRequest { conn: ConnId(0), agent: from, chat, to, comment }))
            }
            13 => {
                let mut offers: Vec<(ChatId, Pending)> =
                    sb.chats.iter().filter_map(|(id, c)| c.pending.clone().map(|p| (*id, p))).collect();
                offers.sort_by_key(|o| o.0);
                if offers.is_empty() {
                    continue;
                }
                let (chat, p) = offers[rng.below(offers.len() as u64) as usize].clone();
                match (p.offer.accepted_by(), rng.below(4)) {
                    (Some(_), 0) => Command::CancelTransfer { conn: ConnId(0), agent: p.from, chat },
                    (Some(_), _) => Command::CompleteTransfer { conn: ConnId(0), agent: p.from, chat },
                    (None, 0) => Command::CancelTransfer { conn: ConnId(0), agent: p.from, chat },
                    (None, n) => {
                        let to = p.offer.targets();
                        let agent = to[rng.below(to.len() as u64) as usize];
                        Command::AnswerOffer(OfferAnswer {
                            conn: ConnId(0),
                            agent,
                            chat,
                            accept: n != 1,
                            reason: format!("{AGENTS_ONLY} reason"),
                        })
                    }
                }
            }
            0 => {
                next_conn += 1;
                let conn = ConnId(next_conn);
                conns.entry(agent).or_default().push(conn);
                let p = sb.agents[&agent].profile.clone();
                Command::AgentConnected { agent: p, conn }
            }
            1 => match conns.get_mut(&agent).and_then(|v| v.pop()) {
                Some(conn) => Command::AgentDisconnected { agent, conn },
                None => continue,
            },
            2 => match conns.get(&agent).and_then(|v| v.first()) {
                Some(conn) => {
                    let presence = [Presence::Online, Presence::Away, Presence::Offline][rng.below(3) as usize];
                    Command::SetPresence { agent, conn: *conn, presence }
                }
                None => continue,
            },
            3 | 4 => {
                let dept = match rng.below(3) {
                    0 => None,
                    n => Some(DepartmentId(base + n)),
                };
                Command::StartChat(StartChat {
                    conn: ConnId(0),
                    site,
                    campaign: CampaignId(rng.below(2)),
                    department: dept,
                    visitor: VisitorId(base + rng.below(40)),
                    info: VisitorInfo::default(),
                    texts: ChatTexts { greeting: "hi".into(), queue: "wait".into() },
                })
            }
            5..=7 => {
                let open = by_id(sb.chats.values().map(|c| &c.rec).filter(|c| c.status() != ChatStatus::Ended));
                if open.is_empty() {
                    continue;
                }
                let c = open[rng.below(open.len() as u64) as usize];
                let from = match (c.agent(), rng.below(2)) {
                    (Some(a), 0) => Party::Agent(a),
                    _ => Party::Visitor(c.visitor),
                };
                let note = rng.below(5) == 0;
                Command::Message(NewMessage {
                    file: None,
                    conn: ConnId(0),
                    from,
                    chat: c.id,
                    client_id: format!("m{}", rng.below(50)),
                    text: if note { format!("{AGENTS_ONLY} note") } else { "x".into() },
                    note,
                })
            }
            _ => {
                let open = by_id(sb.chats.values().map(|c| &c.rec).filter(|c| c.status() != ChatStatus::Ended));
                if open.is_empty() {
                    continue;
                }
                let c = open[rng.below(open.len() as u64) as usize];
                let by = match c.agent() {
                    Some(a) if rng.below(2) == 0 => Party::Agent(a),
                    _ => Party::Visitor(c.visitor),
                };
                Command::EndChat { conn: ConnId(0), by, chat: c.id }
            }
        };
        let fx = sb.handle(cmd, now);
        fx.iter().for_each(|e| observe(&sb, e));
        for e in &fx {
            if let Effect::Append(ChatEvent {
                kind: crate::domain::chat::EventKind::Transfer { transfer, outcome, .. },
                ..
            }) = e
            {
                *transfers.entry(format!("{transfer:?}/{outcome:?}")).or_default() += 1;
            }
        }
        apply(&fx, &mut timers, &mut last_seq, step);
        check_invariants(&sb, step);
        max_queued = max_queued.max(sb.queues.values().map(|q| q.waiting.len()).sum::<usize>());
    }
    // The run must have exercised the interesting states, or it proves nothing.
    let ended = sb.chats.values().filter(|c| c.rec.status() == ChatStatus::Ended).count();
    assert!(
        last_seq.len() > 100 && ended > 50 && max_queued > 2,
        "seed {seed}: chats {} ended {ended} max queued {max_queued}",
        last_seq.len()
    );
}

/// Candidates in chat id order: the map's own order differs from run to run, and a seed must
/// replay the same steps.
fn by_id<'a>(chats: impl Iterator<Item = &'a ChatRecord>) -> Vec<&'a ChatRecord> {
    let mut v: Vec<&ChatRecord> = chats.collect();
    v.sort_by_key(|c| c.id);
    v
}

/// Apply timer effects and check that each chat's appended events are numbered 1, 2, 3, …
fn apply(fx: &[Effect], timers: &mut Vec<(Millis, TimerKey)>, last_seq: &mut HashMap<ChatId, u64>, step: usize) {
    for e in fx {
        match e {
            Effect::SetTimer(k, at) => {
                timers.retain(|t| t.1 != *k);
                timers.push((*at, *k));
            }
            Effect::CancelTimer(k) => timers.retain(|t| t.1 != *k),
            Effect::Append(ev) => {
                let prev = last_seq.insert(ev.chat, ev.seq).unwrap_or(0);
                assert_eq!(ev.seq, prev + 1, "step {step}: chat {} skipped or repeated a seq", ev.chat);
            }
            Effect::PutChat(rec) => {
                assert_eq!(
                    rec.last_seq,
                    last_seq.get(&rec.id).copied().unwrap_or(0),
                    "step {step}: summary out of step with events"
                );
            }
            Effect::CopyEvents { to, copied, .. } => {
                last_seq.insert(to.1, *copied);
            }
            Effect::PutInvitation(_) | Effect::PutAway { .. } => {}
            Effect::Send(..) => {}
        }
    }
}

#[test]
fn invariants_hold_over_random_days() {
    for seed in [1, 2, 3, 42, 1234, 99_999] {
        run(seed, 5_000);
    }
}
