//! Discord's JSON error responses: `{"code", "message"}` plus the nested `errors` of 50035.

use axum::http::StatusCode;
use serde_json::{Map, Value, json};

/// An error response exactly as Discord shapes it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ApiError {
    pub(crate) status: StatusCode,
    pub(crate) code: u64,
    pub(crate) message: String,
    /// The `errors` object of 50035 Invalid Form Body.
    pub(crate) errors: Option<Value>,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, code: u64, message: &str) -> Self {
        Self {
            status,
            code,
            message: message.to_owned(),
            errors: None,
        }
    }

    pub(crate) fn unauthorized() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, 0, "401: Unauthorized")
    }

    pub(crate) fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, 0, "404: Not Found")
    }

    pub(crate) fn method_not_allowed() -> Self {
        Self::new(StatusCode::METHOD_NOT_ALLOWED, 0, "405: Method Not Allowed")
    }

    pub(crate) fn unknown_channel() -> Self {
        Self::new(StatusCode::NOT_FOUND, 10003, "Unknown Channel")
    }

    pub(crate) fn unknown_guild() -> Self {
        Self::new(StatusCode::NOT_FOUND, 10004, "Unknown Guild")
    }

    pub(crate) fn unknown_member() -> Self {
        Self::new(StatusCode::NOT_FOUND, 10007, "Unknown Member")
    }

    pub(crate) fn unknown_message() -> Self {
        Self::new(StatusCode::NOT_FOUND, 10008, "Unknown Message")
    }

    pub(crate) fn unknown_role() -> Self {
        Self::new(StatusCode::NOT_FOUND, 10011, "Unknown Role")
    }

    pub(crate) fn unknown_user() -> Self {
        Self::new(StatusCode::NOT_FOUND, 10013, "Unknown User")
    }

    pub(crate) fn unknown_webhook() -> Self {
        Self::new(StatusCode::NOT_FOUND, 10015, "Unknown Webhook")
    }

    pub(crate) fn unknown_interaction() -> Self {
        Self::new(StatusCode::NOT_FOUND, 10062, "Unknown interaction")
    }

    pub(crate) fn max_guild_channels(limit: usize) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            30013,
            &format!("Maximum number of guild channels reached ({limit})"),
        )
    }

    pub(crate) fn max_pins(limit: usize) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            30003,
            &format!("Maximum number of pins reached ({limit})"),
        )
    }

    pub(crate) fn max_application_commands(limit: usize) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            30032,
            &format!("Maximum number of application commands reached ({limit})"),
        )
    }

    pub(crate) fn already_acknowledged() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            40060,
            "Interaction has already been acknowledged.",
        )
    }

    pub(crate) fn missing_access() -> Self {
        Self::new(StatusCode::FORBIDDEN, 50001, "Missing Access")
    }

    pub(crate) fn dm_action() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            50003,
            "Cannot execute action on a DM channel",
        )
    }

    pub(crate) fn edit_others_message() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            50005,
            "Cannot edit a message authored by another user",
        )
    }

    pub(crate) fn empty_message() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            50006,
            "Cannot send an empty message",
        )
    }

    pub(crate) fn cannot_dm() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            50007,
            "Cannot send messages to this user",
        )
    }

    pub(crate) fn non_text_channel() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            50008,
            "Cannot send messages in a non-text channel",
        )
    }

    pub(crate) fn wrong_channel_type() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            50024,
            "Cannot execute action on this channel type",
        )
    }

    pub(crate) fn thread_archived() -> Self {
        Self::new(StatusCode::BAD_REQUEST, 50083, "Thread is archived")
    }

    pub(crate) fn missing_permissions() -> Self {
        Self::new(StatusCode::FORBIDDEN, 50013, "Missing Permissions")
    }

    pub(crate) fn invalid_webhook_token() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, 50027, "Invalid Webhook Token")
    }

    pub(crate) fn invalid_json() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            50109,
            "The request body contains invalid JSON.",
        )
    }

    /// 50035 Invalid Form Body with `errors` naming each failing field.
    pub(crate) fn invalid_form(errors: &FormErrors) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            code: 50035,
            message: "Invalid Form Body".to_owned(),
            errors: Some(errors.to_json()),
        }
    }

    /// A single-field 50035.
    pub(crate) fn invalid_field(path: &[&str], code: &str, message: &str) -> Self {
        let mut errors = FormErrors::default();
        errors.push(
            path.iter().map(|s| (*s).to_owned()).collect(),
            code,
            message,
        );
        Self::invalid_form(&errors)
    }

    /// The JSON body Discord sends.
    pub(crate) fn body(&self) -> Value {
        let mut body = json!({ "code": self.code, "message": self.message });
        if let (Some(errors), Some(map)) = (&self.errors, body.as_object_mut()) {
            map.insert("errors".to_owned(), errors.clone());
        }
        body
    }
}

/// Field errors collected while validating a request body, keyed by path.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct FormErrors {
    entries: Vec<(Vec<String>, String, String)>,
}

impl FormErrors {
    pub(crate) fn push(&mut self, path: Vec<String>, code: &str, message: &str) {
        self.entries
            .push((path, code.to_owned(), message.to_owned()));
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Discord's nested shape: `{"components": {"0": {"custom_id": {"_errors": [..]}}}}`.
    pub(crate) fn to_json(&self) -> Value {
        let mut root = Value::Object(Map::new());
        for (path, code, message) in &self.entries {
            insert(&mut root, path, json!({ "code": code, "message": message }));
        }
        root
    }
}

fn insert(node: &mut Value, path: &[String], error: Value) {
    if !node.is_object() {
        *node = Value::Object(Map::new());
    }
    let Some(map) = node.as_object_mut() else {
        return;
    };
    if let Some((segment, rest)) = path.split_first() {
        let child = map
            .entry(segment.clone())
            .or_insert_with(|| Value::Object(Map::new()));
        insert(child, rest, error);
    } else {
        let list = map
            .entry("_errors".to_owned())
            .or_insert_with(|| Value::Array(Vec::new()));
        if let Some(list) = list.as_array_mut() {
            list.push(error);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_errors_nest_by_path_like_discord() {
        let mut errors = FormErrors::default();
        errors.push(
            vec!["components".into(), "0".into(), "custom_id".into()],
            "BASE_TYPE_MAX_LENGTH",
            "Must be 100 or fewer in length.",
        );
        let body = ApiError::invalid_form(&errors).body();
        assert_eq!(body["code"], 50035);
        assert_eq!(body["message"], "Invalid Form Body");
        assert_eq!(
            body["errors"]["components"]["0"]["custom_id"]["_errors"][0]["code"],
            "BASE_TYPE_MAX_LENGTH"
        );
    }
}
