//! A real Kubernetes control plane for tests: etcd, kube-apiserver and (optionally)
//! kube-controller-manager, run as local processes on loopback ports.
//!
//! The binaries are built from the Kubernetes release pinned in `testkit/kube-control-plane/go.mod`
//! (`./scripts/test` builds and caches them; [`tools::kube_bin_dir`]
//! says where). There is no kubelet and no container runtime: pods are never scheduled, so a
//! Deployment's status is whatever a test writes into it. That is also why the controller manager
//! runs only the controllers that need no nodes: garbage collection (owner references) and
//! namespace deletion; the Deployment controller stays off so it cannot overwrite the status a
//! test sets to stand in for running pods.
//!
//! # Layout
//! - [`ControlPlane::start`]: certificates (a CA, the API server's serving certificate, the
//!   service-account signing key), etcd, the API server with RBAC authorization and an audit log,
//!   and the controller manager; returns once `/readyz` answers.
//! - Clients: [`ControlPlane::admin_client`] (a `system:masters` token) and
//!   [`ControlPlane::service_account_client`] (a TokenRequest token, so RBAC applies for real).
//! - Objects: [`ControlPlane::apply_yaml`] (server-side apply of multi-document YAML, like
//!   `kubectl apply --server-side`) and [`ControlPlane::install_crds`].
//! - The audit log ([`ControlPlane::audit_events`]): every request the server answered, with its
//!   user, verb, resource and status code; tests count writes and refusals with it.

mod certs;
mod process;

use std::fmt::Write as _;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use k8s_openapi::api::authentication::v1::{TokenRequest, TokenRequestSpec};
use k8s_openapi::api::core::v1::{Namespace, ServiceAccount};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{DynamicObject, Patch, PatchParams, PostParams};
use kube::core::GroupVersionKind;
use kube::discovery::{ApiCapabilities, ApiResource, Scope};
use kube::{Api, Client, ResourceExt as _};
use serde::Deserialize;

use self::process::Process;
use crate::tools;

/// The field manager of everything the harness applies.
const FIELD_MANAGER: &str = "ticketeer-testkit";
/// How long the control plane may take to answer `/readyz` (the first start on a busy 2-core
/// machine takes a few seconds).
const READY_TIMEOUT: Duration = Duration::from_secs(90);
/// How long a CRD may take to become Established.
const CRD_TIMEOUT: Duration = Duration::from_secs(30);

/// Why the control plane could not be started or used.
#[derive(Debug, thiserror::Error)]
pub enum ControlPlaneError {
    /// A binary is missing.
    #[error("{binary} not found at {path}: {hint}", hint = tools::KUBE_INSTALL_HINT)]
    BinaryMissing {
        /// The binary's name.
        binary: &'static str,
        /// Where it was looked for.
        path: PathBuf,
    },
    /// A file or directory of the control plane could not be written or read.
    #[error("control plane file {path}")]
    File {
        /// The path concerned: a manifest or the audit log read, or a certificate, kubeconfig,
        /// log or directory made.
        path: PathBuf,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// No free loopback port could be reserved.
    #[error("reserving a loopback port")]
    Port(#[source] std::io::Error),
    /// The certificates could not be generated.
    #[error("generating the control plane's certificates")]
    Certificates(#[source] rcgen::Error),
    /// A process could not be started.
    #[error("starting {binary}")]
    Spawn {
        /// The binary's name.
        binary: &'static str,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// A process exited while the control plane was starting.
    #[error("{binary} exited during startup ({status}); the end of its log:\n{log}")]
    Exited {
        /// The binary's name.
        binary: &'static str,
        /// Its exit status.
        status: String,
        /// The end of its log.
        log: String,
    },
    /// The API server did not become ready in time.
    #[error("kube-apiserver was not ready within {READY_TIMEOUT:?}; the end of its log:\n{log}")]
    NotReady {
        /// The end of its log.
        log: String,
    },
    /// A client could not be built.
    #[error("building a Kubernetes client")]
    Client(#[source] kube::Error),
    /// A request to the API server failed.
    #[error("{what}")]
    Request {
        /// What was being done.
        what: String,
        /// The API server's answer.
        #[source]
        source: kube::Error,
    },
    /// A YAML document could not be applied.
    #[error("{what}")]
    Manifest {
        /// What was wrong.
        what: String,
    },
    /// A CRD did not become Established in time.
    #[error("CRD {name} was not Established within {CRD_TIMEOUT:?}")]
    CrdNotEstablished {
        /// The CRD's name.
        name: String,
    },
}

/// What to start.
#[derive(Debug, Clone, Copy)]
pub struct ControlPlaneOptions {
    /// Run kube-controller-manager (garbage collection and namespace deletion). Off, owner
    /// references are stored but nothing is collected.
    pub controller_manager: bool,
}

impl Default for ControlPlaneOptions {
    fn default() -> Self {
        Self {
            controller_manager: true,
        }
    }
}

/// One request as the API server's audit log recorded it (stage `ResponseComplete`).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditEvent {
    /// `get`, `list`, `watch`, `create`, `update`, `patch`, `delete`, …
    pub verb: String,
    /// The request path with its query.
    #[serde(rename = "requestURI")]
    pub request_uri: String,
    /// Who made it.
    pub user: AuditUser,
    /// What it was about.
    #[serde(default)]
    pub object_ref: Option<AuditObjectRef>,
    /// How the server answered.
    #[serde(default)]
    pub response_status: Option<AuditResponseStatus>,
    /// The audit stage (only `ResponseComplete` and `Panic` are logged).
    pub stage: String,
    /// When the API server received the request (RFC 3339, microseconds).
    #[serde(default)]
    pub request_received_timestamp: Option<String>,
}

/// The user of an [`AuditEvent`].
#[derive(Debug, Clone, Deserialize)]
pub struct AuditUser {
    /// E.g. `system:serviceaccount:<namespace>:<name>`.
    pub username: String,
}

/// The object of an [`AuditEvent`].
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditObjectRef {
    /// The resource (plural), e.g. `configmaps`.
    #[serde(default)]
    pub resource: String,
    /// The namespace, when namespaced.
    #[serde(default)]
    pub namespace: Option<String>,
    /// The object's name, when the request named one.
    #[serde(default)]
    pub name: Option<String>,
    /// The API group (empty for the core group).
    #[serde(default)]
    pub api_group: String,
    /// The subresource, e.g. `status`.
    #[serde(default)]
    pub subresource: Option<String>,
}

/// The answer of an [`AuditEvent`] (for a refusal: Kubernetes' `Status` reason and message).
#[derive(Debug, Clone, Deserialize)]
pub struct AuditResponseStatus {
    /// The HTTP status code.
    #[serde(default)]
    pub code: u16,
    /// E.g. `Invalid`, `Conflict`, `Forbidden`.
    #[serde(default)]
    pub reason: Option<String>,
    /// The API server's explanation.
    #[serde(default)]
    pub message: Option<String>,
}

impl AuditEvent {
    /// When the API server received the request, if the log says.
    #[must_use]
    pub fn received_at(&self) -> Option<std::time::SystemTime> {
        let timestamp: jiff::Timestamp =
            self.request_received_timestamp.as_deref()?.parse().ok()?;
        Some(std::time::SystemTime::from(timestamp))
    }

    /// Whether the request could change stored state.
    pub fn is_write(&self) -> bool {
        matches!(
            self.verb.as_str(),
            "create" | "update" | "patch" | "delete" | "deletecollection"
        )
    }

    /// The HTTP status code the server answered.
    pub fn code(&self) -> u16 {
        self.response_status
            .as_ref()
            .map_or(0, |status| status.code)
    }

    /// The refusal's reason (`Invalid`, `Conflict`, …); empty for a success.
    pub fn reason(&self) -> &str {
        self.response_status
            .as_ref()
            .and_then(|status| status.reason.as_deref())
            .unwrap_or_default()
    }

    /// The refusal's message (e.g. `Service "1support" is invalid: …`); empty for a success.
    pub fn message(&self) -> &str {
        self.response_status
            .as_ref()
            .and_then(|status| status.message.as_deref())
            .unwrap_or_default()
    }

    /// Whether the request was about the object `name` of `resource` itself (not a
    /// subresource).
    pub fn is_about(&self, resource: &str, name: &str) -> bool {
        self.object_ref.as_ref().is_some_and(|object| {
            object.resource == resource
                && object.name.as_deref() == Some(name)
                && object.subresource.is_none()
        })
    }

    /// Whether the request's query has `key=value` (e.g. `fieldManager=…`, `force=true`).
    pub fn has_query(&self, key: &str, value: &str) -> bool {
        let query = self
            .request_uri
            .split_once('?')
            .map_or("", |(_, query)| query);
        form_urlencoded::parse(query.as_bytes())
            .any(|(found_key, found)| found_key == key && found == value)
    }

    /// `group/resource[/subresource]` of the request (`core` for the core group).
    pub fn resource(&self) -> String {
        let Some(object) = &self.object_ref else {
            return String::new();
        };
        let group = if object.api_group.is_empty() {
            "core"
        } else {
            &object.api_group
        };
        match &object.subresource {
            Some(sub) => format!("{group}/{}/{sub}", object.resource),
            None => format!("{group}/{}", object.resource),
        }
    }
}

/// The username Kubernetes gives the ServiceAccount `name` in `namespace`.
pub fn service_account_username(namespace: &str, name: &str) -> String {
    format!("system:serviceaccount:{namespace}:{name}")
}

/// A running control plane; its processes are stopped and its files removed on drop.
pub struct ControlPlane {
    dir: PathBuf,
    server_url: String,
    ca_pem: String,
    ca_der: Vec<u8>,
    admin_token: String,
    admin_kubeconfig: PathBuf,
    audit_log: PathBuf,
    /// Stopped in reverse order: controller manager, API server, etcd.
    processes: Vec<Process>,
}

impl std::fmt::Debug for ControlPlane {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ControlPlane")
            .field("dir", &self.dir)
            .field("server_url", &self.server_url)
            .finish_non_exhaustive()
    }
}

impl ControlPlane {
    /// Starts etcd, kube-apiserver and kube-controller-manager and waits until the API server
    /// is ready.
    ///
    /// # Errors
    /// [`ControlPlaneError::BinaryMissing`] with how to build the binaries; the others when a
    /// process cannot start or the server does not become ready (with the end of its log).
    pub async fn start() -> Result<Self, ControlPlaneError> {
        Self::start_with(ControlPlaneOptions::default()).await
    }

    /// Like [`start`](Self::start), with options.
    ///
    /// # Errors
    /// As [`start`](Self::start).
    pub async fn start_with(options: ControlPlaneOptions) -> Result<Self, ControlPlaneError> {
        let bin = tools::kube_bin_dir();
        let binary = |name: &'static str| {
            let path = bin.join(name);
            if path.is_file() {
                Ok(path)
            } else {
                Err(ControlPlaneError::BinaryMissing { binary: name, path })
            }
        };
        let etcd_bin = binary("etcd")?;
        let apiserver_bin = binary("kube-apiserver")?;
        let manager_bin = if options.controller_manager {
            Some(binary("kube-controller-manager")?)
        } else {
            None
        };

        let dir = std::env::temp_dir().join(format!(
            "ticketeer-kube-{}-{:016x}",
            std::process::id(),
            rand::random::<u64>()
        ));
        create_dir(&dir)?;
        // From here on the directory is removed when `plane` is dropped, even on error.
        let mut plane = Self {
            dir: dir.clone(),
            server_url: String::new(),
            ca_pem: String::new(),
            ca_der: Vec::new(),
            admin_token: format!("admin-{:032x}", rand::random::<u128>()),
            admin_kubeconfig: dir.join("admin.kubeconfig"),
            audit_log: dir.join("audit.log"),
            processes: Vec::new(),
        };

        let [etcd_client, etcd_peer, apiserver_port] = free_ports()?;
        let material = certs::generate().map_err(ControlPlaneError::Certificates)?;
        plane.ca_pem.clone_from(&material.ca_pem);
        plane.ca_der.clone_from(&material.ca_der);
        let write = |name: &str, text: &str| write_file(&dir.join(name), text);
        write("ca.crt", &material.ca_pem)?;
        write("apiserver.crt", &material.serving_cert_pem)?;
        write("apiserver.key", &material.serving_key_pem)?;
        write("service-account.key", &material.service_account_key_pem)?;
        write("service-account.pub", &material.service_account_public_pem)?;
        // token,user,uid,"groups": the admin is a cluster superuser, as kind's admin is.
        write(
            "tokens.csv",
            &format!(
                "{},ticketeer-admin,ticketeer-admin,\"system:masters\"\n",
                plane.admin_token
            ),
        )?;
        // Metadata of every request once answered: who did what to which object, and the code.
        write(
            "audit-policy.yaml",
            "apiVersion: audit.k8s.io/v1\nkind: Policy\nomitStages: [RequestReceived]\nrules:\n  - level: Metadata\n",
        )?;
        plane.server_url = format!("https://127.0.0.1:{apiserver_port}");
        let kubeconfig = kubeconfig(
            &plane.server_url,
            &plane.ca_pem,
            "admin",
            &plane.admin_token,
        );
        write_file(&plane.admin_kubeconfig, &kubeconfig)?;

        let path = |name: &str| dir.join(name).display().to_string();
        let etcd = Process::spawn(
            "etcd",
            &etcd_bin,
            &[
                format!("--data-dir={}", path("etcd")),
                format!("--listen-client-urls=http://127.0.0.1:{etcd_client}"),
                format!("--advertise-client-urls=http://127.0.0.1:{etcd_client}"),
                format!("--listen-peer-urls=http://127.0.0.1:{etcd_peer}"),
                format!("--initial-advertise-peer-urls=http://127.0.0.1:{etcd_peer}"),
                format!("--initial-cluster=default=http://127.0.0.1:{etcd_peer}"),
                // Throwaway data: durability costs seconds per test on a slow disk.
                "--unsafe-no-fsync".to_owned(),
                "--log-level=warn".to_owned(),
            ],
            &dir.join("etcd.log"),
        )?;
        plane.processes.push(etcd);

        let apiserver = Process::spawn(
            "kube-apiserver",
            &apiserver_bin,
            &[
                format!("--etcd-servers=http://127.0.0.1:{etcd_client}"),
                "--bind-address=127.0.0.1".to_owned(),
                "--advertise-address=127.0.0.1".to_owned(),
                format!("--secure-port={apiserver_port}"),
                format!("--tls-cert-file={}", path("apiserver.crt")),
                format!("--tls-private-key-file={}", path("apiserver.key")),
                format!("--token-auth-file={}", path("tokens.csv")),
                "--authorization-mode=RBAC".to_owned(),
                format!("--service-account-key-file={}", path("service-account.pub")),
                format!(
                    "--service-account-signing-key-file={}",
                    path("service-account.key")
                ),
                "--service-account-issuer=https://kubernetes.default.svc.cluster.local".to_owned(),
                // Only an allocation range for Service cluster IPs; nothing is routed.
                "--service-cluster-ip-range=10.96.0.0/16".to_owned(),
                format!("--audit-policy-file={}", path("audit-policy.yaml")),
                format!("--audit-log-path={}", plane.audit_log.display()),
                "--audit-log-format=json".to_owned(),
                "--audit-log-mode=blocking".to_owned(),
                "--profiling=false".to_owned(),
                "--v=0".to_owned(),
            ],
            &dir.join("kube-apiserver.log"),
        )?;
        plane.processes.push(apiserver);
        plane.wait_ready().await?;

        if let Some(manager_bin) = manager_bin {
            let manager = Process::spawn(
                "kube-controller-manager",
                &manager_bin,
                &[
                    format!("--kubeconfig={}", plane.admin_kubeconfig.display()),
                    "--controllers=garbagecollector,namespace".to_owned(),
                    "--leader-elect=false".to_owned(),
                    "--secure-port=0".to_owned(),
                    "--v=0".to_owned(),
                ],
                &dir.join("kube-controller-manager.log"),
            )?;
            plane.processes.push(manager);
        }
        Ok(plane)
    }

    async fn wait_ready(&mut self) -> Result<(), ControlPlaneError> {
        let client = self.admin_client()?;
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            for process in &mut self.processes {
                process.check_running()?;
            }
            let request = http::Request::get("/readyz")
                .body(Vec::new())
                .map_err(|error| ControlPlaneError::Manifest {
                    what: error.to_string(),
                })?;
            if let Ok(answer) = client.request_text(request).await
                && answer.trim() == "ok"
            {
                return Ok(());
            }
            if Instant::now() > deadline {
                let log = self
                    .processes
                    .last()
                    .map(Process::log_tail)
                    .unwrap_or_default();
                return Err(ControlPlaneError::NotReady { log });
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// `https://127.0.0.1:<port>`.
    pub fn server_url(&self) -> &str {
        &self.server_url
    }

    /// The PEM of the CA that signed the API server's certificate.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// A kubeconfig file for the cluster administrator (for Helm or kubectl).
    pub fn admin_kubeconfig(&self) -> &Path {
        &self.admin_kubeconfig
    }

    /// The directory holding the control plane's files and logs.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// A client authenticated as the cluster administrator (`system:masters`).
    ///
    /// # Errors
    /// [`ControlPlaneError::Client`].
    pub fn admin_client(&self) -> Result<Client, ControlPlaneError> {
        self.client_with_token(&self.admin_token)
    }

    /// A client with the bearer `token`.
    ///
    /// # Errors
    /// [`ControlPlaneError::Client`].
    pub fn client_with_token(&self, token: &str) -> Result<Client, ControlPlaneError> {
        let url = self
            .server_url
            .parse()
            .map_err(|error: http::uri::InvalidUri| ControlPlaneError::Manifest {
                what: format!("the server URL {} is not a URI: {error}", self.server_url),
            })?;
        let mut config = kube::Config::new(url);
        config.root_cert = Some(vec![self.ca_der.clone()]);
        config.auth_info.token = Some(token.to_owned().into());
        "default".clone_into(&mut config.default_namespace);
        Client::try_from(config).map_err(ControlPlaneError::Client)
    }

    /// A token for the ServiceAccount `name` in `namespace`, from the TokenRequest API, valid
    /// for an hour. The ServiceAccount must exist.
    ///
    /// # Errors
    /// [`ControlPlaneError::Request`] when the TokenRequest is refused.
    pub async fn service_account_token(
        &self,
        namespace: &str,
        name: &str,
    ) -> Result<String, ControlPlaneError> {
        let accounts: Api<ServiceAccount> = Api::namespaced(self.admin_client()?, namespace);
        let request = TokenRequest {
            spec: TokenRequestSpec {
                audiences: Vec::new(),
                expiration_seconds: Some(3600),
                bound_object_ref: None,
            },
            ..TokenRequest::default()
        };
        let answer = accounts
            .create_token_request(name, &PostParams::default(), &request)
            .await
            .map_err(|source| ControlPlaneError::Request {
                what: format!("requesting a token for ServiceAccount {namespace}/{name}"),
                source,
            })?;
        Ok(answer.status.map(|status| status.token).unwrap_or_default())
    }

    /// A client that authenticates as the ServiceAccount `name` in `namespace`: RBAC decides
    /// what it may do, exactly as for a pod running with that account.
    ///
    /// # Errors
    /// As [`service_account_token`](Self::service_account_token).
    pub async fn service_account_client(
        &self,
        namespace: &str,
        name: &str,
    ) -> Result<Client, ControlPlaneError> {
        let token = self.service_account_token(namespace, name).await?;
        self.client_with_token(&token)
    }

    /// Writes a kubeconfig for the ServiceAccount `name` in `namespace` to `path` (for a process
    /// such as the operator binary), with `namespace` as its default namespace.
    ///
    /// # Errors
    /// As [`service_account_token`](Self::service_account_token), and
    /// [`ControlPlaneError::File`].
    pub async fn write_service_account_kubeconfig(
        &self,
        namespace: &str,
        name: &str,
        path: &Path,
    ) -> Result<(), ControlPlaneError> {
        let token = self.service_account_token(namespace, name).await?;
        let text = kubeconfig(&self.server_url, &self.ca_pem, name, &token)
            .replace("namespace: default", &format!("namespace: {namespace}"));
        write_file(path, &text)
    }

    /// Creates the namespace `name` (as the administrator); an existing one is kept.
    ///
    /// # Errors
    /// [`ControlPlaneError::Request`].
    pub async fn create_namespace(&self, name: &str) -> Result<(), ControlPlaneError> {
        let namespaces: Api<Namespace> = Api::all(self.admin_client()?);
        let namespace: Namespace = serde_json::from_value(serde_json::json!({
            "apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name},
        }))
        .map_err(|error| ControlPlaneError::Manifest {
            what: error.to_string(),
        })?;
        namespaces
            .patch(
                name,
                &PatchParams::apply(FIELD_MANAGER),
                &Patch::Apply(&namespace),
            )
            .await
            .map_err(|source| ControlPlaneError::Request {
                what: format!("creating namespace {name}"),
                source,
            })?;
        Ok(())
    }

    /// Server-side applies every document of `yaml` as the administrator, like
    /// `kubectl apply --server-side`; namespaced objects without a namespace go to
    /// `default_namespace`. Returns the applied objects.
    ///
    /// # Errors
    /// [`ControlPlaneError::Manifest`] for a document that is not a Kubernetes object or names an
    /// unknown kind; [`ControlPlaneError::Request`] when the server refuses one (the error names
    /// the object; documents before it stay applied).
    pub async fn apply_yaml(
        &self,
        yaml: &str,
        default_namespace: &str,
    ) -> Result<Vec<DynamicObject>, ControlPlaneError> {
        let client = self.admin_client()?;
        let mut applied = Vec::new();
        let mut resolved: Vec<(GroupVersionKind, ApiResource, ApiCapabilities)> = Vec::new();
        for document in serde_saphyr::from_multiple::<serde_json::Value>(yaml).map_err(|error| {
            ControlPlaneError::Manifest {
                what: format!("the YAML does not parse: {error}"),
            }
        })? {
            if document.is_null() {
                continue;
            }
            let object: DynamicObject =
                serde_json::from_value(document).map_err(|error| ControlPlaneError::Manifest {
                    what: format!("a document is not a Kubernetes object: {error}"),
                })?;
            let types = object
                .types
                .clone()
                .ok_or_else(|| ControlPlaneError::Manifest {
                    what: format!("{} has no apiVersion/kind", object.name_any()),
                })?;
            let gvk = GroupVersionKind::try_from(&types).map_err(|error| {
                ControlPlaneError::Manifest {
                    what: format!("{}: {error}", object.name_any()),
                }
            })?;
            let known = resolved
                .iter()
                .find(|(known, _, _)| *known == gvk)
                .map(|(_, resource, capabilities)| (resource.clone(), capabilities.clone()));
            let (resource, capabilities) = if let Some(found) = known {
                found
            } else {
                let found = resolve_kind(&client, &gvk).await?;
                resolved.push((gvk.clone(), found.0.clone(), found.1.clone()));
                found
            };
            let name = object.name_any();
            let api: Api<DynamicObject> = if capabilities.scope == Scope::Namespaced {
                let namespace = object
                    .namespace()
                    .unwrap_or_else(|| default_namespace.to_owned());
                Api::namespaced_with(client.clone(), &namespace, &resource)
            } else {
                Api::all_with(client.clone(), &resource)
            };
            let result = api
                .patch(
                    &name,
                    &PatchParams::apply(FIELD_MANAGER).force(),
                    &Patch::Apply(&object),
                )
                .await
                .map_err(|source| ControlPlaneError::Request {
                    what: format!("applying {} {name}", gvk.kind),
                    source,
                })?;
            applied.push(result);
        }
        Ok(applied)
    }

    /// Applies every CRD in `dir` (its `*.yaml` files, not its subdirectories) and waits until
    /// each is Established.
    ///
    /// # Errors
    /// As [`apply_yaml`](Self::apply_yaml), [`ControlPlaneError::File`], and
    /// [`ControlPlaneError::CrdNotEstablished`].
    pub async fn install_crds(&self, dir: &Path) -> Result<(), ControlPlaneError> {
        let entries = std::fs::read_dir(dir).map_err(|source| ControlPlaneError::File {
            path: dir.to_path_buf(),
            source,
        })?;
        let mut files: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|entry| entry.path())
            .filter(|path| path.extension().is_some_and(|ext| ext == "yaml"))
            .collect();
        files.sort();
        let mut names = Vec::new();
        for file in files {
            let text =
                std::fs::read_to_string(&file).map_err(|source| ControlPlaneError::File {
                    path: file.clone(),
                    source,
                })?;
            for object in self.apply_yaml(&text, "default").await? {
                names.push(object.name_any());
            }
        }
        for name in names {
            self.wait_established(&name).await?;
        }
        Ok(())
    }

    /// Waits until the CRD `name` is Established (its API is served).
    ///
    /// # Errors
    /// [`ControlPlaneError::CrdNotEstablished`] after a timeout.
    pub async fn wait_established(&self, name: &str) -> Result<(), ControlPlaneError> {
        let crds: Api<CustomResourceDefinition> = Api::all(self.admin_client()?);
        let deadline = Instant::now() + CRD_TIMEOUT;
        loop {
            let established = crds.get_opt(name).await.ok().flatten().is_some_and(|crd| {
                crd.status
                    .and_then(|status| status.conditions)
                    .unwrap_or_default()
                    .iter()
                    .any(|condition| condition.type_ == "Established" && condition.status == "True")
            });
            if established {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(ControlPlaneError::CrdNotEstablished {
                    name: name.to_owned(),
                });
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Every request the API server has answered so far, oldest first.
    ///
    /// # Errors
    /// [`ControlPlaneError::File`] when the audit log cannot be read.
    pub fn audit_events(&self) -> Result<Vec<AuditEvent>, ControlPlaneError> {
        let text = match std::fs::read_to_string(&self.audit_log) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(source) => {
                return Err(ControlPlaneError::File {
                    path: self.audit_log.clone(),
                    source,
                });
            }
        };
        // A line being written while we read is incomplete; it is read on the next call.
        Ok(text
            .lines()
            .filter_map(|line| serde_json::from_str::<AuditEvent>(line).ok())
            .filter(|event| event.stage == "ResponseComplete")
            .collect())
    }

    /// The requests `username` made so far, oldest first.
    ///
    /// # Errors
    /// As [`audit_events`](Self::audit_events).
    pub fn audit_events_of(&self, username: &str) -> Result<Vec<AuditEvent>, ControlPlaneError> {
        Ok(self
            .audit_events()?
            .into_iter()
            .filter(|event| event.user.username == username)
            .collect())
    }

    /// Stops every process (SIGTERM, then SIGKILL after a grace period) and removes the files.
    pub async fn shutdown(mut self) {
        while let Some(mut process) = self.processes.pop() {
            process.stop().await;
        }
    }
}

impl Drop for ControlPlane {
    fn drop(&mut self) {
        while let Some(mut process) = self.processes.pop() {
            process.kill_now();
        }
        if std::env::var_os("TICKETEER_KEEP_CONTROL_PLANE").is_none() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// Where `gvk` is served, asking only its group-version. A kind whose CRD was applied a moment
/// ago may not be served yet (discovery lags the CRD's Established condition): retried briefly.
async fn resolve_kind(
    client: &Client,
    gvk: &GroupVersionKind,
) -> Result<(ApiResource, ApiCapabilities), ControlPlaneError> {
    let deadline = Instant::now() + CRD_TIMEOUT;
    loop {
        match kube::discovery::pinned_kind(client, gvk).await {
            Ok(found) => return Ok(found),
            Err(error) if Instant::now() > deadline => {
                return Err(ControlPlaneError::Manifest {
                    what: format!(
                        "the API server serves no {}/{} {}: {error}",
                        gvk.group, gvk.version, gvk.kind
                    ),
                });
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

/// A kubeconfig with one cluster, one user (a bearer token) and one context.
fn kubeconfig(server: &str, ca_pem: &str, user: &str, token: &str) -> String {
    use base64::Engine as _;
    let ca = base64::engine::general_purpose::STANDARD.encode(ca_pem);
    let mut text = String::new();
    let _ = write!(
        text,
        "apiVersion: v1\nkind: Config\nclusters:\n  - name: ticketeer-test\n    cluster:\n      server: {server}\n      certificate-authority-data: {ca}\nusers:\n  - name: {user}\n    user:\n      token: {token}\ncontexts:\n  - name: ticketeer-test\n    context:\n      cluster: ticketeer-test\n      user: {user}\n      namespace: default\ncurrent-context: ticketeer-test\n"
    );
    text
}

pub(crate) fn free_ports<const N: usize>() -> Result<[u16; N], ControlPlaneError> {
    // Hold every listener until all are chosen so the ports differ; the tiny window between
    // closing them and the processes binding is the usual price of this approach.
    let listeners: Vec<TcpListener> = (0..N)
        .map(|_| TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))))
        .collect::<Result<_, _>>()
        .map_err(ControlPlaneError::Port)?;
    let mut ports = [0_u16; N];
    for (port, listener) in ports.iter_mut().zip(&listeners) {
        *port = listener
            .local_addr()
            .map_err(ControlPlaneError::Port)?
            .port();
    }
    Ok(ports)
}

fn create_dir(path: &Path) -> Result<(), ControlPlaneError> {
    std::fs::create_dir_all(path).map_err(|source| ControlPlaneError::File {
        path: path.to_path_buf(),
        source,
    })
}

fn write_file(path: &Path, text: &str) -> Result<(), ControlPlaneError> {
    std::fs::write(path, text).map_err(|source| ControlPlaneError::File {
        path: path.to_path_buf(),
        source,
    })
}
