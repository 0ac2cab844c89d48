//! The config in force, as the bot uses it: the file's sections, and each category with its
//! Discord ids, emojis and button styles parsed once, when the file is loaded.
//!
//! [`ticketeer_config`] keeps ids as the strings the YAML holds, so that one bad id is reported
//! with its field path next to every other broken rule (and so the operator, which shares those
//! types, never fails to read a resource). The bot converts a validated file into [`Config`];
//! from then on a Discord id is an [`Id`], and nothing parses it again.

use std::collections::BTreeMap;

use ticketeer_config::{
    BotConfig, ButtonConfig, ButtonStyle, CategoryConfig, ConfigError, DiscordConfig, Emoji,
    FieldError, HttpConfig, LogConfig, PanelPlacementConfig, PrivateBinConfig, QuestionConfig,
    Snowflake, ValidationErrors,
};
use twilight_model::channel::message::EmojiReactionType;
use twilight_model::channel::message::component::ButtonStyle as DiscordButtonStyle;
use twilight_model::id::Id;
use twilight_model::id::marker::{ApplicationMarker, ChannelMarker, GuildMarker, RoleMarker};

/// The config in force.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Discord settings as written (the overrides; the application id is parsed below).
    pub discord: DiscordConfig,
    /// The application's id, when the file names it; otherwise the bot asks Discord at start.
    pub application_id: Option<Id<ApplicationMarker>>,
    /// Where transcripts are stored.
    pub privatebin: PrivateBinConfig,
    /// Where `/healthz`, `/readyz`, `/metrics` and `/status` listen; read at start only (a reload
    /// that changes it warns).
    pub http: HttpConfig,
    /// The log filter and format; read at start only, like `http`.
    pub log: LogConfig,
    /// The categories by their stable key.
    pub categories: BTreeMap<String, Category>,
    /// Most tickets open at once in one guild across the categories; `None` for no cap.
    pub max_open_tickets_per_guild: Option<u32>,
}

/// One ticket category, ready to use.
#[derive(Debug, Clone, PartialEq)]
#[expect(
    clippy::struct_excessive_bools,
    reason = "each is an independent yes/no option of the config, not a state"
)]
pub struct Category {
    /// The guild the category lives in.
    pub guild_id: Id<GuildMarker>,
    /// The display name, shown in tickets and transcripts.
    pub name: String,
    /// The channel category ticket channels are created under.
    pub parent_channel_id: Id<ChannelMarker>,
    /// Where the panel is posted.
    pub create_channel_id: Id<ChannelMarker>,
    /// Channel categories used in order when the parent is full.
    pub overflow_parent_ids: Vec<Id<ChannelMarker>>,
    /// How many more parent categories the bot may create once all of those are full.
    pub create_overflow_parents: u16,
    /// Staff roles: pinged on open and given the ticket channel (no duplicates, never @everyone).
    pub role_ids: Vec<Id<RoleMarker>>,
    /// Opening needs at least one of these roles (empty: anyone may open).
    pub required_role_ids: Vec<Id<RoleMarker>>,
    /// Holders of any of these roles may not open.
    pub denied_role_ids: Vec<Id<RoleMarker>>,
    /// How long after a user's ticket here closes before they may open another (zero: none).
    pub cooldown: std::time::Duration,
    /// How many tickets one member may hold open here at once (at least 1).
    pub max_open_per_user: u16,
    /// Tickets are private threads of `create_channel_id` instead of channels.
    pub thread_mode: bool,
    /// Where closed tickets' transcript links go.
    pub log_channel_id: Id<ChannelMarker>,
    /// The panel's text.
    pub create_message: String,
    /// The first message in each ticket.
    pub created_message: String,
    /// The panel's open button.
    pub create_button: Button,
    /// The close button on each ticket's first message.
    pub close_button: Button,
    /// The shared panel the category is offered on; `None`: a panel of its own.
    pub panel: Option<PanelPlacementConfig>,
    /// The questions asked before a ticket opens (at most 5); empty: it opens at the click.
    pub questions: Vec<QuestionConfig>,
    /// The creator is asked by DM to rate the closed ticket.
    pub ask_feedback: bool,
    /// The DM sent to a ticket's creator on close (`{transcript_url}` not yet replaced), when
    /// the category sends one.
    pub dm_on_close: Option<String>,
    /// The close button asks for a reason first (a modal with one optional field).
    pub close_reason_prompt: bool,
    /// Each ticket's first message carries a Claim button.
    pub claim_button: bool,
    /// A claimed ticket is writable only by its creator, the people added and the claimer.
    pub claim_locks_writing: bool,
    /// How long a close request waits for the creator before the ticket closes by itself.
    pub request_close_timeout: std::time::Duration,
    /// When abandoned tickets close by itself; `None` when they never do.
    pub auto_close: Option<AutoClose>,
}

/// When a ticket whose creator wrote nothing for a while closes by itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AutoClose {
    /// How long without a message from the creator before the ticket closes.
    pub inactive: std::time::Duration,
    /// How long before the close the warning is posted (less than `inactive`).
    pub warning: std::time::Duration,
}

impl AutoClose {
    /// How long after the creator's last sign of life the warning is due.
    pub fn until_warning(self) -> std::time::Duration {
        self.inactive.saturating_sub(self.warning)
    }
}

/// A button as Discord takes it.
#[derive(Debug, Clone, PartialEq)]
pub struct Button {
    /// Its text: 1–80 characters, not only whitespace (checked when the file is loaded).
    pub label: String,
    /// The emoji before the label.
    pub emoji: Option<EmojiReactionType>,
    /// Its colour; never Link or Premium, which need a URL or a SKU instead of a custom id.
    pub style: DiscordButtonStyle,
}

impl Config {
    /// Converts a validated file.
    ///
    /// # Errors
    ///
    /// [`ConfigError::Invalid`] naming each field that is not what validation promised (only
    /// when `file` was not validated, since [`BotConfig::from_yaml`] refuses the same values).
    pub fn from_file(file: BotConfig) -> Result<Self, ConfigError> {
        let mut problems = Vec::new();
        let application_id = file
            .discord
            .application_id
            .as_ref()
            .and_then(|id| parse_id(&mut problems, "discord.applicationId", id));
        let categories = file
            .categories
            .iter()
            .filter_map(|(key, category)| {
                let path = format!("categories[{key:?}]");
                Category::from_file(&mut problems, &path, category).map(|c| (key.clone(), c))
            })
            .collect();
        if !problems.is_empty() {
            return Err(ConfigError::Invalid(ValidationErrors(problems)));
        }
        Ok(Self {
            discord: file.discord,
            application_id,
            privatebin: file.privatebin,
            http: file.http,
            log: file.log,
            categories,
            max_open_tickets_per_guild: file.limits.max_open_tickets_per_guild,
        })
    }

    /// Reads and validates a config text (see [`BotConfig::from_yaml`]) and converts it.
    ///
    /// # Errors
    ///
    /// [`ConfigError`] naming what is wrong.
    pub fn from_yaml(text: &str) -> Result<Self, ConfigError> {
        Self::from_file(BotConfig::from_yaml(text)?)
    }
}

impl Category {
    fn from_file(
        problems: &mut Vec<FieldError>,
        path: &str,
        category: &CategoryConfig,
    ) -> Option<Self> {
        let guild_id = parse_id(problems, &format!("{path}.guildId"), &category.guild_id);
        let parent_channel_id = parse_id(
            problems,
            &format!("{path}.parentChannelId"),
            &category.parent_channel_id,
        );
        let create_channel_id = parse_id(
            problems,
            &format!("{path}.createChannelId"),
            &category.create_channel_id,
        );
        let log_channel_id = parse_id(
            problems,
            &format!("{path}.logChannelId"),
            &category.log_channel_id,
        );
        let overflow_parent_ids: Vec<_> = category
            .overflow_parent_channel_ids
            .iter()
            .enumerate()
            .filter_map(|(index, parent)| {
                parse_id(
                    problems,
                    &format!("{path}.overflowParentChannelIds[{index}]"),
                    parent,
                )
            })
            .collect();
        let role_ids: Vec<_> = category
            .role_ids
            .iter()
            .enumerate()
            .filter_map(|(index, role)| {
                parse_id(problems, &format!("{path}.roleIds[{index}]"), role)
            })
            .collect();
        let parse_roles = |problems: &mut Vec<FieldError>, name: &str, roles: &[Snowflake]| {
            roles
                .iter()
                .enumerate()
                .filter_map(|(index, role)| {
                    parse_id(problems, &format!("{path}.{name}[{index}]"), role)
                })
                .collect::<Vec<_>>()
        };
        let required_role_ids =
            parse_roles(problems, "requiredRoleIds", &category.required_role_ids);
        let denied_role_ids = parse_roles(problems, "deniedRoleIds", &category.denied_role_ids);
        let create_button = Button::from_file(
            problems,
            &format!("{path}.createButton"),
            &category.create_button,
        );
        let close_button = Button::from_file(
            problems,
            &format!("{path}.closeButton"),
            &category.close_button,
        );
        let dm_on_close = category
            .dm_on_close
            .enabled
            .then(|| category.dm_on_close.message.clone())
            .flatten();
        if category.dm_on_close.enabled && dm_on_close.is_none() {
            problems.push(FieldError {
                path: format!("{path}.dmOnClose.message"),
                problem: "is required when enabled is true".to_owned(),
            });
        }
        if role_ids.len() != category.role_ids.len()
            || overflow_parent_ids.len() != category.overflow_parent_channel_ids.len()
            || required_role_ids.len() != category.required_role_ids.len()
            || denied_role_ids.len() != category.denied_role_ids.len()
        {
            return None;
        }
        Some(Self {
            guild_id: guild_id?,
            name: category.name.clone(),
            parent_channel_id: parent_channel_id?,
            create_channel_id: create_channel_id?,
            overflow_parent_ids,
            create_overflow_parents: category.create_overflow_parents,
            role_ids,
            required_role_ids,
            denied_role_ids,
            cooldown: std::time::Duration::from_secs(u64::from(category.cooldown_seconds)),
            max_open_per_user: category.max_open_per_user.max(1),
            thread_mode: category.thread_mode,
            log_channel_id: log_channel_id?,
            create_message: category.create_message.clone(),
            created_message: category.created_message.clone(),
            create_button: create_button?,
            close_button: close_button?,
            panel: category.panel.clone(),
            questions: category.questions.clone(),
            ask_feedback: category.ask_feedback,
            dm_on_close,
            close_reason_prompt: category.close_reason_prompt,
            claim_button: category.claim_button,
            claim_locks_writing: category.claim_locks_writing,
            request_close_timeout: std::time::Duration::from_secs(u64::from(
                category.request_close_timeout_seconds,
            )),
            auto_close: category.auto_close.as_ref().map(|auto_close| AutoClose {
                inactive: std::time::Duration::from_secs(u64::from(auto_close.inactive_seconds)),
                warning: std::time::Duration::from_secs(u64::from(auto_close.warning_seconds)),
            }),
        })
    }
}

impl Button {
    fn from_file(
        problems: &mut Vec<FieldError>,
        path: &str,
        button: &ButtonConfig,
    ) -> Option<Self> {
        let emoji = match button.emoji.as_deref() {
            None => None,
            Some(text) => {
                let Some(emoji) = Emoji::parse(text).and_then(reaction_emoji) else {
                    problems.push(FieldError {
                        path: format!("{path}.emoji"),
                        problem: format!(
                            "is not an emoji Discord accepts on a button (got {text:?})"
                        ),
                    });
                    return None;
                };
                Some(emoji)
            }
        };
        Some(Self {
            label: button.label.clone(),
            emoji,
            style: match button.style {
                ButtonStyle::Primary => DiscordButtonStyle::Primary,
                ButtonStyle::Secondary => DiscordButtonStyle::Secondary,
                ButtonStyle::Success => DiscordButtonStyle::Success,
                ButtonStyle::Danger => DiscordButtonStyle::Danger,
            },
        })
    }
}

fn reaction_emoji(emoji: Emoji) -> Option<EmojiReactionType> {
    Some(match emoji {
        Emoji::Unicode(name) => EmojiReactionType::Unicode { name },
        Emoji::Custom { name, id, animated } => EmojiReactionType::Custom {
            animated,
            id: Id::new_checked(id.get()?)?,
            name: Some(name),
        },
    })
}

fn parse_id<M>(problems: &mut Vec<FieldError>, path: &str, id: &Snowflake) -> Option<Id<M>> {
    let parsed = id.get().and_then(Id::new_checked);
    if parsed.is_none() {
        problems.push(FieldError {
            path: path.to_owned(),
            problem: format!(
                "must be a Discord id of 17–20 digits (got {:?})",
                id.as_str()
            ),
        });
    }
    parsed
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// The channels of [`category`].
    pub(crate) const PARENT_CHANNEL: u64 = 300_000_000_000_000_001;
    pub(crate) const CREATE_CHANNEL: u64 = 300_000_000_000_000_002;
    pub(crate) const LOG_CHANNEL: u64 = 300_000_000_000_000_003;

    /// A category for unit tests: in `guild`, with `roles`, the channels above, the default
    /// buttons and no DM.
    pub(crate) fn category(guild: u64, roles: &[u64]) -> Category {
        Category {
            guild_id: Id::new(guild),
            name: "Support".to_owned(),
            parent_channel_id: Id::new(PARENT_CHANNEL),
            create_channel_id: Id::new(CREATE_CHANNEL),
            overflow_parent_ids: Vec::new(),
            create_overflow_parents: 0,
            role_ids: roles.iter().map(|&role| Id::new(role)).collect(),
            required_role_ids: Vec::new(),
            denied_role_ids: Vec::new(),
            cooldown: std::time::Duration::ZERO,
            max_open_per_user: 1,
            thread_mode: false,
            log_channel_id: Id::new(LOG_CHANNEL),
            create_message: "Need help? Open a ticket.".to_owned(),
            created_message: "Staff will be with you shortly.".to_owned(),
            create_button: Button {
                label: "Open a ticket".to_owned(),
                emoji: None,
                style: DiscordButtonStyle::Primary,
            },
            close_button: Button {
                label: "Close".to_owned(),
                emoji: None,
                style: DiscordButtonStyle::Danger,
            },
            panel: None,
            questions: Vec::new(),
            ask_feedback: false,
            dm_on_close: None,
            close_reason_prompt: false,
            claim_button: false,
            claim_locks_writing: false,
            request_close_timeout: std::time::Duration::from_hours(24),
            auto_close: None,
        }
    }

    const FILE: &str = r#"
privatebin:
  url: https://paste.example.com/
discord:
  applicationId: "100000000000000001"
categories:
  support:
    guildId: "100000000000000002"
    name: Support
    parentChannelId: "100000000000000003"
    createChannelId: "100000000000000004"
    roleIds: ["100000000000000005", "100000000000000006"]
    logChannelId: "100000000000000007"
    createMessage: Need help?
    createdMessage: Staff will be with you.
    createButton: { label: Open, emoji: "<:ticket:100000000000000008>", style: success }
    dmOnClose: { enabled: true, message: "Your transcript: {transcript_url}" }
"#;

    #[test]
    fn every_id_emoji_and_style_is_parsed_once_from_the_file() {
        let config = Config::from_yaml(FILE).expect("a valid file");
        assert_eq!(
            config.application_id,
            Some(Id::new(100_000_000_000_000_001))
        );
        let support = &config.categories["support"];
        assert_eq!(support.guild_id, Id::new(100_000_000_000_000_002));
        assert_eq!(support.parent_channel_id, Id::new(100_000_000_000_000_003));
        assert_eq!(support.create_channel_id, Id::new(100_000_000_000_000_004));
        assert_eq!(
            support.role_ids,
            [
                Id::new(100_000_000_000_000_005),
                Id::new(100_000_000_000_000_006)
            ]
        );
        assert_eq!(support.log_channel_id, Id::new(100_000_000_000_000_007));
        assert_eq!(support.create_button.style, DiscordButtonStyle::Success);
        assert_eq!(
            support.create_button.emoji,
            Some(EmojiReactionType::Custom {
                animated: false,
                id: Id::new(100_000_000_000_000_008),
                name: Some("ticket".to_owned()),
            })
        );
        assert_eq!(support.close_button.style, DiscordButtonStyle::Danger);
        assert_eq!(
            support.dm_on_close.as_deref(),
            Some("Your transcript: {transcript_url}")
        );
    }

    #[test]
    fn custom_button_emojis_become_discord_custom_emojis() {
        let emoji = |text: &str| Emoji::parse(text).and_then(reaction_emoji);
        assert_eq!(
            emoji("<a:spin:123456789012345678>"),
            Some(EmojiReactionType::Custom {
                animated: true,
                id: Id::new(123_456_789_012_345_678),
                name: Some("spin".to_owned()),
            })
        );
        assert_eq!(emoji("not an emoji"), None);
    }

    #[test]
    fn an_unvalidated_file_with_bad_ids_is_refused_naming_each_field() {
        let mut file = BotConfig::from_yaml(FILE).expect("a valid file");
        let support = file.categories.get_mut("support").expect("the category");
        support.guild_id = Snowflake::new("0");
        support.role_ids[1] = Snowflake::new("12");
        let Err(ConfigError::Invalid(problems)) = Config::from_file(file) else {
            panic!("bad ids must be refused");
        };
        let paths: Vec<&str> = problems
            .errors()
            .iter()
            .map(|error| error.path.as_str())
            .collect();
        assert_eq!(
            paths,
            [
                r#"categories["support"].guildId"#,
                r#"categories["support"].roleIds[1]"#
            ]
        );
    }
}
