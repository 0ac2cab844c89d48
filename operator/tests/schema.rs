//! The CRDs as the API server would enforce them: generated files are fresh, the examples are
//! accepted, and invalid specs are rejected with the expected message.

#[path = "support/schema.rs"]
mod schema_support;

use std::path::{Path, PathBuf};

use kube::CustomResourceExt;
use serde_json::{Value, json};
use ticketeer_operator::crd::{TicketBot, TicketCategory};

fn repository_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn example(name: &str) -> Value {
    let path = repository_root().join("crds/examples").join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("reading {}: {error}", path.display()));
    serde_saphyr::from_str(&text).unwrap_or_else(|error| panic!("parsing {name}: {error}"))
}

fn bot_example() -> Value {
    example("ticketbot.yaml")
}

fn billing_example() -> Value {
    example("ticketcategory-billing.yaml")
}

/// Replaces (or with `None`, removes) the value at a JSON pointer such as `/spec/guildId`.
fn with(mut object: Value, pointer: &str, replacement: Option<Value>) -> Value {
    let (parent, last) = pointer.rsplit_once('/').expect("pointer has a parent");
    let parent = object
        .pointer_mut(parent)
        .unwrap_or_else(|| panic!("no parent for {pointer}"));
    match (parent, replacement) {
        (Value::Object(map), Some(value)) => {
            map.insert(last.to_owned(), value);
        }
        (Value::Object(map), None) => {
            map.remove(last);
        }
        (Value::Array(items), Some(value)) => {
            items[last.parse::<usize>().expect("index")] = value;
        }
        _ => panic!("cannot edit {pointer}"),
    }
    object
}

#[test]
fn the_committed_crd_files_match_the_rust_types() {
    for file in ticketeer_operator::crdgen::crd_files().expect("CRDs render") {
        let path = repository_root().join("crds").join(&file.file_name);
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == file.yaml,
            "{} is stale: run `cargo run -p ticketeer-operator --bin crdgen`",
            path.display()
        );
    }
}

#[test]
fn the_examples_are_accepted_and_read_as_the_rust_types() {
    let bot = bot_example();
    assert_eq!(
        schema_support::validate_against_crd(&TicketBot::crd(), &bot),
        Vec::<String>::new()
    );
    let bot: TicketBot = serde_json::from_value(bot).expect("the bot example deserializes");
    bot.validate_cel().expect("the bot example passes CEL");
    for name in ["ticketcategory-billing.yaml", "ticketcategory-general.yaml"] {
        let category = example(name);
        assert_eq!(
            schema_support::validate_against_crd(&TicketCategory::crd(), &category),
            Vec::<String>::new(),
            "{name}"
        );
        let category: TicketCategory =
            serde_json::from_value(category).expect("the category example deserializes");
        category
            .validate_cel()
            .expect("the category example passes CEL");
        assert_eq!(
            category.spec.bot_ref.name,
            bot.metadata.name.clone().unwrap_or_default()
        );
    }
}

#[test]
fn a_cel_rule_is_also_checked_through_the_generated_validate_cel() {
    let invalid = with(
        billing_example(),
        "/spec/dmOnClose",
        Some(json!({"enabled": true})),
    );
    let category: TicketCategory = serde_json::from_value(invalid).expect("deserializes");
    let error = category.validate_cel().expect_err("the DM rule fails");
    assert!(
        error.to_string().contains("dmOnClose.message is required"),
        "{error}"
    );
}

#[test]
fn invalid_specs_are_rejected_with_the_expected_message() {
    let long = |length: usize| json!("x".repeat(length));
    let many_roles: Vec<String> = (0..51)
        .map(|index| format!("10900000000000{index:05}"))
        .collect();
    let category_cases: Vec<(&str, Option<Value>, &str)> = vec![
        (
            "/spec/guildId",
            Some(json!("123")),
            "spec.guildId: Invalid value: \"123\": spec.guildId in body should match '^[0-9]{17,20}$'",
        ),
        (
            "/spec/guildId",
            Some(json!("109000000000000010000")),
            "spec.guildId in body should match",
        ),
        (
            "/spec/guildId",
            Some(json!(1_090_000_000_000_000_100_u64)),
            "spec.guildId in body must be of type string",
        ),
        (
            "/spec/parentChannelId",
            Some(json!("channel-one-two-three")),
            "spec.parentChannelId in body should match",
        ),
        (
            "/spec/roleIds/1",
            Some(json!("42")),
            "spec.roleIds[1] in body should match",
        ),
        (
            "/spec/roleIds",
            Some(json!(many_roles)),
            "spec.roleIds: Too many: 51: must have at most 50 items",
        ),
        (
            "/spec/name",
            Some(json!("")),
            "spec.name in body should be at least 1 chars long",
        ),
        (
            "/spec/name",
            Some(long(101)),
            "spec.name: Too long: may not be more than 100",
        ),
        (
            "/spec/createMessage",
            Some(long(2001)),
            "spec.createMessage: Too long: may not be more than 2000",
        ),
        (
            "/spec/createdMessage",
            None,
            "spec.createdMessage: Required value",
        ),
        (
            "/spec/logChannelId",
            None,
            "spec.logChannelId: Required value",
        ),
        (
            "/spec/createButton/label",
            Some(long(81)),
            "spec.createButton.label: Too long: may not be more than 80",
        ),
        (
            "/spec/createButton/style",
            Some(json!("link")),
            "spec.createButton.style: Unsupported value: \"link\": supported values: \"primary\", \"secondary\", \"success\", \"danger\"",
        ),
        (
            "/spec/closeButton/label",
            Some(json!("")),
            "spec.closeButton.label in body should be at least 1 chars long",
        ),
        (
            "/spec/closeButton/emoji",
            Some(long(65)),
            "spec.closeButton.emoji: Too long: may not be more than 64",
        ),
        (
            "/spec/dmOnClose",
            Some(json!({"enabled": true})),
            "dmOnClose.message is required when dmOnClose.enabled is true",
        ),
        (
            "/spec/dmOnClose/message",
            Some(json!("")),
            "spec.dmOnClose.message in body should be at least 1 chars long",
        ),
        (
            "/spec/colour",
            Some(json!("red")),
            "unknown field \"spec.colour\"",
        ),
        ("/spec/botRef", None, "spec.botRef: Required value"),
        (
            "/spec/botRef/name",
            Some(json!("")),
            "spec.botRef.name in body should be at least 1 chars long",
        ),
        (
            "/spec/botRef/namespace",
            Some(json!("elsewhere")),
            "unknown field \"spec.botRef.namespace\"",
        ),
    ];
    let bot_cases: Vec<(&str, Option<Value>, &str)> = vec![
        (
            "/spec/tokenSecretRef/key",
            None,
            "spec.tokenSecretRef.key: Required value",
        ),
        (
            "/spec/databaseSecretRef",
            None,
            "spec.databaseSecretRef: Required value",
        ),
        (
            "/spec/privatebin/expire",
            Some(json!("2years")),
            "spec.privatebin.expire: Unsupported value: \"2years\"",
        ),
        (
            "/spec/privatebin/url",
            Some(json!("ftp://paste.example.com")),
            "spec.privatebin.url in body should match",
        ),
        (
            "/spec/replicas",
            Some(json!(11)),
            "spec.replicas in body should be less than or equal to 10",
        ),
        (
            "/spec/replicas",
            Some(json!(-1)),
            "spec.replicas in body should be greater than or equal to 0",
        ),
        (
            "/spec/token",
            Some(json!("hunter2")),
            "unknown field \"spec.token\"",
        ),
        (
            "/spec/logFormat",
            Some(json!("xml")),
            "spec.logFormat: Unsupported value: \"xml\"",
        ),
        (
            "/spec/discord/applicationId",
            Some(json!("12")),
            "spec.discord.applicationId in body should match",
        ),
    ];
    let mut failures = Vec::new();
    let cases = category_cases
        .into_iter()
        .map(|case| (TicketCategory::crd(), billing_example(), case))
        .chain(
            bot_cases
                .into_iter()
                .map(|case| (TicketBot::crd(), bot_example(), case)),
        );
    let mut count = 0;
    for (crd, valid, (pointer, replacement, expected)) in cases {
        count += 1;
        let errors = schema_support::validate_against_crd(&crd, &with(valid, pointer, replacement));
        if !errors.iter().any(|error| error.contains(expected)) {
            failures.push(format!("{pointer}: expected {expected:?}, got {errors:?}"));
        }
    }
    assert!(count >= 20, "the table has at least 20 cases");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
