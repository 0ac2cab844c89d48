//! Discord's JSON shapes for the emulator's objects (users, roles, members, channels, guilds,
//! messages), as the API v10 documentation describes them.

use serde_json::{Value, json};

use super::State;
use crate::discord::model::{Attachment, Channel, ChannelKind, Message, OverwriteKind};
use crate::discord::snowflake::{id_str, iso8601, opt_id, timestamp_ms};

impl State {
    pub(crate) fn user_json(&self, user_id: u64) -> Value {
        let Some(user) = self.users.get(&user_id) else {
            return json!({"id": id_str(user_id), "username": "deleted_user", "discriminator": "0",
                "global_name": null, "avatar": null, "public_flags": 0});
        };
        let mut value = json!({
            "id": id_str(user.id),
            "username": user.username,
            "discriminator": "0",
            "global_name": user.global_name,
            "avatar": null,
            "avatar_decoration_data": null,
            "banner": null,
            "accent_color": null,
            "public_flags": 0,
            "flags": 0,
        });
        if user.bot {
            value["bot"] = Value::Bool(true);
        }
        value
    }

    pub(crate) fn roles_json(&self, guild_id: u64) -> Vec<Value> {
        let Some(guild) = self.guilds.get(&guild_id) else {
            return Vec::new();
        };
        guild
            .roles
            .values()
            .map(|role| {
                let mut value = json!({
                    "id": id_str(role.id),
                    "name": role.name,
                    "description": null,
                    "color": 0,
                    "colors": {"primary_color": 0, "secondary_color": null, "tertiary_color": null},
                    "hoist": false,
                    "icon": null,
                    "unicode_emoji": null,
                    "position": role.position,
                    "permissions": role.permissions.to_string(),
                    "managed": role.managed,
                    "mentionable": role.mentionable,
                    "flags": 0,
                });
                if role.managed {
                    value["tags"] = json!({"bot_id": id_str(self.config.bot_user_id)});
                }
                value
            })
            .collect()
    }

    /// A guild member; `with_user` adds the user object, `permissions` the computed bits
    /// (interaction payloads carry them).
    pub(crate) fn member_json(
        &self,
        guild_id: u64,
        user_id: u64,
        with_user: bool,
        permissions: Option<u64>,
    ) -> Value {
        let member = self
            .guilds
            .get(&guild_id)
            .and_then(|guild| guild.members.get(&user_id));
        let mut value = json!({
            "roles": member.map(|m| m.roles.iter().map(|r| id_str(*r)).collect::<Vec<_>>()).unwrap_or_default(),
            "nick": member.and_then(|m| m.nick.clone()),
            "avatar": null,
            "banner": null,
            "joined_at": member.map(|m| iso8601(m.joined_at_ms)),
            "premium_since": null,
            "deaf": false,
            "mute": false,
            "flags": 0,
            "pending": false,
            "communication_disabled_until": null,
            "unusual_dm_activity_until": null,
        });
        if with_user {
            value["user"] = self.user_json(user_id);
        }
        if let Some(bits) = permissions {
            value["permissions"] = Value::String(bits.to_string());
        }
        value
    }

    pub(crate) fn channel_json(&self, channel: &Channel) -> Value {
        if channel.kind == ChannelKind::Dm {
            return json!({
                "id": id_str(channel.id),
                "type": 1,
                "last_message_id": opt_id(channel.last_message_id),
                "flags": 0,
                "recipients": channel.recipients.iter().map(|u| self.user_json(*u)).collect::<Vec<_>>(),
            });
        }
        let overwrites: Vec<Value> = channel
            .overwrites
            .iter()
            .map(|o| {
                json!({
                    "id": id_str(o.id),
                    "type": match o.kind { OverwriteKind::Role => 0, OverwriteKind::Member => 1 },
                    "allow": o.allow.to_string(),
                    "deny": o.deny.to_string(),
                })
            })
            .collect();
        if channel.kind.is_thread() {
            let mut value = json!({
                "id": id_str(channel.id),
                "type": channel.kind.code(),
                "guild_id": opt_id(channel.guild_id),
                "name": channel.name,
                "parent_id": opt_id(channel.parent_id),
                "last_message_id": opt_id(channel.last_message_id),
                "rate_limit_per_user": 0,
                "flags": 0,
            });
            self.thread_json_fields(channel, &mut value);
            return value;
        }
        let mut value = json!({
            "id": id_str(channel.id),
            "type": channel.kind.code(),
            "guild_id": opt_id(channel.guild_id),
            "name": channel.name,
            "position": channel.position,
            "permission_overwrites": overwrites,
            "parent_id": opt_id(channel.parent_id),
            "nsfw": false,
            "flags": 0,
        });
        if channel.kind.holds_messages() {
            value["topic"] = json!(channel.topic);
            value["last_message_id"] = opt_id(channel.last_message_id);
            value["rate_limit_per_user"] = json!(0);
            if let Some(pinned) = channel.last_pin_ms {
                value["last_pin_timestamp"] = Value::String(iso8601(pinned));
            }
        }
        if channel.kind == ChannelKind::Voice {
            value["bitrate"] = json!(64000);
            value["user_limit"] = json!(0);
            value["rtc_region"] = Value::Null;
        }
        value
    }

    /// The full guild object; `gateway` adds GUILD_CREATE's extra fields (channels, members, ...).
    pub(crate) fn guild_json(&self, guild_id: u64, gateway: bool, all_members: bool) -> Value {
        let Some(guild) = self.guilds.get(&guild_id) else {
            return Value::Null;
        };
        let mut value = json!({
            "id": id_str(guild.id),
            "name": guild.name,
            "icon": null,
            "icon_hash": null,
            "splash": null,
            "discovery_splash": null,
            "owner_id": id_str(guild.owner_id),
            "afk_channel_id": null,
            "afk_timeout": 300,
            "widget_enabled": false,
            "widget_channel_id": null,
            "verification_level": 0,
            "default_message_notifications": 1,
            "explicit_content_filter": 0,
            "roles": self.roles_json(guild_id),
            "emojis": [],
            "stickers": [],
            "features": [],
            "mfa_level": 0,
            "application_id": null,
            "system_channel_id": null,
            "system_channel_flags": 0,
            "rules_channel_id": null,
            "vanity_url_code": null,
            "description": null,
            "banner": null,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "preferred_locale": "en-US",
            "public_updates_channel_id": null,
            "safety_alerts_channel_id": null,
            "nsfw_level": 0,
            "premium_progress_bar_enabled": false,
            "max_members": 25_000_000,
            "max_video_channel_users": 25,
        });
        if gateway {
            let channels: Vec<Value> = self
                .channels
                .values()
                .filter(|c| c.guild_id == Some(guild_id))
                .map(|c| self.channel_json(c))
                .collect();
            let members: Vec<Value> = guild
                .members
                .keys()
                .filter(|user| all_members || **user == self.config.bot_user_id)
                .map(|user| self.member_json(guild_id, *user, true, None))
                .collect();
            value["channels"] = Value::Array(channels);
            value["members"] = Value::Array(members);
            value["member_count"] = json!(guild.members.len());
            value["large"] = Value::Bool(guild.members.len() > 250);
            value["unavailable"] = Value::Bool(false);
            value["joined_at"] = guild
                .members
                .get(&self.config.bot_user_id)
                .map_or(Value::Null, |m| Value::String(iso8601(m.joined_at_ms)));
            value["threads"] = json!([]);
            value["presences"] = json!([]);
            value["voice_states"] = json!([]);
            value["stage_instances"] = json!([]);
            value["guild_scheduled_events"] = json!([]);
            value["soundboard_sounds"] = json!([]);
        }
        value
    }

    pub(crate) fn attachment_json(&self, channel_id: u64, attachment: &Attachment) -> Value {
        let url = format!(
            "{}/attachments/{channel_id}/{}/{}",
            self.base_url, attachment.id, attachment.filename
        );
        json!({
            "id": id_str(attachment.id),
            "filename": attachment.filename,
            "size": attachment.data.len(),
            "url": url,
            "proxy_url": url,
            "content_type": attachment.content_type,
        })
    }

    pub(crate) fn message_json(&self, message: &Message) -> Value {
        let mut value = json!({
            "id": id_str(message.id),
            "channel_id": id_str(message.channel_id),
            "author": self.user_json(message.author_id),
            "content": message.content,
            "timestamp": iso8601(timestamp_ms(message.id)),
            "edited_timestamp": message.edited_at_ms.map(iso8601),
            "tts": false,
            "mention_everyone": message.mention_everyone,
            "mentions": message.mentions.iter().map(|u| self.user_json(*u)).collect::<Vec<_>>(),
            "mention_roles": message.mention_roles.iter().map(|r| id_str(*r)).collect::<Vec<_>>(),
            "attachments": message.attachments.iter().map(|a| self.attachment_json(message.channel_id, a)).collect::<Vec<_>>(),
            "embeds": message.embeds,
            "pinned": message.pinned,
            "type": message.kind,
            "flags": message.flags,
            "components": message.components,
        });
        if let Some(webhook) = message.webhook_id {
            value["webhook_id"] = id_str(webhook);
            value["application_id"] = id_str(self.config.application_id);
        }
        if let Some(reference) = message.reference {
            value["message_reference"] = json!({
                "type": 0,
                "message_id": id_str(reference),
                "channel_id": id_str(message.channel_id),
                "guild_id": opt_id(message.guild_id),
            });
            if message.kind == 19 {
                value["referenced_message"] = self
                    .find_message(reference)
                    .map_or(Value::Null, |referenced| {
                        self.message_json_shallow(referenced)
                    });
            }
        }
        if let Some(interaction) = message
            .interaction_id
            .and_then(|id| self.interactions.get(&id))
        {
            value["interaction_metadata"] = json!({
                "id": id_str(interaction.id),
                "type": 3,
                "user": self.user_json(interaction.user_id),
                "authorizing_integration_owners": interaction
                    .guild_id
                    .map_or_else(|| json!({"1": id_str(interaction.user_id)}), |g| json!({"0": id_str(g)})),
                "original_response_message_id": opt_id(interaction.original_message_id),
                "interacted_message_id": id_str(interaction.message_id),
            });
        }
        value
    }

    /// A referenced message, without its own reference chain.
    fn message_json_shallow(&self, message: &Message) -> Value {
        let mut copy = message.clone();
        copy.reference = None;
        copy.interaction_id = None;
        self.message_json(&copy)
    }

    /// A message for a gateway dispatch: adds `guild_id` and the author's `member`.
    pub(crate) fn message_event_json(&self, message: &Message) -> Value {
        let mut value = self.message_json(message);
        if let Some(guild_id) = message.guild_id {
            value["guild_id"] = id_str(guild_id);
            if message.webhook_id.is_none() {
                value["member"] = self.member_json(guild_id, message.author_id, false, None);
            }
        }
        value
    }

    /// A message's dispatch and, unless the message is exempt, what sessions without the
    /// MESSAGE_CONTENT intent get instead.
    pub(crate) fn message_dispatch_json(&self, message: &Message) -> (Value, Option<Value>) {
        let data = self.message_event_json(message);
        if self.content_exempt(message) {
            return (data, None);
        }
        let mut redacted = data.clone();
        redact_content(&mut redacted);
        (data, Some(redacted))
    }

    /// JSON for a message as the REST API returns it to this app (content withheld without the
    /// MESSAGE_CONTENT intent).
    pub(crate) fn rest_message_json(&self, message: &Message) -> Value {
        let mut value = self.message_json(message);
        if !self.config.message_content_intent && !self.content_exempt(message) {
            redact_content(&mut value);
        }
        value
    }

    pub(crate) fn dm_channel_json(&self, channel_id: u64) -> Value {
        self.channels
            .get(&channel_id)
            .map_or(Value::Null, |channel| self.channel_json(channel))
    }

    /// Whether an app without the MESSAGE_CONTENT intent may see this message's content: its own
    /// messages, DMs and messages mentioning it are exempt.
    fn content_exempt(&self, message: &Message) -> bool {
        message.author_id == self.config.bot_user_id
            || message.guild_id.is_none()
            || message.mentions.contains(&self.config.bot_user_id)
    }
}

/// Empties the fields Discord withholds from apps without the MESSAGE_CONTENT intent.
fn redact_content(value: &mut Value) {
    value["content"] = Value::String(String::new());
    value["embeds"] = json!([]);
    value["attachments"] = json!([]);
    value["components"] = json!([]);
    if let Some(map) = value.as_object_mut() {
        map.remove("poll");
    }
}
