//! Application commands: the guild's (and the global) list, read and bulk overwritten.
//!
//! See [Discord Docs/Application Commands, "Bulk Overwrite Guild Application Commands"](https://discord.com/developers/docs/interactions/application-commands#bulk-overwrite-guild-application-commands).

use serde_json::Value;

use super::{Reply, ok};
use crate::discord::api_error::ApiError;
use crate::discord::command::{ApplicationCommand, overwrite as replace_all, parse_bulk_overwrite};
use crate::discord::state::State;

/// Another application's commands, or a guild the bot is not in: Missing Access.
fn check_access(state: &State, application_id: u64, guild_id: Option<u64>) -> Result<(), ApiError> {
    if application_id != state.config.application_id {
        return Err(ApiError::missing_access());
    }
    if let Some(guild_id) = guild_id
        && !state
            .guilds
            .get(&guild_id)
            .is_some_and(|g| g.members.contains_key(&state.bot_id()))
    {
        return Err(ApiError::missing_access());
    }
    Ok(())
}

fn list_json(state: &State, commands: &[ApplicationCommand]) -> Value {
    Value::Array(
        commands
            .iter()
            .map(|c| c.to_json(state.config.application_id))
            .collect(),
    )
}

fn commands_of(state: &State, guild_id: Option<u64>) -> Vec<ApplicationCommand> {
    match guild_id {
        Some(guild_id) => state
            .guild_commands
            .get(&guild_id)
            .cloned()
            .unwrap_or_default(),
        None => state.global_commands.clone(),
    }
}

/// `GET /applications/{application_id}[/guilds/{guild_id}]/commands`.
pub(super) fn list(
    state: &mut State,
    application_id: u64,
    guild_id: Option<u64>,
) -> Result<Reply, ApiError> {
    check_access(state, application_id, guild_id)?;
    Ok(ok(list_json(state, &commands_of(state, guild_id))))
}

/// `PUT /applications/{application_id}[/guilds/{guild_id}]/commands`: the whole set replaced;
/// the new list returned.
pub(super) fn overwrite(
    state: &mut State,
    application_id: u64,
    guild_id: Option<u64>,
    body: &Value,
) -> Result<Reply, ApiError> {
    check_access(state, application_id, guild_id)?;
    let drafts = parse_bulk_overwrite(body)?;
    let existing = commands_of(state, guild_id);
    let commands = replace_all(&existing, drafts, guild_id, || state.next_id());
    let answer = list_json(state, &commands);
    match guild_id {
        Some(guild_id) => {
            state.guild_commands.insert(guild_id, commands);
        }
        None => state.global_commands = commands,
    }
    Ok(ok(answer))
}
