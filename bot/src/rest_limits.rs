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
//! The global limit is kept so that no window of a second can count more than the limit, however
//! late a call reaches Discord: a call holds one of the limit's slots from the moment it may leave
//! until a second after its answer came back. Discord counted it somewhere in between, so every
//! call it counts in any one second held its slot when the last of them left. twilight counts
//! fixed one-second windows from when a call leaves, which lets up to twice the limit through in
//! the second spanning two windows; and a call that a busy process sends late can land in the
//! next window beside that window's own.
//!
//! Interaction callbacks and webhook calls skip both: Discord exempts them from the global limit,
//! each interaction is answered once, and a click must be acknowledged within three seconds.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use twilight_http::request::Method;
use twilight_http_ratelimiting::{Endpoint, Permit, RateLimitHeaders, RateLimiter};

/// Discord's global limit: requests a second for one bot, across every route but the exempt ones.
pub(crate) const DISCORD_GLOBAL_PER_SECOND: usize = 50;

/// How long after its answer a call keeps its global slot: the window Discord counts in.
const GLOBAL_WINDOW: Duration = Duration::from_secs(1);

/// The per-bucket queues and the global window, shared by every call a process makes.
#[derive(Debug)]
pub(crate) struct RestLimits {
    /// twilight's bucket bookkeeping, used as a library: one call in flight per bucket, and none
    /// while the bucket is spent. Made at the first call, since it spawns its task on the runtime.
    buckets: OnceLock<RateLimiter>,
    /// The global limit's slots; tokio's semaphore is fair, so calls leave in the order they asked.
    global: Arc<Semaphore>,
}

/// What [`RestLimits::admit`] hands out: hand it the answer's bucket state when the call is done.
#[derive(Debug)]
#[must_use = "dropping an admission cancels it; complete it with the answer's bucket state"]
pub(crate) enum Admission {
    /// An interaction or webhook call, which no limit paces.
    Exempt,
    /// A paced call's place in its bucket's queue, and its global slot.
    Paced(Permit, GlobalSlot),
}

/// A call's slot in the global limit. Dropped (the call answered, failed or was abandoned), it
/// stays taken for [`GLOBAL_WINDOW`] more.
#[derive(Debug)]
pub(crate) struct GlobalSlot(Option<OwnedSemaphorePermit>);

impl Drop for GlobalSlot {
    fn drop(&mut self) {
        let Some(permit) = self.0.take() else {
            return;
        };
        // Outside a runtime (the process is ending) nobody waits for the slot.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                tokio::time::sleep(GLOBAL_WINDOW).await;
                drop(permit);
            });
        }
    }
}

impl Admission {
    /// Tells the bucket what Discord said of it (`None` when the answer said nothing, or there
    /// was no answer), which lets the next call in its queue go.
    pub(crate) fn complete(self, bucket: Option<RateLimitHeaders>) {
        if let Self::Paced(permit, global) = self {
            permit.complete(bucket);
            drop(global);
        }
    }
}

impl RestLimits {
    /// Limits letting Discord count at most `global_limit` paced calls in any second.
    pub(crate) fn new(global_limit: usize) -> Self {
        Self {
            buckets: OnceLock::new(),
            global: Arc::new(Semaphore::new(global_limit.max(1))),
        }
    }

    /// Waits until a call to `path` (`channels/1/messages`, query or not) may leave: its bucket
    /// has a call left and nothing else in flight, and a global slot is free.
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
        // The semaphore is never closed, so acquiring fails only in theory; a call then goes
        // unpaced rather than not at all.
        let slot = Arc::clone(&self.global).acquire_owned().await.ok();
        Admission::Paced(permit, GlobalSlot(slot))
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
    use tokio::time::Instant;

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
    async fn a_global_slot_comes_free_a_second_after_its_calls_answer() {
        let limits = RestLimits::new(3);
        let start = Instant::now();
        for index in 0..3 {
            let admission = limits
                .admit(Method::Get, &format!("channels/{index}/messages?limit=1"))
                .await;
            assert_eq!(start.elapsed(), Duration::ZERO, "call {index} waited");
            admission.complete(None);
        }
        limits
            .admit(Method::Get, "channels/9/messages")
            .await
            .complete(None);
        assert_eq!(start.elapsed(), GLOBAL_WINDOW);
    }

    #[tokio::test(start_paused = true)]
    async fn a_call_in_flight_holds_its_global_slot_however_long_it_takes() {
        let limits = RestLimits::new(1);
        let slow = limits.admit(Method::Get, "channels/1/messages").await;
        let next = limits.admit(Method::Get, "channels/2/messages");
        tokio::pin!(next);
        // Paused time: the timeout advances the clock by a minute without waiting for it.
        let waited = tokio::time::timeout(Duration::from_mins(1), &mut next).await;
        assert!(
            waited.is_err(),
            "the next call left while the first was in flight"
        );
        let answered = Instant::now();
        slow.complete(None);
        next.await.complete(None);
        assert_eq!(answered.elapsed(), GLOBAL_WINDOW);
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
