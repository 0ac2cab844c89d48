//! The pure stages: config rendering, child builders, category acceptance, status conditions and
//! backoff.

#[path = "support/fixtures.rs"]
mod fixtures;

use std::collections::BTreeMap;
use std::time::Duration;

use fixtures::{Edit, billing_json, bot, bot_json, category, category_json, general_json};
use k8s_openapi::api::apps::v1::{Deployment, DeploymentStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use serde_json::json;
use ticketeer_config::{
    BotConfig, CONFIG_FILE_NAME, CategoryStatus, LogFormat, ParentFill, Problem, StatusReport,
};
use ticketeer_operator::builders::{
    self, BuildSettings, MANAGED_BY_LABEL, POD_INPUTS_HASH_ANNOTATION, accept_category,
};
use ticketeer_operator::controller::BackoffPolicy;
use ticketeer_operator::crd::{ParentFillStatus, TicketBot, TicketCategory, TicketCategoryStatus};
use ticketeer_operator::status::{self, BotReport, CategoryInputs, Observed};

fn settings() -> BuildSettings {
    BuildSettings {
        default_image: "ghcr.io/ticketeer/ticketeer:test".to_owned(),
        default_image_pull_secrets: Vec::new(),
    }
}

fn examples() -> (TicketBot, Vec<TicketCategory>) {
    (
        bot(bot_json()),
        vec![category(billing_json()), category(general_json())],
    )
}

fn rendered_yaml(bot: &TicketBot, categories: &[TicketCategory]) -> String {
    let config = builders::render_config(bot, categories).expect("renders");
    let config_map = builders::config_map(bot, &config).expect("builds");
    config_map.data.expect("has data")[CONFIG_FILE_NAME].clone()
}

fn pod_hash(deployment: &Deployment) -> String {
    deployment
        .spec
        .as_ref()
        .and_then(|spec| spec.template.metadata.as_ref())
        .and_then(|metadata| metadata.annotations.as_ref())
        .map(|annotations| annotations[POD_INPUTS_HASH_ANNOTATION].clone())
        .expect("the template has the hash annotation")
}

#[test]
fn every_field_of_every_category_lands_in_the_rendered_config() {
    let (bot, categories) = examples();
    let config = BotConfig::from_yaml(&rendered_yaml(&bot, &categories))
        .expect("the bot's own loader accepts what the operator renders");
    assert_eq!(config.categories.len(), 2);
    for category in &categories {
        assert_eq!(
            config.categories[&category.key()],
            category.spec.category,
            "{}",
            category.key()
        );
    }
    assert_eq!(config.privatebin, bot.spec.privatebin);
    assert_eq!(config.discord, bot.spec.discord);
    assert_eq!(config.log.format, LogFormat::Json);
    assert_eq!(config.limits, bot.spec.limits);
    assert_eq!(config.limits.max_open_tickets_per_guild, Some(400));
}

#[test]
fn a_shared_panel_placement_and_questions_land_in_the_rendered_config() {
    let bot = bot(bot_json());
    let placed = [
        billing_json().set(
            "/spec/panel",
            json!({"name": "help-desk", "style": "select", "position": 2,
                   "description": "Invoices", "placeholder": "Pick a topic"}),
        ),
        general_json()
            .set("/spec/panel", json!({"name": "help-desk"}))
            .set("/spec/cooldownSeconds", json!(600))
            .set("/spec/maxOpenPerUser", json!(3))
            .set("/spec/deniedRoleIds", json!(["1090000000000000999"]))
            .set(
                "/spec/questions",
                json!([{"label": "Order number", "minLength": 3},
                       {"label": "Details", "style": "paragraph", "required": false}]),
            ),
    ]
    .map(category);
    let config = BotConfig::from_yaml(&rendered_yaml(&bot, &placed))
        .expect("the bot's own loader accepts what the operator renders");
    for category in &placed {
        let rendered = &config.categories[&category.key()];
        assert_eq!(rendered, &category.spec.category, "{}", category.key());
        assert_eq!(
            rendered.panel.as_ref().map(|panel| panel.name.as_str()),
            Some("help-desk")
        );
    }
    let general = &config.categories[&placed[1].key()];
    assert_eq!(general.questions.len(), 2);
    assert_eq!(general.cooldown_seconds, 600);
    assert_eq!(general.max_open_per_user, 3);
    assert_eq!(general.denied_role_ids.len(), 1);
}

#[test]
fn thread_mode_and_created_overflow_parents_land_in_the_rendered_config() {
    let bot = bot(bot_json());
    let placed = [
        billing_json().set("/spec/threadMode", json!(true)),
        general_json()
            .set(
                "/spec/overflowParentChannelIds",
                json!(["1090000000000000900"]),
            )
            .set("/spec/createOverflowParents", json!(3)),
    ]
    .map(category);
    let config = BotConfig::from_yaml(&rendered_yaml(&bot, &placed))
        .expect("the bot's own loader accepts what the operator renders");
    let billing = &config.categories[&placed[0].key()];
    assert!(billing.thread_mode);
    assert_eq!(billing.create_overflow_parents, 0);
    let general = &config.categories[&placed[1].key()];
    assert!(!general.thread_mode);
    assert_eq!(general.create_overflow_parents, 3);
    assert_eq!(general.overflow_parent_channel_ids.len(), 1);

    // A thread-mode category cannot also spread over channel categories: refused, naming the field.
    let both = category(
        billing_json()
            .set("/spec/threadMode", json!(true))
            .set("/spec/createOverflowParents", json!(2)),
    );
    let rejection = accept_category(&both, Some(&bot)).expect_err("threads have no parents");
    assert_eq!(rejection.reason, "InvalidSpec");
    assert!(
        rejection.message.contains("spec.createOverflowParents"),
        "{}",
        rejection.message
    );
}

#[test]
fn a_categorys_auto_close_is_rendered_and_absent_stays_absent() {
    let (bot, categories) = examples();
    let yaml = rendered_yaml(&bot, &categories);
    let config = BotConfig::from_yaml(&yaml).expect("renders");
    let billing = &config.categories[&categories[0].key()];
    let auto_close = billing.auto_close.as_ref().expect("billing auto-closes");
    assert_eq!(
        (auto_close.inactive_seconds, auto_close.warning_seconds),
        (259_200, 3600)
    );
    assert!(yaml.contains("autoClose:"), "{yaml}");
    assert!(
        config.categories[&categories[1].key()].auto_close.is_none(),
        "general never closes by itself"
    );
    assert_eq!(yaml.matches("autoClose:").count(), 1, "{yaml}");
}

#[test]
fn categories_are_keyed_by_namespace_and_name_whatever_their_order() {
    let (bot, mut categories) = examples();
    let forwards = rendered_yaml(&bot, &categories);
    categories.reverse();
    assert_eq!(rendered_yaml(&bot, &categories), forwards);
    let config = BotConfig::from_yaml(&forwards).expect("valid");
    let keys: Vec<&String> = config.categories.keys().collect();
    assert_eq!(keys, ["tickets/billing", "tickets/general"]);
}

#[test]
fn categories_of_other_bots_and_invalid_categories_are_left_out() {
    let (bot, mut categories) = examples();
    categories.push(category(category_json("elsewhere", "another-bot")));
    categories.push(category(
        category_json("broken", "support").set("/spec/roleIds", json!(["42"])),
    ));
    let config = BotConfig::from_yaml(&rendered_yaml(&bot, &categories)).expect("valid");
    let keys: Vec<&String> = config.categories.keys().collect();
    assert_eq!(keys, ["tickets/billing", "tickets/general"]);
}

#[test]
fn the_bot_log_settings_reach_the_config() {
    let bot = bot(bot_json()
        .set("/spec/logLevel", json!("debug"))
        .set("/spec/logFormat", json!("text")));
    let config = BotConfig::from_yaml(&rendered_yaml(&bot, &[])).expect("valid");
    assert_eq!(config.log.level, "debug");
    assert_eq!(config.log.format, LogFormat::Text);
}

#[test]
fn a_bot_with_an_invalid_privatebin_url_does_not_render() {
    let bot = bot(bot_json().set("/spec/privatebin/url", json!("paste.example.com")));
    let error = builders::render_config(&bot, &[]).expect_err("invalid URL");
    assert!(error.to_string().contains("privatebin.url"), "{error}");
}

#[test]
fn a_category_whose_bot_is_missing_is_rejected_with_a_reason() {
    let category = category(category_json("orphan", "nobody"));
    let rejection = accept_category(&category, None).expect_err("no bot");
    assert_eq!(rejection.reason, "BotNotFound");
    assert!(
        rejection.message.contains("\"nobody\""),
        "{}",
        rejection.message
    );
    let other_bot = bot(bot_json());
    assert_eq!(
        accept_category(&category, Some(&other_bot))
            .expect_err("names another bot")
            .reason,
        "BotNotFound"
    );
}

#[test]
fn a_category_with_an_invalid_spec_or_too_long_a_key_is_rejected() {
    let bot = bot(bot_json());
    let invalid =
        category(category_json("bad-role", "support").set("/spec/roleIds", json!(["42"])));
    let rejection = accept_category(&invalid, Some(&bot)).expect_err("invalid role");
    assert_eq!(rejection.reason, "InvalidSpec");
    assert!(
        rejection.message.contains("spec.roleIds[0]"),
        "{}",
        rejection.message
    );
    let long = category(category_json(&"n".repeat(80), "support"));
    assert_eq!(
        accept_category(&long, Some(&bot))
            .expect_err("too long")
            .reason,
        "InvalidName"
    );
    assert!(accept_category(&category(billing_json()), Some(&bot)).is_ok());
}

#[test]
fn a_button_emoji_discord_does_not_know_is_refused_naming_the_field_and_never_rendered() {
    let bot = bot(bot_json());
    let invalid = category(category_json("bad-emoji", "support").set(
        "/spec/createButton",
        json!({"label": "Open", "emoji": "ab"}),
    ));
    let rejection = accept_category(&invalid, Some(&bot)).expect_err("not an emoji");
    assert_eq!(rejection.reason, "InvalidSpec");
    assert!(
        rejection.message.contains("spec.createButton.emoji"),
        "{}",
        rejection.message
    );
    let config = BotConfig::from_yaml(&rendered_yaml(&bot, &[category(billing_json()), invalid]))
        .expect("what is rendered is valid");
    assert_eq!(
        config.categories.keys().collect::<Vec<_>>(),
        ["tickets/billing"],
        "the refused category never reaches the bot"
    );
}

#[test]
fn a_category_refused_as_invalid_keeps_the_form_the_bot_runs_now() {
    let bot = bot(bot_json());
    let running = builders::render_config(&bot, &[category(billing_json())]).expect("renders");
    let broken = category(billing_json().set("/spec/createButton/emoji", json!("ab")));
    let kept = builders::render_config_keeping(&bot, &[broken], Some(&running)).expect("renders");
    assert_eq!(
        kept.categories, running.categories,
        "the live category is left as it was"
    );
    assert_eq!(
        builders::render_config_keeping(&bot, &[], Some(&running))
            .expect("renders")
            .categories
            .len(),
        0,
        "a deleted category is not kept"
    );
    let edited = category(billing_json().set("/spec/createButton/emoji", json!("💳")));
    let updated =
        builders::render_config_keeping(&bot, &[edited], Some(&running)).expect("renders");
    assert_eq!(
        updated.categories["tickets/billing"]
            .create_button
            .emoji
            .as_deref(),
        Some("💳"),
        "a valid edit replaces it"
    );
}

#[test]
fn every_child_is_owned_by_the_bot_and_labelled() {
    let (bot, categories) = examples();
    let config = builders::render_config(&bot, &categories).expect("renders");
    let metadata = [
        builders::config_map(&bot, &config)
            .expect("builds")
            .metadata,
        builders::service_account(&bot).expect("builds").metadata,
        builders::service(&bot).expect("builds").metadata,
        builders::deployment(&bot, &settings(), &[])
            .expect("builds")
            .metadata,
    ];
    for metadata in metadata {
        let owners = metadata.owner_references.expect("owner references");
        assert_eq!(owners.len(), 1);
        assert_eq!(owners[0].kind, "TicketBot");
        assert_eq!(owners[0].name, "support");
        assert_eq!(owners[0].uid, "00000000-0000-4000-8000-000000000001");
        assert_eq!(owners[0].controller, Some(true));
        let labels = metadata.labels.expect("labels");
        assert_eq!(labels[MANAGED_BY_LABEL], "ticketeer-operator");
        assert_eq!(labels["app.kubernetes.io/instance"], "support");
        assert_eq!(metadata.namespace.as_deref(), Some("tickets"));
    }
}

#[test]
fn a_bot_without_a_uid_cannot_own_children() {
    let mut bot = bot(bot_json());
    bot.metadata.uid = None;
    let error = builders::service_account(&bot).expect_err("no uid");
    assert_eq!(error.to_string(), "TicketBot has no metadata.uid");
}

#[test]
fn the_deployment_runs_the_bot_safely_with_secrets_from_the_environment() {
    let bot = bot(bot_json());
    let deployment = builders::deployment(&bot, &settings(), &[]).expect("builds");
    let spec = deployment.spec.expect("spec");
    assert_eq!(spec.replicas, Some(1));
    let pod = spec.template.spec.expect("pod spec");
    assert_eq!(pod.service_account_name.as_deref(), Some("support"));
    assert_eq!(pod.node_selector, bot.spec.node_selector);
    assert_eq!(pod.tolerations, bot.spec.tolerations);
    let container = &pod.containers[0];
    assert_eq!(container.image, bot.spec.image);
    assert_eq!(
        container.args.as_deref(),
        Some(
            &[
                "--config".to_owned(),
                "/etc/ticketeer/config.yaml".to_owned()
            ][..]
        )
    );
    let env = container.env.as_ref().expect("env");
    let token = env[0]
        .value_from
        .as_ref()
        .and_then(|from| from.secret_key_ref.as_ref())
        .expect("token from a Secret");
    assert_eq!(
        (
            env[0].name.as_str(),
            token.name.as_str(),
            token.key.as_str()
        ),
        ("DISCORD_TOKEN", "discord-token", "token")
    );
    let database = env[1]
        .value_from
        .as_ref()
        .and_then(|from| from.secret_key_ref.as_ref())
        .expect("URL from a Secret");
    assert_eq!(
        (
            env[1].name.as_str(),
            database.name.as_str(),
            database.key.as_str()
        ),
        ("DATABASE_URL", "ticketeer-db", "url")
    );
    assert!(
        env.iter().all(|variable| variable.value.is_none()),
        "no secret value inline"
    );
    let probe_path = |probe: &Option<k8s_openapi::api::core::v1::Probe>| {
        probe
            .as_ref()
            .and_then(|probe| probe.http_get.as_ref())
            .and_then(|get| get.path.clone())
    };
    assert_eq!(
        probe_path(&container.liveness_probe).as_deref(),
        Some("/healthz")
    );
    assert_eq!(
        probe_path(&container.readiness_probe).as_deref(),
        Some("/readyz")
    );
    assert_eq!(
        container.ports.as_ref().expect("ports")[0].container_port,
        8080
    );
    let security = container
        .security_context
        .as_ref()
        .expect("security context");
    assert_eq!(security.run_as_non_root, Some(true));
    assert_eq!(security.read_only_root_filesystem, Some(true));
    assert_eq!(security.allow_privilege_escalation, Some(false));
    let config_mount = container
        .volume_mounts
        .as_ref()
        .and_then(|mounts| mounts.iter().find(|mount| mount.name == "config"))
        .expect("config mount");
    assert_eq!(config_mount.mount_path, "/etc/ticketeer");
    assert_eq!(config_mount.read_only, Some(true));
    assert_eq!(
        config_mount.sub_path, None,
        "a subPath mount never sees ConfigMap updates"
    );
    assert_eq!(container.resources, bot.spec.resources);
}

#[test]
fn a_bot_without_image_or_resources_gets_the_defaults() {
    let bot = bot(bot_json().without("/spec/image").without("/spec/resources"));
    let deployment = builders::deployment(&bot, &settings(), &[]).expect("builds");
    let pod = deployment
        .spec
        .and_then(|spec| spec.template.spec)
        .expect("pod");
    let container = &pod.containers[0];
    assert_eq!(
        container.image.as_deref(),
        Some("ghcr.io/ticketeer/ticketeer:test")
    );
    let resources = container.resources.as_ref().expect("default resources");
    assert!(
        resources
            .requests
            .as_ref()
            .is_some_and(|requests| requests.contains_key("memory"))
    );
    assert!(
        resources
            .limits
            .as_ref()
            .is_some_and(|limits| limits.contains_key("memory"))
    );
}

#[test]
fn pod_level_inputs_change_the_pod_hash_and_nothing_else_does() {
    let base = bot(bot_json());
    let hash = |bot: &TicketBot, digests: &[String]| {
        pod_hash(&builders::deployment(bot, &settings(), digests).expect("builds"))
    };
    let original = hash(&base, &["a".into(), "b".into()]);
    assert_eq!(
        hash(&base, &["a".into(), "b".into()]),
        original,
        "deterministic"
    );
    let changed = [
        hash(
            &bot(bot_json().set("/spec/image", json!("bot:2"))),
            &["a".into(), "b".into()],
        ),
        hash(
            &bot(bot_json().set("/spec/tokenSecretRef/key", json!("other"))),
            &["a".into(), "b".into()],
        ),
        hash(
            &bot(bot_json().set("/spec/resources/limits/memory", json!("1Gi"))),
            &["a".into(), "b".into()],
        ),
        hash(&base, &["rotated".into(), "b".into()]),
        // The bot reads `discord.*` and `log.*` only when it starts.
        hash(
            &bot(bot_json().set("/spec/logLevel", json!("trace"))),
            &["a".into(), "b".into()],
        ),
        hash(
            &bot(bot_json().set("/spec/logFormat", json!("text"))),
            &["a".into(), "b".into()],
        ),
        hash(
            &bot(bot_json().set("/spec/discord/applicationId", json!("1090000000000000002"))),
            &["a".into(), "b".into()],
        ),
    ];
    for other in changed {
        assert_ne!(other, original);
    }
    let category_only = bot(bot_json());
    assert_eq!(
        hash(&category_only, &["a".into(), "b".into()]),
        original,
        "the same spec hashes the same"
    );
}

#[test]
fn a_log_filter_the_bot_cannot_parse_is_refused_naming_the_field() {
    let refused = builders::render_config(
        &bot(bot_json().set("/spec/logLevel", json!("ticketeer_bot=loud"))),
        &[],
    )
    .expect_err("the filter is refused");
    assert_eq!(refused.reason(), "InvalidConfig");
    assert!(
        refused
            .to_string()
            .starts_with(r#"spec.logLevel "ticketeer_bot=loud" is not a valid log filter"#),
        "{refused}"
    );
    for valid in [
        "debug",
        "info,ticketeer_bot=debug",
        "warn,twilight_gateway=off",
    ] {
        builders::render_config(&bot(bot_json().set("/spec/logLevel", json!(valid))), &[])
            .unwrap_or_else(|error| panic!("{valid}: {error}"));
    }
}

#[test]
fn the_service_exposes_the_http_port_to_the_bot_pods() {
    let service = builders::service(&bot(bot_json())).expect("builds");
    let spec = service.spec.expect("spec");
    assert_eq!(spec.selector, Some(builders::selector_labels("support")));
    let port = &spec.ports.expect("ports")[0];
    assert_eq!((port.name.as_deref(), port.port), (Some("http"), 8080));
}

fn time(seconds: i64) -> Time {
    Time(jiff::Timestamp::from_second(seconds).expect("valid"))
}

#[test]
fn a_condition_keeps_its_transition_time_until_its_status_flips() {
    let first = status::merge_conditions(
        &[],
        &[Observed::no("Ready", "RolloutInProgress", "0 of 1")],
        Some(1),
        &time(100),
    );
    assert_eq!(first[0].last_transition_time, time(100));
    let same_status = status::merge_conditions(
        &first,
        &[Observed::no("Ready", "RolloutInProgress", "still 0 of 1")],
        Some(2),
        &time(200),
    );
    assert_eq!(same_status[0].last_transition_time, time(100));
    assert_eq!(same_status[0].message, "still 0 of 1");
    assert_eq!(same_status[0].observed_generation, Some(2));
    let flipped = status::merge_conditions(
        &same_status,
        &[Observed::yes("Ready", "BotRunning", "ok")],
        Some(2),
        &time(300),
    );
    assert_eq!(flipped[0].last_transition_time, time(300));
    assert!(status::became(&same_status, &flipped, "Ready", true));
    assert!(!status::became(&flipped, &flipped, "Ready", true));
}

#[test]
fn ready_reports_the_first_thing_that_is_wrong() {
    let rendered = Observed::yes("ConfigRendered", "ConfigRendered", "ok");
    let available = Observed::yes("Available", "MinimumReplicasAvailable", "1 of 1");
    let healthy = Observed::no("Degraded", "SecretsPresent", "fine");
    assert!(status::bot_ready(&rendered, &available, &healthy).status);
    let degraded = Observed::yes(
        "Degraded",
        "SecretKeyMissing",
        "Secret discord-token has no key token",
    );
    let ready = status::bot_ready(&rendered, &available, &degraded);
    assert_eq!(
        (ready.status, ready.reason.as_str()),
        (false, "SecretKeyMissing")
    );
    assert_eq!(ready.message, "Secret discord-token has no key token");
    let unavailable = Observed::no("Available", "RolloutInProgress", "0 of 1");
    assert_eq!(
        status::bot_ready(&rendered, &unavailable, &healthy).reason,
        "RolloutInProgress"
    );
}

#[test]
fn a_deployment_is_available_once_its_current_generation_has_its_replicas() {
    let mut deployment = builders::deployment(&bot(bot_json()), &settings(), &[]).expect("builds");
    deployment.metadata.generation = Some(2);
    assert!(!status::deployment_availability(None).0.status);
    assert!(!status::deployment_availability(Some(&deployment)).0.status);
    deployment.status = Some(DeploymentStatus {
        observed_generation: Some(1),
        available_replicas: Some(1),
        ready_replicas: Some(1),
        updated_replicas: Some(1),
        ..DeploymentStatus::default()
    });
    assert!(
        !status::deployment_availability(Some(&deployment)).0.status,
        "an old generation"
    );
    deployment
        .status
        .as_mut()
        .expect("status")
        .observed_generation = Some(2);
    let (available, ready) = status::deployment_availability(Some(&deployment));
    assert!(available.status);
    assert_eq!(ready, 1);
}

const KEY: &str = "tickets/billing";
const CREATE_CHANNEL: &str = "300000000000000002";
const PANEL: &str = "700000000000000001";

fn report(gateway_connected: bool, entry: Option<CategoryStatus>) -> BotReport {
    BotReport::Reported(StatusReport {
        gateway_connected,
        categories: entry
            .map(|entry| BTreeMap::from([(KEY.to_owned(), entry)]))
            .unwrap_or_default(),
    })
}

fn entry(panel: Option<&str>, open_tickets: i64, problems: Vec<Problem>) -> CategoryStatus {
    CategoryStatus {
        name: "Billing".to_owned(),
        panel_message_id: panel.map(str::to_owned),
        open_tickets,
        problems,
        parents: vec![ParentFill {
            channel_id: "300000000000000001".to_owned(),
            channels: 12,
            limit: 50,
        }],
    }
}

/// The fill of the parent as `entry` reports it (12 of 50), or as `previous` kept it (40).
fn fill(channels: i32) -> Vec<ParentFillStatus> {
    vec![ParentFillStatus {
        channel_id: "300000000000000001".to_owned(),
        channels,
        limit: 50,
    }]
}

fn missing_manage_channels() -> Problem {
    Problem::MissingPermissions {
        field: "parentChannelId".to_owned(),
        channel_id: "300000000000000001".to_owned(),
        missing: vec!["MANAGE_CHANNELS".to_owned()],
    }
}

fn ready_condition(ready: bool, reason: &str) -> Condition {
    Condition {
        type_: "Ready".to_owned(),
        status: if ready { "True" } else { "False" }.to_owned(),
        reason: reason.to_owned(),
        message: format!("earlier: {reason}"),
        observed_generation: Some(1),
        last_transition_time: time(1),
    }
}

fn previous(ready: Condition) -> TicketCategoryStatus {
    TicketCategoryStatus {
        observed_generation: Some(1),
        conditions: vec![ready],
        panel_message_id: Some("700000000000000000".to_owned()),
        open_tickets: Some(4),
        parents: fill(40),
    }
}

/// One row of the category status table.
struct Case<'a> {
    what: &'a str,
    rejected: bool,
    bot: &'a [Condition],
    report: Option<&'a BotReport>,
    previous: Option<&'a TicketCategoryStatus>,
    // (accepted, ready, reason, message contains, panel, open tickets)
    expect: (bool, bool, &'a str, &'a str, Option<&'a str>, Option<i32>),
}

#[test]
fn a_categorys_status_follows_acceptance_the_bot_and_its_status_report() {
    let bot_ready = [Condition {
        type_: "Ready".to_owned(),
        status: "True".to_owned(),
        reason: "BotRunning".to_owned(),
        message: "ok".to_owned(),
        observed_generation: Some(1),
        last_transition_time: time(1),
    }];
    let bot_not_ready = [Condition {
        status: "False".to_owned(),
        reason: "RolloutInProgress".to_owned(),
        message: "0 of 1 bot pods".to_owned(),
        ..bot_ready[0].clone()
    }];
    let rejection = builders::Rejection {
        reason: "BotNotFound",
        message: "TicketBot \"support\" does not exist".to_owned(),
    };
    let healthy = report(true, Some(entry(Some(PANEL), 2, vec![])));
    let no_panel = report(true, Some(entry(None, 0, vec![])));
    let problem = report(
        true,
        Some(entry(Some(PANEL), 2, vec![missing_manage_channels()])),
    );
    let unpinged = report(
        true,
        Some(entry(
            Some(PANEL),
            2,
            vec![Problem::RoleNotPinged {
                field: "roleIds[0]".to_owned(),
                role_id: "400000000000000001".to_owned(),
            }],
        )),
    );
    let guild_permissions = report(
        true,
        Some(entry(
            Some(PANEL),
            2,
            vec![Problem::MissingGuildPermissions {
                missing: vec!["MANAGE_ROLES".to_owned()],
            }],
        )),
    );
    let disconnected = report(false, Some(entry(Some(PANEL), 2, vec![])));
    let not_loaded = report(true, None);
    let unreachable = BotReport::Unreachable(
        "cannot reach http://support.tickets.svc:8080/status: Connection refused".to_owned(),
    );
    let posted_before = previous(ready_condition(true, "PanelPosted"));
    let bot_was_down = previous(ready_condition(false, "BotNotReady"));

    let cases = [
        Case {
            what: "rejected: no panel, the rejection is the reason",
            rejected: true,
            bot: &bot_ready,
            report: Some(&healthy),
            previous: Some(&posted_before),
            expect: (false, false, "BotNotFound", "does not exist", None, Some(4)),
        },
        Case {
            what: "bot not ready: says why, keeps the last reported fields",
            rejected: false,
            bot: &bot_not_ready,
            report: Some(&healthy),
            previous: Some(&posted_before),
            expect: (
                true,
                false,
                "BotNotReady",
                "TicketBot support is not ready: 0 of 1 bot pods",
                Some("700000000000000000"),
                Some(4),
            ),
        },
        Case {
            what: "bot without status",
            rejected: false,
            bot: &[],
            report: None,
            previous: None,
            expect: (
                true,
                false,
                "BotNotReady",
                "has not reported its status yet",
                None,
                None,
            ),
        },
        Case {
            what: "healthy: Ready with the panel and the count",
            rejected: false,
            bot: &bot_ready,
            report: Some(&healthy),
            previous: None,
            expect: (
                true,
                true,
                "PanelPosted",
                "message 700000000000000001",
                Some(PANEL),
                Some(2),
            ),
        },
        Case {
            what: "panel not posted: names the create channel",
            rejected: false,
            bot: &bot_ready,
            report: Some(&no_panel),
            previous: Some(&posted_before),
            expect: (
                true,
                false,
                "PanelNotPosted",
                "not posted yet in channel 300000000000000002 (createChannelId)",
                None,
                Some(0),
            ),
        },
        Case {
            what: "a Discord-side problem in words",
            rejected: false,
            bot: &bot_ready,
            report: Some(&problem),
            previous: None,
            expect: (
                true,
                false,
                "DiscordProblem",
                "the bot lacks Manage Channels in category 300000000000000001 (parentChannelId)",
                Some(PANEL),
                Some(2),
            ),
        },
        Case {
            what: "a ticket role nobody would ping",
            rejected: false,
            bot: &bot_ready,
            report: Some(&unpinged),
            previous: None,
            expect: (
                true,
                false,
                "DiscordProblem",
                "role 400000000000000001 (roleIds[0]) is not notified of new tickets: make it mentionable or give the bot Mention Everyone",
                Some(PANEL),
                Some(2),
            ),
        },
        Case {
            what: "Manage Roles held only through the category",
            rejected: false,
            bot: &bot_ready,
            report: Some(&guild_permissions),
            previous: None,
            expect: (
                true,
                false,
                "DiscordProblem",
                "the bot's roles lack Manage Roles in the server",
                Some(PANEL),
                Some(2),
            ),
        },
        Case {
            what: "gateway down",
            rejected: false,
            bot: &bot_ready,
            report: Some(&disconnected),
            previous: None,
            expect: (
                true,
                false,
                "GatewayDisconnected",
                "not connected to Discord's gateway",
                Some(PANEL),
                Some(2),
            ),
        },
        Case {
            what: "the bot has not loaded the category",
            rejected: false,
            bot: &bot_ready,
            report: Some(&not_loaded),
            previous: None,
            expect: (
                true,
                false,
                "CategoryNotLoaded",
                "has not loaded this category yet",
                None,
                None,
            ),
        },
        Case {
            what: "unreachable: a condition, last reported fields kept",
            rejected: false,
            bot: &bot_ready,
            report: Some(&unreachable),
            previous: Some(&posted_before),
            expect: (
                true,
                false,
                "StatusUnreachable",
                "the bot's /status is unreachable: cannot reach http://support.tickets.svc:8080/status: Connection refused",
                Some("700000000000000000"),
                Some(4),
            ),
        },
        Case {
            what: "no report yet after a restart: a report-based Ready is kept",
            rejected: false,
            bot: &bot_ready,
            report: None,
            previous: Some(&posted_before),
            expect: (
                true,
                true,
                "PanelPosted",
                "earlier: PanelPosted",
                Some("700000000000000000"),
                Some(4),
            ),
        },
        Case {
            what: "no report yet and nothing report-based to keep",
            rejected: false,
            bot: &bot_ready,
            report: None,
            previous: Some(&bot_was_down),
            expect: (
                true,
                false,
                "StatusPending",
                "waiting for the first /status report of TicketBot support",
                Some("700000000000000000"),
                Some(4),
            ),
        },
    ];
    for case in cases {
        let observation = status::observe_category(&CategoryInputs {
            key: KEY,
            create_channel_id: CREATE_CHANNEL,
            bot_name: "support",
            acceptance: if case.rejected {
                Err(&rejection)
            } else {
                Ok(())
            },
            bot_conditions: case.bot,
            report: case.report,
            previous: case.previous,
        });
        let (accepted, ready, reason, message, panel, open) = case.expect;
        let what = case.what;
        assert_eq!(observation.accepted.status, accepted, "{what}");
        assert_eq!(
            (observation.ready.status, observation.ready.reason.as_str()),
            (ready, reason),
            "{what}"
        );
        assert!(
            observation.ready.message.contains(message),
            "{what}: {:?} lacks {message:?}",
            observation.ready.message
        );
        assert_eq!(observation.panel_message_id.as_deref(), panel, "{what}");
        assert_eq!(observation.open_tickets, open, "{what}");
        // The parents' fill follows the report like the count, and is kept while it is missing.
        let parents = match open {
            None => Vec::new(),
            Some(4) => fill(40),
            Some(_) => fill(12),
        };
        assert_eq!(observation.parents, parents, "{what}");
    }
}

#[test]
fn a_report_is_settled_only_when_every_served_category_is_fully_up() {
    let keys = [KEY];
    assert!(report(true, Some(entry(Some(PANEL), 0, vec![]))).settled(keys.into_iter()));
    assert!(!report(true, Some(entry(None, 0, vec![]))).settled(keys.into_iter()));
    assert!(
        !report(
            true,
            Some(entry(Some(PANEL), 0, vec![missing_manage_channels()]))
        )
        .settled(keys.into_iter())
    );
    assert!(!report(false, Some(entry(Some(PANEL), 0, vec![]))).settled(keys.into_iter()));
    assert!(!report(true, None).settled(keys.into_iter()));
    assert!(!BotReport::Unreachable("down".to_owned()).settled(keys.into_iter()));
}

#[test]
fn the_category_status_carries_the_observation_and_keeps_transition_times() {
    let observation = status::CategoryObservation {
        accepted: Observed::yes("Accepted", "Accepted", "served by TicketBot support"),
        ready: Observed::yes("Ready", "PanelPosted", "posted"),
        panel_message_id: Some(PANEL.to_owned()),
        open_tickets: Some(3),
        parents: fill(7),
    };
    let first = status::category_status(None, &observation, Some(1), &time(10));
    assert_eq!(first.panel_message_id.as_deref(), Some(PANEL));
    assert_eq!(first.open_tickets, Some(3));
    assert_eq!(first.parents, fill(7));
    let again = status::category_status(Some(&first), &observation, Some(1), &time(20));
    assert_eq!(
        again, first,
        "an unchanged observation gives an equal status"
    );
}

#[test]
fn backoff_doubles_per_failure_up_to_the_cap_with_jitter_in_the_upper_half() {
    let policy = BackoffPolicy {
        base: Duration::from_secs(1),
        max: Duration::from_mins(1),
    };
    assert_eq!(policy.delay(1, 1.0), Duration::from_secs(1));
    assert_eq!(policy.delay(2, 1.0), Duration::from_secs(2));
    assert_eq!(policy.delay(5, 1.0), Duration::from_secs(16));
    assert_eq!(policy.delay(30, 1.0), Duration::from_mins(1));
    assert_eq!(policy.delay(1, 0.0), Duration::from_millis(500));
    for failures in 1..20 {
        let lowest_next = policy.delay(failures + 1, 0.0);
        let highest_now = policy.delay(failures, 1.0);
        assert!(
            lowest_next >= highest_now.min(policy.max.mul_f64(0.5)),
            "never shrinks much at {failures}"
        );
    }
}

#[test]
fn bot_pods_pull_with_the_bots_secrets_else_the_operators_default_and_get_no_service_links() {
    let pull_secrets = |bot: &TicketBot, settings: &BuildSettings| -> Option<Vec<String>> {
        let deployment = builders::deployment(bot, settings, &[]).expect("builds");
        deployment
            .spec?
            .template
            .spec?
            .image_pull_secrets
            .map(|secrets| secrets.into_iter().map(|secret| secret.name).collect())
    };
    let plain = bot(bot_json());
    assert_eq!(pull_secrets(&plain, &settings()), None);
    let pod = builders::deployment(&plain, &settings(), &[])
        .expect("builds")
        .spec
        .and_then(|spec| spec.template.spec)
        .expect("a pod spec");
    assert_eq!(
        pod.enable_service_links,
        Some(false),
        "no Service variables"
    );
    let mut defaults = settings();
    defaults.default_image_pull_secrets = vec!["mirror".to_owned()];
    assert_eq!(
        pull_secrets(&plain, &defaults),
        Some(vec!["mirror".to_owned()])
    );
    let own = bot(bot_json().set("/spec/imagePullSecrets", json!([{"name": "private"}])));
    assert_eq!(
        pull_secrets(&own, &defaults),
        Some(vec!["private".to_owned()])
    );
    let none = bot(bot_json().set("/spec/imagePullSecrets", json!([])));
    assert_eq!(
        pull_secrets(&none, &defaults),
        None,
        "an empty list opts out"
    );
}
