//! Status conditions, computed purely and kept quiet: a condition's `lastTransitionTime` moves
//! only when its status flips, and an unchanged status is never written.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};

use crate::builders::Rejection;
use crate::crd::{TicketBot, TicketBotStatus, TicketCategoryStatus};

/// Condition types of a TicketBot.
pub mod bot_condition {
    /// Everything below is fine: the config is rendered, the pods are available, nothing degraded.
    pub const READY: &str = "Ready";
    /// The ConfigMap holds a config built from the bot and its categories.
    pub const CONFIG_RENDERED: &str = "ConfigRendered";
    /// The Deployment has its desired number of available pods.
    pub const AVAILABLE: &str = "Available";
    /// Something needs a person (a missing Secret or key).
    pub const DEGRADED: &str = "Degraded";
}

/// Condition types of a TicketCategory.
pub mod category_condition {
    /// The bot exists and the spec is valid, so the category is in the bot's config.
    pub const ACCEPTED: &str = "Accepted";
    /// Accepted and its bot is ready.
    pub const READY: &str = "Ready";
}

/// A condition as computed, before timestamps: type, true/false, reason, message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observed {
    /// The condition type.
    pub type_: &'static str,
    /// Whether it holds.
    pub status: bool,
    /// A CamelCase reason.
    pub reason: String,
    /// A sentence a person can act on.
    pub message: String,
}

impl Observed {
    /// A condition that holds.
    pub fn yes(type_: &'static str, reason: &str, message: impl Into<String>) -> Self {
        Self {
            type_,
            status: true,
            reason: reason.to_owned(),
            message: message.into(),
        }
    }

    /// A condition that does not hold.
    pub fn no(type_: &'static str, reason: &str, message: impl Into<String>) -> Self {
        Self {
            type_,
            status: false,
            reason: reason.to_owned(),
            message: message.into(),
        }
    }
}

/// Merges freshly observed conditions into the previous ones: a condition keeps its
/// `lastTransitionTime` unless its status flipped (or it is new), in which case it gets `now`.
pub fn merge_conditions(
    previous: &[Condition],
    observed: &[Observed],
    generation: Option<i64>,
    now: &Time,
) -> Vec<Condition> {
    observed
        .iter()
        .map(|condition| {
            let status = if condition.status { "True" } else { "False" };
            let last_transition_time = previous
                .iter()
                .find(|old| old.type_ == condition.type_ && old.status == status)
                .map_or_else(|| now.clone(), |old| old.last_transition_time.clone());
            Condition {
                type_: condition.type_.to_owned(),
                status: status.to_owned(),
                reason: condition.reason.clone(),
                message: condition.message.clone(),
                observed_generation: generation,
                last_transition_time,
            }
        })
        .collect()
}

/// Whether the condition `type_` is `True` in `conditions`.
pub fn is_true(conditions: &[Condition], type_: &str) -> bool {
    conditions
        .iter()
        .any(|condition| condition.type_ == type_ && condition.status == "True")
}

/// The condition `type_` in `conditions`, if present.
pub fn find<'a>(conditions: &'a [Condition], type_: &str) -> Option<&'a Condition> {
    conditions.iter().find(|condition| condition.type_ == type_)
}

/// Whether the condition `type_` flipped to `status` between `before` and `after` (or appeared
/// with it); used to publish an Event once per problem, not once per reconcile.
pub fn became(before: &[Condition], after: &[Condition], type_: &str, status: bool) -> bool {
    let wanted = if status { "True" } else { "False" };
    let now = find(after, type_).is_some_and(|condition| condition.status == wanted);
    let then = find(before, type_).is_some_and(|condition| condition.status == wanted);
    now && !then
}

/// The Deployment's availability: whether it has its desired available replicas, and how many
/// pods are ready.
pub fn deployment_availability(deployment: Option<&Deployment>) -> (Observed, i32) {
    use bot_condition::AVAILABLE;
    let Some(deployment) = deployment else {
        return (
            Observed::no(
                AVAILABLE,
                "DeploymentMissing",
                "the bot's Deployment does not exist yet",
            ),
            0,
        );
    };
    let desired = deployment
        .spec
        .as_ref()
        .and_then(|spec| spec.replicas)
        .unwrap_or(1);
    let status = deployment.status.clone().unwrap_or_default();
    let ready = status.ready_replicas.unwrap_or(0);
    let available = status.available_replicas.unwrap_or(0);
    let current_generation =
        status.observed_generation.unwrap_or(0) >= deployment.metadata.generation.unwrap_or(0);
    let updated = status.updated_replicas.unwrap_or(0);
    if desired == 0 {
        return (
            Observed::no(
                AVAILABLE,
                "ScaledToZero",
                "spec.replicas is 0, so no bot pod runs",
            ),
            ready,
        );
    }
    if current_generation && available >= desired && updated >= desired {
        (
            Observed::yes(
                AVAILABLE,
                "MinimumReplicasAvailable",
                format!("{available} of {desired} bot pods are available"),
            ),
            ready,
        )
    } else {
        (
            Observed::no(
                AVAILABLE,
                "RolloutInProgress",
                format!(
                    "{available} of {desired} bot pods are available; see `kubectl describe deployment {}`",
                    deployment.metadata.name.clone().unwrap_or_default()
                ),
            ),
            ready,
        )
    }
}

/// The TicketBot's `Ready` condition from its other three.
pub fn bot_ready(
    config_rendered: &Observed,
    available: &Observed,
    degraded: &Observed,
) -> Observed {
    use bot_condition::READY;
    if degraded.status {
        Observed::no(READY, &degraded.reason, degraded.message.clone())
    } else if !config_rendered.status {
        Observed::no(
            READY,
            &config_rendered.reason,
            config_rendered.message.clone(),
        )
    } else if !available.status {
        Observed::no(READY, &available.reason, available.message.clone())
    } else {
        Observed::yes(
            READY,
            "BotRunning",
            "the bot is running with the current config",
        )
    }
}

/// The whole new TicketBot status.
pub fn bot_status(
    bot: &TicketBot,
    observed: &[Observed],
    categories: usize,
    ready_replicas: i32,
    now: &Time,
) -> TicketBotStatus {
    let previous = bot
        .status
        .as_ref()
        .map(|status| status.conditions.as_slice())
        .unwrap_or_default();
    TicketBotStatus {
        observed_generation: bot.metadata.generation,
        conditions: merge_conditions(previous, observed, bot.metadata.generation, now),
        categories: i32::try_from(categories).unwrap_or(i32::MAX),
        ready_replicas,
    }
}

/// The whole new TicketCategory status; fields the bot reports (panel, open tickets) are kept.
pub fn category_status(
    previous: Option<&TicketCategoryStatus>,
    observed: &[Observed],
    generation: Option<i64>,
    now: &Time,
) -> TicketCategoryStatus {
    let previous_conditions = previous
        .map(|status| status.conditions.as_slice())
        .unwrap_or_default();
    TicketCategoryStatus {
        observed_generation: generation,
        conditions: merge_conditions(previous_conditions, observed, generation, now),
        panel_message_id: previous.and_then(|status| status.panel_message_id.clone()),
        open_tickets: previous.and_then(|status| status.open_tickets),
    }
}

/// A TicketCategory's `Accepted` and `Ready` conditions from its acceptance and its bot's
/// conditions.
pub fn category_conditions(
    acceptance: Result<(), Rejection>,
    bot_name: &str,
    bot_conditions: &[Condition],
) -> [Observed; 2] {
    use category_condition::{ACCEPTED, READY};
    if let Err(rejection) = acceptance {
        return [
            Observed::no(ACCEPTED, rejection.reason, rejection.message.clone()),
            Observed::no(READY, rejection.reason, rejection.message),
        ];
    }
    let accepted = Observed::yes(
        ACCEPTED,
        "Accepted",
        format!("served by TicketBot {bot_name}"),
    );
    let ready = match find(bot_conditions, bot_condition::READY) {
        Some(condition) if condition.status == "True" => Observed::yes(
            READY,
            "BotReady",
            format!("TicketBot {bot_name} is ready with this category in its config"),
        ),
        Some(condition) => Observed::no(
            READY,
            "BotNotReady",
            format!("TicketBot {bot_name} is not ready: {}", condition.message),
        ),
        None => Observed::no(
            READY,
            "BotNotReady",
            format!("TicketBot {bot_name} has not reported its status yet"),
        ),
    };
    [accepted, ready]
}
