//! The `created_parents` table: the channel categories the bot created for a ticket category
//! whose parent and overflow parents were full (`createOverflowParents`), numbered from 1 in the
//! order created. Scoped by the bot, like tickets and panels.

use sqlx::PgExecutor;
use twilight_model::id::Id;
use twilight_model::id::marker::{ApplicationMarker, ChannelMarker, GuildMarker};

use super::{Result, query_error, to_db, to_id};

/// A parent category the bot created.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CreatedParent {
    /// Its number among the category's created parents, from 1: the one after the highest
    /// recorded when it was created.
    pub ordinal: i16,
    /// The channel category.
    pub channel_id: Id<ChannelMarker>,
}

/// The parents created for one category, in the order created.
pub async fn created_parents(
    db: impl PgExecutor<'_>,
    bot: Id<ApplicationMarker>,
    guild: Id<GuildMarker>,
    category_key: &str,
) -> Result<Vec<CreatedParent>> {
    sqlx::query!(
        "SELECT ordinal, channel_id FROM created_parents
         WHERE application_id = $1 AND guild_id = $2 AND category_key = $3
         ORDER BY ordinal",
        to_db(bot),
        to_db(guild),
        category_key
    )
    .fetch_all(db)
    .await
    .map_err(query_error("list created parents"))?
    .into_iter()
    .map(|row| {
        Ok(CreatedParent {
            ordinal: row.ordinal,
            channel_id: to_id("created_parents.channel_id", row.channel_id)?,
        })
    })
    .collect()
}

/// Every parent the bot created, as (category key, channel) in each category's order (for
/// `/status`).
pub async fn all_created_parents(
    db: impl PgExecutor<'_>,
    bot: Id<ApplicationMarker>,
) -> Result<Vec<(String, Id<ChannelMarker>)>> {
    sqlx::query!(
        "SELECT category_key, channel_id FROM created_parents
         WHERE application_id = $1
         ORDER BY category_key, ordinal",
        to_db(bot)
    )
    .fetch_all(db)
    .await
    .map_err(query_error("list every created parent"))?
    .into_iter()
    .map(|row| {
        Ok((
            row.category_key,
            to_id("created_parents.channel_id", row.channel_id)?,
        ))
    })
    .collect()
}

/// Records a created parent under its number. Callers hold [`super::lock_created_parents`] and
/// take the number after the highest, so it is free.
pub async fn record_created_parent(
    db: impl PgExecutor<'_>,
    bot: Id<ApplicationMarker>,
    guild: Id<GuildMarker>,
    category_key: &str,
    ordinal: i16,
    channel: Id<ChannelMarker>,
) -> Result<()> {
    sqlx::query!(
        "INSERT INTO created_parents (application_id, guild_id, category_key, ordinal, channel_id)
         VALUES ($1, $2, $3, $4, $5)",
        to_db(bot),
        to_db(guild),
        category_key,
        ordinal,
        to_db(channel)
    )
    .execute(db)
    .await
    .map_err(query_error("record a created parent"))?;
    Ok(())
}

/// Forgets a created parent whose channel was deleted (the others keep their numbers). `true`
/// when it was one.
pub async fn forget_created_parent(
    db: impl PgExecutor<'_>,
    bot: Id<ApplicationMarker>,
    channel: Id<ChannelMarker>,
) -> Result<bool> {
    let deleted = sqlx::query!(
        "DELETE FROM created_parents WHERE application_id = $1 AND channel_id = $2",
        to_db(bot),
        to_db(channel)
    )
    .execute(db)
    .await
    .map_err(query_error("forget a created parent"))?;
    Ok(deleted.rows_affected() > 0)
}

/// Forgets the guild's created parents whose channel is not among `existing` (every channel the
/// guild has), deleted while no gateway session saw the CHANNEL_DELETE. Returns how many.
pub async fn forget_created_parents_missing_from(
    db: impl PgExecutor<'_>,
    bot: Id<ApplicationMarker>,
    guild: Id<GuildMarker>,
    existing: &[Id<ChannelMarker>],
) -> Result<u64> {
    let existing: Vec<i64> = existing.iter().map(|&channel| to_db(channel)).collect();
    let deleted = sqlx::query!(
        "DELETE FROM created_parents
         WHERE application_id = $1 AND guild_id = $2 AND NOT (channel_id = ANY($3))",
        to_db(bot),
        to_db(guild),
        &existing
    )
    .execute(db)
    .await
    .map_err(query_error("forget created parents deleted meanwhile"))?;
    Ok(deleted.rows_affected())
}
