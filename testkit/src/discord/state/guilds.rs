//! Users, guilds, roles and members: creating them, and the events their changes dispatch.

use std::collections::BTreeMap;

use serde_json::json;

use super::{Dispatch, State};
use crate::discord::model::Guild;
use crate::discord::model::{Member, Role, User};
use crate::discord::permissions;
use crate::discord::session::intents;
use crate::discord::snowflake::{id_str, now_ms};

impl State {
    pub(crate) fn create_user(&mut self, username: &str) -> u64 {
        let id = self.next_id();
        self.users.insert(
            id,
            User {
                id,
                username: username.to_owned(),
                global_name: None,
                bot: false,
                accepts_dms: true,
            },
        );
        id
    }

    /// A guild with an owner, @everyone at Discord's defaults and the bot as a member holding its
    /// managed integration role with `bot_permissions`.
    pub(crate) fn create_guild(&mut self, name: &str, bot_permissions: u64) -> (u64, u64) {
        let guild_id = self.next_id();
        let owner_id =
            self.create_user(&format!("{}-owner", name.to_lowercase().replace(' ', "-")));
        let bot_role_id = self.next_id();
        let now = now_ms();
        let mut roles = BTreeMap::new();
        roles.insert(
            guild_id,
            Role {
                id: guild_id,
                name: "@everyone".to_owned(),
                permissions: permissions::DEFAULT_EVERYONE,
                position: 0,
                managed: false,
                mentionable: false,
            },
        );
        roles.insert(
            bot_role_id,
            Role {
                id: bot_role_id,
                name: self.config.bot_username.clone(),
                permissions: bot_permissions,
                position: 1,
                managed: true,
                mentionable: false,
            },
        );
        let mut members = BTreeMap::new();
        members.insert(
            owner_id,
            Member {
                user_id: owner_id,
                roles: Vec::new(),
                nick: None,
                joined_at_ms: now,
            },
        );
        members.insert(
            self.bot_id(),
            Member {
                user_id: self.bot_id(),
                roles: vec![bot_role_id],
                nick: None,
                joined_at_ms: now,
            },
        );
        self.guilds.insert(
            guild_id,
            Guild {
                id: guild_id,
                name: name.to_owned(),
                owner_id,
                roles,
                members,
            },
        );
        let sessions: Vec<String> = self.sessions.keys().cloned().collect();
        for session_id in sessions {
            self.send_guild_create(&session_id, guild_id);
        }
        (guild_id, bot_role_id)
    }

    /// Sends GUILD_CREATE for one guild to one session (after READY, or when the bot joins).
    pub(crate) fn send_guild_create(&mut self, session_id: &str, guild_id: u64) {
        let Some(session) = self.sessions.get(session_id) else {
            return;
        };
        if session.intents & intents::GUILDS == 0 || !session.handles_guild(guild_id) {
            return;
        }
        let all_members = session.intents & intents::GUILD_MEMBERS != 0;
        let data = self.guild_json(guild_id, true, all_members).to_string();
        if let Some(session) = self.sessions.get_mut(session_id) {
            session.push_dispatch("GUILD_CREATE", &data);
        }
    }

    /// A role placed just above @everyone, as Discord places new roles.
    pub(crate) fn create_role(
        &mut self,
        guild_id: u64,
        name: &str,
        permissions: u64,
    ) -> Option<u64> {
        let role_id = self.next_id();
        let guild = self.guilds.get_mut(&guild_id)?;
        for role in guild.roles.values_mut().filter(|r| r.position > 0) {
            role.position += 1;
        }
        guild.roles.insert(
            role_id,
            Role {
                id: role_id,
                name: name.to_owned(),
                permissions,
                position: 1,
                managed: false,
                mentionable: false,
            },
        );
        self.role_event("GUILD_ROLE_CREATE", guild_id, role_id);
        Some(role_id)
    }

    pub(crate) fn role_event(&mut self, name: &'static str, guild_id: u64, role_id: u64) {
        let role = self
            .roles_json(guild_id)
            .into_iter()
            .find(|r| r["id"] == id_str(role_id));
        if let Some(role) = role {
            self.dispatch(Dispatch {
                name,
                data: json!({"guild_id": id_str(guild_id), "role": role}),
                intent: intents::GUILDS,
                guild_id: Some(guild_id),
                redacted: None,
            });
        }
    }

    pub(crate) fn member_event(&mut self, name: &'static str, guild_id: u64, user_id: u64) {
        let mut data = self.member_json(guild_id, user_id, true, None);
        data["guild_id"] = id_str(guild_id);
        self.dispatch(Dispatch {
            name,
            data,
            intent: intents::GUILD_MEMBERS,
            guild_id: Some(guild_id),
            redacted: None,
        });
    }
}
