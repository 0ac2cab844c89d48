//! Discord's request-body rules for messages and channels, as pure functions.
//!
//! Limits from [Discord Docs/Message](https://discord.com/developers/docs/resources/message) and
//! [Discord Docs/Components](https://discord.com/developers/docs/components/reference).
//!
//! Past 450 lines with its tests, which pin each limit beside the rule.

use std::collections::HashSet;

use serde_json::Value;

use super::api_error::{ApiError, FormErrors};
use super::model::{ChannelKind, Overwrite, OverwriteKind};

/// Longest message content.
pub const MAX_CONTENT_CHARS: usize = 2000;
/// Most action rows on a message.
pub const MAX_ACTION_ROWS: usize = 5;
/// Most buttons in one action row.
pub const MAX_BUTTONS_PER_ROW: usize = 5;
/// Longest component custom id.
pub const MAX_CUSTOM_ID_CHARS: usize = 100;
/// Longest button label.
pub const MAX_BUTTON_LABEL_CHARS: usize = 80;
/// Most embeds on a message.
pub const MAX_EMBEDS: usize = 10;
/// Most characters in all of a message's embeds together (titles, descriptions, field names and
/// values, footer texts and author names).
pub const MAX_EMBED_TOTAL_CHARS: usize = 6000;
/// Custom emoji names: 2 to 32 of `[A-Za-z0-9_]`.
const CUSTOM_EMOJI_NAME_CHARS: std::ops::RangeInclusive<usize> = 2..=32;

/// The message fields a create or edit request carries; `None` means "not sent".
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct MessageDraft {
    pub(crate) content: Option<String>,
    pub(crate) components: Option<Vec<Value>>,
    pub(crate) embeds: Option<Vec<Value>>,
    pub(crate) flags: Option<u64>,
    pub(crate) allowed_mentions: Option<Value>,
    pub(crate) reference: Option<u64>,
}

impl MessageDraft {
    /// Whether sending this would produce a message with nothing in it.
    pub(crate) fn is_empty(&self) -> bool {
        self.content.as_deref().is_none_or(str::is_empty)
            && self.components.as_ref().is_none_or(Vec::is_empty)
            && self.embeds.as_ref().is_none_or(Vec::is_empty)
    }
}

/// Reads a snowflake sent as a string or a number.
pub(crate) fn snowflake(value: &Value) -> Option<u64> {
    match value {
        Value::String(text) => text.parse().ok(),
        Value::Number(number) => number.as_u64(),
        _ => None,
    }
}

/// Reads a permission bit set sent as a decimal string or a number.
pub(crate) fn permission_bits(value: &Value) -> Option<u64> {
    snowflake(value)
}

fn too_long(errors: &mut FormErrors, path: Vec<String>, max: usize) {
    errors.push(
        path,
        "BASE_TYPE_MAX_LENGTH",
        &format!("Must be {max} or fewer in length."),
    );
}

fn char_len(value: &Value) -> usize {
    value.as_str().map_or(0, |text| text.chars().count())
}

/// Parses and validates a message sent through an interaction or a webhook. Without an explicit
/// `allowed_mentions` these parse only user mentions (a channel message parses everything).
pub(crate) fn webhook_message_draft(body: &Value) -> Result<MessageDraft, ApiError> {
    let mut draft = message_draft(body)?;
    if draft.allowed_mentions.is_none() {
        draft.allowed_mentions = Some(serde_json::json!({"parse": ["users"]}));
    }
    Ok(draft)
}

/// Parses and validates a message body (create, edit, interaction response or webhook).
pub(crate) fn message_draft(body: &Value) -> Result<MessageDraft, ApiError> {
    let mut errors = FormErrors::default();
    let mut draft = MessageDraft::default();
    if let Some(content) = body.get("content").filter(|v| !v.is_null()) {
        match content.as_str() {
            Some(text) => {
                if text.chars().count() > MAX_CONTENT_CHARS {
                    too_long(&mut errors, vec!["content".into()], MAX_CONTENT_CHARS);
                }
                draft.content = Some(text.to_owned());
            }
            None => errors.push(
                vec!["content".into()],
                "BASE_TYPE_STRING",
                "Must be a string.",
            ),
        }
    }
    if let Some(embeds) = body.get("embeds").filter(|v| !v.is_null()) {
        let list = embeds.as_array().cloned().unwrap_or_default();
        if list.len() > MAX_EMBEDS {
            too_long(&mut errors, vec!["embeds".into()], MAX_EMBEDS);
        }
        for (index, embed) in list.iter().enumerate() {
            if char_len(&embed["title"]) > 256 {
                too_long(
                    &mut errors,
                    vec!["embeds".into(), index.to_string(), "title".into()],
                    256,
                );
            }
            if char_len(&embed["description"]) > 4096 {
                too_long(
                    &mut errors,
                    vec!["embeds".into(), index.to_string(), "description".into()],
                    4096,
                );
            }
        }
        let total: usize = list.iter().map(embed_chars).sum();
        if total > MAX_EMBED_TOTAL_CHARS {
            errors.push(
                vec!["embeds".into()],
                "MAX_EMBED_SIZE_EXCEEDED",
                &format!("Embed size exceeds maximum size of {MAX_EMBED_TOTAL_CHARS}"),
            );
        }
        draft.embeds = Some(list);
    }
    if let Some(components) = body.get("components").filter(|v| !v.is_null()) {
        let list = components.as_array().cloned().unwrap_or_default();
        validate_components(&list, &mut errors);
        draft.components = Some(list);
    }
    draft.flags = body.get("flags").and_then(Value::as_u64);
    draft.allowed_mentions = body
        .get("allowed_mentions")
        .filter(|v| !v.is_null())
        .cloned();
    draft.reference = body
        .get("message_reference")
        .and_then(|reference| reference.get("message_id"))
        .and_then(snowflake);
    if errors.is_empty() {
        Ok(draft)
    } else {
        Err(ApiError::invalid_form(&errors))
    }
}

/// The characters of one embed that count towards Discord's 6000 per message.
fn embed_chars(embed: &Value) -> usize {
    let fields: usize = embed["fields"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|field| char_len(&field["name"]) + char_len(&field["value"]))
        .sum();
    char_len(&embed["title"])
        + char_len(&embed["description"])
        + char_len(&embed["footer"]["text"])
        + char_len(&embed["author"]["name"])
        + fields
}

/// Which part of a button's `emoji` Discord refuses, if any: a custom emoji (with an `id`) needs a
/// snowflake id and a 2–32 character `[A-Za-z0-9_]` name; any other must be a Unicode emoji.
fn invalid_emoji_field(emoji: &Value) -> Option<&'static str> {
    let name = emoji["name"].as_str().unwrap_or_default();
    let Some(id) = emoji.get("id").filter(|id| !id.is_null()) else {
        return emojis::get(name).is_none().then_some("name");
    };
    let name_ok = CUSTOM_EMOJI_NAME_CHARS.contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if snowflake(id).is_none() {
        Some("id")
    } else if !name_ok {
        Some("name")
    } else {
        None
    }
}

fn validate_components(rows: &[Value], errors: &mut FormErrors) {
    if rows.len() > MAX_ACTION_ROWS {
        too_long(errors, vec!["components".into()], MAX_ACTION_ROWS);
    }
    let mut seen_ids = HashSet::new();
    for (row_index, row) in rows.iter().enumerate() {
        let row_path = |rest: &[&str]| -> Vec<String> {
            let mut path = vec!["components".to_owned(), row_index.to_string()];
            path.extend(rest.iter().map(|s| (*s).to_owned()));
            path
        };
        if row.get("type").and_then(Value::as_u64) != Some(1) {
            // Components V2 layouts are not modelled; the bot sends classic action rows.
            continue;
        }
        let children = row["components"].as_array().cloned().unwrap_or_default();
        if children.is_empty() || children.len() > MAX_BUTTONS_PER_ROW {
            errors.push(
                row_path(&["components"]),
                "BASE_TYPE_BAD_LENGTH",
                &format!("Must be between 1 and {MAX_BUTTONS_PER_ROW} in length."),
            );
        }
        let has_select = children
            .iter()
            .any(|c| matches!(c["type"].as_u64(), Some(3 | 5..=8)));
        if has_select && children.len() > 1 {
            errors.push(
                row_path(&["components"]),
                "COMPONENT_LAYOUT_WIDTH_EXCEEDED",
                "The specified component exceeds the maximum width",
            );
        }
        for (index, child) in children.iter().enumerate() {
            let index = index.to_string();
            let path = |field: &str| row_path(&["components", &index, field]);
            if let Some(custom_id) = child.get("custom_id").and_then(Value::as_str) {
                if !(1..=MAX_CUSTOM_ID_CHARS).contains(&custom_id.chars().count()) {
                    errors.push(
                        path("custom_id"),
                        "BASE_TYPE_BAD_LENGTH",
                        &format!("Must be between 1 and {MAX_CUSTOM_ID_CHARS} in length."),
                    );
                }
                if !seen_ids.insert(custom_id.to_owned()) {
                    errors.push(
                        path("custom_id"),
                        "COMPONENT_CUSTOM_ID_DUPLICATED",
                        "Component custom id cannot be duplicated",
                    );
                }
            }
            if child["type"].as_u64() == Some(3) {
                validate_string_select(child, &path, errors);
                continue;
            }
            if child["type"].as_u64() != Some(2) {
                continue;
            }
            if char_len(&child["label"]) > MAX_BUTTON_LABEL_CHARS {
                too_long(errors, path("label"), MAX_BUTTON_LABEL_CHARS);
            }
            if let Some(field) = child
                .get("emoji")
                .filter(|e| !e.is_null())
                .and_then(invalid_emoji_field)
            {
                let mut emoji_path = path("emoji");
                emoji_path.push(field.to_owned());
                errors.push(
                    emoji_path,
                    "BUTTON_COMPONENT_INVALID_EMOJI",
                    "Invalid emoji",
                );
            }
            match child["style"].as_u64() {
                Some(5) => {
                    if child.get("url").and_then(Value::as_str).is_none() {
                        errors.push(path("url"), "BASE_TYPE_REQUIRED", "This field is required");
                    }
                    if child.get("custom_id").is_some_and(|v| !v.is_null()) {
                        errors.push(
                            path("custom_id"),
                            "BUTTON_COMPONENT_CUSTOM_ID_NOT_ALLOWED",
                            "A custom id cannot be set for link buttons",
                        );
                    }
                }
                Some(1..=4) => {
                    if child.get("custom_id").and_then(Value::as_str).is_none() {
                        errors.push(
                            path("custom_id"),
                            "BASE_TYPE_REQUIRED",
                            "This field is required",
                        );
                    }
                }
                Some(6) => {}
                _ => errors.push(
                    path("style"),
                    "BASE_TYPE_CHOICES",
                    "Value must be one of {1, 2, 3, 4, 5, 6}.",
                ),
            }
        }
    }
}

/// Discord's limits on a string select menu: its options, their texts, the placeholder and how
/// many values may be chosen.
///
/// See [Discord Docs/String Select](https://discord.com/developers/docs/components/reference#string-select).
pub const MAX_SELECT_OPTIONS: usize = 25;
/// The longest option label, value or description.
pub const MAX_SELECT_OPTION_CHARS: usize = 100;
/// The longest select menu placeholder.
pub const MAX_SELECT_PLACEHOLDER_CHARS: usize = 150;

fn validate_string_select(
    select: &Value,
    path: &dyn Fn(&str) -> Vec<String>,
    errors: &mut FormErrors,
) {
    if select.get("custom_id").and_then(Value::as_str).is_none() {
        errors.push(
            path("custom_id"),
            "BASE_TYPE_REQUIRED",
            "This field is required",
        );
    }
    if char_len(&select["placeholder"]) > MAX_SELECT_PLACEHOLDER_CHARS {
        too_long(errors, path("placeholder"), MAX_SELECT_PLACEHOLDER_CHARS);
    }
    let options = select["options"].as_array().cloned().unwrap_or_default();
    if options.is_empty() || options.len() > MAX_SELECT_OPTIONS {
        errors.push(
            path("options"),
            "BASE_TYPE_BAD_LENGTH",
            &format!("Must be between 1 and {MAX_SELECT_OPTIONS} in length."),
        );
    }
    let bound =
        |field: &str, default: u64| select.get(field).and_then(Value::as_u64).unwrap_or(default);
    let (min_values, max_values) = (bound("min_values", 1), bound("max_values", 1));
    if min_values > MAX_SELECT_OPTIONS as u64 {
        errors.push(
            path("min_values"),
            "NUMBER_TYPE_MAX",
            &format!("int value should be less than or equal to {MAX_SELECT_OPTIONS}."),
        );
    }
    if !(1..=MAX_SELECT_OPTIONS as u64).contains(&max_values) {
        errors.push(
            path("max_values"),
            "NUMBER_TYPE_MAX",
            &format!("int value should be between 1 and {MAX_SELECT_OPTIONS}."),
        );
    }
    let mut values = HashSet::new();
    for (index, option) in options.iter().enumerate() {
        let option_path = |field: &str| {
            let mut full = path("options");
            full.push(index.to_string());
            full.push(field.to_owned());
            full
        };
        for field in ["label", "value"] {
            match option.get(field).and_then(Value::as_str) {
                None => errors.push(
                    option_path(field),
                    "BASE_TYPE_REQUIRED",
                    "This field is required",
                ),
                Some(text) if text.chars().count() > MAX_SELECT_OPTION_CHARS => {
                    too_long(errors, option_path(field), MAX_SELECT_OPTION_CHARS);
                }
                Some(_) => {}
            }
        }
        if char_len(&option["description"]) > MAX_SELECT_OPTION_CHARS {
            too_long(errors, option_path("description"), MAX_SELECT_OPTION_CHARS);
        }
        if let Some(field) = option
            .get("emoji")
            .filter(|e| !e.is_null())
            .and_then(invalid_emoji_field)
        {
            let mut emoji_path = option_path("emoji");
            emoji_path.push(field.to_owned());
            errors.push(
                emoji_path,
                "SELECT_COMPONENT_INVALID_EMOJI",
                "Invalid emoji",
            );
        }
        // Discord refuses two options with one value; its error code for it is undocumented, so
        // this one is a stand-in.
        if let Some(value) = option.get("value").and_then(Value::as_str)
            && !values.insert(value.to_owned())
        {
            errors.push(
                option_path("value"),
                "SELECT_COMPONENT_OPTION_VALUE_DUPLICATED",
                "Select component option values must be unique",
            );
        }
    }
}

/// A validated Create Guild Channel body.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ChannelDraft {
    pub(crate) name: String,
    pub(crate) kind: ChannelKind,
    pub(crate) topic: Option<String>,
    pub(crate) parent_id: Option<u64>,
    pub(crate) position: Option<i64>,
    pub(crate) overwrites: Option<Vec<Overwrite>>,
}

/// Discord lower-cases text channel names and turns whitespace into dashes.
pub(crate) fn normalise_channel_name(kind: ChannelKind, name: &str) -> String {
    if matches!(kind, ChannelKind::Text | ChannelKind::Announcement) {
        name.split_whitespace()
            .collect::<Vec<_>>()
            .join("-")
            .to_lowercase()
    } else {
        name.to_owned()
    }
}

/// Parses permission overwrites; a missing `type` means a role, as Discord documents.
pub(crate) fn overwrites(value: &Value, errors: &mut FormErrors, field: &str) -> Vec<Overwrite> {
    let mut parsed = Vec::new();
    for (index, entry) in value.as_array().into_iter().flatten().enumerate() {
        let Some(id) = entry.get("id").and_then(snowflake) else {
            errors.push(
                vec![field.into(), index.to_string(), "id".into()],
                "BASE_TYPE_REQUIRED",
                "This field is required",
            );
            continue;
        };
        let kind = match entry.get("type").and_then(Value::as_u64) {
            Some(1) => OverwriteKind::Member,
            _ => OverwriteKind::Role,
        };
        let allow = entry.get("allow").and_then(permission_bits).unwrap_or(0);
        let deny = entry.get("deny").and_then(permission_bits).unwrap_or(0);
        parsed.push(Overwrite {
            id,
            kind,
            allow,
            deny,
        });
    }
    parsed
}

/// Parses and validates a Create Guild Channel body.
pub(crate) fn channel_draft(body: &Value) -> Result<ChannelDraft, ApiError> {
    let mut errors = FormErrors::default();
    let kind_code = body.get("type").and_then(Value::as_u64).unwrap_or(0);
    let kind = match ChannelKind::from_code(kind_code) {
        Some(kind) if kind != ChannelKind::Dm => kind,
        _ => {
            errors.push(
                vec!["type".into()],
                "BASE_TYPE_CHOICES",
                "Value must be one of {0, 2, 4, 5, 13, 14, 15, 16}.",
            );
            ChannelKind::Text
        }
    };
    let name = body.get("name").and_then(Value::as_str).unwrap_or_default();
    let length = name.chars().count();
    if body.get("name").is_none_or(Value::is_null) {
        errors.push(
            vec!["name".into()],
            "BASE_TYPE_REQUIRED",
            "This field is required",
        );
    } else if !(1..=100).contains(&length) {
        errors.push(
            vec!["name".into()],
            "BASE_TYPE_BAD_LENGTH",
            "Must be between 1 and 100 in length.",
        );
    }
    let topic = body.get("topic").and_then(Value::as_str).map(str::to_owned);
    if topic.as_ref().is_some_and(|t| t.chars().count() > 1024) {
        too_long(&mut errors, vec!["topic".into()], 1024);
    }
    let parent_id = body.get("parent_id").and_then(snowflake);
    let position = body.get("position").and_then(Value::as_i64);
    let overwrites = body
        .get("permission_overwrites")
        .filter(|v| !v.is_null())
        .map(|value| overwrites(value, &mut errors, "permission_overwrites"));
    if !errors.is_empty() {
        return Err(ApiError::invalid_form(&errors));
    }
    Ok(ChannelDraft {
        name: normalise_channel_name(kind, name),
        kind,
        topic,
        parent_id,
        position,
        overwrites,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn button(custom_id: &str, label: &str) -> Value {
        json!({"type": 2, "style": 1, "custom_id": custom_id, "label": label})
    }

    fn error_code(result: Result<MessageDraft, ApiError>) -> Value {
        result.err().map(|e| e.body()).unwrap_or_default()
    }

    #[test]
    fn content_of_2000_characters_is_accepted_and_2001_rejected() {
        assert!(message_draft(&json!({"content": "é".repeat(2000)})).is_ok());
        let body = error_code(message_draft(&json!({"content": "a".repeat(2001)})));
        assert_eq!(
            body["errors"]["content"]["_errors"][0]["code"],
            "BASE_TYPE_MAX_LENGTH"
        );
    }

    #[test]
    fn six_action_rows_are_rejected() {
        let row = json!({"type": 1, "components": [button("a", "A")]});
        let rows: Vec<Value> = (0..6)
            .map(|i| json!({"type": 1, "components": [button(&format!("b{i}"), "B")]}))
            .collect();
        assert!(message_draft(&json!({"components": [row]})).is_ok());
        let body = error_code(message_draft(&json!({"components": rows})));
        assert_eq!(
            body["errors"]["components"]["_errors"][0]["code"],
            "BASE_TYPE_MAX_LENGTH"
        );
    }

    #[test]
    fn six_buttons_in_a_row_are_rejected() {
        let buttons: Vec<Value> = (0..6).map(|i| button(&format!("b{i}"), "B")).collect();
        let body = error_code(message_draft(
            &json!({"components": [{"type": 1, "components": buttons}]}),
        ));
        assert_eq!(
            body["errors"]["components"]["0"]["components"]["_errors"][0]["code"],
            "BASE_TYPE_BAD_LENGTH"
        );
    }

    #[test]
    fn long_custom_ids_and_labels_are_rejected_at_their_paths() {
        let rows = json!([{"type": 1, "components": [button(&"x".repeat(101), &"y".repeat(81))]}]);
        let body = error_code(message_draft(&json!({ "components": rows })));
        let field = &body["errors"]["components"]["0"]["components"]["0"];
        assert_eq!(
            field["custom_id"]["_errors"][0]["code"],
            "BASE_TYPE_BAD_LENGTH"
        );
        assert_eq!(field["label"]["_errors"][0]["code"], "BASE_TYPE_MAX_LENGTH");
    }

    #[test]
    fn duplicate_custom_ids_are_rejected() {
        let rows = json!([{"type": 1, "components": [button("same", "A"), button("same", "B")]}]);
        let body = error_code(message_draft(&json!({ "components": rows })));
        assert_eq!(
            body["errors"]["components"]["0"]["components"]["1"]["custom_id"]["_errors"][0]["code"],
            "COMPONENT_CUSTOM_ID_DUPLICATED"
        );
    }

    #[test]
    fn text_channel_names_are_lower_cased_with_dashes() {
        let draft = channel_draft(&json!({"name": "Ticket 0001", "type": 0})).ok();
        assert_eq!(draft.map(|d| d.name), Some("ticket-0001".to_owned()));
    }

    #[test]
    fn overwrites_without_type_are_role_overwrites() {
        let draft = channel_draft(
            &json!({"name": "t", "permission_overwrites": [{"id": "5", "deny": "1024"}]}),
        )
        .ok()
        .and_then(|d| d.overwrites);
        assert_eq!(draft, Some(vec![Overwrite::role(5, 0, 1024)]));
    }
}
