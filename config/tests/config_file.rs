//! Reading, validating and writing `config.yaml`.

use serde_json::Value;
use ticketeer_config::snowflake::SNOWFLAKE_PATTERN;
use ticketeer_config::{
    BUTTON_LABEL_MAX_CHARS, BotConfig, ButtonStyle, CATEGORY_NAME_MAX_CHARS, ConfigError,
    LogFormat, MESSAGE_MAX_CHARS, PasteExpiry, ROLE_IDS_MAX, Snowflake,
    validation::category_key_problem,
};

const FULL: &str = r#"
discord:
  applicationId: "100000000000000001"
  apiProxy: "127.0.0.1:3000"
  gatewayUrl: "ws://127.0.0.1:3001"
privatebin:
  url: https://paste.example.com/
  expire: 1week
http:
  listen: 127.0.0.1:9090
log:
  level: info,ticketeer_bot=debug
  format: json
categories:
  support/billing:
    guildId: "200000000000000001"
    name: Billing
    parentChannelId: "300000000000000001"
    createChannelId: "300000000000000002"
    roleIds: ["400000000000000001", "400000000000000002"]
    logChannelId: "300000000000000003"
    createMessage: Questions about an invoice? Open a ticket.
    createdMessage: Thanks! Someone from billing will be with you shortly.
    createButton: {label: Open billing ticket, emoji: "🧾", style: success}
    closeButton: {label: Close, emoji: "<:lock:500000000000000001>", style: danger}
    dmOnClose:
      enabled: true
      message: "Your ticket was closed. Transcript: {transcript_url}"
"#;

const MINIMAL: &str = r#"
privatebin:
  url: https://paste.example.com
categories:
  general:
    guildId: "200000000000000001"
    name: General
    parentChannelId: "300000000000000001"
    createChannelId: "300000000000000002"
    logChannelId: "300000000000000003"
    createMessage: Need help?
    createdMessage: Welcome!
"#;

#[track_caller]
fn invalid(text: &str) -> Vec<String> {
    match BotConfig::from_yaml(text) {
        Err(ConfigError::Invalid(errors)) => {
            errors.errors().iter().map(ToString::to_string).collect()
        }
        other => panic!("expected validation errors, got {other:?}"),
    }
}

fn minimal_with(find: &str, replace: &str) -> String {
    assert!(MINIMAL.contains(find), "{find} not in the minimal config");
    MINIMAL.replacen(find, replace, 1)
}

#[test]
fn a_full_config_parses_every_field() {
    let config = BotConfig::from_yaml(FULL).expect("the full config is valid");
    assert_eq!(
        config.discord.application_id,
        Some(Snowflake::new("100000000000000001"))
    );
    assert_eq!(config.discord.api_proxy.as_deref(), Some("127.0.0.1:3000"));
    assert_eq!(config.privatebin.expire, PasteExpiry::OneWeek);
    assert_eq!(config.http.listen.to_string(), "127.0.0.1:9090");
    assert_eq!(config.log.format, LogFormat::Json);
    let billing = &config.categories["support/billing"];
    assert_eq!(billing.role_ids.len(), 2);
    assert_eq!(billing.create_button.style, ButtonStyle::Success);
    assert_eq!(
        billing.close_button.emoji.as_deref(),
        Some("<:lock:500000000000000001>")
    );
    assert!(billing.dm_on_close.enabled);
}

#[test]
fn a_minimal_config_gets_the_documented_defaults() {
    let config = BotConfig::from_yaml(MINIMAL).expect("the minimal config is valid");
    assert_eq!(config.privatebin.expire, PasteExpiry::OneYear);
    assert_eq!(config.http.listen.to_string(), "0.0.0.0:8080");
    assert_eq!(config.log.level, "info");
    assert_eq!(config.log.format, LogFormat::Text);
    let general = &config.categories["general"];
    assert_eq!(general.create_button.style, ButtonStyle::Primary);
    assert_eq!(general.close_button.style, ButtonStyle::Danger);
    assert!(general.role_ids.is_empty());
    assert!(!general.dm_on_close.enabled);
    assert!(!general.close_reason_prompt);
    assert!(!general.claim_button);
    assert!(!general.claim_locks_writing);
    assert_eq!(
        general.request_close_timeout_seconds,
        ticketeer_config::DEFAULT_REQUEST_CLOSE_TIMEOUT_SECONDS
    );
}

#[test]
fn rendering_and_reading_back_gives_the_same_config() {
    for text in [FULL, MINIMAL] {
        let config = BotConfig::from_yaml(text).expect("valid");
        let rendered = config.to_yaml().expect("renders");
        assert_eq!(BotConfig::from_yaml(&rendered).expect("reads back"), config);
    }
}

#[test]
fn unknown_fields_are_rejected() {
    let text = minimal_with(
        "    name: General\n",
        "    name: General\n    colour: red\n",
    );
    let error = BotConfig::from_yaml(&text).expect_err("unknown field");
    assert!(matches!(error, ConfigError::ParseYaml(_)), "{error}");
    assert!(error.to_string().contains("colour"), "{error}");
}

#[test]
fn a_missing_required_field_is_a_parse_error_naming_it() {
    let text = minimal_with("    logChannelId: \"300000000000000003\"\n", "");
    let error = BotConfig::from_yaml(&text).expect_err("missing field");
    assert!(error.to_string().contains("logChannelId"), "{error}");
}

#[test]
fn a_long_button_label_names_the_category_field_and_length() {
    let label = "x".repeat(93);
    let text = FULL.replace("label: Open billing ticket", &format!("label: {label}"));
    assert_eq!(
        invalid(&text),
        [r#"categories["support/billing"].createButton.label: must be 1–80 characters (got 93)"#]
    );
}

#[test]
fn short_and_non_numeric_snowflakes_are_named() {
    let text = minimal_with("\"200000000000000001\"", "\"1234\"")
        .replace("\"300000000000000002\"", "\"abcdefghijklmnopqr\"");
    assert_eq!(
        invalid(&text),
        [
            r#"categories["general"].guildId: must be a Discord id of 17–20 digits (got "1234")"#,
            r#"categories["general"].createChannelId: must be a Discord id of 17–20 digits (got "abcdefghijklmnopqr")"#,
        ]
    );
}

#[test]
fn a_bad_role_id_is_named_by_its_index() {
    let text = minimal_with(
        "    logChannelId",
        "    roleIds: [\"400000000000000001\", \"42\"]\n    logChannelId",
    );
    assert_eq!(
        invalid(&text),
        [r#"categories["general"].roleIds[1]: must be a Discord id of 17–20 digits (got "42")"#]
    );
}

#[test]
fn a_role_named_twice_is_named_by_its_second_index() {
    let text = minimal_with(
        "    logChannelId",
        "    roleIds: [\"400000000000000001\", \"400000000000000001\"]\n    logChannelId",
    );
    assert_eq!(
        invalid(&text),
        [r#"categories["general"].roleIds[1]: repeats roleIds[0]"#]
    );
}

#[test]
fn the_guild_id_is_refused_as_a_role_because_it_is_everyone() {
    let text = minimal_with(
        "    logChannelId",
        "    roleIds: [\"200000000000000001\"]\n    logChannelId",
    );
    let problems = invalid(&text);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0].starts_with(r#"categories["general"].roleIds[0]: is the guild id"#),
        "{problems:?}"
    );
}

#[test]
fn too_many_roles_are_rejected() {
    let roles: Vec<String> = (0..51)
        .map(|index| format!("\"4000000000000{index:05}\""))
        .collect();
    let text = minimal_with(
        "    logChannelId",
        &format!("    roleIds: [{}]\n    logChannelId", roles.join(", ")),
    );
    assert_eq!(
        invalid(&text),
        [r#"categories["general"].roleIds: must name at most 50 roles (got 51)"#]
    );
}

#[test]
fn messages_longer_than_discord_allows_are_rejected() {
    let long = "y".repeat(2001);
    let text = minimal_with("Need help?", &long).replace("Welcome!", &long);
    assert_eq!(
        invalid(&text),
        [
            r#"categories["general"].createMessage: must be 1–2000 characters (got 2001)"#,
            r#"categories["general"].createdMessage: must be 1–2000 characters (got 2001)"#,
        ]
    );
}

#[test]
fn limits_count_characters_not_bytes() {
    let text = minimal_with("Need help?", &"é".repeat(2000));
    assert!(BotConfig::from_yaml(&text).is_ok());
}

#[test]
fn an_empty_or_blank_name_is_rejected() {
    assert_eq!(
        invalid(&minimal_with("name: General", "name: \"\"")),
        [r#"categories["general"].name: must be 1–100 characters (got 0)"#]
    );
    assert_eq!(
        invalid(&minimal_with("name: General", "name: \"   \"")),
        [r#"categories["general"].name: must not be only whitespace"#]
    );
}

#[test]
fn an_enabled_dm_without_a_message_is_rejected() {
    let text = minimal_with(
        "    createdMessage: Welcome!\n",
        "    createdMessage: Welcome!\n    dmOnClose: {enabled: true}\n",
    );
    assert_eq!(
        invalid(&text),
        [r#"categories["general"].dmOnClose.message: is required when dmOnClose.enabled is true"#]
    );
}

#[test]
fn the_staff_options_parse_and_a_request_close_timeout_out_of_range_is_named() {
    let text = minimal_with(
        "    createdMessage: Welcome!\n",
        "    createdMessage: Welcome!\n    claimButton: true\n    claimLocksWriting: true\n    requestCloseTimeoutSeconds: 600\n",
    );
    let config = BotConfig::from_yaml(&text).expect("valid");
    let general = &config.categories["general"];
    assert!(general.claim_button && general.claim_locks_writing);
    assert!(!general.ask_feedback, "feedback is off unless asked for");
    assert_eq!(general.request_close_timeout_seconds, 600);
    for seconds in ["0", "2592001"] {
        let text = minimal_with(
            "    createdMessage: Welcome!\n",
            &format!("    createdMessage: Welcome!\n    requestCloseTimeoutSeconds: {seconds}\n"),
        );
        assert_eq!(
            invalid(&text),
            [format!(
                r#"categories["general"].requestCloseTimeoutSeconds: must be 1–2592000 seconds (30 days; got {seconds})"#
            )]
        );
    }
}

#[test]
fn a_panel_placement_parses_and_its_bad_fields_are_named() {
    let text = minimal_with(
        "    createdMessage: Welcome!\n",
        "    createdMessage: Welcome!\n    panel: {name: help-desk, style: select, position: 3, description: Invoices, placeholder: Pick one}\n",
    );
    let config = BotConfig::from_yaml(&text).expect("valid");
    let panel = config.categories["general"]
        .panel
        .as_ref()
        .expect("a panel");
    assert_eq!(panel.name, "help-desk");
    assert_eq!(panel.style, ticketeer_config::PanelStyle::Select);
    assert_eq!(panel.position, 3);
    let long = "x".repeat(101);
    let text = minimal_with(
        "    createdMessage: Welcome!\n",
        &format!(
            "    createdMessage: Welcome!\n    panel: {{name: Help Desk, description: {long}, placeholder: \"  \"}}\n"
        ),
    );
    assert_eq!(
        invalid(&text),
        [
            r#"categories["general"].panel.name: must be 1–32 lowercase letters, digits and '-', not starting with '-' (got "Help Desk")"#,
            r#"categories["general"].panel.description: must be 1–100 characters (got 101)"#,
            r#"categories["general"].panel.placeholder: must not be only whitespace"#,
        ]
    );
}

#[test]
fn questions_parse_and_their_bad_fields_are_named() {
    let text = minimal_with(
        "    createdMessage: Welcome!\n",
        "    createdMessage: Welcome!\n    questions:\n      - {label: Order number, minLength: 3, maxLength: 20}\n      - {label: Details, style: paragraph, required: false}\n",
    );
    let config = BotConfig::from_yaml(&text).expect("valid");
    let questions = &config.categories["general"].questions;
    assert_eq!(questions.len(), 2);
    assert!(questions[0].required && !questions[1].required);
    assert_eq!(
        questions[1].style,
        ticketeer_config::QuestionStyle::Paragraph
    );
    let six = "      - {label: Question}\n".repeat(6);
    let text = minimal_with(
        "    createdMessage: Welcome!\n",
        &format!("    createdMessage: Welcome!\n    questions:\n{six}"),
    );
    assert_eq!(
        invalid(&text),
        [
            r#"categories["general"].questions: must hold at most 5 questions, Discord's limit for one form (got 6)"#
        ]
    );
    let long = "x".repeat(46);
    let text = minimal_with(
        "    createdMessage: Welcome!\n",
        &format!(
            "    createdMessage: Welcome!\n    questions:\n      - {{label: {long}, minLength: 30, maxLength: 20}}\n      - {{label: Fine, maxLength: 2000}}\n"
        ),
    );
    assert_eq!(
        invalid(&text),
        [
            r#"categories["general"].questions[0].label: must be 1–45 characters (got 46)"#,
            r#"categories["general"].questions[0].minLength: must not exceed maxLength (20; got 30)"#,
            r#"categories["general"].questions[1].maxLength: must be 1–1024 characters (one field of the ticket's first message; got 2000)"#,
        ]
    );
}

#[test]
fn overflow_parents_are_checked_one_by_one() {
    let text = minimal_with(
        "    createdMessage: Welcome!\n",
        "    createdMessage: Welcome!\n    overflowParentChannelIds: [\"222222222222222223\"]\n",
    );
    let config = BotConfig::from_yaml(&text).expect("valid");
    assert_eq!(
        config.categories["general"]
            .overflow_parent_channel_ids
            .len(),
        1
    );
    let parent = BotConfig::from_yaml(&minimal_with("", ""))
        .expect("valid")
        .categories["general"]
        .parent_channel_id
        .as_str()
        .to_owned();
    let text = minimal_with(
        "    createdMessage: Welcome!\n",
        &format!(
            "    createdMessage: Welcome!\n    overflowParentChannelIds: [\"{parent}\", \"333\", \"222222222222222229\", \"222222222222222229\"]\n"
        ),
    );
    assert_eq!(
        invalid(&text),
        [
            r#"categories["general"].overflowParentChannelIds[0]: is parentChannelId itself"#,
            r#"categories["general"].overflowParentChannelIds[1]: must be a Discord id of 17–20 digits (got "333")"#,
            r#"categories["general"].overflowParentChannelIds[3]: repeats overflowParentChannelIds[2]"#,
        ]
    );
}

#[test]
fn auto_close_parses_with_a_default_warning_and_out_of_range_values_are_named() {
    let config = BotConfig::from_yaml(&minimal_with(
        "    createdMessage: Welcome!\n",
        "    createdMessage: Welcome!\n    autoClose: {inactiveSeconds: 259200}\n",
    ))
    .expect("valid");
    let auto_close = config.categories["general"]
        .auto_close
        .clone()
        .expect("set");
    assert_eq!(auto_close.inactive_seconds, 259_200);
    assert_eq!(auto_close.warning_seconds, 3600);
    assert!(
        BotConfig::from_yaml(MINIMAL).expect("valid").categories["general"]
            .auto_close
            .is_none()
    );
    let with = |value: &str| {
        minimal_with(
            "    createdMessage: Welcome!\n",
            &format!("    createdMessage: Welcome!\n    autoClose: {value}\n"),
        )
    };
    assert_eq!(
        invalid(&with("{inactiveSeconds: 600, warningSeconds: 600}")),
        [
            r#"categories["general"].autoClose.warningSeconds: must be less than autoClose.inactiveSeconds (600; got 600)"#
        ]
    );
    assert_eq!(
        invalid(&with("{inactiveSeconds: 31536001, warningSeconds: 60}")),
        [
            r#"categories["general"].autoClose.inactiveSeconds: must be 1–31536000 seconds (one year; got 31536001)"#
        ]
    );
    let zero = invalid(&with("{inactiveSeconds: 0, warningSeconds: 0}"));
    assert_eq!(zero.len(), 2, "{zero:?}");
    assert!(zero[0].contains("autoClose.inactiveSeconds"));
    assert!(zero[1].contains("autoClose.warningSeconds"));
}

#[test]
fn the_opening_limits_parse_and_their_bad_fields_are_named() {
    let text = minimal_with(
        "    createdMessage: Welcome!\n",
        "    createdMessage: Welcome!\n    cooldownSeconds: 600\n    requiredRoleIds: [\"444444444444444441\"]\n    deniedRoleIds: [\"444444444444444449\"]\n",
    );
    let config = BotConfig::from_yaml(&text).expect("valid");
    let general = &config.categories["general"];
    assert_eq!(general.cooldown_seconds, 600);
    assert_eq!(general.required_role_ids.len(), 1);
    assert_eq!(general.denied_role_ids.len(), 1);
    let guild = general.guild_id.as_str().to_owned();
    let text = minimal_with(
        "    createdMessage: Welcome!\n",
        &format!(
            "    createdMessage: Welcome!\n    cooldownSeconds: 604801\n    deniedRoleIds: [\"{guild}\", \"444444444444444449\", \"444444444444444449\"]\n"
        ),
    );
    assert_eq!(
        invalid(&text),
        [
            r#"categories["general"].cooldownSeconds: must be 0–604800 seconds (one week; got 604801)"#,
            r#"categories["general"].deniedRoleIds[0]: is the guild id, which is the @everyone role"#,
            r#"categories["general"].deniedRoleIds[2]: repeats deniedRoleIds[1]"#,
        ]
    );
}

#[test]
fn the_per_member_maximum_and_the_guild_cap_parse_and_their_bad_values_are_named() {
    let general = &BotConfig::from_yaml(MINIMAL).expect("valid").categories["general"];
    assert_eq!(
        general.max_open_per_user, 1,
        "one open ticket per member by default"
    );
    assert_eq!(
        BotConfig::from_yaml(MINIMAL)
            .expect("valid")
            .limits
            .max_open_tickets_per_guild,
        None
    );
    let text = minimal_with(
        "    createdMessage: Welcome!\n",
        "    createdMessage: Welcome!\n    maxOpenPerUser: 3\nlimits:\n  maxOpenTicketsPerGuild: 400\n",
    );
    let config = BotConfig::from_yaml(&text).expect("valid");
    assert_eq!(config.categories["general"].max_open_per_user, 3);
    assert_eq!(config.limits.max_open_tickets_per_guild, Some(400));
    let again = BotConfig::from_yaml(&config.to_yaml().expect("renders")).expect("reads back");
    assert_eq!(again, config);
    let text = minimal_with(
        "    createdMessage: Welcome!\n",
        "    createdMessage: Welcome!\n    maxOpenPerUser: 0\nlimits:\n  maxOpenTicketsPerGuild: 0\n",
    );
    assert_eq!(
        invalid(&text),
        [
            "limits.maxOpenTicketsPerGuild: must be 1–100000 (got 0)",
            r#"categories["general"].maxOpenPerUser: must be 1–10 (got 0)"#,
        ]
    );
    let text = minimal_with(
        "    createdMessage: Welcome!\n",
        "    createdMessage: Welcome!\n    maxOpenPerUser: 11\n",
    );
    assert_eq!(
        invalid(&text),
        [r#"categories["general"].maxOpenPerUser: must be 1–10 (got 11)"#]
    );
}

#[test]
fn a_disabled_dm_needs_no_message() {
    let text = minimal_with(
        "    createdMessage: Welcome!\n",
        "    createdMessage: Welcome!\n    dmOnClose: {enabled: false}\n",
    );
    assert!(BotConfig::from_yaml(&text).is_ok());
}

#[test]
fn a_malformed_emoji_is_rejected() {
    let text = minimal_with(
        "    createdMessage: Welcome!\n",
        "    createdMessage: Welcome!\n    closeButton: {label: Close, emoji: \"<:x:1>\"}\n",
    );
    assert_eq!(
        invalid(&text),
        [
            r#"categories["general"].closeButton.emoji: must be a Unicode emoji or a custom emoji <:name:id> / <a:name:id> (got "<:x:1>")"#
        ]
    );
}

#[test]
fn text_that_is_not_in_the_unicode_emoji_table_is_rejected_naming_the_field() {
    // Discord refuses a button whose emoji it does not know (50035 "Invalid emoji"), so a short
    // word or a shortcode would break every panel of the category.
    for bad in ["ab", ":ticket:", "🎫🎫"] {
        let text = minimal_with(
            "    createdMessage: Welcome!\n",
            &format!(
                "    createdMessage: Welcome!\n    createButton: {{label: Open, emoji: \"{bad}\"}}\n"
            ),
        );
        assert_eq!(
            invalid(&text),
            [format!(
                r#"categories["general"].createButton.emoji: must be a Unicode emoji or a custom emoji <:name:id> / <a:name:id> (got {bad:?})"#
            )],
            "{bad:?}"
        );
    }
}

#[test]
fn an_unknown_button_style_or_expiry_is_a_parse_error() {
    let style = minimal_with(
        "    createdMessage: Welcome!\n",
        "    createdMessage: Welcome!\n    closeButton: {label: Close, style: link}\n",
    );
    assert!(matches!(
        BotConfig::from_yaml(&style),
        Err(ConfigError::ParseYaml(_))
    ));
    let expiry = minimal_with(
        "url: https://paste.example.com",
        "url: https://paste.example.com\n  expire: 2years",
    );
    assert!(matches!(
        BotConfig::from_yaml(&expiry),
        Err(ConfigError::ParseYaml(_))
    ));
}

#[test]
fn category_keys_must_fit_in_a_custom_id() {
    let long_key = "k".repeat(81);
    let text = minimal_with("  general:", &format!("  {long_key}:"));
    let errors = invalid(&text);
    assert_eq!(errors.len(), 1);
    assert!(
        errors[0].starts_with(&format!(
            "categories[\"{long_key}\"]: the key must be 1–80 characters (got 81)"
        )),
        "{errors:?}"
    );
    assert!(category_key_problem("team a").is_some());
    assert!(category_key_problem("tickets/support.v2_x-y").is_none());
}

#[test]
fn urls_and_overrides_must_have_the_right_shape() {
    let text = MINIMAL
        .replace("url: https://paste.example.com", "url: ftp://paste.example.com")
        .replacen(
            "privatebin:",
            "discord:\n  apiProxy: http://127.0.0.1:3000\n  gatewayUrl: https://gateway\n  applicationId: \"12\"\nprivatebin:",
            1,
        );
    assert_eq!(
        invalid(&text),
        [
            r#"discord.applicationId: must be a Discord id of 17–20 digits (got "12")"#,
            r#"discord.apiProxy: must be host:port, e.g. 127.0.0.1:3000 (got "http://127.0.0.1:3000")"#,
            r#"discord.gatewayUrl: must be a ws:// or wss:// URL (got "https://gateway")"#,
            r#"privatebin.url: must be an http:// or https:// URL (got "ftp://paste.example.com")"#,
        ]
    );
}

#[test]
fn all_errors_are_reported_together_one_per_line() {
    let text = minimal_with("name: General", "name: \"\"").replace("Welcome!", "\"\"");
    let error = BotConfig::from_yaml(&text).expect_err("two errors");
    assert_eq!(
        error.to_string(),
        "config is invalid:\ncategories[\"general\"].name: must be 1–100 characters (got 0)\ncategories[\"general\"].createdMessage: must be 1–2000 characters (got 0)"
    );
}

/// The schema of one property of one definition, e.g. `CategoryConfig.name`.
fn property<'a>(schema: &'a Value, definition: &str, name: &str) -> &'a Value {
    let property = &schema["$defs"][definition]["properties"][name];
    assert!(
        property.is_object(),
        "{definition}.{name} is not in the schema"
    );
    property
}

/// The `const` values of a `oneOf` enum definition.
fn choices(schema: &Value, definition: &str) -> Vec<String> {
    schema["$defs"][definition]["oneOf"]
        .as_array()
        .unwrap_or_else(|| panic!("{definition} is not a oneOf enum"))
        .iter()
        .map(|choice| choice["const"].as_str().expect("a const").to_owned())
        .collect()
}

#[test]
fn the_json_schema_states_each_limit_on_its_field() {
    let schema = BotConfig::json_schema();
    let category = |name| property(&schema, "CategoryConfig", name);
    for id in [
        "guildId",
        "parentChannelId",
        "createChannelId",
        "logChannelId",
    ] {
        assert_eq!(category(id)["pattern"], SNOWFLAKE_PATTERN, "{id}");
        assert_eq!(category(id)["maxLength"], 20, "{id}");
    }
    let roles = category("roleIds");
    assert_eq!(roles["items"]["pattern"], SNOWFLAKE_PATTERN);
    assert_eq!(roles["maxItems"], ROLE_IDS_MAX);
    assert_eq!(roles["x-kubernetes-list-type"], "set");
    assert_eq!(category("name")["minLength"], 1);
    assert_eq!(category("name")["maxLength"], CATEGORY_NAME_MAX_CHARS);
    for text in ["createMessage", "createdMessage"] {
        assert_eq!(category(text)["minLength"], 1, "{text}");
        assert_eq!(category(text)["maxLength"], MESSAGE_MAX_CHARS, "{text}");
    }
    let label = property(&schema, "ButtonConfig", "label");
    assert_eq!(label["minLength"], 1);
    assert_eq!(label["maxLength"], BUTTON_LABEL_MAX_CHARS);
    assert_eq!(
        property(&schema, "DmOnCloseConfig", "message")["maxLength"],
        MESSAGE_MAX_CHARS
    );
    let dm_rules = &schema["$defs"]["DmOnCloseConfig"]["x-kubernetes-validations"];
    assert_eq!(
        dm_rules[0]["message"],
        "dmOnClose.message is required when dmOnClose.enabled is true"
    );
    assert_eq!(
        property(&schema, "DiscordConfig", "applicationId")["pattern"],
        SNOWFLAKE_PATTERN
    );
    assert_eq!(
        choices(&schema, "ButtonStyle"),
        ["primary", "secondary", "success", "danger"]
    );
    assert_eq!(
        choices(&schema, "PasteExpiry"),
        [
            "5min", "10min", "1hour", "1day", "1week", "1month", "1year", "never"
        ]
    );
    assert_eq!(
        property(&schema, "PrivateBinConfig", "expire")["default"],
        "1year"
    );
    let mut required: Vec<&str> = schema["$defs"]["CategoryConfig"]["required"]
        .as_array()
        .expect("required fields")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    required.sort_unstable();
    assert_eq!(
        required,
        [
            "createChannelId",
            "createMessage",
            "createdMessage",
            "guildId",
            "logChannelId",
            "name",
            "parentChannelId"
        ]
    );
    // Every object the file is made of refuses unknown fields, the root included.
    assert_eq!(schema["additionalProperties"], false);
    for definition in [
        "ButtonConfig",
        "CategoryConfig",
        "DiscordConfig",
        "DmOnCloseConfig",
        "HttpConfig",
        "LogConfig",
        "PrivateBinConfig",
    ] {
        assert_eq!(
            schema["$defs"][definition]["additionalProperties"], false,
            "{definition}"
        );
    }
}

#[test]
fn an_empty_or_comments_only_file_names_the_missing_field() {
    for text in [
        "",
        "\n\n",
        "# nothing configured yet\n# privatebin: {}\n",
        "---\n",
    ] {
        let error = BotConfig::from_yaml(text).expect_err("an empty config is refused");
        let message = format!("{error}");
        assert!(
            message.contains("missing field") && message.contains("privatebin"),
            "{text:?} gave: {message}"
        );
    }
}

#[test]
fn thread_mode_parses_and_refuses_what_a_thread_cannot_honour() {
    let general = &BotConfig::from_yaml(MINIMAL).expect("valid").categories["general"];
    assert!(!general.thread_mode, "channels by default");
    let text = minimal_with(
        "    createdMessage: Welcome!\n",
        "    createdMessage: Welcome!\n    threadMode: true\n",
    );
    assert!(BotConfig::from_yaml(&text).expect("valid").categories["general"].thread_mode);
    let text = minimal_with(
        "    createdMessage: Welcome!\n",
        "    createdMessage: Welcome!\n    threadMode: true\n    claimLocksWriting: true\n    overflowParentChannelIds: [\"444444444444444441\"]\n    createOverflowParents: 2\n",
    );
    assert_eq!(
        invalid(&text),
        [
            r#"categories["general"].claimLocksWriting: cannot be true with threadMode: a thread has no permission overwrites to lock"#,
            r#"categories["general"].overflowParentChannelIds: must be empty with threadMode: threads are not held by channel categories"#,
            r#"categories["general"].createOverflowParents: must be 0 with threadMode: threads are not held by channel categories"#,
        ]
    );
}

#[test]
fn created_overflow_parents_are_off_by_default_and_bounded() {
    let general = &BotConfig::from_yaml(MINIMAL).expect("valid").categories["general"];
    assert_eq!(general.create_overflow_parents, 0);
    let with = |count: &str| {
        minimal_with(
            "    createdMessage: Welcome!\n",
            &format!("    createdMessage: Welcome!\n    createOverflowParents: {count}\n"),
        )
    };
    let config = BotConfig::from_yaml(&with("3")).expect("valid");
    assert_eq!(config.categories["general"].create_overflow_parents, 3);
    assert_eq!(
        invalid(&with("11")),
        [r#"categories["general"].createOverflowParents: must be 0–10 (got 11)"#]
    );
}
