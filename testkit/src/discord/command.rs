//! Application commands: a bulk overwrite's body validated as Discord does, the commands as
//! stored, and what the Discord client sends when a user runs one (or why it would not let them).
//!
//! The inputs of a run and the client's checks of them are in `command_input`.
//!
//! Past 450 lines: Discord's rules for a definition are many small checks, one a rule, and they
//! read best in one place beside the stored command they produce.
//!
//! See [Discord Docs/Application Commands](https://discord.com/developers/docs/interactions/application-commands).

use std::collections::HashSet;

use serde::Serialize;
use serde_json::{Value, json};

use super::api_error::{ApiError, FormErrors};
use super::permissions;

/// Most options (or choices) at one level.
const MAX_OPTIONS: usize = 25;
/// Most CHAT_INPUT commands per guild (or globally).
const MAX_CHAT_INPUT: usize = 100;
/// Most USER and most MESSAGE commands.
const MAX_CONTEXT_MENU: usize = 5;
/// Bound of a string option's `min_length` and `max_length`.
pub(crate) const MAX_STRING_LENGTH: u64 = 6000;

/// Option types: SUB_COMMAND, SUB_COMMAND_GROUP, STRING, INTEGER, BOOLEAN, USER, CHANNEL, ROLE,
/// MENTIONABLE, NUMBER, ATTACHMENT.
pub(crate) const SUB_COMMAND: u64 = 1;
pub(crate) const SUB_COMMAND_GROUP: u64 = 2;
pub(crate) const STRING: u64 = 3;
pub(crate) const INTEGER: u64 = 4;
pub(crate) const NUMBER: u64 = 10;

/// A registered application command, as the emulator stores it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ApplicationCommand {
    /// The command's id, kept across overwrites while name and type stay.
    pub id: u64,
    /// Changes whenever the definition does.
    pub version: u64,
    /// The guild it is registered in; `None` for a global command.
    pub guild_id: Option<u64>,
    /// 1 CHAT_INPUT, 2 USER, 3 MESSAGE.
    pub kind: u64,
    /// The command's name.
    pub name: String,
    /// Its description (empty for USER and MESSAGE commands).
    pub description: String,
    /// The options as registered (Discord's JSON, nulls dropped).
    pub options: Vec<Value>,
    /// Who may see and run it: `None` everyone, `Some(0)` administrators only.
    pub default_member_permissions: Option<u64>,
    /// Whether it is age-restricted.
    pub nsfw: bool,
    /// Where it may be used (interaction context types) as registered; `null` when unset.
    pub contexts: Value,
    /// Where it is installed as registered; `[0]` (guild install) when unset.
    pub integration_types: Value,
}

impl ApplicationCommand {
    /// Whether a member with `guild_permissions` sees the command in the client.
    pub fn usable_with(&self, guild_permissions: u64) -> bool {
        guild_permissions & permissions::ADMINISTRATOR != 0
            || self
                .default_member_permissions
                .is_none_or(|needed| needed != 0 && guild_permissions & needed == needed)
    }

    /// The command object Discord returns for it.
    pub fn to_json(&self, application_id: u64) -> Value {
        let id = |n: u64| Value::String(n.to_string());
        let mut value = json!({
            "id": id(self.id),
            "application_id": id(application_id),
            "version": id(self.version),
            "default_member_permissions": self.default_member_permissions.map(|p| p.to_string()),
            "type": self.kind,
            "name": self.name,
            "name_localizations": null,
            "description": self.description,
            "description_localizations": null,
            "nsfw": self.nsfw,
        });
        if !self.options.is_empty() {
            value["options"] = Value::Array(self.options.clone());
        }
        // Discord keeps what was registered, and fills in a guild install when nothing was
        // given. A guild command has a `guild_id` and no `dm_permission`.
        value["contexts"] = self.contexts.clone();
        value["integration_types"] = self.integration_types.clone();
        if let Some(guild_id) = self.guild_id {
            value["guild_id"] = id(guild_id);
        } else {
            value["dm_permission"] = json!(true);
        }
        value
    }

    /// The definition a bulk overwrite compares to decide whether the version changes.
    fn definition(&self) -> Value {
        json!([
            self.kind,
            self.name,
            self.description,
            self.options,
            self.default_member_permissions,
            self.nsfw,
            self.contexts,
            self.integration_types
        ])
    }
}

/// A command as a bulk overwrite defines it, before ids are given.
#[derive(Debug, Clone)]
pub(crate) struct CommandDraft {
    pub(crate) kind: u64,
    pub(crate) name: String,
    pub(crate) description: String,
    pub(crate) options: Vec<Value>,
    pub(crate) default_member_permissions: Option<u64>,
    pub(crate) nsfw: bool,
    pub(crate) contexts: Value,
    pub(crate) integration_types: Value,
}

/// Replaces `existing` with `drafts`: a command whose name and type existed keeps its id, and its
/// version when the definition did not change. `next_id` gives new snowflakes.
pub(crate) fn overwrite(
    existing: &[ApplicationCommand],
    drafts: Vec<CommandDraft>,
    guild_id: Option<u64>,
    mut next_id: impl FnMut() -> u64,
) -> Vec<ApplicationCommand> {
    drafts
        .into_iter()
        .map(|draft| {
            let old = existing
                .iter()
                .find(|c| c.kind == draft.kind && c.name == draft.name);
            let mut command = ApplicationCommand {
                id: 0,
                version: 0,
                guild_id,
                kind: draft.kind,
                name: draft.name,
                description: draft.description,
                options: draft.options,
                default_member_permissions: draft.default_member_permissions,
                nsfw: draft.nsfw,
                contexts: draft.contexts,
                integration_types: draft.integration_types,
            };
            if let Some(old) = old {
                command.id = old.id;
                command.version = if old.definition() == command.definition() {
                    old.version
                } else {
                    next_id()
                };
            } else {
                command.id = next_id();
                command.version = next_id();
            }
            command
        })
        .collect()
}

fn field<'a>(value: &'a Value, name: &str) -> Option<&'a Value> {
    value.get(name).filter(|v| !v.is_null())
}

fn path_of(base: &[String], rest: &str) -> Vec<String> {
    let mut path = base.to_vec();
    path.push(rest.to_owned());
    path
}

/// Whether `name` is a valid CHAT_INPUT command or option name: `^[-_\p{L}\p{N}]{1,32}$`, and
/// lowercase where the letter has a lowercase form.
fn valid_chat_input_name(name: &str) -> bool {
    let length = name.chars().count();
    (1..=32).contains(&length)
        && name.chars().all(|c| {
            (c == '-' || c == '_' || c.is_alphabetic() || c.is_numeric())
                && c.to_lowercase().eq(std::iter::once(c))
        })
}

struct Checker {
    errors: FormErrors,
}

impl Checker {
    fn push(&mut self, path: &[String], code: &str, message: &str) {
        self.errors.push(path.to_vec(), code, message);
    }

    fn required(&mut self, path: &[String]) {
        self.push(path, "BASE_TYPE_REQUIRED", "This field is required");
    }

    /// A chat-input style name (commands of type 1 and every option).
    fn chat_input_name(&mut self, parent: &Value, path: &[String]) -> Option<String> {
        let Some(value) = field(parent, "name") else {
            self.required(path);
            return None;
        };
        let Some(name) = value.as_str() else {
            self.push(path, "BASE_TYPE_STRING", "Must be a string.");
            return None;
        };
        let length = name.chars().count();
        if !(1..=32).contains(&length) {
            self.push(
                path,
                "BASE_TYPE_BAD_LENGTH",
                "Must be between 1 and 32 in length.",
            );
        } else if !valid_chat_input_name(name) {
            self.push(
                path,
                "APPLICATION_COMMAND_INVALID_NAME",
                "Command name is invalid",
            );
        }
        Some(name.to_owned())
    }

    /// A string of `min..=max` characters; `None` when absent (and then required if `min > 0`).
    fn text(&mut self, parent: &Value, path: &[String], min: usize, max: usize) -> Option<String> {
        let name = path.last().map(String::as_str).unwrap_or_default();
        let Some(value) = field(parent, name) else {
            if min > 0 {
                self.required(path);
            }
            return None;
        };
        let Some(text) = value.as_str() else {
            self.push(path, "BASE_TYPE_STRING", "Must be a string.");
            return None;
        };
        if !(min..=max).contains(&text.chars().count()) {
            self.push(
                path,
                "BASE_TYPE_BAD_LENGTH",
                &format!("Must be between {min} and {max} in length."),
            );
        }
        Some(text.to_owned())
    }

    fn bounded(&mut self, parent: &Value, path: &[String], min: u64, max: u64) -> Option<u64> {
        let name = path.last().map(String::as_str).unwrap_or_default();
        let value = field(parent, name)?;
        match value.as_u64() {
            Some(n) if n < min => self.push(
                path,
                "NUMBER_TYPE_MIN",
                &format!("int value should be greater than or equal to {min}."),
            ),
            Some(n) if n > max => self.push(
                path,
                "NUMBER_TYPE_MAX",
                &format!("int value should be less than or equal to {max}."),
            ),
            Some(n) => return Some(n),
            None => self.push(path, "NUMBER_TYPE_COERCE", "Value is not int."),
        }
        None
    }

    /// The options of a command (`depth` 0), a subcommand group (1) or a subcommand (2).
    fn options(
        &mut self,
        parent: &Value,
        base: &[String],
        depth: u8,
        in_group: bool,
    ) -> Vec<Value> {
        let path = path_of(base, "options");
        let Some(value) = field(parent, "options") else {
            return Vec::new();
        };
        let Some(list) = value.as_array() else {
            self.push(&path, "BASE_TYPE_ARRAY", "Must be an array.");
            return Vec::new();
        };
        if list.len() > MAX_OPTIONS {
            self.push(
                &path,
                "BASE_TYPE_MAX_LENGTH",
                &format!("Must be {MAX_OPTIONS} or fewer in length."),
            );
        }
        let kinds: Vec<Option<u64>> = list.iter().map(|o| o["type"].as_u64()).collect();
        let nesting = kinds
            .iter()
            .filter(|k| matches!(k, Some(SUB_COMMAND | SUB_COMMAND_GROUP)))
            .count();
        if nesting > 0 && nesting < list.len() {
            self.push(
                &path,
                "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID",
                "Sub-command and sub-command group option types are mutually exclusive to all other types",
            );
        }
        let mut names = HashSet::new();
        let mut optional_seen = false;
        let mut out = Vec::new();
        for (index, option) in list.iter().enumerate() {
            let at = path_of(&path, &index.to_string());
            let kind = option["type"].as_u64();
            let name = self.chat_input_name(option, &path_of(&at, "name"));
            if let Some(name) = &name
                && !names.insert(name.clone())
            {
                self.push(
                    &path,
                    "APPLICATION_COMMAND_OPTIONS_DUPLICATE_NAME",
                    "Command option names must be unique",
                );
            }
            self.text(option, &path_of(&at, "description"), 1, 100);
            let required = option["required"].as_bool().unwrap_or(false);
            if required && optional_seen {
                self.push(
                    &path,
                    "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID",
                    "Required options must be placed before non-required options",
                );
            }
            optional_seen |= !required;
            let mut normalised = option.clone();
            if let Some(map) = normalised.as_object_mut() {
                map.retain(|_, v| !v.is_null());
            }
            match kind {
                Some(SUB_COMMAND) if depth < 2 => {
                    normalised["options"] = Value::Array(self.options(option, &at, 2, false));
                }
                Some(SUB_COMMAND_GROUP) if depth == 0 => {
                    let children = self.options(option, &at, 1, true);
                    normalised["options"] = Value::Array(children);
                }
                Some(SUB_COMMAND | SUB_COMMAND_GROUP) => self.push(
                    &path_of(&at, "type"),
                    "APPLICATION_COMMAND_OPTION_TYPE_INVALID",
                    "Sub-commands and groups cannot be nested this deep",
                ),
                Some(_) if in_group => self.push(
                    &path_of(&at, "type"),
                    "APPLICATION_COMMAND_OPTION_TYPE_INVALID",
                    "A sub-command group may only contain sub-commands",
                ),
                Some(3..=11) => self.value_option(option, &at, kind.unwrap_or_default()),
                _ => self.push(
                    &path_of(&at, "type"),
                    "BASE_TYPE_CHOICES",
                    "Value must be one of {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}.",
                ),
            }
            if normalised["options"].as_array().is_some_and(Vec::is_empty)
                && let Some(map) = normalised.as_object_mut()
            {
                map.remove("options");
            }
            out.push(normalised);
        }
        out
    }

    /// The rules of an option that takes a value: choices and bounds.
    fn value_option(&mut self, option: &Value, at: &[String], kind: u64) {
        if let Some(choices) = field(option, "choices") {
            let path = path_of(at, "choices");
            let list = choices.as_array().cloned().unwrap_or_default();
            if !matches!(kind, STRING | INTEGER | NUMBER) && !list.is_empty() {
                self.push(
                    &path,
                    "APPLICATION_COMMAND_OPTION_CHOICES_INVALID",
                    "Choices are only allowed for string, integer and number options",
                );
            }
            if list.len() > MAX_OPTIONS {
                self.push(
                    &path,
                    "BASE_TYPE_MAX_LENGTH",
                    &format!("Must be {MAX_OPTIONS} or fewer in length."),
                );
            }
            for (index, choice) in list.iter().enumerate() {
                let at = path_of(&path, &index.to_string());
                self.text(choice, &path_of(&at, "name"), 1, 100);
                let value = &choice["value"];
                let fits = match kind {
                    STRING => value
                        .as_str()
                        .is_some_and(|s| (1..=100).contains(&s.chars().count())),
                    INTEGER => value.is_i64() || value.is_u64(),
                    NUMBER => value.is_number(),
                    _ => true,
                };
                if !fits {
                    let message = match kind {
                        STRING => "Must be between 1 and 100 in length.",
                        INTEGER => "Value is not int.",
                        _ => "Value is not float.",
                    };
                    self.push(&path_of(&at, "value"), "BASE_TYPE_CHOICES", message);
                }
            }
        }
        if kind == STRING {
            let min = self.bounded(option, &path_of(at, "min_length"), 0, MAX_STRING_LENGTH);
            let max = self.bounded(option, &path_of(at, "max_length"), 1, MAX_STRING_LENGTH);
            if let (Some(min), Some(max)) = (min, max)
                && min > max
            {
                self.push(
                    &path_of(at, "min_length"),
                    "NUMBER_TYPE_MAX",
                    &format!("int value should be less than or equal to {max}."),
                );
            }
        }
    }
}

/// Validates a bulk overwrite body (an array of commands), every failing field named by its path
/// (`0.options.1.name`) as Discord's 50035 does.
pub(crate) fn parse_bulk_overwrite(body: &Value) -> Result<Vec<CommandDraft>, ApiError> {
    let Some(list) = body.as_array() else {
        return Err(ApiError::invalid_field(
            &[],
            "BASE_TYPE_ARRAY",
            "Must be an array.",
        ));
    };
    let mut check = Checker {
        errors: FormErrors::default(),
    };
    let mut drafts = Vec::new();
    let mut seen = HashSet::new();
    for (index, command) in list.iter().enumerate() {
        let base = vec![index.to_string()];
        let kind = field(command, "type").map_or(Some(1), Value::as_u64);
        let Some(kind @ 1..=3) = kind else {
            check.push(
                &path_of(&base, "type"),
                "BASE_TYPE_CHOICES",
                "Value must be one of {1, 2, 3}.",
            );
            continue;
        };
        let name = if kind == 1 {
            check.chat_input_name(command, &path_of(&base, "name"))
        } else {
            check.text(command, &path_of(&base, "name"), 1, 32)
        };
        let description = if kind == 1 {
            check.text(command, &path_of(&base, "description"), 1, 100)
        } else {
            // USER and MESSAGE commands take an empty description.
            let text = check.text(command, &path_of(&base, "description"), 0, 0);
            text.filter(|t| !t.is_empty())
        };
        if let Some(name) = &name
            && !seen.insert((kind, name.clone()))
        {
            check.push(
                &path_of(&base, "name"),
                "APPLICATION_COMMAND_ALREADY_EXISTS",
                "Application command names must be unique",
            );
        }
        let options = if kind == 1 {
            check.options(command, &base, 0, false)
        } else {
            if field(command, "options").is_some_and(|o| o.as_array().is_none_or(|l| !l.is_empty()))
            {
                check.push(
                    &path_of(&base, "options"),
                    "APPLICATION_COMMAND_OPTIONS_INVALID",
                    "Only chat input commands take options",
                );
            }
            Vec::new()
        };
        let default_member_permissions = match field(command, "default_member_permissions") {
            None => None,
            Some(value) => {
                let bits = value
                    .as_str()
                    .and_then(|s| s.parse::<u64>().ok())
                    .filter(|bits| bits & !permissions::ALL == 0);
                if bits.is_none() {
                    check.push(
                        &path_of(&base, "default_member_permissions"),
                        "PERMISSIONS_INVALID",
                        "Invalid permission bits",
                    );
                }
                bits
            }
        };
        drafts.push(CommandDraft {
            kind,
            name: name.unwrap_or_default(),
            description: description.unwrap_or_default(),
            options,
            default_member_permissions,
            nsfw: command["nsfw"].as_bool().unwrap_or(false),
            contexts: command.get("contexts").cloned().unwrap_or(Value::Null),
            integration_types: command
                .get("integration_types")
                .filter(|types| !types.is_null())
                .cloned()
                .unwrap_or_else(|| json!([0])),
        });
    }
    if !check.errors.is_empty() {
        return Err(ApiError::invalid_form(&check.errors));
    }
    let count = |kind: u64| drafts.iter().filter(|d| d.kind == kind).count();
    if count(1) > MAX_CHAT_INPUT {
        return Err(ApiError::max_application_commands(MAX_CHAT_INPUT));
    }
    if count(2) > MAX_CONTEXT_MENU || count(3) > MAX_CONTEXT_MENU {
        return Err(ApiError::max_application_commands(MAX_CONTEXT_MENU));
    }
    Ok(drafts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chat_input_names_are_lowercase_letters_digits_dashes() {
        assert!(valid_chat_input_name("ticket"));
        assert!(valid_chat_input_name("add-user_2"));
        assert!(valid_chat_input_name("тикет"));
        assert!(!valid_chat_input_name("Ticket"));
        assert!(!valid_chat_input_name("two words"));
        assert!(!valid_chat_input_name(""));
    }

    #[test]
    fn an_unchanged_definition_keeps_id_and_version() {
        let draft = CommandDraft {
            kind: 1,
            name: "ticket".into(),
            description: "Tickets".into(),
            options: Vec::new(),
            default_member_permissions: None,
            nsfw: false,
            contexts: Value::Null,
            integration_types: json!([0]),
        };
        let mut n = 10;
        let first = overwrite(&[], vec![draft.clone()], Some(1), || {
            n += 1;
            n
        });
        let second = overwrite(&first, vec![draft.clone()], Some(1), || 99);
        assert_eq!(first, second);
        let changed = CommandDraft {
            description: "Other".into(),
            ..draft
        };
        let third = overwrite(&second, vec![changed], Some(1), || 100);
        assert_eq!(third[0].id, first[0].id);
        assert_eq!(third[0].version, 100);
    }

    #[test]
    fn zero_permissions_mean_administrators_only() {
        let command = ApplicationCommand {
            id: 1,
            version: 1,
            guild_id: Some(1),
            kind: 1,
            name: "x".into(),
            description: "x".into(),
            options: Vec::new(),
            default_member_permissions: Some(0),
            nsfw: false,
            contexts: Value::Null,
            integration_types: json!([0]),
        };
        assert!(!command.usable_with(permissions::ALL & !permissions::ADMINISTRATOR));
        assert!(command.usable_with(permissions::ADMINISTRATOR));
    }
}
