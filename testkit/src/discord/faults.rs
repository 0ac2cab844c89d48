//! Faults a test arms: the next requests matching a method and route fail with a chosen status,
//! so the bot's handling of Discord's failures can be proven without a real outage.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The next `count` requests matching `method` and `route` fail with `status` and a Discord error
/// body. A 429 carries rate-limit headers with `retry_after`, so twilight waits and retries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultSpec {
    /// HTTP method to match; empty matches any.
    pub method: String,
    /// Route template (`/channels/{channel_id}/messages`) or exact path (`/channels/1/messages`).
    pub route: String,
    /// How many requests fail.
    pub count: u32,
    /// HTTP status to answer with.
    pub status: u16,
    /// Discord error code in the body.
    pub code: u64,
    /// Discord error message in the body.
    pub message: String,
    /// For 429: how long the client must wait.
    #[serde(default, with = "millis")]
    pub retry_after: Duration,
}

mod millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(
        value: &Duration,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.serialize_u64(u64::try_from(value.as_millis()).unwrap_or(u64::MAX))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Duration, D::Error> {
        u64::deserialize(deserializer).map(Duration::from_millis)
    }
}

impl FaultSpec {
    /// One failure of `method route` with `status` and the body Discord sends for it.
    pub fn new(method: &str, route: &str, status: u16) -> Self {
        let message = match status {
            429 => "You are being rate limited.".to_owned(),
            500 => "500: Internal Server Error".to_owned(),
            502 => "502: Bad Gateway".to_owned(),
            503 => "503: Service Unavailable".to_owned(),
            other => format!("{other}: Error"),
        };
        Self {
            method: method.to_owned(),
            route: route.to_owned(),
            count: 1,
            status,
            code: 0,
            message,
            retry_after: Duration::from_millis(500),
        }
    }

    /// Fail this many requests.
    #[must_use]
    pub fn times(mut self, count: u32) -> Self {
        self.count = count;
        self
    }

    /// Use this Discord error code and message.
    #[must_use]
    pub fn with_error(mut self, code: u64, message: &str) -> Self {
        self.code = code;
        message.clone_into(&mut self.message);
        self
    }

    /// For a 429: how long to make the client wait.
    #[must_use]
    pub fn retry_after(mut self, wait: Duration) -> Self {
        self.retry_after = wait;
        self
    }
}

/// A fault armed by a test: the next `remaining` matching requests fail.
#[derive(Debug, Clone)]
pub(crate) struct ArmedFault {
    pub(crate) spec: FaultSpec,
    pub(crate) remaining: u32,
}

/// The spec of the first armed fault matching the request, counting it used; `route` matches the
/// template or the exact path.
pub(crate) fn take(
    faults: &mut Vec<ArmedFault>,
    method: &str,
    template: &str,
    path: &str,
) -> Option<FaultSpec> {
    let fault = faults.iter_mut().find(|f| {
        f.remaining > 0
            && (f.spec.method.is_empty() || f.spec.method.eq_ignore_ascii_case(method))
            && (f.spec.route == template || f.spec.route == path)
    })?;
    fault.remaining -= 1;
    let spec = fault.spec.clone();
    faults.retain(|f| f.remaining > 0);
    Some(spec)
}
