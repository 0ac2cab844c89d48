//! Hostile and unusual manifests against a real API server, and what the operator does with each.
//! Each test starts its own control plane and the operator in-process as the chart's
//! ServiceAccount; refusals are read from the API server's audit log, where the operator's
//! server-side apply (`patch`, `fieldManager=ticketeer-operator`, `force=true`) is recorded with
//! the code, reason and message the server answered.
//!
//! A child the API server refuses for good (400, 403, 422) stops the reconcile at that child (the
//! children after it are left as they are) and is reported: `Ready=False` and `Degraded=True`
//! with reason `ChildRejected` quoting the server's message, one Warning Event, and retries with
//! the growing backoff. docs/operator.md has the same table for people running the operator.
//!
//! | Case | Manifest change | What the real API server answers | What the operator does |
//! |------|-----------------|----------------------------------|------------------------------|
//! | 1 | TicketBot `metadata.name: 1support` | TicketBot: accepted (a DNS-1123 subdomain). ServiceAccount `1support`, ConfigMap `1support-config`: applied. Service `1support`: **422** `Invalid`, `metadata.name: Invalid value: "1support": a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, …` | Refused at admission by the CRD's CEL rule on `metadata.name` (a DNS-1035 label of at most 63 characters): 422 naming the rule; nothing stored |
//! | 2 | TicketBot name of 64 characters | TicketBot: accepted (up to 253). The **first** child, the ServiceAccount (whose name may be 253 long), is refused: **422** `Invalid`, `metadata.labels: Invalid value: "<name>": must be no more than 63 characters`: the `app.kubernetes.io/instance` label every child carries. (The Service name would be refused too; it is never reached.) | Refused at admission by the same rule; a 63-character name gets all four children |
//! | 3 | `tokenSecretRef.key: discord token` | TicketBot: accepted (the schema bounds only the length). No Secret can hold that key (a Secret with it is refused with 422). ServiceAccount, ConfigMap, Service: applied. Deployment: **422** `Invalid`, `spec.template.spec.containers[0].env[0].valueFrom.secretKeyRef.key: Invalid value: "discord token": a valid config key must consist of alphanumeric characters, '-', '_' or '.'` | Refused at admission: `spec.tokenSecretRef.key` must match Secret keys' pattern (and `name` a Secret name's) |
//! | 4 | `resources.requests.cpu: lots` | TicketBot: **accepted**: the CRD schema's quantity is `x-kubernetes-int-or-string` with no pattern. Deployment: **500** with an empty reason (not 422: server-side apply fails converting the quantity before validation), `failed to convert new object (tickets/support; apps/v1, Kind=Deployment) to proper version: unable to convert unstructured object to apps/v1, Kind=Deployment: quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'` | Refused at admission: every quantity in `spec.resources` must match the Kubernetes quantity pattern |
//! | 5 | 46 TicketCategories, each with `createMessage`, `createdMessage` and `dmOnClose.message` of 2000 × 🎫 (within their own limits; the rendered `config.yaml` is ~1.07 MiB) | Every category: accepted. ServiceAccount: applied. ConfigMap `support-config`: **422** `Invalid`, `ConfigMap "support-config" is invalid: []: Too long: may not be more than 1048576 bytes` | Checked before any apply: `ConfigRendered=False` reason `ConfigTooLarge` (the size and what to do), one Warning Event; nothing applied, the previous config stays |
//! | 6a | `nodeSelector: {kubernetes.io/os: "not a value!"}` | Deployment: **422** `Invalid`, `spec.template.spec.nodeSelector: Invalid value: "not a value!": a valid label must be an empty string or consist of alphanumeric characters, …` | Refused at admission: `spec.nodeSelector` values must be label values |
//! | 6b | A toleration with `operator: Sometimes` | Deployment: **422** `Invalid`, `spec.template.spec.tolerations[0].operator: Unsupported value: "Sometimes": supported values: "Equal", "Exists"` | Stops at the Deployment: `ChildRejected`, one Warning Event, backoff |
//! | 6c | `image` with a trailing space, or a space inside | Deployment: **accepted** either way (a pod *template*'s image is not checked for whitespace). A Pod made from that template (as the ReplicaSet controller would make it): trailing space → **422** `spec.containers[0].image: Invalid value: "…": must not have leading or trailing whitespace`; inner space → accepted too (only the kubelet's pull would fail) | Refused at admission: `spec.image` may not contain whitespace |
//! | 7 | Another field manager changes a managed field: `kubectl apply --server-side --force-conflicts` of the ConfigMap's `config.yaml`; `kubectl edit` of a Deployment label | Both writes: **200**; the field's ownership moves to that manager. A later *non-forced* apply of the field by another manager: **409** `Conflict`, `Apply failed with 1 conflict: conflict with "ticketeer-operator": .data.config.yaml` | Its watch sees the change and it applies with force: takes both fields back (its `managedFields` own them again, the foreign values are gone) without a word |
//! | 8 | A ConfigMap `support-config` created by someone else before the TicketBot (or any object with a child's name that the TicketBot does not control, e.g. a Service `ticketeer` for a TicketBot `ticketeer`) | Would answer a forced apply with **200**: an update of the stranger's object, adopting it (a controller ownerReference, so garbage collection would delete it with the TicketBot) | Reads each child's name first: `Ready=False`/`Degraded=True` reason `NameConflict` naming the object, one Warning Event, nothing applied, backoff; once the object is gone the bot gets its own |
//! | 9 | `logLevel: ticketeer_bot=loud` (a filter the bot cannot parse), then `logLevel: debug`, then a new `discord.applicationId` | TicketBot: accepted each time (the schema bounds only the length) | The bad filter: `ConfigRendered=False` reason `InvalidConfig` naming `spec.logLevel`, one Warning Event; the ConfigMap and the pods stay as they were. The valid filter and the Discord setting are restart-only: each changes the pod template's hash, so the pods roll |
//! | 10 | A TicketCategory with one role twice in `roleIds`, or its `guildId` (@everyone) among them | Before: both stored (the list had no set semantics and no rule) | Refused at admission: `x-kubernetes-list-type: set` (create: **422** `Duplicate value`; server-side apply: **500** `.spec.roleIds: duplicate entries`) and a CEL rule naming the guild id; the bot's config loader refuses both as well |
//! | 12a | `discord.apiProxy` / `discord.gatewayUrl` on a running bot, the operator not started with `TICKETEER_ALLOW_DISCORD_OVERRIDES=true` | TicketBot: accepted | `ConfigRendered=False`/`Ready=False` reason `OverrideNotAllowed` naming the field and the setting; one Warning Event; no child written; with the setting the override is applied |
//! | 12b | `image:` from a repository other than the default image's, not in `TICKETEER_BOT_IMAGE_ALLOW` | TicketBot: accepted | `ImageNotAllowed` naming `spec.image`; one Warning Event; nothing applied; with its repository allowed the Deployment runs it |

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
use kube::Api;
use kube::api::{DynamicObject, Patch, PatchParams, PostParams};
use serde_json::{Value, json};
use ticketeer_operator::builders::{self, MANAGER};
use ticketeer_operator::controller::BOT_CONTROLLER;
use ticketeer_operator::crd::BOT_NAME_MESSAGE;

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
    (cluster, operator, refusal)
}

/// Asserts that the operator reports `refusal` (of a child of the TicketBot `bot`): `Ready=False`
/// and `Degraded=True`, both with reason `ChildRejected` and a message quoting the API server's,
/// and exactly one Warning Event, while it keeps retrying (with its backoff) and counting
/// `child_rejected` failures.
async fn assert_rejection_reported(
    cluster: &Cluster,
    operator: &Operator,
    bot: &str,
    resource: &str,
    child: &str,
    refusal: &Audited,
) {
    // The start of the API server's message (the condition's is bounded).
    let quoted: String = refusal.message().chars().take(200).collect();
    for (type_, status) in [("Ready", "False"), ("Degraded", "True")] {
        assert_bot_condition(cluster, bot, (type_, status, "ChildRejected"), &quoted).await;
    }
    eventually(
        &format!("the operator retries {resource} {child} several times"),
        async || {
            let refused = requests_about(cluster, resource, child)
                .iter()
                .filter(|(verb, code)| verb == "patch" && *code >= 400)
                .count();
            (refused >= 3 && operator.rejected_applies() >= 3).then_some(())
        },
    )
    .await;
    let events = warning_events(cluster, bot, "ChildRejected").await;
    assert_eq!(events.len(), 1, "{events:#?}");
    assert!(
        events[0]["series"].is_null(),
        "published once, not repeated: {events:#?}"
    );
    assert!(
        events[0]["note"]
            .as_str()
            .unwrap_or_default()
            .contains(&quoted),
        "{events:#?}"
    );
}

/// The Warning Events with `reason` about the TicketBot `bot`, once there is one.
async fn warning_events(cluster: &Cluster, bot: &str, reason: &str) -> Vec<Value> {
    eventually(&format!("a {reason} Event about {bot}"), async || {
        let events: Vec<Value> = cluster
            .list("events", NAMESPACE)
            .await
            .into_iter()
            .filter(|event| {
                event["regarding"]["kind"] == "TicketBot"
                    && event["regarding"]["name"] == bot
                    && event["reason"] == reason
                    && event["type"] == "Warning"
            })
            .collect();
        (!events.is_empty()).then_some(events)
    })
    .await
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

/// Asserts that the operator has written none of the example bot's children.
#[track_caller]
fn assert_no_child_applied(cluster: &Cluster) {
    for (resource, name) in [
        ("configmaps", CONFIG_MAP),
        ("serviceaccounts", BOT),
        ("services", BOT),
        ("deployments", BOT),
    ] {
        assert!(never_applied(cluster, resource, name), "{resource}");
    }
}

/// The operator's requests that write the object (it also reads its own ConfigMap, to keep a
/// category refused as invalid as the bot runs it).
fn writes_about(cluster: &Cluster, resource: &str, name: &str) -> Vec<(String, u16)> {
    requests_about(cluster, resource, name)
        .into_iter()
        .filter(|(verb, _)| verb != "get")
        .collect()
}

/// Asserts the bot's condition `(type, status, reason)`, once it has that type, and that its
/// message contains `fragment`.
async fn assert_bot_condition(
    cluster: &Cluster,
    bot: &str,
    (type_, wanted_status, wanted_reason): (&str, &str, &str),
    fragment: &str,
) {
    let (status, reason, message) = bot_condition_message(cluster, bot, type_).await;
    assert_eq!(
        (status.as_str(), reason.as_str()),
        (wanted_status, wanted_reason),
        "{type_}: {message}"
    );
    assert!(
        message.contains(fragment),
        "{message:?} contains {fragment:?}"
    );
}

/// `(status, reason)` of the bot's condition `type_`, once it has one.
async fn bot_condition(cluster: &Cluster, name: &str, type_: &str) -> (String, String) {
    let (status, reason, _) = bot_condition_message(cluster, name, type_).await;
    (status, reason)
}

/// `(status, reason, message)` of the bot's condition `type_`, once it has one.
async fn bot_condition_message(
    cluster: &Cluster,
    name: &str,
    type_: &str,
) -> (String, String, String) {
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
            Some((text("status"), text("reason"), text("message")))
        },
    )
    .await
}

/// Asserts that the API server refuses to store `object` (422 `Invalid`), its message containing
/// each of `fragments`, and that nothing of that name was stored.
async fn assert_refused_at_admission(cluster: &Cluster, object: Value, fragments: &[&str]) {
    let name = object["metadata"]["name"]
        .as_str()
        .expect("a name")
        .to_owned();
    let refused = cluster
        .try_put(&object)
        .await
        .expect_err("the API server refuses the TicketBot");
    let kube::Error::Api(status) = &refused else {
        panic!("not an API error: {refused:?}");
    };
    assert_eq!(
        (status.code, status.reason.as_str()),
        (422, "Invalid"),
        "{status:?}"
    );
    for fragment in fragments {
        assert!(
            status.message.contains(fragment),
            "the API server's message {:?} does not contain {fragment:?}",
            status.message
        );
    }
    assert!(cluster.get("ticketbots", NAMESPACE, &name).await.is_none());
}

#[tokio::test]
async fn case_1_a_bot_name_that_is_no_service_name_is_refused_at_admission() {
    let cluster = Cluster::start().await;
    // A DNS-1123 subdomain (what the TicketBot itself could be called) but no DNS-1035 label,
    // which its Service's name must be.
    for name in ["1support", "support.bots", "support-"] {
        assert_refused_at_admission(
            &cluster,
            named_bot(name),
            &[
                &format!("TicketBot.ticketeer.dev \"{name}\" is invalid"),
                BOT_NAME_MESSAGE,
            ],
        )
        .await;
    }
    cluster.plane.shutdown().await;
}

#[tokio::test]
async fn case_2_a_64_character_bot_name_is_refused_at_admission_and_63_are_served() {
    let (cluster, operator) = start_with_bot(bot_json()).await;
    let long = format!("support-{}", "x".repeat(56));
    assert_eq!(long.len(), 64);
    assert_refused_at_admission(&cluster, named_bot(&long), &[BOT_NAME_MESSAGE]).await;
    // The longest name allowed is one every child accepts: all four are applied.
    let longest = format!("support-{}", "x".repeat(55));
    cluster.put(named_bot(&longest)).await;
    for (plural, name) in [
        ("serviceaccounts", longest.clone()),
        ("configmaps", builders::config_map_name(&longest)),
        ("services", longest.clone()),
        ("deployments", longest.clone()),
    ] {
        exists(&cluster, plural, &name).await;
    }
    cluster.assert_operator_never_refused();
    finish(cluster, operator).await;
}

#[tokio::test]
async fn case_3_a_secret_reference_no_secret_can_match_is_refused_at_admission() {
    let cluster = Cluster::start().await;
    assert_refused_at_admission(
        &cluster,
        bot_json().set("/spec/tokenSecretRef/key", json!("discord token")),
        &["spec.tokenSecretRef.key: Invalid value: \"discord token\""],
    )
    .await;
    assert_refused_at_admission(
        &cluster,
        bot_json().set("/spec/databaseSecretRef/name", json!("Ticketeer_DB")),
        &["spec.databaseSecretRef.name: Invalid value: \"Ticketeer_DB\""],
    )
    .await;
    // No Secret can hold such a key either, so the reference could never be satisfied.
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
    cluster.plane.shutdown().await;
}

#[tokio::test]
async fn case_4_an_invalid_cpu_quantity_is_refused_at_admission() {
    let cluster = Cluster::start().await;
    assert_refused_at_admission(
        &cluster,
        bot_json().set("/spec/resources/requests/cpu", json!("lots")),
        &["spec.resources.requests.cpu: Invalid value: \"lots\""],
    )
    .await;
    assert_refused_at_admission(
        &cluster,
        bot_json().set("/spec/resources/limits/memory", json!("128 Mi")),
        &["spec.resources.limits.memory: Invalid value: \"128 Mi\""],
    )
    .await;
    // Quantities as Kubernetes writes them, strings and integers, are stored.
    cluster
        .put(
            bot_json()
                .set("/spec/resources/requests/cpu", json!("1.5"))
                .set("/spec/resources/limits/cpu", json!(2))
                .set("/spec/resources/limits/memory", json!("1e9")),
        )
        .await;
    cluster.plane.shutdown().await;
}

#[tokio::test]
async fn case_5_a_rendered_config_over_one_mebibyte_is_reported_before_any_apply() {
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
    // its 3 MiB request limit), and refuse to build a ConfigMap from it.
    let typed: Vec<_> = categories.iter().cloned().map(fixtures::category).collect();
    let bot = fixtures::bot(bot_json());
    let config = builders::render_config(&bot, &typed).expect("the config renders");
    assert_eq!(config.categories.len(), 46, "every category is accepted");
    let yaml = config.to_yaml().expect("the config renders as YAML");
    assert!(
        (1_048_577..3_000_000).contains(&yaml.len()),
        "{} bytes",
        yaml.len()
    );
    let refused = builders::config_map(&bot, &config).expect_err("too large for a ConfigMap");
    assert!(
        refused.to_string().contains("more than a ConfigMap holds"),
        "{refused}"
    );

    let cluster = Cluster::start().await;
    // The API server would refuse such a ConfigMap: the check stands in for its limit.
    let too_long = cluster
        .try_put(&json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "too-long", "namespace": NAMESPACE},
            "data": {"config.yaml": yaml},
        }))
        .await
        .expect_err("the API server refuses more than 1 MiB");
    assert!(
        matches!(&too_long, kube::Error::Api(status) if status.code == 422
            && status.message.contains("Too long: may not be more than 1048576 bytes")),
        "{too_long:?}"
    );
    for secret in secrets_json() {
        cluster.put(secret).await;
    }
    cluster.put(bot_json()).await;
    for category in categories {
        // Each category is within its own limits, so the API server stores it.
        cluster.put(category).await;
    }
    let operator = Operator::start(&cluster).await;
    assert_bot_condition(
        &cluster,
        BOT,
        ("ConfigRendered", "False", "ConfigTooLarge"),
        "more than a ConfigMap holds (1048576 bytes)",
    )
    .await;
    assert_eq!(
        bot_condition(&cluster, BOT, "Ready").await.1,
        "ConfigTooLarge"
    );
    assert_eq!(
        warning_events(&cluster, BOT, "ConfigTooLarge").await.len(),
        1
    );
    // Nothing was applied from the oversized config; the bot's other children were not
    // touched either, because the children are built together before any is applied.
    assert_no_child_applied(&cluster);
    finish(cluster, operator).await;
}

#[tokio::test]
async fn case_6a_an_invalid_node_selector_value_is_refused_at_admission() {
    let cluster = Cluster::start().await;
    assert_refused_at_admission(
        &cluster,
        bot_json().set(
            "/spec/nodeSelector",
            json!({"kubernetes.io/os": "not a value!"}),
        ),
        &["spec.nodeSelector.kubernetes.io/os: Invalid value: \"not a value!\""],
    )
    .await;
    cluster.plane.shutdown().await;
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
    assert_rejection_reported(&cluster, &operator, BOT, "deployments", BOT, &refusal).await;
    finish(cluster, operator).await;
}

#[tokio::test]
async fn case_6c_an_image_with_a_space_is_refused_at_admission() {
    let cluster = Cluster::start().await;
    // A Pod with a trailing space in its image is refused, one with a space inside would fail
    // only at the kubelet's pull; the Deployment's pod template is checked for neither, so the
    // TicketBot's schema refuses both.
    for image in [
        "ghcr.io/ticketeer/ticketeer:0.1.0 ",
        "ghcr.io/ticketeer/ticketeer 0.1.0",
    ] {
        assert_refused_at_admission(
            &cluster,
            bot_json().set("/spec/image", json!(image)),
            &[&format!("spec.image: Invalid value: \"{image}\"")],
        )
        .await;
    }
    cluster.plane.shutdown().await;
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
async fn case_8_a_pre_existing_config_map_of_the_same_name_is_a_name_conflict_and_left_alone() {
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
    let before = exists(&cluster, "configmaps", CONFIG_MAP).await;
    cluster.put(bot_json()).await;
    let operator = Operator::start(&cluster).await;

    assert_bot_condition(
        &cluster,
        BOT,
        ("Ready", "False", "NameConflict"),
        "ConfigMap tickets/support-config already exists and does not belong to TicketBot support",
    )
    .await;
    assert_eq!(
        bot_condition(&cluster, BOT, "Degraded").await,
        ("True".to_owned(), "NameConflict".to_owned())
    );
    eventually("the operator retries, with its backoff", async || {
        (operator.metrics.failures(BOT_CONTROLLER, "name_conflict") >= 3).then_some(())
    })
    .await;
    assert_eq!(warning_events(&cluster, BOT, "NameConflict").await.len(), 1);
    // The stranger's ConfigMap is exactly as it was, and nothing was applied next to it.
    let after = exists(&cluster, "configmaps", CONFIG_MAP).await;
    assert_eq!(
        after["metadata"]["resourceVersion"],
        before["metadata"]["resourceVersion"]
    );
    assert!(after["metadata"]["ownerReferences"].is_null(), "{after}");
    assert_no_child_applied(&cluster);

    // Once the stranger's object is gone, the bot gets its own.
    cluster.delete("configmaps", NAMESPACE, CONFIG_MAP).await;
    let ours = eventually("the operator creates its own ConfigMap", async || {
        let config_map = cluster.get("configmaps", NAMESPACE, CONFIG_MAP).await?;
        owns(&config_map, MANAGER, &DATA_CONFIG).then_some(config_map)
    })
    .await;
    assert!(ours["data"]["notes"].is_null(), "{ours}");
    exists(&cluster, "deployments", BOT).await;
    // The status is written after the children are applied.
    eventually("the conflict to be cleared in the status", async || {
        (bot_condition(&cluster, BOT, "Degraded").await.0 == "False").then_some(())
    })
    .await;
    cluster.assert_operator_never_refused();
    finish(cluster, operator).await;
}

#[tokio::test]
async fn case_8b_a_bot_named_like_an_existing_service_is_a_name_conflict() {
    // E.g. a TicketBot `ticketeer` next to the operator's own Service of that name.
    let cluster = Cluster::start().await;
    let service = cluster
        .put(json!({
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "ticketeer", "namespace": NAMESPACE},
            "spec": {"ports": [{"name": "http", "port": 8080}]},
        }))
        .await;
    for secret in secrets_json() {
        cluster.put(secret).await;
    }
    cluster.put(named_bot("ticketeer")).await;
    let operator = Operator::start(&cluster).await;
    assert_eq!(
        bot_condition(&cluster, "ticketeer", "Ready").await,
        ("False".to_owned(), "NameConflict".to_owned())
    );
    let after = exists(&cluster, "services", "ticketeer").await;
    assert_eq!(
        after["metadata"]["resourceVersion"],
        service["metadata"]["resourceVersion"]
    );
    assert!(never_applied(&cluster, "services", "ticketeer"));
    finish(cluster, operator).await;
}

/// The bot Deployment's pod-inputs hash and resourceVersion, once it exists.
async fn pod_hash(cluster: &Cluster) -> (String, String) {
    let deployment = exists(cluster, "deployments", BOT).await;
    let hash = deployment["spec"]["template"]["metadata"]["annotations"]
        [builders::POD_INPUTS_HASH_ANNOTATION]
        .as_str()
        .expect("the pod template has the hash")
        .to_owned();
    let version = deployment["metadata"]["resourceVersion"]
        .as_str()
        .expect("a resourceVersion")
        .to_owned();
    (hash, version)
}

#[tokio::test]
async fn case_9_a_log_filter_the_bot_cannot_parse_keeps_the_pods_and_a_valid_one_rolls_them() {
    let (cluster, operator) = start_with_bot(bot_json()).await;
    let (original, version) = pod_hash(&cluster).await;
    let config_before = exists(&cluster, "configmaps", CONFIG_MAP).await["data"].clone();

    // Accepted by the schema (any 1–512 characters), but no level is called "loud": the bot
    // would refuse to start.
    cluster
        .put(bot_json().set("/spec/logLevel", json!("ticketeer_bot=loud")))
        .await;
    let message = eventually("ConfigRendered turns False", async || {
        let bot = cluster.get("ticketbots", NAMESPACE, BOT).await?;
        let condition = bot["status"]["conditions"]
            .as_array()?
            .iter()
            .find(|condition| {
                condition["type"] == "ConfigRendered" && condition["status"] == "False"
            })?
            .clone();
        Some((condition["reason"].clone(), condition["message"].clone()))
    })
    .await;
    assert_eq!(message.0, "InvalidConfig");
    assert!(
        message
            .1
            .as_str()
            .unwrap_or_default()
            .contains(r#"spec.logLevel "ticketeer_bot=loud" is not a valid log filter"#),
        "{message:?}"
    );
    // Nothing changed for the running bot: the same pods, the same config.
    assert_eq!(pod_hash(&cluster).await, (original.clone(), version));
    assert_eq!(
        exists(&cluster, "configmaps", CONFIG_MAP).await["data"],
        config_before
    );

    // A valid filter is a restart-only setting: the bot reads it once, so the pods roll.
    cluster
        .put(bot_json().set("/spec/logLevel", json!("debug")))
        .await;
    let rolled = eventually("the pod template's hash changes", async || {
        let (hash, _) = pod_hash(&cluster).await;
        (hash != original).then_some(hash)
    })
    .await;
    // And so does a Discord setting.
    cluster
        .put(
            bot_json()
                .set("/spec/logLevel", json!("debug"))
                .set("/spec/discord/applicationId", json!("1090000000000000002")),
        )
        .await;
    eventually("the pod template's hash changes again", async || {
        let (hash, _) = pod_hash(&cluster).await;
        (hash != rolled && hash != original).then_some(())
    })
    .await;
    cluster.assert_operator_never_refused();
    finish(cluster, operator).await;
}

/// Case 10: the roles of a category are a set, and never the guild id (the @everyone role, which
/// would open every ticket to every member). The API server answers a plain create (`kubectl
/// create`/`apply`) with 422 for both; a server-side apply of duplicates fails earlier, with a 500
/// that still names the field.
#[tokio::test]
async fn case_10_a_role_named_twice_or_the_guild_id_as_a_role_is_refused_at_admission() {
    let cluster = Cluster::start().await;
    let categories: Api<DynamicObject> = Api::namespaced_with(
        cluster.admin.clone(),
        NAMESPACE,
        &api_resource("ticketcategories"),
    );
    let guild = category_json("general", BOT)["spec"]["guildId"].clone();
    let role = json!("1090000000000000200");
    for (name, roles, fragment) in [
        ("twice", json!([role, role]), "Duplicate value"),
        (
            "everyone",
            json!([role, guild]),
            ticketeer_operator::crd::ROLE_IDS_MESSAGE,
        ),
    ] {
        let category: DynamicObject =
            serde_json::from_value(category_json(name, BOT).set("/spec/roleIds", roles))
                .expect("a TicketCategory");
        let refused = categories
            .create(&PostParams::default(), &category)
            .await
            .expect_err("the API server refuses the TicketCategory");
        let kube::Error::Api(status) = &refused else {
            panic!("not an API error: {refused:?}");
        };
        assert_eq!(
            (status.code, status.reason.as_str()),
            (422, "Invalid"),
            "{name}: {status:?}"
        );
        assert!(
            status.message.contains(fragment),
            "{name}: {:?} does not contain {fragment:?}",
            status.message
        );
        assert!(
            cluster
                .get("ticketcategories", NAMESPACE, name)
                .await
                .is_none()
        );
    }
    let applied_twice =
        category_json("applied-twice", BOT).set("/spec/roleIds", json!([role, role]));
    let refused = cluster
        .try_put(&applied_twice)
        .await
        .expect_err("a server-side apply of duplicates is refused");
    assert!(
        refused
            .to_string()
            .contains(".spec.roleIds: duplicate entries"),
        "{refused}"
    );
    let distinct =
        category_json("distinct", BOT).set("/spec/roleIds", json!([role, "1090000000000000201"]));
    cluster
        .try_put(&distinct)
        .await
        .expect("distinct roles are stored");
    cluster.plane.shutdown().await;
}

/// The operator's writes to the example bot's children so far.
fn child_writes(cluster: &Cluster) -> Vec<(String, u16)> {
    [
        ("configmaps", CONFIG_MAP),
        ("serviceaccounts", BOT),
        ("services", BOT),
        ("deployments", BOT),
    ]
    .into_iter()
    .flat_map(|(resource, name)| writes_about(cluster, resource, name))
    .collect()
}

/// Waits until the bot's `ConfigRendered` condition describes its current generation with
/// `reason`; returns the condition's message.
async fn rendered_for_generation(cluster: &Cluster, reason: &str) -> String {
    eventually(
        &format!("ConfigRendered {reason} for the current spec"),
        async || {
            let bot = cluster.get("ticketbots", NAMESPACE, BOT).await?;
            let current = bot["metadata"]["generation"].clone();
            (bot["status"]["observedGeneration"] == current).then_some(())?;
            let condition = bot["status"]["conditions"]
                .as_array()?
                .iter()
                .find(|condition| condition["type"] == "ConfigRendered")?
                .clone();
            (condition["reason"] == reason)
                .then(|| condition["message"].as_str().unwrap_or_default().to_owned())
        },
    )
    .await
}

/// Case 12a: `spec.discord.apiProxy` / `gatewayUrl` would send the bot token to any address, even
/// over plain HTTP. Without `TICKETEER_ALLOW_DISCORD_OVERRIDES=true` a running bot edited to use
/// one is refused, naming the field, and keeps its children as they are; an operator started to
/// allow them applies the override.
#[tokio::test]
async fn case_12a_a_discord_override_is_refused_unless_the_operator_allows_it() {
    let (cluster, operator) = start_with_bot(bot_json()).await;
    rendered_for_generation(&cluster, "ConfigRendered").await;
    let config_before = exists(&cluster, "configmaps", CONFIG_MAP).await["data"].clone();
    let (hash_before, _) = pod_hash(&cluster).await;

    // Once the first refusal shows, every later reconcile sees a refused spec: the second edit's
    // reconcile must write nothing.
    let mut writes_after_first_refusal = None;
    for (pointer, value, field) in [
        (
            "/spec/discord/apiProxy",
            "attacker.example.com:80",
            "spec.discord.apiProxy",
        ),
        (
            "/spec/discord/gatewayUrl",
            "ws://attacker.example.com/gateway",
            "spec.discord.gatewayUrl",
        ),
    ] {
        cluster.put(bot_json().set(pointer, json!(value))).await;
        let message = rendered_for_generation(&cluster, "OverrideNotAllowed").await;
        assert!(message.starts_with(field), "{message}");
        assert!(
            message.contains("TICKETEER_ALLOW_DISCORD_OVERRIDES=true"),
            "{message}"
        );
        assert_eq!(
            bot_condition(&cluster, BOT, "Ready").await,
            ("False".to_owned(), "OverrideNotAllowed".to_owned())
        );
        let writes = child_writes(&cluster);
        if let Some(earlier) = &writes_after_first_refusal {
            assert_eq!(&writes, earlier, "a refused spec wrote a child ({field})");
        }
        writes_after_first_refusal = Some(writes);
        // The running bot keeps its config and pods.
        assert_eq!(
            exists(&cluster, "configmaps", CONFIG_MAP).await["data"],
            config_before
        );
        assert_eq!(pod_hash(&cluster).await.0, hash_before);
    }
    assert_eq!(
        warning_events(&cluster, BOT, "OverrideNotAllowed")
            .await
            .len(),
        1
    );
    operator.shut_down().await;

    let operator = Operator::start_with(&cluster, |settings| {
        settings.policy.allow_discord_overrides = true;
    })
    .await;
    rendered_for_generation(&cluster, "ConfigRendered").await;
    let config = exists(&cluster, "configmaps", CONFIG_MAP).await["data"]["config.yaml"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        config.contains("ws://attacker.example.com/gateway"),
        "{config}"
    );
    cluster.assert_operator_never_refused();
    finish(cluster, operator).await;
}

/// Case 12b: any `spec.image` would run with the bot token in its environment. One from a
/// repository other than the default image's is refused, naming `spec.image`, before anything is
/// applied, unless `TICKETEER_BOT_IMAGE_ALLOW` lists its repository.
#[tokio::test]
async fn case_12b_an_image_from_another_repository_is_refused_unless_allowed() {
    let image = "registry.example.com/someone/ticketeer:1.0";
    let (cluster, operator) = start_with_bot(bot_json().set("/spec/image", json!(image))).await;
    let message = rendered_for_generation(&cluster, "ImageNotAllowed").await;
    assert!(
        message.starts_with(&format!("spec.image {image:?}")),
        "{message}"
    );
    assert!(message.contains("TICKETEER_BOT_IMAGE_ALLOW"), "{message}");
    assert_eq!(
        bot_condition(&cluster, BOT, "Ready").await,
        ("False".to_owned(), "ImageNotAllowed".to_owned())
    );
    assert_eq!(
        warning_events(&cluster, BOT, "ImageNotAllowed").await.len(),
        1
    );
    assert_no_child_applied(&cluster);
    operator.shut_down().await;

    let operator = Operator::start_with(&cluster, |settings| {
        settings.policy.allowed_image_prefixes = vec!["registry.example.com/someone".to_owned()];
    })
    .await;
    rendered_for_generation(&cluster, "ConfigRendered").await;
    let deployment = exists(&cluster, "deployments", BOT).await;
    assert_eq!(
        deployment["spec"]["template"]["spec"]["containers"][0]["image"],
        image
    );
    cluster.assert_operator_never_refused();
    finish(cluster, operator).await;
}

/// A Discord-shaped token for the bot user `id`: its first segment is the id in base64, the rest
/// differs per `variant` (a reset token of the same bot, or a copy).
fn discord_token(id: &str, variant: &str) -> String {
    use base64::Engine as _;
    let first = base64::engine::general_purpose::STANDARD_NO_PAD.encode(id);
    format!("{first}.{variant}.signature-part-of-the-token")
}

/// Case 13: two TicketBots whose tokens name the same Discord bot would run it twice, and each
/// would delete the other's panels as categories it does not know. The older keeps it; the newer
/// is refused, naming the TicketBot that runs the bot, and nothing of it is applied. (Both may be
/// created in the same second; the name breaks the tie, and `support` sorts first.)
#[tokio::test]
async fn case_13_a_second_ticketbot_on_a_discord_bot_another_runs_is_refused() {
    const SECOND: &str = "support-copy";
    let cluster = Cluster::start().await;
    let [mut token, database] = secrets_json();
    token["data"] = json!({});
    token["stringData"] = json!({"token": discord_token("123456789012345678", "first")});
    cluster.put(token).await;
    cluster.put(database).await;
    cluster.put(bot_json()).await;
    let operator = Operator::start(&cluster).await;
    rendered_for_generation(&cluster, "ConfigRendered").await;

    cluster
        .put(json!({
            "apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "second-token", "namespace": NAMESPACE},
            "stringData": {"token": discord_token("123456789012345678", "reset")},
        }))
        .await;
    cluster
        .put(named_bot(SECOND).set("/spec/tokenSecretRef/name", json!("second-token")))
        .await;
    let message = eventually(
        "the second TicketBot is refused as TokenInUse",
        async || {
            let (status, reason, message) =
                bot_condition_message(&cluster, SECOND, "ConfigRendered").await;
            (status == "False" && reason == "TokenInUse").then_some(message)
        },
    )
    .await;
    assert!(
        message.contains("spec.tokenSecretRef")
            && message.contains("123456789012345678")
            && message.contains(&format!("{NAMESPACE}/{BOT}")),
        "{message}"
    );
    assert_eq!(
        warning_events(&cluster, SECOND, "TokenInUse").await.len(),
        1
    );
    assert!(
        cluster
            .get("configmaps", NAMESPACE, &builders::config_map_name(SECOND))
            .await
            .is_none(),
        "nothing of the refused TicketBot is applied"
    );
    // The first keeps running its bot.
    assert_eq!(
        bot_condition(&cluster, BOT, "ConfigRendered").await,
        ("True".to_owned(), "ConfigRendered".to_owned())
    );
    finish(cluster, operator).await;
}
