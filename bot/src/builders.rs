//! Pure builders: everything the bot sends to Discord, computed from the config and the facts of
//! one click. No IO here, so every rule is unit-tested.

use std::fmt::Write as _;

use sha2::{Digest, Sha256};
use ticketeer_config::{ButtonConfig, ButtonStyle, CategoryConfig, Emoji};
use twilight_model::channel::message::component::{
    ActionRow, Button, ButtonStyle as DiscordButtonStyle,
};
use twilight_model::channel::message::{AllowedMentions, Component, EmojiReactionType};
use twilight_model::channel::permission_overwrite::{PermissionOverwrite, PermissionOverwriteType};
use twilight_model::guild::Permissions;
use twilight_model::id::Id;
use twilight_model::id::marker::{GuildMarker, RoleMarker, UserMarker};

use crate::custom_id::CustomId;

/// What the creator and the ticket roles may do in a ticket channel.
pub const MEMBER_ALLOW: Permissions = Permissions::VIEW_CHANNEL
    .union(Permissions::SEND_MESSAGES)
    .union(Permissions::READ_MESSAGE_HISTORY)
    .union(Permissions::ATTACH_FILES)
    .union(Permissions::EMBED_LINKS);

/// What the bot grants itself in a ticket channel: the members' rights, plus managing the channel
/// (to delete it on close) and pinning the created message.
pub const BOT_ALLOW: Permissions = MEMBER_ALLOW
    .union(Permissions::MANAGE_CHANNELS)
    .union(Permissions::PIN_MESSAGES);

/// The panel message of one category, as posted in its create channel.
#[derive(Debug, Clone, PartialEq)]
pub struct PanelMessage {
    /// The text above the button.
    pub content: String,
    /// One action row with the open button.
    pub components: Vec<Component>,
    /// A hash of text and button: the stored panel is edited only when it changes.
    pub content_hash: String,
}

/// Builds a category's panel: its text and its open button.
pub fn panel_message(category_key: &str, category: &CategoryConfig) -> PanelMessage {
    let custom_id = CustomId::Open {
        category_key: category_key.to_owned(),
    };
    let components = vec![button_row(&custom_id, &category.create_button)];
    let content = category.create_message.clone();
    let content_hash = hash_message(&content, &components);
    PanelMessage {
        content,
        components,
        content_hash,
    }
}

/// The first message in a new ticket channel.
#[derive(Debug, Clone, PartialEq)]
pub struct CreatedMessage {
    /// Mentions of the creator and the ticket roles, then the category's text.
    pub content: String,
    /// One action row with the close button.
    pub components: Vec<Component>,
    /// Exactly the creator and the ticket roles may be pinged, whatever the text says.
    pub allowed_mentions: AllowedMentions,
}

/// Builds the created message of ticket `ticket_id`, opened by `creator`.
pub fn created_message(
    ticket_id: i64,
    creator: Id<UserMarker>,
    category: &CategoryConfig,
) -> CreatedMessage {
    let roles = category_roles(category);
    let mut content = format!("<@{creator}>");
    for role in &roles {
        let _ = write!(content, " <@&{role}>");
    }
    content.push_str("\n\n");
    content.push_str(&category.created_message);
    // The mentions can push a long configured text over Discord's limit; cut the text, never a
    // mention, so everybody is still pinged.
    let content = truncate_chars(&content, ticketeer_config::MESSAGE_MAX_CHARS);
    CreatedMessage {
        content,
        components: vec![button_row(
            &CustomId::Close { ticket_id },
            &category.close_button,
        )],
        allowed_mentions: AllowedMentions {
            parse: Vec::new(),
            replied_user: false,
            roles,
            users: vec![creator],
        },
    }
}

/// The name of a ticket's channel: `ticket-0042`. Built from the number alone, so no user input
/// can produce a name Discord rejects.
pub fn ticket_channel_name(ticket_id: i64) -> String {
    format!("ticket-{ticket_id:04}")
}

/// The topic of a ticket's channel.
pub fn ticket_channel_topic(
    ticket_id: i64,
    creator: Id<UserMarker>,
    category_name: &str,
) -> String {
    let topic = format!(
        "{} in {category_name}",
        ticket_channel_topic_start(ticket_id, creator)
    );
    truncate_chars(&topic, 1024)
}

/// How every topic of this ticket's channel starts: how a channel is recognised as the ticket's
/// when the ticket's row does not name it yet (a crash between creating it and recording it).
pub fn ticket_channel_topic_start(ticket_id: i64, creator: Id<UserMarker>) -> String {
    format!("Ticket #{ticket_id} opened by <@{creator}>")
}

/// The permission overwrites of a new ticket channel: `@everyone` may not see it; the creator,
/// each ticket role and the bot may.
pub fn ticket_overwrites(
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
pub struct Clicker<'a> {
    /// Who clicked.
    pub user_id: Id<UserMarker>,
    /// Their roles in the guild.
    pub roles: &'a [Id<RoleMarker>],
    /// Their permissions in the ticket channel, as Discord computed them for the interaction.
    pub permissions: Permissions,
}

/// Why someone may close a ticket, or that they may not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseDecision {
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
    pub fn is_allowed(self) -> bool {
        self != Self::Refused
    }
}

/// Decides whether `clicker` may close a ticket opened by `creator` in a category with `roles`.
pub fn close_decision(
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

/// The ticket roles of a category as Discord ids (validation guarantees they parse).
pub fn category_roles(category: &CategoryConfig) -> Vec<Id<RoleMarker>> {
    category
        .role_ids
        .iter()
        .filter_map(|role| role.get().and_then(Id::new_checked))
        .collect()
}

fn button_row(custom_id: &CustomId, button: &ButtonConfig) -> Component {
    Component::ActionRow(ActionRow {
        id: None,
        components: vec![Component::Button(Button {
            id: None,
            custom_id: Some(custom_id.to_string()),
            disabled: false,
            emoji: button.emoji.as_deref().and_then(button_emoji),
            label: Some(button.label.clone()),
            style: button_style(button.style),
            url: None,
            sku_id: None,
        })],
    })
}

fn button_style(style: ButtonStyle) -> DiscordButtonStyle {
    match style {
        ButtonStyle::Primary => DiscordButtonStyle::Primary,
        ButtonStyle::Secondary => DiscordButtonStyle::Secondary,
        ButtonStyle::Success => DiscordButtonStyle::Success,
        ButtonStyle::Danger => DiscordButtonStyle::Danger,
    }
}

fn button_emoji(text: &str) -> Option<EmojiReactionType> {
    match Emoji::parse(text)? {
        Emoji::Unicode(name) => Some(EmojiReactionType::Unicode { name }),
        Emoji::Custom { name, id, animated } => Some(EmojiReactionType::Custom {
            animated,
            id: Id::new_checked(id.get()?)?,
            name: Some(name),
        }),
    }
}

fn hash_message(content: &str, components: &[Component]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(content.as_bytes());
    hasher.update([0]);
    // Serialising twilight's component model is deterministic (struct field order).
    hasher.update(serde_json::to_vec(components).unwrap_or_default());
    hasher
        .finalize()
        .iter()
        .fold(String::with_capacity(64), |mut hex, byte| {
            let _ = write!(hex, "{byte:02x}");
            hex
        })
}

fn truncate_chars(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        Some((cut, _)) => text[..cut].to_owned(),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ticketeer_config::{DmOnCloseConfig, Snowflake};

    const GUILD: u64 = 200_000_000_000_000_001;
    const ROLE_A: u64 = 400_000_000_000_000_001;
    const ROLE_B: u64 = 400_000_000_000_000_002;
    const CREATOR: u64 = 500_000_000_000_000_001;
    const BOT: u64 = 600_000_000_000_000_001;

    fn category() -> CategoryConfig {
        CategoryConfig {
            guild_id: Snowflake::from(GUILD),
            name: "Billing".to_owned(),
            parent_channel_id: Snowflake::from(300_000_000_000_000_001),
            create_channel_id: Snowflake::from(300_000_000_000_000_002),
            role_ids: vec![Snowflake::from(ROLE_A), Snowflake::from(ROLE_B)],
            log_channel_id: Snowflake::from(300_000_000_000_000_003),
            create_message: "Questions about an invoice?".to_owned(),
            created_message: "Someone will be with you shortly.".to_owned(),
            create_button: ButtonConfig {
                label: "Open".to_owned(),
                emoji: Some("🧾".to_owned()),
                style: ButtonStyle::Success,
            },
            close_button: ButtonConfig::default_close(),
            dm_on_close: DmOnCloseConfig::default(),
        }
    }

    fn only_button(components: &[Component]) -> &Button {
        match components {
            [Component::ActionRow(row)] => match row.components.as_slice() {
                [Component::Button(button)] => button,
                other => panic!("expected one button, got {other:?}"),
            },
            other => panic!("expected one action row, got {other:?}"),
        }
    }

    #[test]
    fn the_panel_carries_the_text_and_an_open_button_for_its_category() {
        let panel = panel_message("support/billing", &category());
        assert_eq!(panel.content, "Questions about an invoice?");
        let button = only_button(&panel.components);
        assert_eq!(
            button.custom_id.as_deref(),
            Some("ticketeer:open:support/billing")
        );
        assert_eq!(button.label.as_deref(), Some("Open"));
        assert_eq!(button.style, DiscordButtonStyle::Success);
        assert_eq!(
            button.emoji,
            Some(EmojiReactionType::Unicode {
                name: "🧾".to_owned()
            })
        );
    }

    #[test]
    fn the_panel_hash_changes_with_the_text_or_the_button_and_only_then() {
        let original = panel_message("general", &category());
        assert_eq!(
            original.content_hash,
            panel_message("general", &category()).content_hash
        );
        let mut new_text = category();
        new_text.create_message.push('!');
        let mut new_style = category();
        new_style.create_button.style = ButtonStyle::Danger;
        let mut new_created = category();
        new_created.created_message = "unrelated to the panel".to_owned();
        assert_ne!(
            original.content_hash,
            panel_message("general", &new_text).content_hash
        );
        assert_ne!(
            original.content_hash,
            panel_message("general", &new_style).content_hash
        );
        assert_eq!(
            original.content_hash,
            panel_message("general", &new_created).content_hash
        );
        assert_eq!(original.content_hash.len(), 64);
    }

    #[test]
    fn custom_button_emojis_become_discord_custom_emojis() {
        assert_eq!(
            button_emoji("<a:spin:123456789012345678>"),
            Some(EmojiReactionType::Custom {
                animated: true,
                id: Id::new(123_456_789_012_345_678),
                name: Some("spin".to_owned()),
            })
        );
        assert_eq!(button_emoji("not an emoji"), None);
    }

    #[test]
    fn channel_names_are_zero_padded_ticket_numbers() {
        assert_eq!(ticket_channel_name(42), "ticket-0042");
        assert_eq!(ticket_channel_name(123_456), "ticket-123456");
    }

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
    fn the_created_message_pings_exactly_the_creator_and_the_roles() {
        let message = created_message(42, Id::new(CREATOR), &category());
        assert!(
            message
                .content
                .starts_with(&format!("<@{CREATOR}> <@&{ROLE_A}> <@&{ROLE_B}>"))
        );
        assert!(
            message
                .content
                .ends_with("Someone will be with you shortly.")
        );
        assert_eq!(message.allowed_mentions.users, vec![Id::new(CREATOR)]);
        assert_eq!(
            message.allowed_mentions.roles,
            vec![Id::new(ROLE_A), Id::new(ROLE_B)]
        );
        assert!(message.allowed_mentions.parse.is_empty());
        let button = only_button(&message.components);
        assert_eq!(button.custom_id.as_deref(), Some("ticketeer:close:42"));
        assert_eq!(button.style, DiscordButtonStyle::Danger);
    }

    #[test]
    fn a_long_created_message_is_cut_to_discords_limit_keeping_the_mentions() {
        let mut long = category();
        long.created_message = "x".repeat(2000);
        let message = created_message(1, Id::new(CREATOR), &long);
        assert_eq!(message.content.chars().count(), 2000);
        assert!(message.content.starts_with(&format!("<@{CREATOR}>")));
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
