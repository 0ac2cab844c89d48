//! Running an application command: what the user fills in ([`CommandInput`], [`OptionValue`])
//! and the options of the APPLICATION_COMMAND the Discord client sends for it, checked against the
//! command's definition as the client checks them before it lets the user send.
//!
//! See [Discord Docs/Application Commands, "Application Command Option Structure"](https://discord.com/developers/docs/interactions/application-commands#application-command-object-application-command-option-structure).

use std::collections::HashSet;

use serde_json::{Value, json};

use super::command::{INTEGER, MAX_STRING_LENGTH, NUMBER, STRING, SUB_COMMAND, SUB_COMMAND_GROUP};
use super::control_error::ControlError;

const BOOLEAN: u64 = 5;
const USER: u64 = 6;
const CHANNEL: u64 = 7;

/// A value a user gives an option in the Discord client.
#[derive(Debug, Clone, PartialEq)]
pub enum OptionValue {
    /// STRING (3).
    String(String),
    /// INTEGER (4).
    Integer(i64),
    /// BOOLEAN (5).
    Boolean(bool),
    /// USER (6): a user picked by id; resolved into `resolved.users` (and `members`).
    User(u64),
    /// CHANNEL (7): a channel picked by id; resolved into `resolved.channels`.
    Channel(u64),
    /// NUMBER (10).
    Number(f64),
}

impl OptionValue {
    /// A string value.
    pub fn string(text: &str) -> Self {
        Self::String(text.to_owned())
    }

    /// A user value.
    pub fn user(user_id: u64) -> Self {
        Self::User(user_id)
    }

    /// A channel value.
    pub fn channel(channel_id: u64) -> Self {
        Self::Channel(channel_id)
    }

    fn kind(&self) -> u64 {
        match self {
            Self::String(_) => STRING,
            Self::Integer(_) => INTEGER,
            Self::Boolean(_) => BOOLEAN,
            Self::User(_) => USER,
            Self::Channel(_) => CHANNEL,
            Self::Number(_) => NUMBER,
        }
    }

    fn to_json(&self) -> Value {
        match self {
            Self::String(text) => json!(text),
            Self::Integer(n) => json!(n),
            Self::Boolean(b) => json!(b),
            Self::User(id) | Self::Channel(id) => json!(id.to_string()),
            Self::Number(n) => json!(n),
        }
    }
}

/// What a user fills in when running a command: a subcommand (or group) with its own inputs, or
/// a named value.
#[derive(Debug, Clone, PartialEq)]
pub enum CommandInput {
    /// A subcommand or a subcommand group, with what is given inside it.
    Sub {
        /// The subcommand's (or group's) name.
        name: String,
        /// Its inputs.
        inputs: Vec<CommandInput>,
    },
    /// A value for an option.
    Value {
        /// The option's name.
        name: String,
        /// The value given.
        value: OptionValue,
    },
}

impl CommandInput {
    /// A subcommand with values.
    pub fn sub(name: &str, values: &[(&str, OptionValue)]) -> Self {
        Self::Sub {
            name: name.to_owned(),
            inputs: values
                .iter()
                .map(|(name, value)| Self::value(name, value.clone()))
                .collect(),
        }
    }

    /// A subcommand group holding one subcommand.
    pub fn group(name: &str, sub: Self) -> Self {
        Self::Sub {
            name: name.to_owned(),
            inputs: vec![sub],
        }
    }

    /// A value for an option.
    pub fn value(name: &str, value: OptionValue) -> Self {
        Self::Value {
            name: name.to_owned(),
            value,
        }
    }
}

/// The options of an APPLICATION_COMMAND interaction's `data` for these inputs, checked against
/// the definitions as the Discord client checks them; the USER and CHANNEL values picked, for
/// `resolved`.
pub(crate) fn invocation_options(
    command: &str,
    definitions: &[Value],
    inputs: &[CommandInput],
    picked: &mut Vec<OptionValue>,
) -> Result<Vec<Value>, ControlError> {
    let unknown = |option: &str| ControlError::UnknownCommandOption {
        command: command.to_owned(),
        option: option.to_owned(),
    };
    let find = |name: &str| {
        definitions
            .iter()
            .find(|d| d["name"].as_str() == Some(name))
    };
    let nests = definitions
        .iter()
        .any(|d| matches!(d["type"].as_u64(), Some(SUB_COMMAND | SUB_COMMAND_GROUP)));
    if nests {
        // Exactly one subcommand (or group) is chosen.
        let [CommandInput::Sub { name, inputs }] = inputs else {
            return Err(ControlError::SubcommandRequired(command.to_owned()));
        };
        let definition = find(name).ok_or_else(|| unknown(name))?;
        let children = definition["options"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let kind = definition["type"].as_u64().unwrap_or(SUB_COMMAND);
        let options = invocation_options(&format!("{command} {name}"), &children, inputs, picked)?;
        return Ok(vec![
            json!({"name": name, "type": kind, "options": options}),
        ]);
    }
    let mut out = Vec::new();
    let mut given = HashSet::new();
    for input in inputs {
        let (name, value) = match input {
            CommandInput::Value { name, value } => (name, value),
            CommandInput::Sub { name, .. } => return Err(unknown(name)),
        };
        let definition = find(name).ok_or_else(|| unknown(name))?;
        if !given.insert(name.clone()) {
            return Err(unknown(name));
        }
        let expected = definition["type"].as_u64().unwrap_or_default();
        if value.kind() != expected {
            return Err(ControlError::CommandOptionType {
                option: name.clone(),
                expected,
            });
        }
        if let OptionValue::String(text) = value {
            let length = text.chars().count();
            let bound = |key: &str, default: u64| {
                usize::try_from(definition[key].as_u64().unwrap_or(default)).unwrap_or(usize::MAX)
            };
            let (min, max) = (
                bound("min_length", 0),
                bound("max_length", MAX_STRING_LENGTH),
            );
            if !(min.max(1)..=max).contains(&length) {
                return Err(ControlError::CommandOptionLength {
                    option: name.clone(),
                    length,
                    min,
                    max,
                });
            }
        }
        if let Some(choices) = definition["choices"].as_array().filter(|c| !c.is_empty()) {
            let json = value.to_json();
            let chosen = choices.iter().any(|c| match (&c["value"], value) {
                (v, OptionValue::Number(n)) => v.as_f64() == Some(*n),
                (v, _) => *v == json,
            });
            if !chosen {
                return Err(ControlError::CommandOptionChoice(name.clone()));
            }
        }
        if matches!(value, OptionValue::User(_) | OptionValue::Channel(_)) {
            picked.push(value.clone());
        }
        out.push(json!({"name": name, "type": expected, "value": value.to_json()}));
    }
    if let Some(missing) = definitions.iter().find(|d| {
        d["required"].as_bool().unwrap_or(false)
            && d["name"].as_str().is_some_and(|n| !given.contains(n))
    }) {
        return Err(ControlError::CommandOptionRequired {
            command: command.to_owned(),
            option: missing["name"].as_str().unwrap_or_default().to_owned(),
        });
    }
    Ok(out)
}
