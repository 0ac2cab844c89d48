//! A stateful Discord emulator: gateway (websocket, API v10, JSON text frames) and REST under
//! `/api/v10`, with Discord's rules, permission checks, error codes, rate limits and the
//! interaction acknowledgement deadline, plus a control handle for tests and benchmarks.
//!
//! The bot points twilight at it: `ClientBuilder::proxy(emulator.http_proxy(), true)` and
//! `ConfigBuilder::proxy_url(emulator.gateway_url())`. One listener serves both.
//!
//! # Layout
//! - [`model`]: the state as tests see it; [`permissions`]: bits and the overwrite computation;
//!   [`snowflake`]: ids, timestamps and their JSON form.
//! - `state`: the single source of truth, its primitives, each dispatching its gateway events into
//!   the sessions (`session`) under the state lock, and its JSON shapes; among the primitives, the
//!   user's side of a click or a modal submit: INTERACTION_CREATE and the acknowledgement
//!   deadline; `modal`: a MODAL callback's rules and the submit the Discord client sends;
//!   `command`: application commands, a bulk overwrite's rules and the stored commands, and
//!   `command_input`: what a user fills in when running one and the client's checks of it.
//! - `endpoints`: REST, one wrapper for what every request shares (the route from
//!   `endpoints::routes`, auth, faults from `faults`, [`ratelimit`], the request log) around
//!   plain functions per resource: users, guilds, channels, messages, application commands, the
//!   interaction callback and webhook.
//! - [`gateway`]: the websocket: HELLO, IDENTIFY/READY/GUILD_CREATE, heartbeats, RESUME with
//!   replay.
//! - [`control`] and [`control_router`]: driving the emulator in-process or over HTTP, refused
//!   with a [`ControlError`] (in `control_error`, which the state's primitives use too);
//!   [`fixtures`]: the "Support" guild most tests start from.

mod api_error;
mod command;
mod command_input;
pub mod control;
mod control_error;
mod control_http;
mod endpoints;
mod faults;
pub mod fixtures;
pub mod gateway;
mod modal;
pub mod model;
pub mod permissions;
pub mod ratelimit;
mod session;
pub mod snowflake;
mod state;
pub mod validate;

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::routing::{any, get};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use command::ApplicationCommand;
pub use command_input::{CommandInput, OptionValue};
pub use control::{ChannelSpec, Control, ControlError, UserMessage};
pub use control_http::control_router;
pub use faults::FaultSpec;
pub use fixtures::{SupportGuild, TICKET_BOT_PERMISSIONS};
pub use modal::{Modal, ModalLayout, ModalTextInput};
pub use model::{
    Attachment, Channel, ChannelKind, EPHEMERAL_FLAG, GatewaySession, Guild, InteractionOutcome,
    InteractionStatus, InteractionView, Member, Message, Overwrite, OverwriteKind, RequestRecord,
    Role, User,
};
pub use ratelimit::{InvalidRequestLimit, RateLimitConfig, RouteLimit, RouteOverride};

/// The channel id in the first `<#123>` link in `text` (how the bot names a ticket's channel in
/// its answers), if the text has one.
pub fn channel_link(text: &str) -> Option<u64> {
    let start = text.find("<#")? + 2;
    let end = start + text[start..].find('>')?;
    text[start..end].parse().ok()
}

/// How the emulator behaves; `Default` suits unit tests (rate limits off, 3 s deadline).
#[derive(Debug, Clone)]
pub struct EmulatorConfig {
    /// Where to listen; port 0 picks a free one.
    pub bind: SocketAddr,
    /// The bot token REST and IDENTIFY must present.
    pub token: String,
    /// The application id: READY and every interaction carry it, and an interaction webhook
    /// under another application id is refused.
    pub application_id: u64,
    /// The bot user's id.
    pub bot_user_id: u64,
    /// The bot user's name.
    pub bot_username: String,
    /// Whether the app has the privileged MESSAGE_CONTENT intent enabled.
    pub message_content_intent: bool,
    /// Whether the app has the privileged GUILD_MEMBERS intent enabled.
    pub guild_members_intent: bool,
    /// Whether the app has the privileged GUILD_PRESENCES intent enabled.
    pub presence_intent: bool,
    /// REST rate limits.
    pub rate_limits: RateLimitConfig,
    /// The invalid-request limit; always on, as on Discord.
    pub invalid_requests: InvalidRequestLimit,
    /// How long a bot has to acknowledge an interaction (Discord: 3 s).
    pub ack_deadline: Duration,
    /// How long an interaction token works for follow-ups and edits (Discord: 15 min).
    pub interaction_token_lifetime: Duration,
    /// HELLO's heartbeat interval (Discord: 41.25 s).
    pub heartbeat_interval: Duration,
    /// How long a session without a connection can still be resumed; past it RESUME gets
    /// INVALID_SESSION(false). Discord does not publish its window; a few minutes is typical.
    pub session_resume_window: Duration,
    /// A delay before every REST answer, modelling Discord's round trip.
    pub rest_latency: Duration,
    /// Channels allowed in one category (Discord: 50).
    pub max_channels_per_category: usize,
    /// Channels allowed in one guild (Discord: 500).
    pub max_guild_channels: usize,
    /// Pins allowed in one channel (Discord: 250).
    pub max_pins_per_channel: usize,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            token: "MTAwMDAwMDAwMDAwMDAwMDAx.Gtest.emulator-bot-token".to_owned(),
            application_id: 1_000_000_000_000_000_001,
            bot_user_id: 1_000_000_000_000_000_001,
            bot_username: "Ticketeer".to_owned(),
            message_content_intent: true,
            guild_members_intent: true,
            presence_intent: false,
            rate_limits: RateLimitConfig::default(),
            invalid_requests: InvalidRequestLimit::default(),
            ack_deadline: Duration::from_secs(3),
            interaction_token_lifetime: Duration::from_mins(15),
            heartbeat_interval: Duration::from_millis(41_250),
            session_resume_window: Duration::from_mins(3),
            rest_latency: Duration::ZERO,
            max_channels_per_category: 50,
            max_guild_channels: 500,
            max_pins_per_channel: 250,
        }
    }
}

impl EmulatorConfig {
    /// Defaults, listening on `bind` (for the binary).
    pub fn with_bind(bind: SocketAddr) -> Self {
        Self {
            bind,
            ..Self::default()
        }
    }
}

/// Why the emulator could not start.
#[derive(Debug, thiserror::Error)]
pub enum EmulatorError {
    /// The listen address could not be bound.
    #[error("binding the Discord emulator to {address}")]
    Bind {
        /// The address asked for.
        address: SocketAddr,
        /// Why binding failed (the port is taken, say).
        #[source]
        source: std::io::Error,
    },
    /// The bound address could not be read back.
    #[error("reading the Discord emulator's bound address")]
    LocalAddress(#[source] std::io::Error),
}

/// A running emulator; dropping it (or `shutdown`) stops the server.
#[derive(Debug)]
pub struct DiscordEmulator {
    address: SocketAddr,
    token: String,
    control: Control,
    stop: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<()>>,
}

impl DiscordEmulator {
    /// Binds and starts serving REST, the gateway and attachment downloads on one port.
    pub async fn start(config: EmulatorConfig) -> Result<Self, EmulatorError> {
        let listener = tokio::net::TcpListener::bind(config.bind)
            .await
            .map_err(|source| EmulatorError::Bind {
                address: config.bind,
                source,
            })?;
        let address = listener.local_addr().map_err(EmulatorError::LocalAddress)?;
        let token = config.token.clone();
        let shared = state::Shared::new(state::State::new(config, format!("http://{address}")));
        let router = Router::new()
            .route("/", get(gateway::upgrade))
            // twilight appends `/?v=10&encoding=json` to the resume URL, so both spellings.
            .route("/resume/{session}", get(gateway::upgrade_resume))
            .route("/resume/{session}/", get(gateway::upgrade_resume))
            .route("/api/v10/{*path}", any(endpoints::handle))
            .route(
                "/attachments/{channel}/{attachment}/{filename}",
                get(endpoints::attachment),
            )
            .with_state(shared.clone());
        let (stop, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            let serve = axum::serve(listener, router).with_graceful_shutdown(async {
                let _ = stopped.await;
            });
            if let Err(error) = serve.await {
                tracing::warn!(%error, "Discord emulator server stopped");
            }
        });
        Ok(Self {
            address,
            token,
            control: Control { shared },
            stop: Some(stop),
            server: Some(server),
        })
    }

    /// `127.0.0.1:PORT` for twilight-http's `ClientBuilder::proxy(_, true)`.
    pub fn http_proxy(&self) -> String {
        self.address.to_string()
    }

    /// `ws://127.0.0.1:PORT` for twilight-gateway's `ConfigBuilder::proxy_url`.
    pub fn gateway_url(&self) -> String {
        format!("ws://{}", self.address)
    }

    /// The bot token the emulator accepts.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// A handle to drive and observe the emulator.
    pub fn control(&self) -> Control {
        self.control.clone()
    }

    /// Stops the server and waits for it to finish.
    pub async fn shutdown(mut self) {
        self.stop_serving();
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
    }

    fn stop_serving(&mut self) {
        self.control.drop_gateway_connections();
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

impl Drop for DiscordEmulator {
    fn drop(&mut self) {
        self.stop_serving();
    }
}
