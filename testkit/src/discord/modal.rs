//! Modals: the MODAL callback (type 9) validated as Discord does, and what the Discord client
//! sends back when the user submits one.
//!
//! Rules from [Discord Docs/Receiving and Responding, "Modal"](https://discord.com/developers/docs/interactions/receiving-and-responding#interaction-response-object-modal)
//! and [Discord Docs/Component Reference, "Text Input" and "Label"](https://discord.com/developers/docs/components/reference#text-input).
//! Only Text Inputs are modelled (the bot asks for text); a select, file upload or Text Display in
//! a modal is refused with the code Discord gives a component it does not accept there.

use std::collections::HashSet;

use serde::Serialize;
use serde_json::{Value, json};

use super::api_error::{ApiError, FormErrors};
use super::control_error::ControlError;

/// Longest modal title and Label or Text Input label.
const MAX_TITLE_CHARS: usize = 45;
/// Longest modal or Text Input custom id.
const MAX_CUSTOM_ID_CHARS: usize = 100;
/// Most top-level components in a modal.
const MAX_MODAL_COMPONENTS: usize = 5;
/// Longest Label description.
const MAX_DESCRIPTION_CHARS: usize = 100;
/// Longest Text Input value, and the bound of `min_length` and `max_length`.
const MAX_INPUT_CHARS: usize = 4000;
/// Longest Text Input placeholder.
const MAX_PLACEHOLDER_CHARS: usize = 100;

/// A modal the bot showed (callback type 9).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Modal {
    /// The modal's custom id; the submit carries it back.
    pub custom_id: String,
    /// The title shown on top of the popup.
    pub title: String,
    /// Its text inputs, in order.
    pub inputs: Vec<ModalTextInput>,
}

/// How a Text Input sits in the modal: the two forms Discord accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ModalLayout {
    /// In an Action Row (type 1), the older form: the input carries its own `label`.
    ActionRow,
    /// In a Label (type 18), the form Discord now recommends.
    Label,
}

/// One Text Input (type 4) of a modal, defaults filled in as Discord applies them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ModalTextInput {
    /// The input's custom id, unique within the modal.
    pub custom_id: String,
    /// Action Row or Label.
    pub layout: ModalLayout,
    /// The label shown: the Label's, or the input's own in an Action Row.
    pub label: String,
    /// A Label's description.
    pub description: Option<String>,
    /// 1 short (one line), 2 paragraph.
    pub style: u64,
    /// Fewest characters accepted (default 0).
    pub min_length: usize,
    /// Most characters accepted (default 4000).
    pub max_length: usize,
    /// Whether it must be filled in (default true).
    pub required: bool,
    /// The pre-filled text.
    pub value: Option<String>,
    /// Shown while empty.
    pub placeholder: Option<String>,
    /// The component id of the wrapping Action Row or Label, as given or as Discord generates it.
    pub outer_id: u64,
    /// The input's own component id.
    pub input_id: u64,
}

fn field<'a>(value: &'a Value, name: &str) -> Option<&'a Value> {
    value.get(name).filter(|v| !v.is_null())
}

fn chars(value: &Value) -> Option<usize> {
    value.as_str().map(|text| text.chars().count())
}

/// Collects the errors of one request body under `data`, as Discord nests them.
struct Checker {
    errors: FormErrors,
}

impl Checker {
    fn push(&mut self, path: &[String], code: &str, message: &str) {
        let mut full = vec!["data".to_owned()];
        full.extend(path.iter().cloned());
        self.errors.push(full, code, message);
    }

    /// A required string of `range` characters; returns it when present.
    fn text(&mut self, parent: &Value, path: &[String], max: usize, min: usize) -> Option<String> {
        let name = path.last().map(String::as_str).unwrap_or_default();
        let Some(value) = field(parent, name) else {
            self.push(path, "BASE_TYPE_REQUIRED", "This field is required");
            return None;
        };
        match chars(value) {
            Some(length) if (min..=max).contains(&length) => value.as_str().map(str::to_owned),
            Some(_) => {
                self.push(
                    path,
                    "BASE_TYPE_BAD_LENGTH",
                    &format!("Must be between {min} and {max} in length."),
                );
                None
            }
            None => {
                self.push(path, "BASE_TYPE_STRING", "Must be a string.");
                None
            }
        }
    }

    /// An optional string of at most `max` characters.
    fn optional_text(&mut self, parent: &Value, path: &[String], max: usize) -> Option<String> {
        let name = path.last().map(String::as_str).unwrap_or_default();
        let value = field(parent, name)?;
        if chars(value).is_some_and(|length| length > max) {
            self.push(
                path,
                "BASE_TYPE_MAX_LENGTH",
                &format!("Must be {max} or fewer in length."),
            );
        }
        value.as_str().map(str::to_owned)
    }

    /// An optional integer within `min..=max`.
    fn bounded(&mut self, parent: &Value, path: &[String], min: u64, max: u64) -> Option<u64> {
        let name = path.last().map(String::as_str).unwrap_or_default();
        let number = field(parent, name)?.as_u64();
        match number {
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
            Some(_) => return number,
            None => self.push(path, "NUMBER_TYPE_COERCE", "Value is not int."),
        }
        None
    }
}

fn path_of(base: &[String], rest: &str) -> Vec<String> {
    let mut path = base.to_vec();
    path.push(rest.to_owned());
    path
}

/// Validates the `data` of a MODAL callback; every failing field is named under `data`, as
/// Discord's 50035 does.
pub(crate) fn parse_modal(data: Option<&Value>) -> Result<Modal, ApiError> {
    let Some(data) = data else {
        return Err(ApiError::invalid_field(
            &["data"],
            "BASE_TYPE_REQUIRED",
            "This field is required",
        ));
    };
    let mut check = Checker {
        errors: FormErrors::default(),
    };
    let title = check.text(data, &["title".into()], MAX_TITLE_CHARS, 1);
    let custom_id = check.text(data, &["custom_id".into()], MAX_CUSTOM_ID_CHARS, 1);
    let components = field(data, "components").and_then(Value::as_array);
    match components {
        None => check.push(
            &["components".into()],
            "BASE_TYPE_REQUIRED",
            "This field is required",
        ),
        Some(list) if list.is_empty() || list.len() > MAX_MODAL_COMPONENTS => check.push(
            &["components".into()],
            "BASE_TYPE_BAD_LENGTH",
            &format!("Must be between 1 and {MAX_MODAL_COMPONENTS} in length."),
        ),
        Some(_) => {}
    }
    let list = components.cloned().unwrap_or_default();
    // Discord numbers components without an `id` in order, skipping the ids already given.
    let given: HashSet<u64> = list
        .iter()
        .flat_map(|c| [c, &c["component"], &c["components"][0]])
        .filter_map(|c| c.get("id").and_then(Value::as_u64))
        .collect();
    let mut next = 0;
    let mut id_for = |component: &Value| {
        component
            .get("id")
            .and_then(Value::as_u64)
            .unwrap_or_else(|| {
                next += 1;
                while given.contains(&next) {
                    next += 1;
                }
                next
            })
    };
    let mut inputs = Vec::new();
    let mut seen = HashSet::new();
    for (index, component) in list.iter().enumerate() {
        let base = vec!["components".to_owned(), index.to_string()];
        let outer_id = id_for(component);
        let (child, child_path, layout, label, description) = match component["type"].as_u64() {
            Some(1) => {
                let children = component["components"].as_array();
                if children.is_none_or(|c| c.len() != 1) {
                    check.push(
                        &path_of(&base, "components"),
                        "BASE_TYPE_BAD_LENGTH",
                        "Must be between 1 and 1 in length.",
                    );
                    continue;
                }
                let child = &component["components"][0];
                let child_path = [base.clone(), vec!["components".into(), "0".into()]].concat();
                let label = check.text(child, &path_of(&child_path, "label"), MAX_TITLE_CHARS, 1);
                (child, child_path, ModalLayout::ActionRow, label, None)
            }
            Some(18) => {
                let label = check.text(component, &path_of(&base, "label"), MAX_TITLE_CHARS, 1);
                let description = check.optional_text(
                    component,
                    &path_of(&base, "description"),
                    MAX_DESCRIPTION_CHARS,
                );
                let Some(child) = field(component, "component") else {
                    check.push(
                        &path_of(&base, "component"),
                        "BASE_TYPE_REQUIRED",
                        "This field is required",
                    );
                    continue;
                };
                // The input's own `label` is deprecated in favour of the Label's and not shown.
                (
                    child,
                    path_of(&base, "component"),
                    ModalLayout::Label,
                    label,
                    description,
                )
            }
            _ => {
                check.push(
                    &base,
                    "COMPONENT_TYPE_INVALID",
                    "The specified component type is invalid in this context",
                );
                continue;
            }
        };
        if child["type"].as_u64() != Some(4) {
            check.push(
                &child_path,
                "COMPONENT_TYPE_INVALID",
                "The specified component type is invalid in this context",
            );
            continue;
        }
        let input_id = id_for(child);
        let custom_id_path = path_of(&child_path, "custom_id");
        let input_custom_id = check.text(child, &custom_id_path, MAX_CUSTOM_ID_CHARS, 1);
        if let Some(id) = &input_custom_id
            && !seen.insert(id.clone())
        {
            check.push(
                &custom_id_path,
                "COMPONENT_CUSTOM_ID_DUPLICATED",
                "Component custom id cannot be duplicated",
            );
        }
        let style = child["style"].as_u64();
        if !matches!(style, Some(1 | 2)) {
            check.push(
                &path_of(&child_path, "style"),
                "BASE_TYPE_CHOICES",
                "Value must be one of {1, 2}.",
            );
        }
        let max_length = check.bounded(child, &path_of(&child_path, "max_length"), 1, 4000);
        let min_length = check.bounded(child, &path_of(&child_path, "min_length"), 0, 4000);
        if let (Some(min), Some(max)) = (min_length, max_length)
            && min > max
        {
            // Discord documents both bounds but not this error; the emulator names `min_length`.
            check.push(
                &path_of(&child_path, "min_length"),
                "NUMBER_TYPE_MAX",
                &format!("int value should be less than or equal to {max}."),
            );
        }
        let value = check.optional_text(child, &path_of(&child_path, "value"), MAX_INPUT_CHARS);
        let placeholder = check.optional_text(
            child,
            &path_of(&child_path, "placeholder"),
            MAX_PLACEHOLDER_CHARS,
        );
        let as_len = |n: Option<u64>, default: usize| {
            n.and_then(|n| usize::try_from(n).ok()).unwrap_or(default)
        };
        inputs.push(ModalTextInput {
            custom_id: input_custom_id.unwrap_or_default(),
            layout,
            label: label.unwrap_or_default(),
            description,
            style: style.unwrap_or(1),
            min_length: as_len(min_length, 0),
            max_length: as_len(max_length, MAX_INPUT_CHARS),
            required: child["required"].as_bool().unwrap_or(true),
            value,
            placeholder,
            outer_id,
            input_id,
        });
    }
    if !check.errors.is_empty() {
        return Err(ApiError::invalid_form(&check.errors));
    }
    Ok(Modal {
        custom_id: custom_id.unwrap_or_default(),
        title: title.unwrap_or_default(),
        inputs,
    })
}

impl Modal {
    /// The `data` of the MODAL_SUBMIT the Discord client sends for these values, or why the
    /// client would not let the user submit them (it checks required inputs and lengths itself).
    /// An input the user does not touch keeps its pre-filled text (empty without one).
    pub(crate) fn submit_data(&self, values: &[(&str, &str)]) -> Result<Value, ControlError> {
        if let Some((unknown, _)) = values
            .iter()
            .find(|(id, _)| self.inputs.iter().all(|input| input.custom_id != *id))
        {
            return Err(ControlError::UnknownModalInput {
                modal: self.custom_id.clone(),
                custom_id: (*unknown).to_owned(),
            });
        }
        let mut components = Vec::new();
        for input in &self.inputs {
            let value = values
                .iter()
                .rev()
                .find(|(id, _)| *id == input.custom_id)
                .map(|(_, value)| (*value).to_owned())
                .or_else(|| input.value.clone())
                .unwrap_or_default();
            let length = value.chars().count();
            if length == 0 && input.required {
                return Err(ControlError::ModalInputRequired(input.custom_id.clone()));
            }
            // An optional input may stay empty whatever its minimum.
            if length > 0 && !(input.min_length..=input.max_length).contains(&length) {
                return Err(ControlError::ModalInputLength {
                    custom_id: input.custom_id.clone(),
                    length,
                    min: input.min_length,
                    max: input.max_length,
                });
            }
            let text_input = json!({
                "type": 4,
                "id": input.input_id,
                "custom_id": input.custom_id,
                "value": value,
            });
            components.push(match input.layout {
                ModalLayout::ActionRow => {
                    json!({"type": 1, "id": input.outer_id, "components": [text_input]})
                }
                ModalLayout::Label => {
                    json!({"type": 18, "id": input.outer_id, "component": text_input})
                }
            });
        }
        Ok(json!({"custom_id": self.custom_id, "components": components}))
    }
}
