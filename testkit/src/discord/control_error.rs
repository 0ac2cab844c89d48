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
    /// The message has no enabled string select menu with this custom id.
    #[error("message {message} has no enabled select menu with custom id {custom_id:?}")]
    NoSuchSelect {
        /// The message.
        message: u64,
        /// The custom id asked for.
        custom_id: String,
    },
    /// The Discord client would not let the user make this choice in the menu.
    #[error("select menu {custom_id:?} refuses the choice: {reason}")]
    InvalidChoice {
        /// The menu's custom id.
        custom_id: String,
        /// Why, e.g. a value that is none of the options.
        reason: String,
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
    /// The interaction was not answered with a modal, so there is nothing to submit.
    #[error("interaction {0} showed no modal")]
    NoModal(u64),
    /// A modal is shown only to the user whose interaction it answered.
    #[error("the modal of interaction {interaction} was not shown to user {user}")]
    NotModalUser {
        /// The interaction the modal answered.
        interaction: u64,
        /// The user who tried to submit it.
        user: u64,
    },
    /// The modal has no text input with this custom id.
    #[error("modal {modal:?} has no text input with custom id {custom_id:?}")]
    UnknownModalInput {
        /// The modal's custom id.
        modal: String,
        /// The custom id a value was given for.
        custom_id: String,
    },
    /// A required text input was left empty: the Discord client does not let the user submit.
    #[error("text input {0:?} is required and was left empty")]
    ModalInputRequired(String),
    /// A value's length is outside the text input's bounds: the Discord client refuses it too.
    #[error("text input {custom_id:?} takes {min} to {max} characters, not {length}")]
    ModalInputLength {
        /// The text input's custom id.
        custom_id: String,
        /// Characters in the value given.
        length: usize,
        /// The input's `min_length` (default 0).
        min: usize,
        /// The input's `max_length` (default 4000).
        max: usize,
    },
    /// No command of this name is registered in the channel's guild (or the channel is not in a
    /// guild): the client offers nothing to run.
    #[error("no command {name:?} is registered in guild {guild:?}")]
    UnknownCommand {
        /// The channel's guild, if any.
        guild: Option<u64>,
        /// The command's name.
        name: String,
    },
    /// The command's `default_member_permissions` hide it from this member.
    #[error("command {command:?} is hidden from user {user} by its default_member_permissions")]
    CommandHidden {
        /// The command's name.
        command: String,
        /// The user the test acts as.
        user: u64,
    },
    /// The command (or subcommand) has no option of this name, or it was given twice.
    #[error("command {command:?} has no option {option:?} (or it was given twice)")]
    UnknownCommandOption {
        /// The command (and subcommand) name.
        command: String,
        /// The option given.
        option: String,
    },
    /// A command with subcommands is run without exactly one of them.
    #[error("command {0:?} needs exactly one subcommand")]
    SubcommandRequired(String),
    /// A required option was left out.
    #[error("command {command:?} requires option {option:?}")]
    CommandOptionRequired {
        /// The command (and subcommand) name.
        command: String,
        /// The required option.
        option: String,
    },
    /// A value of another type than the option's.
    #[error("option {option:?} takes a value of type {expected}")]
    CommandOptionType {
        /// The option's name.
        option: String,
        /// The option's type (3 STRING, 4 INTEGER, 5 BOOLEAN, 6 USER, 7 CHANNEL, 10 NUMBER, ...).
        expected: u64,
    },
    /// A string shorter or longer than the option allows (the client needs at least one
    /// character).
    #[error("option {option:?} takes {min} to {max} characters, not {length}")]
    CommandOptionLength {
        /// The option's name.
        option: String,
        /// Characters given.
        length: usize,
        /// The option's `min_length` (default 0).
        min: usize,
        /// The option's `max_length` (default 6000).
        max: usize,
    },
    /// The option has choices and the value is none of them.
    #[error("the value of option {0:?} is not one of its choices")]
    CommandOptionChoice(String),
    /// A USER or CHANNEL value the client could not offer (unknown, or another guild's channel).
    #[error("option {option:?}: {id} cannot be picked here")]
    CommandOptionTarget {
        /// The option's name.
        option: String,
        /// The user or channel id given.
        id: u64,
    },
    /// `wait_for` gave up.
    #[error("condition not met within {0:?}")]
    Timeout(Duration),
}
