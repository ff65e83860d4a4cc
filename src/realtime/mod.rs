//! The real-time layer (tokio only): the switchboard task that owns the live state and is the
//! one caller of the pure core, its timers, the fan-out hub, and the wire protocol.
//!
//! The path of a command: a socket sends it here; the task runs `Switchboard::handle` with the
//! current time; the records among the effects go to the store writer as one job, and the
//! frames are published by the hub only after that job's batch is committed — in the order
//! the commands came. Timers set by the core are kept here and fed back as commands.

pub mod hub;
pub mod protocol;

use crate::domain::Millis;
use crate::domain::ids::{ConnId, SiteId};
use crate::domain::model::Role;
use crate::domain::switchboard::{
    AgentProfile, Command, Config as CoreConfig, DepartmentProfile, Effect, Out, SiteDirectory, Switchboard, Target,
    TimerKey,
};
use crate::store::{Announcer, ChatWrite, Store, StoreError};
use hub::Hub;
use protocol::{Audience, Frame, render_with};
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

type Query = Box<dyn FnOnce(&Switchboard) + Send>;

enum Msg {
    Cmd(Command),
    Query(Query),
}

/// The handle sockets and pages use to reach the switchboard task.
#[derive(Clone)]
pub struct Realtime {
    tx: mpsc::Sender<Msg>,
    pub hub: Arc<Hub>,
    next_conn: Arc<AtomicU64>,
}

fn now_ms() -> Millis {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

/// How many commands may wait for the task before senders wait too (back-pressure).
const INBOX: usize = 16_384;

impl Realtime {
    /// Rebuild the switchboard from the store and start its task.
    pub fn start(
        store: Store,
        cfg: CoreConfig,
        shutdown: CancellationToken,
    ) -> Result<(Realtime, JoinHandle<()>), StoreError> {
        let mut sb = Switchboard::new(cfg);
        let now = now_ms();
        for site in store.list_sites()? {
            sb.handle(directory(&store, site.id)?, now);
        }
        sb.handle(groups(&store)?, now);
        let (open, next_chat) = store.open_chats()?;
        let restored = open.len();
        let effects = sb.restore(open, next_chat, now);
        sb.set_next_invitation(store.next_invitation()?);
        tracing::info!(chats = restored, "switchboard restored");
        let (tx, rx) = mpsc::channel(INBOX);
        let hub = Arc::new(Hub::default());
        let announcer = store.announcer();
        let mut task =
            Task { sb, store, announcer, hub: hub.clone(), timers: Timers::default(), shutdown: shutdown.clone() };
        task.apply(effects);
        let handle = tokio::spawn(task.run(rx));
        Ok((Realtime { tx, hub, next_conn: Arc::new(AtomicU64::new(1)) }, handle))
    }

    pub fn new_conn(&self) -> ConnId {
        ConnId(self.next_conn.fetch_add(1, Ordering::Relaxed))
    }

    /// Hand a command to the switchboard (waits only when its inbox is full).
    pub async fn send(&self, cmd: Command) {
        let _ = self.tx.send(Msg::Cmd(cmd)).await;
    }

    /// Read the live state. `None` when the task has stopped.
    pub async fn query<R: Send + 'static>(&self, f: impl FnOnce(&Switchboard) -> R + Send + 'static) -> Option<R> {
        let (tx, rx) = oneshot::channel();
        let q: Query = Box::new(move |sb| {
            let _ = tx.send(f(sb));
        });
        self.tx.send(Msg::Query(q)).await.ok()?;
        rx.await.ok()
    }
}

/// The cross-site groups, as sets of sites.
pub fn groups(store: &Store) -> Result<Command, StoreError> {
    Ok(Command::Groups(store.list_groups()?.into_iter().map(|g| g.sites).collect()))
}

/// A site's directory as stored: the people who may chat (agents and site admins), its
/// departments, campaigns and settings.
pub fn directory(store: &Store, site: SiteId) -> Result<Command, StoreError> {
    let scope = store.site(site);
    let rec = scope.site()?;
    let agents = scope
        .users()?
        .into_iter()
        .filter(|u| matches!(u.role, Role::Agent | Role::Admin))
        .map(|u| AgentProfile {
            id: u.id,
            site,
            name: u.name,
            email: u.email,
            skills: u.skills,
            max_chats: u.max_chats,
            active: u.active,
            away: u.away,
        })
        .collect();
    let departments = scope
        .departments()?
        .into_iter()
        .map(|d| DepartmentProfile { id: d.id, site, name: d.name, rule: d.rule, members: d.members })
        .collect();
    let campaigns = scope.campaigns()?;
    let cross_site_campaign = rec.cross_site_campaign(&campaigns);
    Ok(Command::Directory(Box::new(SiteDirectory {
        site,
        name: rec.name,
        enabled: rec.enabled,
        agents,
        departments,
        campaigns,
        settings: rec.transfer,
        cross_site_campaign,
    })))
}

#[derive(Default)]
struct Timers {
    due: BTreeSet<(Millis, TimerKey)>,
    at: HashMap<TimerKey, Millis>,
}

impl Timers {
    fn set(&mut self, key: TimerKey, at: Millis) {
        self.cancel(key);
        self.due.insert((at, key));
        self.at.insert(key, at);
    }
    fn cancel(&mut self, key: TimerKey) {
        if let Some(at) = self.at.remove(&key) {
            self.due.remove(&(at, key));
        }
    }
    fn next(&self) -> Option<Millis> {
        self.due.first().map(|(at, _)| *at)
    }
    fn pop_due(&mut self, now: Millis) -> Option<TimerKey> {
        let (at, key) = *self.due.first()?;
        if at > now {
            return None;
        }
        self.due.remove(&(at, key));
        self.at.remove(&key);
        Some(key)
    }
}

struct Task {
    sb: Switchboard,
    store: Store,
    /// Where the store announces the sites whose directory a commit changed.
    announcer: Arc<Announcer>,
    hub: Arc<Hub>,
    timers: Timers,
    shutdown: CancellationToken,
}

/// The output of the commands handled since the last submission: their records, and the
/// frames to publish once those records are committed.
#[derive(Default)]
struct Batch {
    writes: Vec<ChatWrite>,
    sends: Vec<(Target, Frame)>,
}

/// Most commands handled before their output goes to the writer: enough to share one job (one
/// set of table opens in the transaction) under load, few enough to keep the writer fed.
const MAX_COMMANDS_PER_JOB: usize = 64;

impl Task {
    async fn run(mut self, mut rx: mpsc::Receiver<Msg>) {
        loop {
            let next = self.timers.next();
            let sleep = async move {
                match next {
                    Some(at) => tokio::time::sleep(std::time::Duration::from_millis(at.saturating_sub(now_ms()))).await,
                    None => std::future::pending().await,
                }
            };
            let mut batch = Batch::default();
            let announcer = self.announcer.clone();
            tokio::select! {
                _ = self.shutdown.cancelled() => break,
                _ = announcer.announced() => self.reload_changed(&mut batch),
                msg = rx.recv() => match msg {
                    Some(msg) => {
                        self.handle(msg, &mut batch);
                        // Commands already waiting share this job.
                        for _ in 1..MAX_COMMANDS_PER_JOB {
                            match rx.try_recv() {
                                Ok(msg) => self.handle(msg, &mut batch),
                                Err(_) => break,
                            }
                        }
                    }
                    None => break,
                },
                _ = sleep => {
                    while let Some(key) = self.timers.pop_due(now_ms()) {
                        self.process(Command::Timer(key), &mut batch);
                    }
                }
            }
            self.submit(batch);
        }
        tracing::debug!("switchboard task stopped");
    }

    /// Read again what the store announced as changed.
    fn reload_changed(&mut self, batch: &mut Batch) {
        let Some(changes) = self.announcer.take() else { return };
        for site in changes.sites {
            match directory(&self.store, site) {
                Ok(cmd) => self.process(cmd, batch),
                // A deleted site: its directory goes with it (no campaign, no department, off).
                Err(StoreError::NotFound) => {
                    self.process(Command::Directory(Box::new(SiteDirectory { site, ..Default::default() })), batch)
                }
                Err(e) => tracing::error!(error = %e, site = %site, "cannot read the site's directory"),
            }
        }
        if changes.groups {
            match groups(&self.store) {
                Ok(cmd) => self.process(cmd, batch),
                Err(e) => tracing::error!(error = %e, "cannot read the cross-site groups"),
            }
        }
    }

    fn handle(&mut self, msg: Msg, batch: &mut Batch) {
        // A change announced before this message was sent is seen by it: the announcement
        // happens before the writer answers, so before anything its caller does next.
        self.reload_changed(batch);
        match msg {
            Msg::Cmd(cmd) => self.process(cmd, batch),
            Msg::Query(q) => {
                // What came before the query goes to the writer first, as it did one by one.
                self.submit(std::mem::take(batch));
                q(&self.sb)
            }
        }
    }

    fn process(&mut self, cmd: Command, batch: &mut Batch) {
        let effects = self.sb.handle(cmd, now_ms());
        self.collect(effects, batch);
    }

    fn apply(&mut self, effects: Vec<Effect>) {
        let mut batch = Batch::default();
        self.collect(effects, &mut batch);
        self.submit(batch);
    }

    /// Timers now; records and frames into the batch.
    fn collect(&mut self, effects: Vec<Effect>, batch: &mut Batch) {
        // A message's event goes to the visitor's tabs and the agent's consoles: render it once
        // per audience (each audience has its own view of it).
        let mut last: Option<(Audience, Out, Option<Frame>)> = None;
        for e in effects {
            match e {
                Effect::PutChat(rec) => batch.writes.push(ChatWrite::Chat(rec)),
                // The site of a chat with new events (its summary is not always among the effects).
                Effect::Append(ev) => match self.sb.chat(ev.chat).map(|c| c.site) {
                    Some(site) => batch.writes.push(ChatWrite::Event(site, ev)),
                    None => tracing::error!(chat = %ev.chat, "an event of an unknown chat; not stored"),
                },
                Effect::CopyEvents { from, to, up_to, .. } => {
                    batch.writes.push(ChatWrite::CopyEvents { from, to, up_to })
                }
                Effect::Send(target, out) => {
                    let audience = Audience::of(target);
                    let frame = match &last {
                        Some((a, prev, frame)) if *a == audience && *prev == out => frame.clone(),
                        _ => render_with(target, &out, &|id| self.sb.campaign(id).map(|(_, c)| c)),
                    };
                    if let Some(f) = &frame {
                        batch.sends.push((target, f.clone()));
                    }
                    last = Some((audience, out, frame));
                }
                Effect::SetTimer(key, at) => self.timers.set(key, at),
                Effect::CancelTimer(key) => self.timers.cancel(key),
                Effect::PutInvitation(rec) => batch.writes.push(ChatWrite::Invitation(rec)),
                Effect::PutAway { site, agent, away } => batch.writes.push(ChatWrite::Away { site, user: agent, away }),
            }
        }
    }

    /// Records to the writer; frames to the hub once the records are committed, in order.
    fn submit(&mut self, batch: Batch) {
        let Batch { writes, sends } = batch;
        if writes.is_empty() && sends.is_empty() {
            return;
        }
        let hub = self.hub.clone();
        let publish = move || {
            for (target, frame) in &sends {
                hub.publish(*target, frame);
            }
        };
        let submitted = if writes.is_empty() {
            self.store.after_pending_writes(publish)
        } else {
            let store = self.store.clone();
            self.store.write_chat_records(writes, move |result| match result {
                Ok(()) => publish(),
                Err(e) => {
                    // Memory and disk disagree now: the store takes no more writes, and the
                    // server stops (app.rs) rather than acknowledge what is not stored.
                    tracing::error!(error = %e, "chat records could not be stored");
                    store.fail(e);
                }
            })
        };
        if let Err(e) = submitted {
            tracing::error!(error = %e, "the store is closed; switchboard output dropped");
        }
    }
}
