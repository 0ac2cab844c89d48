//! A real Kubernetes API server prepared for the operator: the project's CRDs installed, the
//! examples' namespace created, and the chart's ServiceAccount with exactly the chart's RBAC, as
//! `helm template` renders them. The operator under test authenticates as that ServiceAccount, so
//! a request its RBAC does not allow is refused by the server itself.
//!
//! Objects are read and written as JSON by plural name, as a person would with kubectl; the
//! administrator writes with server-side apply under its own field manager.

// Shared by several test crates, each of which uses only part of it.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{
    ApiResource, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams,
};
use kube::{Api, Client};
use serde_json::Value;
use ticketeer_testkit::control_plane::{AuditEvent, ControlPlane, service_account_username};
use ticketeer_testkit::tools;

/// The release namespace the chart is installed into.
pub const OPERATOR_NAMESPACE: &str = "ticketeer";
/// The Helm release name.
pub const RELEASE: &str = "ticketeer";
/// The field manager of the test's own writes (the administrator's, like `kubectl apply`).
const TEST_MANAGER: &str = "test-admin";

/// The control plane plus what the operator needs in it.
pub struct Cluster {
    pub plane: ControlPlane,
    pub admin: Client,
    /// The chart's ServiceAccount for the operator.
    pub operator_account: String,
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// `helm template` of the chart (release [`RELEASE`] in [`OPERATOR_NAMESPACE`]) with `args`.
pub fn helm_template(args: &[&str]) -> String {
    let output = Command::new(tools::helm())
        .args(["template", RELEASE])
        .arg(workspace().join("charts/ticketeer"))
        .args(["--namespace", OPERATOR_NAMESPACE])
        // Offline, helm assumes its own default Kubernetes, older than the chart's kubeVersion.
        .args(["--kube-version", "1.34.4"])
        .args(args)
        .output()
        .expect("helm runs");
    assert!(
        output.status.success(),
        "helm template failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("helm prints UTF-8")
}

impl Cluster {
    /// Starts a control plane with the CRDs, the namespace `tickets` and the chart's RBAC for
    /// the operator (cluster scope, as the chart's default installs it).
    pub async fn start() -> Self {
        Self::start_with_chart_values(&[]).await
    }

    /// Like [`start`](Self::start), with extra `helm template` arguments for the RBAC.
    pub async fn start_with_chart_values(args: &[&str]) -> Self {
        let plane = ControlPlane::start()
            .await
            .unwrap_or_else(|error| panic!("the control plane starts: {}", chain(&error)));
        install_crds(&plane).await;
        for namespace in [OPERATOR_NAMESPACE, super::fixtures::NAMESPACE] {
            plane
                .create_namespace(namespace)
                .await
                .unwrap_or_else(|error| panic!("namespace {namespace}: {}", chain(&error)));
        }
        let mut template_args = vec![
            "--show-only",
            "templates/serviceaccount.yaml",
            "--show-only",
            "templates/rbac.yaml",
        ];
        template_args.extend_from_slice(args);
        let rbac = helm_template(&template_args);
        let applied = plane
            .apply_yaml(&rbac, OPERATOR_NAMESPACE)
            .await
            .unwrap_or_else(|error| panic!("the chart's RBAC applies: {}", chain(&error)));
        let operator_account = applied
            .iter()
            .find(|object| {
                object
                    .types
                    .as_ref()
                    .is_some_and(|types| types.kind == "ServiceAccount")
            })
            .and_then(|account| account.metadata.name.clone())
            .expect("the chart renders a ServiceAccount");
        let admin = plane.admin_client().expect("an admin client");
        Self {
            plane,
            admin,
            operator_account,
        }
    }

    /// Creates or updates a CustomResourceDefinition (server-side apply, the same field manager
    /// as the CRDs installed at start, so fields `crd` no longer has are removed). The server
    /// serves a changed schema shortly after, not at once.
    pub async fn apply_crd(&self, crd: &Value) {
        apply_crd(&self.admin, crd).await;
    }

    /// A client that authenticates as the chart's operator ServiceAccount.
    pub async fn operator_client(&self) -> Client {
        self.plane
            .service_account_client(OPERATOR_NAMESPACE, &self.operator_account)
            .await
            .unwrap_or_else(|error| panic!("a token for the operator: {}", chain(&error)))
    }

    /// The operator's username in the audit log.
    pub fn operator_username(&self) -> String {
        service_account_username(OPERATOR_NAMESPACE, &self.operator_account)
    }

    /// Every request the operator made so far, oldest first.
    pub fn operator_requests(&self) -> Vec<AuditEvent> {
        self.plane
            .audit_events_of(&self.operator_username())
            .expect("the audit log reads")
    }

    /// The operator's requests the API server refused as forbidden (403: not allowed by the
    /// chart's RBAC), as `verb group/resource uri`.
    pub fn operator_refusals(&self) -> Vec<String> {
        self.operator_requests()
            .iter()
            .filter(|request| request.code() == 403)
            .map(|request| {
                format!(
                    "{} {} {}",
                    request.verb,
                    request.resource(),
                    request.request_uri
                )
            })
            .collect()
    }

    /// Fails the test if any request of the operator so far was refused by RBAC.
    #[track_caller]
    pub fn assert_operator_never_refused(&self) {
        let refused = self.operator_refusals();
        assert!(
            refused.is_empty(),
            "the chart's RBAC refused requests of the operator: {refused:#?}"
        );
    }

    /// The resourceVersion of every object of `plurals` in `namespace`, keyed `plural/name`: equal
    /// maps at two moments mean no such object was created, changed or deleted in between.
    pub async fn resource_versions(
        &self,
        plurals: &[&str],
        namespace: &str,
    ) -> BTreeMap<String, String> {
        let mut versions = BTreeMap::new();
        for plural in plurals {
            for object in self.list(plural, namespace).await {
                let name = object["metadata"]["name"].as_str().unwrap_or_default();
                let version = object["metadata"]["resourceVersion"]
                    .as_str()
                    .unwrap_or_default();
                versions.insert(format!("{plural}/{name}"), version.to_owned());
            }
        }
        versions
    }

    fn api(&self, plural: &str, namespace: Option<&str>) -> Api<DynamicObject> {
        let resource = api_resource(plural);
        match namespace {
            Some(namespace) => Api::namespaced_with(self.admin.clone(), namespace, &resource),
            None => Api::all_with(self.admin.clone(), &resource),
        }
    }

    /// Creates or updates `object` (server-side apply as the administrator, conflicts forced):
    /// fields it no longer has are removed, as with a repeated `kubectl apply --server-side`.
    ///
    /// # Errors
    /// The API server's refusal.
    pub async fn try_put(&self, object: &Value) -> Result<Value, kube::Error> {
        let kind = object["kind"].as_str().expect("the object has a kind");
        let name = object["metadata"]["name"]
            .as_str()
            .expect("the object has a name");
        let namespace = object["metadata"]["namespace"].as_str();
        let applied = self
            .api(plural_of(kind), namespace)
            .patch(
                name,
                &PatchParams::apply(TEST_MANAGER).force(),
                &Patch::Apply(object),
            )
            .await?;
        Ok(serde_json::to_value(applied).expect("an object serialises"))
    }

    /// Like [`try_put`](Self::try_put), panicking on a refusal.
    pub async fn put(&self, object: Value) -> Value {
        self.try_put(&object)
            .await
            .unwrap_or_else(|error| panic!("applying {}: {error}", object["metadata"]["name"]))
    }

    /// The object `name` of `plural` in `namespace`, if it exists.
    pub async fn get(&self, plural: &str, namespace: &str, name: &str) -> Option<Value> {
        self.api(plural, Some(namespace))
            .get_opt(name)
            .await
            .unwrap_or_else(|error| panic!("reading {plural} {namespace}/{name}: {error}"))
            .map(|object| serde_json::to_value(object).expect("an object serialises"))
    }

    /// Every object of `plural` in `namespace`.
    pub async fn list(&self, plural: &str, namespace: &str) -> Vec<Value> {
        self.api(plural, Some(namespace))
            .list(&ListParams::default())
            .await
            .unwrap_or_else(|error| panic!("listing {plural} in {namespace}: {error}"))
            .items
            .into_iter()
            .map(|object| serde_json::to_value(object).expect("an object serialises"))
            .collect()
    }

    /// Deletes the object (the server's default propagation: background for these kinds, so the
    /// garbage collector removes its dependents afterwards).
    pub async fn delete(&self, plural: &str, namespace: &str, name: &str) {
        self.api(plural, Some(namespace))
            .delete(name, &DeleteParams::default())
            .await
            .unwrap_or_else(|error| panic!("deleting {plural} {namespace}/{name}: {error}"));
    }

    /// Merges `status` into the status subresource, standing in for the controller that would
    /// own it (e.g. a Deployment's replicas, which no kubelet here makes available).
    pub async fn set_status(&self, plural: &str, namespace: &str, name: &str, status: Value) {
        self.api(plural, Some(namespace))
            .patch_status(
                name,
                &PatchParams::default(),
                &Patch::Merge(serde_json::json!({ "status": status })),
            )
            .await
            .unwrap_or_else(|error| panic!("writing the status of {plural} {name}: {error}"));
    }

    /// Creates `object` (a plain create, failing if it exists).
    pub async fn create(&self, object: &Value) -> Result<Value, kube::Error> {
        let kind = object["kind"].as_str().expect("the object has a kind");
        let namespace = object["metadata"]["namespace"].as_str();
        let typed: DynamicObject =
            serde_json::from_value(object.clone()).expect("a Kubernetes object");
        let created = self
            .api(plural_of(kind), namespace)
            .create(&PostParams::default(), &typed)
            .await?;
        Ok(serde_json::to_value(created).expect("an object serialises"))
    }
}

pub use ticketeer_testkit::error_chain as chain;

/// Installs the project's CRDs from crds/ and waits until each is Established.
///
/// Installed under the test's own field manager rather than with `ControlPlane::install_crds`, so
/// that [`Cluster::apply_crd`] (the same manager) can swap a CRD's schema and put it back, fields
/// removed included.
async fn install_crds(plane: &ControlPlane) {
    let admin = plane.admin_client().expect("an admin client");
    let directory = workspace().join("crds");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&directory)
        .unwrap_or_else(|error| panic!("reading {}: {error}", directory.display()))
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "yaml"))
        .collect();
    files.sort();
    let mut names = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file)
            .unwrap_or_else(|error| panic!("reading {}: {error}", file.display()));
        let crd: Value = serde_saphyr::from_str(&text)
            .unwrap_or_else(|error| panic!("parsing {}: {error}", file.display()));
        apply_crd(&admin, &crd).await;
        names.extend(crd["metadata"]["name"].as_str().map(str::to_owned));
    }
    for name in names {
        plane
            .wait_established(&name)
            .await
            .unwrap_or_else(|error| panic!("CRD {name}: {}", chain(&error)));
    }
}

async fn apply_crd(admin: &Client, crd: &Value) {
    let name = crd["metadata"]["name"]
        .as_str()
        .expect("the CRD has a name");
    let typed: CustomResourceDefinition =
        serde_json::from_value(crd.clone()).unwrap_or_else(|error| panic!("CRD {name}: {error}"));
    Api::<CustomResourceDefinition>::all(admin.clone())
        .patch(
            name,
            &PatchParams::apply(TEST_MANAGER).force(),
            &Patch::Apply(&typed),
        )
        .await
        .unwrap_or_else(|error| panic!("applying CRD {name}: {}", chain(&error)));
}

/// The plural resource name of `kind`, for the kinds the operator touches.
pub fn plural_of(kind: &str) -> &'static str {
    match kind {
        "TicketBot" => "ticketbots",
        "TicketCategory" => "ticketcategories",
        "ConfigMap" => "configmaps",
        "Secret" => "secrets",
        "Service" => "services",
        "ServiceAccount" => "serviceaccounts",
        "Deployment" => "deployments",
        "Event" => "events",
        "Lease" => "leases",
        other => panic!("no plural known for kind {other}"),
    }
}

/// Where `plural` is served.
pub fn api_resource(plural: &str) -> ApiResource {
    let (group, version, kind) = match plural {
        "ticketbots" => ("ticketeer.dev", "v1alpha1", "TicketBot"),
        "ticketcategories" => ("ticketeer.dev", "v1alpha1", "TicketCategory"),
        "configmaps" => ("", "v1", "ConfigMap"),
        "secrets" => ("", "v1", "Secret"),
        "services" => ("", "v1", "Service"),
        "serviceaccounts" => ("", "v1", "ServiceAccount"),
        "deployments" => ("apps", "v1", "Deployment"),
        "events" => ("events.k8s.io", "v1", "Event"),
        "leases" => ("coordination.k8s.io", "v1", "Lease"),
        other => panic!("no API resource known for {other}"),
    };
    ApiResource {
        group: group.to_owned(),
        version: version.to_owned(),
        api_version: if group.is_empty() {
            version.to_owned()
        } else {
            format!("{group}/{version}")
        },
        kind: kind.to_owned(),
        plural: plural.to_owned(),
    }
}
