//! `/status`: per category, the panel, open tickets, and Discord-side problems the bot can see
//! (missing channels, wrong channel types, missing permissions, a category near Discord's limit).
//! The operator reads it to set the `Ready` condition of each TicketCategory.
//!
//! Longer than most rooms: about 200 of its lines are the unit tests of [`diagnose`], one per
//! problem it reports, against guilds built by hand.

use std::collections::BTreeMap;
use std::sync::Arc;

pub(crate) use ticketeer_config::status::{CategoryStatus, ParentFill, Problem, StatusReport};
use twilight_model::channel::{Channel, ChannelType};
use twilight_model::guild::{Permissions, Role};
use twilight_model::id::Id;
use twilight_model::id::marker::{ChannelMarker, GuildMarker, RoleMarker, UserMarker};
use twilight_util::permission_calculator::PermissionCalculator;

use crate::config::Category;
use crate::context::Context;
use crate::discord_call::DiscordCall;
use crate::error::{DiscordProblem, ErrorChain, Result};
use crate::guild_cache::GuildData;
use crate::policy::BOT_ALLOW;
use crate::store;

/// Discord's limit of channels in one category.
pub(crate) const CATEGORY_CHANNEL_LIMIT: usize = 50;
/// From this many channels a category counts as nearly full.
pub(crate) const CATEGORY_NEAR_FULL: usize = 45;
/// Discord's limit of channels in one guild (categories included).
pub(crate) const GUILD_CHANNEL_LIMIT: usize = 500;
/// From this many channels a guild counts as nearly full.
pub(crate) const GUILD_NEAR_FULL: usize = 450;
/// From this share of the guild cap (`limits.maxOpenTicketsPerGuild`), in percent, `/status`
/// warns that it is nearly reached.
const GUILD_CAP_WARNING_PERCENT: u64 = 90;

/// What the bot needs in the parent category to create ticket channels in it.
pub(crate) const NEEDED_IN_PARENT: Permissions =
    Permissions::VIEW_CHANNEL.union(Permissions::MANAGE_CHANNELS);
/// What the bot needs server-wide (its roles, not the category's overwrites): a new channel's
/// overwrites may only allow or deny what the bot holds in the guild, so it must hold Manage Roles
/// and every permission it grants in a ticket channel.
///
/// See [Discord Docs/Create Guild Channel](https://discord.com/developers/docs/resources/guild#create-guild-channel).
pub(crate) const NEEDED_IN_GUILD: Permissions = BOT_ALLOW.union(Permissions::MANAGE_ROLES);
/// What the bot needs in the create channel to post and keep the panel.
pub(crate) const NEEDED_IN_CREATE_CHANNEL: Permissions = Permissions::VIEW_CHANNEL
    .union(Permissions::SEND_MESSAGES)
    .union(Permissions::READ_MESSAGE_HISTORY);
/// What the bot needs in the panel's channel to keep thread-mode tickets there: besides the
/// panel, start private threads, add their members, write and pin in them, and delete them.
pub(crate) const NEEDED_FOR_THREADS: Permissions = NEEDED_IN_CREATE_CHANNEL
    .union(Permissions::CREATE_PRIVATE_THREADS)
    .union(Permissions::SEND_MESSAGES_IN_THREADS)
    .union(Permissions::MANAGE_THREADS)
    .union(Permissions::PIN_MESSAGES);
/// What the bot needs in the log channel to post transcript links.
pub(crate) const NEEDED_IN_LOG_CHANNEL: Permissions = Permissions::VIEW_CHANNEL
    .union(Permissions::SEND_MESSAGES)
    .union(Permissions::EMBED_LINKS);

/// What the bot knows of one guild, fetched for the checks.
#[derive(Debug, Clone)]
pub(crate) struct GuildView<'a> {
    /// The guild.
    pub guild_id: Id<GuildMarker>,
    /// Every channel of the guild.
    pub channels: &'a [Channel],
    /// Every role of the guild (@everyone included).
    pub roles: &'a [Role],
    /// The bot's roles.
    pub bot_roles: &'a [Id<RoleMarker>],
    /// The bot's user id.
    pub bot_user_id: Id<UserMarker>,
}

/// Finds the Discord-side problems of a category, pure.
pub(crate) fn diagnose(category: &Category, guild: &GuildView<'_>) -> Vec<Problem> {
    let mut problems = Vec::new();
    let in_guild = bot_permissions(guild, None);
    let missing = NEEDED_IN_GUILD.difference(in_guild);
    if !missing.is_empty() {
        problems.push(Problem::MissingGuildPermissions {
            missing: permission_names(missing),
        });
    }
    let mut checks = Vec::new();
    if !category.thread_mode {
        checks.push((
            "parentChannelId".to_owned(),
            &category.parent_channel_id,
            ChannelKind::Category,
            NEEDED_IN_PARENT,
        ));
    }
    for (index, parent) in category.overflow_parent_ids.iter().enumerate() {
        checks.push((
            format!("overflowParentChannelIds[{index}]"),
            parent,
            ChannelKind::Category,
            NEEDED_IN_PARENT,
        ));
    }
    checks.extend([
        (
            "createChannelId".to_owned(),
            &category.create_channel_id,
            ChannelKind::Text,
            if category.thread_mode {
                NEEDED_FOR_THREADS
            } else {
                NEEDED_IN_CREATE_CHANNEL
            },
        ),
        (
            "logChannelId".to_owned(),
            &category.log_channel_id,
            ChannelKind::Text,
            NEEDED_IN_LOG_CHANNEL,
        ),
    ]);
    for (field, id, kind, needed) in checks {
        let channel_id = id.to_string();
        let found = guild.channels.iter().find(|channel| channel.id == *id);
        let Some(channel) = found else {
            problems.push(Problem::MissingChannel {
                field: field.clone(),
                channel_id,
            });
            continue;
        };
        if !kind.matches(channel.kind) {
            problems.push(Problem::WrongChannelType {
                field: field.clone(),
                channel_id,
                expected: kind.name().to_owned(),
            });
            continue;
        }
        let held = bot_permissions(guild, Some(channel));
        let missing = needed.difference(held);
        if !missing.is_empty() {
            problems.push(Problem::MissingPermissions {
                field: field.clone(),
                channel_id: channel_id.clone(),
                missing: permission_names(missing),
            });
        }
        if kind == ChannelKind::Category {
            let channels = guild
                .channels
                .iter()
                .filter(|child| child.parent_id == Some(channel.id))
                .count();
            if channels >= CATEGORY_NEAR_FULL {
                problems.push(Problem::CategoryNearlyFull {
                    channel_id,
                    channels,
                    limit: CATEGORY_CHANNEL_LIMIT,
                });
            }
        }
    }
    problems.extend(role_problems(category, guild, in_guild));
    if category.thread_mode {
        problems.extend(thread_role_problems(category, guild));
    }
    problems
}

/// Ticket roles that would not see thread-mode tickets: a private thread shows only to its
/// members and to those with Manage Threads in its channel, so each ticket role needs it there.
fn thread_role_problems(category: &Category, guild: &GuildView<'_>) -> Vec<Problem> {
    let Some(channel) = guild
        .channels
        .iter()
        .find(|channel| channel.id == category.create_channel_id)
    else {
        return Vec::new();
    };
    let everyone = everyone_permissions(guild);
    let mut problems = Vec::new();
    for (index, role_id) in category.role_ids.iter().enumerate() {
        let Some(role) = guild.roles.iter().find(|role| role.id == *role_id) else {
            continue;
        };
        // Someone holding only this role (no member overwrite applies to a made-up member).
        let holder = Id::new(u64::MAX);
        let held = PermissionCalculator::new(
            guild.guild_id,
            holder,
            everyone,
            &[(role.id, role.permissions)],
        )
        .in_channel(
            channel.kind,
            channel.permission_overwrites.as_deref().unwrap_or_default(),
        );
        if !held.contains(Permissions::VIEW_CHANNEL | Permissions::MANAGE_THREADS) {
            problems.push(Problem::RoleCannotSeeThreads {
                field: format!("roleIds[{index}]"),
                role_id: role_id.to_string(),
                channel_id: channel.id.to_string(),
            });
        }
    }
    problems
}

/// How full each of the category's parents is (the parent, the overflow parents, then those the
/// bot `created` for it), of those the guild has as categories; pure.
pub(crate) fn parent_fills(
    category: &Category,
    created: &[Id<ChannelMarker>],
    guild: &GuildView<'_>,
) -> Vec<ParentFill> {
    if category.thread_mode {
        // Threads fill no channel category.
        return Vec::new();
    }
    std::iter::once(&category.parent_channel_id)
        .chain(&category.overflow_parent_ids)
        .chain(created)
        .filter(|parent| {
            guild
                .channels
                .iter()
                .any(|channel| channel.id == **parent && channel.kind == ChannelType::GuildCategory)
        })
        .map(|parent| ParentFill {
            channel_id: parent.to_string(),
            channels: guild
                .channels
                .iter()
                .filter(|child| child.parent_id == Some(*parent))
                .count(),
            limit: CATEGORY_CHANNEL_LIMIT,
        })
        .collect()
}

/// Warnings about the guild as a whole: its channels near Discord's 500, and its open tickets
/// near the bot's cap, if one is set; pure.
pub(crate) fn guild_problems(
    guild: &GuildView<'_>,
    open_tickets: i64,
    cap: Option<u32>,
) -> Vec<Problem> {
    let mut problems = Vec::new();
    let channels = guild.channels.len();
    if channels >= GUILD_NEAR_FULL {
        problems.push(Problem::GuildNearlyFull {
            guild_id: guild.guild_id.to_string(),
            channels,
            limit: GUILD_CHANNEL_LIMIT,
        });
    }
    if let Some(cap) = cap {
        let open = u64::try_from(open_tickets.max(0)).unwrap_or(0);
        if open * 100 >= u64::from(cap) * GUILD_CAP_WARNING_PERCENT {
            problems.push(Problem::GuildCapNearlyReached {
                guild_id: guild.guild_id.to_string(),
                open_tickets,
                cap,
            });
        }
    }
    problems
}

/// Ticket roles that are gone, or that the created message's mention would not notify: Discord
/// pings a role only if it is mentionable or the sender has Mention Everyone (in the ticket
/// channel, whose overwrites never deny it, so the guild-level permission decides).
///
/// See [Discord Docs/Allowed Mentions](https://discord.com/developers/docs/resources/message#allowed-mentions-object).
fn role_problems(
    category: &Category,
    guild: &GuildView<'_>,
    in_guild: Permissions,
) -> Vec<Problem> {
    let mut problems = Vec::new();
    for (index, role_id) in category.role_ids.iter().enumerate() {
        let field = format!("roleIds[{index}]");
        let role = guild.roles.iter().find(|role| role.id == *role_id);
        match role {
            None => problems.push(Problem::MissingRole {
                field,
                role_id: role_id.to_string(),
            }),
            Some(role)
                if !role.mentionable && !in_guild.contains(Permissions::MENTION_EVERYONE) =>
            {
                problems.push(Problem::RoleNotPinged {
                    field,
                    role_id: role_id.to_string(),
                });
            }
            Some(_) => {}
        }
    }
    problems
}

fn permission_names(permissions: Permissions) -> Vec<String> {
    permissions
        .iter_names()
        .map(|(name, _)| name.to_owned())
        .collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ChannelKind {
    Category,
    Text,
}

impl ChannelKind {
    fn matches(self, kind: ChannelType) -> bool {
        match self {
            Self::Category => kind == ChannelType::GuildCategory,
            Self::Text => matches!(
                kind,
                ChannelType::GuildText | ChannelType::GuildAnnouncement
            ),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Category => "category",
            Self::Text => "text channel",
        }
    }
}

/// What the @everyone role (whose id is the guild's) grants in the guild.
fn everyone_permissions(guild: &GuildView<'_>) -> Permissions {
    let everyone_id = guild.guild_id.cast::<RoleMarker>();
    guild
        .roles
        .iter()
        .find(|role| role.id == everyone_id)
        .map_or(Permissions::empty(), |role| role.permissions)
}

/// The bot's permissions in the guild or in a channel, as Discord computes them: the roles'
/// permissions (all of them for an administrator), then the channel's overwrites for
/// @everyone, for the bot's roles, and for the bot itself (twilight-util's calculator; the
/// testkit's emulator computes them on its own, so the two check each other).
pub(crate) fn bot_permissions(guild: &GuildView<'_>, channel: Option<&Channel>) -> Permissions {
    let everyone = everyone_permissions(guild);
    let member_roles: Vec<(Id<RoleMarker>, Permissions)> = guild
        .roles
        .iter()
        .filter(|role| {
            role.id != guild.guild_id.cast::<RoleMarker>() && guild.bot_roles.contains(&role.id)
        })
        .map(|role| (role.id, role.permissions))
        .collect();
    let calculator =
        PermissionCalculator::new(guild.guild_id, guild.bot_user_id, everyone, &member_roles);
    match channel {
        Some(channel) => calculator.in_channel(
            channel.kind,
            channel.permission_overwrites.as_deref().unwrap_or_default(),
        ),
        None => calculator.root(),
    }
}

/// Builds the `/status` report: reads the store, and takes each guild's Discord side from the
/// [`GuildCache`].
pub(crate) async fn report(ctx: &Context) -> Result<StatusReport> {
    let config = ctx.config();
    let counts: BTreeMap<String, i64> = store::open_ticket_counts(&ctx.pool, ctx.application_id)
        .await?
        .into_iter()
        .collect();
    let guild_counts: BTreeMap<Id<GuildMarker>, i64> =
        store::open_ticket_counts_by_guild(&ctx.pool, ctx.application_id)
            .await?
            .into_iter()
            .collect();
    let panels: BTreeMap<String, store::Panel> = store::panels(&ctx.pool, ctx.application_id)
        .await?
        .into_iter()
        .map(|panel| (panel.key.clone(), panel))
        .collect();
    let mut created_parents: BTreeMap<String, Vec<Id<ChannelMarker>>> = BTreeMap::new();
    for (key, channel) in store::all_created_parents(&ctx.pool, ctx.application_id).await? {
        created_parents.entry(key).or_default().push(channel);
    }
    let mut guilds: BTreeMap<u64, Arc<Result<GuildData, String>>> = BTreeMap::new();
    let mut categories = BTreeMap::new();
    for (key, category) in &config.categories {
        let guild_id = category.guild_id;
        if let std::collections::btree_map::Entry::Vacant(entry) = guilds.entry(guild_id.get()) {
            entry.insert(
                ctx.guild_cache
                    .get(guild_id, ctx.settings.status_max_age, || {
                        fetch_guild(ctx, guild_id)
                    })
                    .await,
            );
        }
        let (problems, parents) = match guilds.get(&guild_id.get()).map(AsRef::as_ref) {
            Some(Ok(data)) => {
                let view = GuildView {
                    guild_id,
                    channels: &data.channels,
                    roles: &data.roles,
                    bot_roles: &data.bot_roles,
                    bot_user_id: ctx.bot_user_id,
                };
                let mut problems = diagnose(category, &view);
                let open_in_guild = guild_counts.get(&guild_id).copied().unwrap_or(0);
                problems.extend(guild_problems(
                    &view,
                    open_in_guild,
                    config.max_open_tickets_per_guild,
                ));
                let created = created_parents.get(key).map_or(&[][..], |created| {
                    &created[..created
                        .len()
                        .min(usize::from(category.create_overflow_parents))]
                });
                (problems, parent_fills(category, created, &view))
            }
            Some(Err(reason)) => (
                vec![Problem::CheckFailed {
                    reason: reason.clone(),
                }],
                Vec::new(),
            ),
            None => (Vec::new(), Vec::new()),
        };
        categories.insert(
            key.clone(),
            CategoryStatus {
                name: category.name.clone(),
                panel_message_id: panels
                    .get(&crate::panels::plan::panel_key(key, category))
                    .map(|panel| panel.message_id.to_string()),
                open_tickets: counts.get(key).copied().unwrap_or(0),
                problems,
                parents,
            },
        );
    }
    Ok(StatusReport {
        gateway_connected: ctx.gateway_connected(),
        categories,
    })
}

/// Why a guild could not be checked, in words for the TicketCategory's status.
fn guild_check_failure(
    guild_id: Id<GuildMarker>,
    problem: Option<DiscordProblem>,
    code: Option<u64>,
) -> String {
    match (problem, code) {
        (Some(DiscordProblem::MissingAccess | DiscordProblem::UnknownResource), _) => {
            format!("the bot is not a member of guild {guild_id}, or cannot see it")
        }
        (Some(DiscordProblem::MissingPermissions), _) => {
            format!("Discord refused to describe guild {guild_id}: the bot lacks a permission")
        }
        (Some(DiscordProblem::Unreachable | DiscordProblem::DiscordOutage) | None, _) => {
            format!("could not read guild {guild_id} from Discord")
        }
        (Some(_), Some(code)) => {
            format!("Discord refused to describe guild {guild_id} (code {code})")
        }
        (Some(_), None) => format!("Discord refused to describe guild {guild_id}"),
    }
}

async fn fetch_guild(ctx: &Context, guild_id: Id<GuildMarker>) -> Result<GuildData, String> {
    let describe = |error: crate::error::BotError| {
        tracing::warn!(guild = %guild_id, error = %ErrorChain(&error), "status check could not read the guild");
        guild_check_failure(guild_id, error.discord_problem(), error.discord_code())
    };
    let channels = ctx
        .rest_list(
            DiscordCall::CheckGuildChannels,
            ctx.http.guild_channels(guild_id),
        )
        .await
        .map_err(describe)?;
    let roles = ctx
        .rest_list(DiscordCall::CheckGuildRoles, ctx.http.roles(guild_id))
        .await
        .map_err(describe)?;
    let member = ctx
        .rest_model(
            DiscordCall::CheckBotMember,
            ctx.http.guild_member(guild_id, ctx.bot_user_id),
        )
        .await
        .map_err(describe)?;
    Ok(GuildData {
        channels,
        roles,
        bot_roles: member.roles,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use twilight_model::channel::permission_overwrite::PermissionOverwrite;
    use twilight_model::channel::permission_overwrite::PermissionOverwriteType;

    const GUILD: u64 = 200_000_000_000_000_001;
    use crate::config::tests::{
        CREATE_CHANNEL as CREATE, LOG_CHANNEL as LOG, PARENT_CHANNEL as PARENT,
    };
    const BOT_ROLE: u64 = 400_000_000_000_000_009;
    const BOT: u64 = 600_000_000_000_000_001;

    fn category() -> Category {
        crate::config::tests::category(GUILD, &[])
    }

    fn channel(id: u64, kind: ChannelType, parent: Option<u64>) -> Channel {
        serde_json::from_value(serde_json::json!({
            "id": id.to_string(),
            "type": u8::from(kind),
            "guild_id": GUILD.to_string(),
            "parent_id": parent.map(|parent| parent.to_string()),
            "permission_overwrites": [],
        }))
        .expect("a channel")
    }

    fn role(id: u64, permissions: Permissions) -> Role {
        serde_json::from_value(serde_json::json!({
            "id": id.to_string(),
            "name": "role",
            "color": 0,
            "colors": {"primary_color": 0},
            "hoist": false,
            "managed": false,
            "mentionable": false,
            "permissions": permissions.bits().to_string(),
            "position": 0,
            "flags": 0,
        }))
        .expect("a role")
    }

    fn healthy_channels() -> Vec<Channel> {
        vec![
            channel(PARENT, ChannelType::GuildCategory, None),
            channel(CREATE, ChannelType::GuildText, None),
            channel(LOG, ChannelType::GuildText, None),
        ]
    }

    fn view<'a>(channels: &'a [Channel], roles: &'a [Role]) -> GuildView<'a> {
        GuildView {
            guild_id: Id::new(GUILD),
            channels,
            roles,
            bot_roles: &[],
            bot_user_id: Id::new(BOT),
        }
    }

    #[test]
    fn a_healthy_category_has_no_problems() {
        let channels = healthy_channels();
        let roles = [role(GUILD, NEEDED_IN_GUILD | NEEDED_IN_LOG_CHANNEL)];
        assert_eq!(diagnose(&category(), &view(&channels, &roles)), vec![]);
    }

    #[test]
    fn missing_and_mistyped_channels_are_reported_by_field() {
        let channels = vec![
            channel(PARENT, ChannelType::GuildText, None),
            channel(CREATE, ChannelType::GuildText, None),
        ];
        let roles = [role(GUILD, Permissions::ADMINISTRATOR)];
        let problems = diagnose(&category(), &view(&channels, &roles));
        assert_eq!(
            problems,
            vec![
                Problem::WrongChannelType {
                    field: "parentChannelId".to_owned(),
                    channel_id: PARENT.to_string(),
                    expected: "category".to_owned(),
                },
                Problem::MissingChannel {
                    field: "logChannelId".to_owned(),
                    channel_id: LOG.to_string(),
                },
            ]
        );
    }

    #[test]
    fn missing_permissions_are_named_and_overwrites_count() {
        let mut channels = healthy_channels();
        // The parent denies the bot's role Manage Channels.
        channels[0].permission_overwrites = Some(vec![PermissionOverwrite {
            allow: Permissions::empty(),
            deny: Permissions::MANAGE_CHANNELS,
            id: Id::new(BOT_ROLE),
            kind: PermissionOverwriteType::Role,
        }]);
        let roles = [
            role(GUILD, Permissions::VIEW_CHANNEL),
            role(BOT_ROLE, NEEDED_IN_GUILD | NEEDED_IN_LOG_CHANNEL),
        ];
        let bot_roles = [Id::new(BOT_ROLE)];
        let guild = GuildView {
            bot_roles: &bot_roles,
            ..view(&channels, &roles)
        };
        let problems = diagnose(&category(), &guild);
        assert_eq!(
            problems,
            vec![Problem::MissingPermissions {
                field: "parentChannelId".to_owned(),
                channel_id: PARENT.to_string(),
                missing: vec!["MANAGE_CHANNELS".to_owned()],
            }]
        );
    }

    #[test]
    fn manage_roles_granted_only_on_the_category_is_missing_in_the_guild() {
        let mut channels = healthy_channels();
        channels[0].permission_overwrites = Some(vec![PermissionOverwrite {
            allow: Permissions::MANAGE_ROLES,
            deny: Permissions::empty(),
            id: Id::new(BOT_ROLE),
            kind: PermissionOverwriteType::Role,
        }]);
        let roles = [
            role(GUILD, Permissions::VIEW_CHANNEL),
            role(
                BOT_ROLE,
                (NEEDED_IN_GUILD | NEEDED_IN_LOG_CHANNEL) - Permissions::MANAGE_ROLES,
            ),
        ];
        let bot_roles = [Id::new(BOT_ROLE)];
        let guild = GuildView {
            bot_roles: &bot_roles,
            ..view(&channels, &roles)
        };
        assert_eq!(
            diagnose(&category(), &guild),
            vec![Problem::MissingGuildPermissions {
                missing: vec!["MANAGE_ROLES".to_owned()],
            }]
        );
    }

    #[test]
    fn a_ticket_role_nobody_would_ping_or_that_is_gone_is_reported() {
        const STAFF: u64 = 400_000_000_000_000_001;
        const GONE: u64 = 400_000_000_000_000_002;
        let channels = healthy_channels();
        let with_roles = Category {
            role_ids: vec![Id::new(STAFF), Id::new(GONE)],
            ..category()
        };
        let everyone = NEEDED_IN_GUILD | NEEDED_IN_LOG_CHANNEL;
        let roles = [role(GUILD, everyone), role(STAFF, Permissions::empty())];
        assert_eq!(
            diagnose(&with_roles, &view(&channels, &roles)),
            vec![
                Problem::RoleNotPinged {
                    field: "roleIds[0]".to_owned(),
                    role_id: STAFF.to_string(),
                },
                Problem::MissingRole {
                    field: "roleIds[1]".to_owned(),
                    role_id: GONE.to_string(),
                },
            ]
        );
        let only_staff = Category {
            role_ids: vec![Id::new(STAFF)],
            ..category()
        };
        let mut mentionable = role(STAFF, Permissions::empty());
        mentionable.mentionable = true;
        let roles = [role(GUILD, everyone), mentionable];
        assert_eq!(diagnose(&only_staff, &view(&channels, &roles)), vec![]);
        let roles = [
            role(GUILD, everyone | Permissions::MENTION_EVERYONE),
            role(STAFF, Permissions::empty()),
        ];
        assert_eq!(diagnose(&only_staff, &view(&channels, &roles)), vec![]);
    }

    #[test]
    fn thread_mode_needs_thread_permissions_in_the_panel_channel_and_manage_threads_for_staff() {
        const STAFF: u64 = 400_000_000_000_000_001;
        let threads = Category {
            thread_mode: true,
            role_ids: vec![Id::new(STAFF)],
            ..category()
        };
        // No parent category at all: thread mode does not use it.
        let channels = vec![
            channel(CREATE, ChannelType::GuildText, None),
            channel(LOG, ChannelType::GuildText, None),
        ];
        let everyone = NEEDED_IN_GUILD | NEEDED_IN_LOG_CHANNEL | Permissions::MENTION_EVERYONE;
        let roles = [role(GUILD, everyone), role(STAFF, Permissions::empty())];
        assert_eq!(
            diagnose(&threads, &view(&channels, &roles)),
            vec![
                Problem::MissingPermissions {
                    field: "createChannelId".to_owned(),
                    channel_id: CREATE.to_string(),
                    missing: vec![
                        "MANAGE_THREADS".to_owned(),
                        "CREATE_PRIVATE_THREADS".to_owned(),
                        "SEND_MESSAGES_IN_THREADS".to_owned(),
                    ],
                },
                Problem::RoleCannotSeeThreads {
                    field: "roleIds[0]".to_owned(),
                    role_id: STAFF.to_string(),
                    channel_id: CREATE.to_string(),
                },
            ]
        );
        assert_eq!(
            parent_fills(&threads, &[], &view(&channels, &roles)),
            vec![]
        );
        let thread_rights = Permissions::CREATE_PRIVATE_THREADS
            | Permissions::SEND_MESSAGES_IN_THREADS
            | Permissions::MANAGE_THREADS;
        let roles = [
            role(GUILD, everyone | thread_rights),
            role(STAFF, Permissions::empty()),
        ];
        assert_eq!(diagnose(&threads, &view(&channels, &roles)), vec![]);
    }

    #[test]
    fn a_category_with_45_channels_is_nearly_full() {
        let mut channels = healthy_channels();
        for index in 0..45 {
            channels.push(channel(
                310_000_000_000_000_000 + index,
                ChannelType::GuildText,
                Some(PARENT),
            ));
        }
        let roles = [role(GUILD, Permissions::ADMINISTRATOR)];
        let problems = diagnose(&category(), &view(&channels, &roles));
        assert_eq!(
            problems,
            vec![Problem::CategoryNearlyFull {
                channel_id: PARENT.to_string(),
                channels: 45,
                limit: 50,
            }]
        );
    }

    #[test]
    fn each_parent_reports_its_fill_in_the_order_tried() {
        const OVERFLOW: u64 = 300_000_000_000_000_090;
        const GONE: u64 = 300_000_000_000_000_091;
        const CREATED: u64 = 300_000_000_000_000_092;
        let mut channels = healthy_channels();
        channels.push(channel(OVERFLOW, ChannelType::GuildCategory, None));
        channels.push(channel(CREATED, ChannelType::GuildCategory, None));
        for index in 0..7 {
            channels.push(channel(
                310_000_000_000_000_000 + index,
                ChannelType::GuildText,
                Some(if index < 3 { PARENT } else { OVERFLOW }),
            ));
        }
        let roles = [role(GUILD, Permissions::ADMINISTRATOR)];
        let mut category = category();
        category.overflow_parent_ids = vec![Id::new(OVERFLOW), Id::new(GONE)];
        let fill = |id: u64, channels| ParentFill {
            channel_id: id.to_string(),
            channels,
            limit: 50,
        };
        assert_eq!(
            parent_fills(&category, &[Id::new(CREATED)], &view(&channels, &roles)),
            [fill(PARENT, 3), fill(OVERFLOW, 4), fill(CREATED, 0)],
            "a parent the guild lacks has no fill (it is a missing channel instead)"
        );
    }

    #[test]
    fn a_guild_near_500_channels_or_its_cap_is_warned_of() {
        let mut channels = healthy_channels();
        let roles = [role(GUILD, Permissions::ADMINISTRATOR)];
        assert_eq!(guild_problems(&view(&channels, &roles), 400, None), []);
        while channels.len() < 449 {
            let id = 320_000_000_000_000_000 + channels.len() as u64;
            channels.push(channel(id, ChannelType::GuildText, None));
        }
        assert_eq!(guild_problems(&view(&channels, &roles), 0, None), []);
        channels.push(channel(
            330_000_000_000_000_000,
            ChannelType::GuildText,
            None,
        ));
        assert_eq!(
            guild_problems(&view(&channels, &roles), 0, None),
            [Problem::GuildNearlyFull {
                guild_id: GUILD.to_string(),
                channels: 450,
                limit: 500,
            }]
        );
        channels.truncate(10);
        let view = view(&channels, &roles);
        assert_eq!(guild_problems(&view, 89, Some(100)), []);
        let warned = Problem::GuildCapNearlyReached {
            guild_id: GUILD.to_string(),
            open_tickets: 90,
            cap: 100,
        };
        assert_eq!(guild_problems(&view, 90, Some(100)), [warned]);
        assert_eq!(guild_problems(&view, 1, Some(1)).len(), 1);
        assert_eq!(guild_problems(&view, 0, Some(1)), []);
    }

    #[test]
    fn a_guild_that_cannot_be_checked_says_why_in_words() {
        let guild = Id::new(GUILD);
        assert_eq!(
            guild_check_failure(guild, Some(DiscordProblem::MissingAccess), Some(50001)),
            format!("the bot is not a member of guild {GUILD}, or cannot see it")
        );
        assert_eq!(
            guild_check_failure(guild, Some(DiscordProblem::Unreachable), None),
            format!("could not read guild {GUILD} from Discord")
        );
        assert_eq!(
            guild_check_failure(guild, Some(DiscordProblem::InvalidRequest), Some(50035)),
            format!("Discord refused to describe guild {GUILD} (code 50035)")
        );
    }
}
