//! The names a transcript shows for a guild and its roles, as the gateway last told them.
//!
//! GUILD_CREATE carries a guild's name and every role, and GUILD_UPDATE and GUILD_ROLE_CREATE,
//! `_UPDATE` and `_DELETE` keep them current, so a close needs no REST call for them. Reading
//! them per close cost two requests in the guild's buckets each: fifty tickets closed at once
//! queued a hundred reads behind each other and drew 429s from the first ones.

use std::collections::HashMap;
use std::sync::{PoisonError, RwLock};

use twilight_model::guild::Role;
use twilight_model::id::Id;
use twilight_model::id::marker::{GuildMarker, RoleMarker};

/// A guild's name and role names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct GuildNames {
    pub(crate) name: String,
    pub(crate) roles: HashMap<Id<RoleMarker>, String>,
}

/// What the gateway said of each guild the bot is in.
#[derive(Debug, Default)]
pub(crate) struct GuildNameBook {
    guilds: RwLock<HashMap<Id<GuildMarker>, GuildNames>>,
}

impl GuildNameBook {
    /// A guild seen whole (GUILD_CREATE, GUILD_UPDATE): its name and every role.
    pub(crate) fn guild_seen(&self, guild_id: Id<GuildMarker>, name: &str, roles: &[Role]) {
        let names = GuildNames {
            name: name.to_owned(),
            roles: roles
                .iter()
                .map(|role| (role.id, role.name.clone()))
                .collect(),
        };
        self.write().insert(guild_id, names);
    }

    /// A role created or updated.
    pub(crate) fn role_seen(&self, guild_id: Id<GuildMarker>, role: &Role) {
        if let Some(guild) = self.write().get_mut(&guild_id) {
            guild.roles.insert(role.id, role.name.clone());
        }
    }

    /// A role deleted.
    pub(crate) fn role_deleted(&self, guild_id: Id<GuildMarker>, role_id: Id<RoleMarker>) {
        if let Some(guild) = self.write().get_mut(&guild_id) {
            guild.roles.remove(&role_id);
        }
    }

    /// The bot left the guild, or it became unavailable: what it said may be out of date.
    pub(crate) fn guild_gone(&self, guild_id: Id<GuildMarker>) {
        self.write().remove(&guild_id);
    }

    /// The guild's names, if a GUILD_CREATE of this process brought them.
    pub(crate) fn get(&self, guild_id: Id<GuildMarker>) -> Option<GuildNames> {
        self.guilds
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&guild_id)
            .cloned()
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<Id<GuildMarker>, GuildNames>> {
        self.guilds.write().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn role(id: u64, name: &str) -> Role {
        serde_json::from_value(serde_json::json!({
            "id": id.to_string(), "name": name, "color": 0, "hoist": false, "managed": false,
            "mentionable": false, "permissions": "0", "position": 1, "flags": 0,
            "colors": {"primary_color": 0, "secondary_color": null, "tertiary_color": null},
        }))
        .expect("a role as Discord sends it")
    }

    #[test]
    fn role_events_keep_a_seen_guild_current() {
        let book = GuildNameBook::default();
        let guild = Id::new(1);
        assert_eq!(book.get(guild), None);
        // A role event for a guild not seen whole is not enough to name it.
        book.role_seen(guild, &role(5, "Early"));
        assert_eq!(book.get(guild), None);
        book.guild_seen(guild, "Support", &[role(2, "Staff"), role(3, "Mods")]);
        book.role_seen(guild, &role(2, "Helpers"));
        book.role_seen(guild, &role(4, "New"));
        book.role_deleted(guild, Id::new(3));
        let names = book.get(guild).unwrap();
        assert_eq!(names.name, "Support");
        let mut roles: Vec<(u64, String)> = names
            .roles
            .into_iter()
            .map(|(id, name)| (id.get(), name))
            .collect();
        roles.sort();
        assert_eq!(roles, [(2, "Helpers".to_owned()), (4, "New".to_owned())]);
        book.guild_gone(guild);
        assert_eq!(book.get(guild), None);
    }
}
