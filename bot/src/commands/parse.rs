//! What a slash command invocation asks for, read once from Discord's data into a
//! [`TicketCommand`]. Discord checks the options against the registered definition, but a
//! definition can change between a member typing and sending, so nothing here panics and anything
//! unexpected is an [`UnknownCommand`].

use twilight_model::application::interaction::application_command::{
    CommandData, CommandDataOption, CommandOptionValue,
};
use twilight_model::id::Id;
use twilight_model::id::marker::UserMarker;

use super::definition::{CLOSE_COMMAND, REASON_MAX_CHARS, TICKET_COMMAND};

/// A staff tool or close, as invoked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TicketCommand {
    /// `/ticket add user`.
    Add {
        /// Who to add.
        user: Id<UserMarker>,
        /// Whether Discord resolved them as a member of the guild.
        is_member: bool,
    },
    /// `/ticket remove user`.
    Remove {
        /// Who to remove.
        user: Id<UserMarker>,
    },
    /// `/ticket claim`.
    Claim,
    /// `/ticket unclaim`.
    Unclaim,
    /// `/ticket close [reason]` and `/close [reason]`.
    Close {
        /// Why, trimmed; `None` when not given.
        reason: Option<String>,
    },
    /// `/ticket request-close [reason]`.
    RequestClose {
        /// Why, trimmed; `None` when not given.
        reason: Option<String>,
    },
    /// `/ticket rename name`.
    Rename {
        /// The new channel name, trimmed.
        name: String,
    },
    /// `/ticket move category`.
    Move {
        /// A category key (a choice) or what was typed (a key or a name).
        category: String,
    },
}

/// An invocation the bot cannot act on (another app's command, or a definition out of date).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown command /{name}")]
pub(crate) struct UnknownCommand {
    /// The command as invoked, with its subcommand.
    pub name: String,
}

impl TicketCommand {
    /// Reads an invocation.
    ///
    /// # Errors
    ///
    /// [`UnknownCommand`] when it is not one of ours or lacks what the definition requires.
    pub(crate) fn parse(data: &CommandData) -> Result<Self, UnknownCommand> {
        let unknown = |sub: &str| UnknownCommand {
            name: format!("{} {sub}", data.name).trim_end().to_owned(),
        };
        if data.name == CLOSE_COMMAND {
            return Ok(Self::Close {
                reason: reason(&data.options),
            });
        }
        if data.name != TICKET_COMMAND {
            return Err(unknown(""));
        }
        let Some((sub, options)) = data.options.first().and_then(|option| match &option.value {
            CommandOptionValue::SubCommand(options) => Some((option.name.as_str(), options)),
            _ => None,
        }) else {
            return Err(unknown(""));
        };
        let user = || {
            options.iter().find_map(|option| match option.value {
                CommandOptionValue::User(user) if option.name == "user" => Some(user),
                _ => None,
            })
        };
        let text = |name: &str| {
            string(options, name)
                .map(str::trim)
                .filter(|text| !text.is_empty())
                .map(str::to_owned)
        };
        match sub {
            "add" => {
                let user = user().ok_or_else(|| unknown(sub))?;
                let is_member = data
                    .resolved
                    .as_ref()
                    .is_some_and(|resolved| resolved.members.contains_key(&user));
                Ok(Self::Add { user, is_member })
            }
            "remove" => Ok(Self::Remove {
                user: user().ok_or_else(|| unknown(sub))?,
            }),
            "claim" => Ok(Self::Claim),
            "unclaim" => Ok(Self::Unclaim),
            "close" => Ok(Self::Close {
                reason: reason(options),
            }),
            "request-close" => Ok(Self::RequestClose {
                reason: reason(options),
            }),
            "rename" => Ok(Self::Rename {
                name: text("name").ok_or_else(|| unknown(sub))?,
            }),
            "move" => Ok(Self::Move {
                category: text("category").ok_or_else(|| unknown(sub))?,
            }),
            _ => Err(unknown(sub)),
        }
    }
}

fn string<'a>(options: &'a [CommandDataOption], name: &str) -> Option<&'a str> {
    options.iter().find_map(|option| match &option.value {
        CommandOptionValue::String(text) if option.name == name => Some(text.as_str()),
        _ => None,
    })
}

/// The `reason` option, trimmed and cut to the longest reason kept; `None` when empty.
fn reason(options: &[CommandDataOption]) -> Option<String> {
    string(options, "reason")
        .map(str::trim)
        .filter(|reason| !reason.is_empty())
        .map(|reason| reason.chars().take(usize::from(REASON_MAX_CHARS)).collect())
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn data(name: &str, options: &Value) -> CommandData {
        let mut value = json!({
            "id": "900000000000000001",
            "name": name,
            "type": 1,
            "guild_id": "200000000000000001",
            "options": options,
        });
        if name == TICKET_COMMAND {
            value["resolved"] = json!({
                "users": {"500000000000000002": {
                    "id": "500000000000000002", "username": "bob", "discriminator": "0",
                    "avatar": null, "global_name": null
                }},
                "members": {"500000000000000002": {
                    "roles": [], "joined_at": "2026-01-01T00:00:00.000000+00:00",
                    "deaf": false, "mute": false, "flags": 0, "permissions": "0", "pending": false
                }},
            });
        }
        serde_json::from_value(value).expect("Discord's shape")
    }

    fn sub(name: &str, options: &Value) -> Value {
        json!([{"type": 1, "name": name, "options": options}])
    }

    #[test]
    fn each_subcommand_is_read_with_its_options() {
        let user = json!([{"type": 6, "name": "user", "value": "500000000000000002"}]);
        assert_eq!(
            TicketCommand::parse(&data(TICKET_COMMAND, &sub("add", &user))),
            Ok(TicketCommand::Add {
                user: Id::new(500_000_000_000_000_002),
                is_member: true
            })
        );
        let stranger = json!([{"type": 6, "name": "user", "value": "500000000000000009"}]);
        assert_eq!(
            TicketCommand::parse(&data(TICKET_COMMAND, &sub("add", &stranger))),
            Ok(TicketCommand::Add {
                user: Id::new(500_000_000_000_000_009),
                is_member: false
            })
        );
        assert_eq!(
            TicketCommand::parse(&data(TICKET_COMMAND, &sub("remove", &user))),
            Ok(TicketCommand::Remove {
                user: Id::new(500_000_000_000_000_002)
            })
        );
        assert_eq!(
            TicketCommand::parse(&data(TICKET_COMMAND, &sub("claim", &json!([])))),
            Ok(TicketCommand::Claim)
        );
        let reason = json!([{"type": 3, "name": "reason", "value": "  done \n"}]);
        assert_eq!(
            TicketCommand::parse(&data(TICKET_COMMAND, &sub("request-close", &reason))),
            Ok(TicketCommand::RequestClose {
                reason: Some("done".to_owned())
            })
        );
        assert_eq!(
            TicketCommand::parse(&data(CLOSE_COMMAND, &reason)),
            Ok(TicketCommand::Close {
                reason: Some("done".to_owned())
            })
        );
        assert_eq!(
            TicketCommand::parse(&data(CLOSE_COMMAND, &json!([]))),
            Ok(TicketCommand::Close { reason: None })
        );
        let name = json!([{"type": 3, "name": "name", "value": "vip-refund"}]);
        assert_eq!(
            TicketCommand::parse(&data(TICKET_COMMAND, &sub("rename", &name))),
            Ok(TicketCommand::Rename {
                name: "vip-refund".to_owned()
            })
        );
    }

    #[test]
    fn other_commands_and_incomplete_invocations_are_unknown() {
        for (name, options) in [
            ("ping", json!([])),
            (TICKET_COMMAND, json!([])),
            (TICKET_COMMAND, sub("promote", &json!([]))),
            (TICKET_COMMAND, sub("add", &json!([]))),
            (
                TICKET_COMMAND,
                sub(
                    "rename",
                    &json!([{"type": 3, "name": "name", "value": "   "}]),
                ),
            ),
        ] {
            assert!(TicketCommand::parse(&data(name, &options)).is_err());
        }
    }
}
