//! Rules every config must satisfy, checked after parsing; each error names its field.
//!
//! The schema (and so the Kubernetes API server) enforces the same limits for CRDs; this is the
//! check for files written by hand and the operator's last line of defence before rendering.

use std::fmt;

use crate::model::{
    ANSWER_MAX_CHARS, BotConfig, ButtonConfig, CategoryConfig, DiscordConfig, PanelPlacementConfig,
    PrivateBinConfig, QuestionConfig,
};
use crate::{
    BUTTON_LABEL_MAX_CHARS, CATEGORY_KEY_MAX_CHARS, CATEGORY_NAME_MAX_CHARS, Emoji,
    MESSAGE_MAX_CHARS, ROLE_IDS_MAX, Snowflake,
};

/// One broken rule: the field's path (e.g. `categories["support/billing"].createButton.label`) and
/// what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The field, written as in the YAML (camelCase, map keys quoted).
    pub path: String,
    /// What is wrong, e.g. `must be 1–80 characters (got 93)`.
    pub problem: String,
}

impl fmt::Display for FieldError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}: {}", self.path, self.problem)
    }
}

/// Every broken rule of one config, in field order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ValidationErrors(pub Vec<FieldError>);

impl ValidationErrors {
    /// The errors, in field order.
    pub fn errors(&self) -> &[FieldError] {
        &self.0
    }
}

impl fmt::Display for ValidationErrors {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, error) in self.0.iter().enumerate() {
            if index > 0 {
                formatter.write_str("\n")?;
            }
            write!(formatter, "{error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ValidationErrors {}

/// Collects errors under a growing field path.
struct Checker {
    errors: Vec<FieldError>,
}

impl Checker {
    fn fail(&mut self, path: &str, problem: impl Into<String>) {
        self.errors.push(FieldError {
            path: path.to_owned(),
            problem: problem.into(),
        });
    }

    fn text(&mut self, path: &str, value: &str, max_chars: usize) {
        let chars = value.chars().count();
        if chars == 0 || chars > max_chars {
            self.fail(
                path,
                format!("must be 1–{max_chars} characters (got {chars})"),
            );
        } else if value.trim().is_empty() {
            self.fail(path, "must not be only whitespace");
        }
    }

    fn snowflake(&mut self, path: &str, id: &Snowflake) {
        if !id.is_valid() {
            self.fail(
                path,
                format!(
                    "must be a Discord id of 17–20 digits (got {:?})",
                    id.as_str()
                ),
            );
        }
    }
}

impl BotConfig {
    /// Checks every rule and returns all broken ones at once.
    ///
    /// # Errors
    ///
    /// [`ValidationErrors`] listing each broken rule with its field path.
    pub fn validate(&self) -> Result<(), ValidationErrors> {
        let mut checker = Checker { errors: Vec::new() };
        check_discord(&mut checker, &self.discord);
        check_privatebin(&mut checker, &self.privatebin);
        if self.log.level.trim().is_empty() {
            checker.fail("log.level", "must not be empty");
        }
        if let Some(cap) = self.limits.max_open_tickets_per_guild
            && !(1..=GUILD_CAP_MAX).contains(&cap)
        {
            checker.fail(
                "limits.maxOpenTicketsPerGuild",
                format!("must be 1–{GUILD_CAP_MAX} (got {cap})"),
            );
        }
        for (key, category) in &self.categories {
            let path = format!("categories[{key:?}]");
            if let Some(problem) = category_key_problem(key) {
                checker.fail(&path, problem);
            }
            check_category(&mut checker, &path, category);
        }
        into_result(checker)
    }
}

impl CategoryConfig {
    /// Checks one category's rules; `path` prefixes every error (e.g. `spec`).
    ///
    /// # Errors
    ///
    /// [`ValidationErrors`] listing each broken rule with its field path under `path`.
    pub fn validate(&self, path: &str) -> Result<(), ValidationErrors> {
        let mut checker = Checker { errors: Vec::new() };
        check_category(&mut checker, path, self);
        into_result(checker)
    }
}

/// Why `key` cannot be a category key, or `None` when it can: 1–80 characters of ASCII letters,
/// digits, `-`, `_`, `.` and `/`, so the bot can embed it in a button's custom id.
pub fn category_key_problem(key: &str) -> Option<String> {
    let chars = key.chars().count();
    if chars == 0 || chars > CATEGORY_KEY_MAX_CHARS {
        return Some(format!(
            "the key must be 1–{CATEGORY_KEY_MAX_CHARS} characters (got {chars}), because buttons carry it in their 100-character custom id"
        ));
    }
    let allowed = |character: char| {
        character.is_ascii_alphanumeric() || matches!(character, '-' | '_' | '.' | '/')
    };
    if !key.chars().all(allowed) {
        return Some(
            "the key may contain only ASCII letters, digits, '-', '_', '.' and '/'".to_owned(),
        );
    }
    None
}

fn into_result(checker: Checker) -> Result<(), ValidationErrors> {
    if checker.errors.is_empty() {
        Ok(())
    } else {
        Err(ValidationErrors(checker.errors))
    }
}

fn check_discord(checker: &mut Checker, discord: &DiscordConfig) {
    if let Some(id) = &discord.application_id {
        checker.snowflake("discord.applicationId", id);
    }
    if let Some(proxy) = &discord.api_proxy {
        let port_is_valid = proxy
            .rsplit_once(':')
            .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok());
        if !port_is_valid || proxy.contains('/') {
            checker.fail(
                "discord.apiProxy",
                format!("must be host:port, e.g. 127.0.0.1:3000 (got {proxy:?})"),
            );
        }
    }
    if let Some(url) = &discord.gateway_url
        && !has_scheme_and_host(url, &["ws://", "wss://"])
    {
        checker.fail(
            "discord.gatewayUrl",
            format!("must be a ws:// or wss:// URL (got {url:?})"),
        );
    }
}

fn check_privatebin(checker: &mut Checker, privatebin: &PrivateBinConfig) {
    if !has_scheme_and_host(&privatebin.url, &["http://", "https://"]) {
        checker.fail(
            "privatebin.url",
            format!(
                "must be an http:// or https:// URL (got {:?})",
                privatebin.url
            ),
        );
    }
}

fn has_scheme_and_host(url: &str, schemes: &[&str]) -> bool {
    schemes.iter().any(|scheme| {
        url.strip_prefix(scheme).is_some_and(|rest| {
            let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
            !host.is_empty() && !host.chars().any(char::is_whitespace)
        })
    })
}

fn check_category(checker: &mut Checker, path: &str, category: &CategoryConfig) {
    checker.snowflake(&format!("{path}.guildId"), &category.guild_id);
    checker.text(
        &format!("{path}.name"),
        &category.name,
        CATEGORY_NAME_MAX_CHARS,
    );
    checker.snowflake(
        &format!("{path}.parentChannelId"),
        &category.parent_channel_id,
    );
    if category.overflow_parent_channel_ids.len() > OVERFLOW_PARENTS_MAX {
        checker.fail(
            &format!("{path}.overflowParentChannelIds"),
            format!(
                "must name at most {OVERFLOW_PARENTS_MAX} categories (got {})",
                category.overflow_parent_channel_ids.len()
            ),
        );
    }
    for (index, parent) in category.overflow_parent_channel_ids.iter().enumerate() {
        let field = format!("{path}.overflowParentChannelIds[{index}]");
        checker.snowflake(&field, parent);
        if parent == &category.parent_channel_id {
            checker.fail(&field, "is parentChannelId itself");
        }
        if let Some(first) = category.overflow_parent_channel_ids[..index]
            .iter()
            .position(|p| p == parent)
        {
            checker.fail(&field, format!("repeats overflowParentChannelIds[{first}]"));
        }
    }
    if usize::from(category.create_overflow_parents) > OVERFLOW_PARENTS_MAX {
        checker.fail(
            &format!("{path}.createOverflowParents"),
            format!(
                "must be 0–{OVERFLOW_PARENTS_MAX} (got {})",
                category.create_overflow_parents
            ),
        );
    }
    checker.snowflake(
        &format!("{path}.createChannelId"),
        &category.create_channel_id,
    );
    if category.role_ids.len() > ROLE_IDS_MAX {
        checker.fail(
            &format!("{path}.roleIds"),
            format!(
                "must name at most {ROLE_IDS_MAX} roles (got {})",
                category.role_ids.len()
            ),
        );
    }
    for (index, role) in category.role_ids.iter().enumerate() {
        let field = format!("{path}.roleIds[{index}]");
        checker.snowflake(&field, role);
        if role == &category.guild_id {
            checker.fail(
                &field,
                "is the guild id, which is the @everyone role: every member would see every \
                 ticket"
                    .to_owned(),
            );
        }
        if let Some(first) = category.role_ids[..index].iter().position(|r| r == role) {
            checker.fail(&field, format!("repeats roleIds[{first}]"));
        }
    }
    checker.snowflake(&format!("{path}.logChannelId"), &category.log_channel_id);
    checker.text(
        &format!("{path}.createMessage"),
        &category.create_message,
        MESSAGE_MAX_CHARS,
    );
    checker.text(
        &format!("{path}.createdMessage"),
        &category.created_message,
        MESSAGE_MAX_CHARS,
    );
    check_button(
        checker,
        &format!("{path}.createButton"),
        &category.create_button,
    );
    check_button(
        checker,
        &format!("{path}.closeButton"),
        &category.close_button,
    );
    if let Some(panel) = &category.panel {
        check_panel(checker, &format!("{path}.panel"), panel);
    }
    if category.questions.len() > QUESTIONS_MAX {
        checker.fail(
            &format!("{path}.questions"),
            format!(
                "must hold at most {QUESTIONS_MAX} questions, Discord's limit for one form (got {})",
                category.questions.len()
            ),
        );
    }
    for (index, question) in category.questions.iter().enumerate() {
        check_question(checker, &format!("{path}.questions[{index}]"), question);
    }
    let dm = &category.dm_on_close;
    match &dm.message {
        Some(message) => checker.text(
            &format!("{path}.dmOnClose.message"),
            message,
            MESSAGE_MAX_CHARS,
        ),
        None if dm.enabled => checker.fail(
            &format!("{path}.dmOnClose.message"),
            "is required when dmOnClose.enabled is true",
        ),
        None => {}
    }
    let timeout = category.request_close_timeout_seconds;
    if !(1..=REQUEST_CLOSE_TIMEOUT_MAX_SECONDS).contains(&timeout) {
        checker.fail(
            &format!("{path}.requestCloseTimeoutSeconds"),
            format!(
                "must be 1–{REQUEST_CLOSE_TIMEOUT_MAX_SECONDS} seconds (30 days; got {timeout})"
            ),
        );
    }
    if let Some(auto_close) = &category.auto_close {
        let inactive = auto_close.inactive_seconds;
        if !(1..=AUTO_CLOSE_INACTIVE_MAX_SECONDS).contains(&inactive) {
            checker.fail(
                &format!("{path}.autoClose.inactiveSeconds"),
                format!(
                    "must be 1–{AUTO_CLOSE_INACTIVE_MAX_SECONDS} seconds (one year; got {inactive})"
                ),
            );
        }
        let warning = auto_close.warning_seconds;
        if warning >= inactive {
            checker.fail(
                &format!("{path}.autoClose.warningSeconds"),
                format!("must be less than autoClose.inactiveSeconds ({inactive}; got {warning})"),
            );
        }
    }
    check_limits(checker, path, category);
    check_thread_mode(checker, path, category);
}

/// Refuses what thread mode cannot honour: a thread has no overwrites and no channel category.
fn check_thread_mode(checker: &mut Checker, path: &str, category: &CategoryConfig) {
    if !category.thread_mode {
        return;
    }
    if category.claim_locks_writing {
        checker.fail(
            &format!("{path}.claimLocksWriting"),
            "cannot be true with threadMode: a thread has no permission overwrites to lock",
        );
    }
    if !category.overflow_parent_channel_ids.is_empty() {
        checker.fail(
            &format!("{path}.overflowParentChannelIds"),
            "must be empty with threadMode: threads are not held by channel categories",
        );
    }
    if category.create_overflow_parents > 0 {
        checker.fail(
            &format!("{path}.createOverflowParents"),
            "must be 0 with threadMode: threads are not held by channel categories",
        );
    }
}

/// The longest an abandoned ticket may wait before it closes by itself: one year. The shortest
/// is 1 second, like `requestCloseTimeoutSeconds` (tests need short waits).
const AUTO_CLOSE_INACTIVE_MAX_SECONDS: u32 = 365 * 24 * 60 * 60;

/// The highest cap of open tickets per guild.
const GUILD_CAP_MAX: u32 = 100_000;

/// The most tickets one member may hold open in one category.
const MAX_OPEN_PER_USER_MAX: u16 = 10;

/// The longest cooldown after a close: one week.
const COOLDOWN_MAX_SECONDS: u32 = 7 * 24 * 60 * 60;

/// Checks the opening limits of a category: the cooldown and the required and denied role
/// lists (bounded, unique, never @everyone).
fn check_limits(checker: &mut Checker, path: &str, category: &CategoryConfig) {
    let max_open = category.max_open_per_user;
    if !(1..=MAX_OPEN_PER_USER_MAX).contains(&max_open) {
        checker.fail(
            &format!("{path}.maxOpenPerUser"),
            format!("must be 1–{MAX_OPEN_PER_USER_MAX} (got {max_open})"),
        );
    }
    let cooldown = category.cooldown_seconds;
    if cooldown > COOLDOWN_MAX_SECONDS {
        checker.fail(
            &format!("{path}.cooldownSeconds"),
            format!("must be 0–{COOLDOWN_MAX_SECONDS} seconds (one week; got {cooldown})"),
        );
    }
    for (name, roles) in [
        ("requiredRoleIds", &category.required_role_ids),
        ("deniedRoleIds", &category.denied_role_ids),
    ] {
        if roles.len() > ROLE_IDS_MAX {
            checker.fail(
                &format!("{path}.{name}"),
                format!(
                    "must name at most {ROLE_IDS_MAX} roles (got {})",
                    roles.len()
                ),
            );
        }
        for (index, role) in roles.iter().enumerate() {
            let field = format!("{path}.{name}[{index}]");
            checker.snowflake(&field, role);
            if role == &category.guild_id {
                // Every member holds @everyone: requiring it is a no-op, denying it refuses all.
                checker.fail(&field, "is the guild id, which is the @everyone role");
            }
            if let Some(first) = roles[..index].iter().position(|r| r == role) {
                checker.fail(&field, format!("repeats {name}[{first}]"));
            }
        }
    }
}

/// The longest a close request may wait for the creator's answer: 30 days.
const REQUEST_CLOSE_TIMEOUT_MAX_SECONDS: u32 = 30 * 24 * 60 * 60;

/// The most overflow parents one category may name.
const OVERFLOW_PARENTS_MAX: usize = 10;
/// The most questions one form holds.
const QUESTIONS_MAX: usize = 5;
/// The longest question label Discord shows.
const QUESTION_LABEL_MAX_CHARS: usize = 45;
/// The longest text input placeholder Discord shows.
const QUESTION_PLACEHOLDER_MAX_CHARS: usize = 100;

fn check_question(checker: &mut Checker, path: &str, question: &QuestionConfig) {
    checker.text(
        &format!("{path}.label"),
        &question.label,
        QUESTION_LABEL_MAX_CHARS,
    );
    if let Some(placeholder) = &question.placeholder {
        checker.text(
            &format!("{path}.placeholder"),
            placeholder,
            QUESTION_PLACEHOLDER_MAX_CHARS,
        );
    }
    let max = question.max_length.unwrap_or(ANSWER_MAX_CHARS);
    if !(1..=ANSWER_MAX_CHARS).contains(&max) {
        checker.fail(
            &format!("{path}.maxLength"),
            format!("must be 1–{ANSWER_MAX_CHARS} characters (one field of the ticket's first message; got {max})"),
        );
    }
    if let Some(min) = question.min_length
        && min > max
    {
        checker.fail(
            &format!("{path}.minLength"),
            format!("must not exceed maxLength ({max}; got {min})"),
        );
    }
}

/// The longest panel name.
const PANEL_NAME_MAX_CHARS: usize = 32;
/// The longest select option description Discord shows.
const OPTION_DESCRIPTION_MAX_CHARS: usize = 100;
/// The longest select menu placeholder Discord shows.
const PLACEHOLDER_MAX_CHARS: usize = 150;

fn check_panel(checker: &mut Checker, path: &str, panel: &PanelPlacementConfig) {
    let name = &panel.name;
    let well_formed = name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !name.starts_with('-');
    if name.is_empty() || name.chars().count() > PANEL_NAME_MAX_CHARS || !well_formed {
        checker.fail(
            &format!("{path}.name"),
            format!(
                "must be 1–{PANEL_NAME_MAX_CHARS} lowercase letters, digits and '-', not starting \
                 with '-' (got {name:?})"
            ),
        );
    }
    if let Some(description) = &panel.description {
        checker.text(
            &format!("{path}.description"),
            description,
            OPTION_DESCRIPTION_MAX_CHARS,
        );
    }
    if let Some(placeholder) = &panel.placeholder {
        checker.text(
            &format!("{path}.placeholder"),
            placeholder,
            PLACEHOLDER_MAX_CHARS,
        );
    }
}

fn check_button(checker: &mut Checker, path: &str, button: &ButtonConfig) {
    checker.text(
        &format!("{path}.label"),
        &button.label,
        BUTTON_LABEL_MAX_CHARS,
    );
    if let Some(emoji) = &button.emoji
        && Emoji::parse(emoji).is_none()
    {
        checker.fail(
            &format!("{path}.emoji"),
            format!(
                "must be a Unicode emoji or a custom emoji <:name:id> / <a:name:id> (got {emoji:?})"
            ),
        );
    }
}
