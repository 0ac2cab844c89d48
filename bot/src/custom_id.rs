//! The custom ids the bot puts on its buttons and forms, and parsing them back from clicks and
//! submits.
//!
//! Buttons live on in Discord long after the config that made them changed, so a click may carry
//! an id from an older version or another bot: parsing never panics and an unknown id becomes a
//! friendly answer to the clicker. Every id of ours starts with `ticketeer:`, so ids of other
//! apps are told apart at once.

use std::fmt;

/// The prefix of an open button's custom id; the category key follows.
pub(crate) const OPEN_PREFIX: &str = "ticketeer:open:";
/// The prefix of a close button's custom id; the ticket id follows.
pub(crate) const CLOSE_PREFIX: &str = "ticketeer:close:";
/// The prefix of the close-reason form's custom id; the ticket id follows.
pub(crate) const CLOSE_REASON_PREFIX: &str = "ticketeer:close-reason:";
/// The prefix of the Claim button's custom id; the ticket id follows.
pub(crate) const CLAIM_PREFIX: &str = "ticketeer:claim:";
/// The prefix of the Unclaim button's custom id (the Claim button once claimed).
pub(crate) const UNCLAIM_PREFIX: &str = "ticketeer:unclaim:";
/// The prefix of a close request's Confirm button.
pub(crate) const CONFIRM_CLOSE_PREFIX: &str = "ticketeer:confirm-close:";
/// The prefix of a close request's Keep open button.
pub(crate) const KEEP_OPEN_PREFIX: &str = "ticketeer:keep-open:";
/// The prefix of an inactivity warning's Keep open button.
pub(crate) const KEEP_ALIVE_PREFIX: &str = "ticketeer:keep-alive:";

/// The prefixes followed by a ticket number, with the id each one makes.
/// Makes the id of a ticket's button from the ticket number.
type TicketIdMaker = fn(i64) -> CustomId;

const TICKET_PREFIXES: [(&str, TicketIdMaker); 7] = [
    (CLOSE_PREFIX, |ticket_id| CustomId::Close { ticket_id }),
    (CLOSE_REASON_PREFIX, |ticket_id| CustomId::CloseReason {
        ticket_id,
    }),
    (CLAIM_PREFIX, |ticket_id| CustomId::Claim { ticket_id }),
    (UNCLAIM_PREFIX, |ticket_id| CustomId::Unclaim { ticket_id }),
    (CONFIRM_CLOSE_PREFIX, |ticket_id| CustomId::ConfirmClose {
        ticket_id,
    }),
    (KEEP_OPEN_PREFIX, |ticket_id| CustomId::KeepOpen {
        ticket_id,
    }),
    (KEEP_ALIVE_PREFIX, |ticket_id| CustomId::KeepAlive {
        ticket_id,
    }),
];

/// What a button of ours asks for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum CustomId {
    /// Open a ticket in the category with this key (a panel's button).
    Open {
        /// The category's stable key.
        category_key: String,
    },
    /// Close this ticket (the button on a ticket's first message).
    Close {
        /// The ticket's id.
        ticket_id: i64,
    },
    /// Close this ticket with the reason given in the form the close button opened.
    CloseReason {
        /// The ticket's id.
        ticket_id: i64,
    },
    /// Claim this ticket (the Claim button on its first message).
    Claim {
        /// The ticket's id.
        ticket_id: i64,
    },
    /// Give up the claim on this ticket (the Claim button of a claimed ticket).
    Unclaim {
        /// The ticket's id.
        ticket_id: i64,
    },
    /// The creator agrees to a close request.
    ConfirmClose {
        /// The ticket's id.
        ticket_id: i64,
    },
    /// The creator keeps the ticket open despite a close request.
    KeepOpen {
        /// The ticket's id.
        ticket_id: i64,
    },
    /// The creator or staff keep an abandoned ticket open (its inactivity warning's button).
    KeepAlive {
        /// The ticket's id.
        ticket_id: i64,
    },
}

/// A custom id the bot cannot act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown button custom id {custom_id:?}")]
pub(crate) struct UnknownCustomId {
    /// The id as clicked.
    pub custom_id: String,
}

impl CustomId {
    /// Reads a clicked button's custom id.
    ///
    /// # Errors
    ///
    /// [`UnknownCustomId`] when the id is not one of ours or is malformed (a stale button).
    pub(crate) fn parse(custom_id: &str) -> Result<Self, UnknownCustomId> {
        let unknown = || UnknownCustomId {
            custom_id: custom_id.to_owned(),
        };
        if let Some(key) = custom_id.strip_prefix(OPEN_PREFIX) {
            return if key.is_empty() {
                Err(unknown())
            } else {
                Ok(Self::Open {
                    category_key: key.to_owned(),
                })
            };
        }
        for (prefix, make) in TICKET_PREFIXES {
            if let Some(id) = custom_id.strip_prefix(prefix) {
                return ticket_number(id).map(make).ok_or_else(unknown);
            }
        }
        Err(unknown())
    }
}

/// A ticket number as written in a custom id: digits only, positive.
fn ticket_number(text: &str) -> Option<i64> {
    let all_digits = !text.is_empty() && text.bytes().all(|byte| byte.is_ascii_digit());
    text.parse::<i64>()
        .ok()
        .filter(|ticket_id| all_digits && *ticket_id > 0)
}

impl fmt::Display for CustomId {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Open { category_key } => write!(formatter, "{OPEN_PREFIX}{category_key}"),
            Self::Close { ticket_id } => write!(formatter, "{CLOSE_PREFIX}{ticket_id}"),
            Self::CloseReason { ticket_id } => {
                write!(formatter, "{CLOSE_REASON_PREFIX}{ticket_id}")
            }
            Self::Claim { ticket_id } => write!(formatter, "{CLAIM_PREFIX}{ticket_id}"),
            Self::Unclaim { ticket_id } => write!(formatter, "{UNCLAIM_PREFIX}{ticket_id}"),
            Self::ConfirmClose { ticket_id } => {
                write!(formatter, "{CONFIRM_CLOSE_PREFIX}{ticket_id}")
            }
            Self::KeepOpen { ticket_id } => write!(formatter, "{KEEP_OPEN_PREFIX}{ticket_id}"),
            Self::KeepAlive { ticket_id } => write!(formatter, "{KEEP_ALIVE_PREFIX}{ticket_id}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_and_close_ids_round_trip() {
        for id in [
            CustomId::Open {
                category_key: "support/billing".to_owned(),
            },
            CustomId::Close { ticket_id: 42 },
            CustomId::CloseReason { ticket_id: 42 },
            CustomId::Claim { ticket_id: 42 },
            CustomId::Unclaim { ticket_id: 42 },
            CustomId::ConfirmClose { ticket_id: 42 },
            CustomId::KeepOpen { ticket_id: 42 },
            CustomId::KeepAlive { ticket_id: 42 },
        ] {
            assert_eq!(CustomId::parse(&id.to_string()), Ok(id));
        }
    }

    #[test]
    fn ids_are_written_as_documented() {
        let open = CustomId::Open {
            category_key: "general".to_owned(),
        };
        assert_eq!(open.to_string(), "ticketeer:open:general");
        assert_eq!(
            CustomId::Close { ticket_id: 7 }.to_string(),
            "ticketeer:close:7"
        );
        assert_eq!(
            CustomId::CloseReason { ticket_id: 7 }.to_string(),
            "ticketeer:close-reason:7"
        );
        assert_eq!(
            CustomId::Claim { ticket_id: 7 }.to_string(),
            "ticketeer:claim:7"
        );
        assert_eq!(
            CustomId::ConfirmClose { ticket_id: 7 }.to_string(),
            "ticketeer:confirm-close:7"
        );
    }

    #[test]
    fn the_longest_category_key_fits_in_a_custom_id() {
        let key = "k".repeat(ticketeer_config::CATEGORY_KEY_MAX_CHARS);
        let id = CustomId::Open { category_key: key }.to_string();
        assert!(id.len() <= ticketeer_config::CUSTOM_ID_MAX_CHARS);
    }

    #[test]
    fn foreign_stale_and_malformed_ids_are_rejected() {
        for bad in [
            "",
            "ticket:close",
            "ticketeer:open:",
            "ticketeer:close:",
            "ticketeer:close:abc",
            "ticketeer:close:-3",
            "ticketeer:close:0",
            "ticketeer:close:+3",
            "ticketeer:close:99999999999999999999",
            "ticketeer:close-reason:",
            "ticketeer:close-reason:x1",
            "ticketeer:claim:",
            "ticketeer:unclaim:x",
            "ticketeer:confirm-close:0",
            "ticketeer:keep-open:-1",
            "ticketeer:keep-alive:",
            "ticketeer:claims:4",
            "somebot:open:general",
        ] {
            let error = CustomId::parse(bad).expect_err(bad);
            assert_eq!(error.custom_id, bad);
        }
    }
}
