//! Test objects built from the committed examples, with chainable edits.

// Shared by several test crates, each of which uses only part of it.
#![allow(dead_code)]

use std::path::Path;

use serde_json::{Value, json};
use ticketeer_operator::crd::{TicketBot, TicketCategory};

/// The namespace of every example.
pub const NAMESPACE: &str = "tickets";

fn example(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../crds/examples")
        .join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("reading {}: {error}", path.display()));
    serde_saphyr::from_str(&text).unwrap_or_else(|error| panic!("parsing {name}: {error}"))
}

/// A JSON object with chainable edits by JSON pointer.
pub trait Edit: Sized {
    /// Sets the value at `pointer` (creating parent objects).
    fn set(self, pointer: &str, value: Value) -> Self;
    /// Removes the value at `pointer`.
    fn without(self, pointer: &str) -> Self;
}

impl Edit for Value {
    fn set(mut self, pointer: &str, value: Value) -> Self {
        let mut current = &mut self;
        let parts: Vec<&str> = pointer.trim_start_matches('/').split('/').collect();
        for part in &parts[..parts.len() - 1] {
            if current.get(*part).is_none() {
                current[*part] = json!({});
            }
            current = &mut current[*part];
        }
        current[parts[parts.len() - 1]] = value;
        self
    }

    fn without(mut self, pointer: &str) -> Self {
        let (parent, last) = pointer.rsplit_once('/').expect("pointer has a parent");
        if let Some(map) = self.pointer_mut(parent).and_then(Value::as_object_mut) {
            map.remove(last);
        }
        self
    }
}

/// The example TicketBot `support` as JSON.
pub fn bot_json() -> Value {
    example("ticketbot.yaml")
}

/// The example category `billing` as JSON.
pub fn billing_json() -> Value {
    example("ticketcategory-billing.yaml")
}

/// The example category `general` as JSON.
pub fn general_json() -> Value {
    example("ticketcategory-general.yaml")
}

/// A category named `name` for `bot`, otherwise like `general`.
pub fn category_json(name: &str, bot: &str) -> Value {
    general_json()
        .set("/metadata/name", json!(name))
        .set("/spec/botRef/name", json!(bot))
        .set("/spec/name", json!(format!("Category {name}")))
}

/// The two Secrets the example bot references, with their keys.
pub fn secrets_json() -> [Value; 2] {
    [
        json!({
            "apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "discord-token", "namespace": NAMESPACE},
            "data": {"token": "Ym90LXRva2VuLTEyMw=="},
        }),
        json!({
            "apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "ticketeer-db", "namespace": NAMESPACE},
            "data": {"url": "cG9zdGdyZXM6Ly90aWNrZXRlZXJAZGIvdGlja2V0ZWVy"},
        }),
    ]
}

/// `object` as a typed TicketBot with the metadata the API server stamps.
pub fn bot(object: Value) -> TicketBot {
    serde_json::from_value(stamped(object, "00000000-0000-4000-8000-000000000001"))
        .expect("a valid TicketBot")
}

/// `object` as a typed TicketCategory with the metadata the API server stamps.
pub fn category(object: Value) -> TicketCategory {
    serde_json::from_value(stamped(object, "00000000-0000-4000-8000-000000000002"))
        .expect("a valid TicketCategory")
}

fn stamped(object: Value, uid: &str) -> Value {
    object
        .set("/metadata/uid", json!(uid))
        .set("/metadata/generation", json!(1))
}
