//! Running an application command from the user's side: the Discord client sends
//! APPLICATION_COMMAND (type 2) for a command registered in the channel's guild, with the options
//! the user filled in and the users and channels they picked resolved. What the client would not
//! let the user run is refused before anything is sent.
//!
//! See [Discord Docs/Receiving and Responding, "Application Command Data Structure"](https://discord.com/developers/docs/interactions/receiving-and-responding#interaction-object-application-command-data-structure).

use serde_json::{Map, Value, json};

use super::State;
use super::interactions::{NewInteraction, PendingClick};
use crate::discord::command_input::{CommandInput, OptionValue, invocation_options};
use crate::discord::control_error::ControlError;
use crate::discord::model::Channel;
use crate::discord::snowflake::id_str;

impl State {
    /// `user_id` runs the guild command `name` in `channel_id` with `inputs`.
    pub(crate) fn start_command(
        &mut self,
        user_id: u64,
        channel_id: u64,
        name: &str,
        inputs: &[CommandInput],
    ) -> Result<PendingClick, ControlError> {
        if !self.users.contains_key(&user_id) {
            return Err(ControlError::UnknownUser(user_id));
        }
        let channel = self
            .channels
            .get(&channel_id)
            .cloned()
            .ok_or(ControlError::UnknownChannel(channel_id))?;
        let unknown = || ControlError::UnknownCommand {
            guild: channel.guild_id,
            name: name.to_owned(),
        };
        let guild_id = channel.guild_id.ok_or_else(unknown)?;
        if !self
            .guilds
            .get(&guild_id)
            .is_some_and(|g| g.members.contains_key(&user_id))
        {
            return Err(ControlError::NotAMember {
                guild: guild_id,
                user: user_id,
            });
        }
        let command = self
            .guild_commands
            .get(&guild_id)
            .and_then(|list| list.iter().find(|c| c.kind == 1 && c.name == name))
            .cloned()
            .ok_or_else(unknown)?;
        let granted = self
            .command_role_grants
            .get(&(guild_id, name.to_owned()))
            .is_some_and(|roles| {
                self.guilds
                    .get(&guild_id)
                    .and_then(|g| g.members.get(&user_id))
                    .is_some_and(|member| member.roles.iter().any(|role| roles.contains(role)))
            });
        if !granted && !command.usable_with(self.permissions(guild_id, user_id, None)) {
            return Err(ControlError::CommandHidden {
                command: name.to_owned(),
                user: user_id,
            });
        }
        let mut picked = Vec::new();
        let options = invocation_options(name, &command.options, inputs, &mut picked)?;
        let resolved = self.resolve_picked(&channel, user_id, &options, &picked)?;
        let mut data = json!({
            "id": id_str(command.id),
            "name": command.name,
            "type": 1,
            "guild_id": id_str(guild_id),
        });
        if !options.is_empty() {
            data["options"] = Value::Array(options);
        }
        if let Some(resolved) = resolved {
            data["resolved"] = resolved;
        }
        self.open_interaction(NewInteraction {
            kind: 2,
            user_id,
            channel_id,
            message_id: 0,
            message: None,
            custom_id: name.to_owned(),
            data,
            opened_by: None,
        })
    }

    /// `resolved` for the users and channels picked: users, their members (with permissions in
    /// the channel the command runs in, no `user`), channels with the invoker's permissions.
    fn resolve_picked(
        &self,
        channel: &Channel,
        user_id: u64,
        options: &[Value],
        picked: &[OptionValue],
    ) -> Result<Option<Value>, ControlError> {
        if picked.is_empty() {
            return Ok(None);
        }
        let guild_id = channel.guild_id.unwrap_or_default();
        let option_of = |id: u64| {
            fn find(options: &[Value], id: &str) -> Option<String> {
                options.iter().find_map(|o| {
                    if o["value"].as_str() == Some(id) {
                        o["name"].as_str().map(str::to_owned)
                    } else {
                        find(o["options"].as_array()?, id)
                    }
                })
            }
            find(options, &id.to_string()).unwrap_or_default()
        };
        let mut users = Map::new();
        let mut members = Map::new();
        let mut channels = Map::new();
        for value in picked {
            match *value {
                OptionValue::User(id) => {
                    if !self.users.contains_key(&id) {
                        return Err(ControlError::CommandOptionTarget {
                            option: option_of(id),
                            id,
                        });
                    }
                    users.insert(id.to_string(), self.user_json(id));
                    if self
                        .guilds
                        .get(&guild_id)
                        .is_some_and(|g| g.members.contains_key(&id))
                    {
                        let permissions = self.permissions(guild_id, id, Some(channel));
                        members.insert(
                            id.to_string(),
                            self.member_json(guild_id, id, false, Some(permissions)),
                        );
                    }
                }
                OptionValue::Channel(id) => {
                    let picked = self
                        .channels
                        .get(&id)
                        .filter(|c| c.guild_id == Some(guild_id))
                        .ok_or_else(|| ControlError::CommandOptionTarget {
                            option: option_of(id),
                            id,
                        })?;
                    let permissions = self.channel_permissions_of(user_id, picked);
                    channels.insert(
                        id.to_string(),
                        json!({
                            "id": id_str(id),
                            "name": picked.name,
                            "type": self.channel_json(picked)["type"],
                            "parent_id": picked.parent_id.map(id_str),
                            "permissions": permissions.to_string(),
                        }),
                    );
                }
                _ => {}
            }
        }
        let mut resolved = Map::new();
        for (key, map) in [
            ("users", users),
            ("members", members),
            ("channels", channels),
        ] {
            if !map.is_empty() {
                resolved.insert(key.to_owned(), Value::Object(map));
            }
        }
        Ok(Some(Value::Object(resolved)))
    }
}
