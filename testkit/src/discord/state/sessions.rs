//! Gateway sessions as the control handle drives them: network failures, zombie connections,
//! RECONNECT and INVALID_SESSION sent to every session, and the sessions as tests see them.

use serde_json::Value;

use super::State;
use crate::discord::model::GatewaySession;
use crate::discord::session::{Outbound, Session, frame};

impl State {
    /// Closes every gateway connection without a close frame, as a network failure would.
    pub(crate) fn drop_connections(&mut self) {
        for session in self.sessions.values_mut() {
            session.send(Outbound::Drop);
            session.disconnect();
        }
    }

    /// Every open connection stops delivering frames (heartbeat ACKs and dispatches alike) but
    /// stays open: what a client sees of a half-open TCP connection. Dispatches still advance
    /// the session and wait in its replay buffer.
    pub(crate) fn silence_connections(&mut self) {
        for session in self.sessions.values_mut() {
            session.send(Outbound::Silence);
        }
    }

    /// Gives every session up on the server side without telling its connection: the next
    /// RESUME of any of them is answered INVALID_SESSION(false).
    pub(crate) fn invalidate_sessions(&mut self) {
        for session in self.sessions.values_mut() {
            session.give_up();
        }
    }

    /// Sends op 7 RECONNECT to every connected session.
    pub(crate) fn send_reconnect(&mut self) {
        for session in self.sessions.values_mut() {
            session.send(Outbound::Text(frame(7, &Value::Null)));
        }
    }

    /// Sends op 9 INVALID_SESSION; when not resumable the sessions are forgotten.
    pub(crate) fn send_invalid_session(&mut self, resumable: bool) {
        for session in self.sessions.values_mut() {
            session.send(Outbound::Text(frame(9, &Value::Bool(resumable))));
        }
        if !resumable {
            self.sessions.clear();
        }
    }

    pub(crate) fn gateway_sessions(&self) -> Vec<GatewaySession> {
        let mut sessions: Vec<GatewaySession> = self.sessions.values().map(Session::view).collect();
        sessions.sort_by(|a, b| a.session_id.cmp(&b.session_id));
        sessions
    }
}
