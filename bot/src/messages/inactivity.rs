//! The texts of the auto-close of abandoned tickets: the warning with its Keep open button, what
//! it becomes once withdrawn, and the close reason.

use std::fmt::Write as _;
use std::time::Duration;

use twilight_model::channel::message::component::{ActionRow, ButtonStyle};
use twilight_model::channel::message::{AllowedMentions, Component};
use twilight_model::id::Id;
use twilight_model::id::marker::UserMarker;

use super::labelled_button;
use crate::custom_id::CustomId;

/// A duration as people say it, in the largest unit that divides it exactly: "3 days",
/// "36 hours", "90 minutes", "1 second".
pub(crate) fn human_duration(duration: Duration) -> String {
    let seconds = duration.as_secs();
    let (count, unit) = [(86_400, "day"), (3_600, "hour"), (60, "minute")]
        .into_iter()
        .find(|(size, _)| seconds >= *size && seconds.is_multiple_of(*size))
        .map_or((seconds, "second"), |(size, unit)| (seconds / size, unit));
    let plural = if count == 1 { "" } else { "s" };
    format!("{count} {unit}{plural}")
}

/// The close reason of a ticket closed after `inactive` without a message from its creator.
pub(crate) fn inactivity_close_reason(inactive: Duration) -> String {
    format!(
        "Closed after {} without a message from the creator",
        human_duration(inactive)
    )
}

/// The warning posted in an abandoned ticket.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct InactivityWarning {
    /// Who is warned, when it closes, and how to keep it open.
    pub content: String,
    /// The Keep open button.
    pub components: Vec<Component>,
    /// Only the creator is pinged.
    pub allowed_mentions: AllowedMentions,
}

/// Builds the warning of ticket `ticket_id`, whose `creator` wrote nothing for `quiet`; it
/// closes at `closes_at_unix` (seconds; Discord counts down in each reader's time zone).
pub(crate) fn inactivity_warning(
    ticket_id: i64,
    creator: Id<UserMarker>,
    quiet: Duration,
    closes_at_unix: i64,
) -> InactivityWarning {
    let mut content = format!(
        "<@{creator}>, this ticket will close <t:{closes_at_unix}:R> because nobody has written \
         in it for {}.",
        human_duration(quiet)
    );
    let _ = write!(
        content,
        "\nPress **Keep open** or write a message to keep it open."
    );
    InactivityWarning {
        content,
        components: vec![Component::ActionRow(ActionRow {
            id: None,
            components: vec![labelled_button(
                &CustomId::KeepAlive { ticket_id },
                "Keep open",
                ButtonStyle::Secondary,
            )],
        })],
        allowed_mentions: AllowedMentions {
            parse: Vec::new(),
            replied_user: false,
            roles: Vec::new(),
            users: vec![creator],
        },
    }
}

/// What the warning is edited to once the close is withdrawn (its button gone).
pub(crate) fn inactivity_warning_withdrawn(by: Option<Id<UserMarker>>) -> String {
    match by {
        Some(user) => {
            format!("This ticket was going to close for inactivity; <@{user}> kept it open.")
        }
        None => "This ticket was going to close for inactivity; it stays open.".to_owned(),
    }
}

#[cfg(test)]
#[expect(
    clippy::duration_suboptimal_units,
    reason = "the config gives seconds, so the tests do too"
)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_in_the_largest_exact_unit() {
        assert_eq!(human_duration(Duration::from_secs(259_200)), "3 days");
        assert_eq!(human_duration(Duration::from_secs(86_400)), "1 day");
        assert_eq!(human_duration(Duration::from_secs(129_600)), "36 hours");
        assert_eq!(human_duration(Duration::from_secs(3_600)), "1 hour");
        assert_eq!(human_duration(Duration::from_secs(5_400)), "90 minutes");
        assert_eq!(human_duration(Duration::from_secs(61)), "61 seconds");
        assert_eq!(human_duration(Duration::from_secs(1)), "1 second");
        assert_eq!(human_duration(Duration::ZERO), "0 seconds");
    }

    #[test]
    fn the_close_reason_says_how_long_the_creator_was_quiet() {
        assert_eq!(
            inactivity_close_reason(Duration::from_secs(172_800)),
            "Closed after 2 days without a message from the creator"
        );
        assert_eq!(
            inactivity_close_reason(Duration::from_secs(7_200)),
            "Closed after 2 hours without a message from the creator"
        );
    }

    #[test]
    fn the_warning_pings_only_the_creator_with_a_countdown_and_a_keep_open_button() {
        let warning = inactivity_warning(
            42,
            Id::new(7),
            Duration::from_secs(3 * 3_600),
            1_700_000_000,
        );
        assert_eq!(
            warning.content,
            "<@7>, this ticket will close <t:1700000000:R> because nobody has written in it for \
             3 hours.\nPress **Keep open** or write a message to keep it open."
        );
        assert_eq!(warning.allowed_mentions.users, [Id::new(7)]);
        assert!(warning.allowed_mentions.parse.is_empty());
        assert!(warning.allowed_mentions.roles.is_empty());
        let json = serde_json::to_value(&warning.components).unwrap();
        assert_eq!(
            json[0]["components"][0]["custom_id"],
            "ticketeer:keep-alive:42"
        );
        assert_eq!(json[0]["components"][0]["label"], "Keep open");
        assert_eq!(json[0]["components"].as_array().unwrap().len(), 1);
    }

    #[test]
    fn a_withdrawn_warning_says_who_kept_the_ticket_open() {
        assert_eq!(
            inactivity_warning_withdrawn(Some(Id::new(9))),
            "This ticket was going to close for inactivity; <@9> kept it open."
        );
        assert!(inactivity_warning_withdrawn(None).ends_with("it stays open."));
    }
}
