//! The types of `config.yaml`. Field docs double as the CRD's `kubectl explain` text.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::Snowflake;

/// The whole bot configuration: Discord overrides, PrivateBin, HTTP, logging and every category.
///
/// Secrets are not part of it: the bot reads `DISCORD_TOKEN` and `DATABASE_URL` from the
/// environment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BotConfig {
    /// Discord settings; all optional.
    #[serde(default)]
    pub discord: DiscordConfig,
    /// Where ticket transcripts are stored (a PrivateBin v2 server).
    pub privatebin: PrivateBinConfig,
    /// The bot's HTTP server (health, readiness, metrics, status).
    #[serde(default)]
    pub http: HttpConfig,
    /// Logging.
    #[serde(default)]
    pub log: LogConfig,
    /// The ticket categories, keyed by a stable key (`namespace/name` under the operator, any
    /// slug by hand). The key identifies a category's panel and tickets, so renaming or
    /// reordering other categories never re-maps them.
    #[serde(default)]
    pub categories: BTreeMap<String, CategoryConfig>,
    /// Limits across all categories.
    #[serde(default, skip_serializing_if = "LimitsConfig::is_default")]
    pub limits: LimitsConfig,
}

/// Limits across all of a bot's categories.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LimitsConfig {
    /// Most tickets open at once in one Discord server, across the bot's categories there (1 to
    /// 100000). An open beyond it is refused with a clear answer, and `/status` warns from 90% of
    /// it. Discord allows 500 channels per server, ticket channels included, so a cap well below
    /// that keeps room for the server's other channels. Absent (the default): no cap, and
    /// `/status` warns when the server nears Discord's 500 channels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 100_000))]
    pub max_open_tickets_per_guild: Option<u32>,
}

impl LimitsConfig {
    /// Whether nothing is set (the field is then left out when rendered).
    #[must_use]
    pub fn is_default(limits: &Self) -> bool {
        *limits == Self::default()
    }
}

/// Discord settings. Production needs none of them; the overrides point the bot at an emulator.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DiscordConfig {
    /// The application's id; when absent the bot asks Discord for it at startup.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub application_id: Option<Snowflake>,
    /// Send REST requests to this `host:port` over plain HTTP instead of discord.com (tests and
    /// HTTP proxies only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_proxy: Option<String>,
    /// Connect the gateway to this `ws://` or `wss://` URL instead of the one Discord announces
    /// (tests only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway_url: Option<String>,
}

/// The PrivateBin server that stores transcripts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PrivateBinConfig {
    /// The server's base URL, e.g. `https://paste.example.com/`.
    #[schemars(length(min = 1, max = 2048), pattern(r"^https?://[^\s/?#]+"))]
    pub url: String,
    /// How long PrivateBin keeps each transcript. Default `1year`: transcripts are deleted after
    /// one year, as the product has always promised.
    #[serde(default)]
    pub expire: PasteExpiry,
    /// Whether the database keeps each transcript's whole link, the decryption key (the part
    /// after `#`) included. Default `true`, as the product always has. With `false` the key is
    /// removed from the stored links once the log post and the DM are sent, so it exists only
    /// there, and whoever reads the database learns where each transcript is but cannot read it.
    #[serde(
        default = "PrivateBinConfig::default_store_key",
        skip_serializing_if = "PrivateBinConfig::is_default_store_key"
    )]
    pub store_key: bool,
    /// Most bytes of attachments kept per ticket. Discord deletes a ticket's files with its
    /// channel, so at the close each file is downloaded and stored encrypted in a paste of its
    /// own that the transcript links, in message order, until this total is reached; the files
    /// beyond it are listed with their name and size as not kept. `0` keeps none. Default
    /// 8 MiB. A file larger than one paste may be (2 000 000 bytes of ciphertext) is never kept,
    /// and each kept file is one more paste under PrivateBin's traffic limiter.
    #[serde(
        default = "PrivateBinConfig::default_attachments_max_bytes",
        skip_serializing_if = "PrivateBinConfig::is_default_attachments_max_bytes"
    )]
    #[schemars(range(max = 1_073_741_824))]
    pub attachments_max_bytes: u64,
}

/// The default of [`PrivateBinConfig::attachments_max_bytes`]: 8 MiB.
pub const DEFAULT_ATTACHMENTS_MAX_BYTES: u64 = 8 * 1024 * 1024;

impl PrivateBinConfig {
    fn default_store_key() -> bool {
        true
    }

    fn default_attachments_max_bytes() -> u64 {
        DEFAULT_ATTACHMENTS_MAX_BYTES
    }

    #[expect(
        clippy::trivially_copy_pass_by_ref,
        reason = "serde passes a reference"
    )]
    fn is_default_attachments_max_bytes(bytes: &u64) -> bool {
        *bytes == DEFAULT_ATTACHMENTS_MAX_BYTES
    }

    // Left out of rendered configs when it is the default, so configs written before the
    // option existed render as they did.
    #[expect(
        clippy::trivially_copy_pass_by_ref,
        reason = "serde passes a reference"
    )]
    fn is_default_store_key(store_key: &bool) -> bool {
        *store_key
    }
}

/// PrivateBin's expiry choices, written as PrivateBin names them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum PasteExpiry {
    /// Five minutes.
    #[serde(rename = "5min")]
    FiveMinutes,
    /// Ten minutes.
    #[serde(rename = "10min")]
    TenMinutes,
    /// One hour.
    #[serde(rename = "1hour")]
    OneHour,
    /// One day.
    #[serde(rename = "1day")]
    OneDay,
    /// One week.
    #[serde(rename = "1week")]
    OneWeek,
    /// One month.
    #[serde(rename = "1month")]
    OneMonth,
    /// One year (the default).
    #[default]
    #[serde(rename = "1year")]
    OneYear,
    /// Kept until deleted by hand.
    #[serde(rename = "never")]
    Never,
}

impl PasteExpiry {
    /// How long PrivateBin keeps a paste with this expiry (its own figures: a month is 30 days,
    /// a year 365), `None` for `never`.
    pub fn lifetime(self) -> Option<std::time::Duration> {
        let seconds = match self {
            Self::FiveMinutes => 5 * 60,
            Self::TenMinutes => 10 * 60,
            Self::OneHour => 60 * 60,
            Self::OneDay => 24 * 60 * 60,
            Self::OneWeek => 7 * 24 * 60 * 60,
            Self::OneMonth => 30 * 24 * 60 * 60,
            Self::OneYear => 365 * 24 * 60 * 60,
            Self::Never => return None,
        };
        Some(std::time::Duration::from_secs(seconds))
    }

    /// The value PrivateBin expects in a paste's `expire` field.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::FiveMinutes => "5min",
            Self::TenMinutes => "10min",
            Self::OneHour => "1hour",
            Self::OneDay => "1day",
            Self::OneWeek => "1week",
            Self::OneMonth => "1month",
            Self::OneYear => "1year",
            Self::Never => "never",
        }
    }
}

/// The bot's HTTP server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HttpConfig {
    /// The `address:port` to listen on for `/healthz`, `/readyz`, `/metrics` and `/status`.
    #[serde(default = "HttpConfig::default_listen")]
    pub listen: SocketAddr,
}

impl HttpConfig {
    /// The port the bot serves HTTP on unless told otherwise.
    pub const DEFAULT_PORT: u16 = 8080;

    fn default_listen() -> SocketAddr {
        SocketAddr::from((Ipv4Addr::UNSPECIFIED, Self::DEFAULT_PORT))
    }
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            listen: Self::default_listen(),
        }
    }
}

/// Logging.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LogConfig {
    /// A tracing filter: a level (`error`, `warn`, `info`, `debug`, `trace`) or directives such as
    /// `info,ticketeer_bot=debug`.
    #[serde(default = "LogConfig::default_level")]
    #[schemars(length(min = 1, max = 512))]
    pub level: String,
    /// `json` (one object per line, for log collectors) or `text` (for people).
    #[serde(default)]
    pub format: LogFormat,
}

impl LogConfig {
    fn default_level() -> String {
        "info".to_owned()
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            level: Self::default_level(),
            format: LogFormat::default(),
        }
    }
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One JSON object per line.
    Json,
    /// Human-readable lines (the default).
    #[default]
    Text,
}

/// One ticket category: its panel, its ticket channels and what happens on close.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[expect(
    clippy::struct_excessive_bools,
    reason = "each is an independent yes/no option of the YAML, not a state"
)]
pub struct CategoryConfig {
    /// The Discord server (guild) the category lives in.
    pub guild_id: Snowflake,
    /// The category's display name, shown in tickets and transcripts.
    #[schemars(length(min = 1, max = 100))]
    pub name: String,
    /// The Discord channel category under which ticket channels are created.
    pub parent_channel_id: Snowflake,
    /// Channel categories used, in this order, when `parentChannelId` holds Discord's maximum of
    /// 50 channels: a new ticket channel goes into the first with room. At most 10, each once,
    /// never `parentChannelId` itself. The bot needs the same permissions there as in
    /// `parentChannelId`. Default none: a full parent refuses new tickets.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 10), extend("x-kubernetes-list-type" = "atomic"))]
    pub overflow_parent_channel_ids: Vec<Snowflake>,
    /// How many more channel categories the bot may create for this category's tickets once
    /// `parentChannelId` and every overflow parent are full (0–10). Each is named after the
    /// parent with a number ("Tickets 2", "Tickets 3", …), gets the parent's permission
    /// overwrites, and is used after the others in the order created. They are recorded in
    /// Postgres, so replicas and restarts fill them before creating another; one deleted by
    /// hand is forgotten. Default 0: none are created.
    #[serde(default, skip_serializing_if = "is_zero")]
    #[schemars(range(max = 10))]
    pub create_overflow_parents: u16,
    /// The channel where the panel message with the open button is posted.
    pub create_channel_id: Snowflake,
    /// Roles pinged when a ticket opens and given access to its channel; each at most once, and
    /// never the guild id (that is @everyone, which would open every ticket to every member).
    #[serde(default)]
    #[schemars(length(max = 50), extend("x-kubernetes-list-type" = "set"))]
    pub role_ids: Vec<Snowflake>,
    /// The channel where closed tickets' transcript links are posted.
    pub log_channel_id: Snowflake,
    /// The panel's text, shown above the open button.
    #[schemars(length(min = 1, max = 2000))]
    pub create_message: String,
    /// The first message in a new ticket; it carries the close button and is pinned.
    #[schemars(length(min = 1, max = 2000))]
    pub created_message: String,
    /// The panel's open button.
    #[serde(default = "ButtonConfig::default_create")]
    pub create_button: ButtonConfig,
    /// The close button on the first message of each ticket.
    #[serde(default = "ButtonConfig::default_close")]
    pub close_button: ButtonConfig,
    /// Puts the category on a panel shared with other categories instead of a panel of its own:
    /// every category naming the same panel with the same `createChannelId` is offered on one
    /// message, as a button each or as the options of one select menu. The panel shows the
    /// `createMessage`, `style` and `placeholder` of its first category (lowest `position`, then
    /// key) and at most 25 categories. Absent: the category has its own panel, as it always had.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub panel: Option<PanelPlacementConfig>,
    /// Questions asked before the ticket opens (at most 5, Discord's limit for one form): the
    /// open button (or the panel's menu) shows a form with one field per question, the ticket
    /// opens when it is submitted, and the answers are shown in the ticket's first message (so
    /// also in its transcript). Empty (the default): the ticket opens at the click.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 5), extend("x-kubernetes-list-type" = "atomic"))]
    pub questions: Vec<QuestionConfig>,
    /// Whether the creator is asked, by DM once the ticket is closed, to rate it from 1 to 5 (with
    /// an optional comment). The rating is stored with the ticket, added to the log post and
    /// counted in `/metrics` per category. With `dmOnClose` on, the buttons go on that DM;
    /// otherwise the bot sends a DM of its own. Users with DMs closed are not asked. Default
    /// `false`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub ask_feedback: bool,
    /// Whether and what to send the ticket's creator by DM when it closes.
    #[serde(default)]
    pub dm_on_close: DmOnCloseConfig,
    /// Whether the close button first asks for a reason: it opens a form with one optional
    /// field, and the reason given is recorded with the ticket and shown in the log post, the DM
    /// and the transcript's header. Default `false`: the button closes at once, as it always has.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub close_reason_prompt: bool,
    /// Whether each ticket's first message carries a Claim button beside Close, so a staff
    /// member takes the ticket with one click (`/ticket claim` works either way). The claimer is
    /// shown in the channel topic and the first message. Default `false`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub claim_button: bool,
    /// Whether claiming a ticket makes it writable only by its creator, the people added to it
    /// and the claimer: the other holders of `roleIds` keep reading it but can no longer write.
    /// Unclaiming gives them their voice back. Default `false`: a claim changes no access.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub claim_locks_writing: bool,
    /// Seconds the creator has to answer a close request (`/ticket request-close`) before the
    /// ticket closes by itself, with the request's reason. The wait survives restarts and
    /// failover. Default 86400 (one day).
    #[serde(
        default = "CategoryConfig::default_request_close_timeout_seconds",
        skip_serializing_if = "CategoryConfig::is_default_request_close_timeout_seconds"
    )]
    #[schemars(range(min = 1, max = 2_592_000))]
    pub request_close_timeout_seconds: u32,
    /// Whether tickets are private threads of the panel's channel (`createChannelId`) instead
    /// of channels under `parentChannelId`: threads count towards neither Discord's 50 channels
    /// per category nor its 500 per server. The creator and the people `/ticket add` adds are
    /// made members of the thread; staff see every ticket through Manage Threads, which each of
    /// `roleIds` must hold in that channel (`/status` checks it), as must the bot, with Create
    /// Private Threads and Send Messages in Threads. A thread has no permission overwrites, so
    /// `claimLocksWriting` and `overflowParentChannelIds` do not apply and are refused, and
    /// `/ticket move` moves a thread only between thread-mode categories of the same channel.
    /// `parentChannelId` is still required: it is where tickets go with thread mode off.
    /// Default `false`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub thread_mode: bool,
    /// Seconds after one of a user's tickets in this category closes before they may open
    /// another here (at most 604800, one week). Decided from the database, so it holds across
    /// replicas and restarts. Default 0: no cooldown.
    #[serde(default, skip_serializing_if = "is_zero_u32")]
    #[schemars(range(max = 604_800))]
    pub cooldown_seconds: u32,
    /// Most tickets one member may hold open in this category at once (1 to 10). Enforced by
    /// the database, so racing clicks on any number of replicas never exceed it; a click beyond
    /// it is answered with links to the member's open tickets. Default 1.
    #[serde(
        default = "CategoryConfig::default_max_open_per_user",
        skip_serializing_if = "CategoryConfig::is_default_max_open_per_user"
    )]
    #[schemars(range(min = 1, max = 10))]
    pub max_open_per_user: u16,
    /// Roles of which a member must hold at least one to open a ticket here; each at most once,
    /// never the guild id. Empty (the default): anyone may open.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 50), extend("x-kubernetes-list-type" = "set"))]
    pub required_role_ids: Vec<Snowflake>,
    /// Roles whose holders may not open a ticket here (staff included); each at most once, never
    /// the guild id. Empty (the default): nobody is refused for a role.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 50), extend("x-kubernetes-list-type" = "set"))]
    pub denied_role_ids: Vec<Snowflake>,
    /// Closes abandoned tickets: after `inactiveSeconds` without a message from the ticket's
    /// creator, the ticket closes by itself with an inactivity reason. `warningSeconds` before
    /// that, a warning pinging the creator is posted in the ticket with a Keep open button; a
    /// message from the creator or the button (the creator or staff) starts the wait again.
    /// Messages of staff or bots do not count. The wait survives restarts and failover. Absent
    /// (the default): tickets stay open until someone closes them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_close: Option<AutoCloseConfig>,
}

/// When an abandoned ticket closes by itself (see [`CategoryConfig::auto_close`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(extend("x-kubernetes-validations" = [{
    "rule": "!has(self.warningSeconds) || self.warningSeconds < self.inactiveSeconds",
    "message": "autoClose.warningSeconds must be less than autoClose.inactiveSeconds"
}]))]
pub struct AutoCloseConfig {
    /// Seconds without a message from the ticket's creator after which the ticket closes by
    /// itself (from its opening, its creator's last message, or the last Keep open). 1 to
    /// 31536000 (one year); in practice hours or days, e.g. 259200 for three days.
    #[schemars(range(min = 1, max = 31_536_000))]
    pub inactive_seconds: u32,
    /// Seconds before the close at which the warning with the Keep open button is posted; less
    /// than `inactiveSeconds` (0 posts it at the moment of the close, so leave it above 0).
    /// Default 3600 (one hour).
    #[serde(default = "AutoCloseConfig::default_warning_seconds")]
    #[schemars(range(min = 0, max = 31_535_999))]
    pub warning_seconds: u32,
}

/// The default of [`AutoCloseConfig::warning_seconds`]: one hour.
pub const DEFAULT_AUTO_CLOSE_WARNING_SECONDS: u32 = 60 * 60;

impl AutoCloseConfig {
    fn default_warning_seconds() -> u32 {
        DEFAULT_AUTO_CLOSE_WARNING_SECONDS
    }
}

#[expect(
    clippy::trivially_copy_pass_by_ref,
    reason = "serde passes a reference"
)]
fn is_zero_u32(value: &u32) -> bool {
    *value == 0
}

/// The default of [`CategoryConfig::request_close_timeout_seconds`]: one day.
pub const DEFAULT_REQUEST_CLOSE_TIMEOUT_SECONDS: u32 = 24 * 60 * 60;

impl CategoryConfig {
    fn default_max_open_per_user() -> u16 {
        1
    }

    #[expect(
        clippy::trivially_copy_pass_by_ref,
        reason = "serde passes a reference"
    )]
    fn is_default_max_open_per_user(max: &u16) -> bool {
        *max == 1
    }

    fn default_request_close_timeout_seconds() -> u32 {
        DEFAULT_REQUEST_CLOSE_TIMEOUT_SECONDS
    }

    #[expect(
        clippy::trivially_copy_pass_by_ref,
        reason = "serde passes a reference"
    )]
    fn is_default_request_close_timeout_seconds(seconds: &u32) -> bool {
        *seconds == DEFAULT_REQUEST_CLOSE_TIMEOUT_SECONDS
    }
}

/// One question of a category's form: a Discord text input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct QuestionConfig {
    /// The question, shown above its field.
    #[schemars(length(min = 1, max = 45))]
    pub label: String,
    /// Grey text in the empty field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 100))]
    pub placeholder: Option<String>,
    /// `short` (one line, the default) or `paragraph` (several lines).
    #[serde(default, skip_serializing_if = "QuestionStyle::is_short")]
    pub style: QuestionStyle,
    /// Whether the form cannot be sent without an answer. Default `true`.
    #[serde(
        default = "QuestionConfig::default_required",
        skip_serializing_if = "QuestionConfig::is_required"
    )]
    pub required: bool,
    /// The shortest answer accepted, in characters. Default 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(max = 1024))]
    pub min_length: Option<u16>,
    /// The longest answer accepted, in characters: at most 1024 (what one field of the first
    /// message holds), the default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 1024))]
    pub max_length: Option<u16>,
}

/// The longest answer to a question: one embed field's value.
pub const ANSWER_MAX_CHARS: u16 = 1024;

impl QuestionConfig {
    fn default_required() -> bool {
        true
    }

    #[expect(
        clippy::trivially_copy_pass_by_ref,
        reason = "serde passes a reference"
    )]
    fn is_required(required: &bool) -> bool {
        *required
    }
}

/// A question's field.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum QuestionStyle {
    /// One line (the default).
    #[default]
    Short,
    /// Several lines.
    Paragraph,
}

impl QuestionStyle {
    #[expect(
        clippy::trivially_copy_pass_by_ref,
        reason = "serde passes a reference"
    )]
    fn is_short(style: &Self) -> bool {
        *style == Self::Short
    }
}

/// Where a category sits on a shared panel.
///
/// The panel's text (`createMessage`), `style` and `placeholder` are those of its first
/// category: the one with the lowest `position`, then the smallest key. Discord shows at most 25
/// buttons (5 rows of 5) or 25 options on one panel; the categories after the 25th are left off
/// and the bot logs a warning.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PanelPlacementConfig {
    /// The panel's name, shared by its categories: lowercase letters, digits and `-`.
    #[schemars(length(min = 1, max = 32), pattern(r"^[a-z0-9][a-z0-9-]*$"))]
    pub name: String,
    /// `buttons` (the default: the category's `createButton` as one button among the panel's)
    /// or `select` (one select menu whose options are the categories, each with the
    /// `createButton`'s label and emoji and this `description`).
    #[serde(default, skip_serializing_if = "PanelStyle::is_buttons")]
    pub style: PanelStyle,
    /// The category's place on the panel; lower comes first, then the category key. Default 0.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub position: u16,
    /// The option's second line in a select menu (ignored for buttons).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 100))]
    pub description: Option<String>,
    /// The select menu's text before anything is chosen. Default "Choose a topic".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 150))]
    pub placeholder: Option<String>,
}

#[expect(
    clippy::trivially_copy_pass_by_ref,
    reason = "serde passes a reference"
)]
fn is_zero(position: &u16) -> bool {
    *position == 0
}

/// How a shared panel offers its categories.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum PanelStyle {
    /// A button per category (the default).
    #[default]
    Buttons,
    /// One select menu with an option per category.
    Select,
}

impl PanelStyle {
    #[expect(
        clippy::trivially_copy_pass_by_ref,
        reason = "serde passes a reference"
    )]
    fn is_buttons(style: &Self) -> bool {
        *style == Self::Buttons
    }
}

/// A message button.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ButtonConfig {
    /// The button's text.
    #[schemars(length(min = 1, max = 80))]
    pub label: String,
    /// An emoji before the label: Unicode (`🎫`) or custom (`<:name:id>`, animated `<a:name:id>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 64))]
    pub emoji: Option<String>,
    /// The button's colour.
    #[serde(default)]
    pub style: ButtonStyle,
}

impl ButtonConfig {
    /// The open button used when a category names none.
    pub fn default_create() -> Self {
        Self {
            label: "Open a ticket".to_owned(),
            emoji: None,
            style: ButtonStyle::Primary,
        }
    }

    /// The close button used when a category names none.
    pub fn default_close() -> Self {
        Self {
            label: "Close ticket".to_owned(),
            emoji: None,
            style: ButtonStyle::Danger,
        }
    }
}

/// Discord's button styles that carry a custom id (link and premium buttons do not).
///
/// See [Discord Docs/Button Styles](https://discord.com/developers/docs/components/reference#button-button-styles).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ButtonStyle {
    /// Blurple (style 1); the default.
    #[default]
    Primary,
    /// Grey (style 2).
    Secondary,
    /// Green (style 3).
    Success,
    /// Red (style 4).
    Danger,
}

impl ButtonStyle {
    /// Discord's numeric style value.
    pub fn discord_value(self) -> u8 {
        match self {
            Self::Primary => 1,
            Self::Secondary => 2,
            Self::Success => 3,
            Self::Danger => 4,
        }
    }
}

/// The DM sent to a ticket's creator when it closes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(extend("x-kubernetes-validations" = [{
    "rule": "!(has(self.enabled) && self.enabled) || (has(self.message) && size(self.message) > 0)",
    "message": "dmOnClose.message is required when dmOnClose.enabled is true"
}]))]
pub struct DmOnCloseConfig {
    /// Send the DM (default false). Users with DMs closed simply do not get it.
    #[serde(default)]
    pub enabled: bool,
    /// The DM's text; `{transcript_url}` is replaced with the transcript's link. Required when
    /// `enabled` is true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 2000))]
    pub message: Option<String>,
}
