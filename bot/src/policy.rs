//! Who may see and do what in a ticket: the channel's permission overwrites (from who opened it,
//! the category's roles, the people added and the claim) and who may use which staff tool. Pure,
//! so every rule is unit-tested.

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

/// What the read-only holders of the ticket roles keep in a claimed ticket whose category locks
/// writing on claim: they see and read it but can no longer write.
pub(crate) const READ_ONLY_ALLOW: Permissions =
    Permissions::VIEW_CHANNEL.union(Permissions::READ_MESSAGE_HISTORY);
/// What a lock takes away from the ticket roles.
pub(crate) const READ_ONLY_DENY: Permissions = Permissions::SEND_MESSAGES
    .union(Permissions::ATTACH_FILES)
    .union(Permissions::EMBED_LINKS);

/// Everything that decides who may see and write in a ticket channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TicketAccess<'a> {
    /// The guild (its id is the `@everyone` role's).
    pub guild_id: Id<GuildMarker>,
    /// Who opened the ticket.
    pub creator: Id<UserMarker>,
    /// The category's ticket roles.
    pub roles: &'a [Id<RoleMarker>],
    /// The people added to the ticket.
    pub added: &'a [Id<UserMarker>],
    /// Who claimed it.
    pub claimer: Option<Id<UserMarker>>,
    /// Whether a claim makes the ticket roles read-only (the category's `claimLocksWriting`).
    pub claim_locks_writing: bool,
    /// The bot itself.
    pub bot: Id<UserMarker>,
}

/// The permission overwrites of a ticket channel: `@everyone` may not see it; the creator, each
/// person added, each ticket role and the bot may. When the category locks writing on claim and
/// the ticket is claimed, the roles only read and the claimer writes.
pub(crate) fn ticket_overwrites(access: &TicketAccess<'_>) -> Vec<PermissionOverwrite> {
    let mut overwrites = vec![PermissionOverwrite {
        // The @everyone role's id is the guild's id.
        id: access.guild_id.cast(),
        kind: PermissionOverwriteType::Role,
        allow: Permissions::empty(),
        deny: Permissions::VIEW_CHANNEL,
    }];
    let locked = access.claim_locks_writing && access.claimer.is_some();
    let mut writers = vec![access.creator];
    writers.extend_from_slice(access.added);
    if locked {
        writers.extend(access.claimer);
    }
    for (index, user) in writers.iter().enumerate() {
        // Cannot happen through the commands, but two overwrites for one id would be refused.
        if *user != access.bot && !writers[..index].contains(user) {
            overwrites.push(member_overwrite(*user, MEMBER_ALLOW));
        }
    }
    for role in access.roles {
        let (allow, deny) = if locked {
            (READ_ONLY_ALLOW, READ_ONLY_DENY)
        } else {
            (MEMBER_ALLOW, Permissions::empty())
        };
        overwrites.push(PermissionOverwrite {
            id: role.cast(),
            kind: PermissionOverwriteType::Role,
            allow,
            deny,
        });
    }
    overwrites.push(member_overwrite(access.bot, BOT_ALLOW));
    overwrites
}

/// One edit that takes a channel's overwrites from one set to another.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum OverwriteChange {
    /// Create or replace this overwrite.
    Put(PermissionOverwrite),
    /// Delete this member's or role's overwrite.
    Delete(PermissionOverwrite),
}

/// The edits (one request each) that turn the overwrites `before` into `after`: only what
/// differs, so a command changes no more than it must (each is its own request, and the
/// channel's own edit route is kept for renames, which Discord limits much more tightly).
pub(crate) fn overwrite_changes(
    before: &[PermissionOverwrite],
    after: &[PermissionOverwrite],
) -> Vec<OverwriteChange> {
    let mut changes: Vec<OverwriteChange> = after
        .iter()
        .filter(|overwrite| !before.contains(overwrite))
        .copied()
        .map(OverwriteChange::Put)
        .collect();
    changes.extend(
        before
            .iter()
            .filter(|old| after.iter().all(|new| new.id != old.id))
            .copied()
            .map(OverwriteChange::Delete),
    );
    changes
}

fn member_overwrite(user: Id<UserMarker>, allow: Permissions) -> PermissionOverwrite {
    PermissionOverwrite {
        id: user.cast(),
        kind: PermissionOverwriteType::Member,
        allow,
        deny: Permissions::empty(),
    }
}

/// The member behind a click or a command, as the interaction describes them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Clicker<'a> {
    /// Who clicked.
    pub user_id: Id<UserMarker>,
    /// Their roles in the guild.
    pub roles: &'a [Id<RoleMarker>],
    /// Their permissions in the ticket channel, as Discord computed them for the interaction.
    pub permissions: Permissions,
}

/// What a click or command asks of a ticket, as far as who may do it goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    /// Close it (the button, `/ticket close`, `/close`): its creator and staff.
    Close,
    /// Any other staff tool (add, remove, claim, unclaim, request-close, rename, move): staff only.
    StaffTool,
}

/// Why someone may act on a ticket, or that they may not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decision {
    /// They opened it (and may close it).
    Creator,
    /// They hold one of the category's ticket roles.
    TicketRole,
    /// They can manage channels (or are an administrator).
    ChannelManager,
    /// None of the above.
    Refused,
}

impl Decision {
    /// Whether the action goes ahead.
    pub(crate) fn is_allowed(self) -> bool {
        self != Self::Refused
    }
}

/// Decides whether `clicker` may take `action` on a ticket opened by `creator` in a category with
/// `ticket_roles`: staff (the ticket roles, and whoever can manage channels) may do everything,
/// the creator may close, and nobody else may do anything.
pub(crate) fn decide(
    action: Action,
    clicker: &Clicker<'_>,
    creator: Id<UserMarker>,
    ticket_roles: &[Id<RoleMarker>],
) -> Decision {
    if clicker.roles.iter().any(|role| ticket_roles.contains(role)) {
        Decision::TicketRole
    } else if clicker
        .permissions
        .intersects(Permissions::MANAGE_CHANNELS | Permissions::ADMINISTRATOR)
    {
        Decision::ChannelManager
    } else if clicker.user_id == creator && action == Action::Close {
        Decision::Creator
    } else {
        Decision::Refused
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GUILD: u64 = 200_000_000_000_000_001;
    const ROLE_A: u64 = 400_000_000_000_000_001;
    const ROLE_B: u64 = 400_000_000_000_000_002;
    const CREATOR: u64 = 500_000_000_000_000_001;
    const ADDED: u64 = 500_000_000_000_000_002;
    const CLAIMER: u64 = 500_000_000_000_000_003;
    const BOT: u64 = 600_000_000_000_000_001;

    fn access<'a>(roles: &'a [Id<RoleMarker>], added: &'a [Id<UserMarker>]) -> TicketAccess<'a> {
        TicketAccess {
            guild_id: Id::new(GUILD),
            creator: Id::new(CREATOR),
            roles,
            added,
            claimer: None,
            claim_locks_writing: false,
            bot: Id::new(BOT),
        }
    }

    fn find(overwrites: &[PermissionOverwrite], id: u64) -> &PermissionOverwrite {
        overwrites
            .iter()
            .find(|overwrite| overwrite.id.get() == id)
            .unwrap_or_else(|| panic!("no overwrite for {id}"))
    }

    #[test]
    fn overwrites_hide_the_channel_from_everyone_but_creator_roles_and_bot() {
        let roles = [Id::new(ROLE_A), Id::new(ROLE_B)];
        let overwrites = ticket_overwrites(&access(&roles, &[]));
        assert_eq!(overwrites.len(), 5);
        let everyone = &overwrites[0];
        assert_eq!(everyone.id.get(), GUILD);
        assert_eq!(everyone.kind, PermissionOverwriteType::Role);
        assert_eq!(everyone.deny, Permissions::VIEW_CHANNEL);
        assert_eq!(everyone.allow, Permissions::empty());
        assert_eq!(
            find(&overwrites, CREATOR).kind,
            PermissionOverwriteType::Member
        );
        assert_eq!(find(&overwrites, CREATOR).allow, MEMBER_ALLOW);
        for role in [ROLE_A, ROLE_B] {
            assert_eq!(find(&overwrites, role).kind, PermissionOverwriteType::Role);
            assert_eq!(find(&overwrites, role).allow, MEMBER_ALLOW);
        }
        let bot = find(&overwrites, BOT).allow;
        assert!(bot.contains(MEMBER_ALLOW | Permissions::MANAGE_CHANNELS));
        assert_eq!(
            bot & Permissions::from_bits_retain(1 << 51),
            Permissions::from_bits_retain(1 << 51),
            "the bot must be able to pin (PIN_MESSAGES)"
        );
        assert!(!MEMBER_ALLOW.contains(Permissions::MANAGE_CHANNELS));
    }

    #[test]
    fn added_people_write_and_a_locking_claim_leaves_the_roles_reading() {
        let roles = [Id::new(ROLE_A)];
        let added = [Id::new(ADDED)];
        let mut locked = access(&roles, &added);
        locked.claimer = Some(Id::new(CLAIMER));
        let unlocked = ticket_overwrites(&locked);
        assert_eq!(find(&unlocked, ADDED).allow, MEMBER_ALLOW);
        assert_eq!(find(&unlocked, ROLE_A).allow, MEMBER_ALLOW);
        assert!(
            unlocked
                .iter()
                .all(|overwrite| overwrite.id.get() != CLAIMER),
            "a claim without the lock changes no access"
        );
        locked.claim_locks_writing = true;
        let overwrites = ticket_overwrites(&locked);
        let role = find(&overwrites, ROLE_A);
        assert_eq!(role.allow, READ_ONLY_ALLOW);
        assert!(role.deny.contains(Permissions::SEND_MESSAGES));
        for writer in [CREATOR, ADDED, CLAIMER] {
            assert_eq!(find(&overwrites, writer).allow, MEMBER_ALLOW, "{writer}");
        }
        // The creator claiming their own ticket, or an added claimer, get one overwrite.
        locked.claimer = Some(Id::new(ADDED));
        let overwrites = ticket_overwrites(&locked);
        assert_eq!(
            overwrites
                .iter()
                .filter(|overwrite| overwrite.id.get() == ADDED)
                .count(),
            1
        );
    }

    #[test]
    fn changes_touch_only_the_overwrites_that_differ() {
        let roles = [Id::new(ROLE_A)];
        let before = ticket_overwrites(&access(&roles, &[]));
        let added = [Id::new(ADDED)];
        let after = ticket_overwrites(&access(&roles, &added));
        assert_eq!(
            overwrite_changes(&before, &after),
            [OverwriteChange::Put(*find(&after, ADDED))]
        );
        assert_eq!(
            overwrite_changes(&after, &before),
            [OverwriteChange::Delete(*find(&after, ADDED))]
        );
        assert!(overwrite_changes(&before, &before).is_empty());
        let mut claimed = access(&roles, &[]);
        claimed.claimer = Some(Id::new(CLAIMER));
        claimed.claim_locks_writing = true;
        let locked = ticket_overwrites(&claimed);
        let changes = overwrite_changes(&before, &locked);
        assert_eq!(changes.len(), 2, "{changes:?}");
        assert!(changes.contains(&OverwriteChange::Put(*find(&locked, ROLE_A))));
        assert!(changes.contains(&OverwriteChange::Put(*find(&locked, CLAIMER))));
    }

    #[test]
    fn staff_may_do_everything_the_creator_may_close_and_nobody_else_anything() {
        let ticket_roles = [Id::new(ROLE_A)];
        let plain = Permissions::VIEW_CHANNEL | Permissions::SEND_MESSAGES;
        let cases = [
            (CREATOR, vec![], plain, Decision::Creator, Decision::Refused),
            (
                701,
                vec![Id::new(ROLE_A)],
                plain,
                Decision::TicketRole,
                Decision::TicketRole,
            ),
            (
                702,
                vec![],
                plain | Permissions::MANAGE_CHANNELS,
                Decision::ChannelManager,
                Decision::ChannelManager,
            ),
            (
                703,
                vec![],
                Permissions::ADMINISTRATOR,
                Decision::ChannelManager,
                Decision::ChannelManager,
            ),
            (
                704,
                vec![Id::new(ROLE_B)],
                plain,
                Decision::Refused,
                Decision::Refused,
            ),
        ];
        for (user, roles, permissions, close, staff_tool) in cases {
            let clicker = Clicker {
                user_id: Id::new(user),
                roles: &roles,
                permissions,
            };
            let creator = Id::new(CREATOR);
            assert_eq!(
                decide(Action::Close, &clicker, creator, &ticket_roles),
                close,
                "{clicker:?}"
            );
            assert_eq!(
                decide(Action::StaffTool, &clicker, creator, &ticket_roles),
                staff_tool,
                "{clicker:?}"
            );
            assert_eq!(close.is_allowed(), close != Decision::Refused);
        }
    }
}
