//! The bot's `/status` document: per category, the panel, open tickets and the Discord-side
//! problems the bot can see.
//!
//! The bot serialises these types and the operator deserialises them, so the two cannot drift.
//! Field names are snake_case in JSON (e.g. `gateway_connected`, `panel_message_id`); a problem is
//! an object tagged by `kind` (e.g. `{"kind": "missing_channel", "field": …, "channel_id": …}`).
//! Unknown fields are ignored and an unknown problem kind reads as [`Problem::Other`], so an
//! operator keeps reading the report of a newer bot.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// The whole `/status` document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusReport {
    /// Whether the gateway session is up.
    pub gateway_connected: bool,
    /// Per category key (`namespace/name` under the operator).
    pub categories: BTreeMap<String, CategoryStatus>,
}

/// One category's status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CategoryStatus {
    /// The display name.
    pub name: String,
    /// The panel message, once posted.
    pub panel_message_id: Option<String>,
    /// Tickets open (or opening) now.
    pub open_tickets: i64,
    /// Discord-side problems found; empty when all is well.
    pub problems: Vec<Problem>,
    /// How full each category ticket channels go under is: the parent, then each overflow
    /// parent, in the order they are tried (those the bot can see). Reports of older bots have
    /// none.
    #[serde(default)]
    pub parents: Vec<ParentFill>,
}

/// How many channels one Discord category holds, of how many it may.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParentFill {
    /// The category's channel id.
    pub channel_id: String,
    /// Channels in it now (tickets and any others).
    pub channels: usize,
    /// Discord's limit (50).
    pub limit: usize,
}

/// A Discord-side problem with one of a category's channels.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Problem {
    /// The channel does not exist in the guild (or the bot cannot see the guild).
    MissingChannel {
        /// The config field naming it, e.g. `parentChannelId`.
        field: String,
        /// The channel id.
        channel_id: String,
    },
    /// The channel exists but is of the wrong type.
    WrongChannelType {
        /// The config field.
        field: String,
        /// The channel id.
        channel_id: String,
        /// What it should be, e.g. `category` or `text channel`.
        expected: String,
    },
    /// The bot lacks permissions in the channel.
    MissingPermissions {
        /// The config field.
        field: String,
        /// The channel id.
        channel_id: String,
        /// Discord's names of the missing permissions, e.g. `MANAGE_ROLES`.
        missing: Vec<String>,
    },
    /// The bot's roles lack permissions server-wide that a ticket channel's overwrites grant:
    /// Discord lets a new channel's overwrites allow or deny only what the bot holds in the guild
    /// (a grant on the parent category does not count), so every open fails.
    MissingGuildPermissions {
        /// Discord's names of the missing permissions, e.g. `MANAGE_ROLES`.
        missing: Vec<String>,
    },
    /// A ticket role does not exist in the guild: every ticket channel names it in an overwrite,
    /// which Discord refuses.
    MissingRole {
        /// The config field, e.g. `roleIds[0]`.
        field: String,
        /// The role id.
        role_id: String,
    },
    /// A ticket role would not be notified when a ticket opens: it is not mentionable and the bot
    /// lacks Mention Everyone, so Discord shows the mention without pinging anyone.
    RoleNotPinged {
        /// The config field, e.g. `roleIds[0]`.
        field: String,
        /// The role id.
        role_id: String,
    },
    /// A ticket role would not see thread-mode tickets: it lacks Manage Threads (or View
    /// Channel) in the channel that holds the threads.
    RoleCannotSeeThreads {
        /// The config field, e.g. `roleIds[0]`.
        field: String,
        /// The role id.
        role_id: String,
        /// The channel holding the threads (`createChannelId`).
        channel_id: String,
    },
    /// The parent category holds nearly Discord's maximum of 50 channels.
    CategoryNearlyFull {
        /// The parent category id.
        channel_id: String,
        /// Channels in it now.
        channels: usize,
        /// Discord's limit.
        limit: usize,
    },
    /// The server holds nearly Discord's maximum of 500 channels (every channel counts, ticket
    /// channels and categories included); opens fail once it is reached.
    GuildNearlyFull {
        /// The guild id.
        guild_id: String,
        /// Channels in it now.
        channels: usize,
        /// Discord's limit.
        limit: usize,
    },
    /// The server's open tickets are near the bot's `limits.maxOpenTicketsPerGuild`.
    GuildCapNearlyReached {
        /// The guild id.
        guild_id: String,
        /// Tickets open (or opening) there now, across the bot's categories.
        open_tickets: i64,
        /// The cap.
        cap: u32,
    },
    /// The bot could not look (Discord refused or was unreachable).
    CheckFailed {
        /// What failed, without internals.
        reason: String,
    },
    /// A kind of problem this version does not know (reported by a newer bot).
    #[serde(other)]
    Other,
}

/// `MANAGE_ROLES` → `Manage Roles`, the name Discord's client shows.
fn permission_display_name(name: &str) -> String {
    name.split('_')
        .map(|word| {
            let lower = word.to_ascii_lowercase();
            let mut letters = lower.chars();
            letters.next().map_or_else(String::new, |first| {
                first.to_ascii_uppercase().to_string() + letters.as_str()
            })
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// `["MANAGE_CHANNELS", "MANAGE_ROLES"]` → `Manage Channels, Manage Roles`.
fn permission_display_names(names: &[String]) -> String {
    names
        .iter()
        .map(|name| permission_display_name(name))
        .collect::<Vec<_>>()
        .join(", ")
}

/// What the channel named by a config field is, in words.
fn channel_noun(field: &str) -> &'static str {
    if field == "parentChannelId" {
        "category"
    } else {
        "channel"
    }
}

impl fmt::Display for Problem {
    /// A sentence a server admin can act on, e.g. `the bot lacks Manage Roles in category 123
    /// (parentChannelId)`.
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MissingChannel { field, channel_id } => write!(
                formatter,
                "{} {channel_id} ({field}) does not exist or the bot cannot see it",
                channel_noun(field)
            ),
            Self::WrongChannelType {
                field,
                channel_id,
                expected,
            } => write!(
                formatter,
                "channel {channel_id} ({field}) is not a {expected}"
            ),
            Self::MissingPermissions {
                field,
                channel_id,
                missing,
            } => write!(
                formatter,
                "the bot lacks {} in {} {channel_id} ({field})",
                permission_display_names(missing),
                channel_noun(field)
            ),
            Self::MissingGuildPermissions { missing } => write!(
                formatter,
                "the bot's roles lack {} in the server; a ticket channel's overwrites can only grant what the bot holds server-wide, not through the category",
                permission_display_names(missing)
            ),
            Self::MissingRole { field, role_id } => write!(
                formatter,
                "role {role_id} ({field}) does not exist in the server; tickets cannot be opened until it is removed or replaced"
            ),
            Self::RoleNotPinged { field, role_id } => write!(
                formatter,
                "role {role_id} ({field}) is not notified of new tickets: make it mentionable or give the bot Mention Everyone"
            ),
            Self::RoleCannotSeeThreads {
                field,
                role_id,
                channel_id,
            } => write!(
                formatter,
                "role {role_id} ({field}) cannot see thread-mode tickets: give it View Channel and Manage Threads in channel {channel_id} (createChannelId)"
            ),
            Self::CategoryNearlyFull {
                channel_id,
                channels,
                limit,
            } => write!(
                formatter,
                "category {channel_id} holds {channels} of Discord's {limit} channels; new tickets go to the next of overflowParentChannelIds, if any: close tickets or add overflow categories"
            ),
            Self::GuildNearlyFull {
                guild_id,
                channels,
                limit,
            } => write!(
                formatter,
                "server {guild_id} holds {channels} of Discord's {limit} channels; opens fail once it is full: close tickets, delete unused channels or set limits.maxOpenTicketsPerGuild"
            ),
            Self::GuildCapNearlyReached {
                guild_id,
                open_tickets,
                cap,
            } => write!(
                formatter,
                "server {guild_id} has {open_tickets} tickets open of its cap of {cap} (limits.maxOpenTicketsPerGuild); opens are refused once it is reached"
            ),
            Self::CheckFailed { reason } => {
                write!(formatter, "the bot could not check Discord: {reason}")
            }
            Self::Other => write!(
                formatter,
                "the bot reports a problem this operator version does not know; see the bot's /status"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problems_read_as_sentences_naming_the_channel_and_field() {
        let cases = [
            (
                Problem::MissingPermissions {
                    field: "parentChannelId".to_owned(),
                    channel_id: "300000000000000001".to_owned(),
                    missing: vec!["MANAGE_CHANNELS".to_owned(), "MANAGE_ROLES".to_owned()],
                },
                "the bot lacks Manage Channels, Manage Roles in category 300000000000000001 (parentChannelId)",
            ),
            (
                Problem::MissingChannel {
                    field: "logChannelId".to_owned(),
                    channel_id: "300000000000000003".to_owned(),
                },
                "channel 300000000000000003 (logChannelId) does not exist or the bot cannot see it",
            ),
            (
                Problem::MissingGuildPermissions {
                    missing: vec!["MANAGE_ROLES".to_owned()],
                },
                "the bot's roles lack Manage Roles in the server; a ticket channel's overwrites can only grant what the bot holds server-wide, not through the category",
            ),
            (
                Problem::RoleNotPinged {
                    field: "roleIds[0]".to_owned(),
                    role_id: "400000000000000001".to_owned(),
                },
                "role 400000000000000001 (roleIds[0]) is not notified of new tickets: make it mentionable or give the bot Mention Everyone",
            ),
            (
                Problem::MissingRole {
                    field: "roleIds[1]".to_owned(),
                    role_id: "400000000000000002".to_owned(),
                },
                "role 400000000000000002 (roleIds[1]) does not exist in the server; tickets cannot be opened until it is removed or replaced",
            ),
            (
                Problem::WrongChannelType {
                    field: "parentChannelId".to_owned(),
                    channel_id: "1".to_owned(),
                    expected: "category".to_owned(),
                },
                "channel 1 (parentChannelId) is not a category",
            ),
            (
                Problem::RoleCannotSeeThreads {
                    field: "roleIds[0]".to_owned(),
                    role_id: "400000000000000001".to_owned(),
                    channel_id: "300000000000000002".to_owned(),
                },
                "role 400000000000000001 (roleIds[0]) cannot see thread-mode tickets: give it View Channel and Manage Threads in channel 300000000000000002 (createChannelId)",
            ),
            (
                Problem::GuildNearlyFull {
                    guild_id: "200000000000000001".to_owned(),
                    channels: 452,
                    limit: 500,
                },
                "server 200000000000000001 holds 452 of Discord's 500 channels; opens fail once it is full: close tickets, delete unused channels or set limits.maxOpenTicketsPerGuild",
            ),
            (
                Problem::GuildCapNearlyReached {
                    guild_id: "200000000000000001".to_owned(),
                    open_tickets: 91,
                    cap: 100,
                },
                "server 200000000000000001 has 91 tickets open of its cap of 100 (limits.maxOpenTicketsPerGuild); opens are refused once it is reached",
            ),
        ];
        for (problem, sentence) in cases {
            assert_eq!(problem.to_string(), sentence);
        }
    }

    #[test]
    fn an_unknown_problem_kind_still_reads() {
        let problem: Problem =
            serde_json::from_str(r#"{"kind": "something_new", "detail": 1}"#).expect("reads");
        assert_eq!(problem, Problem::Other);
    }

    #[test]
    fn the_report_round_trips_through_json_in_the_bots_field_names() {
        let report = StatusReport {
            gateway_connected: true,
            categories: BTreeMap::from([(
                "tickets/billing".to_owned(),
                CategoryStatus {
                    name: "Billing".to_owned(),
                    panel_message_id: Some("700000000000000001".to_owned()),
                    open_tickets: 2,
                    problems: vec![Problem::CategoryNearlyFull {
                        channel_id: "300000000000000001".to_owned(),
                        channels: 46,
                        limit: 50,
                    }],
                    parents: vec![ParentFill {
                        channel_id: "300000000000000001".to_owned(),
                        channels: 46,
                        limit: 50,
                    }],
                },
            )]),
        };
        let json = serde_json::to_value(&report).expect("serialises");
        assert_eq!(
            json["categories"]["tickets/billing"]["problems"][0]["kind"],
            "category_nearly_full"
        );
        assert_eq!(json["gateway_connected"], true);
        assert_eq!(
            json["categories"]["tickets/billing"]["parents"][0]["channels"],
            46
        );
        let back: StatusReport = serde_json::from_value(json).expect("deserialises");
        assert_eq!(back, report);
    }
}
