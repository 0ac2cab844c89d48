//! Who may see and do what in a ticket: the channel's permission overwrites and who may close
//! it. Pure, so every rule is unit-tested.

use twilight_model::channel::permission_overwrite::{PermissionOverwrite, PermissionOverwriteType};
use twilight_model::guild::Permissions;
use twilight_model::id::Id;
use twilight_model::id::marker::{GuildMarker, RoleMarker, UserMarker};

/// What the creator and the ticket roles may do in a ticket channel.
pub(crate) const MEMBER_ALLOW: Permissions = Permissions::VIEW_CHANNEL
    .union(Permissions::SEND_MESSAGES)
    .union(Permissions::READ_MESSAGE_HISTORY)
    .union(Permissions::ATTACH_FILES)
    .union(Permissions::EMBED_LINKS);

/// What the bot grants itself in a ticket channel: the members' rights, plus managing the channel
/// (to delete it on close) and pinning the created message.
pub(crate) const BOT_ALLOW: Permissions = MEMBER_ALLOW
    .union(Permissions::MANAGE_CHANNELS)
    .union(Permissions::PIN_MESSAGES);

/// The permission overwrites of a new ticket channel: `@everyone` may not see it; the creator,
/// each ticket role and the bot may.
pub(crate) fn ticket_overwrites(
    guild_id: Id<GuildMarker>,
    creator: Id<UserMarker>,
    roles: &[Id<RoleMarker>],
    bot: Id<UserMarker>,
) -> Vec<PermissionOverwrite> {
    let mut overwrites = vec![PermissionOverwrite {
        // The @everyone role's id is the guild's id.
        id: guild_id.cast(),
        kind: PermissionOverwriteType::Role,
        allow: Permissions::empty(),
        deny: Permissions::VIEW_CHANNEL,
    }];
    overwrites.push(member_overwrite(creator, MEMBER_ALLOW));
    for role in roles {
        overwrites.push(PermissionOverwrite {
            id: role.cast(),
            kind: PermissionOverwriteType::Role,
            allow: MEMBER_ALLOW,
            deny: Permissions::empty(),
        });
    }
    if bot == creator {
        // Cannot happen through a click, but two overwrites for one id would be refused.
        overwrites.retain(|overwrite| overwrite.id != bot.cast());
    }
    overwrites.push(member_overwrite(bot, BOT_ALLOW));
    overwrites
}

fn member_overwrite(user: Id<UserMarker>, allow: Permissions) -> PermissionOverwrite {
    PermissionOverwrite {
        id: user.cast(),
        kind: PermissionOverwriteType::Member,
        allow,
        deny: Permissions::empty(),
    }
}

/// The member who clicked a close button, as the interaction describes them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Clicker<'a> {
    /// Who clicked.
    pub user_id: Id<UserMarker>,
    /// Their roles in the guild.
    pub roles: &'a [Id<RoleMarker>],
    /// Their permissions in the ticket channel, as Discord computed them for the interaction.
    pub permissions: Permissions,
}

/// Why someone may close a ticket, or that they may not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CloseDecision {
    /// They opened it.
    Creator,
    /// They hold one of the category's ticket roles.
    TicketRole,
    /// They can manage channels (or are an administrator).
    ChannelManager,
    /// None of the above.
    Refused,
}

impl CloseDecision {
    /// Whether the close goes ahead.
    pub(crate) fn is_allowed(self) -> bool {
        self != Self::Refused
    }
}

/// Decides whether `clicker` may close a ticket opened by `creator` in a category with `roles`.
pub(crate) fn close_decision(
    clicker: &Clicker<'_>,
    creator: Id<UserMarker>,
    ticket_roles: &[Id<RoleMarker>],
) -> CloseDecision {
    if clicker.user_id == creator {
        CloseDecision::Creator
    } else if clicker.roles.iter().any(|role| ticket_roles.contains(role)) {
        CloseDecision::TicketRole
    } else if clicker
        .permissions
        .intersects(Permissions::MANAGE_CHANNELS | Permissions::ADMINISTRATOR)
    {
        CloseDecision::ChannelManager
    } else {
        CloseDecision::Refused
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GUILD: u64 = 200_000_000_000_000_001;
    const ROLE_A: u64 = 400_000_000_000_000_001;
    const ROLE_B: u64 = 400_000_000_000_000_002;
    const CREATOR: u64 = 500_000_000_000_000_001;
    const BOT: u64 = 600_000_000_000_000_001;

    #[test]
    fn overwrites_hide_the_channel_from_everyone_but_creator_roles_and_bot() {
        let roles = [Id::new(ROLE_A), Id::new(ROLE_B)];
        let overwrites = ticket_overwrites(Id::new(GUILD), Id::new(CREATOR), &roles, Id::new(BOT));
        assert_eq!(overwrites.len(), 5);
        let everyone = &overwrites[0];
        assert_eq!(everyone.id.get(), GUILD);
        assert_eq!(everyone.kind, PermissionOverwriteType::Role);
        assert_eq!(everyone.deny, Permissions::VIEW_CHANNEL);
        assert_eq!(everyone.allow, Permissions::empty());
        let find = |id: u64| {
            overwrites
                .iter()
                .find(|overwrite| overwrite.id.get() == id)
                .unwrap_or_else(|| panic!("no overwrite for {id}"))
        };
        assert_eq!(find(CREATOR).kind, PermissionOverwriteType::Member);
        assert_eq!(find(CREATOR).allow, MEMBER_ALLOW);
        for role in [ROLE_A, ROLE_B] {
            assert_eq!(find(role).kind, PermissionOverwriteType::Role);
            assert_eq!(find(role).allow, MEMBER_ALLOW);
        }
        let bot = find(BOT).allow;
        assert!(bot.contains(MEMBER_ALLOW | Permissions::MANAGE_CHANNELS));
        assert_eq!(
            bot & Permissions::from_bits_retain(1 << 51),
            Permissions::from_bits_retain(1 << 51),
            "the bot must be able to pin (PIN_MESSAGES)"
        );
        assert!(!MEMBER_ALLOW.contains(Permissions::MANAGE_CHANNELS));
    }

    #[test]
    fn creator_ticket_roles_and_channel_managers_may_close_and_nobody_else() {
        let ticket_roles = [Id::new(ROLE_A)];
        let plain = Permissions::VIEW_CHANNEL | Permissions::SEND_MESSAGES;
        let cases = [
            (CREATOR, vec![], plain, CloseDecision::Creator),
            (701, vec![Id::new(ROLE_A)], plain, CloseDecision::TicketRole),
            (
                702,
                vec![],
                plain | Permissions::MANAGE_CHANNELS,
                CloseDecision::ChannelManager,
            ),
            (
                703,
                vec![],
                Permissions::ADMINISTRATOR,
                CloseDecision::ChannelManager,
            ),
            (704, vec![Id::new(ROLE_B)], plain, CloseDecision::Refused),
        ];
        for (user, roles, permissions, expected) in cases {
            let clicker = Clicker {
                user_id: Id::new(user),
                roles: &roles,
                permissions,
            };
            let decision = close_decision(&clicker, Id::new(CREATOR), &ticket_roles);
            assert_eq!(decision, expected, "{clicker:?}");
            assert_eq!(decision.is_allowed(), expected != CloseDecision::Refused);
        }
    }
}
