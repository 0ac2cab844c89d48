//! The bot's errors: what failed, and what (if anything) a clicker is told about it.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;

use ticketeer_config::ConfigError;
use twilight_http::api_error::ApiError;
use twilight_http::error::ErrorType;

use crate::discord_call::DiscordCall;
use crate::store::StoreError;

/// Result alias for the bot.
pub type Result<T, E = BotError> = std::result::Result<T, E>;

/// What went wrong in the bot.
#[derive(Debug, thiserror::Error)]
pub enum BotError {
    /// The config file could not be read.
    #[error("could not read the config file {path}")]
    ReadConfig {
        /// The path as given (`--config`, else the operator's mount point).
        path: PathBuf,
        /// Why it could not be read (missing, not readable, not UTF-8).
        #[source]
        source: std::io::Error,
    },
    /// The config file was read but is not a valid config; the source names every bad field.
    // The problems are part of the message (not a `source`), so printing the error chain does not
    // list every field twice.
    #[error("the config file {path} is refused: {problems}")]
    InvalidConfig {
        /// The path as given (`--config`, else the operator's mount point).
        path: PathBuf,
        /// What is wrong, field by field.
        problems: ConfigError,
    },
    /// Postgres could not be reached with `DATABASE_URL`.
    #[error("could not connect to the database (DATABASE_URL)")]
    ConnectDatabase(#[source] sqlx::Error),
    /// A store operation failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The HTTP server could not listen.
    #[error("could not listen for HTTP on {address}")]
    BindHttp {
        /// The configured `http.listen`.
        address: SocketAddr,
        /// Why listening failed (the port is taken, say).
        #[source]
        source: std::io::Error,
    },
    /// A Discord REST request failed.
    #[error("Discord refused to {}: {source}", call.action())]
    Discord {
        /// The call that failed, e.g. [`DiscordCall::CreateTicketChannel`].
        call: DiscordCall,
        /// twilight's error (status, Discord's code and message).
        #[source]
        source: Box<twilight_http::Error>,
    },
    /// Discord answered, but with a body the bot cannot read.
    #[error("could not read Discord's answer to {}", call.action())]
    ReadDiscordResponse {
        /// The call whose answer could not be read.
        call: DiscordCall,
        /// Where the body differs from the model twilight reads it into.
        #[source]
        source: twilight_http::response::DeserializeBodyError,
    },
    /// A transcript could not be stored on the PrivateBin server.
    #[error("could not store the transcript on PrivateBin")]
    UploadTranscript(#[source] crate::privatebin::PrivateBinError),
    /// The gateway connection ended for good (for example an invalid token or disallowed intents).
    #[error("the Discord gateway closed for good: {0}")]
    GatewayClosed(String),
}

/// 10003 Unknown Channel.
const UNKNOWN_CHANNEL: u64 = 10003;
/// 10008 Unknown Message.
const UNKNOWN_MESSAGE: u64 = 10008;
/// 10013 Unknown User.
const UNKNOWN_USER: u64 = 10013;
/// 40060 Interaction has already been acknowledged.
const ALREADY_ACKNOWLEDGED: u64 = 40060;
/// 50001 Missing Access: the bot cannot see the channel.
const MISSING_ACCESS: u64 = 50001;
/// 50007 Cannot send messages to this user (DMs closed, no shared server, blocked).
const CANNOT_MESSAGE_USER: u64 = 50007;
/// 50013 Missing Permissions.
const MISSING_PERMISSIONS: u64 = 50013;
/// The guild holds Discord's maximum of 500 channels.
const MAX_GUILD_CHANNELS: u64 = 30013;
/// 50035 Invalid Form Body.
const INVALID_FORM_BODY: u64 = 50035;
/// 50083 Thread is archived.
const THREAD_ARCHIVED: u64 = 50083;

/// What kind of Discord failure a REST error is, for the bot's decisions, logs and the clicker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiscordProblem {
    /// 50013: the bot lacks a permission.
    MissingPermissions,
    /// 50001: the bot cannot see the channel at all.
    MissingAccess,
    /// 50035 because a category already holds Discord's maximum of 50 channels.
    CategoryFull,
    /// 30013: the guild holds Discord's maximum of 500 channels.
    GuildFull,
    /// 50035 for any other reason: Discord rejected what the bot sent.
    InvalidRequest,
    /// 10003 / 10008 (or a bare 404): the channel or message is gone.
    UnknownResource,
    /// 10013: no such user.
    UnknownUser,
    /// 50007: the user accepts no DM from the bot.
    CannotMessageUser,
    /// 50083: the thread is archived (Discord archives a thread left without messages for its
    /// auto-archive duration), and members and names cannot change until it is unarchived.
    ThreadArchived,
    /// 40060: another replica (or an earlier delivery) acknowledged the interaction first.
    AlreadyAcknowledged,
    /// 5xx, or an answer that is not Discord's JSON: Discord had a problem.
    DiscordOutage,
    /// The request never got an answer (timeout, connection refused).
    Unreachable,
    /// Any other failure: another 4xx answer (401 included), or a request twilight could not
    /// build. Nothing is decided on it; a clicker is told something went wrong.
    Other,
}

impl DiscordProblem {
    /// Classifies a twilight REST error.
    pub fn of(error: &twilight_http::Error) -> Self {
        match error.kind() {
            ErrorType::Response {
                status,
                body,
                error,
                ..
            } => {
                let code = match error {
                    ApiError::General(general) => Some(general.code),
                    _ => None,
                };
                match code {
                    Some(MISSING_PERMISSIONS) => Self::MissingPermissions,
                    Some(MISSING_ACCESS) => Self::MissingAccess,
                    Some(INVALID_FORM_BODY) if contains(body, b"CHANNEL_PARENT_MAX_CHANNELS") => {
                        Self::CategoryFull
                    }
                    Some(INVALID_FORM_BODY) => Self::InvalidRequest,
                    Some(MAX_GUILD_CHANNELS) => Self::GuildFull,
                    Some(UNKNOWN_CHANNEL | UNKNOWN_MESSAGE) => Self::UnknownResource,
                    Some(UNKNOWN_USER) => Self::UnknownUser,
                    Some(CANNOT_MESSAGE_USER) => Self::CannotMessageUser,
                    Some(THREAD_ARCHIVED) => Self::ThreadArchived,
                    Some(ALREADY_ACKNOWLEDGED) => Self::AlreadyAcknowledged,
                    _ if status.is_server_error() => Self::DiscordOutage,
                    _ if status.get() == 404 => Self::UnknownResource,
                    _ => Self::Other,
                }
            }
            ErrorType::Parsing { .. } => Self::DiscordOutage,
            ErrorType::RequestError | ErrorType::RequestTimedOut | ErrorType::RequestCanceled => {
                Self::Unreachable
            }
            _ => Self::Other,
        }
    }

    /// Whether waiting cannot help the bot post there: the channel is gone or closed to it.
    pub fn forbids_posting(self) -> bool {
        matches!(
            self,
            Self::UnknownResource | Self::MissingAccess | Self::MissingPermissions
        )
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

impl BotError {
    /// Wraps a twilight REST error with what the bot was doing.
    pub(crate) fn discord(call: DiscordCall, source: twilight_http::Error) -> Self {
        Self::Discord {
            call,
            source: Box::new(source),
        }
    }

    /// Discord's JSON error code, when Discord answered with one.
    pub fn discord_code(&self) -> Option<u64> {
        match self {
            Self::Discord { source, .. } => match source.kind() {
                ErrorType::Response {
                    error: ApiError::General(general),
                    ..
                } => Some(general.code),
                _ => None,
            },
            _ => None,
        }
    }

    /// The HTTP status of a Discord answer, when there was one.
    pub fn discord_status(&self) -> Option<u16> {
        match self {
            Self::Discord { source, .. } => match source.kind() {
                ErrorType::Response { status, .. } => Some(status.get()),
                _ => None,
            },
            _ => None,
        }
    }

    /// Classifies a Discord REST failure; `None` for errors that are not Discord's.
    pub fn discord_problem(&self) -> Option<DiscordProblem> {
        match self {
            Self::Discord { source, .. } => Some(DiscordProblem::of(source)),
            _ => None,
        }
    }

    /// Whether Discord says the thing acted on no longer exists (10003 Unknown Channel, 10008
    /// Unknown Message, or a bare 404).
    pub fn is_unknown_resource(&self) -> bool {
        self.discord_problem() == Some(DiscordProblem::UnknownResource)
    }

    /// Whether Discord says the message acted on no longer exists (10008 Unknown Message), as
    /// opposed to its whole channel.
    pub(crate) fn is_unknown_message(&self) -> bool {
        self.discord_code() == Some(UNKNOWN_MESSAGE)
    }
}

/// An error with every cause behind it, "what failed: why: why", for logs: a store error alone
/// says only which query failed, its cause says the pool timed out or the connection was
/// refused. A cause whose text its parent's message already ends with is not repeated.
pub struct ErrorChain<'a>(pub &'a (dyn std::error::Error + 'static));

impl fmt::Display for ErrorChain<'_> {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut written = self.0.to_string();
        let mut cause = self.0.source();
        while let Some(error) = cause {
            let text = error.to_string();
            if !text.is_empty() && !written.ends_with(&text) {
                written.push_str(": ");
                written.push_str(&text);
            }
            cause = error.source();
        }
        formatter.write_str(&written)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_that_are_not_discords_have_no_code() {
        let error = BotError::GatewayClosed("4004".to_owned());
        assert_eq!(error.discord_code(), None);
        assert_eq!(error.discord_problem(), None);
    }

    #[test]
    fn the_logged_chain_names_the_cause_of_a_store_error_once() {
        let error = BotError::Store(StoreError::Query {
            operation: "load ticket",
            source: sqlx::Error::PoolTimedOut,
        });
        assert_eq!(error.to_string(), "database query failed: load ticket");
        let logged = ErrorChain(&error).to_string();
        assert_eq!(
            logged,
            format!(
                "database query failed: load ticket: {}",
                sqlx::Error::PoolTimedOut
            )
        );
        let refused = BotError::ConnectDatabase(sqlx::Error::Io(std::io::Error::from(
            std::io::ErrorKind::ConnectionRefused,
        )));
        let logged = ErrorChain(&refused).to_string();
        assert!(logged.contains("refused"), "{logged}");
        assert_eq!(logged.matches("refused").count(), 1, "{logged}");
    }

    #[test]
    fn byte_search_finds_discords_error_codes_in_bodies() {
        assert!(contains(
            br#"{"errors":{"parent_id":{"_errors":[{"code":"CHANNEL_PARENT_MAX_CHANNELS"}]}}}"#,
            b"CHANNEL_PARENT_MAX_CHANNELS"
        ));
        assert!(!contains(b"{}", b"CHANNEL_PARENT_MAX_CHANNELS"));
    }

    #[test]
    fn only_a_gone_or_closed_channel_forbids_posting() {
        assert!(DiscordProblem::UnknownResource.forbids_posting());
        assert!(DiscordProblem::MissingAccess.forbids_posting());
        assert!(DiscordProblem::MissingPermissions.forbids_posting());
        assert!(!DiscordProblem::DiscordOutage.forbids_posting());
        assert!(!DiscordProblem::Unreachable.forbids_posting());
    }
}
