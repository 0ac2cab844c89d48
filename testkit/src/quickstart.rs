//! The README's Kubernetes quick start, done for real on one machine: the Helm chart installed
//! into the test control plane, the example TicketBot and TicketCategories applied, the operator
//! binary running as the chart's ServiceAccount, and the bot binary started from what the
//! operator rendered, against the Discord and PrivateBin emulators.
//!
//! There is no kubelet here, so this module plays its part for the two Deployments and nothing
//! else: it starts each container's binary as a local process with the environment and arguments
//! the Deployment's pod template gives it (Secret references resolved, `fieldRef`s filled in, the
//! ConfigMap written where the volume would be mounted and kept in sync with it), and writes the
//! bot Deployment's status once the process is ready, as the Deployment controller would. Two
//! things differ from a pod, because all processes share one host: each listens on a free
//! loopback port instead of its own `:8080`, and the operator reaches the bot's `/status` there.
//!
//! `./scripts/demo --kubernetes` shows this to a person (through `ticketeer-testkit quickstart`),
//! and the operator's end-to-end test drives it.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use base64::Engine as _;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Container, PodSpec, Secret};
use kube::Api;
use kube::api::{Patch, PatchParams};
use serde_json::{Value, json};
use tokio::process::{Child, Command};
use tokio::task::JoinHandle;

use crate::control_plane::{ControlPlane, ControlPlaneError, free_ports};
use crate::discord::{ChannelSpec, Control, DiscordEmulator, EmulatorConfig};
use crate::postgres::{TestDatabase, TestDatabaseError};
use crate::privatebin::{PrivateBinConfig, PrivateBinEmulator};
use crate::tools;

/// The Helm release, as the README installs it.
pub const RELEASE: &str = "ticketeer";
/// The operator's namespace, as the README installs it.
pub const OPERATOR_NAMESPACE: &str = "ticketeer";
/// The namespace of the examples.
pub const BOT_NAMESPACE: &str = "tickets";
/// The example TicketBot's name.
pub const BOT_NAME: &str = "support";
/// The permissions the README's invite link grants the bot.
pub const README_BOT_PERMISSIONS: u64 = 2_251_800_082_369_552;
/// How long each step may take.
const STEP_TIMEOUT: Duration = Duration::from_mins(1);
/// How often the ConfigMap is copied to the bot's config file (the kubelet syncs a mounted
/// ConfigMap about once a minute; quicker here so a change shows while someone watches).
const CONFIG_SYNC_PERIOD: Duration = Duration::from_secs(1);

/// Why the quick start failed.
#[derive(Debug, thiserror::Error)]
pub enum QuickstartError {
    /// The control plane failed.
    #[error(transparent)]
    ControlPlane(#[from] ControlPlaneError),
    /// The database could not be made.
    #[error(transparent)]
    Database(#[from] TestDatabaseError),
    /// A step of the quick start failed, or did not finish within a minute.
    #[error("{step}: {detail}")]
    Step {
        /// The step, in the README's words where it has one (`helm install`).
        step: &'static str,
        /// What went wrong.
        detail: String,
    },
}

fn step_error(step: &'static str, detail: impl std::fmt::Display) -> QuickstartError {
    QuickstartError::Step {
        step,
        detail: detail.to_string(),
    }
}

/// What to run.
#[derive(Debug, Clone)]
pub struct QuickstartOptions {
    /// The `ticketeer-operator` binary.
    pub operator_binary: PathBuf,
    /// The `ticketeer-bot` binary.
    pub bot_binary: PathBuf,
    /// Where the processes' logs and files go (created; kept after the end for reading).
    pub work_dir: PathBuf,
    /// Addresses for the emulators (port 0 picks a free one).
    pub discord_bind: SocketAddr,
    /// See [`discord_bind`](Self::discord_bind).
    pub privatebin_bind: SocketAddr,
}

/// The Discord side: one guild as the README's invite sets it up, with a staff role and a member.
#[derive(Debug, Clone, Copy)]
pub struct QuickstartGuild {
    /// The guild's id, the example TicketCategories' `guildId`.
    pub guild: u64,
    /// The Discord category tickets open under.
    pub parent: u64,
    /// Where the `billing` panel is posted.
    pub billing_panel_channel: u64,
    /// Where the `general` panel is posted.
    pub general_panel_channel: u64,
    /// Where transcripts are logged.
    pub log_channel: u64,
    /// The example TicketCategories' only `roleIds` entry: its members see every ticket.
    pub staff_role: u64,
    /// A member who opens tickets.
    pub alice: u64,
    /// A member with the staff role.
    pub bob: u64,
}

/// The quick start, running: each process and emulator, and where to reach them. Stop it with
/// [`Quickstart::shutdown`], which stops the bot and the operator first, as Kubernetes would.
pub struct Quickstart {
    /// The control plane (the administrator's kubeconfig is [`ControlPlane::admin_kubeconfig`]).
    pub plane: ControlPlane,
    /// The Discord emulator the bot's gateway and REST calls go to.
    pub discord: DiscordEmulator,
    /// The Discord emulator's control handle: act as the guild's members and see what the bot did.
    pub control: Control,
    /// The PrivateBin emulator that stores the transcripts.
    pub privatebin: PrivateBinEmulator,
    /// The bot's database.
    pub database: TestDatabase,
    /// The guild and people.
    pub guild: QuickstartGuild,
    /// Where the bot's HTTP endpoints are.
    pub bot_http: SocketAddr,
    /// Where the operator's HTTP endpoints are.
    pub operator_http: SocketAddr,
    /// Logs and files.
    pub work_dir: PathBuf,
    operator: Child,
    bot: Child,
    config_sync: JoinHandle<()>,
}

impl std::fmt::Debug for Quickstart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Quickstart")
            .field("plane", &self.plane)
            .field("bot_http", &self.bot_http)
            .finish_non_exhaustive()
    }
}

fn workspace_root() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir.parent().unwrap_or(manifest_dir).to_path_buf()
}

async fn poll<T>(
    step: &'static str,
    mut check: impl AsyncFnMut() -> Option<T>,
) -> Result<T, QuickstartError> {
    let deadline = Instant::now() + STEP_TIMEOUT;
    loop {
        if let Some(value) = check().await {
            return Ok(value);
        }
        if Instant::now() > deadline {
            return Err(step_error(
                step,
                format!("not done within {STEP_TIMEOUT:?}"),
            ));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

impl Quickstart {
    /// Runs the quick start up to a bot serving its panels.
    ///
    /// # Errors
    /// [`QuickstartError`] naming the step that failed.
    pub async fn start(options: QuickstartOptions) -> Result<Self, QuickstartError> {
        std::fs::create_dir_all(&options.work_dir)
            .map_err(|error| step_error("creating the work directory", error))?;
        let plane = ControlPlane::start().await?;
        let admin = plane.admin_client()?;

        // helm install ticketeer charts/ticketeer --namespace ticketeer --create-namespace, with
        // the Discord overrides allowed: the bot is pointed at the emulator (spec.discord.*).
        let output = Command::new(tools::helm())
            .args(["install", RELEASE])
            .arg(workspace_root().join("charts/ticketeer"))
            .args(["--namespace", OPERATOR_NAMESPACE, "--create-namespace"])
            .args(["--set", "operator.allowDiscordOverrides=true"])
            .arg("--kubeconfig")
            .arg(plane.admin_kubeconfig())
            .output()
            .await
            .map_err(|error| step_error("helm install", error))?;
        if !output.status.success() {
            return Err(step_error(
                "helm install",
                String::from_utf8_lossy(&output.stderr),
            ));
        }
        for crd in ["ticketbots.ticketeer.dev", "ticketcategories.ticketeer.dev"] {
            plane.wait_established(crd).await?;
        }

        let discord = DiscordEmulator::start(EmulatorConfig::with_bind(options.discord_bind))
            .await
            .map_err(|error| step_error("starting the Discord emulator", error))?;
        let control = discord.control();
        let privatebin = PrivateBinEmulator::start(PrivateBinConfig {
            bind: options.privatebin_bind,
            ..PrivateBinConfig::default()
        })
        .await
        .map_err(|error| step_error("starting the PrivateBin emulator", error))?;
        let guild = make_guild(&control)?;
        let database = TestDatabase::create().await?;

        // kubectl create namespace tickets; kubectl -n tickets create secret generic …
        plane.create_namespace(BOT_NAMESPACE).await?;
        let secrets = json!([
            secret("discord-token", "token", discord.token()),
            secret("ticketeer-db", "url", database.url()),
        ]);
        for secret in secrets.as_array().into_iter().flatten() {
            apply_json(&plane, secret).await?;
        }

        // kubectl apply -f crds/examples/, with the ids and URLs edited as the README says.
        for (file, edit) in [
            ("ticketbot.yaml", Edit::Bot),
            ("ticketcategory-billing.yaml", Edit::Category("billing")),
            ("ticketcategory-general.yaml", Edit::Category("general")),
        ] {
            let path = workspace_root().join("crds/examples").join(file);
            let text = std::fs::read_to_string(&path)
                .map_err(|error| step_error("reading crds/examples", error))?;
            let mut object: Value = serde_saphyr::from_str(&text)
                .map_err(|error| step_error("parsing crds/examples", error))?;
            edit.apply(&mut object, &discord, &privatebin, &guild);
            apply_json(&plane, &object).await?;
        }

        let [operator_port, bot_port] = free_ports()?;
        let operator_http = SocketAddr::from((Ipv4Addr::LOCALHOST, operator_port));
        let bot_http = SocketAddr::from((Ipv4Addr::LOCALHOST, bot_port));
        let operator = start_operator(&plane, &options, operator_http, bot_http).await?;

        // The bot's pod, as the kubelet would start it once the operator made the Deployment.
        let deployments: Api<Deployment> = Api::namespaced(admin.clone(), BOT_NAMESPACE);
        let deployment = poll("the operator creates the bot's Deployment", async || {
            deployments.get_opt(BOT_NAME).await.ok().flatten()
        })
        .await?;
        let config_maps: Api<ConfigMap> = Api::namespaced(admin.clone(), BOT_NAMESPACE);
        let config_map_name = format!("{BOT_NAME}-config");
        let config_dir = options.work_dir.join("bot-config");
        std::fs::create_dir_all(&config_dir)
            .map_err(|error| step_error("creating the bot's config directory", error))?;
        let config_file = config_dir.join("config.yaml");
        let rendered = poll("the operator renders the bot's ConfigMap", async || {
            config_maps
                .get_opt(&config_map_name)
                .await
                .ok()
                .flatten()
                .and_then(|config_map| config_text(&config_map))
        })
        .await?;
        write_bot_config(&config_file, &rendered, bot_http)?;
        let config_sync = tokio::spawn(sync_config(
            config_maps,
            config_map_name,
            config_file.clone(),
            bot_http,
            rendered,
        ));
        let bot = start_container(
            &admin,
            &deployment,
            &options.bot_binary,
            &config_dir,
            &options.work_dir.join("bot.log"),
        )
        .await?;
        let http = reqwest::Client::new();
        poll("the bot answers /readyz", async || {
            let ready = http
                .get(format!("http://{bot_http}/readyz"))
                .send()
                .await
                .ok()?;
            ready.status().is_success().then_some(())
        })
        .await?;
        // The Deployment controller's part: the one replica is ready and available.
        let generation = deployment.metadata.generation.unwrap_or(1);
        deployments
            .patch_status(
                BOT_NAME,
                &PatchParams::default(),
                &Patch::Merge(json!({"status": {
                    "observedGeneration": generation,
                    "replicas": 1, "updatedReplicas": 1, "readyReplicas": 1, "availableReplicas": 1,
                }})),
            )
            .await
            .map_err(|error| step_error("marking the bot's Deployment available", error))?;

        Ok(Self {
            plane,
            discord,
            control,
            privatebin,
            database,
            guild,
            bot_http,
            operator_http,
            work_dir: options.work_dir,
            operator,
            bot,
            config_sync,
        })
    }

    /// Runs `kubectl` (from the tools directory) with the administrator's kubeconfig.
    ///
    /// # Errors
    /// [`QuickstartError::Step`] when kubectl cannot run or fails.
    pub async fn kubectl(&self, args: &[&str]) -> Result<String, QuickstartError> {
        let output = Command::new(tools::kubectl())
            .arg("--kubeconfig")
            .arg(self.plane.admin_kubeconfig())
            .args(args)
            .output()
            .await
            .map_err(|error| step_error("kubectl", error))?;
        if !output.status.success() {
            return Err(step_error(
                "kubectl",
                String::from_utf8_lossy(&output.stderr),
            ));
        }
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }

    /// Stops the bot and the operator (SIGTERM, as Kubernetes does), then everything else.
    pub async fn shutdown(mut self) {
        self.config_sync.abort();
        for child in [&mut self.bot, &mut self.operator] {
            terminate(child).await;
        }
        self.discord.shutdown().await;
        self.privatebin.shutdown().await;
        let _ = self.database.drop_now().await;
        self.plane.shutdown().await;
    }
}

async fn terminate(child: &mut Child) {
    if let Some(pid) = child.id() {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(pid.to_string())
            .status()
            .await;
    }
    if tokio::time::timeout(Duration::from_secs(15), child.wait())
        .await
        .is_err()
    {
        let _ = child.kill().await;
    }
}

fn make_guild(control: &Control) -> Result<QuickstartGuild, QuickstartError> {
    let fail = |error: crate::discord::ControlError| step_error("building the guild", error);
    let guild = control.create_guild("Support", README_BOT_PERMISSIONS);
    let parent = control
        .create_channel(guild, ChannelSpec::category("Tickets"))
        .map_err(fail)?;
    let billing_panel_channel = control
        .create_channel(guild, ChannelSpec::text("billing-help"))
        .map_err(fail)?;
    let general_panel_channel = control
        .create_channel(guild, ChannelSpec::text("open-a-ticket"))
        .map_err(fail)?;
    let log_channel = control
        .create_channel(guild, ChannelSpec::text("ticket-log"))
        .map_err(fail)?;
    let staff_role = control.create_role(guild, "Staff", 0).map_err(fail)?;
    let alice = control.create_user("alice");
    control.add_member(guild, alice, &[]).map_err(fail)?;
    let bob = control.create_user("bob");
    control
        .add_member(guild, bob, &[staff_role])
        .map_err(fail)?;
    Ok(QuickstartGuild {
        guild,
        parent,
        billing_panel_channel,
        general_panel_channel,
        log_channel,
        staff_role,
        alice,
        bob,
    })
}

fn secret(name: &str, key: &str, value: &str) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": name, "namespace": BOT_NAMESPACE},
        "type": "Opaque",
        "data": {key: base64::engine::general_purpose::STANDARD.encode(value)},
    })
}

async fn apply_json(plane: &ControlPlane, object: &Value) -> Result<(), QuickstartError> {
    let yaml = serde_json::to_string(object).map_err(|error| step_error("kubectl apply", error))?;
    plane.apply_yaml(&yaml, BOT_NAMESPACE).await?;
    Ok(())
}

/// How an example is edited before it is applied.
enum Edit {
    /// The TicketBot: the PrivateBin URL, the application id, and the emulator's addresses.
    Bot,
    /// A category: its guild, channels and role.
    Category(&'static str),
}

impl Edit {
    fn apply(
        &self,
        object: &mut Value,
        discord: &DiscordEmulator,
        privatebin: &PrivateBinEmulator,
        guild: &QuickstartGuild,
    ) {
        let spec = &mut object["spec"];
        match self {
            Self::Bot => {
                spec["privatebin"]["url"] = json!(privatebin.base_url());
                spec["discord"] = json!({
                    "applicationId": discord.control().application_id().to_string(),
                    "apiProxy": discord.http_proxy(),
                    "gatewayUrl": discord.gateway_url(),
                });
            }
            Self::Category(name) => {
                let panel = if *name == "billing" {
                    guild.billing_panel_channel
                } else {
                    guild.general_panel_channel
                };
                spec["guildId"] = json!(guild.guild.to_string());
                spec["parentChannelId"] = json!(guild.parent.to_string());
                spec["createChannelId"] = json!(panel.to_string());
                spec["logChannelId"] = json!(guild.log_channel.to_string());
                spec["roleIds"] = json!([guild.staff_role.to_string()]);
            }
        }
    }
}

async fn start_operator(
    plane: &ControlPlane,
    options: &QuickstartOptions,
    operator_http: SocketAddr,
    bot_http: SocketAddr,
) -> Result<Child, QuickstartError> {
    let admin = plane.admin_client()?;
    let deployments: Api<Deployment> = Api::namespaced(admin.clone(), OPERATOR_NAMESPACE);
    let deployment = deployments
        .get(RELEASE)
        .await
        .map_err(|error| step_error("reading the operator's Deployment", error))?;
    let (pod, container) = pod_and_container(&deployment, "reading the operator's Deployment")?;
    let account = pod
        .service_account_name
        .clone()
        .ok_or_else(|| step_error("reading the operator's Deployment", "no serviceAccountName"))?;
    let kubeconfig = options.work_dir.join("operator.kubeconfig");
    plane
        .write_service_account_kubeconfig(OPERATOR_NAMESPACE, &account, &kubeconfig)
        .await?;
    let mut environment =
        container_environment(&admin, OPERATOR_NAMESPACE, container, "ticketeer-local").await?;
    // The pod's own network would give it :8080; on a shared host it gets a free port, and it
    // reaches the bot where the bot process listens instead of through the bot's Service.
    environment.insert("HTTP_LISTEN".to_owned(), operator_http.to_string());
    environment.insert(
        "BOT_STATUS_URL".to_owned(),
        format!("http://{bot_http}/status"),
    );
    environment.insert("KUBECONFIG".to_owned(), kubeconfig.display().to_string());
    spawn_logged(
        &options.operator_binary,
        &container.args.clone().unwrap_or_default(),
        &environment,
        &options.work_dir.join("operator.log"),
    )
}

/// A Deployment's pod template and its first (only) container.
fn pod_and_container<'a>(
    deployment: &'a Deployment,
    step: &'static str,
) -> Result<(&'a PodSpec, &'a Container), QuickstartError> {
    let pod = deployment
        .spec
        .as_ref()
        .and_then(|spec| spec.template.spec.as_ref())
        .ok_or_else(|| step_error(step, "no pod template"))?;
    let container = pod
        .containers
        .first()
        .ok_or_else(|| step_error(step, "no container"))?;
    Ok((pod, container))
}

/// The environment a container gets: plain values, Secret references resolved, and the pod's
/// name and namespace for `fieldRef`s.
async fn container_environment(
    admin: &kube::Client,
    namespace: &str,
    container: &Container,
    pod_name: &str,
) -> Result<BTreeMap<String, String>, QuickstartError> {
    let secrets: Api<Secret> = Api::namespaced(admin.clone(), namespace);
    let mut environment = BTreeMap::new();
    for variable in container.env.iter().flatten() {
        let value = if let Some(value) = &variable.value {
            value.clone()
        } else if let Some(source) = &variable.value_from {
            if let Some(reference) = &source.secret_key_ref {
                let secret = secrets
                    .get(&reference.name)
                    .await
                    .map_err(|error| step_error("reading a Secret for the pod", error))?;
                let bytes = secret
                    .data
                    .and_then(|mut data| data.remove(&reference.key))
                    .ok_or_else(|| {
                        step_error(
                            "reading a Secret for the pod",
                            format!("Secret {} has no key {}", reference.name, reference.key),
                        )
                    })?;
                String::from_utf8_lossy(&bytes.0).into_owned()
            } else if let Some(field) = &source.field_ref {
                match field.field_path.as_str() {
                    "metadata.name" => pod_name.to_owned(),
                    "metadata.namespace" => namespace.to_owned(),
                    other => {
                        return Err(step_error(
                            "building the pod's environment",
                            format!("no stand-in for fieldRef {other}"),
                        ));
                    }
                }
            } else {
                continue;
            }
        } else {
            String::new()
        };
        environment.insert(variable.name.clone(), value);
    }
    Ok(environment)
}

async fn start_container(
    admin: &kube::Client,
    deployment: &Deployment,
    binary: &Path,
    config_dir: &Path,
    log: &Path,
) -> Result<Child, QuickstartError> {
    let (_, container) = pod_and_container(deployment, "reading the bot's Deployment")?;
    let mount = container
        .volume_mounts
        .iter()
        .flatten()
        .find(|mount| mount.name == "config")
        .map(|mount| mount.mount_path.clone())
        .ok_or_else(|| step_error("reading the bot's Deployment", "no config volume mount"))?;
    // The container sees the ConfigMap at its mount path; the process sees our copy.
    let args: Vec<String> = container
        .args
        .iter()
        .flatten()
        .map(|arg| arg.replace(&mount, &config_dir.display().to_string()))
        .collect();
    let environment =
        container_environment(admin, BOT_NAMESPACE, container, "support-local").await?;
    spawn_logged(binary, &args, &environment, log)
}

fn spawn_logged(
    binary: &Path,
    args: &[String],
    environment: &BTreeMap<String, String>,
    log: &Path,
) -> Result<Child, QuickstartError> {
    let file = std::fs::File::create(log).map_err(|error| step_error("creating a log", error))?;
    let stderr = file
        .try_clone()
        .map_err(|error| step_error("creating a log", error))?;
    Command::new(binary)
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .envs(environment)
        .stdin(Stdio::null())
        .stdout(file)
        .stderr(stderr)
        .kill_on_drop(true)
        .spawn()
        .map_err(|error| {
            step_error(
                "starting a process",
                format!("{}: {error}", binary.display()),
            )
        })
}

fn config_text(config_map: &ConfigMap) -> Option<String> {
    config_map.data.as_ref()?.get("config.yaml").cloned()
}

/// Writes the rendered config with `http.listen` moved to `listen` (see the module doc).
fn write_bot_config(
    path: &Path,
    rendered: &str,
    listen: SocketAddr,
) -> Result<(), QuickstartError> {
    let mut config: Value = serde_saphyr::from_str(rendered)
        .map_err(|error| step_error("reading the rendered config", error))?;
    config["http"]["listen"] = json!(listen.to_string());
    // JSON is YAML: the bot reads it like the file the operator wrote.
    let text = serde_json::to_string_pretty(&config)
        .map_err(|error| step_error("writing the bot's config", error))?;
    // Written whole and renamed, as the kubelet swaps a ConfigMap volume's contents atomically.
    let staging = path.with_extension("yaml.new");
    std::fs::write(&staging, text)
        .and_then(|()| std::fs::rename(&staging, path))
        .map_err(|error| step_error("writing the bot's config", error))
}

async fn sync_config(
    config_maps: Api<ConfigMap>,
    name: String,
    path: PathBuf,
    listen: SocketAddr,
    mut current: String,
) {
    loop {
        tokio::time::sleep(CONFIG_SYNC_PERIOD).await;
        let Ok(Some(config_map)) = config_maps.get_opt(&name).await else {
            continue;
        };
        if let Some(text) = config_text(&config_map)
            && text != current
            && write_bot_config(&path, &text, listen).is_ok()
        {
            current = text;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::README_BOT_PERMISSIONS;

    #[test]
    fn the_quick_start_grants_what_the_readme_invite_link_grants() {
        let readme = include_str!("../../README.md");
        let (_, after) = readme
            .split_once("&permissions=")
            .expect("the README has an invite link");
        let digits: String = after.chars().take_while(char::is_ascii_digit).collect();
        assert_eq!(digits.parse::<u64>(), Ok(README_BOT_PERMISSIONS));
    }
}
