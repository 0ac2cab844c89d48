//! The Helm chart as a cluster would receive it: `helm lint` is clean, `helm template` output passes
//! `kubernetes-validate --strict`, and the rendered objects hold what the chart promises (RBAC equal
//! to [`RULES`], secure containers, probes, leader election, CRD identity, the PrivateBin option).
//!
//! Needs Helm and kubernetes-validate: `./scripts/test` installs both and exports `HELM` and
//! `KUBERNETES_VALIDATE`; without them these tests fail saying how to install them.

use std::collections::BTreeSet;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;
use ticketeer_operator::policy::{ALLOW_DISCORD_OVERRIDES_ENV, BOT_IMAGE_ALLOW_ENV};
use ticketeer_operator::rbac::{Objects, RULES};
use ticketeer_testkit::tools;

/// The release namespace every render uses.
const RELEASE_NAMESPACE: &str = "ticketeer";
/// The oldest Kubernetes the chart supports (Chart.yaml `kubeVersion`), which is the one the
/// operator is built against (the k8s-openapi feature); renders are validated against it and the
/// newest the validator knows.
const KUBERNETES_VERSIONS: [&str; 2] = ["1.33.0", "1.35.0"];

fn repository_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn chart_dir() -> PathBuf {
    repository_root().join("charts/ticketeer")
}

fn everything_values() -> String {
    chart_dir()
        .join("ci/everything-values.yaml")
        .display()
        .to_string()
}

/// Runs a command, failing the test with its output when it does not succeed.
#[track_caller]
fn run(command: &mut Command, input: Option<&str>) -> String {
    let description = format!("{command:?}");
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|error| panic!("starting {description}: {error}"));
    if let Some(input) = input
        && let Some(mut stdin) = child.stdin.take()
    {
        stdin
            .write_all(input.as_bytes())
            .unwrap_or_else(|error| panic!("writing to {description}: {error}"));
    }
    drop(child.stdin.take());
    let output = child
        .wait_with_output()
        .unwrap_or_else(|error| panic!("running {description}: {error}"));
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{description} failed ({}):\nstdout:\n{stdout}\nstderr:\n{stderr}",
        output.status
    );
    stdout
}

fn helm_template_command(chart: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(tools::helm());
    command
        .args(["template", "ticketeer"])
        .arg(chart)
        .args(["--namespace", RELEASE_NAMESPACE, "--kube-version", "1.33.0"])
        .args(args);
    command
}

/// `helm template` of the chart with extra arguments, as YAML text.
#[track_caller]
fn render_text(args: &[&str]) -> String {
    run(&mut helm_template_command(&chart_dir(), args), None)
}

/// `helm template` of the chart with extra arguments, as one JSON value per object.
#[track_caller]
fn render(args: &[&str]) -> Vec<Value> {
    parse_documents(&render_text(args))
}

#[track_caller]
fn parse_documents(text: &str) -> Vec<Value> {
    let documents: Vec<Value> = serde_saphyr::from_multiple(text)
        .unwrap_or_else(|error| panic!("parsing helm output: {error}\n{text}"));
    documents
        .into_iter()
        .filter(|document| !document.is_null())
        .collect()
}

fn of_kind<'a>(objects: &'a [Value], kind: &str) -> Vec<&'a Value> {
    objects
        .iter()
        .filter(|object| object["kind"] == kind)
        .collect()
}

#[track_caller]
fn one<'a>(objects: &'a [Value], kind: &str, name: &str) -> &'a Value {
    let found: Vec<&Value> = of_kind(objects, kind)
        .into_iter()
        .filter(|object| object["metadata"]["name"] == name)
        .collect();
    assert_eq!(
        found.len(),
        1,
        "expected one {kind} {name}, found {found:?}"
    );
    found[0]
}

fn operator_deployment(objects: &[Value]) -> &Value {
    one(objects, "Deployment", "ticketeer")
}

#[track_caller]
fn container<'a>(deployment: &'a Value, name: &str) -> &'a Value {
    deployment["spec"]["template"]["spec"]["containers"]
        .as_array()
        .and_then(|containers| containers.iter().find(|c| c["name"] == name))
        .unwrap_or_else(|| panic!("no container {name} in {deployment}"))
}

/// The value of a plain environment variable (`None` when unset or taken from elsewhere).
fn env_value<'a>(container: &'a Value, name: &str) -> Option<&'a str> {
    container["env"]
        .as_array()?
        .iter()
        .find(|variable| variable["name"] == name)?["value"]
        .as_str()
}

/// The `fieldPath` an environment variable is taken from via the downward API.
fn env_field_path<'a>(container: &'a Value, name: &str) -> Option<&'a str> {
    container["env"]
        .as_array()?
        .iter()
        .find(|variable| variable["name"] == name)?["valueFrom"]["fieldRef"]["fieldPath"]
        .as_str()
}

/// One permission: API group, resource, verb, and the one object name it is restricted to.
type Permission = (String, String, String, Option<String>);

/// The name the chart gives the objects of [`Objects::Configured`] rules: the release's full
/// name (the Lease).
const CONFIGURED_NAME: &str = "ticketeer";

fn expected_permissions(with_leases: bool) -> BTreeSet<Permission> {
    RULES
        .iter()
        .filter(|rule| with_leases || rule.api_group != "coordination.k8s.io")
        .flat_map(|rule| {
            let name = match rule.objects {
                Objects::Any => None,
                Objects::Configured => Some(CONFIGURED_NAME.to_owned()),
            };
            rule.resources.iter().flat_map(move |resource| {
                let name = name.clone();
                rule.verbs.iter().map(move |verb| {
                    (
                        rule.api_group.to_owned(),
                        (*resource).to_owned(),
                        (*verb).to_owned(),
                        name.clone(),
                    )
                })
            })
        })
        .collect()
}

#[track_caller]
fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .unwrap_or_else(|| panic!("expected a list of strings, got {value}"))
        .iter()
        .map(|item| {
            item.as_str()
                .unwrap_or_else(|| panic!("expected a string, got {item}"))
                .to_owned()
        })
        .collect()
}

/// Every permission a (Cluster)Role grants, failing on wildcards, non-resource URLs, and
/// resource names that do not name exactly one object (as the operator's rules do) or that come
/// with a verb Kubernetes cannot restrict by name (which would then grant nothing).
#[track_caller]
fn granted_permissions(role: &Value) -> BTreeSet<Permission> {
    let mut granted = BTreeSet::new();
    for rule in role["rules"].as_array().into_iter().flatten() {
        assert!(
            rule.get("nonResourceURLs").is_none(),
            "unexpected rule shape: {rule}"
        );
        let name = rule.get("resourceNames").map(|names| {
            let names = strings(names);
            assert_eq!(names.len(), 1, "one resource name in {rule}");
            names[0].clone()
        });
        for group in strings(&rule["apiGroups"]) {
            for resource in strings(&rule["resources"]) {
                for verb in strings(&rule["verbs"]) {
                    assert!(
                        ![&group, &resource, &verb].contains(&&"*".to_owned()),
                        "wildcard in {rule}"
                    );
                    assert!(
                        name.is_none() || !["create", "list", "watch"].contains(&verb.as_str()),
                        "{verb} cannot be restricted by resourceNames: {rule}"
                    );
                    granted.insert((group.clone(), resource.clone(), verb, name.clone()));
                }
            }
        }
    }
    granted
}

/// Fails naming the permissions granted beyond `expected` and those missing from it.
#[track_caller]
fn assert_grants_exactly(
    granted: &BTreeSet<Permission>,
    expected: &BTreeSet<Permission>,
    context: &str,
) {
    let extra: Vec<_> = granted.difference(expected).collect();
    let missing: Vec<_> = expected.difference(granted).collect();
    assert!(
        extra.is_empty() && missing.is_empty(),
        "{context}: the chart grants more than operator/src/rbac.rs: {extra:?}; \
         and lacks: {missing:?}"
    );
}

/// Every permission the chart's operator roles grant (not the aggregated roles for people).
fn all_granted_permissions(objects: &[Value]) -> BTreeSet<Permission> {
    of_kind(objects, "ClusterRole")
        .into_iter()
        .chain(of_kind(objects, "Role"))
        .filter(|role| !is_aggregated(role))
        .flat_map(granted_permissions)
        .collect()
}

/// Whether `role` is one of the ClusterRoles aggregated into the built-in user-facing roles.
fn is_aggregated(role: &Value) -> bool {
    role["metadata"]["labels"]
        .as_object()
        .is_some_and(|labels| {
            labels
                .keys()
                .any(|key| key.starts_with("rbac.authorization.k8s.io/aggregate-to-"))
        })
}

#[track_caller]
fn assert_bound_to_operator_service_account(objects: &[Value], kind: &str, role_name: &str) {
    let binding = one(objects, &format!("{kind}Binding"), role_name);
    assert_eq!(binding["roleRef"]["kind"], kind);
    assert_eq!(binding["roleRef"]["name"], role_name);
    assert_eq!(
        binding["subjects"],
        serde_json::json!([{
            "kind": "ServiceAccount",
            "name": "ticketeer",
            "namespace": RELEASE_NAMESPACE,
        }])
    );
}

// ----- lint and validation -------------------------------------------------------------------

#[test]
fn the_chart_lints_clean_with_default_values_and_with_every_option() {
    let helm = tools::helm();
    let everything = everything_values();
    for extra in [
        vec![],
        vec!["--values", everything.as_str()],
        vec!["--set", "watch.scope=namespace"],
    ] {
        let output = run(
            Command::new(&helm)
                .args(["lint", "--strict", "--namespace", RELEASE_NAMESPACE])
                .arg(chart_dir())
                .args(&extra),
            None,
        );
        assert!(output.contains("0 chart(s) failed"), "{output}");
        assert!(
            !output.contains("[WARNING]") && !output.contains("[ERROR]"),
            "{output}"
        );
    }
}

#[test]
fn default_and_all_options_renders_pass_strict_kubernetes_validation() {
    let validator = tools::kubernetes_validate();
    let everything = everything_values();
    for args in [
        vec![],
        vec!["--values", everything.as_str()],
        vec![
            "--values",
            everything.as_str(),
            "--set",
            "watch.scope=namespace,watch.namespace=tickets",
        ],
    ] {
        let manifests = render_text(&args);
        for version in KUBERNETES_VERSIONS {
            let report = run(
                Command::new(&validator).args(["--strict", "--kubernetes-version", version, "-"]),
                Some(&manifests),
            );
            // Only the ServiceMonitor (a Prometheus Operator CRD) has no schema to check against.
            for line in report.lines().filter(|line| !line.starts_with("INFO")) {
                assert!(
                    line.contains("kind ServiceMonitor"),
                    "kubernetes-validate {version} for {args:?}: {line}"
                );
            }
        }
    }
}

#[test]
fn the_values_schema_rejects_unknown_keys_and_wrong_types() {
    for bad in [
        "replicasCount=2",
        "replicaCount=two",
        "privatebin.persistance.enabled=true",
        "crds.enabled=yes-please",
        "watch.scope=everywhere",
        "image.pullPolicy=Sometimes",
        "operator.allowDiscordOverrides=yes",
        "operator.reconcileConcurrency=-1",
        "operator.driftRepairSeconds=0",
        "botImages.allowed={a b}",
    ] {
        let output = helm_template_command(&chart_dir(), &["--set", bad])
            .output()
            .unwrap_or_else(|error| panic!("running helm: {error}"));
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "--set {bad} was accepted");
        assert!(
            stderr.contains("values don't meet the specifications of the schema"),
            "--set {bad}: {stderr}"
        );
    }
}

/// A values file the chart must refuse, and the value its refusal must name (as Helm writes the
/// path, `tolerations.0.operator`).
const BAD_VALUES: &[(&str, &str)] = &[
    (
        "resources:\n  requests:\n    cpu: lots\n",
        "resources.requests.cpu",
    ),
    (
        "privatebin:\n  resources:\n    limits:\n      memory: 128 Mi\n",
        "privatebin.resources.limits.memory",
    ),
    (
        "privatebin:\n  persistence:\n    size: big\n",
        "privatebin.persistence.size",
    ),
    (
        "watch:\n  scope: namespace\n  namespace: Team_A\n",
        "watch.namespace",
    ),
    (
        "podDisruptionBudget:\n  minAvailable: half\n",
        "podDisruptionBudget.minAvailable",
    ),
    (
        "podDisruptionBudget:\n  maxUnavailable: 150%\n",
        "podDisruptionBudget.maxUnavailable",
    ),
    (
        "nodeSelector:\n  disk: \"not a value!\"\n",
        "nodeSelector.disk",
    ),
    ("nodeSelector:\n  zone: 3\n", "nodeSelector.zone"),
    (
        "tolerations:\n  - key: dedicated\n    operator: Sometimes\n",
        "tolerations.0.operator",
    ),
    ("tolerations:\n  - keys: dedicated\n", "tolerations.0"),
    ("affinity:\n  nodeAfinity: {}\n", "affinity"),
    (
        "affinity:\n  podAntiAffinity:\n    requiredDuringSchedulingIgnoredDuringExecution:\n      - labelSelector: {}\n",
        "affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution.0",
    ),
    (
        "securityContext:\n  privileged: \"yes\"\n",
        "securityContext.privileged",
    ),
    ("securityContext:\n  runAsRoot: true\n", "securityContext"),
    (
        "podSecurityContext:\n  seccompProfile:\n    type: Anything\n",
        "podSecurityContext.seccompProfile.type",
    ),
    (
        "topologySpreadConstraints:\n  - maxSkew: 0\n    topologyKey: zone\n    whenUnsatisfiable: DoNotSchedule\n",
        "topologySpreadConstraints.0.maxSkew",
    ),
    (
        "networkPolicy:\n  metricsFrom:\n    - podSelectors: {}\n",
        "networkPolicy.metricsFrom.0",
    ),
];

#[test]
fn values_of_the_wrong_kubernetes_shape_are_refused_naming_the_value() {
    let dir = std::env::temp_dir().join(format!(
        "ticketeer-chart-bad-values-{}-{:08x}",
        std::process::id(),
        rand::random::<u32>()
    ));
    std::fs::create_dir_all(&dir).unwrap_or_else(|error| panic!("creating {dir:?}: {error}"));
    for (index, (values, path)) in BAD_VALUES.iter().enumerate() {
        let file = dir.join(format!("bad-{index}.yaml"));
        write(&file, values.as_bytes());
        let file = file.display().to_string();
        let template = helm_template_command(&chart_dir(), &["--values", &file])
            .output()
            .unwrap_or_else(|error| panic!("running helm: {error}"));
        let lint = Command::new(tools::helm())
            .args(["lint", "--strict", "--namespace", RELEASE_NAMESPACE])
            .arg(chart_dir())
            .args(["--values", &file])
            .output()
            .unwrap_or_else(|error| panic!("running helm: {error}"));
        for (command, output) in [("helm template", template), ("helm lint", lint)] {
            let said = format!(
                "{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
            assert!(!output.status.success(), "{command} accepted:\n{values}");
            assert!(
                said.contains(&format!("- {path}: ")),
                "{command} does not name {path} for:\n{values}\nit said:\n{said}"
            );
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_disruption_budget_takes_max_unavailable_instead_of_min_available_when_set() {
    let budget = |args: &[&str]| {
        let mut all = vec!["--set", "podDisruptionBudget.enabled=true"];
        all.extend_from_slice(args);
        one(&render(&all), "PodDisruptionBudget", "ticketeer")["spec"].clone()
    };
    let default = budget(&[]);
    assert_eq!(default["minAvailable"], 1);
    assert!(default.get("maxUnavailable").is_none(), "{default}");
    let none_down = budget(&["--set", "podDisruptionBudget.maxUnavailable=0"]);
    assert_eq!(none_down["maxUnavailable"], 0);
    assert!(none_down.get("minAvailable").is_none(), "{none_down}");
    let half = budget(&["--set", "podDisruptionBudget.minAvailable=50%"]);
    assert_eq!(half["minAvailable"], "50%");
}

/// One key of values.yaml: whether a comment sits directly above it, and the keys under it.
#[derive(Debug)]
struct ValuesKey {
    path: String,
    indent: usize,
    commented: bool,
    children: Vec<usize>,
}

#[test]
fn every_value_has_a_sentence_above_it() {
    let text = std::fs::read_to_string(chart_dir().join("values.yaml"))
        .unwrap_or_else(|error| panic!("reading values.yaml: {error}"));
    let mut keys: Vec<ValuesKey> = Vec::new();
    let mut open: Vec<usize> = Vec::new();
    let mut comment_above = false;
    for line in text.lines() {
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        if trimmed.starts_with('#') {
            comment_above = true;
            continue;
        }
        if trimmed.is_empty() {
            comment_above = false;
            continue;
        }
        if trimmed.starts_with('-') {
            continue;
        }
        let Some((name, _)) = trimmed.split_once(':') else {
            continue;
        };
        while open
            .last()
            .is_some_and(|&parent| keys[parent].indent >= indent)
        {
            open.pop();
        }
        let path = match open.last() {
            Some(&parent) => format!("{}.{name}", keys[parent].path),
            None => name.to_owned(),
        };
        keys.push(ValuesKey {
            path,
            indent,
            commented: comment_above,
            children: Vec::new(),
        });
        let index = keys.len() - 1;
        if let Some(&parent) = open.last() {
            keys[parent].children.push(index);
        }
        open.push(index);
        comment_above = false;
    }
    assert!(keys.len() > 50, "parsed too few keys: {keys:?}");
    // A value is documented when it or an enclosing value (documented as a whole, like a
    // securityContext) has a comment; an uncommented section only groups documented values.
    let mut documented_by_ancestor = vec![false; keys.len()];
    for index in 0..keys.len() {
        if keys[index].commented || documented_by_ancestor[index] {
            for &child in &keys[index].children.clone() {
                documented_by_ancestor[child] = true;
            }
        }
    }
    let undocumented: Vec<&str> = keys
        .iter()
        .enumerate()
        .filter(|(index, key)| {
            key.children.is_empty() && !key.commented && !documented_by_ancestor[*index]
        })
        .map(|(_, key)| key.path.as_str())
        .collect();
    assert!(
        undocumented.is_empty(),
        "values without a comment: {undocumented:?}"
    );
}

// ----- RBAC ----------------------------------------------------------------------------------

#[test]
fn cluster_scope_grants_exactly_the_operators_rules_through_a_cluster_role() {
    let objects = render(&[]);
    assert_grants_exactly(
        &all_granted_permissions(&objects),
        &expected_permissions(false),
        "one replica without leader election needs every rule but the Lease",
    );
    assert!(of_kind(&objects, "Role").is_empty());
    assert_bound_to_operator_service_account(&objects, "ClusterRole", "ticketeer");
    let operator = container(operator_deployment(&objects), "operator");
    assert_eq!(env_value(operator, "WATCH_NAMESPACE"), None);
}

#[test]
fn leader_election_adds_only_the_lease_rule_in_the_release_namespace() {
    let objects = render(&["--set", "replicaCount=2"]);
    assert_grants_exactly(
        &all_granted_permissions(&objects),
        &expected_permissions(true),
        "with leader election",
    );
    let lease_role = one(&objects, "Role", "ticketeer-leader-election");
    assert_eq!(lease_role["metadata"]["namespace"], RELEASE_NAMESPACE);
    let lease_rules = expected_permissions(true)
        .difference(&expected_permissions(false))
        .cloned()
        .collect();
    assert_grants_exactly(
        &granted_permissions(lease_role),
        &lease_rules,
        "the Lease Role",
    );
    assert_bound_to_operator_service_account(&objects, "Role", "ticketeer-leader-election");
    // The Lease Role names the Lease the operator is told to hold, and nothing else.
    let operator = container(operator_deployment(&objects), "operator");
    let lease = env_value(operator, "LEADER_ELECTION_LEASE").expect("the Lease's name");
    let named: BTreeSet<String> = granted_permissions(lease_role)
        .into_iter()
        .filter_map(|(.., name)| name)
        .collect();
    assert_eq!(named, BTreeSet::from([lease.to_owned()]));
    let other_release = render(&["--set", "replicaCount=2,fullnameOverride=support-operator"]);
    let role = one(&other_release, "Role", "support-operator-leader-election");
    assert!(
        granted_permissions(role)
            .iter()
            .any(|(.., name)| name.as_deref() == Some("support-operator")),
        "{role}"
    );
}

#[test]
fn namespace_scope_grants_the_rules_with_a_role_in_the_watched_namespace_only() {
    let objects = render(&["--set", "watch.scope=namespace,watch.namespace=tickets"]);
    assert!(of_kind(&objects, "ClusterRole").is_empty());
    assert!(of_kind(&objects, "ClusterRoleBinding").is_empty());
    let role = one(&objects, "Role", "ticketeer");
    assert_eq!(role["metadata"]["namespace"], "tickets");
    assert_grants_exactly(
        &granted_permissions(role),
        &expected_permissions(false),
        "the namespaced Role",
    );
    assert_bound_to_operator_service_account(&objects, "Role", "ticketeer");
    let operator = container(operator_deployment(&objects), "operator");
    assert_eq!(env_value(operator, "WATCH_NAMESPACE"), Some("tickets"));

    let defaulted = render(&["--set", "watch.scope=namespace"]);
    let role = one(&defaulted, "Role", "ticketeer");
    assert_eq!(role["metadata"]["namespace"], RELEASE_NAMESPACE);
}

#[test]
fn events_may_be_created_and_patched() {
    let granted = all_granted_permissions(&render(&[]));
    for verb in ["create", "patch"] {
        assert!(
            granted.contains(&(
                "events.k8s.io".to_owned(),
                "events".to_owned(),
                verb.to_owned(),
                None,
            )),
            "events {verb} missing from {granted:?}"
        );
    }
}

#[test]
fn rbac_create_false_renders_no_roles() {
    let objects = render(&["--set", "rbac.create=false,replicaCount=2"]);
    for kind in ["ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"] {
        assert!(of_kind(&objects, kind).is_empty(), "{kind} rendered");
    }
}

// ----- the operator's Deployment -------------------------------------------------------------

#[track_caller]
fn assert_secure_and_probed(deployment: &Value) {
    let name = &deployment["metadata"]["name"];
    let pod = &deployment["spec"]["template"]["spec"];
    assert_eq!(
        pod["securityContext"]["runAsNonRoot"], true,
        "{name}: pod runAsNonRoot"
    );
    assert_eq!(
        pod["securityContext"]["seccompProfile"]["type"], "RuntimeDefault",
        "{name}: seccomp"
    );
    let containers = pod["containers"].as_array().into_iter().flatten();
    for container in containers {
        let security = &container["securityContext"];
        assert_eq!(
            security["readOnlyRootFilesystem"], true,
            "{name}: read-only"
        );
        assert_eq!(
            security["allowPrivilegeEscalation"], false,
            "{name}: privilege escalation"
        );
        assert_eq!(
            security["capabilities"]["drop"],
            serde_json::json!(["ALL"]),
            "{name}: capabilities"
        );
        assert!(
            security
                .get("privileged")
                .is_none_or(|value| value == false),
            "{name}: privileged"
        );
        for kind in ["requests", "limits"] {
            assert!(
                container["resources"][kind]["memory"].is_string(),
                "{name}: resources.{kind}.memory missing"
            );
        }
        for probe in ["livenessProbe", "readinessProbe"] {
            assert_eq!(
                container[probe]["httpGet"]["port"], "http",
                "{name}: {probe}"
            );
        }
    }
}

#[test]
fn every_deployment_runs_non_root_read_only_without_capabilities_with_resources_and_probes() {
    let objects = render(&["--values", &everything_values()]);
    let deployments = of_kind(&objects, "Deployment");
    assert_eq!(deployments.len(), 2, "operator and PrivateBin");
    for deployment in deployments {
        assert_secure_and_probed(deployment);
    }
    assert_secure_and_probed(operator_deployment(&render(&[])));
}

#[test]
fn the_operator_probes_its_health_endpoints_on_the_port_it_listens_on() {
    let objects = render(&[]);
    let operator = container(operator_deployment(&objects), "operator");
    assert_eq!(operator["livenessProbe"]["httpGet"]["path"], "/healthz");
    assert_eq!(operator["readinessProbe"]["httpGet"]["path"], "/readyz");
    assert_eq!(
        operator["ports"],
        serde_json::json!([{"name": "http", "containerPort": 8080, "protocol": "TCP"}])
    );
    assert_eq!(env_value(operator, "HTTP_LISTEN"), Some("0.0.0.0:8080"));
    assert_eq!(
        operator["command"],
        serde_json::json!(["/usr/local/bin/ticketeer-operator"])
    );
    let service = one(&objects, "Service", "ticketeer");
    assert_eq!(service["spec"]["ports"][0]["targetPort"], "http");
}

#[test]
fn leader_election_is_on_exactly_when_asked_or_with_more_than_one_replica() {
    for (args, expected) in [
        (vec![], "false"),
        (vec!["--set", "replicaCount=2"], "true"),
        (vec!["--set", "leaderElection.enabled=true"], "true"),
    ] {
        let objects = render(&args);
        let deployment = operator_deployment(&objects);
        let operator = container(deployment, "operator");
        assert_eq!(
            env_value(operator, "LEADER_ELECTION"),
            Some(expected),
            "{args:?}"
        );
        // Without a Lease, an upgrade must not run the old and the new operator side by side.
        let strategy = if expected == "true" {
            "RollingUpdate"
        } else {
            "Recreate"
        };
        assert_eq!(deployment["spec"]["strategy"]["type"], strategy, "{args:?}");
        // The Lease is named after the release, so two releases never share one.
        let lease = (expected == "true").then_some("ticketeer");
        assert_eq!(
            env_value(operator, "LEADER_ELECTION_LEASE"),
            lease,
            "{args:?}"
        );
        assert_eq!(env_field_path(operator, "POD_NAME"), Some("metadata.name"));
        assert_eq!(
            env_field_path(operator, "POD_NAMESPACE"),
            Some("metadata.namespace")
        );
    }
}

#[test]
fn bots_run_the_operators_own_image_unless_bot_image_is_set() {
    let objects = render(&[]);
    let operator = container(operator_deployment(&objects), "operator");
    assert_eq!(operator["image"], "ghcr.io/ticketeer/ticketeer:0.1.0");
    assert_eq!(
        env_value(operator, "TICKETEER_BOT_IMAGE"),
        Some("ghcr.io/ticketeer/ticketeer:0.1.0")
    );

    let digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    let pinned = render(&["--set", &format!("image.digest={digest}")]);
    let operator = container(operator_deployment(&pinned), "operator");
    let reference = format!("ghcr.io/ticketeer/ticketeer@{digest}");
    assert_eq!(operator["image"], reference.as_str());
    assert_eq!(
        env_value(operator, "TICKETEER_BOT_IMAGE"),
        Some(reference.as_str())
    );

    let custom = render(&["--set", "botImage=registry.example.com/bot:1"]);
    let operator = container(operator_deployment(&custom), "operator");
    assert_eq!(
        env_value(operator, "TICKETEER_BOT_IMAGE"),
        Some("registry.example.com/bot:1")
    );
}

#[test]
fn optional_objects_appear_only_when_enabled() {
    let defaults = render(&[]);
    let everything = render(&["--values", &everything_values()]);
    for kind in [
        "ServiceMonitor",
        "NetworkPolicy",
        "PodDisruptionBudget",
        "PersistentVolumeClaim",
        "Ingress",
        "ConfigMap",
    ] {
        assert!(
            of_kind(&defaults, kind).is_empty(),
            "{kind} rendered by default"
        );
        assert_eq!(
            of_kind(&everything, kind).len(),
            1,
            "{kind} with every option"
        );
    }
    let monitor = one(&everything, "ServiceMonitor", "ticketeer");
    assert_eq!(monitor["spec"]["endpoints"][0]["path"], "/metrics");
    assert_eq!(monitor["spec"]["endpoints"][0]["port"], "http");
    let budget = one(&everything, "PodDisruptionBudget", "ticketeer");
    let operator = operator_deployment(&everything);
    assert_eq!(
        budget["spec"]["selector"]["matchLabels"],
        operator["spec"]["selector"]["matchLabels"]
    );
    let policy = one(&everything, "NetworkPolicy", "ticketeer");
    assert_eq!(
        policy["spec"]["podSelector"]["matchLabels"],
        operator["spec"]["selector"]["matchLabels"]
    );
    assert_eq!(
        policy["spec"]["policyTypes"],
        serde_json::json!(["Ingress", "Egress"])
    );
    // The operator reads each bot's /status: the policy must let it reach the bot pods' port.
    let egress = policy["spec"]["egress"]
        .as_array()
        .expect("the policy lists egress rules");
    let reaches_bots = egress.iter().any(|rule| {
        let to_bots = rule["to"].as_array().is_some_and(|peers| {
            peers.iter().any(|peer| {
                peer["podSelector"]["matchLabels"][ticketeer_operator::builders::NAME_LABEL]
                    == "ticketeer-bot"
            })
        });
        let on_http_port = rule["ports"].as_array().is_some_and(|ports| {
            ports
                .iter()
                .any(|port| port["port"] == u64::from(ticketeer_config::HttpConfig::DEFAULT_PORT))
        });
        to_bots && on_http_port
    });
    assert!(
        reaches_bots,
        "no egress rule to the bots' /status: {egress:?}"
    );
}

// ----- CRDs ----------------------------------------------------------------------------------

fn crd_file_names(directory: &Path) -> BTreeSet<String> {
    std::fs::read_dir(directory)
        .unwrap_or_else(|error| panic!("reading {}: {error}", directory.display()))
        .filter_map(Result::ok)
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| {
            Path::new(name)
                .extension()
                .is_some_and(|extension| extension == "yaml")
        })
        .collect()
}

#[test]
fn the_charts_crd_copies_equal_the_generated_crds_byte_for_byte() {
    let generated = repository_root().join("crds");
    let copies = chart_dir().join("files/crds");
    let names = crd_file_names(&generated);
    assert_eq!(names.len(), 2, "{names:?}");
    assert_eq!(crd_file_names(&copies), names);
    for name in names {
        let read = |path: PathBuf| {
            std::fs::read(&path)
                .unwrap_or_else(|error| panic!("reading {}: {error}", path.display()))
        };
        assert!(
            read(generated.join(&name)) == read(copies.join(&name)),
            "charts/ticketeer/files/crds/{name} differs from crds/{name}; run \
             `cargo run -p ticketeer-operator --bin crdgen`"
        );
    }
}

#[test]
fn the_chart_has_no_helm_crds_directory_that_would_bypass_crds_enabled() {
    // Helm installs anything in a chart's crds/ directory unconditionally and never upgrades it;
    // the CRDs must only come from templates/crds.yaml, behind crds.enabled.
    let helm_crds = chart_dir().join("crds");
    assert!(
        !helm_crds.exists(),
        "{} exists; the chart's CRD copies belong in charts/ticketeer/files/crds/",
        helm_crds.display()
    );
}

/// The value with every integral float written as an integer: JSON (and the API server) does not
/// tell `10.0` from `10`, but Helm's `toYaml` writes the generated CRD's `10.0` as `10`.
fn same_numbers_as_json(value: &Value) -> Value {
    match value {
        Value::Number(number) => number
            .as_f64()
            .filter(|float| number.is_f64() && float.fract() == 0.0 && float.abs() < 9.0e15)
            .and_then(|float| format!("{float:.0}").parse::<serde_json::Number>().ok())
            .map_or_else(|| value.clone(), Value::Number),
        Value::Array(items) => Value::Array(items.iter().map(same_numbers_as_json).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(key, item)| (key.clone(), same_numbers_as_json(item)))
                .collect(),
        ),
        Value::Null | Value::Bool(_) | Value::String(_) => value.clone(),
    }
}

#[test]
fn rendered_crds_carry_the_generated_specs_and_are_kept_on_uninstall() {
    let objects = render(&[]);
    let crds = of_kind(&objects, "CustomResourceDefinition");
    assert_eq!(crds.len(), 2);
    for name in crd_file_names(&repository_root().join("crds")) {
        let path = repository_root().join("crds").join(&name);
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|error| panic!("reading {}: {error}", path.display()));
        let generated: Value =
            serde_saphyr::from_str(&text).unwrap_or_else(|error| panic!("parsing {name}: {error}"));
        let crd_name = generated["metadata"]["name"]
            .as_str()
            .unwrap_or_else(|| panic!("{name} has no metadata.name"));
        let rendered = one(&objects, "CustomResourceDefinition", crd_name);
        assert_eq!(rendered["apiVersion"], generated["apiVersion"]);
        assert!(
            same_numbers_as_json(&rendered["spec"]) == same_numbers_as_json(&generated["spec"]),
            "the rendered {crd_name} spec differs from crds/{name}"
        );
        assert_eq!(
            rendered["metadata"]["annotations"]["helm.sh/resource-policy"],
            "keep"
        );
    }

    let not_kept = render(&["--set", "crds.keep=false"]);
    for crd in of_kind(&not_kept, "CustomResourceDefinition") {
        assert!(
            crd["metadata"]["annotations"]
                .get("helm.sh/resource-policy")
                .is_none(),
            "{crd}"
        );
    }
    let disabled = render(&["--set", "crds.enabled=false"]);
    assert!(of_kind(&disabled, "CustomResourceDefinition").is_empty());
}

// ----- PrivateBin ----------------------------------------------------------------------------

/// The settings of one `[section]` of PrivateBin's conf.php, as `key = value` lines.
fn conf_section(conf: &str, section: &str) -> Vec<(String, String)> {
    let header = format!("[{section}]");
    conf.lines()
        .skip_while(|line| line.trim() != header)
        .skip(1)
        .take_while(|line| !line.trim_start().starts_with('['))
        .filter(|line| !line.trim_start().starts_with(';'))
        .filter_map(|line| line.split_once('='))
        .map(|(key, value)| (key.trim().to_owned(), value.trim().to_owned()))
        .collect()
}

fn privatebin_conf(objects: &[Value]) -> String {
    one(objects, "ConfigMap", "ticketeer-privatebin")["data"]["conf.php"]
        .as_str()
        .unwrap_or_else(|| panic!("the PrivateBin ConfigMap has no conf.php"))
        .to_owned()
}

#[test]
fn privatebin_is_not_installed_by_default() {
    let objects = render(&[]);
    assert!(
        objects.iter().all(
            |object| object["metadata"]["labels"]["app.kubernetes.io/component"] != "privatebin"
        ),
        "PrivateBin objects rendered by default"
    );
}

#[test]
fn privatebin_runs_the_official_image_on_a_persistent_volume_that_outlives_the_release() {
    let objects = render(&["--set", "privatebin.enabled=true"]);
    let deployment = one(&objects, "Deployment", "ticketeer-privatebin");
    assert_secure_and_probed(deployment);
    assert_eq!(deployment["spec"]["replicas"], 1);
    assert_eq!(deployment["spec"]["strategy"]["type"], "Recreate");
    let privatebin = container(deployment, "privatebin");
    let image = privatebin["image"].as_str().unwrap_or_default();
    assert!(
        image.starts_with("privatebin/nginx-fpm-alpine:"),
        "not the official image: {image}"
    );
    let data_mount = privatebin["volumeMounts"]
        .as_array()
        .and_then(|mounts| {
            mounts
                .iter()
                .find(|mount| mount["mountPath"] == "/srv/data")
        })
        .unwrap_or_else(|| panic!("no /srv/data mount in {privatebin}"));
    let volumes = deployment["spec"]["template"]["spec"]["volumes"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let data_volume = volumes
        .iter()
        .find(|volume| volume["name"] == data_mount["name"])
        .unwrap_or_else(|| panic!("no volume for {data_mount}"));
    assert_eq!(
        data_volume["persistentVolumeClaim"]["claimName"],
        "ticketeer-privatebin"
    );
    let claim = one(&objects, "PersistentVolumeClaim", "ticketeer-privatebin");
    assert_eq!(
        claim["metadata"]["annotations"]["helm.sh/resource-policy"],
        "keep"
    );
    let config_mount = privatebin["volumeMounts"]
        .as_array()
        .and_then(|mounts| mounts.iter().find(|mount| mount["mountPath"] == "/srv/cfg"));
    assert!(
        config_mount.is_some(),
        "conf.php is not mounted at /srv/cfg"
    );

    let existing = render(&[
        "--set",
        "privatebin.enabled=true,privatebin.persistence.existingClaim=pastes",
    ]);
    assert!(of_kind(&existing, "PersistentVolumeClaim").is_empty());
    let deployment = one(&existing, "Deployment", "ticketeer-privatebin");
    assert!(
        deployment["spec"]["template"]["spec"]["volumes"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|volume| volume["persistentVolumeClaim"]["claimName"] == "pastes")
    );
}

#[test]
fn privatebins_traffic_limiter_exempts_the_pod_network_and_the_expiry_allows_a_year() {
    let objects = render(&[
        "--set",
        "privatebin.enabled=true",
        "--set-json",
        r#"privatebin.trafficLimiter.exempted=["10.42.0.0/16","fd00:42::/56"]"#,
    ]);
    let conf = privatebin_conf(&objects);
    let traffic = conf_section(&conf, "traffic");
    assert!(
        traffic.contains(&(
            "exempted".to_owned(),
            r#""10.42.0.0/16,fd00:42::/56""#.to_owned()
        )),
        "{traffic:?}"
    );
    assert!(
        traffic.contains(&("limit".to_owned(), "10".to_owned())),
        "{traffic:?}"
    );
    let expire_options = conf_section(&conf, "expire_options");
    assert!(
        expire_options.contains(&("1year".to_owned(), "31536000".to_owned())),
        "{expire_options:?}"
    );
    let formatters = conf_section(&conf, "formatter_options");
    assert!(
        formatters.iter().any(|(key, _)| key == "markdown"),
        "{formatters:?}"
    );
    let model = conf_section(&conf, "model");
    assert_eq!(model, vec![("class".to_owned(), "Filesystem".to_owned())]);
}

#[test]
fn a_privatebin_settings_change_restarts_its_pod() {
    let hash = |objects: &[Value]| {
        one(objects, "Deployment", "ticketeer-privatebin")["spec"]["template"]["metadata"]
            ["annotations"]["ticketeer.dev/privatebin-config-hash"]
            .clone()
    };
    let before = hash(&render(&["--set", "privatebin.enabled=true"]));
    let after = hash(&render(&[
        "--set",
        "privatebin.enabled=true,privatebin.trafficLimiter.limitSeconds=30",
    ]));
    assert!(before.is_string(), "no config hash annotation");
    assert_ne!(before, after);
}

#[test]
fn privatebin_without_persistence_keeps_pastes_in_an_empty_dir() {
    let objects = render(&[
        "--set",
        "privatebin.enabled=true,privatebin.persistence.enabled=false",
    ]);
    assert!(of_kind(&objects, "PersistentVolumeClaim").is_empty());
    let deployment = one(&objects, "Deployment", "ticketeer-privatebin");
    let data = deployment["spec"]["template"]["spec"]["volumes"]
        .as_array()
        .and_then(|volumes| volumes.iter().find(|volume| volume["name"] == "data"))
        .unwrap_or_else(|| panic!("no data volume"));
    assert!(data["emptyDir"].is_object(), "{data}");
}

// ----- NOTES.txt -----------------------------------------------------------------------------

/// A scratch copy of the chart that also renders NOTES.txt into a ConfigMap, since
/// `helm template` does not render NOTES.txt and `helm install --dry-run` needs a cluster.
struct NotesChart {
    path: PathBuf,
}

impl NotesChart {
    fn new(label: &str) -> Self {
        let path = std::env::temp_dir().join(format!(
            "ticketeer-chart-notes-{label}-{}-{:016x}",
            std::process::id(),
            rand::random::<u64>()
        ));
        copy_dir(&chart_dir(), &path);
        let notes = std::fs::read(chart_dir().join("templates/NOTES.txt"))
            .unwrap_or_else(|error| panic!("reading NOTES.txt: {error}"));
        write(&path.join("files/notes-under-test.txt"), &notes);
        write(
            &path.join("templates/notes-under-test.yaml"),
            b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: notes-under-test\ndata:\n  \
              notes: {{ tpl (.Files.Get \"files/notes-under-test.txt\") . | quote }}\n",
        );
        Self { path }
    }

    #[track_caller]
    fn render(&self, args: &[&str]) -> String {
        let mut command = helm_template_command(&self.path, args);
        command.args(["--show-only", "templates/notes-under-test.yaml"]);
        let objects = parse_documents(&run(&mut command, None));
        objects[0]["data"]["notes"]
            .as_str()
            .unwrap_or_else(|| panic!("no notes in {objects:?}"))
            .to_owned()
    }
}

impl Drop for NotesChart {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

#[track_caller]
fn write(path: &Path, contents: &[u8]) {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .unwrap_or_else(|error| panic!("creating {}: {error}", parent.display()));
    }
    std::fs::write(path, contents)
        .unwrap_or_else(|error| panic!("writing {}: {error}", path.display()));
}

#[track_caller]
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to)
        .unwrap_or_else(|error| panic!("creating {}: {error}", to.display()));
    let entries = std::fs::read_dir(from)
        .unwrap_or_else(|error| panic!("reading {}: {error}", from.display()));
    for entry in entries.filter_map(Result::ok) {
        let source = entry.path();
        let target = to.join(entry.file_name());
        if source.is_dir() {
            copy_dir(&source, &target);
        } else {
            std::fs::copy(&source, &target)
                .unwrap_or_else(|error| panic!("copying {}: {error}", source.display()));
        }
    }
}

#[test]
fn notes_without_warnings_lead_with_the_next_steps() {
    let chart = NotesChart::new("plain");
    let notes = chart.render(&["--set", "image.repository=registry.example.com/ticketeer"]);
    assert!(!notes.contains("WARNING"), "{notes}");
    let secrets = notes
        .find("create secret generic")
        .unwrap_or_else(|| panic!("no Secret step: {notes}"));
    let apply = notes
        .find("apply -f crds/examples/")
        .unwrap_or_else(|| panic!("no apply step: {notes}"));
    let check = notes
        .find("get tb,tc")
        .unwrap_or_else(|| panic!("no check step: {notes}"));
    assert!(
        secrets < apply && apply < check,
        "steps out of order: {notes}"
    );
}

#[test]
fn notes_show_warnings_before_the_next_steps() {
    let chart = NotesChart::new("warnings");
    let notes = chart.render(&[
        "--set",
        "crds.keep=false,privatebin.enabled=true,privatebin.persistence.enabled=false",
    ]);
    assert!(notes.starts_with("WARNINGS"), "{notes}");
    let steps = notes
        .find("Next steps")
        .unwrap_or_else(|| panic!("no next steps: {notes}"));
    for warning in [
        "image.repository is the default ghcr.io/ticketeer/ticketeer, which is not published yet",
        "crds.keep is false",
        "persistence.enabled is false",
        "externalUrl is empty",
    ] {
        let at = notes
            .find(warning)
            .unwrap_or_else(|| panic!("no warning {warning:?}: {notes}"));
        assert!(
            at < steps,
            "warning {warning:?} after the next steps: {notes}"
        );
    }
    assert!(
        notes.contains("spec.privatebin.url to http://ticketeer-privatebin.ticketeer.svc:80/"),
        "{notes}"
    );
}

#[test]
fn aggregated_roles_let_namespace_viewers_read_and_editors_manage_the_resources() {
    let objects = render(&[]);
    let role = |name: &str| one(&objects, "ClusterRole", name).clone();
    let view = role("ticketeer-view");
    let edit = role("ticketeer-edit");
    let labels = |role: &Value| {
        let mut labels: Vec<String> = role["metadata"]["labels"]
            .as_object()
            .expect("labels")
            .iter()
            .filter(|(key, value)| {
                key.starts_with("rbac.authorization.k8s.io/") && *value == "true"
            })
            .map(|(key, _)| key.clone())
            .collect();
        labels.sort();
        labels
    };
    assert_eq!(
        labels(&view),
        [
            "rbac.authorization.k8s.io/aggregate-to-admin",
            "rbac.authorization.k8s.io/aggregate-to-edit",
            "rbac.authorization.k8s.io/aggregate-to-view",
        ]
    );
    assert_eq!(
        labels(&edit),
        [
            "rbac.authorization.k8s.io/aggregate-to-admin",
            "rbac.authorization.k8s.io/aggregate-to-edit",
        ]
    );
    let permissions = |role: &Value| granted_permissions(role);
    let expected = |verbs: &[&str]| -> BTreeSet<Permission> {
        ["ticketbots", "ticketcategories"]
            .into_iter()
            .flat_map(|resource| {
                verbs.iter().map(move |verb| {
                    (
                        "ticketeer.dev".to_owned(),
                        resource.to_owned(),
                        (*verb).to_owned(),
                        None,
                    )
                })
            })
            .collect()
    };
    assert_eq!(permissions(&view), expected(&["get", "list", "watch"]));
    assert_eq!(
        permissions(&edit),
        expected(&["create", "update", "patch", "delete", "deletecollection"]),
        "no status: that is the operator's"
    );
    let without = render(&["--set", "rbac.aggregateToDefaultRoles=false"]);
    assert!(
        of_kind(&without, "ClusterRole")
            .iter()
            .all(|role| !role["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .ends_with("-view")),
        "off when asked"
    );
}

#[test]
fn bot_image_pull_secrets_reach_the_operator_as_one_variable() {
    let objects = render(&["--set", "botImagePullSecrets={mirror,backup}"]);
    let operator = container(operator_deployment(&objects), "operator");
    assert_eq!(
        env_value(operator, "TICKETEER_BOT_IMAGE_PULL_SECRETS"),
        Some("mirror,backup")
    );
    let plain = render(&[]);
    assert_eq!(
        env_value(
            container(operator_deployment(&plain), "operator"),
            "TICKETEER_BOT_IMAGE_PULL_SECRETS"
        ),
        None
    );
}

#[test]
fn discord_overrides_and_bot_image_prefixes_reach_the_operator_only_when_allowed() {
    let plain = render(&[]);
    let operator = container(operator_deployment(&plain), "operator");
    assert_eq!(
        env_value(operator, ALLOW_DISCORD_OVERRIDES_ENV),
        Some("false")
    );
    assert_eq!(env_value(operator, BOT_IMAGE_ALLOW_ENV), None);
    assert_eq!(env_value(operator, "RECONCILE_CONCURRENCY"), Some("8"));
    assert_eq!(env_value(operator, "DRIFT_REPAIR_SECONDS"), Some("300"));

    let allowed = render(&[
        "--set",
        "operator.allowDiscordOverrides=true",
        "--set",
        "botImages.allowed={registry.example.com/team,mirror.example.com/}",
    ]);
    let operator = container(operator_deployment(&allowed), "operator");
    assert_eq!(
        env_value(operator, ALLOW_DISCORD_OVERRIDES_ENV),
        Some("true")
    );
    assert_eq!(
        env_value(operator, BOT_IMAGE_ALLOW_ENV),
        Some("registry.example.com/team,mirror.example.com/")
    );
}

#[test]
fn the_charts_kube_version_is_the_one_the_operator_is_built_against() {
    let manifest = std::fs::read_to_string(repository_root().join("Cargo.toml"))
        .expect("reading the workspace Cargo.toml");
    let line = manifest
        .lines()
        .find(|line| line.starts_with("k8s-openapi"))
        .expect("the workspace pins k8s-openapi");
    let minor = line
        .split("\"v1_")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("no v1_XX feature in {line:?}"));
    let chart = std::fs::read_to_string(chart_dir().join("Chart.yaml")).expect("Chart.yaml");
    assert!(
        chart.contains(&format!("kubeVersion: \">=1.{minor}.0-0\"")),
        "Chart.yaml's kubeVersion must be >=1.{minor}.0-0, the k8s-openapi feature v1_{minor}"
    );
    assert_eq!(KUBERNETES_VERSIONS[0], format!("1.{minor}.0"));
}
