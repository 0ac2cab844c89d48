//! A small, stateful, in-process Kubernetes API server, driven through
//! `kube::Client::new(service, "default")`.
//!
//! The operator's tests run against a real API server (support/cluster.rs). This fake stays for
//! the one thing a real server cannot do on demand: answer one chosen request with an error
//! (operator/tests/controller_faults.rs). It serves only what that test's operator needs.
//!
//! Scope: the kinds the operator touches, namespaced and all-namespace LIST/WATCH with label
//! selectors, GET, PATCH (server-side apply and merge), `/status` subresources, metadata stamping
//! (uid, creationTimestamp, a global resourceVersion, generation on spec changes), and test
//! controls: seed and edit objects, set a child's status, inject errors, read the request log.
//! Anything else (POST, PUT, DELETE, other patch types) is answered 405 or 415.
//!
//! Server-side apply is modelled for a single field manager (the operator's): the applied
//! object's top-level fields replace the stored ones and fields it no longer sets are removed,
//! while server-owned metadata and (where there is a subresource) status are kept. As on a real
//! API server, a write that changes nothing keeps the resourceVersion and emits no watch event.

// Shared by several test crates, each of which uses only part of it.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use serde_json::{Map, Value, json};
use tokio::sync::{broadcast, mpsc};

type Body = UnsyncBoxBody<Bytes, Infallible>;

/// What the fake knows about one resource type.
#[derive(Debug, Clone, Copy)]
struct ResourceType {
    plural: &'static str,
    api_version: &'static str,
    kind: &'static str,
    status_subresource: bool,
    tracks_generation: bool,
}

const KINDS: &[ResourceType] = &[
    ResourceType {
        plural: "configmaps",
        api_version: "v1",
        kind: "ConfigMap",
        status_subresource: false,
        tracks_generation: false,
    },
    ResourceType {
        plural: "secrets",
        api_version: "v1",
        kind: "Secret",
        status_subresource: false,
        tracks_generation: false,
    },
    ResourceType {
        plural: "services",
        api_version: "v1",
        kind: "Service",
        status_subresource: true,
        tracks_generation: false,
    },
    ResourceType {
        plural: "serviceaccounts",
        api_version: "v1",
        kind: "ServiceAccount",
        status_subresource: false,
        tracks_generation: false,
    },
    ResourceType {
        plural: "deployments",
        api_version: "apps/v1",
        kind: "Deployment",
        status_subresource: true,
        tracks_generation: true,
    },
    ResourceType {
        plural: "ticketbots",
        api_version: "ticketeer.dev/v1alpha1",
        kind: "TicketBot",
        status_subresource: true,
        tracks_generation: true,
    },
    ResourceType {
        plural: "ticketcategories",
        api_version: "ticketeer.dev/v1alpha1",
        kind: "TicketCategory",
        status_subresource: true,
        tracks_generation: true,
    },
    ResourceType {
        plural: "events",
        api_version: "events.k8s.io/v1",
        kind: "Event",
        status_subresource: false,
        tracks_generation: false,
    },
    ResourceType {
        plural: "leases",
        api_version: "coordination.k8s.io/v1",
        kind: "Lease",
        status_subresource: false,
        tracks_generation: false,
    },
];

fn kind_of(api_version: &str, plural: &str) -> Option<ResourceType> {
    KINDS
        .iter()
        .copied()
        .find(|kind| kind.plural == plural && kind.api_version == api_version)
}

/// The kind serving `plural` (test helpers name resources by plural).
fn kind_by_plural(plural: &str) -> ResourceType {
    KINDS
        .iter()
        .copied()
        .find(|kind| kind.plural == plural)
        .unwrap_or_else(|| panic!("the fake API server does not serve {plural}"))
}

/// One request as the fake saw it.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    /// The HTTP method.
    pub method: Method,
    /// The path, e.g. `/api/v1/namespaces/tickets/configmaps/support-config`.
    pub path: String,
    /// The raw query string.
    pub query: String,
    /// The response status.
    pub status: u16,
}

impl RecordedRequest {
    /// Whether the request could change state (POST, PUT, PATCH, DELETE).
    pub fn is_write(&self) -> bool {
        !matches!(self.method, Method::GET | Method::HEAD)
    }
}

/// A change to a stored object, as sent to watchers.
#[derive(Debug, Clone)]
pub struct Change {
    /// The resourceVersion after the change.
    pub resource_version: u64,
    /// The resource's plural.
    pub plural: &'static str,
    /// The object's namespace.
    pub namespace: String,
    /// `ADDED`, `MODIFIED` or `DELETED`.
    pub type_: &'static str,
    /// The object after the change (before it, for `DELETED`).
    pub object: Value,
}

struct Fault {
    method: Option<Method>,
    path_contains: String,
    status: u16,
    remaining: usize,
}

#[derive(Default)]
struct State {
    resource_version: u64,
    uid_counter: u64,
    objects: BTreeMap<(&'static str, String, String), Value>,
    history: Vec<Change>,
    requests: Vec<RecordedRequest>,
    faults: Vec<Fault>,
}

/// The fake API server; cheap to clone (shared state).
#[derive(Clone)]
pub struct FakeApi {
    state: Arc<Mutex<State>>,
    changes: broadcast::Sender<Change>,
}

impl Default for FakeApi {
    fn default() -> Self {
        Self::new()
    }
}

struct Target {
    kind: ResourceType,
    namespace: Option<String>,
    name: Option<String>,
    subresource: Option<String>,
}

fn parse_path(path: &str) -> Option<Target> {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let (api_version, rest) = match segments.as_slice() {
        ["api", version, rest @ ..] => ((*version).to_owned(), rest),
        ["apis", group, version, rest @ ..] => (format!("{group}/{version}"), rest),
        _ => return None,
    };
    let (namespace, rest) = match rest {
        ["namespaces", namespace, rest @ ..] if !rest.is_empty() => {
            (Some((*namespace).to_owned()), rest)
        }
        _ => (None, rest),
    };
    let (plural, name, subresource) = match rest {
        [plural] => (*plural, None, None),
        [plural, name] => (*plural, Some((*name).to_owned()), None),
        [plural, name, sub] => (*plural, Some((*name).to_owned()), Some((*sub).to_owned())),
        _ => return None,
    };
    Some(Target {
        kind: kind_of(&api_version, plural)?,
        namespace,
        name,
        subresource,
    })
}

fn query_params(query: &str) -> BTreeMap<String, String> {
    form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect()
}

/// A parsed label selector: `k=v`, `k==v`, `k!=v`, `k in (a,b)`, `k notin (a,b)`, `k`, `!k`.
fn selector_matches(selector: &str, labels: &Map<String, Value>) -> bool {
    let label = |key: &str| labels.get(key.trim()).and_then(Value::as_str);
    let mut requirements = Vec::new();
    let mut depth = 0;
    let mut current = String::new();
    for character in selector.chars() {
        match character {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                requirements.push(std::mem::take(&mut current));
                continue;
            }
            _ => {}
        }
        current.push(character);
    }
    requirements.push(current);
    requirements
        .iter()
        .map(|r| r.trim())
        .filter(|r| !r.is_empty())
        .all(|requirement| {
            if let Some((key, value)) = requirement.split_once("!=") {
                label(key) != Some(value.trim())
            } else if let Some((key, value)) = requirement
                .split_once("==")
                .or_else(|| requirement.split_once('='))
            {
                label(key) == Some(value.trim())
            } else if let Some((key, values)) = requirement.split_once(" notin ") {
                let values: Vec<&str> = values
                    .trim_matches(|c| c == '(' || c == ')' || c == ' ')
                    .split(',')
                    .map(str::trim)
                    .collect();
                label(key).is_none_or(|value| !values.contains(&value))
            } else if let Some((key, values)) = requirement.split_once(" in ") {
                let values: Vec<&str> = values
                    .trim_matches(|c| c == '(' || c == ')' || c == ' ')
                    .split(',')
                    .map(str::trim)
                    .collect();
                label(key).is_some_and(|value| values.contains(&value))
            } else if let Some(key) = requirement.strip_prefix('!') {
                label(key).is_none()
            } else {
                label(requirement).is_some()
            }
        })
}

fn labels_of(object: &Value) -> Map<String, Value> {
    object
        .pointer("/metadata/labels")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default()
}

fn status_error(code: u16, reason: &str, message: &str) -> Response<Body> {
    json_response(
        code,
        &json!({
            "kind": "Status", "apiVersion": "v1", "metadata": {},
            "status": "Failure", "message": message, "reason": reason, "code": code,
        }),
    )
}

fn json_response(code: u16, value: &Value) -> Response<Body> {
    Response::builder()
        .status(StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(value.to_string())).boxed_unsync())
        .expect("a response with valid parts")
}

/// The parts of an object other than metadata and status: what a spec change means.
fn spec_part(object: &Value) -> Value {
    let mut object = object.clone();
    if let Some(map) = object.as_object_mut() {
        map.remove("metadata");
        map.remove("status");
    }
    object
}

fn meta_str(object: &Value, field: &str) -> Option<String> {
    object
        .pointer(&format!("/metadata/{field}"))
        .and_then(Value::as_str)
        .map(str::to_owned)
}

impl FakeApi {
    /// An empty API server.
    pub fn new() -> Self {
        let (changes, _) = broadcast::channel(4096);
        Self {
            state: Arc::new(Mutex::new(State::default())),
            changes,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A kube client whose every request this fake answers.
    pub fn client(&self) -> kube::Client {
        let api = self.clone();
        let service = tower::service_fn(move |request: Request<kube::client::Body>| {
            let api = api.clone();
            async move { Ok::<_, Infallible>(api.handle(request).await) }
        });
        kube::Client::new(service, "default")
    }

    // ----- test controls -------------------------------------------------------------------

    /// Creates or replaces an object as a person with kubectl would (spec changes bump
    /// `generation`; the status is kept). `object` needs apiVersion, kind and metadata.
    pub fn put(&self, object: Value) -> Value {
        let plural = KINDS
            .iter()
            .find(|kind| Some(kind.kind) == object.get("kind").and_then(Value::as_str))
            .unwrap_or_else(|| panic!("unknown kind in {object}"))
            .plural;
        let kind = kind_by_plural(plural);
        let namespace = meta_str(&object, "namespace").unwrap_or_else(|| "default".to_owned());
        let name = meta_str(&object, "name").expect("object has a name");
        let mut state = self.lock();
        let existing = state
            .objects
            .get(&(kind.plural, namespace.clone(), name.clone()))
            .cloned();
        let mut next = object;
        if let Some(existing) = &existing {
            for field in ["uid", "creationTimestamp", "generation", "resourceVersion"] {
                if let Some(value) = existing.pointer(&format!("/metadata/{field}")) {
                    next["metadata"][field] = value.clone();
                }
            }
            if kind.status_subresource {
                match existing.get("status") {
                    Some(status) => next["status"] = status.clone(),
                    None => {
                        next.as_object_mut().map(|map| map.remove("status"));
                    }
                }
            }
        }
        next["metadata"]["namespace"] = json!(namespace);
        self.store(&mut state, kind, &namespace, &name, existing.as_ref(), next)
    }

    /// The stored object, if any.
    pub fn get(&self, plural: &str, namespace: &str, name: &str) -> Option<Value> {
        let kind = kind_by_plural(plural);
        self.lock()
            .objects
            .get(&(kind.plural, namespace.to_owned(), name.to_owned()))
            .cloned()
    }

    /// Replaces an object's status, as the controller owning it would (e.g. the Deployment
    /// controller reporting available replicas).
    pub fn set_status(&self, plural: &str, namespace: &str, name: &str, status: Value) {
        let kind = kind_by_plural(plural);
        let mut state = self.lock();
        let key = (kind.plural, namespace.to_owned(), name.to_owned());
        let existing = state
            .objects
            .get(&key)
            .cloned()
            .unwrap_or_else(|| panic!("no {plural} {namespace}/{name}"));
        let mut next = existing.clone();
        next["status"] = status;
        self.store(&mut state, kind, namespace, name, Some(&existing), next);
    }

    /// Answers the next `times` requests whose method matches (any when `None`) and whose path
    /// contains `path_contains` with `status` instead of serving them.
    pub fn inject_error(
        &self,
        method: Option<Method>,
        path_contains: &str,
        status: u16,
        times: usize,
    ) {
        self.lock().faults.push(Fault {
            method,
            path_contains: path_contains.to_owned(),
            status,
            remaining: times,
        });
    }

    /// Every request so far, oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.lock().requests.clone()
    }

    /// The current global resourceVersion.
    pub fn resource_version(&self) -> u64 {
        self.lock().resource_version
    }

    // ----- storage -------------------------------------------------------------------------

    /// Stores `next` (stamping metadata) unless it equals `existing`; returns what is stored.
    fn store(
        &self,
        state: &mut State,
        kind: ResourceType,
        namespace: &str,
        name: &str,
        existing: Option<&Value>,
        mut next: Value,
    ) -> Value {
        next["apiVersion"] = json!(kind.api_version);
        next["kind"] = json!(kind.kind);
        next["metadata"]["name"] = json!(name);
        next["metadata"]["namespace"] = json!(namespace);
        if let Some(existing) = existing {
            for field in ["uid", "creationTimestamp", "resourceVersion", "generation"] {
                match existing.pointer(&format!("/metadata/{field}")) {
                    Some(value) => next["metadata"][field] = value.clone(),
                    None => {
                        next["metadata"]
                            .as_object_mut()
                            .map(|map| map.remove(field));
                    }
                }
            }
            if &next == existing {
                return next;
            }
            if kind.tracks_generation && spec_part(&next) != spec_part(existing) {
                let generation = existing
                    .pointer("/metadata/generation")
                    .and_then(Value::as_i64)
                    .unwrap_or(1);
                next["metadata"]["generation"] = json!(generation + 1);
            }
        } else {
            state.uid_counter += 1;
            next["metadata"]["uid"] =
                json!(format!("00000000-0000-4000-8000-{:012}", state.uid_counter));
            next["metadata"]["creationTimestamp"] = json!("2026-01-01T00:00:00Z");
            if kind.tracks_generation {
                next["metadata"]["generation"] = json!(1);
            }
        }
        state.resource_version += 1;
        next["metadata"]["resourceVersion"] = json!(state.resource_version.to_string());
        state.objects.insert(
            (kind.plural, namespace.to_owned(), name.to_owned()),
            next.clone(),
        );
        self.record_change(
            state,
            kind,
            namespace,
            if existing.is_some() {
                "MODIFIED"
            } else {
                "ADDED"
            },
            next.clone(),
        );
        next
    }

    fn record_change(
        &self,
        state: &mut State,
        kind: ResourceType,
        namespace: &str,
        type_: &'static str,
        object: Value,
    ) {
        let change = Change {
            resource_version: state.resource_version,
            plural: kind.plural,
            namespace: namespace.to_owned(),
            type_,
            object,
        };
        state.history.push(change.clone());
        // No receiver simply means nobody watches right now.
        let _ = self.changes.send(change);
    }

    // ----- HTTP ----------------------------------------------------------------------------

    async fn handle(&self, request: Request<kube::client::Body>) -> Response<Body> {
        let method = request.method().clone();
        let path = request.uri().path().to_owned();
        let query = request.uri().query().unwrap_or_default().to_owned();
        let content_type = request
            .headers()
            .get("content-type")
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let body = match request.into_body().collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(error) => {
                return status_error(400, "BadRequest", &format!("reading the body: {error}"));
            }
        };
        let response = self.respond(&method, &path, &query, &content_type, &body);
        self.lock().requests.push(RecordedRequest {
            method,
            path,
            query,
            status: response.status().as_u16(),
        });
        response
    }

    fn respond(
        &self,
        method: &Method,
        path: &str,
        query: &str,
        content_type: &str,
        body: &[u8],
    ) -> Response<Body> {
        {
            let mut state = self.lock();
            if let Some(fault) = state.faults.iter_mut().find(|fault| {
                fault.remaining > 0
                    && fault.method.as_ref().is_none_or(|wanted| wanted == method)
                    && path.contains(&fault.path_contains)
            }) {
                fault.remaining -= 1;
                let status = fault.status;
                return status_error(status, "InternalError", "injected by the test");
            }
        }
        let Some(target) = parse_path(path) else {
            return status_error(
                404,
                "NotFound",
                &format!("the server could not find the requested resource ({path})"),
            );
        };
        let params = query_params(query);
        let body: Option<Value> = if body.is_empty() {
            None
        } else {
            match serde_json::from_slice(body) {
                Ok(value) => Some(value),
                Err(error) => {
                    return status_error(400, "BadRequest", &format!("body is not JSON: {error}"));
                }
            }
        };
        match (method.clone(), &target.name) {
            (Method::GET, None)
                if params
                    .get("watch")
                    .is_some_and(|watch| watch == "true" || watch == "1") =>
            {
                self.watch(&target, &params)
            }
            (Method::GET, None) => self.list_response(&target, &params),
            (Method::GET, Some(name)) => self.get_response(&target, name),
            (Method::PATCH, Some(name)) => self.patch(&target, name, content_type, &params, body),
            _ => status_error(
                405,
                "MethodNotAllowed",
                &format!("{method} is not supported on {path}"),
            ),
        }
    }

    fn matching(state: &State, target: &Target, params: &BTreeMap<String, String>) -> Vec<Value> {
        let selector = params.get("labelSelector").cloned().unwrap_or_default();
        state
            .objects
            .iter()
            .filter(|((plural, namespace, _), _)| {
                *plural == target.kind.plural
                    && target
                        .namespace
                        .as_ref()
                        .is_none_or(|wanted| wanted == namespace)
            })
            .map(|(_, object)| object.clone())
            .filter(|object| selector_matches(&selector, &labels_of(object)))
            .collect()
    }

    fn list_response(&self, target: &Target, params: &BTreeMap<String, String>) -> Response<Body> {
        let state = self.lock();
        let items = Self::matching(&state, target, params);
        json_response(
            200,
            &json!({
                "apiVersion": target.kind.api_version,
                "kind": format!("{}List", target.kind.kind),
                "metadata": {"resourceVersion": state.resource_version.to_string()},
                "items": items,
            }),
        )
    }

    fn get_response(&self, target: &Target, name: &str) -> Response<Body> {
        let namespace = target.namespace.clone().unwrap_or_default();
        match self
            .lock()
            .objects
            .get(&(target.kind.plural, namespace, name.to_owned()))
        {
            Some(object) => json_response(200, object),
            None => status_error(
                404,
                "NotFound",
                &format!("{} \"{name}\" not found", target.kind.plural),
            ),
        }
    }

    /// Keeps only `.status` of `written` for `/status` writes, and ignores it otherwise (for
    /// kinds with a status subresource).
    fn split_status(target: &Target, existing: &Value, written: Value) -> Value {
        let on_status = target.subresource.as_deref() == Some("status");
        if on_status {
            let mut next = existing.clone();
            match written.get("status") {
                Some(status) => next["status"] = status.clone(),
                None => {
                    next.as_object_mut().map(|map| map.remove("status"));
                }
            }
            return next;
        }
        let mut next = written;
        if target.kind.status_subresource {
            match existing.get("status") {
                Some(status) => next["status"] = status.clone(),
                None => {
                    next.as_object_mut().map(|map| map.remove("status"));
                }
            }
        }
        next
    }

    fn patch(
        &self,
        target: &Target,
        name: &str,
        content_type: &str,
        params: &BTreeMap<String, String>,
        body: Option<Value>,
    ) -> Response<Body> {
        let Some(patch) = body else {
            return status_error(400, "BadRequest", "a patch needs a body");
        };
        let namespace = target.namespace.clone().unwrap_or_default();
        let mut state = self.lock();
        let existing = state
            .objects
            .get(&(target.kind.plural, namespace.clone(), name.to_owned()))
            .cloned();
        let media = content_type.split(';').next().unwrap_or_default().trim();
        let patched = match media {
            "application/apply-patch+yaml" => {
                if params.get("fieldManager").is_none_or(String::is_empty) {
                    return status_error(
                        422,
                        "Invalid",
                        "fieldManager is required for apply patches",
                    );
                }
                Self::apply_single_manager(existing.as_ref(), patch)
            }
            "application/merge-patch+json" | "application/strategic-merge-patch+json" => {
                let Some(existing) = &existing else {
                    return status_error(
                        404,
                        "NotFound",
                        &format!("{} \"{name}\" not found", target.kind.plural),
                    );
                };
                let mut next = existing.clone();
                json_patch::merge(&mut next, &patch);
                next
            }
            // RFC 6902, `test` included: kube's finalizer helper adds and removes its entry so.
            "application/json-patch+json" => {
                let Some(existing) = &existing else {
                    return status_error(
                        404,
                        "NotFound",
                        &format!("{} \"{name}\" not found", target.kind.plural),
                    );
                };
                // Like the API server's JSON patch library, a `test` for null passes on a path
                // that does not exist (kube tests an absent finalizer list that way).
                let patch = Value::Array(
                    patch
                        .as_array()
                        .cloned()
                        .unwrap_or_default()
                        .into_iter()
                        .filter(|operation| {
                            let absent_null = operation["op"] == "test"
                                && operation["value"].is_null()
                                && operation["path"]
                                    .as_str()
                                    .is_some_and(|path| existing.pointer(path).is_none());
                            !absent_null
                        })
                        .collect(),
                );
                let operations: json_patch::Patch = match serde_json::from_value(patch) {
                    Ok(operations) => operations,
                    Err(error) => return status_error(400, "BadRequest", &error.to_string()),
                };
                let mut next = existing.clone();
                if let Err(error) = json_patch::patch(&mut next, &operations) {
                    return status_error(422, "Invalid", &error.to_string());
                }
                next
            }
            other => {
                return status_error(
                    415,
                    "UnsupportedMediaType",
                    &format!("unsupported patch type {other:?}"),
                );
            }
        };
        let next = match &existing {
            Some(existing) => Self::split_status(target, existing, patched),
            None => patched,
        };
        let stored = self.store(
            &mut state,
            target.kind,
            &namespace,
            name,
            existing.as_ref(),
            next,
        );
        json_response(if existing.is_some() { 200 } else { 201 }, &stored)
    }

    /// Server-side apply for one field manager: the applied top-level fields and metadata
    /// labels, annotations and owner references replace the stored ones.
    fn apply_single_manager(existing: Option<&Value>, applied: Value) -> Value {
        let Some(existing) = existing else {
            return applied;
        };
        let mut next = existing.clone();
        let (Some(next_map), Some(applied_map)) = (next.as_object_mut(), applied.as_object())
        else {
            return applied;
        };
        next_map.retain(|key, _| {
            matches!(key.as_str(), "apiVersion" | "kind" | "metadata" | "status")
                || applied_map.contains_key(key)
        });
        for (key, value) in applied_map {
            match key.as_str() {
                "metadata" => {
                    for field in ["labels", "annotations", "ownerReferences", "finalizers"] {
                        match value.get(field) {
                            Some(field_value) => next_map["metadata"][field] = field_value.clone(),
                            None => {
                                next_map["metadata"]
                                    .as_object_mut()
                                    .map(|map| map.remove(field));
                            }
                        }
                    }
                }
                _ => {
                    next_map.insert(key.clone(), value.clone());
                }
            }
        }
        next
    }

    fn watch(&self, target: &Target, params: &BTreeMap<String, String>) -> Response<Body> {
        let since: u64 = params
            .get("resourceVersion")
            .and_then(|rv| rv.parse().ok())
            .unwrap_or(0);
        let timeout = params
            .get("timeoutSeconds")
            .and_then(|seconds| seconds.parse().ok())
            .map_or(Duration::from_secs(290), Duration::from_secs);
        let selector = params.get("labelSelector").cloned().unwrap_or_default();
        let plural = target.kind.plural;
        let namespace = target.namespace.clone();
        let wanted = move |change: &Change| {
            change.plural == plural
                && namespace
                    .as_ref()
                    .is_none_or(|wanted| wanted == &change.namespace)
                && selector_matches(&selector, &labels_of(&change.object))
        };
        let (backlog, mut notifications) = {
            let state = self.lock();
            let backlog: Vec<Change> = state
                .history
                .iter()
                .filter(|change| change.resource_version > since && wanted(change))
                .cloned()
                .collect();
            (backlog, self.changes.subscribe())
        };
        let (sender, receiver) = mpsc::channel::<Bytes>(64);
        let encode_line = |change: &Change| {
            Bytes::from(format!(
                "{}\n",
                json!({"type": change.type_, "object": change.object})
            ))
        };
        tokio::spawn(async move {
            let mut last = since;
            for change in &backlog {
                last = change.resource_version;
                if sender.send(encode_line(change)).await.is_err() {
                    return;
                }
            }
            let deadline = tokio::time::sleep(timeout);
            tokio::pin!(deadline);
            loop {
                tokio::select! {
                    () = &mut deadline => return,
                    notification = notifications.recv() => match notification {
                        Ok(change) if change.resource_version > last && wanted(&change) => {
                            last = change.resource_version;
                            if sender.send(encode_line(&change)).await.is_err() {
                                return;
                            }
                        }
                        Ok(_) => {}
                        // Ending the watch makes kube re-list, which is always correct.
                        Err(_) => return,
                    },
                }
            }
        });
        let stream = futures_util::stream::unfold(receiver, |mut receiver| async move {
            receiver
                .recv()
                .await
                .map(|bytes| (Ok::<_, Infallible>(http_body::Frame::data(bytes)), receiver))
        });
        Response::builder()
            .status(200)
            .header("content-type", "application/json")
            .body(StreamBody::new(stream).boxed_unsync())
            .expect("a response with valid parts")
    }
}
