//! The control handle: how tests and benchmarks build a guild, act as users, inject faults and
//! observe everything the bot did.
//!
//! Past 450 lines: it is the emulator's whole test-facing surface in one handle, a short
//! documented method per action, so a test finds every action it may take in one place.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::command::ApplicationCommand;
use super::command_input::CommandInput;
use super::faults::{ArmedFault, FaultSpec};
use super::model::{
    Attachment, Channel, ChannelKind, GatewaySession, Guild, InteractionOutcome, InteractionView,
    Member, Message, Overwrite, RequestRecord, User,
};
use super::permissions::{SEND_MESSAGES, VIEW_CHANNEL};
use super::ratelimit::{InvalidRequestLimit, RateLimitConfig};
use super::snowflake::now_ms;
use super::state::{NewMessage, PendingClick, Shared};

pub use super::control_error::ControlError;

/// A channel a test creates by hand (as a server admin would).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelSpec {
    /// The channel's name; a text or announcement channel's is lower-cased, with dashes for
    /// spaces, as Discord does.
    pub name: String,
    /// Text, category, voice or announcement.
    pub kind: ChannelKind,
    /// Category to place it in.
    pub parent_id: Option<u64>,
    /// Overwrites; empty under a category means "synced with the category".
    pub overwrites: Vec<Overwrite>,
    /// The topic of a channel that holds messages (a category has none to show).
    pub topic: Option<String>,
}

impl ChannelSpec {
    /// A text channel outside any category, with no overwrites and no topic.
    pub fn text(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            kind: ChannelKind::Text,
            parent_id: None,
            overwrites: Vec::new(),
            topic: None,
        }
    }

    /// A category, for [`under`](Self::under) to place channels in.
    pub fn category(name: &str) -> Self {
        Self {
            kind: ChannelKind::Category,
            ..Self::text(name)
        }
    }

    /// Placed in a category.
    #[must_use]
    pub fn under(mut self, parent_id: u64) -> Self {
        self.parent_id = Some(parent_id);
        self
    }

    /// With one more overwrite.
    #[must_use]
    pub fn with_overwrite(mut self, overwrite: Overwrite) -> Self {
        self.overwrites.push(overwrite);
        self
    }
}

/// A message a user posts.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct UserMessage {
    /// The text as typed; `<@id>`, `<@&id>` and `@everyone` in it mention as on Discord.
    pub content: String,
    /// Files as (name, MIME type, bytes).
    pub attachments: Vec<(String, String, Vec<u8>)>,
    /// Embeds as Discord JSON (links unfurl into embeds for users too).
    pub embeds: Vec<Value>,
    /// The message this one replies to.
    pub reply_to: Option<u64>,
}

impl UserMessage {
    /// A plain text message.
    pub fn text(content: &str) -> Self {
        Self {
            content: content.to_owned(),
            ..Self::default()
        }
    }

    /// With a file.
    #[must_use]
    pub fn with_attachment(mut self, filename: &str, content_type: &str, data: &[u8]) -> Self {
        self.attachments
            .push((filename.to_owned(), content_type.to_owned(), data.to_vec()));
        self
    }

    /// As a reply.
    #[must_use]
    pub fn replying_to(mut self, message_id: u64) -> Self {
        self.reply_to = Some(message_id);
        self
    }
}

/// A cheap, cloneable handle to a running emulator.
#[derive(Clone)]
pub struct Control {
    pub(crate) shared: Arc<Shared>,
}

impl std::fmt::Debug for Control {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Control").finish_non_exhaustive()
    }
}

impl Control {
    /// The bot's user id.
    pub fn bot_user_id(&self) -> u64 {
        self.shared.read(|s| s.config.bot_user_id)
    }

    /// The application id (interaction webhooks use it).
    pub fn application_id(&self) -> u64 {
        self.shared.read(|s| s.config.application_id)
    }

    /// `http://127.0.0.1:PORT`, the emulator's base URL.
    pub fn base_url(&self) -> String {
        self.shared.read(|s| s.base_url.clone())
    }

    // ---- building the world ------------------------------------------------------------------

    /// A guild with an owner and @everyone at Discord's defaults; the bot joins it holding its
    /// managed role with `bot_permissions`. The bot's sessions get GUILD_CREATE. Returns the id.
    pub fn create_guild(&self, name: &str, bot_permissions: u64) -> u64 {
        self.shared
            .mutate(|s| s.create_guild(name, bot_permissions).0)
    }

    /// The bot's managed role in a guild.
    pub fn bot_role(&self, guild_id: u64) -> Option<u64> {
        self.shared.read(|s| {
            s.guilds
                .get(&guild_id)?
                .roles
                .values()
                .find(|r| r.managed)
                .map(|r| r.id)
        })
    }

    /// A role placed just above @everyone.
    pub fn create_role(
        &self,
        guild_id: u64,
        name: &str,
        permissions: u64,
    ) -> Result<u64, ControlError> {
        self.shared
            .mutate(|s| s.create_role(guild_id, name, permissions))
            .ok_or(ControlError::UnknownGuild(guild_id))
    }

    /// Changes a role's guild-level permissions (including @everyone, whose id is the guild id).
    pub fn set_role_permissions(
        &self,
        guild_id: u64,
        role_id: u64,
        permissions: u64,
    ) -> Result<(), ControlError> {
        self.shared.mutate(|s| {
            let guild = s
                .guilds
                .get_mut(&guild_id)
                .ok_or(ControlError::UnknownGuild(guild_id))?;
            let role = guild
                .roles
                .get_mut(&role_id)
                .ok_or(ControlError::UnknownRole(role_id))?;
            role.permissions = permissions;
            s.role_event("GUILD_ROLE_UPDATE", guild_id, role_id);
            Ok(())
        })
    }

    /// Whether a role may be notified by anyone (Discord's "Allow anyone to @mention this role");
    /// roles start not mentionable (GUILD_ROLE_UPDATE).
    pub fn set_role_mentionable(
        &self,
        guild_id: u64,
        role_id: u64,
        mentionable: bool,
    ) -> Result<(), ControlError> {
        self.shared.mutate(|s| {
            let role = s
                .guilds
                .get_mut(&guild_id)
                .ok_or(ControlError::UnknownGuild(guild_id))?
                .roles
                .get_mut(&role_id)
                .ok_or(ControlError::UnknownRole(role_id))?;
            role.mentionable = mentionable;
            s.role_event("GUILD_ROLE_UPDATE", guild_id, role_id);
            Ok(())
        })
    }

    /// A user (not yet in any guild).
    pub fn create_user(&self, username: &str) -> u64 {
        self.shared.mutate(|s| s.create_user(username))
    }

    /// Whether a user accepts DMs from the bot.
    pub fn set_accepts_dms(&self, user_id: u64, accepts: bool) -> Result<(), ControlError> {
        self.shared.mutate(|s| {
            let user = s
                .users
                .get_mut(&user_id)
                .ok_or(ControlError::UnknownUser(user_id))?;
            user.accepts_dms = accepts;
            Ok(())
        })
    }

    /// A user joins a guild with roles (GUILD_MEMBER_ADD).
    pub fn add_member(
        &self,
        guild_id: u64,
        user_id: u64,
        roles: &[u64],
    ) -> Result<(), ControlError> {
        self.shared.mutate(|s| {
            if !s.users.contains_key(&user_id) {
                return Err(ControlError::UnknownUser(user_id));
            }
            let guild = s
                .guilds
                .get_mut(&guild_id)
                .ok_or(ControlError::UnknownGuild(guild_id))?;
            if let Some(role) = roles.iter().find(|r| !guild.roles.contains_key(r)) {
                return Err(ControlError::UnknownRole(*role));
            }
            guild.members.insert(
                user_id,
                Member {
                    user_id,
                    roles: roles.to_vec(),
                    nick: None,
                    joined_at_ms: now_ms(),
                },
            );
            s.member_event("GUILD_MEMBER_ADD", guild_id, user_id);
            Ok(())
        })
    }

    /// Replaces a member's roles (GUILD_MEMBER_UPDATE); works for the bot too.
    pub fn set_member_roles(
        &self,
        guild_id: u64,
        user_id: u64,
        roles: &[u64],
    ) -> Result<(), ControlError> {
        self.shared.mutate(|s| {
            let guild = s
                .guilds
                .get_mut(&guild_id)
                .ok_or(ControlError::UnknownGuild(guild_id))?;
            if let Some(role) = roles.iter().find(|r| !guild.roles.contains_key(r)) {
                return Err(ControlError::UnknownRole(*role));
            }
            let member = guild
                .members
                .get_mut(&user_id)
                .ok_or(ControlError::NotAMember {
                    guild: guild_id,
                    user: user_id,
                })?;
            member.roles = roles.to_vec();
            s.member_event("GUILD_MEMBER_UPDATE", guild_id, user_id);
            Ok(())
        })
    }

    /// A channel created by hand (CHANNEL_CREATE). No bot permission applies.
    pub fn create_channel(&self, guild_id: u64, spec: ChannelSpec) -> Result<u64, ControlError> {
        self.shared.mutate(|s| {
            if !s.guilds.contains_key(&guild_id) {
                return Err(ControlError::UnknownGuild(guild_id));
            }
            if spec.kind == ChannelKind::Dm {
                return Err(ControlError::InvalidChannel(
                    "DMs are not guild channels".into(),
                ));
            }
            let parent = match spec.parent_id {
                Some(parent_id) => {
                    let parent = s
                        .channels
                        .get(&parent_id)
                        .filter(|c| c.guild_id == Some(guild_id))
                        .ok_or(ControlError::UnknownChannel(parent_id))?;
                    if parent.kind != ChannelKind::Category || spec.kind == ChannelKind::Category {
                        return Err(ControlError::InvalidChannel(
                            "parent must be a category".into(),
                        ));
                    }
                    Some(parent.clone())
                }
                None => None,
            };
            let overwrites = if spec.overwrites.is_empty() {
                parent.map(|p| p.overwrites).unwrap_or_default()
            } else {
                spec.overwrites
            };
            let position = s
                .channels
                .values()
                .filter(|c| c.guild_id == Some(guild_id) && c.parent_id == spec.parent_id)
                .map(|c| c.position + 1)
                .max()
                .unwrap_or(0);
            let id = s.next_id();
            Ok(s.insert_channel(Channel {
                id,
                kind: spec.kind,
                guild_id: Some(guild_id),
                name: Some(super::validate::normalise_channel_name(
                    spec.kind, &spec.name,
                )),
                topic: spec.topic,
                parent_id: spec.parent_id,
                position,
                overwrites,
                recipients: Vec::new(),
                last_message_id: None,
                last_pin_ms: None,
                thread: None,
            }))
        })
    }

    /// Replaces a channel's overwrites (CHANNEL_UPDATE).
    pub fn set_channel_overwrites(
        &self,
        channel_id: u64,
        overwrites: Vec<Overwrite>,
    ) -> Result<(), ControlError> {
        self.shared.mutate(|s| {
            let channel = s
                .channels
                .get_mut(&channel_id)
                .ok_or(ControlError::UnknownChannel(channel_id))?;
            channel.overwrites = overwrites;
            s.channel_updated(channel_id);
            Ok(())
        })
    }

    /// Someone deletes a channel by hand (CHANNEL_DELETE).
    pub fn delete_channel(&self, channel_id: u64) -> Result<(), ControlError> {
        self.shared
            .mutate(|s| s.remove_channel(channel_id))
            .map(|_| ())
            .ok_or(ControlError::UnknownChannel(channel_id))
    }

    /// Discord archives a thread that had no message for its auto-archive duration; this does it
    /// now (THREAD_UPDATE). Archived, it refuses member and name changes until it is unarchived.
    pub fn archive_thread(&self, thread_id: u64) -> Result<(), ControlError> {
        self.shared.mutate(|s| {
            if s.channels
                .get(&thread_id)
                .is_none_or(|channel| channel.thread.is_none())
            {
                return Err(ControlError::UnknownChannel(thread_id));
            }
            s.set_thread_archived(thread_id, true);
            Ok(())
        })
    }

    // ---- acting as users ---------------------------------------------------------------------

    /// A user posts a message (MESSAGE_CREATE). The user must be able to see and post there.
    pub fn post_message(
        &self,
        user_id: u64,
        channel_id: u64,
        message: UserMessage,
    ) -> Result<u64, ControlError> {
        self.shared.mutate(|s| {
            let channel = s
                .channels
                .get(&channel_id)
                .cloned()
                .ok_or(ControlError::UnknownChannel(channel_id))?;
            if !s.users.contains_key(&user_id) {
                return Err(ControlError::UnknownUser(user_id));
            }
            let permissions = s.channel_permissions_of(user_id, &channel);
            if permissions & VIEW_CHANNEL == 0 {
                return Err(ControlError::ChannelHidden {
                    user: user_id,
                    channel: channel_id,
                });
            }
            if permissions & SEND_MESSAGES == 0 || !channel.kind.holds_messages() {
                return Err(ControlError::CannotSend {
                    user: user_id,
                    channel: channel_id,
                });
            }
            if let Some(reference) = message.reply_to
                && s.channel_message(channel_id, reference).is_none()
            {
                return Err(ControlError::UnknownMessage(reference));
            }
            let attachments = message
                .attachments
                .into_iter()
                .map(|(filename, content_type, data)| Attachment {
                    id: s.next_id(),
                    filename,
                    content_type: Some(content_type),
                    data: Arc::new(data),
                })
                .collect();
            Ok(s.add_message(NewMessage {
                channel_id,
                author_id: user_id,
                content: message.content,
                embeds: message.embeds,
                attachments,
                kind: if message.reply_to.is_some() { 19 } else { 0 },
                reference: message.reply_to,
                ..NewMessage::default()
            })
            .id)
        })
    }

    /// A user writes to the bot in DMs (MESSAGE_CREATE without guild).
    pub fn post_dm(&self, user_id: u64, content: &str) -> Result<u64, ControlError> {
        let channel_id = self.shared.mutate(|s| {
            if s.users.contains_key(&user_id) {
                Ok(s.dm_channel(user_id))
            } else {
                Err(ControlError::UnknownUser(user_id))
            }
        })?;
        self.post_message(user_id, channel_id, UserMessage::text(content))
    }

    /// The author edits a message (MESSAGE_UPDATE).
    pub fn edit_message(&self, message_id: u64, content: &str) -> Result<(), ControlError> {
        self.shared
            .mutate(|s| s.edit_message(message_id, Some(content.to_owned()), None, None, None))
            .map(|_| ())
            .ok_or(ControlError::UnknownMessage(message_id))
    }

    /// Someone deletes a message (MESSAGE_DELETE).
    pub fn delete_message(&self, message_id: u64) -> Result<(), ControlError> {
        self.shared
            .mutate(|s| s.remove_message(message_id))
            .map(|_| ())
            .ok_or(ControlError::UnknownMessage(message_id))
    }

    /// A user clicks a button: sends INTERACTION_CREATE and resolves when the bot acknowledges it
    /// or when the acknowledgement deadline passes (then the outcome is failed, which is what
    /// the user sees as "This interaction failed").
    pub async fn click_button(
        &self,
        user_id: u64,
        message_id: u64,
        custom_id: &str,
    ) -> Result<InteractionOutcome, ControlError> {
        let pending = self
            .shared
            .mutate(|s| s.start_click(user_id, message_id, custom_id))?;
        self.acknowledged(pending).await
    }

    /// A user picks `values` in the select menu `custom_id` of message `message_id`: sends
    /// INTERACTION_CREATE (a component interaction with the values) and resolves like
    /// [`click_button`](Self::click_button). Refused, with nothing sent, when the Discord client
    /// would not offer the choice (see [`ControlError::InvalidChoice`]).
    pub async fn choose_in_menu(
        &self,
        user_id: u64,
        message_id: u64,
        custom_id: &str,
        values: &[&str],
    ) -> Result<InteractionOutcome, ControlError> {
        let pending = self
            .shared
            .mutate(|s| s.start_select(user_id, message_id, custom_id, values))?;
        self.acknowledged(pending).await
    }

    /// The user submits the modal the bot answered interaction `opened_by` with, filling in
    /// `values` as (text input custom id, text); an input left out keeps its pre-filled text.
    /// Sends MODAL_SUBMIT and resolves like [`click_button`](Self::click_button). Refused, with
    /// nothing sent, when the Discord client would not let the user submit: no modal was shown,
    /// another user's modal, an unknown input, a required input empty, or a value too short or
    /// too long.
    pub async fn submit_modal(
        &self,
        user_id: u64,
        opened_by: u64,
        values: &[(&str, &str)],
    ) -> Result<InteractionOutcome, ControlError> {
        let pending = self
            .shared
            .mutate(|s| s.start_modal_submit(user_id, opened_by, values))?;
        self.acknowledged(pending).await
    }

    /// The user runs the guild command `name` (a CHAT_INPUT command) in a channel with `inputs`:
    /// sends APPLICATION_COMMAND and resolves like [`click_button`](Self::click_button). Refused,
    /// with nothing sent, when the Discord client would not let the user run it: no such command
    /// in the channel's guild, hidden by its `default_member_permissions` (ADMINISTRATOR sees
    /// every command), an option it does not have, a required option or subcommand missing, a
    /// value of the wrong type, a string too short or too long, a value that is none of the
    /// choices, or a user or channel the client could not offer.
    pub async fn run_command(
        &self,
        user_id: u64,
        channel_id: u64,
        name: &str,
        inputs: &[CommandInput],
    ) -> Result<InteractionOutcome, ControlError> {
        let pending = self
            .shared
            .mutate(|s| s.start_command(user_id, channel_id, name, inputs))?;
        self.acknowledged(pending).await
    }

    /// What a server admin does under Server Settings → Integrations: allows the guild command
    /// `name` for members with `role_id`, whatever its `default_member_permissions` ask (a bot
    /// cannot set this; Discord takes it from an admin's own token only).
    pub fn allow_command_for_role(&self, guild_id: u64, name: &str, role_id: u64) {
        self.shared.mutate(|s| {
            s.command_role_grants
                .entry((guild_id, name.to_owned()))
                .or_default()
                .push(role_id);
        });
    }

    /// The application commands registered in a guild, in the order of the last overwrite.
    pub fn guild_commands(&self, guild_id: u64) -> Vec<ApplicationCommand> {
        self.shared
            .read(|s| s.guild_commands.get(&guild_id).cloned().unwrap_or_default())
    }

    /// The global application commands.
    pub fn global_commands(&self) -> Vec<ApplicationCommand> {
        self.shared.read(|s| s.global_commands.clone())
    }

    /// Waits for the bot to acknowledge an interaction until the deadline; then its outcome
    /// (failed if the deadline passed first).
    async fn acknowledged(
        &self,
        pending: PendingClick,
    ) -> Result<InteractionOutcome, ControlError> {
        let deadline = self.shared.read(|s| s.config.ack_deadline);
        let id = pending.interaction_id;
        let _ = tokio::time::timeout(deadline, pending.acknowledged).await;
        self.shared
            .mutate(|s| {
                s.expire_click(id);
                s.outcome(id)
            })
            .ok_or(ControlError::UnknownInteraction(id))
    }

    /// An interaction and everything the bot did with it so far.
    pub fn interaction(&self, interaction_id: u64) -> Option<InteractionView> {
        self.shared.read(|s| s.interaction_view(interaction_id))
    }

    /// Every interaction, oldest first.
    pub fn interactions(&self) -> Vec<InteractionView> {
        self.shared.read(|s| {
            let mut ids: Vec<u64> = s.interactions.keys().copied().collect();
            ids.sort_unstable();
            ids.into_iter()
                .filter_map(|id| s.interaction_view(id))
                .collect()
        })
    }

    // ---- reading state -----------------------------------------------------------------------

    /// A guild with its roles and members as they are now (a copy: later changes do not show).
    pub fn guild(&self, guild_id: u64) -> Option<Guild> {
        self.shared.read(|s| s.guilds.get(&guild_id).cloned())
    }

    /// A user by id, the bot's own included.
    pub fn user(&self, user_id: u64) -> Option<User> {
        self.shared.read(|s| s.users.get(&user_id).cloned())
    }

    /// A guild channel, category or DM channel as it is now (a copy).
    pub fn channel(&self, channel_id: u64) -> Option<Channel> {
        self.shared.read(|s| s.channels.get(&channel_id).cloned())
    }

    /// A guild's channels by position.
    pub fn channels(&self, guild_id: u64) -> Vec<Channel> {
        self.shared.read(|s| {
            let mut channels: Vec<Channel> = s
                .channels
                .values()
                .filter(|c| c.guild_id == Some(guild_id))
                .cloned()
                .collect();
            channels.sort_by_key(|c| (c.position, c.id));
            channels
        })
    }

    /// A channel's messages, oldest first (ephemeral responses are not in channels).
    pub fn messages(&self, channel_id: u64) -> Vec<Message> {
        self.shared.read(|s| {
            s.messages
                .get(&channel_id)
                .map(|m| m.values().cloned().collect())
                .unwrap_or_default()
        })
    }

    /// A message anywhere, ephemeral ones included.
    pub fn message(&self, message_id: u64) -> Option<Message> {
        self.shared.read(|s| s.find_message(message_id).cloned())
    }

    /// A channel's pinned messages, most recently pinned first.
    pub fn pins(&self, channel_id: u64) -> Vec<Message> {
        self.shared
            .read(|s| s.pinned(channel_id).into_iter().cloned().collect())
    }

    /// The DM channel between the bot and a user, if one was opened.
    pub fn dm_channel(&self, user_id: u64) -> Option<u64> {
        self.shared.read(|s| s.dm_channels.get(&user_id).copied())
    }

    /// Messages in the DM channel with a user, oldest first.
    pub fn dm_messages(&self, user_id: u64) -> Vec<Message> {
        self.dm_channel(user_id)
            .map(|c| self.messages(c))
            .unwrap_or_default()
    }

    /// A user's permissions in a guild, or in one of its channels.
    pub fn permissions(&self, guild_id: u64, user_id: u64, channel_id: Option<u64>) -> u64 {
        self.shared.read(|s| {
            let channel = channel_id.and_then(|id| s.channels.get(&id));
            s.permissions(guild_id, user_id, channel)
        })
    }

    // ---- faults, gateway control, settings ---------------------------------------------------

    /// Makes the next requests matching the spec fail.
    pub fn fail_next(&self, spec: FaultSpec) {
        self.shared.mutate(|s| {
            let remaining = spec.count;
            s.faults.push(ArmedFault { spec, remaining });
        });
    }

    /// Disarms every fault.
    pub fn clear_faults(&self) {
        self.shared.mutate(|s| s.faults.clear());
    }

    /// Closes every gateway connection without a close frame (sessions stay resumable).
    pub fn drop_gateway_connections(&self) {
        self.shared.mutate(super::state::State::drop_connections);
    }

    /// Sends op 7 RECONNECT to every connected session.
    pub fn send_reconnect(&self) {
        self.shared.mutate(super::state::State::send_reconnect);
    }

    /// Sends op 9 INVALID_SESSION; `resumable: false` forgets the sessions.
    pub fn send_invalid_session(&self, resumable: bool) {
        self.shared.mutate(|s| s.send_invalid_session(resumable));
    }

    /// Makes every open gateway connection a zombie: it stays open but delivers nothing from now
    /// on, HEARTBEAT_ACK included, so only the client's missing-ACK check can notice.
    pub fn zombie_gateway_connections(&self) {
        self.shared.mutate(super::state::State::silence_connections);
    }

    /// Gives every gateway session up without telling its connection: the next RESUME of each is
    /// answered INVALID_SESSION(false), as for a session Discord has expired.
    pub fn invalidate_gateway_sessions(&self) {
        self.shared.mutate(super::state::State::invalidate_sessions);
    }

    /// RESUMEs refused with INVALID_SESSION(false), and accepted RESUMEs that did not use the
    /// session's `resume_gateway_url`.
    pub fn gateway_resume_faults(&self) -> (u64, u64) {
        self.shared
            .read(|s| (s.refused_resumes, s.resumes_off_resume_url))
    }

    /// Gateway sessions, connected or waiting for RESUME.
    pub fn gateway_sessions(&self) -> Vec<GatewaySession> {
        self.shared.read(super::state::State::gateway_sessions)
    }

    /// How many IDENTIFYs and RESUMEs the gateway accepted.
    pub fn gateway_counts(&self) -> (u64, u64) {
        self.shared.read(|s| (s.identify_count, s.resume_count))
    }

    /// Every REST request so far, oldest first.
    pub fn request_log(&self) -> Vec<RequestRecord> {
        self.shared.read(|s| s.request_log.clone())
    }

    /// Time since the emulator started: the clock of [`RequestRecord::at`], so a benchmark can
    /// mark a moment and pick out the requests made after it.
    pub fn elapsed(&self) -> Duration {
        self.shared.read(|s| s.started.elapsed())
    }

    /// Forgets the request log.
    pub fn clear_request_log(&self) {
        self.shared.mutate(|s| s.request_log.clear());
    }

    /// Adds a delay before every REST answer (Discord's round trip).
    pub fn set_rest_latency(&self, latency: Duration) {
        self.shared.mutate(|s| s.config.rest_latency = latency);
    }

    /// Replaces the rate-limit settings.
    pub fn set_rate_limits(&self, config: RateLimitConfig) {
        self.shared.mutate(|s| s.config.rate_limits = config);
    }

    /// Invalid responses (401, 403, counted 429) within the invalid-request limit's window.
    pub fn invalid_requests_in_window(&self) -> usize {
        self.shared.read(|s| {
            s.invalid_requests
                .in_window(&s.config.invalid_requests, Instant::now())
        })
    }

    /// How many times the invalid-request limit has blocked the API so far.
    pub fn invalid_request_blocks(&self) -> u32 {
        self.shared.read(|s| s.invalid_requests.blocks())
    }

    /// Whether the invalid-request limit blocks the API now.
    pub fn api_blocked(&self) -> bool {
        self.shared
            .read(|s| s.invalid_requests.blocked_for(Instant::now()).is_some())
    }

    /// Replaces the invalid-request limit, ending any block and forgetting what was counted.
    pub fn set_invalid_request_limit(&self, limit: InvalidRequestLimit) {
        self.shared.mutate(|s| {
            s.config.invalid_requests = limit;
            s.invalid_requests.reset();
        });
    }

    /// Changes the acknowledgement deadline for later clicks.
    pub fn set_ack_deadline(&self, deadline: Duration) {
        self.shared.mutate(|s| s.config.ack_deadline = deadline);
    }

    /// Waits until `check` returns `Some`, re-checking after every change to the state.
    pub async fn wait_for<T>(
        &self,
        timeout: Duration,
        mut check: impl FnMut(&Control) -> Option<T>,
    ) -> Result<T, ControlError> {
        let mut changes = self.shared.subscribe();
        let give_up = tokio::time::Instant::now() + timeout;
        loop {
            changes.borrow_and_update();
            if let Some(found) = check(self) {
                return Ok(found);
            }
            match tokio::time::timeout_at(give_up, changes.changed()).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) | Err(_) => {
                    return check(self).ok_or(ControlError::Timeout(timeout));
                }
            }
        }
    }
}
