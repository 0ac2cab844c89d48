//! Prometheus metrics, served at `/metrics`.

use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use crate::discord_call::DiscordCall;

/// The label of the per-category metrics: the category's stable key, not its display name, so
/// a renamed category keeps its series.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct CategoryLabel {
    /// The category's stable key.
    pub category: String,
}

/// A rating label: the category's stable key and the rating given, `1` to `5`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct RatingLabel {
    /// The category's stable key.
    pub category: String,
    /// `1` to `5`.
    pub rating: String,
}

/// A refused open's label: the category's stable key and why (`missing_role`, `denied_role`,
/// `cooldown`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct RefusalLabel {
    /// The category's stable key.
    pub category: String,
    /// Why the open was refused.
    pub reason: String,
}

/// A gateway event label: the dispatch's name, e.g. `MESSAGE_CREATE`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct EventLabel {
    /// The dispatch's name.
    pub event: String,
}

/// How a check of the config file ended: `unchanged`, `applied` or `refused`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct OutcomeLabel {
    /// `unchanged`, `applied` or `refused`.
    pub outcome: String,
}

/// A REST call label: the route template and the answer's status (`error` when none came).
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct RestLabel {
    /// What the bot was doing: a [`DiscordCall`] label, e.g. `create_ticket_channel`.
    pub call: &'static str,
    /// e.g. `POST /guilds/{guild_id}/channels`.
    pub route: &'static str,
    /// e.g. `200`, `403`, or `error`.
    pub status: String,
}

/// Every metric the bot exports.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    /// Tickets opened, by category.
    pub tickets_opened: Family<CategoryLabel, Counter>,
    /// Tickets whose close completed (channel deleted, every step done), by category.
    pub tickets_closed: Family<CategoryLabel, Counter>,
    /// Tickets currently open, by category.
    pub open_tickets: Family<CategoryLabel, Gauge>,
    /// Time from receiving an interaction to Discord accepting its acknowledgement.
    pub ack_latency: Histogram,
    /// Discord REST calls by call, route and status.
    pub rest_requests: Family<RestLabel, Counter>,
    /// Transcripts uploaded to PrivateBin.
    pub transcript_uploads: Counter,
    /// Transcript uploads that failed (each attempt).
    pub transcript_upload_failures: Counter,
    /// Gateway events whose handling finished, by event: each replica handles every event.
    pub gateway_events: Family<EventLabel, Counter>,
    /// Messages in ticket channels handled (created, or edited before their create was seen).
    pub ticket_messages_seen: Counter,
    /// Checks of the config file, by outcome.
    pub config_checks: Family<OutcomeLabel, Counter>,
    /// Ratings recorded by closed tickets' creators, by category and rating (each counted by the
    /// replica that recorded it, once).
    pub feedback_ratings: Family<RatingLabel, Counter>,
    /// Opens refused by a category's roles or cooldown, by category and reason.
    pub open_refusals: Family<RefusalLabel, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Creates and registers every metric under the `ticketeer` prefix.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("ticketeer");
        let tickets_opened = Family::<CategoryLabel, Counter>::default();
        let tickets_closed = Family::<CategoryLabel, Counter>::default();
        let open_tickets = Family::<CategoryLabel, Gauge>::default();
        // Discord fails interactions not acknowledged within 3 s; the buckets resolve well below.
        let ack_latency =
            Histogram::new([0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0]);
        let rest_requests = Family::<RestLabel, Counter>::default();
        let transcript_uploads = Counter::default();
        let transcript_upload_failures = Counter::default();
        let gateway_events = Family::<EventLabel, Counter>::default();
        let ticket_messages_seen = Counter::default();
        let config_checks = Family::<OutcomeLabel, Counter>::default();
        let feedback_ratings = Family::<RatingLabel, Counter>::default();
        let open_refusals = Family::<RefusalLabel, Counter>::default();
        registry.register(
            "open_refusals",
            "Opens refused by a category's required or denied roles or its cooldown, by category \
             and reason",
            open_refusals.clone(),
        );
        registry.register(
            "feedback_ratings",
            "Ratings given to closed tickets by their creators, by category and rating",
            feedback_ratings.clone(),
        );
        registry.register(
            "gateway_events_handled",
            "Gateway events whose handling finished, by event",
            gateway_events.clone(),
        );
        registry.register(
            "ticket_messages_seen",
            "Messages in ticket channels handled by this process",
            ticket_messages_seen.clone(),
        );
        registry.register(
            "config_checks",
            "Checks of the config file, by outcome",
            config_checks.clone(),
        );
        registry.register(
            "tickets_opened",
            "Tickets opened, by category",
            tickets_opened.clone(),
        );
        registry.register(
            "tickets_closed",
            "Tickets whose close completed, by category",
            tickets_closed.clone(),
        );
        registry.register(
            "open_tickets",
            "Tickets currently open, by category",
            open_tickets.clone(),
        );
        registry.register(
            "interaction_ack_latency_seconds",
            "Time from receiving an interaction to Discord accepting its acknowledgement",
            ack_latency.clone(),
        );
        registry.register(
            "discord_rest_requests",
            "Discord REST calls by call, route and status",
            rest_requests.clone(),
        );
        registry.register(
            "transcript_uploads",
            "Transcripts uploaded to PrivateBin",
            transcript_uploads.clone(),
        );
        registry.register(
            "transcript_upload_failures",
            "Transcript uploads to PrivateBin that failed",
            transcript_upload_failures.clone(),
        );
        Self {
            registry,
            tickets_opened,
            tickets_closed,
            open_tickets,
            ack_latency,
            rest_requests,
            transcript_uploads,
            transcript_upload_failures,
            gateway_events,
            ticket_messages_seen,
            config_checks,
            feedback_ratings,
            open_refusals,
        }
    }

    /// Counts an open in `category` refused for `reason`.
    pub fn count_open_refused(&self, category: &str, reason: &str) {
        self.open_refusals
            .get_or_create(&RefusalLabel {
                category: category.to_owned(),
                reason: reason.to_owned(),
            })
            .inc();
    }

    /// Counts a rating of `rating` recorded for a ticket of `category`.
    pub fn count_feedback(&self, category: &str, rating: u8) {
        self.feedback_ratings
            .get_or_create(&RatingLabel {
                category: category.to_owned(),
                rating: rating.to_string(),
            })
            .inc();
    }

    /// Counts one `event` dispatch whose handling finished.
    pub fn count_event_handled(&self, event: &str) {
        self.gateway_events
            .get_or_create(&EventLabel {
                event: event.to_owned(),
            })
            .inc();
    }

    /// Counts one check of the config file that ended with `outcome`.
    pub fn count_config_check(&self, outcome: &str) {
        self.config_checks
            .get_or_create(&OutcomeLabel {
                outcome: outcome.to_owned(),
            })
            .inc();
    }

    /// Counts a ticket opened in `category`.
    pub fn count_ticket_opened(&self, category: &str) {
        self.tickets_opened
            .get_or_create(&Self::category(category))
            .inc();
    }

    /// Counts a ticket of `category` whose close completed.
    pub fn count_ticket_closed(&self, category: &str) {
        self.tickets_closed
            .get_or_create(&Self::category(category))
            .inc();
    }

    /// Sets how many tickets of `category` are open.
    pub fn set_open_tickets(&self, category: &str, open: i64) {
        self.open_tickets
            .get_or_create(&Self::category(category))
            .set(open);
    }

    /// How many `event` dispatches this process finished handling.
    pub fn events_handled(&self, event: &str) -> u64 {
        self.gateway_events
            .get_or_create(&EventLabel {
                event: event.to_owned(),
            })
            .get()
    }

    /// How many config checks ended with `outcome`.
    pub fn config_checks_ended(&self, outcome: &str) -> u64 {
        self.config_checks
            .get_or_create(&OutcomeLabel {
                outcome: outcome.to_owned(),
            })
            .get()
    }

    /// Records one acknowledgement latency.
    pub fn observe_ack(&self, latency: Duration) {
        self.ack_latency.observe(latency.as_secs_f64());
    }

    /// Counts one REST call.
    pub fn count_rest(&self, call: DiscordCall, status: Option<u16>) {
        let status = status.map_or_else(|| "error".to_owned(), |status| status.to_string());
        self.rest_requests
            .get_or_create(&RestLabel {
                call: call.label(),
                route: call.route(),
                status,
            })
            .inc();
    }

    /// A category's label.
    pub fn category(key: &str) -> CategoryLabel {
        CategoryLabel {
            category: key.to_owned(),
        }
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rendered_metrics_carry_labels_and_the_latency_histogram() {
        let metrics = Metrics::new();
        metrics
            .tickets_opened
            .get_or_create(&Metrics::category("general"))
            .inc();
        metrics.count_rest(DiscordCall::CreateTicketChannel, Some(403));
        metrics.count_rest(DiscordCall::ReadBotUser, None);
        metrics.observe_ack(Duration::from_millis(12));
        let text = metrics.render();
        assert!(
            text.contains(r#"ticketeer_tickets_opened_total{category="general"} 1"#),
            "{text}"
        );
        assert!(text.contains(
            r#"ticketeer_discord_rest_requests_total{call="create_ticket_channel",route="POST /guilds/{guild_id}/channels",status="403"} 1"#
        ));
        assert!(text.contains(r#"status="error""#));
        assert!(text.contains("ticketeer_interaction_ack_latency_seconds_count 1"));
    }
}
