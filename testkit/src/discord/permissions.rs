//! Discord permission bits and the documented computation of a member's permissions in a channel.
//!
//! See [Discord Docs/Permissions](https://discord.com/developers/docs/topics/permissions).

use super::model::{Overwrite, OverwriteKind};

/// Allows creation of instant invites.
pub const CREATE_INSTANT_INVITE: u64 = 1 << 0;
/// Allows kicking members.
pub const KICK_MEMBERS: u64 = 1 << 1;
/// Allows banning members.
pub const BAN_MEMBERS: u64 = 1 << 2;
/// Grants every permission and bypasses channel overwrites.
pub const ADMINISTRATOR: u64 = 1 << 3;
/// Allows management and editing of channels.
pub const MANAGE_CHANNELS: u64 = 1 << 4;
/// Allows management and editing of the guild.
pub const MANAGE_GUILD: u64 = 1 << 5;
/// Allows adding reactions to messages.
pub const ADD_REACTIONS: u64 = 1 << 6;
/// Allows viewing the audit log.
pub const VIEW_AUDIT_LOG: u64 = 1 << 7;
/// Allows streaming in voice channels.
pub const STREAM: u64 = 1 << 9;
/// Allows viewing a channel (and reading its messages as they arrive).
pub const VIEW_CHANNEL: u64 = 1 << 10;
/// Allows sending messages in a channel.
pub const SEND_MESSAGES: u64 = 1 << 11;
/// Allows sending text-to-speech messages.
pub const SEND_TTS_MESSAGES: u64 = 1 << 12;
/// Allows deleting messages of other users.
pub const MANAGE_MESSAGES: u64 = 1 << 13;
/// Links sent by users with this permission are auto-embedded; bots need it to send embeds.
pub const EMBED_LINKS: u64 = 1 << 14;
/// Allows uploading files.
pub const ATTACH_FILES: u64 = 1 << 15;
/// Allows reading a channel's message history.
pub const READ_MESSAGE_HISTORY: u64 = 1 << 16;
/// Allows mentioning @everyone and @here.
pub const MENTION_EVERYONE: u64 = 1 << 17;
/// Allows using emojis from other guilds.
pub const USE_EXTERNAL_EMOJIS: u64 = 1 << 18;
/// Allows joining voice channels.
pub const CONNECT: u64 = 1 << 20;
/// Allows speaking in voice channels.
pub const SPEAK: u64 = 1 << 21;
/// Allows voice activity detection.
pub const USE_VAD: u64 = 1 << 25;
/// Allows changing one's own nickname.
pub const CHANGE_NICKNAME: u64 = 1 << 26;
/// Allows changing other members' nicknames.
pub const MANAGE_NICKNAMES: u64 = 1 << 27;
/// Allows managing roles and channel permission overwrites.
pub const MANAGE_ROLES: u64 = 1 << 28;
/// Allows managing webhooks.
pub const MANAGE_WEBHOOKS: u64 = 1 << 29;
/// Allows using application commands.
pub const USE_APPLICATION_COMMANDS: u64 = 1 << 31;
/// Allows managing threads.
pub const MANAGE_THREADS: u64 = 1 << 34;
/// Allows creating public threads.
pub const CREATE_PUBLIC_THREADS: u64 = 1 << 35;
/// Allows creating private threads.
pub const CREATE_PRIVATE_THREADS: u64 = 1 << 36;
/// Allows using stickers from other guilds.
pub const USE_EXTERNAL_STICKERS: u64 = 1 << 37;
/// Allows sending messages in threads.
pub const SEND_MESSAGES_IN_THREADS: u64 = 1 << 38;
/// Allows timing out members.
pub const MODERATE_MEMBERS: u64 = 1 << 40;
/// Allows sending voice messages.
pub const SEND_VOICE_MESSAGES: u64 = 1 << 46;
/// Allows creating polls.
pub const SEND_POLLS: u64 = 1 << 49;
/// Allows using user-installed apps.
pub const USE_EXTERNAL_APPS: u64 = 1 << 50;
/// Allows pinning and unpinning messages (split from MANAGE_MESSAGES in 2026).
pub const PIN_MESSAGES: u64 = 1 << 51;
/// Allows bypassing slowmode.
pub const BYPASS_SLOWMODE: u64 = 1 << 52;

/// Every permission Discord defines; what ADMINISTRATOR and guild ownership grant.
pub const ALL: u64 = ((1 << 53) - 1) & !((1 << 47) | (1 << 48));

/// Permissions of @everyone in a guild Discord creates today.
pub const DEFAULT_EVERYONE: u64 = CREATE_INSTANT_INVITE
    | ADD_REACTIONS
    | STREAM
    | VIEW_CHANNEL
    | SEND_MESSAGES
    | EMBED_LINKS
    | ATTACH_FILES
    | READ_MESSAGE_HISTORY
    | USE_EXTERNAL_EMOJIS
    | CONNECT
    | SPEAK
    | USE_VAD
    | CHANGE_NICKNAME
    | USE_APPLICATION_COMMANDS
    | CREATE_PUBLIC_THREADS
    | CREATE_PRIVATE_THREADS
    | USE_EXTERNAL_STICKERS
    | SEND_MESSAGES_IN_THREADS
    | SEND_VOICE_MESSAGES
    | SEND_POLLS
    | USE_EXTERNAL_APPS;

/// The facts about a member that their permissions depend on.
#[derive(Debug, Clone, Copy)]
pub struct MemberFacts<'a> {
    /// The guild's id (also the id of its @everyone role).
    pub guild_id: u64,
    /// The member's user id.
    pub user_id: u64,
    /// The guild owner's user id; the owner has every permission.
    pub owner_id: u64,
    /// Permissions of the @everyone role.
    pub everyone_permissions: u64,
    /// The member's roles as (id, permissions), @everyone excluded.
    pub roles: &'a [(u64, u64)],
}

/// The member's guild-level permissions: @everyone plus every role, ADMINISTRATOR meaning all.
pub fn base_permissions(member: &MemberFacts<'_>) -> u64 {
    if member.user_id == member.owner_id {
        return ALL;
    }
    let combined = member
        .roles
        .iter()
        .fold(member.everyone_permissions, |acc, (_, bits)| acc | bits);
    if combined & ADMINISTRATOR == ADMINISTRATOR {
        ALL
    } else {
        combined
    }
}

/// The member's permissions in a channel with the given overwrites, as Discord documents it:
/// @everyone overwrite, then all role overwrites together (deny, then allow), then the member's own.
/// Without VIEW_CHANNEL nothing is granted; without SEND_MESSAGES the permissions that only make
/// sense when sending are removed too.
pub fn channel_permissions(member: &MemberFacts<'_>, overwrites: &[Overwrite]) -> u64 {
    let base = base_permissions(member);
    if base & ADMINISTRATOR == ADMINISTRATOR {
        return ALL;
    }
    let mut permissions = base;
    if let Some(everyone) = overwrites
        .iter()
        .find(|o| o.kind == OverwriteKind::Role && o.id == member.guild_id)
    {
        permissions &= !everyone.deny;
        permissions |= everyone.allow;
    }
    let (role_allow, role_deny) = overwrites
        .iter()
        .filter(|o| {
            o.kind == OverwriteKind::Role && member.roles.iter().any(|(role, _)| *role == o.id)
        })
        .fold((0, 0), |(allow, deny), o| (allow | o.allow, deny | o.deny));
    permissions &= !role_deny;
    permissions |= role_allow;
    if let Some(own) = overwrites
        .iter()
        .find(|o| o.kind == OverwriteKind::Member && o.id == member.user_id)
    {
        permissions &= !own.deny;
        permissions |= own.allow;
    }
    if permissions & VIEW_CHANNEL == 0 {
        return 0;
    }
    if permissions & SEND_MESSAGES == 0 {
        permissions &= !(SEND_TTS_MESSAGES | MENTION_EVERYONE | EMBED_LINKS | ATTACH_FILES);
    }
    permissions
}

#[cfg(test)]
mod tests {
    use super::*;

    const GUILD: u64 = 100;
    const USER: u64 = 7;
    const STAFF: u64 = 200;

    fn member(roles: &[(u64, u64)]) -> MemberFacts<'_> {
        MemberFacts {
            guild_id: GUILD,
            user_id: USER,
            owner_id: 1,
            everyone_permissions: VIEW_CHANNEL | SEND_MESSAGES,
            roles,
        }
    }

    fn role_overwrite(id: u64, allow: u64, deny: u64) -> Overwrite {
        Overwrite {
            id,
            kind: OverwriteKind::Role,
            allow,
            deny,
        }
    }

    #[test]
    fn everyone_deny_hides_a_channel_from_a_member_without_roles() {
        let overwrites = [role_overwrite(GUILD, 0, VIEW_CHANNEL)];
        assert_eq!(channel_permissions(&member(&[]), &overwrites), 0);
    }

    #[test]
    fn a_role_allow_beats_the_everyone_deny() {
        let roles = [(STAFF, 0)];
        let overwrites = [
            role_overwrite(GUILD, 0, VIEW_CHANNEL),
            role_overwrite(STAFF, VIEW_CHANNEL, 0),
        ];
        let permissions = channel_permissions(&member(&roles), &overwrites);
        assert_eq!(permissions & VIEW_CHANNEL, VIEW_CHANNEL);
    }

    #[test]
    fn a_member_overwrite_beats_role_overwrites() {
        let roles = [(STAFF, 0)];
        let overwrites = [
            role_overwrite(STAFF, SEND_MESSAGES, 0),
            Overwrite {
                id: USER,
                kind: OverwriteKind::Member,
                allow: 0,
                deny: SEND_MESSAGES,
            },
        ];
        assert_eq!(
            channel_permissions(&member(&roles), &overwrites) & SEND_MESSAGES,
            0
        );
    }

    #[test]
    fn administrator_ignores_overwrites() {
        let roles = [(STAFF, ADMINISTRATOR)];
        let overwrites = [role_overwrite(GUILD, 0, VIEW_CHANNEL)];
        assert_eq!(channel_permissions(&member(&roles), &overwrites), ALL);
    }

    #[test]
    fn the_owner_has_every_permission() {
        let facts = MemberFacts {
            owner_id: USER,
            ..member(&[])
        };
        assert_eq!(base_permissions(&facts), ALL);
    }

    #[test]
    fn without_send_messages_attachments_are_implicitly_denied() {
        let roles = [(STAFF, ATTACH_FILES | EMBED_LINKS)];
        let overwrites = [role_overwrite(GUILD, 0, SEND_MESSAGES)];
        let permissions = channel_permissions(&member(&roles), &overwrites);
        assert_eq!(permissions & (ATTACH_FILES | EMBED_LINKS), 0);
        assert_eq!(permissions & VIEW_CHANNEL, VIEW_CHANNEL);
    }
}
