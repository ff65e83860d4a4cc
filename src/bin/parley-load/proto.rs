//! What the coordinator and its worker processes say to each other: one JSON object a line,
//! commands on the worker's standard input, one reply line per command on its standard output.

use crate::stats::Hist;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::IpAddr;

/// Everything a worker needs to know, sent as its first input line.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Spec {
    pub shard: usize,
    pub shards: usize,
    /// The server's `host:port` (loopback).
    pub server: String,
    /// The Origin agents send (the server's base URL).
    pub origin: String,
    /// Local addresses client sockets are bound to, in turn by global socket index.
    pub source_ips: Vec<IpAddr>,
    pub agents: Vec<AgentSpec>,
    pub visitors: Vec<VisitorSpec>,
    /// Size of the text of each chat message sent.
    pub message_bytes: usize,
    /// Connections being opened at once by this worker.
    pub connect_concurrency: usize,
    /// Tokio worker threads of this process.
    pub threads: usize,
    /// The worker exits by itself after this long, whatever happens.
    pub max_secs: u64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AgentSpec {
    /// Global socket index (chooses the source address).
    pub index: usize,
    pub id: u64,
    /// `parley_session=…`
    pub cookie: String,
    pub max_chats: u32,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct VisitorSpec {
    /// Global socket index (chooses the source address; also names the visitor).
    pub index: usize,
    pub campaign: u64,
}

/// One stretch of messages at constant total rates (messages/s over all workers).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct StepPlan {
    pub step: u32,
    pub rate_v: f64,
    pub rate_a: f64,
    pub duration_ms: u64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "cmd", rename_all = "snake_case")]
pub enum Cmd {
    ConnectAgents,
    ConnectVisitors,
    /// Every visitor sends `start`, spread evenly over `window_ms` from wall-clock `at_ns`.
    StartChats {
        at_ns: u64,
        window_ms: u64,
    },
    Status,
    /// Send messages by the plan, steps back to back from wall-clock `start_ns`. The worker's
    /// share of each rate is its share of the chats that can carry messages (`total_*_slots`).
    Messages {
        start_ns: u64,
        steps: Vec<StepPlan>,
        total_v_slots: u64,
        total_a_slots: u64,
    },
    Report,
    /// Visitors end their open chats; wait for the `ended` events.
    EndChats {
        timeout_ms: u64,
    },
    Close {
        timeout_ms: u64,
    },
    Exit,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct ConnectReply {
    pub ok: u64,
    pub failed: u64,
    /// A few of the failures, for the log.
    pub errors: Vec<String>,
    pub latency: Hist,
    pub elapsed_ms: u64,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Status {
    pub visitors: u64,
    pub agents: u64,
    pub connected_v: u64,
    pub connected_a: u64,
    pub starts_sent: u64,
    /// Visitors that received a `chat` frame (their chat is allocated or queued).
    pub chat_frames: u64,
    /// Visitors whose chat is assigned to an agent.
    pub assigned_v: u64,
    pub offline: u64,
    pub ended_v: u64,
    /// `assigned` frames received by this worker's agents.
    pub assigned_frames: u64,
    /// Chats this worker's agents hold now.
    pub agent_chats: u64,
    pub last_chat_frame_ns: u64,
    pub last_assigned_ns: u64,
    /// Messages can be sent in this many chats by visitors / agents of this worker.
    pub slots_v: u64,
    pub slots_a: u64,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct MessagesReply {
    pub planned: u64,
    pub queued: u64,
    /// How far the pacing loop fell behind its schedule at worst, in ms.
    pub max_behind_ms: f64,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct StepStats {
    /// Visitor sends `message` -> its `ack`.
    pub ack_v: Hist,
    /// Agent sends `message` -> its `ack`.
    pub ack_a: Hist,
    /// Visitor's message -> the agent's `event`.
    pub deliv_va: Hist,
    /// Agent's message -> the visitor's `event`.
    pub deliv_av: Hist,
    pub sent_v: u64,
    pub sent_a: u64,
    pub acked_v: u64,
    pub acked_a: u64,
    pub errors: u64,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Report {
    pub steps: BTreeMap<u32, StepStats>,
    /// Visitor's `start` -> the agent's `assigned`.
    pub alloc: Hist,
    /// Visitor's `start` -> the visitor's first `chat` frame (allocated or queued).
    pub chat_frame: Hist,
    pub counters: BTreeMap<String, u64>,
    /// (visitor id, chat id, agent id) of every `assigned` frame.
    pub assigned: Vec<(u64, u64, u64)>,
    /// (agent id, max_chats, most chats held at once).
    pub agent_peaks: Vec<(u64, u32, u32)>,
    /// Visitors that were told of more than one chat.
    pub visitors_multi_chat: u64,
    /// This worker's CPU time (utime+stime, clock ticks) and RSS.
    pub cpu_ticks: u64,
    pub rss_kb: u64,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct EndReply {
    pub asked: u64,
    pub ended: u64,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct CloseReply {
    pub closed: u64,
    pub left: u64,
}
