//! The test control plane is a real one: RBAC, admission, garbage collection, the audit log.

use std::path::Path;
use std::time::Duration;

use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Secret, ServiceAccount};
use kube::api::{DeleteParams, ListParams, PostParams};
use kube::{Api, ResourceExt as _};
use serde_json::json;
use ticketeer_testkit::control_plane::{ControlPlane, service_account_username};

async fn eventually(what: &str, mut check: impl AsyncFnMut() -> bool) {
    for _ in 0..600 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting until {what}");
}

fn config_map(name: &str, owner: Option<&ConfigMap>) -> ConfigMap {
    let mut object = json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": name}, "data": {"key": "value"},
    });
    if let Some(owner) = owner {
        object["metadata"]["ownerReferences"] = json!([{
            "apiVersion": "v1", "kind": "ConfigMap",
            "name": owner.name_any(), "uid": owner.uid().expect("the owner has a uid"),
        }]);
    }
    serde_json::from_value(object).expect("a ConfigMap")
}

#[tokio::test]
async fn a_service_account_gets_only_what_rbac_grants_and_the_audit_log_shows_it() {
    let plane = ControlPlane::start()
        .await
        .expect("the control plane starts");
    let admin = plane.admin_client().expect("an admin client");
    plane.create_namespace("work").await.expect("a namespace");
    plane
        .apply_yaml(
            r#"
apiVersion: v1
kind: ServiceAccount
metadata: {name: reader}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: configmap-reader}
rules:
  - apiGroups: [""]
    resources: [configmaps]
    verbs: [get, list]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: reader}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: configmap-reader}
subjects:
  - {kind: ServiceAccount, name: reader, namespace: work}
"#,
            "work",
        )
        .await
        .expect("the account and its role apply");
    Api::<ConfigMap>::namespaced(admin.clone(), "work")
        .create(&PostParams::default(), &config_map("settings", None))
        .await
        .expect("the admin creates a ConfigMap");

    let reader = plane
        .service_account_client("work", "reader")
        .await
        .expect("a token for the account");
    let config_maps: Api<ConfigMap> = Api::namespaced(reader.clone(), "work");
    assert_eq!(
        config_maps
            .list(&ListParams::default())
            .await
            .expect("listing ConfigMaps is granted")
            .items
            .len(),
        1
    );
    let denied = Api::<Secret>::namespaced(reader, "work")
        .list(&ListParams::default())
        .await
        .expect_err("listing Secrets is not granted");
    assert!(
        matches!(&denied, kube::Error::Api(status) if status.is_forbidden()),
        "{denied:?}"
    );

    let username = service_account_username("work", "reader");
    let events = plane.audit_events_of(&username).expect("the audit log");
    let summary: Vec<(String, String, u16)> = events
        .iter()
        .map(|event| (event.verb.clone(), event.resource(), event.code()))
        .collect();
    assert!(
        summary.contains(&("list".to_owned(), "core/configmaps".to_owned(), 200)),
        "{summary:?}"
    );
    assert!(
        summary.contains(&("list".to_owned(), "core/secrets".to_owned(), 403)),
        "{summary:?}"
    );
    plane.shutdown().await;
}

#[tokio::test]
async fn the_api_server_refuses_what_a_fake_would_accept() {
    let plane = ControlPlane::start()
        .await
        .expect("the control plane starts");
    let admin = plane.admin_client().expect("an admin client");
    let config_maps: Api<ConfigMap> = Api::namespaced(admin.clone(), "default");
    let invalid_name = config_maps
        .create(&PostParams::default(), &config_map("Not_A_Name", None))
        .await
        .expect_err("an invalid name is refused");
    assert!(
        matches!(&invalid_name, kube::Error::Api(status) if status.code == 422),
        "{invalid_name:?}"
    );
    let accounts: Api<ServiceAccount> = Api::namespaced(admin, "default");
    let too_long: ServiceAccount = serde_json::from_value(json!({
        "metadata": {"name": "x".repeat(254)},
    }))
    .expect("a ServiceAccount");
    let refused = accounts
        .create(&PostParams::default(), &too_long)
        .await
        .expect_err("a name over 253 characters is refused");
    assert!(
        matches!(&refused, kube::Error::Api(status) if status.code == 422),
        "{refused:?}"
    );
    plane.shutdown().await;
}

#[tokio::test]
async fn crds_install_and_the_garbage_collector_follows_owner_references() {
    let plane = ControlPlane::start()
        .await
        .expect("the control plane starts");
    let crds = Path::new(env!("CARGO_MANIFEST_DIR")).join("../crds");
    plane
        .install_crds(&crds)
        .await
        .expect("the project's CRDs install and become Established");
    let admin = plane.admin_client().expect("an admin client");
    plane.create_namespace("gc").await.expect("a namespace");
    let config_maps: Api<ConfigMap> = Api::namespaced(admin.clone(), "gc");
    let owner = config_maps
        .create(&PostParams::default(), &config_map("owner", None))
        .await
        .expect("the owner");
    config_maps
        .create(
            &PostParams::default(),
            &config_map("dependent", Some(&owner)),
        )
        .await
        .expect("the dependent");
    config_maps
        .delete("owner", &DeleteParams::background())
        .await
        .expect("the owner is deleted");
    eventually("the garbage collector deletes the dependent", async || {
        matches!(config_maps.get_opt("dependent").await, Ok(None))
    })
    .await;

    let namespaces: Api<Namespace> = Api::all(admin);
    namespaces
        .delete("gc", &DeleteParams::default())
        .await
        .expect("the namespace deletion starts");
    eventually(
        "the namespace controller finishes deleting it",
        async || matches!(namespaces.get_opt("gc").await, Ok(None)),
    )
    .await;
    plane.shutdown().await;
}
