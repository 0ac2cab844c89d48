//! The fake API server's own behaviour, checked through a real kube client: what
//! controller_faults.rs, its only user, relies on (label-selected lists and watches, server-side
//! apply, the status subresource, not-found, injected errors).

#[path = "support/fake_api.rs"]
mod fake_api;

use fake_api::FakeApi;
use futures_util::StreamExt;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::Api;
use kube::api::{ListParams, Patch, PatchParams, WatchEvent, WatchParams};
use serde_json::json;

fn config_map(name: &str, team: &str) -> serde_json::Value {
    json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": "ns", "labels": {"team": team}},
        "data": {"key": "value"},
    })
}

#[tokio::test]
async fn lists_honour_label_selectors_and_report_the_resource_version() {
    let api = FakeApi::new();
    api.put(config_map("a", "red"));
    api.put(config_map("b", "blue"));
    let config_maps: Api<ConfigMap> = Api::namespaced(api.client(), "ns");
    let names = |list: kube::core::ObjectList<ConfigMap>| -> Vec<String> {
        list.items
            .into_iter()
            .filter_map(|item| item.metadata.name)
            .collect()
    };
    assert_eq!(
        names(
            config_maps
                .list(&ListParams::default().labels("team=red"))
                .await
                .expect("list")
        ),
        ["a"]
    );
    assert_eq!(
        names(
            config_maps
                .list(&ListParams::default().labels("team!=red"))
                .await
                .expect("list")
        ),
        ["b"]
    );
    assert_eq!(
        names(
            config_maps
                .list(&ListParams::default().labels("team in (red,blue)"))
                .await
                .expect("list")
        ),
        ["a", "b"]
    );
    let list = config_maps
        .list(&ListParams::default())
        .await
        .expect("list");
    assert_eq!(list.metadata.resource_version.as_deref(), Some("2"));
}

#[tokio::test]
async fn a_missing_object_is_not_found() {
    let api = FakeApi::new();
    let config_maps: Api<ConfigMap> = Api::namespaced(api.client(), "ns");
    assert!(
        config_maps
            .get_opt("missing")
            .await
            .expect("a 404 is None")
            .is_none()
    );
    let error = config_maps.get("missing").await.expect_err("not found");
    assert!(
        matches!(error, kube::Error::Api(ref status) if status.code == 404),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_status_write_changes_only_the_status_and_an_apply_keeps_it() {
    let api = FakeApi::new();
    api.put(json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "bot", "namespace": "ns"},
        "spec": {"replicas": 1},
    }));
    let deployments: Api<Deployment> = Api::namespaced(api.client(), "ns");
    let written = deployments
        .patch_status(
            "bot",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"replicas": 5}, "status": {"readyReplicas": 1}})),
        )
        .await
        .expect("the status is written");
    assert_eq!(written.spec.expect("spec").replicas, Some(1), "spec kept");
    assert_eq!(written.status.expect("status").ready_replicas, Some(1));
    let applied: Deployment = serde_json::from_value(json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "bot", "namespace": "ns"},
        "spec": {"replicas": 2},
    }))
    .expect("valid");
    let after = deployments
        .patch("bot", &PatchParams::apply("test"), &Patch::Apply(&applied))
        .await
        .expect("applied");
    assert_eq!(after.spec.expect("spec").replicas, Some(2));
    assert_eq!(
        after.status.expect("status kept").ready_replicas,
        Some(1),
        "an apply does not touch the status"
    );
    assert_eq!(after.metadata.generation, Some(2), "a spec change bumps it");
}

#[tokio::test]
async fn an_unchanged_apply_keeps_the_resource_version_and_a_change_bumps_it() {
    let api = FakeApi::new();
    let config_maps: Api<ConfigMap> = Api::namespaced(api.client(), "ns");
    let object: ConfigMap = serde_json::from_value(config_map("a", "red")).expect("valid");
    let params = PatchParams::apply("test").force();
    let first = config_maps
        .patch("a", &params, &Patch::Apply(&object))
        .await
        .expect("applied");
    let again = config_maps
        .patch("a", &params, &Patch::Apply(&object))
        .await
        .expect("applied");
    assert_eq!(
        first.metadata.resource_version,
        again.metadata.resource_version
    );
    let changed: ConfigMap = serde_json::from_value(
        config_map("a", "red")
            .as_object()
            .cloned()
            .map(|mut map| {
                map.insert("data".into(), json!({"other": "value"}));
                serde_json::Value::Object(map)
            })
            .expect("object"),
    )
    .expect("valid");
    let after = config_maps
        .patch("a", &params, &Patch::Apply(&changed))
        .await
        .expect("applied");
    assert_ne!(
        after.metadata.resource_version,
        first.metadata.resource_version
    );
    assert_eq!(
        after.data.expect("data").keys().collect::<Vec<_>>(),
        ["other"],
        "applied fields replace, dropped ones go"
    );
}

#[tokio::test]
async fn a_watch_sends_changes_after_the_requested_version() {
    let api = FakeApi::new();
    api.put(config_map("before", "red"));
    let config_maps: Api<ConfigMap> = Api::namespaced(api.client(), "ns");
    let version = api.resource_version().to_string();
    let mut stream = config_maps
        .watch(&WatchParams::default().timeout(5), &version)
        .await
        .expect("watch")
        .boxed();
    api.put(config_map("after", "red"));
    let event = stream.next().await.expect("an event").expect("decodes");
    match event {
        WatchEvent::Added(object) => assert_eq!(object.metadata.name.as_deref(), Some("after")),
        other => panic!("expected ADDED, got {other:?}"),
    }
}

#[tokio::test]
async fn injected_errors_answer_the_next_matching_requests() {
    let api = FakeApi::new();
    api.put(config_map("a", "red"));
    api.inject_error(Some(http::Method::GET), "/configmaps/a", 500, 1);
    let config_maps: Api<ConfigMap> = Api::namespaced(api.client(), "ns");
    let error = config_maps.get("a").await.expect_err("injected");
    assert!(
        matches!(error, kube::Error::Api(ref status) if status.code == 500),
        "{error:?}"
    );
    assert!(config_maps.get("a").await.is_ok(), "only once");
}
