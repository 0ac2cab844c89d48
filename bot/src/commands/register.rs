//! Keeps each guild's registered slash commands equal to the definitions: at every new gateway
//! session and after every reload, each guild of a category is read, and its set is replaced
//! (one bulk overwrite) only when it differs. Discord limits how often commands may be created
//! per guild and day, so an unchanged set is never written again; replicas starting together
//! may both write a changed set, which is harmless (the overwrite is idempotent).

use std::collections::BTreeMap;

use twilight_model::id::Id;
use twilight_model::id::marker::GuildMarker;

use super::definition::{guild_commands, same_commands};
use crate::config::Category;
use crate::context::Context;
use crate::discord_call::DiscordCall;
use crate::error::{ErrorChain, Result};

/// Registers the commands of every guild with a category, and removes them from `other_guilds`
/// (guilds the bot is in, or was configured for, that no longer have a category). Failures are
/// logged per guild and do not stop the others; the next session or reload tries again.
pub(crate) async fn register_commands(ctx: &Context, other_guilds: &[Id<GuildMarker>]) {
    let config = ctx.config();
    let mut guilds: BTreeMap<Id<GuildMarker>, Vec<(&str, &Category)>> = BTreeMap::new();
    for (key, category) in &config.categories {
        guilds
            .entry(category.guild_id)
            .or_default()
            .push((key.as_str(), category));
    }
    let unconfigured = other_guilds
        .iter()
        .filter(|guild| !guilds.contains_key(guild))
        .map(|guild| (*guild, Vec::new()));
    let wanted: Vec<_> = guilds
        .iter()
        .map(|(guild, categories)| (*guild, guild_commands(categories)))
        .chain(unconfigured)
        .collect();
    for (guild_id, commands) in wanted {
        match register_guild(ctx, guild_id, &commands).await {
            Ok(true) => {
                tracing::info!(guild = %guild_id, commands = commands.len(), "registered the server's slash commands");
            }
            Ok(false) => {
                tracing::debug!(guild = %guild_id, "the server's slash commands are current");
            }
            Err(error) => tracing::warn!(
                guild = %guild_id,
                error = %ErrorChain(&error),
                discord_code = error.discord_code(),
                "could not register the server's slash commands; trying again at the next session or reload"
            ),
        }
    }
}

/// Replaces the guild's commands with `commands` unless they already are; whether it wrote.
async fn register_guild(
    ctx: &Context,
    guild_id: Id<GuildMarker>,
    commands: &[twilight_model::application::command::Command],
) -> Result<bool> {
    let interaction = ctx.http.interaction(ctx.application_id);
    let registered = ctx
        .rest_list(
            DiscordCall::ReadGuildCommands,
            interaction.guild_commands(guild_id),
        )
        .await?;
    if same_commands(&registered, commands) {
        return Ok(false);
    }
    ctx.rest(
        DiscordCall::RegisterGuildCommands,
        interaction.set_guild_commands(guild_id, commands),
    )
    .await?;
    Ok(true)
}
