//! What `/status` last read of each guild from Discord, and when it is stale.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, PoisonError};
use std::time::{Duration, Instant};

use twilight_model::channel::Channel;
use twilight_model::guild::Role;
use twilight_model::id::Id;
use twilight_model::id::marker::{GuildMarker, RoleMarker};

/// The Discord side of `/status`, per guild. Reading a guild costs three REST calls, and
/// `/status` is served to anyone who can reach the port: without a cache every request would
/// be three calls to Discord. An entry is used until it is `status_max_age` old (a minute by
/// default) or a gateway event says the guild changed (a channel or role created, updated or
/// deleted, the guild or the bot's membership updated, the guild seen again after a new
/// session); requests that arrive together wait for one read.
#[derive(Default)]
pub(crate) struct GuildCache {
    entries: tokio::sync::Mutex<HashMap<Id<GuildMarker>, CachedGuild>>,
    /// Bumped by every change event, so a read that raced an event is not kept.
    changes: std::sync::Mutex<HashMap<Id<GuildMarker>, u64>>,
}

struct CachedGuild {
    fetched: Instant,
    change: u64,
    data: Arc<Result<GuildData, String>>,
}

impl GuildCache {
    /// Marks what is cached of `guild_id` as out of date.
    pub(crate) fn guild_changed(&self, guild_id: Id<GuildMarker>) {
        let mut changes = self.changes.lock().unwrap_or_else(PoisonError::into_inner);
        *changes.entry(guild_id).or_default() += 1;
    }

    fn change(&self, guild_id: Id<GuildMarker>) -> u64 {
        let changes = self.changes.lock().unwrap_or_else(PoisonError::into_inner);
        changes.get(&guild_id).copied().unwrap_or_default()
    }

    /// What is known of `guild_id`: the cached entry while it is younger than `max_age` and no
    /// change event came since, else what `fetch` reads now (kept for the next callers).
    pub(crate) async fn get<F>(
        &self,
        guild_id: Id<GuildMarker>,
        max_age: Duration,
        fetch: impl FnOnce() -> F,
    ) -> Arc<Result<GuildData, String>>
    where
        F: Future<Output = Result<GuildData, String>>,
    {
        let mut entries = self.entries.lock().await;
        let change = self.change(guild_id);
        if let Some(entry) = entries.get(&guild_id)
            && entry.change == change
            && entry.fetched.elapsed() < max_age
        {
            return Arc::clone(&entry.data);
        }
        let data = Arc::new(fetch().await);
        entries.insert(
            guild_id,
            CachedGuild {
                fetched: Instant::now(),
                change,
                data: Arc::clone(&data),
            },
        );
        data
    }
}

/// What `/status` reads of a guild.
pub(crate) struct GuildData {
    /// Its channels.
    pub(crate) channels: Vec<Channel>,
    /// Its roles.
    pub(crate) roles: Vec<Role>,
    /// The bot member's roles.
    pub(crate) bot_roles: Vec<Id<RoleMarker>>,
}
