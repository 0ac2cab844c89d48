//! The custom resources: `TicketBot` and `TicketCategory` (group `ticketeer.dev`, `v1alpha1`).
//!
//! Field doc comments become the schema's descriptions, so they are what `kubectl explain` shows.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Affinity, ResourceRequirements, Toleration};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::{CustomResource, KubeSchema, Resource, ResourceExt};
use serde::{Deserialize, Serialize};
use ticketeer_config::{CategoryConfig, DiscordConfig, LimitsConfig, LogFormat, PrivateBinConfig};

/// The API group of both resources.
pub const GROUP: &str = "ticketeer.dev";

/// The desired state of one Discord application running in the cluster.
#[derive(CustomResource, KubeSchema, Debug, Clone, PartialEq, Serialize, Deserialize)]
#[kube(
    group = "ticketeer.dev",
    version = "v1alpha1",
    kind = "TicketBot",
    namespaced,
    status = "TicketBotStatus",
    shortname = "tb",
    category = "ticketeer",
    doc = "A Ticketeer Discord bot: the operator runs it as a Deployment configured from this object and every TicketCategory that names it.",
    printcolumn = r#"{"name": "Ready", "type": "string", "jsonPath": ".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name": "Categories", "type": "integer", "jsonPath": ".status.categories"}"#,
    printcolumn = r#"{"name": "Replicas", "type": "integer", "jsonPath": ".status.readyReplicas"}"#,
    printcolumn = r#"{"name": "Reason", "type": "string", "priority": 1, "jsonPath": ".status.conditions[?(@.type==\"Ready\")].reason"}"#,
    printcolumn = r#"{"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}"#,
    // The bot's name is its Service's name (a DNS-1035 label) and every child's
    // `app.kubernetes.io/instance` label (at most 63 characters); the other children's names
    // (`<name>`, `<name>-config`) allow more.
    validation = Rule::new(BOT_NAME_RULE).message(BOT_NAME_MESSAGE),
    cel
)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TicketBotSpec {
    /// The Secret key holding the Discord bot token. The token is passed to the bot as an
    /// environment variable and never copied into a ConfigMap, log or status.
    pub token_secret_ref: SecretKeyRef,
    /// The Secret key holding the Postgres URL (`postgres://user:password@host/db`).
    pub database_secret_ref: SecretKeyRef,
    /// The PrivateBin server that stores ticket transcripts.
    pub privatebin: PrivateBinConfig,
    /// Discord overrides (application id; API proxy and gateway URL for testing). Usually empty.
    /// The API proxy and gateway URL are refused (`OverrideNotAllowed`) unless the operator runs
    /// with `TICKETEER_ALLOW_DISCORD_OVERRIDES=true`.
    #[serde(default, skip_serializing_if = "discord_is_default")]
    pub discord: DiscordConfig,
    /// Limits across all of the bot's categories (a cap on open tickets per Discord server).
    #[serde(default, skip_serializing_if = "LimitsConfig::is_default")]
    pub limits: LimitsConfig,
    /// The bot's container image; defaults to the image this operator release was built with.
    /// Another repository is refused (`ImageNotAllowed`) unless the operator's
    /// `TICKETEER_BOT_IMAGE_ALLOW` lists it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 512), pattern(r"^\S+$"))]
    pub image: Option<String>,
    /// Secrets (in this namespace) to pull the image with, e.g. from a private registry; when
    /// unset, the operator's default (the chart's `botImagePullSecrets`) applies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 16))]
    pub image_pull_secrets: Option<Vec<ImagePullSecret>>,
    /// How many bot pods to run (default 1). Replicas share the database, which keeps tickets
    /// unique even when two pods see the same click.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 10))]
    pub replicas: Option<i32>,
    /// CPU and memory for the bot's container; a small default applies when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "resources_schema")]
    pub resources: Option<ResourceRequirements>,
    /// The bot's log filter: a level (`error`, `warn`, `info`, `debug`, `trace`) or directives
    /// such as `info,ticketeer_bot=debug`. Default `info`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 512))]
    pub log_level: Option<String>,
    /// The bot's log format, `json` (default in the cluster) or `text`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_format: Option<LogFormat>,
    /// Node labels the bot's pods must match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "node_selector_schema")]
    pub node_selector: Option<BTreeMap<String, String>>,
    /// Taints the bot's pods tolerate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tolerations: Option<Vec<Toleration>>,
    /// Affinity rules for the bot's pods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub affinity: Option<Affinity>,
}

fn discord_is_default(discord: &DiscordConfig) -> bool {
    *discord == DiscordConfig::default()
}

/// The rule a TicketBot's `metadata.name` must follow (CEL): a DNS-1035 label.
pub const BOT_NAME_RULE: &str =
    "size(self.metadata.name) <= 63 && self.metadata.name.matches('^[a-z]([-a-z0-9]*[a-z0-9])?$')";
/// A category's roles never include the guild id, which is the @everyone role.
pub const ROLE_IDS_RULE: &str =
    "!has(self.spec.roleIds) || !self.spec.roleIds.exists(role, role == self.spec.guildId)";
/// The API server's message when [`ROLE_IDS_RULE`] fails.
pub const ROLE_IDS_MESSAGE: &str = "spec.roleIds must not contain the guild id: that is the \
     @everyone role, and every member would see every ticket";
/// The API server's message when [`BOT_NAME_RULE`] fails.
pub const BOT_NAME_MESSAGE: &str = "metadata.name must be at most 63 lower-case letters, digits or '-', \
     starting with a letter and ending with a letter or digit: it names the bot's Service and \
     labels each of its children";

/// A Kubernetes resource quantity (`100m`, `64Mi`, `1.5`, `2`), as the API server parses one.
const QUANTITY_PATTERN: &str = r"^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$";

/// `spec.resources`: requests and limits whose quantities are checked at admission. The generic
/// Kubernetes schema accepts any string there, and a bad one then fails the Deployment's apply
/// with a server error rather than a refusal naming the field.
fn resources_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    let quantities = |description: &str| {
        schemars::json_schema!({
            "description": description,
            "type": "object",
            "additionalProperties": {
                "x-kubernetes-int-or-string": true,
                "pattern": QUANTITY_PATTERN,
            },
        })
    };
    schemars::json_schema!({
        "type": "object",
        "nullable": true,
        "properties": {
            "limits": quantities("The most of each resource (`cpu`, `memory`) the container may use."),
            "requests": quantities("The amount of each resource (`cpu`, `memory`) the scheduler reserves."),
        },
    })
}

/// `spec.nodeSelector`: label values checked at admission (at most 63 characters, alphanumeric at
/// both ends, `-`, `_` and `.` inside), as the Deployment's pod template requires.
fn node_selector_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "type": "object",
        "nullable": true,
        "additionalProperties": {
            "type": "string",
            "maxLength": 63,
            "pattern": "^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$",
        },
    })
}

/// A Secret of type `kubernetes.io/dockerconfigjson` in the object's own namespace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ImagePullSecret {
    /// The Secret's name.
    #[schemars(
        length(min = 1, max = 253),
        pattern(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
    )]
    pub name: String,
}

/// A key in a Secret in the object's own namespace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SecretKeyRef {
    /// The Secret's name (a DNS-1123 subdomain, as every Secret's name is).
    #[schemars(
        length(min = 1, max = 253),
        pattern(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
    )]
    pub name: String,
    /// The key within the Secret (letters, digits, `-`, `_` and `.`, as every Secret key is).
    #[schemars(length(min = 1, max = 253), pattern(r"^[-._a-zA-Z0-9]+$"))]
    pub key: String,
}

/// What the operator last saw of a TicketBot.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct TicketBotStatus {
    /// The `metadata.generation` this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// `Ready`, `ConfigRendered`, `Available` and `Degraded`, each with a reason and a message.
    #[serde(default)]
    pub conditions: Vec<Condition>,
    /// How many accepted categories the rendered config holds.
    #[serde(default)]
    pub categories: i32,
    /// How many bot pods are ready.
    #[serde(default)]
    pub ready_replicas: i32,
}

/// One ticket category: a panel with an open button, ticket channels and their transcripts.
#[derive(CustomResource, KubeSchema, Debug, Clone, PartialEq, Serialize, Deserialize)]
#[kube(
    group = "ticketeer.dev",
    version = "v1alpha1",
    kind = "TicketCategory",
    namespaced,
    status = "TicketCategoryStatus",
    shortname = "tc",
    category = "ticketeer",
    doc = "A Ticketeer ticket category, served by the TicketBot named in botRef. Its identity is namespace/name: renaming or reordering other categories never re-maps its panel or tickets.",
    printcolumn = r#"{"name": "Bot", "type": "string", "jsonPath": ".spec.botRef.name"}"#,
    printcolumn = r#"{"name": "Guild", "type": "string", "jsonPath": ".spec.guildId"}"#,
    printcolumn = r#"{"name": "Ready", "type": "string", "jsonPath": ".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name": "Open", "type": "integer", "jsonPath": ".status.openTickets"}"#,
    printcolumn = r#"{"name": "Reason", "type": "string", "priority": 1, "jsonPath": ".status.conditions[?(@.type==\"Accepted\")].reason"}"#,
    printcolumn = r#"{"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}"#,
    validation = Rule::new(ROLE_IDS_RULE).message(ROLE_IDS_MESSAGE),
    cel
)]
#[serde(rename_all = "camelCase")]
pub struct TicketCategorySpec {
    /// The TicketBot (in the same namespace) that serves this category.
    pub bot_ref: BotRef,
    /// The category itself, exactly as in the bot's `config.yaml`.
    #[serde(flatten)]
    pub category: CategoryConfig,
}

/// A reference to a TicketBot in the same namespace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BotRef {
    /// The TicketBot's name.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
}

/// What the operator and the bot last saw of a TicketCategory.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct TicketCategoryStatus {
    /// The `metadata.generation` this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// `Accepted` (the bot exists and the spec is valid) and `Ready`.
    #[serde(default)]
    pub conditions: Vec<Condition>,
    /// The id of the panel message in the create channel, once the bot has posted it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub panel_message_id: Option<String>,
    /// How many tickets of this category are open, as last reported by the bot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open_tickets: Option<i32>,
    /// How full the Discord categories its ticket channels go under are (the parent, then each
    /// overflow parent), as last reported by the bot. Discord allows 50 channels in each.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parents: Vec<ParentFillStatus>,
}

/// How many channels one Discord category holds, of how many it may.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct ParentFillStatus {
    /// The Discord category's channel id.
    pub channel_id: String,
    /// Channels in it now.
    pub channels: i32,
    /// Discord's limit of channels in one category.
    pub limit: i32,
}

impl TicketCategory {
    /// The category's stable key in the bot's config: `namespace/name`.
    pub fn key(&self) -> String {
        format!(
            "{}/{}",
            self.namespace().unwrap_or_default(),
            self.name_any()
        )
    }

    /// Whether this category names `bot` (same namespace, same name).
    pub fn belongs_to(&self, bot: &TicketBot) -> bool {
        self.spec.bot_ref.name == bot.name_any() && self.namespace() == bot.namespace()
    }
}

/// The `metadata.generation` of any object, for `observedGeneration`.
pub fn generation_of<K: Resource>(object: &K) -> Option<i64> {
    object.meta().generation
}
