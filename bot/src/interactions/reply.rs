//! What a clicker is told, as data: every handler returns a [`Reply`], and its text is a pure
//! function of it. Texts are clear and actionable and never carry internals (no error details,
//! no ids but the ticket number and channel links).

use std::fmt;

use twilight_model::id::Id;
use twilight_model::id::marker::{ChannelMarker, UserMarker};

use crate::error::{BotError, DiscordProblem};

/// The outcome of a click, as the clicker sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Reply {
    /// A new ticket channel is ready (or a half-made one was repaired).
    Opened(Id<ChannelMarker>),
    /// The clicker already has a ticket open in this category.
    AlreadyOpen(Id<ChannelMarker>),
    /// The clicker already holds the most open tickets this category allows (more than one).
    AtLimit {
        /// The category's `maxOpenPerUser`.
        limit: u16,
        /// The channels of those tickets (the ones that exist yet).
        channels: Vec<Id<ChannelMarker>>,
    },
    /// Another click's open of the same ticket failed meanwhile.
    OpenFailedElsewhere,
    /// The panel's category was removed from the config.
    CategoryRemoved,
    /// A click that did not come from a server's ticket panel.
    NotFromPanel,
    /// A panel of one server clicked in another.
    OtherServer,
    /// A button that is not (or no longer) one of ours.
    StaleButton,
    /// The ticket of a Close button does not exist.
    TicketGone,
    /// The ticket is already closing or closed.
    AlreadyClosing,
    /// A Close button clicked outside its ticket's channel.
    WrongChannel,
    /// A Close click without a server member behind it.
    CloseOutsideServer,
    /// The clicker may not close the ticket; `team` is the category's name.
    CloseRefused {
        /// The category's name.
        team: String,
    },
    /// The close started.
    Closing {
        /// The ticket number.
        ticket_id: i64,
    },
    /// A command of ours used outside an open ticket's channel.
    NotInTicket,
    /// A command the bot does not know (another app's, or a definition out of date).
    UnknownCommand,
    /// A staff tool used by someone who is not staff; `team` is the category's name.
    StaffOnly {
        /// The category's name.
        team: String,
    },
    /// `/ticket add` of someone who is not a member of the server.
    NotAMember(Id<UserMarker>),
    /// `/ticket add` of the creator or the bot, who have access anyway.
    HasAccessAnyway(Id<UserMarker>),
    /// The member was added (or already was).
    Added(Id<UserMarker>),
    /// `/ticket remove` of the ticket's creator.
    CannotRemoveCreator,
    /// The member was removed.
    Removed(Id<UserMarker>),
    /// `/ticket remove` of someone who was not added.
    NotAdded(Id<UserMarker>),
    /// The clicker claimed the ticket (or already held it).
    Claimed,
    /// Someone else holds the claim.
    ClaimedByOther(Id<UserMarker>),
    /// The claim was given up.
    Unclaimed,
    /// Nobody holds the claim.
    NotClaimed,
    /// The creator was asked to confirm the close.
    CloseRequested,
    /// A close request's button clicked by someone other than the creator.
    CreatorOnly,
    /// A close request's button whose request was answered, withdrawn or fired already.
    NoCloseRequest,
    /// The creator kept the ticket open.
    KeptOpen,
    /// The channel was renamed.
    Renamed,
    /// Discord's limit on renaming a channel (twice per 10 minutes) was reached.
    RenameLimited,
    /// `/ticket move` to a category that is not one of this server's.
    UnknownCategory(String),
    /// `/ticket move` to the category the ticket is in.
    AlreadyInCategory,
    /// `/ticket move` to a category where the creator already holds as many open tickets as it
    /// allows.
    CreatorAtLimitThere {
        /// That category's `maxOpenPerUser`.
        limit: u16,
    },
    /// `/ticket move` between a thread-mode category and another kind (or another channel's
    /// threads).
    MoveAcrossThreadMode,
    /// The ticket moved.
    Moved {
        /// The new category's name.
        category: String,
    },
    /// The creator's rating was recorded.
    FeedbackRecorded,
    /// The ticket was rated before (with this rating); the new one is not recorded.
    AlreadyRated(i16),
    /// The category's roles or cooldown refuse the clicker.
    Refused(crate::limits::Refusal),
    /// The work failed; `doing` completes "I could not …", `category` names the ticket category.
    Failed {
        /// What the bot could not do, e.g. "create your ticket channel".
        doing: &'static str,
        /// The ticket category's name ("this" when there is none).
        category: String,
        /// What went wrong, in the clicker's terms.
        cause: FailureCause,
    },
    /// Keep open pressed by someone who is neither the creator nor staff.
    KeepAliveRefused {
        /// The category's name.
        team: String,
    },
    /// Keep open pressed when no inactivity close is pending (pressed already, or the creator
    /// wrote meanwhile).
    AlreadyKeptAlive,
}

/// Why a click's work failed, in the terms a clicker (or the admin they tell) can act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FailureCause {
    /// The bot lacks permissions in the ticket category.
    MissingPermissions,
    /// The Discord category (and every overflow category) holds 50 channels already.
    CategoryFull,
    /// The server holds Discord's maximum of 500 channels.
    GuildFull,
    /// Discord refused the request as invalid (a setting Discord does not accept).
    InvalidRequest,
    /// A channel the category uses no longer exists.
    UnknownResource,
    /// Discord is failing or unreachable.
    DiscordTrouble,
    /// Postgres is not reachable.
    DatabaseDown,
    /// Anything else.
    Internal,
}

impl FailureCause {
    /// Classifies the error that stopped a click's work.
    pub(crate) fn of(error: &BotError) -> Self {
        match error.discord_problem() {
            Some(DiscordProblem::MissingPermissions | DiscordProblem::MissingAccess) => {
                Self::MissingPermissions
            }
            Some(DiscordProblem::CategoryFull) => Self::CategoryFull,
            Some(DiscordProblem::GuildFull) => Self::GuildFull,
            Some(DiscordProblem::InvalidRequest) => Self::InvalidRequest,
            Some(DiscordProblem::UnknownResource) => Self::UnknownResource,
            Some(DiscordProblem::DiscordOutage | DiscordProblem::Unreachable) => {
                Self::DiscordTrouble
            }
            Some(
                DiscordProblem::UnknownUser
                | DiscordProblem::CannotMessageUser
                | DiscordProblem::ThreadArchived
                | DiscordProblem::AlreadyAcknowledged
                | DiscordProblem::Other,
            )
            | None => match error {
                BotError::Store(_) | BotError::ConnectDatabase(_) => Self::DatabaseDown,
                _ => Self::Internal,
            },
        }
    }
}

impl Reply {
    /// The reply to a click whose work failed with `error`.
    pub(crate) fn failed(doing: &'static str, category: &str, error: &BotError) -> Self {
        Self::Failed {
            doing,
            category: category.to_owned(),
            cause: FailureCause::of(error),
        }
    }
}

impl fmt::Display for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Opened(channel) => write!(f, "Your ticket is open: <#{channel}>"),
            Self::AlreadyOpen(channel) => {
                write!(f, "You already have an open ticket: <#{channel}>")
            }
            Self::AtLimit { limit, channels } => {
                write!(
                    f,
                    "You already have {limit} open tickets here, the most this category allows"
                )?;
                let links: Vec<String> = channels.iter().map(|id| format!("<#{id}>")).collect();
                if links.is_empty() {
                    f.write_str(". Please close one first.")
                } else {
                    write!(f, ": {}. Please close one first.", links.join(", "))
                }
            }
            Self::OpenFailedElsewhere => {
                f.write_str("Your ticket could not be set up. Please click the button again.")
            }
            Self::CategoryRemoved => f.write_str(
                "This ticket category no longer exists. Please use a current ticket panel.",
            ),
            Self::NotFromPanel => {
                f.write_str("Tickets can only be opened from the server's ticket panel.")
            }
            Self::OtherServer => f.write_str(
                "This ticket panel belongs to another server. Please use this server's ticket \
                 panel.",
            ),
            Self::StaleButton => f.write_str(
                "This button is no longer in use. Please use the ticket panel's current button.",
            ),
            Self::TicketGone => f.write_str("This ticket no longer exists."),
            Self::AlreadyClosing => f.write_str("This ticket is already being closed."),
            Self::WrongChannel => f.write_str("This close button does not belong to this channel."),
            Self::CloseOutsideServer => {
                f.write_str("Tickets can only be closed from their channel.")
            }
            Self::CloseRefused { team } => write!(
                f,
                "You cannot close this ticket: only the person who opened it, the **{team}** \
                 team, or someone who can manage channels can close it."
            ),
            Self::Closing { ticket_id } => write!(f, "Closing ticket #{ticket_id}…"),
            Self::NotInTicket => {
                f.write_str("This command works only in an open ticket's channel.")
            }
            Self::UnknownCommand => f.write_str(
                "I do not know this command (it may have just changed). Please try again in a \
                 moment.",
            ),
            Self::StaffOnly { team } => write!(
                f,
                "Only the **{team}** team, or someone who can manage channels, can do this."
            ),
            Self::NotAMember(user) => write!(f, "<@{user}> is not a member of this server."),
            Self::HasAccessAnyway(user) => write!(f, "<@{user}> has access to this ticket anyway."),
            Self::Added(user) => write!(f, "<@{user}> can now see and write in this ticket."),
            Self::CannotRemoveCreator => f.write_str(
                "The person who opened this ticket cannot be removed from it; close it instead.",
            ),
            Self::Removed(user) => write!(f, "<@{user}> no longer has access to this ticket."),
            Self::NotAdded(user) => write!(f, "<@{user}> was not added to this ticket."),
            Self::Claimed => f.write_str("You claimed this ticket."),
            Self::ClaimedByOther(user) => write!(
                f,
                "<@{user}> has claimed this ticket; they (or other staff) must unclaim it first."
            ),
            Self::Unclaimed => f.write_str("The ticket is no longer claimed."),
            Self::NotClaimed => f.write_str("Nobody has claimed this ticket."),
            Self::CloseRequested => f.write_str(
                "I asked the person who opened this ticket to confirm; it closes by itself if they \
                 do not answer in time.",
            ),
            Self::CreatorOnly => {
                f.write_str("Only the person who opened this ticket can answer this.")
            }
            Self::NoCloseRequest => {
                f.write_str("This close request was already answered or withdrawn.")
            }
            Self::KeptOpen => f.write_str("The ticket stays open."),
            Self::Refused(crate::limits::Refusal::MissingRequiredRole) => f.write_str(
                "You need one of this category's roles to open a ticket here. Please ask a \
                 server admin.",
            ),
            Self::Refused(crate::limits::Refusal::DeniedRole) => {
                f.write_str("One of your roles may not open a ticket in this category.")
            }
            Self::Refused(crate::limits::Refusal::Cooldown { until_unix }) => write!(
                f,
                "Your last ticket here closed only recently: you can open another <t:{until_unix}:R>."
            ),
            Self::Refused(crate::limits::Refusal::GuildCap { cap }) => write!(
                f,
                "This server has {cap} tickets open, the most it allows. Please try again once \
                 some are closed."
            ),
            Self::FeedbackRecorded => f.write_str("Thank you for your feedback!"),
            Self::AlreadyRated(rating) => {
                write!(f, "You already rated this ticket ({rating}/5); thank you!")
            }
            Self::Renamed => f.write_str("The ticket channel was renamed."),
            Self::RenameLimited => f.write_str(
                "Discord lets a channel be renamed only twice per 10 minutes. Please try again \
                 later.",
            ),
            Self::UnknownCategory(name) => {
                write!(f, "There is no ticket category {name:?} in this server.")
            }
            Self::AlreadyInCategory => f.write_str("The ticket is in that category already."),
            Self::CreatorAtLimitThere { limit: 1 } => f.write_str(
                "The person who opened this ticket already has one open in that category.",
            ),
            Self::CreatorAtLimitThere { limit } => write!(
                f,
                "The person who opened this ticket already has {limit} open in that category, \
                 the most it allows."
            ),
            Self::MoveAcrossThreadMode => f.write_str(
                "A ticket can move only between categories that keep tickets the same way: \
                 as channels, or as threads of the same channel.",
            ),
            Self::Moved { category } => write!(f, "The ticket moved to **{category}**."),
            Self::Failed {
                doing,
                category,
                cause,
            } => failure_text(f, doing, category, *cause),
            Self::KeepAliveRefused { team } => write!(
                f,
                "Only the person who opened this ticket or the {team} team can keep it open."
            ),
            Self::AlreadyKeptAlive => f.write_str("This ticket is already kept open."),
        }
    }
}

fn failure_text(
    f: &mut fmt::Formatter<'_>,
    doing: &str,
    category: &str,
    cause: FailureCause,
) -> fmt::Result {
    match cause {
        FailureCause::MissingPermissions => write!(
            f,
            "I could not {doing}: I am missing permissions in the **{category}** ticket category \
             (I need View Channel, Manage Channels, Manage Roles, Send Messages and Pin Messages \
             there). Please tell a server admin."
        ),
        FailureCause::CategoryFull => write!(
            f,
            "I could not {doing}: the **{category}** ticket category is full (Discord allows 50 \
             channels per category). Please tell a server admin."
        ),
        FailureCause::GuildFull => write!(
            f,
            "I could not {doing}: this server has reached Discord's limit of 500 channels. \
             Please tell a server admin."
        ),
        FailureCause::InvalidRequest => write!(
            f,
            "I could not {doing}: Discord rejected the request (Invalid Form Body). Please tell \
             a server admin to check the **{category}** ticket settings."
        ),
        FailureCause::UnknownResource => write!(
            f,
            "I could not {doing}: a channel of the **{category}** ticket category no longer \
             exists. Please tell a server admin."
        ),
        FailureCause::DiscordTrouble => write!(
            f,
            "I could not {doing}: Discord is having trouble right now. Please try again in a \
             moment."
        ),
        FailureCause::DatabaseDown => write!(
            f,
            "I could not {doing}: my database is not reachable right now. Please try again in a \
             moment."
        ),
        FailureCause::Internal => write!(
            f,
            "I could not {doing} because something went wrong on my side. Please try again in a \
             moment."
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(cause: FailureCause) -> String {
        Reply::Failed {
            doing: "create your ticket channel",
            category: "Billing".to_owned(),
            cause,
        }
        .to_string()
    }

    #[test]
    fn every_failure_says_what_could_not_be_done_and_what_to_do() {
        for cause in [
            FailureCause::MissingPermissions,
            FailureCause::CategoryFull,
            FailureCause::GuildFull,
            FailureCause::InvalidRequest,
            FailureCause::UnknownResource,
            FailureCause::DiscordTrouble,
            FailureCause::DatabaseDown,
            FailureCause::Internal,
        ] {
            let text = failure(cause);
            assert!(
                text.starts_with("I could not create your ticket channel"),
                "{text}"
            );
            assert!(
                text.contains("server admin") || text.contains("try again"),
                "{text}"
            );
        }
    }

    #[test]
    fn a_permission_failure_names_the_category_and_the_permissions() {
        let text = failure(FailureCause::MissingPermissions);
        assert!(text.contains("**Billing**"), "{text}");
        assert!(text.contains("Manage Roles"), "{text}");
    }

    #[test]
    fn a_refused_close_names_who_may_close() {
        let text = Reply::CloseRefused {
            team: "Billing".to_owned(),
        }
        .to_string();
        assert!(text.starts_with("You cannot close this ticket"), "{text}");
        assert!(text.contains("**Billing** team"), "{text}");
    }

    #[test]
    fn errors_of_the_bot_itself_get_a_generic_text_without_internals() {
        let error = BotError::GatewayClosed("4004".to_owned());
        let text = Reply::failed("create your ticket channel", "Billing", &error).to_string();
        assert!(text.starts_with("I could not create your ticket channel"));
        assert!(!text.contains("4004"), "internals must not leak: {text}");
    }

    #[test]
    fn database_errors_tell_the_clicker_to_try_again() {
        let error = BotError::Store(crate::store::StoreError::TicketNotFound(3));
        let text = Reply::failed("open your ticket", "Billing", &error).to_string();
        assert!(text.contains("database"), "{text}");
        assert!(!text.contains("ticket 3"), "{text}");
    }

    #[test]
    fn an_open_ticket_links_its_channel() {
        let text = Reply::Opened(Id::new(42)).to_string();
        assert_eq!(text, "Your ticket is open: <#42>");
    }
}
