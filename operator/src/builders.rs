//! Pure "desired state" builders: a TicketBot and its categories in, the child objects out.
//!
//! Nothing here talks to the API server, so every rule (what lands in the config, what rolls the
//! pods, which labels and owner references children carry) is unit-tested.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec, DeploymentStrategy};
use k8s_openapi::api::core::v1::{
    Capabilities, ConfigMap, ConfigMapVolumeSource, Container, ContainerPort, EmptyDirVolumeSource,
    EnvVar, EnvVarSource, HTTPGetAction, LocalObjectReference, PodSecurityContext, PodSpec,
    PodTemplateSpec, Probe, ResourceRequirements, SeccompProfile, SecretKeySelector,
    SecurityContext, Service, ServiceAccount, ServicePort, ServiceSpec, Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta, OwnerReference};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::{Resource, ResourceExt};
use sha2::{Digest, Sha256};
use ticketeer_config::validation::category_key_problem;
use ticketeer_config::{
    BotConfig, CONFIG_FILE_NAME, CategoryConfig, ConfigError, HttpConfig, LogConfig, LogFormat,
};

use crate::crd::{TicketBot, TicketCategory};

/// The label every child carries, naming the operator as its manager; owned watches select on it.
pub const MANAGED_BY_LABEL: &str = "app.kubernetes.io/managed-by";
/// The value of [`MANAGED_BY_LABEL`] and the server-side-apply field manager.
pub const MANAGER: &str = "ticketeer-operator";
/// The label naming the TicketBot a child belongs to.
pub const INSTANCE_LABEL: &str = "app.kubernetes.io/instance";
/// The label naming the application.
pub const NAME_LABEL: &str = "app.kubernetes.io/name";
/// The pod-template annotation that changes exactly when a pod-level input changes.
pub const POD_INPUTS_HASH_ANNOTATION: &str = "ticketeer.dev/pod-inputs-hash";
/// Where the config directory is mounted in the bot's container.
pub const CONFIG_DIRECTORY: &str = "/etc/ticketeer";
/// The bot's HTTP port name.
pub const HTTP_PORT_NAME: &str = "http";

/// Operator-wide settings the builders need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildSettings {
    /// The bot image used when a TicketBot names none.
    pub default_image: String,
    /// The image pull Secrets used when a TicketBot names none.
    pub default_image_pull_secrets: Vec<String>,
}

/// What failed while building a child object.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The TicketBot lacks metadata the children need (a name, namespace or uid).
    #[error("TicketBot has no {field}")]
    MissingMetadata {
        /// The missing field, e.g. `metadata.uid`.
        field: &'static str,
    },
    /// The bot and its categories do not make a valid config file.
    #[error("the rendered config is invalid: {0}")]
    InvalidConfig(#[source] ConfigError),
    /// `spec.logLevel` is not a filter the bot can parse.
    #[error("spec.logLevel {level:?} is not a valid log filter: {reason}")]
    InvalidLogLevel {
        /// The filter as written.
        level: String,
        /// Why the parser refused it.
        reason: String,
    },
    /// The rendered config does not fit in a ConfigMap.
    #[error(
        "the rendered config is {bytes} bytes, more than a ConfigMap holds ({CONFIG_MAP_MAX_BYTES} bytes); \
         shorten the categories' texts or split them across several TicketBots"
    )]
    ConfigTooLarge {
        /// The size of the ConfigMap's data (key and value).
        bytes: usize,
    },
    /// The TicketBot asks for something the operator's [`crate::policy`] does not allow.
    #[error("{0}")]
    NotAllowed(crate::policy::Refusal),
    /// The token names a Discord bot an older TicketBot already runs.
    #[error(
        "the token in Secret {secret} (spec.tokenSecretRef) belongs to Discord bot {bot_user_id}, \
         which TicketBot {keeper} already runs; one Discord bot runs in one TicketBot (its \
         replicas share it), so point this TicketBot at another bot's token or delete one of the two"
    )]
    TokenInUse {
        /// The token's Secret.
        secret: String,
        /// The Discord bot the token names.
        bot_user_id: u64,
        /// The TicketBot that keeps it, `namespace/name`.
        keeper: String,
    },
}

impl BuildError {
    /// A CamelCase reason for the `ConfigRendered` condition.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::MissingMetadata { .. } => "MissingMetadata",
            Self::InvalidConfig(_) | Self::InvalidLogLevel { .. } => "InvalidConfig",
            Self::ConfigTooLarge { .. } => "ConfigTooLarge",
            Self::NotAllowed(refusal) => refusal.reason(),
            Self::TokenInUse { .. } => "TokenInUse",
        }
    }
}

/// The most a ConfigMap's data may hold, keys and values together: the API server refuses more.
pub const CONFIG_MAP_MAX_BYTES: usize = 1024 * 1024;

/// Why a category is not served, in words a person can act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// A CamelCase reason for the `Accepted` condition.
    pub reason: &'static str,
    /// What is wrong and what to do.
    pub message: String,
}

/// Whether `category` can be served by `bot` (`None`: the bot does not exist).
///
/// # Errors
///
/// A [`Rejection`] saying why not: `BotNotFound`, `InvalidName` or `InvalidSpec`.
pub fn accept_category(
    category: &TicketCategory,
    bot: Option<&TicketBot>,
) -> Result<(), Rejection> {
    let namespace = category.namespace().unwrap_or_default();
    if bot.is_none_or(|bot| !category.belongs_to(bot)) {
        return Err(Rejection {
            reason: "BotNotFound",
            message: format!(
                "TicketBot {:?} does not exist in namespace {namespace:?}; create it or fix spec.botRef.name",
                category.spec.bot_ref.name
            ),
        });
    }
    if let Some(problem) = category_key_problem(&category.key()) {
        return Err(Rejection {
            reason: "InvalidName",
            message: format!(
                "the category key {:?} (namespace/name) cannot be used: {problem}; choose a shorter name",
                category.key()
            ),
        });
    }
    category
        .spec
        .category
        .validate("spec")
        .map_err(|errors| Rejection {
            reason: "InvalidSpec",
            message: errors.to_string().replace('\n', "; "),
        })
}

/// The categories of `categories` that `bot` serves, sorted by key.
pub fn served_categories<'a>(
    bot: &TicketBot,
    categories: &'a [TicketCategory],
) -> Vec<&'a TicketCategory> {
    let mut served: Vec<&TicketCategory> = categories
        .iter()
        .filter(|category| accept_category(category, Some(bot)).is_ok())
        .collect();
    served.sort_by_key(|category| category.key());
    served
}

/// The bot's `config.yaml` content: the bot's settings plus every category it serves.
///
/// # Errors
///
/// [`BuildError::InvalidConfig`] when the result breaks a rule of the config contract.
pub fn render_config(
    bot: &TicketBot,
    categories: &[TicketCategory],
) -> Result<BotConfig, BuildError> {
    render_config_keeping(bot, categories, None)
}

/// Like [`render_config`], but a category whose current spec is refused as invalid keeps the form
/// it has in `previous` (the config the bot runs now): an edit the schema cannot catch, such as
/// an emoji Discord does not know, must not take the category's live panel away. The category's
/// `Accepted` condition names the broken field meanwhile.
///
/// # Errors
///
/// [`BuildError::InvalidConfig`] when the result breaks a rule of the config contract.
pub fn render_config_keeping(
    bot: &TicketBot,
    categories: &[TicketCategory],
    previous: Option<&BotConfig>,
) -> Result<BotConfig, BuildError> {
    let spec = &bot.spec;
    let mut served: BTreeMap<String, CategoryConfig> = served_categories(bot, categories)
        .into_iter()
        .map(|category| (category.key(), category.spec.category.clone()))
        .collect();
    if let Some(previous) = previous {
        for category in categories {
            let refused_as_invalid = category.belongs_to(bot)
                && accept_category(category, Some(bot))
                    .is_err_and(|rejection| rejection.reason == "InvalidSpec");
            let key = category.key();
            if let (true, Some(kept)) = (refused_as_invalid, previous.categories.get(&key)) {
                served.insert(key, kept.clone());
            }
        }
    }
    let config = BotConfig {
        discord: spec.discord.clone(),
        limits: spec.limits,
        privatebin: spec.privatebin.clone(),
        http: HttpConfig::default(),
        log: log_config(bot),
        categories: served,
    };
    config
        .validate()
        .map_err(|errors| BuildError::InvalidConfig(ConfigError::Invalid(errors)))?;
    // The bot parses its filter only when it starts, and a filter it cannot parse stops it: an
    // edit must fail here, while the running pods keep going.
    if let Err(error) = tracing_subscriber::EnvFilter::try_new(&config.log.level) {
        return Err(BuildError::InvalidLogLevel {
            level: config.log.level,
            reason: error.to_string(),
        });
    }
    Ok(config)
}

/// The bot's `log` settings from the TicketBot.
fn log_config(bot: &TicketBot) -> LogConfig {
    LogConfig {
        level: bot
            .spec
            .log_level
            .clone()
            .unwrap_or_else(|| LogConfig::default().level),
        // Log collectors in a cluster read JSON; people running the bot by hand get text.
        format: bot.spec.log_format.unwrap_or(LogFormat::Json),
    }
}

/// Names of the children of one TicketBot.
pub fn config_map_name(bot_name: &str) -> String {
    format!("{bot_name}-config")
}

/// The labels that select a bot's pods.
pub fn selector_labels(bot_name: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        (NAME_LABEL.to_owned(), "ticketeer-bot".to_owned()),
        (INSTANCE_LABEL.to_owned(), bot_name.to_owned()),
    ])
}

/// The labels every child of a bot carries.
pub fn labels(bot_name: &str) -> BTreeMap<String, String> {
    let mut labels = selector_labels(bot_name);
    labels.insert(MANAGED_BY_LABEL.to_owned(), MANAGER.to_owned());
    labels.insert("app.kubernetes.io/component".to_owned(), "bot".to_owned());
    labels
}

fn child_metadata(bot: &TicketBot, name: String) -> Result<ObjectMeta, BuildError> {
    let namespace = bot.namespace().ok_or(BuildError::MissingMetadata {
        field: "metadata.namespace",
    })?;
    let owner: OwnerReference =
        bot.controller_owner_ref(&())
            .ok_or(BuildError::MissingMetadata {
                field: "metadata.uid",
            })?;
    Ok(ObjectMeta {
        name: Some(name),
        namespace: Some(namespace),
        labels: Some(labels(&bot.name_any())),
        owner_references: Some(vec![owner]),
        ..ObjectMeta::default()
    })
}

/// Whether the object with `metadata` is controlled by `bot` (a controller owner reference with
/// its uid): only such objects are applied over; anything else with a child's name is someone
/// else's and is left alone.
pub fn controlled_by(metadata: &ObjectMeta, bot: &TicketBot) -> bool {
    let Some(uid) = bot.meta().uid.as_deref() else {
        return false;
    };
    metadata
        .owner_references
        .iter()
        .flatten()
        .any(|owner| owner.controller == Some(true) && owner.uid == uid)
}

fn bot_name(bot: &TicketBot) -> Result<String, BuildError> {
    bot.meta().name.clone().ok_or(BuildError::MissingMetadata {
        field: "metadata.name",
    })
}

/// The ConfigMap holding `config.yaml`.
///
/// # Errors
///
/// [`BuildError::MissingMetadata`]; [`BuildError::InvalidConfig`] if rendering fails;
/// [`BuildError::ConfigTooLarge`] if the result does not fit in a ConfigMap.
pub fn config_map(bot: &TicketBot, config: &BotConfig) -> Result<ConfigMap, BuildError> {
    let yaml = config.to_yaml().map_err(BuildError::InvalidConfig)?;
    // Checked here rather than left to the API server, so the condition says what to do.
    let bytes = CONFIG_FILE_NAME.len() + yaml.len();
    if bytes > CONFIG_MAP_MAX_BYTES {
        return Err(BuildError::ConfigTooLarge { bytes });
    }
    Ok(ConfigMap {
        metadata: child_metadata(bot, config_map_name(&bot_name(bot)?))?,
        data: Some(BTreeMap::from([(CONFIG_FILE_NAME.to_owned(), yaml)])),
        ..ConfigMap::default()
    })
}

/// The bot's ServiceAccount; the bot never calls the Kubernetes API, so no token is mounted.
///
/// # Errors
///
/// [`BuildError::MissingMetadata`].
pub fn service_account(bot: &TicketBot) -> Result<ServiceAccount, BuildError> {
    Ok(ServiceAccount {
        metadata: child_metadata(bot, bot_name(bot)?)?,
        automount_service_account_token: Some(false),
        ..ServiceAccount::default()
    })
}

/// The Service in front of the bot's HTTP port (metrics, health, status).
///
/// # Errors
///
/// [`BuildError::MissingMetadata`].
pub fn service(bot: &TicketBot) -> Result<Service, BuildError> {
    let name = bot_name(bot)?;
    Ok(Service {
        metadata: child_metadata(bot, name.clone())?,
        spec: Some(ServiceSpec {
            selector: Some(selector_labels(&name)),
            ports: Some(vec![ServicePort {
                name: Some(HTTP_PORT_NAME.to_owned()),
                port: i32::from(HttpConfig::DEFAULT_PORT),
                target_port: Some(IntOrString::String(HTTP_PORT_NAME.to_owned())),
                ..ServicePort::default()
            }]),
            ..ServiceSpec::default()
        }),
        ..Service::default()
    })
}

/// A hash of every input that requires new pods: the image, the Secret references and resources
/// (already in the template), the config file's restart-only settings (`discord.*` and `log.*`,
/// which the bot reads once at startup) plus `secret_versions`, the content digests of the
/// referenced Secret keys, so rotating the token rolls the pods that read it from their
/// environment. The rest of the config file (categories) is deliberately absent: the bot reloads
/// it in place.
pub fn pod_inputs_hash(bot: &TicketBot, image: &str, secret_versions: &[String]) -> String {
    let spec = &bot.spec;
    let mut hasher = Sha256::new();
    let resources = serde_json::to_string(&spec.resources).unwrap_or_default();
    let discord = serde_json::to_string(&spec.discord).unwrap_or_default();
    let log = serde_json::to_string(&log_config(bot)).unwrap_or_default();
    for part in [
        image,
        &spec.token_secret_ref.name,
        &spec.token_secret_ref.key,
        &spec.database_secret_ref.name,
        &spec.database_secret_ref.key,
        &resources,
        &discord,
        &log,
    ]
    .into_iter()
    .chain(secret_versions.iter().map(String::as_str))
    {
        hasher.update(part.as_bytes());
        hasher.update([0]);
    }
    hex::encode(&hasher.finalize()[..8])
}

fn default_resources() -> ResourceRequirements {
    // The bot idles in a few megabytes; the limit leaves room for transcript bursts.
    ResourceRequirements {
        requests: Some(BTreeMap::from([
            ("cpu".to_owned(), Quantity("10m".to_owned())),
            ("memory".to_owned(), Quantity("32Mi".to_owned())),
        ])),
        limits: Some(BTreeMap::from([(
            "memory".to_owned(),
            Quantity("128Mi".to_owned()),
        )])),
        ..ResourceRequirements::default()
    }
}

fn secret_env(name: &str, secret: &crate::crd::SecretKeyRef) -> EnvVar {
    EnvVar {
        name: name.to_owned(),
        value_from: Some(EnvVarSource {
            secret_key_ref: Some(SecretKeySelector {
                name: secret.name.clone(),
                key: secret.key.clone(),
                optional: Some(false),
            }),
            ..EnvVarSource::default()
        }),
        ..EnvVar::default()
    }
}

fn http_probe(path: &str, period_seconds: i32) -> Probe {
    Probe {
        http_get: Some(HTTPGetAction {
            path: Some(path.to_owned()),
            port: IntOrString::String(HTTP_PORT_NAME.to_owned()),
            ..HTTPGetAction::default()
        }),
        period_seconds: Some(period_seconds),
        ..Probe::default()
    }
}

/// The bot's Deployment.
///
/// `secret_versions` are the digests of the referenced Secret keys (see [`pod_inputs_hash`]).
///
/// # Errors
///
/// [`BuildError::MissingMetadata`].
pub fn deployment(
    bot: &TicketBot,
    settings: &BuildSettings,
    secret_versions: &[String],
) -> Result<Deployment, BuildError> {
    let name = bot_name(bot)?;
    let spec = &bot.spec;
    let image = spec
        .image
        .clone()
        .unwrap_or_else(|| settings.default_image.clone());
    let hash = pod_inputs_hash(bot, &image, secret_versions);
    let container = Container {
        name: "bot".to_owned(),
        image: Some(image),
        args: Some(vec![
            "--config".to_owned(),
            format!("{CONFIG_DIRECTORY}/{CONFIG_FILE_NAME}"),
        ]),
        env: Some(vec![
            secret_env("DISCORD_TOKEN", &spec.token_secret_ref),
            secret_env("DATABASE_URL", &spec.database_secret_ref),
        ]),
        ports: Some(vec![ContainerPort {
            name: Some(HTTP_PORT_NAME.to_owned()),
            container_port: i32::from(HttpConfig::DEFAULT_PORT),
            protocol: Some("TCP".to_owned()),
            ..ContainerPort::default()
        }]),
        liveness_probe: Some(http_probe("/healthz", 10)),
        readiness_probe: Some(http_probe("/readyz", 5)),
        resources: Some(spec.resources.clone().unwrap_or_else(default_resources)),
        security_context: Some(SecurityContext {
            allow_privilege_escalation: Some(false),
            read_only_root_filesystem: Some(true),
            run_as_non_root: Some(true),
            capabilities: Some(Capabilities {
                drop: Some(vec!["ALL".to_owned()]),
                ..Capabilities::default()
            }),
            ..SecurityContext::default()
        }),
        volume_mounts: Some(vec![
            // The whole directory, not a subPath: only directory mounts see ConfigMap updates,
            // which is how category changes reach the bot without a restart.
            VolumeMount {
                name: "config".to_owned(),
                mount_path: CONFIG_DIRECTORY.to_owned(),
                read_only: Some(true),
                ..VolumeMount::default()
            },
            VolumeMount {
                name: "tmp".to_owned(),
                mount_path: "/tmp".to_owned(),
                ..VolumeMount::default()
            },
        ]),
        ..Container::default()
    };
    let mut template_labels = selector_labels(&name);
    template_labels.insert(MANAGED_BY_LABEL.to_owned(), MANAGER.to_owned());
    Ok(Deployment {
        metadata: child_metadata(bot, name.clone())?,
        spec: Some(DeploymentSpec {
            replicas: Some(spec.replicas.unwrap_or(1)),
            selector: LabelSelector {
                match_labels: Some(selector_labels(&name)),
                ..LabelSelector::default()
            },
            strategy: Some(DeploymentStrategy {
                type_: Some("RollingUpdate".to_owned()),
                ..DeploymentStrategy::default()
            }),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(template_labels),
                    annotations: Some(BTreeMap::from([(
                        POD_INPUTS_HASH_ANNOTATION.to_owned(),
                        hash,
                    )])),
                    ..ObjectMeta::default()
                }),
                spec: Some(PodSpec {
                    service_account_name: Some(name.clone()),
                    automount_service_account_token: Some(false),
                    security_context: Some(PodSecurityContext {
                        run_as_non_root: Some(true),
                        run_as_user: Some(65_532),
                        run_as_group: Some(65_532),
                        seccomp_profile: Some(SeccompProfile {
                            type_: "RuntimeDefault".to_owned(),
                            ..SeccompProfile::default()
                        }),
                        ..PodSecurityContext::default()
                    }),
                    image_pull_secrets: image_pull_secrets(bot, settings),
                    // The bot finds nothing through Service environment variables, and in a busy
                    // namespace they only bloat its environment.
                    enable_service_links: Some(false),
                    containers: vec![container],
                    volumes: Some(vec![
                        Volume {
                            name: "config".to_owned(),
                            config_map: Some(ConfigMapVolumeSource {
                                name: config_map_name(&name),
                                ..ConfigMapVolumeSource::default()
                            }),
                            ..Volume::default()
                        },
                        Volume {
                            name: "tmp".to_owned(),
                            empty_dir: Some(EmptyDirVolumeSource {
                                size_limit: Some(Quantity("16Mi".to_owned())),
                                ..EmptyDirVolumeSource::default()
                            }),
                            ..Volume::default()
                        },
                    ]),
                    node_selector: spec.node_selector.clone(),
                    tolerations: spec.tolerations.clone(),
                    affinity: spec.affinity.clone(),
                    ..PodSpec::default()
                }),
            },
            ..DeploymentSpec::default()
        }),
        ..Deployment::default()
    })
}

/// The bot's image pull Secrets: its own, else the operator's default; none when both are empty.
fn image_pull_secrets(
    bot: &TicketBot,
    settings: &BuildSettings,
) -> Option<Vec<LocalObjectReference>> {
    let names: Vec<String> = match &bot.spec.image_pull_secrets {
        Some(secrets) => secrets.iter().map(|secret| secret.name.clone()).collect(),
        None => settings.default_image_pull_secrets.clone(),
    };
    (!names.is_empty()).then(|| {
        names
            .into_iter()
            .map(|name| LocalObjectReference { name })
            .collect()
    })
}

/// The SHA-256 digest (hex, shortened) of one Secret value, for [`pod_inputs_hash`].
pub fn secret_digest(value: &[u8]) -> String {
    hex::encode(&Sha256::digest(value)[..8])
}
