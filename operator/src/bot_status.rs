//! Reading a bot's `/status` (its view of Discord: panels, open tickets, problems) over plain HTTP
//! from the bot's Service.
//!
//! An unreachable or broken endpoint is an answer, not a failure of the reconcile: the caller
//! turns a [`StatusFetchError`] into a `Ready=False` condition whose message is this error's text,
//! so the text names the URL and the cause and stays the same while the cause does (a changing
//! message would rewrite the status on every poll).

use std::time::Duration;

use ticketeer_config::{HttpConfig, Snowflake, StatusReport};

/// The placeholder in [`status_url`]'s template replaced by the TicketBot's name (its Service's
/// name).
pub const NAME_PLACEHOLDER: &str = "{name}";
/// The placeholder in [`status_url`]'s template replaced by the TicketBot's namespace.
pub const NAMESPACE_PLACEHOLDER: &str = "{namespace}";
/// How much of an error response's body a message quotes.
const BODY_QUOTE_MAX_CHARS: usize = 200;
/// The largest `/status` answer read: a report is about 200 bytes per category, so this leaves
/// room for thousands while keeping a misbehaving endpoint from filling the operator's memory.
pub const BODY_MAX_BYTES: usize = 1024 * 1024;

/// The in-cluster URL template: the bot's Service, on the bot's HTTP port.
pub fn default_status_url_template() -> String {
    format!(
        "http://{NAME_PLACEHOLDER}.{NAMESPACE_PLACEHOLDER}.svc:{}/status",
        HttpConfig::DEFAULT_PORT
    )
}

/// The `/status` URL of the TicketBot `name` in `namespace`, from a template with
/// [`NAME_PLACEHOLDER`] and [`NAMESPACE_PLACEHOLDER`] (a template without them is used as is).
pub fn status_url(template: &str, name: &str, namespace: &str) -> String {
    template
        .replace(NAME_PLACEHOLDER, name)
        .replace(NAMESPACE_PLACEHOLDER, namespace)
}

/// Why a bot's `/status` could not be read.
#[derive(Debug, thiserror::Error)]
pub enum StatusFetchError {
    /// The HTTP client could not be created.
    #[error("cannot create the HTTP client for the bots' /status: {0}")]
    BuildClient(#[source] reqwest::Error),
    /// No answer within the timeout.
    #[error("no answer from {url} within {timeout:?}")]
    TimedOut {
        /// The URL asked.
        url: String,
        /// How long the operator waited.
        timeout: Duration,
    },
    /// The request did not reach the bot (DNS, connection refused, reset).
    #[error("cannot reach {url}: {cause}")]
    Connect {
        /// The URL asked.
        url: String,
        /// The innermost cause, e.g. `Connection refused (os error 111)`.
        cause: String,
    },
    /// The bot answered with an error status.
    #[error("{url} answered {status}: {body}")]
    HttpStatus {
        /// The URL asked.
        url: String,
        /// The HTTP status.
        status: reqwest::StatusCode,
        /// The start of the body (the bot says there what is wrong).
        body: String,
    },
    /// The answer is not a status report.
    #[error("{url} did not answer with a status report: {cause}")]
    Decode {
        /// The URL asked.
        url: String,
        /// What did not parse.
        cause: String,
    },
}

/// A bounded, printable quote of text a bot sent: at most [`BODY_QUOTE_MAX_CHARS`] characters,
/// control characters as spaces.
fn quote(text: &str) -> String {
    crate::status::bounded_to(text.trim(), BODY_QUOTE_MAX_CHARS)
}

/// `report` with what reaches a status field made safe: a panel message id that is not a Discord
/// id is dropped (it is copied into `status.panelMessageId`), ticket counts are never negative.
/// Problems are typed and rendered by the operator, which bounds their text when it writes them.
fn sanitised(mut report: StatusReport) -> StatusReport {
    for category in report.categories.values_mut() {
        category.panel_message_id = category
            .panel_message_id
            .take()
            .filter(|id| Snowflake::new(id.as_str()).is_valid());
        category.open_tickets = category.open_tickets.max(0);
    }
    report
}

/// The innermost cause of `error`: reqwest's own text repeats the URL and says only "error
/// sending request", while the root (e.g. "Connection refused") is what a person can act on.
fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut current = error;
    while let Some(source) = current.source() {
        current = source;
    }
    current.to_string()
}

/// An HTTP client for bots' `/status`, with a short timeout so a hung bot cannot stall a
/// reconcile.
#[derive(Debug, Clone)]
pub struct StatusClient {
    http: reqwest::Client,
    timeout: Duration,
}

impl StatusClient {
    /// Creates the client; each request gives up after `timeout`.
    ///
    /// # Errors
    ///
    /// [`StatusFetchError::BuildClient`] when reqwest cannot set up its client.
    pub fn new(timeout: Duration) -> Result<Self, StatusFetchError> {
        // reqwest is built without a default crypto provider; the Service is plain HTTP, but the
        // client still sets up TLS, so give it ring (installing twice is harmless).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            // The report comes from the bot's own Service; a redirect could only send the
            // operator somewhere else, so a 3xx is an answer like any other non-success.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(StatusFetchError::BuildClient)?;
        Ok(Self { http, timeout })
    }

    /// Fetches and parses the report at `url`.
    ///
    /// # Errors
    ///
    /// [`StatusFetchError::TimedOut`], [`StatusFetchError::Connect`],
    /// [`StatusFetchError::HttpStatus`] or [`StatusFetchError::Decode`].
    pub async fn fetch(&self, url: &str) -> Result<StatusReport, StatusFetchError> {
        let describe = |error: reqwest::Error| {
            if error.is_timeout() {
                StatusFetchError::TimedOut {
                    url: url.to_owned(),
                    timeout: self.timeout,
                }
            } else if error.is_decode() || error.is_body() {
                StatusFetchError::Decode {
                    url: url.to_owned(),
                    cause: quote(&root_cause(&error)),
                }
            } else {
                StatusFetchError::Connect {
                    url: url.to_owned(),
                    cause: quote(&root_cause(&error)),
                }
            }
        };
        let mut response = self.http.get(url).send().await.map_err(describe)?;
        let status = response.status();
        let too_large = || StatusFetchError::Decode {
            url: url.to_owned(),
            cause: format!("the answer is larger than {BODY_MAX_BYTES} bytes"),
        };
        if response
            .content_length()
            .is_some_and(|length| length > BODY_MAX_BYTES as u64)
        {
            return Err(too_large());
        }
        // Read in chunks so that an answer without a length cannot grow without bound either.
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(describe)? {
            if body.len() + chunk.len() > BODY_MAX_BYTES {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        if !status.is_success() {
            return Err(StatusFetchError::HttpStatus {
                url: url.to_owned(),
                status,
                body: quote(&String::from_utf8_lossy(&body)),
            });
        }
        let report: StatusReport =
            serde_json::from_slice(&body).map_err(|error| StatusFetchError::Decode {
                url: url.to_owned(),
                cause: quote(&error.to_string()),
            })?;
        Ok(sanitised(report))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_url_is_the_bots_service_on_the_bots_port() {
        assert_eq!(
            status_url(&default_status_url_template(), "support", "tickets"),
            "http://support.tickets.svc:8080/status"
        );
    }

    #[test]
    fn a_template_without_placeholders_is_used_as_is() {
        assert_eq!(
            status_url("http://127.0.0.1:9000/status", "support", "tickets"),
            "http://127.0.0.1:9000/status"
        );
    }

    #[derive(Debug, thiserror::Error)]
    #[error("error sending request")]
    struct Outer(#[source] Middle);

    #[derive(Debug, thiserror::Error)]
    #[error("client error (Connect)")]
    struct Middle(#[source] std::io::Error);

    #[test]
    fn the_root_cause_is_the_innermost_error() {
        let error = Outer(Middle(std::io::Error::new(
            std::io::ErrorKind::ConnectionRefused,
            "Connection refused",
        )));
        assert_eq!(root_cause(&error), "Connection refused");
    }
}
