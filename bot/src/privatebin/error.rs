//! The one error type of the PrivateBin client.

use std::fmt;
use std::time::Duration;

/// Which PrivateBin API call an error belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PasteAction {
    /// Creating a paste.
    Create,
    /// Reading a paste.
    Read,
    /// Deleting a paste.
    Delete,
}

impl fmt::Display for PasteAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Create => "create the paste",
            Self::Read => "read the paste",
            Self::Delete => "delete the paste",
        })
    }
}

/// Everything that can fail while encrypting, uploading, reading or deleting a paste.
#[derive(Debug, thiserror::Error)]
pub enum PrivateBinError {
    /// The configured expiry is not one of PrivateBin's values.
    #[error(
        "unknown paste expiry {value:?}: expected one of 5min, 10min, 1hour, 1day, 1week, 1month, 1year, never"
    )]
    UnknownExpiry {
        /// The value as given; the message lists the accepted ones.
        value: String,
    },
    /// Burn-after-reading and open discussion were both requested; PrivateBin rejects that.
    #[error("a paste cannot be both burn-after-reading and open for discussion")]
    ConflictingFlags,
    /// The base URL of the PrivateBin server is unusable.
    #[error("invalid PrivateBin base URL {url:?}: {reason}")]
    InvalidBaseUrl {
        /// The URL as configured.
        url: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A share link could not be parsed.
    #[error("invalid PrivateBin share link: {reason}")]
    InvalidShareLink {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The paste key in a link is not valid base58 or is longer than 32 bytes.
    #[error("invalid paste key in the share link: {reason}")]
    InvalidPasteKey {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The server answered with a paste id that is not safe to put in a link.
    #[error("the server answered with an invalid paste id {id:?}")]
    InvalidPasteId {
        /// The id as answered.
        id: String,
    },
    /// Serialising or deflating the plaintext failed.
    #[error("could not compress the paste")]
    CompressPaste(#[source] std::io::Error),
    /// AES-GCM refused to encrypt (only possible for absurdly large inputs).
    #[error("could not encrypt the paste")]
    EncryptPaste,
    /// The paste's adata is not a PrivateBin v2 cipher specification we can decrypt.
    #[error("unsupported paste format: {detail}")]
    UnsupportedPaste {
        /// What was found.
        detail: String,
    },
    /// The ciphertext or a base64 field is not valid base64.
    #[error("the paste's {field} is not valid base64")]
    DecodeBase64 {
        /// Which field: the ciphertext, or the adata's IV or salt.
        field: &'static str,
        /// Where the base64 breaks.
        #[source]
        source: base64::DecodeError,
    },
    /// Authenticated decryption failed: wrong key, or the paste was altered.
    #[error("could not decrypt the paste: wrong key or tampered data")]
    DecryptPaste,
    /// The decrypted data did not inflate.
    #[error("could not decompress the decrypted paste")]
    InflatePaste(#[source] std::io::Error),
    /// The decrypted data is not the `{"paste": …}` JSON document.
    #[error("the decrypted paste is not a PrivateBin document")]
    ParsePlaintext(#[source] serde_json::Error),
    /// Building the HTTP client failed.
    #[error("could not build the HTTP client")]
    BuildHttpClient(#[source] reqwest::Error),
    /// The request did not reach the server or no answer came back in time.
    #[error("could not {action}: request failed")]
    SendRequest {
        /// The call that failed, named in the message.
        action: PasteAction,
        /// The transport error (connection, timeout, body).
        #[source]
        source: reqwest::Error,
    },
    /// The server answered with an HTTP error status.
    #[error("could not {action}: the server answered HTTP {status}")]
    ServerStatus {
        /// The call that failed, named in the message.
        action: PasteAction,
        /// The HTTP status code.
        status: u16,
    },
    /// The server answered, but not with the JSON the API documents.
    #[error("could not {action}: the server's answer is not PrivateBin JSON")]
    ParseAnswer {
        /// The call that failed, named in the message.
        action: PasteAction,
        /// What is wrong with the answer's body.
        #[source]
        source: serde_json::Error,
    },
    /// The server refused the request (`status: 1`) with its own message.
    #[error("could not {action}: the server said {message:?}")]
    ServerRejected {
        /// The call that failed, named in the message.
        action: PasteAction,
        /// The server's message, verbatim.
        message: String,
    },
    /// A file to attach is larger than one paste may be; files are never split.
    #[error(
        "the file's paste would hold {ciphertext_len} bytes of ciphertext, over the limit of {limit}"
    )]
    FileTooLarge {
        /// The paste's base64 ciphertext length.
        ciphertext_len: usize,
        /// The most one paste may hold.
        limit: usize,
    },
    /// The server refused a paste for its size: in its size-limit message, or (in a language we
    /// do not read) with the same unrecognised refusal after a wait that clears the limiter.
    #[error(
        "could not create the paste: {ciphertext_len} bytes of ciphertext are too large for the server, which said {message:?}"
    )]
    PasteTooLarge {
        /// The refused paste's base64 ciphertext length.
        ciphertext_len: usize,
        /// The server's message, verbatim.
        message: String,
    },
    /// The upload queue's task is gone (the bot is shutting down).
    #[error("the upload queue has stopped")]
    QueueStopped,
    /// The transcript cannot be split small enough for the server's size limit.
    #[error("the transcript cannot be split to fit the size limit of {limit} bytes of ciphertext")]
    SplitTranscript {
        /// The limit in base64 ciphertext bytes.
        limit: usize,
    },
    /// A part of a multi-part transcript does not link to the next part where it should.
    #[error("part {part} of the transcript is missing its link to the next part")]
    BrokenPartChain {
        /// One-based number of the broken part.
        part: usize,
    },
}

/// Message prefix of PrivateBin's traffic limiter answer.
const TRAFFIC_LIMIT_PREFIX: &str = "Please wait ";
/// Message prefix of PrivateBin's size limit answer.
const SIZE_LIMIT_PREFIX: &str = "Document is limited to ";
/// PrivateBin's English refusals that no retry cures: the paste breaks the server's rules, or
/// this address may not create pastes at all (`[traffic] creators`; 1.x and 2.x wording).
const PERMANENT_REFUSALS: [&str; 3] = [
    "Invalid data.",
    "Your IP is not authorized to create documents.",
    "Your IP is not authorized to create pastes.",
];

/// PrivateBin's English answer to a read or delete of a paste it does not have (any more), in
/// 2.x and in 1.x wording: it says the same whether the paste never existed, expired or was
/// deleted, so that an id cannot be probed.
const PASTE_GONE: [&str; 2] = [
    "Document does not exist, has expired or has been deleted.",
    "Paste does not exist, has expired or has been deleted.",
];

impl PrivateBinError {
    /// Whether the server says the paste is not there: for a delete, the paste is as deleted as
    /// it will ever be. A wrong delete token is not this (the server says so in other words).
    pub fn is_paste_gone(&self) -> bool {
        match self {
            Self::ServerRejected {
                action: PasteAction::Read | PasteAction::Delete,
                message,
            } => PASTE_GONE.contains(&message.as_str()),
            _ => false,
        }
    }

    /// How long the server's traffic limiter asks us to wait, if this is its answer.
    pub fn traffic_limit_wait(&self) -> Option<Duration> {
        match self {
            Self::ServerRejected { message, .. } => parse_traffic_limit_wait(message),
            _ => None,
        }
    }

    /// Whether the server refused the paste for being over its size limit.
    pub fn is_size_limit(&self) -> bool {
        match self {
            Self::ServerRejected { message, .. } => message.starts_with(SIZE_LIMIT_PREFIX),
            Self::PasteTooLarge { .. } => true,
            _ => false,
        }
    }

    /// The message of a refused create that is none of PrivateBin's English refusals: most
    /// likely one of them in the instance's own language, so it may be the traffic limiter (it
    /// passes with time), the size limit (it passes when split) or neither.
    pub fn unrecognised_refusal(&self) -> Option<&str> {
        match self {
            Self::ServerRejected {
                action: PasteAction::Create,
                message,
            } if parse_traffic_limit_wait(message).is_none()
                && !message.starts_with(SIZE_LIMIT_PREFIX)
                && !PERMANENT_REFUSALS.contains(&message.as_str()) =>
            {
                Some(message)
            }
            _ => None,
        }
    }

    /// Whether retrying the same request later may succeed (network trouble, server errors).
    pub fn is_transient(&self) -> bool {
        match self {
            Self::SendRequest { .. } => true,
            Self::ServerStatus { status, .. } => *status >= 500 || *status == 429 || *status == 408,
            _ => false,
        }
    }
}

/// Parses "Please wait N seconds between each post." into N seconds.
pub(crate) fn parse_traffic_limit_wait(message: &str) -> Option<Duration> {
    let rest = message.strip_prefix(TRAFFIC_LIMIT_PREFIX)?;
    let digits: &str = rest.split(' ').next()?;
    let seconds: u64 = digits.parse().ok()?;
    rest[digits.len()..]
        .starts_with(" second")
        .then_some(Duration::from_secs(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traffic_limit_message_yields_its_seconds() {
        assert_eq!(
            parse_traffic_limit_wait("Please wait 10 seconds between each post."),
            Some(Duration::from_secs(10))
        );
        assert_eq!(
            parse_traffic_limit_wait("Please wait 1 second between each post."),
            Some(Duration::from_secs(1))
        );
    }

    #[test]
    fn other_messages_are_not_traffic_limits() {
        assert_eq!(parse_traffic_limit_wait("Invalid data."), None);
        assert_eq!(parse_traffic_limit_wait("Please wait a moment."), None);
        assert_eq!(parse_traffic_limit_wait("Please wait 5 minutes."), None);
    }

    #[test]
    fn size_limit_answer_is_recognised() {
        let error = PrivateBinError::ServerRejected {
            action: PasteAction::Create,
            message: "Document is limited to 2.00 MB of encrypted data.".to_owned(),
        };
        assert!(error.is_size_limit());
        assert!(!error.is_transient());
        assert_eq!(error.traffic_limit_wait(), None);
    }

    #[test]
    fn refusals_in_another_language_are_unrecognised_but_known_ones_are_not() {
        let refused = |message: &str| PrivateBinError::ServerRejected {
            action: PasteAction::Create,
            message: message.to_owned(),
        };
        let german = refused("Bitte warte 10 Sekunden zwischen dem Absenden zweier Beiträge.");
        assert_eq!(
            german.unrecognised_refusal(),
            Some("Bitte warte 10 Sekunden zwischen dem Absenden zweier Beiträge.")
        );
        for known in [
            "Please wait 10 seconds between each post.",
            "Document is limited to 2.00 MB of encrypted data.",
            "Invalid data.",
            "Your IP is not authorized to create documents.",
        ] {
            assert_eq!(refused(known).unrecognised_refusal(), None, "{known}");
        }
        let read = PrivateBinError::ServerRejected {
            action: PasteAction::Read,
            message: "Ungültige Dokument-ID.".to_owned(),
        };
        assert_eq!(
            read.unrecognised_refusal(),
            None,
            "only creates are retried"
        );
    }

    #[test]
    fn a_paste_is_gone_only_when_the_server_says_it_does_not_have_it() {
        let deleting = |message: &str| PrivateBinError::ServerRejected {
            action: PasteAction::Delete,
            message: message.to_owned(),
        };
        for gone in PASTE_GONE {
            assert!(deleting(gone).is_paste_gone(), "{gone}");
        }
        for kept in [
            "Wrong deletion token. Document was not deleted.",
            "Wrong deletion token. Paste was not deleted.",
            "Invalid document ID.",
        ] {
            assert!(!deleting(kept).is_paste_gone(), "{kept}");
        }
        let unavailable = PrivateBinError::ServerStatus {
            action: PasteAction::Delete,
            status: 503,
        };
        assert!(!unavailable.is_paste_gone());
    }

    #[test]
    fn server_errors_are_transient_but_client_errors_are_not() {
        let server = PrivateBinError::ServerStatus {
            action: PasteAction::Create,
            status: 503,
        };
        let client = PrivateBinError::ServerStatus {
            action: PasteAction::Create,
            status: 404,
        };
        assert!(server.is_transient());
        assert!(!client.is_transient());
    }
}
