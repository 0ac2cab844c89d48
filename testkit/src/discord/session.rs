//! A gateway session apart from its websocket: its intents, sequence and replay buffer, and the
//! queue to its connection while it has one. The state dispatches into sessions; the gateway
//! attaches connections to them, so both depend on this and not on each other.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::model::GatewaySession;

/// Gateway intent bits the emulator filters events by.
pub mod intents {
    /// Guild, channel, role and pin events.
    pub const GUILDS: u64 = 1 << 0;
    /// Member events and the full member list in GUILD_CREATE (privileged).
    pub const GUILD_MEMBERS: u64 = 1 << 1;
    /// Presence updates (privileged).
    pub const GUILD_PRESENCES: u64 = 1 << 8;
    /// Message events in guilds.
    pub const GUILD_MESSAGES: u64 = 1 << 9;
    /// Message events in DMs.
    pub const DIRECT_MESSAGES: u64 = 1 << 12;
    /// Message content for messages not exempt from the rule (privileged).
    pub const MESSAGE_CONTENT: u64 = 1 << 15;
    /// Every intent bit Discord defines today (up to DIRECT_MESSAGE_POLLS, 1 << 25).
    pub const ALL_KNOWN: u64 = (1 << 26) - 1;
}

/// A gateway frame other than a dispatch (those carry a sequence number).
pub(crate) fn frame(op: u64, d: &Value) -> String {
    json!({"op": op, "d": d, "s": null, "t": null}).to_string()
}

/// Frames kept per session for RESUME.
const REPLAY_CAPACITY: usize = 10_000;

/// What the server side of one connection should do next.
#[derive(Debug)]
pub(crate) enum Outbound {
    Text(String),
    Close(u16, &'static str),
    /// Drop the TCP connection without a close frame (a network failure).
    Drop,
    /// From now on deliver nothing, HEARTBEAT_ACK included, while the socket stays open: a
    /// "zombied" connection, which the client must notice by its missing ACKs.
    Silence,
}

#[derive(Debug)]
pub(crate) struct Connection {
    pub(crate) id: u64,
    pub(crate) outbound: mpsc::UnboundedSender<Outbound>,
}

/// A gateway session: its intents, sequence and replay buffer, and its connection if any.
#[derive(Debug)]
pub(crate) struct Session {
    pub(crate) id: String,
    pub(crate) intents: u64,
    pub(crate) shard: [u64; 2],
    pub(crate) seq: u64,
    replay: VecDeque<(u64, String)>,
    pub(crate) connection: Option<Connection>,
    /// When the last connection went away (`None` while connected).
    disconnected_at: Option<Instant>,
    /// `false` once the server has given the session up: RESUME is refused.
    resumable: bool,
}

impl Session {
    /// A session IDENTIFY has just started on `connection`.
    pub(crate) fn new(id: String, intents: u64, shard: [u64; 2], connection: Connection) -> Self {
        Self {
            id,
            intents,
            shard,
            seq: 0,
            replay: VecDeque::new(),
            connection: Some(connection),
            disconnected_at: None,
            resumable: true,
        }
    }

    /// RESUME moves the session onto `connection`; the one it had, if any, is handed back.
    pub(crate) fn attach(&mut self, connection: Connection) -> Option<Connection> {
        self.disconnected_at = None;
        self.connection.replace(connection)
    }

    /// The server gives the session up: a later RESUME is refused.
    pub(crate) fn give_up(&mut self) {
        self.resumable = false;
    }

    pub(crate) fn view(&self) -> GatewaySession {
        GatewaySession {
            session_id: self.id.clone(),
            connected: self.connection.is_some(),
            seq: self.seq,
            intents: self.intents,
            shard: self.shard,
            resumable: self.resumable,
        }
    }

    pub(crate) fn handles_guild(&self, guild_id: u64) -> bool {
        self.shard[1] == 0 || (guild_id >> 22) % self.shard[1] == self.shard[0]
    }

    /// Sends a dispatch with the session's next sequence number and keeps it for RESUME.
    pub(crate) fn push_dispatch(&mut self, name: &str, data: &str) {
        self.seq += 1;
        let frame = format!(r#"{{"op":0,"s":{},"t":"{name}","d":{data}}}"#, self.seq);
        if self.replay.len() == REPLAY_CAPACITY {
            self.replay.pop_front();
        }
        self.replay.push_back((self.seq, frame.clone()));
        self.send(Outbound::Text(frame));
    }

    pub(crate) fn send(&mut self, outbound: Outbound) {
        if let Some(connection) = &self.connection
            && connection.outbound.send(outbound).is_err()
        {
            self.disconnect();
        }
    }

    pub(crate) fn disconnect(&mut self) {
        if self.connection.take().is_some() {
            self.disconnected_at = Some(Instant::now());
        }
    }

    /// Whether RESUME may pick the session up again: Discord keeps a disconnected session only
    /// for a while, and not at all once it has invalidated it.
    pub(crate) fn can_resume(&self, window: Duration) -> bool {
        self.resumable && self.disconnected_at.is_none_or(|at| at.elapsed() <= window)
    }

    /// The frames after `seq`, or `None` if the buffer no longer reaches back that far.
    pub(crate) fn replay_after(&self, seq: u64) -> Option<Vec<String>> {
        if seq > self.seq {
            return None;
        }
        let oldest = self.replay.front().map_or(self.seq + 1, |(s, _)| *s);
        if seq + 1 < oldest && seq < self.seq {
            return None;
        }
        Some(
            self.replay
                .iter()
                .filter(|(s, _)| *s > seq)
                .map(|(_, frame)| frame.clone())
                .collect(),
        )
    }
}
