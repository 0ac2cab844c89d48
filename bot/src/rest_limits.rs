//! Pacing Discord REST calls so that Discord seldom has to refuse one with a 429.
//!
//! Discord answers every call on a limited route with its bucket's state (`X-RateLimit-Bucket`,
//! `-Limit`, `-Remaining`, `-Reset-After`), but documents `X-RateLimit-Scope` as sent on 429s
//! only, and twilight's limiter reads a bucket only from an answer that carries the scope: against
//! Discord as documented it learns a route's budget from the route's first refusal. [`RestLimits`]
//! learns it from every answer and holds the next call until the bucket resets. twilight's
//! limiter stays behind it, for the refusals that still come (another process using the token,
//! a limit Discord does not announce).
//!
//! The global limit is kept as a sliding window. twilight counts it in fixed one-second windows
//! that start at a window's first call, which lets up to twice the limit through in the second
//! that spans two windows, and Discord counts any second.
//!
//! Interaction callbacks and webhook calls skip both: Discord exempts them from the global limit,
//! each interaction is answered once, and a click must be acknowledged within three seconds.

use std::collections::VecDeque;
use std::sync::OnceLock;
use std::time::Duration;

use tokio::sync::Mutex;
use tokio::time::Instant;
use twilight_http::request::Method;
use twilight_http_ratelimiting::{Endpoint, Permit, RateLimitHeaders, RateLimiter};

/// Discord's global limit: requests a second for one bot, across every route but the exempt ones.
pub(crate) const DISCORD_GLOBAL_PER_SECOND: usize = 50;

/// How long a call counts against the global limit: a second, and a margin for calls that reach
/// Discord later than they left (the window is stamped when a call leaves, Discord counts when it
/// arrives).
const GLOBAL_WINDOW: Duration = Duration::from_millis(1_050);

/// The per-bucket queues and the global window, shared by every call a process makes.
#[derive(Debug)]
pub(crate) struct RestLimits {
    /// twilight's bucket bookkeeping, used as a library: one call in flight per bucket, and none
    /// while the bucket is spent. Made at the first call, since it spawns its task on the runtime.
    buckets: OnceLock<RateLimiter>,
    /// When each of the last `global_limit` paced calls left, oldest first.
    global: Mutex<VecDeque<Instant>>,
    global_limit: usize,
}

/// What [`RestLimits::admit`] hands out: hand it the answer's bucket state when the call is done.
#[derive(Debug)]
#[must_use = "dropping an admission cancels it; complete it with the answer's bucket state"]
pub(crate) enum Admission {
    /// An interaction or webhook call, which no limit paces.
    Exempt,
    /// A paced call's place in its bucket's queue.
    Paced(Permit),
}

impl Admission {
    /// Tells the bucket what Discord said of it (`None` when the answer said nothing, or there
    /// was no answer), which lets the next call in its queue go.
    pub(crate) fn complete(self, bucket: Option<RateLimitHeaders>) {
        if let Self::Paced(permit) = self {
            permit.complete(bucket);
        }
    }
}

impl RestLimits {
    /// Limits allowing `global_limit` paced calls in any window of [`GLOBAL_WINDOW`].
    pub(crate) fn new(global_limit: usize) -> Self {
        Self {
            buckets: OnceLock::new(),
            global: Mutex::new(VecDeque::with_capacity(global_limit)),
            global_limit: global_limit.max(1),
        }
    }

    /// Waits until a call to `path` (`channels/1/messages`, query or not) may leave: its bucket
    /// has a call left and nothing else in flight, and the global window has room.
    pub(crate) async fn admit(&self, method: Method, path: &str) -> Admission {
        if is_exempt(path) {
            return Admission::Exempt;
        }
        let path = path.split_once('?').map_or(path, |(path, _)| path);
        let endpoint = Endpoint {
            method,
            path: path.to_owned(),
        };
        let permit = self
            .buckets
            // The global limit is ours, below: twilight's would count fixed windows.
            .get_or_init(|| RateLimiter::new(u16::MAX))
            .acquire(endpoint)
            .await;
        self.take_global_slot().await;
        Admission::Paced(permit)
    }

    /// Waits for room in the sliding global window and takes it. The lock is held while waiting,
    /// so calls leave in the order they asked (tokio's mutex is fair).
    async fn take_global_slot(&self) {
        let mut sent = self.global.lock().await;
        if sent.len() >= self.global_limit
            && let Some(oldest) = sent.pop_front()
        {
            tokio::time::sleep_until(oldest + GLOBAL_WINDOW).await;
        }
        sent.push_back(Instant::now());
    }
}

/// Whether a call to `path` is an interaction callback or a webhook call, which Discord does not
/// count against the global limit.
pub(crate) fn is_exempt(path: &str) -> bool {
    path.starts_with("interactions/") || path.starts_with("webhooks/")
}

/// The bucket state an answer announces, read from its headers; `None` when it announces none
/// (an unlimited route) or a header does not parse. `now` is when the answer arrived:
/// `X-RateLimit-Reset-After` counts from then, which no clock skew can move.
pub(crate) fn bucket_state<'a>(
    headers: impl IntoIterator<Item = (&'a str, &'a [u8])>,
    now: std::time::Instant,
) -> Option<RateLimitHeaders> {
    let (mut bucket, mut limit, mut remaining, mut reset_after) = (None, None, None, None);
    for (name, value) in headers {
        let text = || std::str::from_utf8(value).ok();
        if name.eq_ignore_ascii_case(RateLimitHeaders::BUCKET) {
            bucket = Some(value.to_vec());
        } else if name.eq_ignore_ascii_case(RateLimitHeaders::LIMIT) {
            limit = text().and_then(|text| text.parse::<u16>().ok());
        } else if name.eq_ignore_ascii_case(RateLimitHeaders::REMAINING) {
            remaining = text().and_then(|text| text.parse::<u16>().ok());
        } else if name.eq_ignore_ascii_case(RateLimitHeaders::RESET_AFTER) {
            reset_after = text()
                .and_then(|text| text.parse::<f64>().ok())
                .and_then(|seconds| Duration::try_from_secs_f64(seconds).ok());
        }
    }
    Some(RateLimitHeaders {
        bucket: bucket?,
        limit: limit?,
        remaining: remaining?,
        reset_at: now + reset_after?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static [u8])> {
        pairs
            .iter()
            .map(|(name, value)| (*name, value.as_bytes()))
            .collect()
    }

    #[test]
    fn bucket_state_reads_discords_headers_without_a_scope() {
        let now = std::time::Instant::now();
        let state = bucket_state(
            headers(&[
                ("content-type", "application/json"),
                ("x-ratelimit-bucket", "abcd1234"),
                ("x-ratelimit-limit", "5"),
                ("x-ratelimit-remaining", "0"),
                ("x-ratelimit-reset", "1470173023.123"),
                ("x-ratelimit-reset-after", "1.25"),
            ]),
            now,
        )
        .expect("a full bucket state");
        assert_eq!(state.bucket, b"abcd1234");
        assert_eq!((state.limit, state.remaining), (5, 0));
        assert_eq!(state.reset_at, now + Duration::from_millis(1_250));
    }

    #[test]
    fn bucket_state_is_none_when_a_header_is_missing_or_unreadable() {
        let now = std::time::Instant::now();
        assert!(bucket_state(headers(&[("content-type", "application/json")]), now).is_none());
        let without_remaining = [
            ("x-ratelimit-bucket", "abcd"),
            ("x-ratelimit-limit", "5"),
            ("x-ratelimit-reset-after", "1"),
        ];
        assert!(bucket_state(headers(&without_remaining), now).is_none());
        let negative_reset = [
            ("x-ratelimit-bucket", "abcd"),
            ("x-ratelimit-limit", "5"),
            ("x-ratelimit-remaining", "4"),
            ("x-ratelimit-reset-after", "-1"),
        ];
        assert!(bucket_state(headers(&negative_reset), now).is_none());
    }

    #[test]
    fn only_interaction_and_webhook_calls_are_exempt() {
        assert!(is_exempt("interactions/1/token/callback"));
        assert!(is_exempt("webhooks/1/token/messages/@original"));
        assert!(!is_exempt("channels/1/messages"));
        assert!(!is_exempt("guilds/1/channels"));
        assert!(!is_exempt("users/@me"));
    }

    #[tokio::test(start_paused = true)]
    async fn the_global_window_holds_the_call_past_the_limit_until_the_oldest_ages_out() {
        let limits = RestLimits::new(3);
        let start = Instant::now();
        for index in 0..3 {
            let admission = limits
                .admit(Method::Get, &format!("channels/{index}/messages?limit=1"))
                .await;
            admission.complete(None);
            assert_eq!(start.elapsed(), Duration::ZERO, "call {index} waited");
        }
        limits
            .admit(Method::Get, "channels/9/messages")
            .await
            .complete(None);
        assert_eq!(start.elapsed(), GLOBAL_WINDOW);
    }

    #[tokio::test(start_paused = true)]
    async fn exempt_calls_neither_wait_for_nor_fill_the_global_window() {
        let limits = RestLimits::new(1);
        let start = Instant::now();
        limits.admit(Method::Get, "users/@me").await.complete(None);
        for _ in 0..5 {
            let admission = limits
                .admit(Method::Post, "interactions/1/token/callback")
                .await;
            assert!(matches!(admission, Admission::Exempt));
        }
        assert_eq!(start.elapsed(), Duration::ZERO);
    }

    #[tokio::test]
    async fn a_spent_bucket_holds_its_next_call_until_the_reset() {
        let limits = RestLimits::new(DISCORD_GLOBAL_PER_SECOND);
        let reset_after = Duration::from_millis(300);
        let first = limits.admit(Method::Post, "channels/1/messages").await;
        let spent = RateLimitHeaders {
            bucket: b"messages".to_vec(),
            limit: 5,
            remaining: 0,
            reset_at: std::time::Instant::now() + reset_after,
        };
        let answered = std::time::Instant::now();
        first.complete(Some(spent));
        limits
            .admit(Method::Post, "channels/1/messages")
            .await
            .complete(None);
        assert!(
            answered.elapsed() >= reset_after,
            "the second call left {:?} after a spent bucket's answer",
            answered.elapsed()
        );
    }
}
