//! The fake API server's own behaviour, checked through a real kube client.

#[path = "support/fake_api.rs"]
mod fake_api;

use fake_api::FakeApi;
use futures_util::StreamExt;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::Api;
use kube::api::{
    DeleteParams, ListParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams,
};
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
async fn creating_twice_conflicts_and_a_missing_object_is_not_found() {
    let api = FakeApi::new();
    let config_maps: Api<ConfigMap> = Api::namespaced(api.client(), "ns");
    let object: ConfigMap = serde_json::from_value(config_map("a", "red")).expect("valid");
    config_maps
        .create(&PostParams::default(), &object)
        .await
        .expect("created");
    let error = config_maps
        .create(&PostParams::default(), &object)
        .await
        .expect_err("exists");
    assert!(
        matches!(error, kube::Error::Api(ref status) if status.code == 409),
        "{error:?}"
    );
    assert!(
        config_maps
            .get_opt("missing")
            .await
            .expect("a 404 is None")
            .is_none()
    );
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
async fn a_json_patch_whose_test_fails_changes_nothing() {
    let api = FakeApi::new();
    api.put(config_map("a", "red"));
    let config_maps: Api<ConfigMap> = Api::namespaced(api.client(), "ns");
    let patch: json_patch::Patch = serde_json::from_value(json!([
        {"op": "test", "path": "/data/key", "value": "other"},
        {"op": "replace", "path": "/data/key", "value": "changed"},
    ]))
    .expect("valid patch");
    let error = config_maps
        .patch("a", &PatchParams::default(), &Patch::<()>::Json(patch))
        .await
        .expect_err("the test op fails");
    assert!(
        matches!(error, kube::Error::Api(ref status) if status.code == 422),
        "{error:?}"
    );
    assert_eq!(
        api.get("configmaps", "ns", "a").expect("kept")["data"]["key"],
        "value"
    );
}

#[tokio::test]
async fn deleting_an_owner_deletes_what_it_owns() {
    let api = FakeApi::new();
    let owner = api.put(config_map("owner", "red"));
    let mut child = config_map("owned", "red");
    child["metadata"]["ownerReferences"] = json!([{
        "apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": owner["metadata"]["uid"],
    }]);
    api.put(child);
    let config_maps: Api<ConfigMap> = Api::namespaced(api.client(), "ns");
    config_maps
        .delete("owner", &DeleteParams::default())
        .await
        .expect("deleted");
    assert!(api.get("configmaps", "ns", "owned").is_none());
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
