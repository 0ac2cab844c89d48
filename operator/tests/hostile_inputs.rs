//! Hostile and unusual manifests against a real API server, asserting what happens **today**, so
//! that the operator issue (conditions, Events, admission rules) can prove its fix by changing
//! these tests. Each test starts its own control plane and the operator in-process as the chart's
//! ServiceAccount; refusals are read from the API server's audit log, where the operator's
//! server-side apply (`patch`, `fieldManager=ticketeer-operator`, `force=true`) is recorded with
//! the code, reason and message the server answered.
//!
//! In every refusal below the operator's reconcile stops at the refused child (the children after
//! it are not applied), the error goes to a log line and the `apply_child` failure metric, and the
//! reconcile is retried with backoff for ever; no status, condition or Event says so.
//!
//! | Case | Manifest change | What the real API server answers | What the operator does today |
//! |------|-----------------|----------------------------------|------------------------------|
//! | 1 | TicketBot `metadata.name: 1support` | TicketBot: accepted (a DNS-1123 subdomain). ServiceAccount `1support`, ConfigMap `1support-config`: applied. Service `1support`: **422** `Invalid`, `metadata.name: Invalid value: "1support": a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, …` | Stops at the Service; no Service, no Deployment; retries for ever |
//! | 2 | TicketBot name of 64 characters | TicketBot: accepted (up to 253). The **first** child, the ServiceAccount (whose name may be 253 long), is refused: **422** `Invalid`, `metadata.labels: Invalid value: "<name>": must be no more than 63 characters`: the `app.kubernetes.io/instance` label every child carries. (The Service name would be refused too; it is never reached.) | No child at all; retries for ever |
//! | 3 | `tokenSecretRef.key: discord token` | TicketBot: accepted (the schema bounds only the length). No Secret can hold that key (a Secret with it is refused with 422). ServiceAccount, ConfigMap, Service: applied. Deployment: **422** `Invalid`, `spec.template.spec.containers[0].env[0].valueFrom.secretKeyRef.key: Invalid value: "discord token": a valid config key must consist of alphanumeric characters, '-', '_' or '.'` | Stops at the Deployment; no Deployment; retries for ever |
//! | 4 | `resources.requests.cpu: lots` | TicketBot: **accepted**: the CRD schema's quantity is `x-kubernetes-int-or-string` with no pattern. Deployment: **500** with an empty reason (not 422: server-side apply fails converting the quantity before validation), `failed to convert new object (tickets/support; apps/v1, Kind=Deployment) to proper version: unable to convert unstructured object to apps/v1, Kind=Deployment: quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'` | Stops at the Deployment; retries for ever (a 500 looks like a server fault, not a bad spec) |
//! | 5 | 46 TicketCategories, each with `createMessage`, `createdMessage` and `dmOnClose.message` of 2000 × 🎫 (within their own limits; the rendered `config.yaml` is ~1.07 MiB) | Every category: accepted. ServiceAccount: applied. ConfigMap `support-config`: **422** `Invalid`, `ConfigMap "support-config" is invalid: []: Too long: may not be more than 1048576 bytes` | Stops at the ConfigMap; no ConfigMap, Service, Deployment; retries for ever |
//! | 6a | `nodeSelector: {kubernetes.io/os: "not a value!"}` | Deployment: **422** `Invalid`, `spec.template.spec.nodeSelector: Invalid value: "not a value!": a valid label must be an empty string or consist of alphanumeric characters, …` | Stops at the Deployment; retries for ever |
//! | 6b | A toleration with `operator: Sometimes` | Deployment: **422** `Invalid`, `spec.template.spec.tolerations[0].operator: Unsupported value: "Sometimes": supported values: "Equal", "Exists"` | Stops at the Deployment; retries for ever |
//! | 6c | `image` with a trailing space, or a space inside | Deployment: **accepted** either way (a pod *template*'s image is not checked for whitespace). A Pod made from that template (as the ReplicaSet controller would make it): trailing space → **422** `spec.containers[0].image: Invalid value: "…": must not have leading or trailing whitespace`; inner space → accepted too (only the kubelet's pull would fail) | All children applied; the bot waits for a rollout that cannot happen (`Ready=False`, reason `RolloutInProgress`) |
//! | 7 | Another field manager changes a managed field: `kubectl apply --server-side --force-conflicts` of the ConfigMap's `config.yaml`; `kubectl edit` of a Deployment label | Both writes: **200**; the field's ownership moves to that manager. A later *non-forced* apply of the field by another manager: **409** `Conflict`, `Apply failed with 1 conflict: conflict with "ticketeer-operator": .data.config.yaml` | Its watch sees the change and it applies with force: takes both fields back (its `managedFields` own them again, the foreign values are gone) without a word |
//! | 8 | A ConfigMap `support-config` created by someone else before the TicketBot | The operator's forced apply: **200** (an update of the stranger's object, not a 201 create), no conflict | Adopts it silently: a controller ownerReference to the TicketBot and the operator's labels appear, `config.yaml` is replaced, the stranger's other keys and labels stay. Deleting the TicketBot then lets the garbage collector delete the stranger's ConfigMap (seen in a trial run, not waited for) |

#[path = "support/cluster.rs"]
mod cluster;
#[path = "support/fixtures.rs"]
mod fixtures;
#[path = "support/hostile.rs"]
mod hostile;

use cluster::{Cluster, api_resource};
use fixtures::{Edit, NAMESPACE, bot_json, category_json, secrets_json};
use hostile::{
    Audited, Operator, eventually, exists, finish, is_forced_operator_apply, named_bot,
    operator_audit, owns, refused_apply, requests_about, start_with_bot,
};
use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use kube::api::{DynamicObject, Patch, PatchParams, PostParams};
use serde_json::{Value, json};
use ticketeer_config::BotConfig;
use ticketeer_operator::builders::{self, MANAGER};

/// The example bot's name.
const BOT: &str = "support";
/// The example bot's ConfigMap.
const CONFIG_MAP: &str = "support-config";

/// Starts a cluster with the Secrets and `bot`, runs the operator, and waits until the API server
/// has refused its server-side apply of `resource` `name` twice (the refusal, then a retry).
/// Returns the first refusal.
async fn refused_child(bot: Value, resource: &str, name: &str) -> (Cluster, Operator, Audited) {
    let (cluster, operator) = start_with_bot(bot).await;
    let refusal = refused_apply(&cluster, resource, name).await;
    assert_eq!(refusal.verb, "patch", "{refusal:?}");
    assert!(is_forced_operator_apply(&refusal), "{refusal:?}");
    // Today the operator retries with backoff (and counts the failure), for ever.
    eventually(
        &format!("the operator retries {resource} {name}"),
        async || {
            let refused = requests_about(&cluster, resource, name)
                .iter()
                .filter(|(verb, code)| verb == "patch" && *code >= 400)
                .count();
            (refused >= 2 && operator.failed_applies() >= 2).then_some(())
        },
    )
    .await;
    (cluster, operator, refusal)
}

/// Asserts the refusal's code, reason and that its message contains each of `fragments`.
#[track_caller]
fn assert_refusal(refusal: &Audited, code: u16, reason: &str, fragments: &[&str]) {
    assert_eq!(refusal.code(), code, "{refusal:?}");
    assert_eq!(refusal.reason(), reason, "{refusal:?}");
    for fragment in fragments {
        assert!(
            refusal.message().contains(fragment),
            "the API server's message {:?} does not contain {fragment:?}",
            refusal.message()
        );
    }
}

/// Whether the operator has never written `resource` `name`.
fn never_applied(cluster: &Cluster, resource: &str, name: &str) -> bool {
    writes_about(cluster, resource, name).is_empty()
}

/// The operator's requests that write the object (it also reads its own ConfigMap, to keep a
/// category refused as invalid as the bot runs it).
fn writes_about(cluster: &Cluster, resource: &str, name: &str) -> Vec<(String, u16)> {
    requests_about(cluster, resource, name)
        .into_iter()
        .filter(|(verb, _)| verb != "get")
        .collect()
}

/// The stored object's `metadata.uid`.
async fn uid(cluster: &Cluster, plural: &str, name: &str) -> Value {
    exists(cluster, plural, name).await["metadata"]["uid"].clone()
}

/// `(status, reason)` of the bot's condition `type_`, once it has one.
async fn bot_condition(cluster: &Cluster, name: &str, type_: &str) -> (String, String) {
    eventually(
        &format!("TicketBot {name} has a {type_} condition"),
        async || {
            let bot = cluster.get("ticketbots", NAMESPACE, name).await?;
            let condition = bot["status"]["conditions"]
                .as_array()?
                .iter()
                .find(|condition| condition["type"] == type_)?
                .clone();
            let text = |field: &str| condition[field].as_str().unwrap_or_default().to_owned();
            Some((text("status"), text("reason")))
        },
    )
    .await
}

#[tokio::test]
async fn case_1_a_bot_name_starting_with_a_digit_is_refused_as_a_service_name() {
    let (cluster, operator, refusal) =
        refused_child(named_bot("1support"), "services", "1support").await;
    assert_refusal(
        &refusal,
        422,
        "Invalid",
        &[
            r#"Service "1support" is invalid: metadata.name: Invalid value: "1support""#,
            "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character",
        ],
    );
    // The TicketBot itself is fine (a DNS-1123 subdomain), as are the children applied before the
    // Service, whose names may start with a digit.
    exists(&cluster, "ticketbots", "1support").await;
    exists(&cluster, "serviceaccounts", "1support").await;
    exists(&cluster, "configmaps", "1support-config").await;
    // Today the reconcile stops at the refused Service: the Deployment is never applied.
    assert!(never_applied(&cluster, "deployments", "1support"));
    // today: no condition is set; the operator issue makes this a Ready=False ChildRejected
    // condition
    finish(cluster, operator).await;
}

#[tokio::test]
async fn case_2_a_64_character_bot_name_is_refused_as_a_label_value_on_the_first_child() {
    let name = format!("support-{}", "x".repeat(56));
    assert_eq!(name.len(), 64);
    let (cluster, operator, refusal) =
        refused_child(named_bot(&name), "serviceaccounts", &name).await;
    // Not the Service name (it would be refused too): the ServiceAccount comes first, and every
    // child carries the bot's name as its `app.kubernetes.io/instance` label value (at most 63).
    assert_refusal(
        &refusal,
        422,
        "Invalid",
        &[
            &format!(
                r#"ServiceAccount "{name}" is invalid: metadata.labels: Invalid value: "{name}""#
            ),
            "must be no more than 63 characters",
        ],
    );
    exists(&cluster, "ticketbots", &name).await;
    // Today the reconcile stops at the first child: nothing else is applied.
    for (resource, child) in [
        ("configmaps", builders::config_map_name(&name)),
        ("services", name.clone()),
        ("deployments", name.clone()),
    ] {
        assert!(never_applied(&cluster, resource, &child), "{resource}");
    }
    // today: no condition is set; the operator issue makes this a Ready=False ChildRejected
    // condition
    finish(cluster, operator).await;
}

#[tokio::test]
async fn case_3_a_secret_key_with_a_space_is_refused_in_the_deployment() {
    let bot = bot_json().set("/spec/tokenSecretRef/key", json!("discord token"));
    let (cluster, operator, refusal) = refused_child(bot, "deployments", BOT).await;
    assert_refusal(
        &refusal,
        422,
        "Invalid",
        &[
            r#"Deployment.apps "support" is invalid: spec.template.spec.containers[0].env[0].valueFrom.secretKeyRef.key: Invalid value: "discord token""#,
            "a valid config key must consist of alphanumeric characters, '-', '_' or '.'",
        ],
    );
    for (plural, name) in [
        ("serviceaccounts", BOT),
        ("configmaps", CONFIG_MAP),
        ("services", BOT),
    ] {
        exists(&cluster, plural, name).await;
    }
    // No Secret can hold such a key, so the reference can never be satisfied.
    let secret = json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "discord-token", "namespace": NAMESPACE},
        "stringData": {"discord token": "bot-token-123"},
    });
    let refused = cluster
        .try_put(&secret)
        .await
        .expect_err("a Secret key with a space is refused");
    assert!(
        matches!(&refused, kube::Error::Api(status) if status.code == 422
            && status.message.contains("a valid config key must consist of")),
        "{refused:?}"
    );
    // today: no condition is set; the operator issue makes this a Ready=False ChildRejected
    // condition
    finish(cluster, operator).await;
}

#[tokio::test]
async fn case_4_an_invalid_cpu_quantity_passes_the_crd_and_the_deployment_apply_fails_with_500() {
    let bot = bot_json().set("/spec/resources/requests/cpu", json!("lots"));
    let (cluster, operator, refusal) = refused_child(bot, "deployments", BOT).await;
    // The CRD schema did not refuse it: the quantity is `x-kubernetes-int-or-string` without a
    // pattern, so the TicketBot is stored as written.
    let stored = exists(&cluster, "ticketbots", BOT).await;
    assert_eq!(stored["spec"]["resources"]["requests"]["cpu"], "lots");
    // Server-side apply fails converting the object before validation runs: a 500 without a
    // reason, not a 422.
    assert_refusal(
        &refusal,
        500,
        "",
        &[
            "failed to convert new object (tickets/support; apps/v1, Kind=Deployment) to proper version",
            "quantities must match the regular expression",
        ],
    );
    for (plural, name) in [
        ("serviceaccounts", BOT),
        ("configmaps", CONFIG_MAP),
        ("services", BOT),
    ] {
        exists(&cluster, plural, name).await;
    }
    // today: no condition is set; the operator issue makes this a Ready=False ChildRejected
    // condition (or the CRD schema refuses the quantity at admission)
    finish(cluster, operator).await;
}

#[tokio::test]
async fn case_5_a_rendered_config_map_over_one_mebibyte_is_refused_as_too_long() {
    // Every text at its 2000-character limit, in 4-byte characters: ~24 KB per category.
    let text = "🎫".repeat(2000);
    let categories: Vec<Value> = (0..46)
        .map(|index| {
            category_json(&format!("big-{index:02}"), BOT)
                .set("/spec/createMessage", json!(text))
                .set("/spec/createdMessage", json!(text))
                .set("/spec/dmOnClose", json!({"enabled": true, "message": text}))
        })
        .collect();
    // The operator's own builders render more than the API server's 1 MiB limit (and less than
    // its 3 MiB request limit).
    let typed: Vec<_> = categories.iter().cloned().map(fixtures::category).collect();
    let bot = fixtures::bot(bot_json());
    let config = builders::render_config(&bot, &typed).expect("the config renders");
    assert_eq!(config.categories.len(), 46, "every category is accepted");
    let rendered = builders::config_map(&bot, &config).expect("the ConfigMap builds");
    let size = rendered.data.as_ref().expect("data")["config.yaml"].len();
    assert!((1_048_577..3_000_000).contains(&size), "{size} bytes");

    let cluster = Cluster::start().await;
    for secret in secrets_json() {
        cluster.put(secret).await;
    }
    cluster.put(bot_json()).await;
    for category in categories {
        // Each category is within its own limits, so the API server stores it.
        cluster.put(category).await;
    }
    let operator = Operator::start(&cluster).await;
    let refusal = refused_apply(&cluster, "configmaps", CONFIG_MAP).await;
    assert_refusal(
        &refusal,
        422,
        "Invalid",
        &[
            r#"ConfigMap "support-config" is invalid: []: Too long: may not be more than 1048576 bytes"#,
        ],
    );
    exists(&cluster, "serviceaccounts", BOT).await;
    // Today the reconcile stops at the refused ConfigMap.
    assert!(never_applied(&cluster, "services", BOT));
    assert!(never_applied(&cluster, "deployments", BOT));
    // today: no condition is set; the operator issue makes this a Ready=False ChildRejected
    // condition
    finish(cluster, operator).await;
}

#[tokio::test]
async fn case_6a_an_invalid_node_selector_value_is_refused_in_the_deployment() {
    let bot = bot_json().set(
        "/spec/nodeSelector",
        json!({"kubernetes.io/os": "not a value!"}),
    );
    let (cluster, operator, refusal) = refused_child(bot, "deployments", BOT).await;
    assert_refusal(
        &refusal,
        422,
        "Invalid",
        &[
            r#"spec.template.spec.nodeSelector: Invalid value: "not a value!""#,
            "a valid label must be an empty string or consist of alphanumeric characters",
        ],
    );
    // today: no condition is set; the operator issue makes this a Ready=False ChildRejected
    // condition
    finish(cluster, operator).await;
}

#[tokio::test]
async fn case_6b_a_toleration_with_an_unknown_operator_is_refused_in_the_deployment() {
    let bot = bot_json().set(
        "/spec/tolerations",
        json!([{"key": "dedicated", "operator": "Sometimes", "value": "bots", "effect": "NoSchedule"}]),
    );
    let (cluster, operator, refusal) = refused_child(bot, "deployments", BOT).await;
    assert_refusal(
        &refusal,
        422,
        "Invalid",
        &[
            r#"spec.template.spec.tolerations[0].operator: Unsupported value: "Sometimes": supported values: "Equal", "Exists""#,
        ],
    );
    // today: no condition is set; the operator issue makes this a Ready=False ChildRejected
    // condition
    finish(cluster, operator).await;
}

#[tokio::test]
async fn case_6c_an_image_with_a_space_is_accepted_in_the_deployment_but_not_in_a_pod() {
    const TRAILING: &str = "ghcr.io/ticketeer/ticketeer:0.1.0 ";
    const INNER: &str = "ghcr.io/ticketeer/ticketeer 0.1.0";
    let (cluster, operator) =
        start_with_bot(named_bot("trailing").set("/spec/image", json!(TRAILING))).await;
    cluster
        .put(named_bot("inner").set("/spec/image", json!(INNER)))
        .await;
    let pods: Api<Pod> = Api::namespaced(cluster.admin.clone(), NAMESPACE);
    for (name, image) in [("trailing", TRAILING), ("inner", INNER)] {
        // The API server does not check a pod template's image for whitespace: the Deployment
        // is stored with the image as written.
        let deployment = exists(&cluster, "deployments", name).await;
        assert_eq!(
            deployment["spec"]["template"]["spec"]["containers"][0]["image"],
            image
        );
        // (The audit log is written as the request completes, possibly after the read above.)
        eventually(
            "the audit log shows the Deployment created by apply",
            async || {
                requests_about(&cluster, "deployments", name)
                    .iter()
                    .any(|(verb, code)| verb == "patch" && *code == 201)
                    .then_some(())
            },
        )
        .await;
        // A Pod from that template, as the ReplicaSet controller (not running here) would create.
        let pod: Pod = serde_json::from_value(json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": format!("{name}-pod"), "namespace": NAMESPACE},
            "spec": deployment["spec"]["template"]["spec"],
        }))
        .expect("a Pod");
        let created = pods.create(&PostParams::default(), &pod).await;
        if image == TRAILING {
            let refused = created.expect_err("a Pod with a trailing space in its image is refused");
            assert!(
                matches!(&refused, kube::Error::Api(status) if status.code == 422
                    && status.message.contains("spec.containers[0].image: Invalid value")
                    && status.message.contains("must not have leading or trailing whitespace")),
                "{refused:?}"
            );
        } else {
            // Only the kubelet's image pull would fail (InvalidImageName).
            created.expect("a Pod with a space inside its image is accepted");
        }
        // The bot waits for a rollout that cannot happen (reason today: RolloutInProgress).
        assert_eq!(bot_condition(&cluster, name, "Ready").await.0, "False");
    }
    finish(cluster, operator).await;
}

/// A server-side apply of `object` by `manager`, forced or not.
async fn apply_as(
    cluster: &Cluster,
    plural: &str,
    manager: &str,
    force: bool,
    object: &Value,
) -> Result<Value, kube::Error> {
    let api: Api<DynamicObject> =
        Api::namespaced_with(cluster.admin.clone(), NAMESPACE, &api_resource(plural));
    let mut params = PatchParams::apply(manager);
    params.force = force;
    let name = object["metadata"]["name"].as_str().expect("a name");
    let applied = api.patch(name, &params, &Patch::Apply(object)).await?;
    Ok(serde_json::to_value(applied).expect("an object serialises"))
}

const DATA_CONFIG: [&str; 2] = ["f:data", "f:config.yaml"];
const COMPONENT_LABEL: [&str; 3] = ["f:metadata", "f:labels", "f:app.kubernetes.io/component"];

#[tokio::test]
async fn case_7_a_foreign_change_to_a_managed_field_is_taken_back_and_a_plain_apply_conflicts() {
    let (cluster, operator) = start_with_bot(bot_json()).await;
    let original = eventually(
        "the operator owns the ConfigMap's config.yaml",
        async || {
            let config_map = cluster.get("configmaps", NAMESPACE, CONFIG_MAP).await?;
            owns(&config_map, MANAGER, &DATA_CONFIG).then_some(config_map)
        },
    )
    .await;
    let original_config = original["data"]["config.yaml"].clone();
    eventually("the operator owns the Deployment's labels", async || {
        let deployment = cluster.get("deployments", NAMESPACE, BOT).await?;
        owns(&deployment, MANAGER, &COMPONENT_LABEL).then_some(())
    })
    .await;

    // A person's `kubectl apply --server-side --force-conflicts` of the ConfigMap's data (the
    // cluster helper applies as `test-admin`, with force): the server moves the field to them.
    let edited = cluster
        .put(json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": CONFIG_MAP, "namespace": NAMESPACE},
            "data": {"config.yaml": "edited: by hand\n"},
        }))
        .await;
    assert_eq!(edited["data"]["config.yaml"], "edited: by hand\n");
    assert!(owns(&edited, "test-admin", &DATA_CONFIG));
    assert!(!owns(&edited, MANAGER, &DATA_CONFIG));

    // A person's `kubectl edit` of a Deployment label: an Update by `kubectl-edit`.
    let api: Api<DynamicObject> = Api::namespaced_with(
        cluster.admin.clone(),
        NAMESPACE,
        &api_resource("deployments"),
    );
    let params = PatchParams {
        field_manager: Some("kubectl-edit".to_owned()),
        ..PatchParams::default()
    };
    let label_edit = json!({"metadata": {"labels": {"app.kubernetes.io/component": "edited"}}});
    let edited = api
        .patch(BOT, &params, &Patch::Merge(&label_edit))
        .await
        .expect("kubectl edit changes the label");
    let edited = serde_json::to_value(edited).expect("an object serialises");
    assert_eq!(
        edited["metadata"]["labels"]["app.kubernetes.io/component"],
        "edited"
    );
    assert!(owns(&edited, "kubectl-edit", &COMPONENT_LABEL));
    assert!(!owns(&edited, MANAGER, &COMPONENT_LABEL));

    // Today the operator's watch sees both changes and its forced apply takes the fields back.
    eventually("the operator takes config.yaml back", async || {
        let config_map = cluster.get("configmaps", NAMESPACE, CONFIG_MAP).await?;
        (config_map["data"]["config.yaml"] == original_config
            && owns(&config_map, MANAGER, &DATA_CONFIG)
            && !owns(&config_map, "test-admin", &DATA_CONFIG))
        .then_some(())
    })
    .await;
    eventually("the operator takes the label back", async || {
        let deployment = cluster.get("deployments", NAMESPACE, BOT).await?;
        (deployment["metadata"]["labels"]["app.kubernetes.io/component"] == "bot"
            && owns(&deployment, MANAGER, &COMPONENT_LABEL)
            && !owns(&deployment, "kubectl-edit", &COMPONENT_LABEL))
        .then_some(())
    })
    .await;
    eventually(
        "the audit log shows the take-back as a forced apply",
        async || {
            operator_audit(&cluster)
                .iter()
                .any(|event| {
                    event.is_about("configmaps", CONFIG_MAP)
                        && is_forced_operator_apply(event)
                        && event.code() == 200
                })
                .then_some(())
        },
    )
    .await;

    // A plain `kubectl apply --server-side` (no force) of the same field conflicts with the
    // operator: the real server's conflict detection.
    let conflict = apply_as(
        &cluster,
        "configmaps",
        "kubectl",
        false,
        &json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": CONFIG_MAP, "namespace": NAMESPACE},
            "data": {"config.yaml": "edited: again\n"},
        }),
    )
    .await
    .expect_err("a non-forced apply of an operator-owned field conflicts");
    let kube::Error::Api(status) = &conflict else {
        panic!("not an API error: {conflict:?}");
    };
    assert_eq!(
        (status.code, status.reason.as_str()),
        (409, "Conflict"),
        "{status:?}"
    );
    assert!(
        status
            .message
            .contains(r#"Apply failed with 1 conflict: conflict with "ticketeer-operator""#)
            && status.message.contains(".data.config.yaml"),
        "{status:?}"
    );
    let after = exists(&cluster, "configmaps", CONFIG_MAP).await;
    assert_eq!(after["data"]["config.yaml"], original_config);
    // today: no condition or Event says a person's change was overwritten; the operator issue
    // decides whether to report it
    finish(cluster, operator).await;
}

#[tokio::test]
async fn case_8_a_pre_existing_config_map_of_the_same_name_is_adopted() {
    let cluster = Cluster::start().await;
    for secret in secrets_json() {
        cluster.put(secret).await;
    }
    // Someone's `kubectl create` of a ConfigMap that happens to have the child's name.
    let stranger: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": CONFIG_MAP, "namespace": NAMESPACE, "labels": {"team": "stranger"}},
        "data": {"config.yaml": "not: ticketeer\n", "notes": "mine"},
    }))
    .expect("a ConfigMap");
    let config_maps: Api<DynamicObject> = Api::namespaced_with(
        cluster.admin.clone(),
        NAMESPACE,
        &api_resource("configmaps"),
    );
    let params = PostParams {
        field_manager: Some("kubectl-create".to_owned()),
        ..PostParams::default()
    };
    config_maps
        .create(&params, &stranger)
        .await
        .expect("the stranger's ConfigMap is created");
    cluster.put(bot_json()).await;
    let bot_uid = uid(&cluster, "ticketbots", BOT).await;
    let operator = Operator::start(&cluster).await;

    let adopted = eventually("the stranger's ConfigMap gets an owner", async || {
        let config_map = cluster.get("configmaps", NAMESPACE, CONFIG_MAP).await?;
        config_map["metadata"]["ownerReferences"]
            .as_array()
            .is_some_and(|owners| !owners.is_empty())
            .then_some(config_map)
    })
    .await;
    // Today the operator's forced apply adopts it: the TicketBot becomes its controller.
    let owners = adopted["metadata"]["ownerReferences"]
        .as_array()
        .expect("owner references");
    assert_eq!(owners.len(), 1, "{owners:?}");
    assert_eq!(owners[0]["kind"], "TicketBot");
    assert_eq!(owners[0]["name"], BOT);
    assert_eq!(owners[0]["uid"], bot_uid);
    assert_eq!(owners[0]["controller"], true);
    // So deleting the TicketBot lets the garbage collector delete the stranger's ConfigMap, `notes`
    // and all (seen in a trial run; not waited for here, because the collector notices a new CRD
    // only at its next 30-second discovery, which made the test take ~45 s).
    // Its config.yaml is replaced; the stranger's other key and label stay.
    let config = adopted["data"]["config.yaml"]
        .as_str()
        .expect("config.yaml");
    BotConfig::from_yaml(config).expect("the operator's config replaced the stranger's");
    assert_eq!(adopted["data"]["notes"], "mine");
    let labels = &adopted["metadata"]["labels"];
    assert_eq!(labels["team"], "stranger");
    assert_eq!(labels["app.kubernetes.io/managed-by"], MANAGER);
    assert!(owns(&adopted, MANAGER, &DATA_CONFIG));
    assert!(owns(&adopted, "kubectl-create", &["f:data", "f:notes"]));
    assert!(!owns(&adopted, "kubectl-create", &DATA_CONFIG));
    // The API server answered the operator's apply as an update of the existing object.
    let applies = eventually("the audit log shows the operator's apply", async || {
        let applies = writes_about(&cluster, "configmaps", CONFIG_MAP);
        (!applies.is_empty()).then_some(applies)
    })
    .await;
    assert!(
        applies
            .iter()
            .all(|request| *request == ("patch".to_owned(), 200)),
        "{applies:?}"
    );
    // today: no condition is set and no Event is posted; the operator issue makes a name
    // collision a Ready=False condition instead of an adoption

    finish(cluster, operator).await;
}
