//! The permissions the operator needs, in one place: the Helm chart's ClusterRole is checked
//! against [`RULES`], so the code and the chart cannot drift apart.

/// Which objects of its resources a rule grants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Objects {
    /// Every object (no `resourceNames`).
    Any,
    /// Only the one object the operator is configured with, e.g. the Lease named by
    /// `LEADER_ELECTION_LEASE` (`resourceNames: [that name]`). Kubernetes cannot restrict
    /// `create` (or `list` and `watch` of a collection) by name, so such a rule never has them.
    Configured,
}

/// One RBAC policy rule: API group, resources, verbs and which objects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    /// The API group (`""` for the core group).
    pub api_group: &'static str,
    /// The resources (and subresources, e.g. `ticketbots/status`).
    pub resources: &'static [&'static str],
    /// The verbs.
    pub verbs: &'static [&'static str],
    /// Which objects.
    pub objects: Objects,
}

/// Every permission the operator uses, and why.
pub const RULES: &[Rule] = &[
    // The custom resources: watched, never modified except their status and the TicketBot's
    // finalizer (patched in and out: a deleted bot is held until its panels are gone).
    Rule {
        api_group: "ticketeer.dev",
        resources: &["ticketbots"],
        verbs: &["get", "list", "watch", "patch"],
        objects: Objects::Any,
    },
    Rule {
        api_group: "ticketeer.dev",
        resources: &["ticketcategories"],
        verbs: &["get", "list", "watch"],
        objects: Objects::Any,
    },
    Rule {
        api_group: "ticketeer.dev",
        resources: &["ticketbots/status", "ticketcategories/status"],
        verbs: &["patch"],
        objects: Objects::Any,
    },
    // Children, created and updated by server-side apply (create + patch), watched via `.owns()`.
    // No delete: owner references let the garbage collector remove them with their TicketBot.
    Rule {
        api_group: "",
        resources: &["configmaps", "serviceaccounts", "services"],
        verbs: &["get", "list", "watch", "create", "patch"],
        objects: Objects::Any,
    },
    Rule {
        api_group: "apps",
        resources: &["deployments"],
        verbs: &["get", "list", "watch", "create", "patch"],
        objects: Objects::Any,
    },
    // Secrets: the two a TicketBot references are read by name (their keys checked, their
    // values digested into the pod template). All are watched, metadata only, so a rotated
    // token rolls the bot at once; Kubernetes cannot grant a metadata-only list, so list and
    // watch also allow reading every Secret's data in the watched namespaces.
    Rule {
        api_group: "",
        resources: &["secrets"],
        verbs: &["get", "list", "watch"],
        objects: Objects::Any,
    },
    // kube's event Recorder creates an Event and patches it when the same event repeats.
    Rule {
        api_group: "events.k8s.io",
        resources: &["events"],
        verbs: &["create", "patch"],
        objects: Objects::Any,
    },
    // Leader election (only when enabled) reads and updates its one Lease by name
    // (`crate::leader`), and creates it when it does not exist yet.
    Rule {
        api_group: "coordination.k8s.io",
        resources: &["leases"],
        verbs: &["get", "update"],
        objects: Objects::Configured,
    },
    Rule {
        api_group: "coordination.k8s.io",
        resources: &["leases"],
        verbs: &["create"],
        objects: Objects::Any,
    },
];
