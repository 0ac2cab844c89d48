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
/// The custom id of a shared panel's select menu; the chosen option's value is the category key.
pub(crate) const CHOOSE_CATEGORY_ID: &str = "ticketeer:choose-category";
/// The prefix of the form a category with questions shows before opening; the category key
/// follows.
pub(crate) const OPEN_FORM_PREFIX: &str = "ticketeer:form:";
/// The prefix of a rating button in the DM after a close; `<ticket>:<rating>` follows.
pub(crate) const RATE_PREFIX: &str = "ticketeer:rate:";
/// The prefix of the comment form a rating button opens; `<ticket>:<rating>` follows.
pub(crate) const FEEDBACK_PREFIX: &str = "ticketeer:feedback:";
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
    /// Open a ticket in this category with the answers of the submitted form.
    OpenForm {
        /// The category's stable key.
        category_key: String,
    },
    /// Rate this closed ticket (a button of the DM after the close); opens the comment form.
    Rate {
        /// The ticket's id.
        ticket_id: i64,
        /// 1 to 5.
        rating: u8,
    },
    /// Record this rating, with the comment typed into the form.
    Feedback {
        /// The ticket's id.
        ticket_id: i64,
        /// 1 to 5.
        rating: u8,
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
        if let Some(key) = custom_id.strip_prefix(OPEN_FORM_PREFIX) {
            return if key.is_empty() {
                Err(unknown())
            } else {
                Ok(Self::OpenForm {
                    category_key: key.to_owned(),
                })
            };
        }
        for (prefix, is_form) in [(RATE_PREFIX, false), (FEEDBACK_PREFIX, true)] {
            if let Some(rest) = custom_id.strip_prefix(prefix) {
                let (ticket, rating) = rest.split_once(':').ok_or_else(unknown)?;
                let ticket_id = ticket_number(ticket).ok_or_else(unknown)?;
                let rating = match rating.as_bytes() {
                    [digit @ b'1'..=b'5'] => digit - b'0',
                    _ => return Err(unknown()),
                };
                return Ok(if is_form {
                    Self::Feedback { ticket_id, rating }
                } else {
                    Self::Rate { ticket_id, rating }
                });
            }
        }
        for (prefix, make) in TICKET_PREFIXES {
            if let Some(id) = custom_id.strip_prefix(prefix) {
                return ticket_number(id).map(make).ok_or_else(unknown);
            }
        }
        Err(unknown())
    }
}

impl CustomId {
    /// Reads a clicked component: a button's custom id, or a choice in a panel's select menu
    /// (whose value is the category key, so it opens like that category's button).
    ///
    /// # Errors
    ///
    /// [`UnknownCustomId`] as [`parse`](Self::parse) does, and for a choice of no value.
    pub(crate) fn parse_component(
        custom_id: &str,
        values: &[String],
    ) -> Result<Self, UnknownCustomId> {
        if custom_id != CHOOSE_CATEGORY_ID {
            return Self::parse(custom_id);
        }
        match values {
            [key] if !key.is_empty() => Ok(Self::Open {
                category_key: key.clone(),
            }),
            _ => Err(UnknownCustomId {
                custom_id: custom_id.to_owned(),
            }),
        }
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
            Self::OpenForm { category_key } => {
                write!(formatter, "{OPEN_FORM_PREFIX}{category_key}")
            }
            Self::Rate { ticket_id, rating } => {
                write!(formatter, "{RATE_PREFIX}{ticket_id}:{rating}")
            }
            Self::Feedback { ticket_id, rating } => {
                write!(formatter, "{FEEDBACK_PREFIX}{ticket_id}:{rating}")
            }
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
            CustomId::OpenForm {
                category_key: "support/billing".to_owned(),
            },
            CustomId::Rate {
                ticket_id: 42,
                rating: 5,
            },
            CustomId::Feedback {
                ticket_id: 42,
                rating: 1,
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
        let id = CustomId::Open {
            category_key: key.clone(),
        }
        .to_string();
        assert!(id.len() <= ticketeer_config::CUSTOM_ID_MAX_CHARS);
        let form = CustomId::OpenForm { category_key: key }.to_string();
        assert!(form.len() <= ticketeer_config::CUSTOM_ID_MAX_CHARS);
    }

    #[test]
    fn a_choice_in_a_panel_menu_opens_the_chosen_category() {
        assert_eq!(
            CustomId::parse_component(CHOOSE_CATEGORY_ID, &["support/billing".to_owned()]),
            Ok(CustomId::Open {
                category_key: "support/billing".to_owned()
            })
        );
        assert!(CustomId::parse_component(CHOOSE_CATEGORY_ID, &[]).is_err());
        assert!(
            CustomId::parse_component(CHOOSE_CATEGORY_ID, &["a".to_owned(), "b".to_owned()])
                .is_err()
        );
        assert_eq!(
            CustomId::parse_component("ticketeer:close:7", &[]),
            Ok(CustomId::Close { ticket_id: 7 })
        );
    }

    #[test]
    fn ratings_outside_one_to_five_are_not_ours() {
        assert_eq!(
            CustomId::parse("ticketeer:rate:7:3"),
            Ok(CustomId::Rate {
                ticket_id: 7,
                rating: 3
            })
        );
        for id in [
            "ticketeer:rate:7:0",
            "ticketeer:rate:7:6",
            "ticketeer:rate:7",
            "ticketeer:rate:x:3",
            "ticketeer:feedback:7:+3",
        ] {
            assert!(CustomId::parse(id).is_err(), "{id}");
        }
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
