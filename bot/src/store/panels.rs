//! The `panels` table: each panel message (a category's own, or one shared by several categories)
//! in its create channel. The `category_key` column holds the panel's key
//! (`crate::panels::plan::panel_key`): the category's key for a panel of its own, which is what
//! every panel was before panels could be shared.
//! Every query is scoped by the bot (its application id), so bots sharing a database never read,
//! replace or delete each other's panels.

use sqlx::PgExecutor;
use twilight_model::id::Id;
use twilight_model::id::marker::{ApplicationMarker, ChannelMarker, GuildMarker, MessageMarker};

use super::{Result, query_error, to_db, to_id};

/// A panel message as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Panel {
    /// The panel's stable key.
    pub key: String,
    /// The guild of the create channel.
    pub guild_id: Id<GuildMarker>,
    /// The create channel the panel is posted in.
    pub channel_id: Id<ChannelMarker>,
    /// The message with the open button, edited in place while it exists and posted anew when
    /// someone deletes it.
    pub message_id: Id<MessageMarker>,
    /// Hash of what was posted, to skip edits when nothing changed.
    pub content_hash: String,
}

struct PanelRow {
    category_key: String,
    guild_id: i64,
    channel_id: i64,
    message_id: i64,
    content_hash: String,
}

impl TryFrom<PanelRow> for Panel {
    type Error = super::StoreError;

    fn try_from(row: PanelRow) -> Result<Self> {
        Ok(Self {
            key: row.category_key,
            guild_id: to_id("guild_id", row.guild_id)?,
            channel_id: to_id("channel_id", row.channel_id)?,
            message_id: to_id("message_id", row.message_id)?,
            content_hash: row.content_hash,
        })
    }
}

/// The panel with this key, if one was posted.
pub async fn panel(
    db: impl PgExecutor<'_>,
    bot: Id<ApplicationMarker>,
    panel_key: &str,
) -> Result<Option<Panel>> {
    sqlx::query_as!(
        PanelRow,
        "SELECT category_key, guild_id, channel_id, message_id, content_hash
         FROM panels
         WHERE application_id = $1 AND category_key = $2",
        to_db(bot),
        panel_key
    )
    .fetch_optional(db)
    .await
    .map_err(query_error("load panel"))?
    .map(Panel::try_from)
    .transpose()
}

/// Every panel of the bot (to delete those the config no longer asks for).
pub async fn panels(db: impl PgExecutor<'_>, bot: Id<ApplicationMarker>) -> Result<Vec<Panel>> {
    sqlx::query_as!(
        PanelRow,
        "SELECT category_key, guild_id, channel_id, message_id, content_hash
         FROM panels
         WHERE application_id = $1
         ORDER BY category_key",
        to_db(bot)
    )
    .fetch_all(db)
    .await
    .map_err(query_error("list panels"))?
    .into_iter()
    .map(Panel::try_from)
    .collect()
}

/// The panel whose message this is, if any (to re-post a panel deleted by hand).
pub async fn panel_by_message(
    db: impl PgExecutor<'_>,
    bot: Id<ApplicationMarker>,
    message_id: Id<MessageMarker>,
) -> Result<Option<Panel>> {
    sqlx::query_as!(
        PanelRow,
        "SELECT category_key, guild_id, channel_id, message_id, content_hash
         FROM panels
         WHERE application_id = $1 AND message_id = $2",
        to_db(bot),
        to_db(message_id)
    )
    .fetch_optional(db)
    .await
    .map_err(query_error("load panel by message"))?
    .map(Panel::try_from)
    .transpose()
}

/// Records (or replaces) a panel.
pub async fn save_panel(
    db: impl PgExecutor<'_>,
    bot: Id<ApplicationMarker>,
    panel: &Panel,
) -> Result<()> {
    sqlx::query!(
        "INSERT INTO panels (application_id, category_key, guild_id, channel_id, message_id,
                             content_hash)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (application_id, category_key) DO UPDATE
         SET guild_id = $3, channel_id = $4, message_id = $5, content_hash = $6,
             updated_at = now()",
        to_db(bot),
        panel.key,
        to_db(panel.guild_id),
        to_db(panel.channel_id),
        to_db(panel.message_id),
        panel.content_hash,
    )
    .execute(db)
    .await
    .map_err(query_error("save panel"))?;
    Ok(())
}

/// Forgets a panel (after deleting its message).
pub async fn delete_panel(
    db: impl PgExecutor<'_>,
    bot: Id<ApplicationMarker>,
    panel_key: &str,
) -> Result<()> {
    sqlx::query!(
        "DELETE FROM panels WHERE application_id = $1 AND category_key = $2",
        to_db(bot),
        panel_key
    )
    .execute(db)
    .await
    .map_err(query_error("delete panel"))?;
    Ok(())
}

/// Gives the bot every panel and ticket stored before rows were scoped by bot (a database only
/// one bot used); rows another bot already owns are left alone. Run once at start, idempotent.
pub async fn claim_unscoped_rows(
    db: impl PgExecutor<'_> + Copy,
    bot: Id<ApplicationMarker>,
) -> Result<()> {
    sqlx::query!(
        "UPDATE panels SET application_id = $1 WHERE application_id IS NULL",
        to_db(bot)
    )
    .execute(db)
    .await
    .map_err(query_error("claim unscoped panels"))?;
    sqlx::query!(
        "UPDATE tickets SET application_id = $1 WHERE application_id IS NULL",
        to_db(bot)
    )
    .execute(db)
    .await
    .map_err(query_error("claim unscoped tickets"))?;
    Ok(())
}
