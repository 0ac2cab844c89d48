//! The gateway: JSON text frames over a websocket, API v10, as Discord documents it and
//! twilight-gateway 0.18 speaks it (docs/protocols.md).
//!
//! A session outlives its connection: dispatches that happen while a bot is disconnected are
//! buffered with their sequence numbers and replayed on RESUME, as Discord does. A session that
//! has been without a connection for longer than the configured resume window, or that a test
//! invalidated, is answered INVALID_SESSION (`d: false`) on RESUME; its dispatches are never
//! delivered to the new session the client then identifies (Discord Docs, Gateway: "Resuming").

use std::sync::Arc;

use axum::extract::ws::{CloseFrame, Message as WsMessage, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, State as AxumState};
use axum::response::Response;
use futures_util::{SinkExt, StreamExt};
use rand::Rng;
use serde_json::{Value, json};
use tokio::sync::mpsc;

pub use super::session::intents;
use super::session::{Connection, Outbound, Session, frame};
use super::snowflake::id_str;
use super::state::{Shared, State};

/// Which URL a websocket connected to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Entry {
    /// The gateway URL every new session starts from (`GET /gateway/bot`).
    Main,
    /// The `resume_gateway_url` READY gave the session with this id.
    ResumeUrl(String),
}

enum FrameResult {
    Continue,
    Heartbeat,
    Close(u16, &'static str),
}

fn gateway_base(state: &State) -> String {
    state.base_url.replacen("http", "ws", 1)
}

/// The session-specific URL READY hands out for resuming (Discord Docs, Gateway: "Preparing
/// to resume"); clients append `/?v=10&encoding=json` as they do to the main URL.
fn resume_url(state: &State, session_id: &str) -> String {
    format!("{}/resume/{session_id}", gateway_base(state))
}

fn identify(
    state: &mut State,
    d: &Value,
    connection: Connection,
    session_id: &mut Option<String>,
) -> FrameResult {
    if session_id.is_some() {
        return FrameResult::Close(4005, "Already authenticated.");
    }
    let token = d["token"].as_str().unwrap_or_default();
    if token.strip_prefix("Bot ").unwrap_or(token) != state.config.token {
        return FrameResult::Close(4004, "Authentication failed.");
    }
    let Some(requested) = d["intents"].as_u64() else {
        return FrameResult::Close(4013, "Invalid intent(s).");
    };
    if requested & !intents::ALL_KNOWN != 0 {
        return FrameResult::Close(4013, "Invalid intent(s).");
    }
    let disallowed = (requested & intents::GUILD_MEMBERS != 0
        && !state.config.guild_members_intent)
        || (requested & intents::GUILD_PRESENCES != 0 && !state.config.presence_intent)
        || (requested & intents::MESSAGE_CONTENT != 0 && !state.config.message_content_intent);
    if disallowed {
        return FrameResult::Close(4014, "Disallowed intent(s).");
    }
    let shard = match d["shard"].as_array().map(Vec::as_slice) {
        Some([id, count]) => [id.as_u64().unwrap_or(u64::MAX), count.as_u64().unwrap_or(0)],
        _ => [0, 1],
    };
    if shard[1] == 0 || shard[0] >= shard[1] {
        return FrameResult::Close(4010, "Invalid shard.");
    }
    let id = format!("{:032x}", rand::rng().random::<u128>());
    state.identify_count += 1;
    state.sessions.insert(
        id.clone(),
        Session::new(id.clone(), requested, shard, connection),
    );
    *session_id = Some(id.clone());
    let guild_ids: Vec<u64> = state
        .guilds
        .keys()
        .copied()
        .filter(|g| state.sessions.get(&id).is_some_and(|s| s.handles_guild(*g)))
        .collect();
    let mut user = state.user_json(state.bot_id());
    user["mfa_enabled"] = Value::Bool(false);
    user["verified"] = Value::Bool(true);
    let ready = json!({
        "v": 10,
        "user": user,
        "guilds": guild_ids.iter().map(|g| json!({"id": id_str(*g), "unavailable": true})).collect::<Vec<_>>(),
        "session_id": id,
        "session_type": "normal",
        "resume_gateway_url": resume_url(state, &id),
        "shard": shard,
        "application": {"id": id_str(state.config.application_id), "flags": 0},
        "private_channels": [],
        "presences": [],
        "relationships": [],
        "guild_join_requests": [],
        "geo_ordered_rtc_regions": [],
        "user_settings": {},
        "_trace": ["[\"ticketeer-testkit\"]"],
    })
    .to_string();
    if let Some(session) = state.sessions.get_mut(&id) {
        session.push_dispatch("READY", &ready);
    }
    for guild_id in guild_ids {
        state.send_guild_create(&id, guild_id);
    }
    FrameResult::Continue
}

fn resume(
    state: &mut State,
    d: &Value,
    connection: Connection,
    entry: &Entry,
    session_id: &mut Option<String>,
) -> FrameResult {
    let token = d["token"].as_str().unwrap_or_default();
    if token.strip_prefix("Bot ").unwrap_or(token) != state.config.token {
        return FrameResult::Close(4004, "Authentication failed.");
    }
    let requested = d["session_id"].as_str().unwrap_or_default().to_owned();
    let seq = d["seq"].as_u64().unwrap_or(0);
    let window = state.config.session_resume_window;
    let replay = state
        .sessions
        .get(&requested)
        .filter(|s| s.can_resume(window))
        .map(|s| s.replay_after(seq));
    let Some(Some(frames)) = replay else {
        // Unknown, expired or invalidated session, or history gone: Discord answers
        // INVALID_SESSION(false) and the client must IDENTIFY a new session.
        state.sessions.remove(&requested);
        state.refused_resumes += 1;
        let _ = connection
            .outbound
            .send(Outbound::Text(frame(9, &Value::Bool(false))));
        return FrameResult::Continue;
    };
    state.resume_count += 1;
    if *entry != Entry::ResumeUrl(requested.clone()) {
        state.resumes_off_resume_url += 1;
    }
    let Some(session) = state.sessions.get_mut(&requested) else {
        return FrameResult::Continue;
    };
    if let Some(old) = session.attach(connection) {
        let _ = old.outbound.send(Outbound::Drop);
    }
    for text in frames {
        session.send(Outbound::Text(text));
    }
    session.push_dispatch("RESUMED", "{}");
    *session_id = Some(requested);
    FrameResult::Continue
}

fn detach(state: &mut State, session_id: Option<&str>, connection_id: u64, invalidate: bool) {
    let Some(session_id) = session_id else {
        return;
    };
    if invalidate {
        state.sessions.remove(session_id);
        return;
    }
    if let Some(session) = state.sessions.get_mut(session_id)
        && session
            .connection
            .as_ref()
            .is_some_and(|c| c.id == connection_id)
    {
        session.disconnect();
    }
}

fn handle_frame(
    shared: &Shared,
    text: &str,
    connection_id: u64,
    entry: &Entry,
    outbound: &mpsc::UnboundedSender<Outbound>,
    session_id: &mut Option<String>,
) -> FrameResult {
    let Ok(payload) = serde_json::from_str::<Value>(text) else {
        return FrameResult::Close(4002, "Error while decoding payload.");
    };
    let connection = || Connection {
        id: connection_id,
        outbound: outbound.clone(),
    };
    match payload["op"].as_u64() {
        Some(1) => {
            let _ = outbound.send(Outbound::Text(
                r#"{"op":11,"d":null,"s":null,"t":null}"#.to_owned(),
            ));
            FrameResult::Heartbeat
        }
        Some(2) => shared.mutate(|state| identify(state, &payload["d"], connection(), session_id)),
        Some(6) => {
            shared.mutate(|state| resume(state, &payload["d"], connection(), entry, session_id))
        }
        Some(3 | 4 | 8 | 31 | 36 | 37) if session_id.is_none() => {
            FrameResult::Close(4003, "Not authenticated.")
        }
        Some(3 | 4 | 8 | 31 | 36 | 37) => FrameResult::Continue,
        _ => FrameResult::Close(4001, "Unknown opcode."),
    }
}

/// The websocket endpoint (`GET /?v=10&encoding=json`).
pub(crate) async fn upgrade(
    AxumState(shared): AxumState<Arc<Shared>>,
    upgrade: WebSocketUpgrade,
) -> Response {
    upgrade.on_upgrade(move |socket| run_connection(shared, socket, Entry::Main))
}

/// A session's `resume_gateway_url` (`GET /resume/{session}/?v=10&encoding=json`).
pub(crate) async fn upgrade_resume(
    AxumState(shared): AxumState<Arc<Shared>>,
    Path(session): Path<String>,
    upgrade: WebSocketUpgrade,
) -> Response {
    upgrade.on_upgrade(move |socket| run_connection(shared, socket, Entry::ResumeUrl(session)))
}

async fn run_connection(shared: Arc<Shared>, socket: WebSocket, entry: Entry) {
    let (connection_id, heartbeat_interval) = shared.mutate(|state| {
        state.next_connection_id += 1;
        (state.next_connection_id, state.config.heartbeat_interval)
    });
    let (outbound, mut pending) = mpsc::unbounded_channel();
    let (mut sink, mut stream) = socket.split();
    let interval_ms = u64::try_from(heartbeat_interval.as_millis()).unwrap_or(u64::MAX);
    let hello = frame(10, &json!({"heartbeat_interval": interval_ms}));
    if sink.send(WsMessage::Text(hello.into())).await.is_err() {
        return;
    }
    let mut session_id: Option<String> = None;
    let mut invalidate = false;
    let mut silent = false;
    // Discord drops a connection that stops heartbeating; allow a full missed beat of slack.
    let mut heartbeat_deadline = tokio::time::Instant::now() + heartbeat_interval * 2;
    loop {
        tokio::select! {
            incoming = stream.next() => match incoming {
                Some(Ok(WsMessage::Text(text))) => {
                    match handle_frame(&shared, text.as_str(), connection_id, &entry, &outbound, &mut session_id) {
                        FrameResult::Continue => {}
                        FrameResult::Heartbeat => {
                            heartbeat_deadline = tokio::time::Instant::now() + heartbeat_interval * 2;
                        }
                        FrameResult::Close(code, reason) => {
                            let _ = outbound.send(Outbound::Close(code, reason));
                        }
                    }
                }
                Some(Ok(WsMessage::Binary(_))) => {
                    let _ = outbound.send(Outbound::Close(4002, "Error while decoding payload."));
                }
                Some(Ok(WsMessage::Close(frame))) => {
                    // Closing with 1000/1001 ends the session; other codes keep it resumable.
                    invalidate = frame.is_some_and(|f| f.code == 1000 || f.code == 1001);
                    // The WebSocket layer queued the echo of the client's close; closing the
                    // sink sends it (RFC 6455 5.5.1: the peer answers a close with a close).
                    let _ = sink.close().await;
                    break;
                }
                Some(Ok(_)) => {}
                Some(Err(_)) | None => break,
            },
            next = pending.recv() => match next {
                Some(Outbound::Text(_)) if silent => {}
                // A zombie delivers no close frame either: the connection just ends.
                Some(Outbound::Close(..)) if silent => break,
                Some(Outbound::Silence) => silent = true,
                Some(Outbound::Text(text)) => {
                    if sink.send(WsMessage::Text(text.into())).await.is_err() {
                        break;
                    }
                }
                Some(Outbound::Close(code, reason)) => {
                    let close = CloseFrame { code, reason: reason.into() };
                    let _ = sink.send(WsMessage::Close(Some(close))).await;
                    // Fatal close codes end the session for good.
                    invalidate = code != 4000;
                    break;
                }
                Some(Outbound::Drop) | None => break,
            },
            () = tokio::time::sleep_until(heartbeat_deadline) => break,
        }
    }
    shared.mutate(|state| detach(state, session_id.as_deref(), connection_id, invalidate));
}
