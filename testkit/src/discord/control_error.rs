//! Why a control operation was refused. Apart from the control handle because the state's
//! primitives refuse with it too, and the state must not import the handle that drives it.

use std::time::Duration;

/// Why a control operation could not be carried out.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ControlError {
    /// No guild with this id.
    #[error("unknown guild {0}")]
    UnknownGuild(u64),
    /// No channel with this id.
    #[error("unknown channel {0}")]
    UnknownChannel(u64),
    /// No message with this id.
    #[error("unknown message {0}")]
    UnknownMessage(u64),
    /// No user with this id.
    #[error("unknown user {0}")]
    UnknownUser(u64),
    /// No role with this id in the guild.
    #[error("unknown role {0}")]
    UnknownRole(u64),
    /// No interaction with this id.
    #[error("unknown interaction {0}")]
    UnknownInteraction(u64),
    /// The user is not a member of the guild.
    #[error("user {user} is not a member of guild {guild}")]
    NotAMember {
        /// The guild the user would act in.
        guild: u64,
        /// The user the test acts as.
        user: u64,
    },
    /// The message has no enabled button with this custom id.
    #[error("message {message} has no enabled button with custom id {custom_id:?}")]
    NoSuchButton {
        /// The message clicked.
        message: u64,
        /// The custom id asked for.
        custom_id: String,
    },
    /// The user cannot see the channel, so cannot act in it.
    #[error("user {user} cannot see channel {channel}")]
    ChannelHidden {
        /// The user the test acts as.
        user: u64,
        /// The channel their permissions hide (no VIEW_CHANNEL).
        channel: u64,
    },
    /// The user may not send messages in the channel.
    #[error("user {user} may not send messages in channel {channel}")]
    CannotSend {
        /// The user the test acts as.
        user: u64,
        /// The channel where they lack SEND_MESSAGES.
        channel: u64,
    },
    /// A channel of this kind cannot be placed there.
    #[error("invalid channel: {0}")]
    InvalidChannel(String),
    /// `wait_for` gave up.
    #[error("condition not met within {0:?}")]
    Timeout(Duration),
}
