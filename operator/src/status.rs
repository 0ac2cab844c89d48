//! Status conditions, computed purely and kept quiet: a condition's `lastTransitionTime` moves
//! only when its status flips, and an unchanged status is never written.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};

use ticketeer_config::StatusReport;

use crate::builders::Rejection;
use crate::crd::{ParentFillStatus, TicketBot, TicketBotStatus, TicketCategoryStatus};

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
    /// Accepted, its bot is ready, its panel is posted and the bot reports no Discord-side
    /// problem.
    pub const READY: &str = "Ready";
}

/// Reasons of a TicketCategory's `Ready` condition that come from the bot's `/status`.
pub mod category_ready_reason {
    /// The panel is posted and the bot reports no problem (`Ready=True`).
    pub const PANEL_POSTED: &str = "PanelPosted";
    /// The bot serves the category but has not posted its panel yet.
    pub const PANEL_NOT_POSTED: &str = "PanelNotPosted";
    /// The bot sees a Discord-side problem (missing channel, permission, full category…).
    pub const DISCORD_PROBLEM: &str = "DiscordProblem";
    /// The bot's `/status` could not be read.
    pub const STATUS_UNREACHABLE: &str = "StatusUnreachable";
    /// The bot is not connected to Discord's gateway.
    pub const GATEWAY_DISCONNECTED: &str = "GatewayDisconnected";
    /// The bot's report does not list the category: it has not loaded the new config yet.
    pub const NOT_LOADED: &str = "CategoryNotLoaded";
    /// Every reason above: a `Ready` condition with one of them was computed from a report.
    pub const FROM_REPORT: [&str; 6] = [
        PANEL_POSTED,
        PANEL_NOT_POSTED,
        DISCORD_PROBLEM,
        STATUS_UNREACHABLE,
        GATEWAY_DISCONNECTED,
        NOT_LOADED,
    ];
    /// The bot is ready but the operator has not read its `/status` yet.
    pub const STATUS_PENDING: &str = "StatusPending";
    /// The category's TicketBot is not ready.
    pub const BOT_NOT_READY: &str = "BotNotReady";
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
/// with it, or kept it for a different reason); used to publish an Event once per problem, not
/// once per reconcile.
pub fn became(before: &[Condition], after: &[Condition], type_: &str, status: bool) -> bool {
    let wanted = if status { "True" } else { "False" };
    let Some(now) = find(after, type_).filter(|condition| condition.status == wanted) else {
        return false;
    };
    !find(before, type_).is_some_and(|then| then.status == wanted && then.reason == now.reason)
}

/// The reason of a condition that reports a child the API server refused for good.
pub const CHILD_REJECTED: &str = "ChildRejected";
/// The reason of a condition that reports an object, not the bot's, where a child would go.
pub const NAME_CONFLICT: &str = "NameConflict";

/// The longest message the operator writes into a condition from text it does not control (the
/// API server's refusals, a bot's answers): long enough to quote one, short enough for `kubectl
/// describe`.
pub const MESSAGE_MAX_CHARS: usize = 1024;

/// `text` made fit for a condition message: see [`bounded_to`], with [`MESSAGE_MAX_CHARS`].
pub fn bounded_message(text: &str) -> String {
    bounded_to(text, MESSAGE_MAX_CHARS)
}

/// `text` made printable and short: control characters (newlines included) become spaces and
/// anything past `max_chars` characters is cut off with an ellipsis.
pub fn bounded_to(text: &str, max_chars: usize) -> String {
    let mut message: String = text
        .chars()
        .map(|character| {
            if character.is_control() {
                ' '
            } else {
                character
            }
        })
        .take(max_chars + 1)
        .collect();
    if message.chars().count() > max_chars {
        message = message.chars().take(max_chars.saturating_sub(1)).collect();
        message.push('…');
    }
    message
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

/// What the operator last heard from a bot's `/status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BotReport {
    /// The bot answered with this report.
    Reported(StatusReport),
    /// The endpoint could not be read; why, as a sentence naming the URL.
    Unreachable(String),
}

impl BotReport {
    /// Whether every category in `keys` is fully served: the report was read, the gateway is up,
    /// and each category is listed with its panel posted and no problem. While not, the operator
    /// polls the bot sooner than its drift repair.
    pub fn settled<'a>(&self, mut keys: impl Iterator<Item = &'a str>) -> bool {
        let Self::Reported(report) = self else {
            return false;
        };
        report.gateway_connected
            && keys.all(|key| {
                report.categories.get(key).is_some_and(|category| {
                    category.panel_message_id.is_some() && category.problems.is_empty()
                })
            })
    }
}

/// Everything a TicketCategory's status is computed from.
#[derive(Debug, Clone, Copy)]
pub struct CategoryInputs<'a> {
    /// The category's key in the bot's config (`namespace/name`).
    pub key: &'a str,
    /// The category's `createChannelId`, named when the panel is missing.
    pub create_channel_id: &'a str,
    /// The TicketBot named in `botRef`.
    pub bot_name: &'a str,
    /// Whether the category is accepted, or why not.
    pub acceptance: Result<(), &'a Rejection>,
    /// The TicketBot's conditions.
    pub bot_conditions: &'a [Condition],
    /// The bot's last `/status` report, if the operator has read one since it started.
    pub report: Option<&'a BotReport>,
    /// The category's current status.
    pub previous: Option<&'a TicketCategoryStatus>,
}

/// A TicketCategory's status as computed, before timestamps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CategoryObservation {
    /// `Accepted`.
    pub accepted: Observed,
    /// `Ready`.
    pub ready: Observed,
    /// The panel message id the bot reports.
    pub panel_message_id: Option<String>,
    /// The open ticket count the bot reports.
    pub open_tickets: Option<i32>,
    /// The fill of the category's parents the bot reports.
    pub parents: Vec<ParentFillStatus>,
}

/// A TicketCategory's conditions and bot-reported fields, pure.
///
/// `Ready` is true only when the category is accepted, its bot is ready, and the bot's report
/// lists the category with its panel posted and no problem; otherwise the first thing wrong is
/// the reason. The panel id and ticket count follow the report and keep their last values while
/// the report is missing or unreadable (they are "as last reported by the bot"); a rejected
/// category has no panel, since the bot deletes the panel of a category it no longer serves.
pub fn observe_category(inputs: &CategoryInputs<'_>) -> CategoryObservation {
    use category_condition::{ACCEPTED, READY};
    use category_ready_reason as reason;
    let bot_name = inputs.bot_name;
    let previous_panel = inputs
        .previous
        .and_then(|status| status.panel_message_id.clone());
    let previous_open = inputs.previous.and_then(|status| status.open_tickets);
    let previous_parents = inputs
        .previous
        .map(|status| status.parents.clone())
        .unwrap_or_default();
    if let Err(rejection) = inputs.acceptance {
        return CategoryObservation {
            accepted: Observed::no(ACCEPTED, rejection.reason, rejection.message.clone()),
            ready: Observed::no(READY, rejection.reason, rejection.message.clone()),
            panel_message_id: None,
            open_tickets: previous_open,
            parents: previous_parents,
        };
    }
    let accepted = Observed::yes(
        ACCEPTED,
        "Accepted",
        format!("served by TicketBot {bot_name}"),
    );
    let unchanged_fields = |ready| CategoryObservation {
        accepted: accepted.clone(),
        ready,
        panel_message_id: previous_panel.clone(),
        open_tickets: previous_open,
        parents: previous_parents.clone(),
    };
    match find(inputs.bot_conditions, bot_condition::READY) {
        Some(condition) if condition.status == "True" => {}
        Some(condition) => {
            return unchanged_fields(Observed::no(
                READY,
                reason::BOT_NOT_READY,
                format!("TicketBot {bot_name} is not ready: {}", condition.message),
            ));
        }
        None => {
            return unchanged_fields(Observed::no(
                READY,
                reason::BOT_NOT_READY,
                format!("TicketBot {bot_name} has not reported its status yet"),
            ));
        }
    }
    let report = match inputs.report {
        None => {
            // Right after the operator starts it has no report yet; a Ready computed from an
            // earlier report stays as it was, so a restart does not flip it.
            let kept = inputs
                .previous
                .and_then(|status| find(&status.conditions, READY))
                .filter(|condition| reason::FROM_REPORT.contains(&condition.reason.as_str()))
                .map(|condition| Observed {
                    type_: READY,
                    status: condition.status == "True",
                    reason: condition.reason.clone(),
                    message: condition.message.clone(),
                });
            return unchanged_fields(kept.unwrap_or_else(|| {
                Observed::no(
                    READY,
                    reason::STATUS_PENDING,
                    format!("waiting for the first /status report of TicketBot {bot_name}"),
                )
            }));
        }
        Some(BotReport::Unreachable(cause)) => {
            return unchanged_fields(Observed::no(
                READY,
                reason::STATUS_UNREACHABLE,
                format!("the bot's /status is unreachable: {cause}"),
            ));
        }
        Some(BotReport::Reported(report)) => report,
    };
    let Some(category) = report.categories.get(inputs.key) else {
        return unchanged_fields(Observed::no(
            READY,
            reason::NOT_LOADED,
            format!(
                "TicketBot {bot_name} has not loaded this category yet; the bot picks up its ConfigMap within a minute or two"
            ),
        ));
    };
    let ready = if !report.gateway_connected {
        Observed::no(
            READY,
            reason::GATEWAY_DISCONNECTED,
            format!(
                "TicketBot {bot_name} is not connected to Discord's gateway; see the bot's logs"
            ),
        )
    } else if !category.problems.is_empty() {
        let problems: Vec<String> = category.problems.iter().map(ToString::to_string).collect();
        Observed::no(
            READY,
            reason::DISCORD_PROBLEM,
            bounded_message(&problems.join("; ")),
        )
    } else if let Some(panel) = &category.panel_message_id {
        Observed::yes(
            READY,
            reason::PANEL_POSTED,
            format!(
                "the panel is posted (message {panel}) and the bot reports no Discord-side problem"
            ),
        )
    } else {
        Observed::no(
            READY,
            reason::PANEL_NOT_POSTED,
            format!(
                "the panel is not posted yet in channel {} (createChannelId)",
                inputs.create_channel_id
            ),
        )
    };
    CategoryObservation {
        accepted,
        ready,
        panel_message_id: category.panel_message_id.clone(),
        open_tickets: Some(i32::try_from(category.open_tickets.max(0)).unwrap_or(i32::MAX)),
        parents: category
            .parents
            .iter()
            .map(|fill| ParentFillStatus {
                channel_id: fill.channel_id.clone(),
                channels: i32::try_from(fill.channels).unwrap_or(i32::MAX),
                limit: i32::try_from(fill.limit).unwrap_or(i32::MAX),
            })
            .collect(),
    }
}

/// The whole new TicketCategory status.
pub fn category_status(
    previous: Option<&TicketCategoryStatus>,
    observation: &CategoryObservation,
    generation: Option<i64>,
    now: &Time,
) -> TicketCategoryStatus {
    let previous_conditions = previous
        .map(|status| status.conditions.as_slice())
        .unwrap_or_default();
    TicketCategoryStatus {
        observed_generation: generation,
        conditions: merge_conditions(
            previous_conditions,
            &[observation.accepted.clone(), observation.ready.clone()],
            generation,
            now,
        ),
        panel_message_id: observation.panel_message_id.clone(),
        open_tickets: observation.open_tickets,
        parents: observation.parents.clone(),
    }
}
