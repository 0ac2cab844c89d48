//! The operator↔bot contract: Ticketeer's `config.yaml`.
//!
//! The operator renders this file into the bot's ConfigMap; a person running the bot without
//! Kubernetes writes it by hand. Both sides use these types, so a mismatch fails to compile.
//! Secrets (`DISCORD_TOKEN`, `DATABASE_URL`) are never part of the file: they come from the
//! environment.
//!
//! # Layout
//!
//! - [`model`]: the serde + schemars types ([`BotConfig`], [`CategoryConfig`], …), camelCase in YAML.
//! - [`snowflake`]: the [`Snowflake`] id newtype and the [`Emoji`] parser for button emojis.
//! - [`validation`]: checks the schema cannot express alone, each error naming its field
//!   ([`FieldError`]).
//! - [`status`]: the bot's `/status` document ([`StatusReport`]), which the operator reads to set
//!   each TicketCategory's `Ready` condition.
//! - [`BotConfig::from_yaml`] = parse → validate; [`BotConfig::to_yaml`] renders;
//!   [`BotConfig::json_schema`] describes the file.

pub mod model;
pub mod snowflake;
pub mod status;
pub mod validation;

pub use model::{
    ANSWER_MAX_CHARS, BotConfig, ButtonConfig, ButtonStyle, CategoryConfig,
    DEFAULT_ATTACHMENTS_MAX_BYTES, DEFAULT_REQUEST_CLOSE_TIMEOUT_SECONDS, DiscordConfig,
    DmOnCloseConfig, HttpConfig, LimitsConfig, LogConfig, LogFormat, PanelPlacementConfig,
    PanelStyle, PasteExpiry, PrivateBinConfig, QuestionConfig, QuestionStyle,
};
pub use model::{AutoCloseConfig, DEFAULT_AUTO_CLOSE_WARNING_SECONDS};
pub use snowflake::{Emoji, Snowflake};
pub use status::{CategoryStatus, ParentFill, Problem, StatusReport};
pub use validation::{FieldError, ValidationErrors};

/// The file name under which the operator mounts the config and the bot looks for it.
pub const CONFIG_FILE_NAME: &str = "config.yaml";

/// Discord's limit on a message's `content`, in characters.
pub const MESSAGE_MAX_CHARS: usize = 2000;
/// Discord's limit on a button label, in characters.
pub const BUTTON_LABEL_MAX_CHARS: usize = 80;
/// Discord's limit on a component's `custom_id`, in characters.
pub const CUSTOM_ID_MAX_CHARS: usize = 100;
/// The longest category key: the bot builds button custom ids as a prefix of at most
/// [`CUSTOM_ID_PREFIX_MAX_CHARS`] characters plus the key, and the result must fit in
/// [`CUSTOM_ID_MAX_CHARS`].
pub const CATEGORY_KEY_MAX_CHARS: usize = 80;
/// Room the bot may use in a custom id besides the category key (e.g. `tkt:open:`).
pub const CUSTOM_ID_PREFIX_MAX_CHARS: usize = CUSTOM_ID_MAX_CHARS - CATEGORY_KEY_MAX_CHARS;
/// Discord's limit on a channel (and so a category display) name, in characters.
pub const CATEGORY_NAME_MAX_CHARS: usize = 100;
/// The most roles a category may name: every ticket channel gets one permission overwrite per role,
/// and Discord allows 100 overwrites per channel; the rest is kept for `@everyone`, the bot, the
/// creator and users added to a ticket later.
pub const ROLE_IDS_MAX: usize = 50;
/// The placeholder in `dmOnClose.message` that the bot replaces with the transcript's link.
pub const TRANSCRIPT_URL_PLACEHOLDER: &str = "{transcript_url}";

/// What failed while reading or writing a config file.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The text is not YAML of the expected shape (syntax, type, unknown or missing field).
    #[error("config is not valid YAML for Ticketeer: {0}")]
    ParseYaml(#[source] Box<serde_saphyr::Error>),
    /// The YAML parsed but some values break a rule; every broken rule is listed.
    #[error("config is invalid:\n{0}")]
    Invalid(ValidationErrors),
    /// Rendering the config to YAML failed.
    #[error("could not render the config as YAML: {0}")]
    RenderYaml(#[source] serde_saphyr::SerializeError),
}

impl BotConfig {
    /// Parses and validates a `config.yaml` text.
    ///
    /// # Errors
    ///
    /// [`ConfigError::ParseYaml`] when the text is not YAML of this shape (unknown fields are
    /// rejected); [`ConfigError::Invalid`] listing every field that breaks a rule, e.g.
    /// `categories["support/billing"].createButton.label: must be 1–80 characters (got 93)`.
    pub fn from_yaml(text: &str) -> Result<Self, ConfigError> {
        // A file of nothing but comments is an empty mapping to a person: read it as one, so the
        // error names the first required field instead of "unexpected end of input".
        let has_content = text.lines().map(str::trim).any(|line| {
            !line.is_empty() && !line.starts_with('#') && line != "---" && line != "..."
        });
        let text = if has_content { text } else { "{}" };
        let config: Self = serde_saphyr::from_str(text)
            .map_err(|error| ConfigError::ParseYaml(Box::new(error)))?;
        config.validate().map_err(ConfigError::Invalid)?;
        Ok(config)
    }

    /// Renders the config as YAML that [`BotConfig::from_yaml`] reads back to an equal value.
    ///
    /// # Errors
    ///
    /// [`ConfigError::RenderYaml`] if the serializer fails.
    pub fn to_yaml(&self) -> Result<String, ConfigError> {
        serde_saphyr::to_string(self).map_err(ConfigError::RenderYaml)
    }

    /// The JSON schema of the file (draft 2020-12), for editors and documentation.
    pub fn json_schema() -> serde_json::Value {
        schemars::schema_for!(BotConfig).to_value()
    }
}
