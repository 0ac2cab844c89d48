//! Discord's REST rate limits: per-route buckets kept per top-level resource, and a global limit
//! that interaction routes are exempt from.
//!
//! See [Discord Docs/Rate Limits](https://discord.com/developers/docs/topics/rate-limits). Every
//! bucketed response carries `X-RateLimit-Limit/Remaining/Reset/Reset-After/Bucket`; a 429 adds
//! `X-RateLimit-Scope`, `Retry-After` and the JSON body `{"message","retry_after","global"}`.
//!
//! Beside them, the invalid-request limit (the same page, "Invalid Request Limit"): an IP whose
//! responses include too many 401, 403 and 429 statuses (10 000 per 10 minutes; a 429 with
//! `X-RateLimit-Scope: shared` does not count) is blocked from the whole API for a while.
//!
//! Past 450 lines with its tests, which pin each header and bucket rule beside the code.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// One bucket's budget: `limit` requests per `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouteLimit {
    /// Requests allowed per window.
    pub limit: u32,
    /// How long a window lasts: it starts at its first request, and the budget is whole again
    /// when it ends.
    pub window: Duration,
}

/// A limit for one method and route template, e.g. `POST /channels/{channel_id}/messages`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteOverride {
    /// HTTP method, upper case as in the request log (`POST`).
    pub method: String,
    /// Route template as logged in the request log.
    pub template: String,
    /// The budget that replaces the default one for this route.
    pub limit: RouteLimit,
}

/// Rate-limit settings; off by default so unit tests run at full speed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimitConfig {
    /// Whether limits are applied at all.
    pub enabled: bool,
    /// Global requests per second across all non-interaction routes (Discord: 50).
    pub global_per_second: u32,
    /// Budget of routes without an override.
    pub default_route: RouteLimit,
    /// Per-route budgets.
    pub routes: Vec<RouteOverride>,
    /// Discord documents `X-RateLimit-Scope` as sent on 429 responses only; set this to also send
    /// `X-RateLimit-Scope: user` on successful responses.
    pub scope_header_on_success: bool,
}

impl RateLimitConfig {
    /// Limits on, with budgets resembling Discord's for the routes a ticket bot uses.
    pub fn discord_like() -> Self {
        let route = |method: &str, template: &str, limit: u32, seconds: u64| RouteOverride {
            method: method.to_owned(),
            template: template.to_owned(),
            limit: RouteLimit {
                limit,
                window: Duration::from_secs(seconds),
            },
        };
        Self {
            enabled: true,
            routes: vec![
                route("POST", "/channels/{channel_id}/messages", 5, 5),
                route(
                    "PATCH",
                    "/channels/{channel_id}/messages/{message_id}",
                    5,
                    5,
                ),
                route(
                    "DELETE",
                    "/channels/{channel_id}/messages/{message_id}",
                    5,
                    1,
                ),
                route("POST", "/guilds/{guild_id}/channels", 5, 5),
                route("DELETE", "/channels/{channel_id}", 5, 5),
                route(
                    "PUT",
                    "/channels/{channel_id}/messages/pins/{message_id}",
                    5,
                    5,
                ),
            ],
            ..Self::default()
        }
    }
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            global_per_second: 50,
            default_route: RouteLimit {
                limit: 10,
                window: Duration::from_secs(10),
            },
            routes: Vec::new(),
            scope_header_on_success: false,
        }
    }
}

/// Discord's invalid-request limit: `limit` responses of 401, 403 or 429 within any `window`
/// block every request for `block`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidRequestLimit {
    /// Invalid responses allowed per window (Discord: 10 000).
    pub limit: u32,
    /// The sliding window (Discord: 10 minutes).
    pub window: Duration,
    /// How long the block lasts. Discord says only "temporarily"; bots report about an hour.
    pub block: Duration,
}

impl Default for InvalidRequestLimit {
    fn default() -> Self {
        Self {
            limit: 10_000,
            window: Duration::from_mins(10),
            block: Duration::from_hours(1),
        }
    }
}

/// Whether a response counts against the invalid-request limit.
pub(crate) fn counts_as_invalid(status: u16, headers: &[(&'static str, String)]) -> bool {
    match status {
        401 | 403 => true,
        429 => !headers
            .iter()
            .any(|(name, value)| *name == "x-ratelimit-scope" && value == "shared"),
        _ => false,
    }
}

/// The invalid responses of the last window, and the block they caused.
#[derive(Debug, Default)]
pub(crate) struct InvalidRequests {
    recent: VecDeque<Instant>,
    blocked_until: Option<Instant>,
    blocks: u32,
}

impl InvalidRequests {
    /// How much longer the API stays blocked, if it is.
    pub(crate) fn blocked_for(&self, now: Instant) -> Option<Duration> {
        self.blocked_until
            .filter(|until| *until > now)
            .map(|until| until - now)
    }

    /// Counts one invalid response; reaching the limit starts a block.
    pub(crate) fn record(&mut self, limit: &InvalidRequestLimit, now: Instant) {
        self.forget_before(limit, now);
        self.recent.push_back(now);
        if self.recent.len() >= limit.limit as usize && self.blocked_for(now).is_none() {
            self.blocked_until = Some(now + limit.block);
            self.blocks += 1;
        }
    }

    /// Invalid responses within the last window.
    pub(crate) fn in_window(&self, limit: &InvalidRequestLimit, now: Instant) -> usize {
        self.recent
            .iter()
            .filter(|at| now.duration_since(**at) < limit.window)
            .count()
    }

    /// How many blocks the limit has caused so far.
    pub(crate) fn blocks(&self) -> u32 {
        self.blocks
    }

    /// Ends any block and forgets the counted responses.
    pub(crate) fn reset(&mut self) {
        *self = Self::default();
    }

    fn forget_before(&mut self, limit: &InvalidRequestLimit, now: Instant) {
        while self
            .recent
            .front()
            .is_some_and(|at| now.duration_since(*at) >= limit.window)
        {
            self.recent.pop_front();
        }
    }
}

/// The answer to every request while the invalid-request limit blocks the API. Discord does not
/// document the body; bots report a 429 with this message and no rate-limit bucket headers.
pub(crate) fn blocked_body() -> Value {
    json!({
        "message": "You are being blocked from accessing our API temporarily due to exceeding our rate limits frequently. Please read our docs at https://discord.com/developers/docs/topics/rate-limits to prevent this moving forward.",
        "code": 0,
    })
}

/// Headers and body of a rate-limit decision.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Decision {
    /// Response headers to add (name, value).
    pub(crate) headers: Vec<(&'static str, String)>,
    /// The bucket id, for the request log.
    pub(crate) bucket: Option<String>,
    /// `Some(body)` when the request is refused with 429.
    pub(crate) refusal: Option<Value>,
}

#[derive(Debug, Clone, Copy)]
struct Window {
    started: Instant,
    count: u32,
}

impl Window {
    fn current(slot: &mut Option<Self>, now: Instant, length: Duration) -> &mut Self {
        let window = slot.get_or_insert(Self {
            started: now,
            count: 0,
        });
        if now.duration_since(window.started) >= length {
            *window = Self {
                started: now,
                count: 0,
            };
        }
        window
    }
}

/// What a request is limited by: its route bucket, kept per major parameter.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limited<'a> {
    pub(crate) method: &'a str,
    pub(crate) template: &'a str,
    pub(crate) major: &'a str,
    pub(crate) global_exempt: bool,
}

/// Counters for every bucket and the global limit.
#[derive(Debug, Default)]
pub(crate) struct RateLimiter {
    buckets: HashMap<(String, String), Option<Window>>,
    global: Option<Window>,
}

/// A stable, opaque bucket id for a method and template, like Discord's hashes.
pub(crate) fn bucket_id(method: &str, template: &str) -> String {
    // FNV-1a: stable across runs, unlike the std hasher.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in method
        .bytes()
        .chain(b" ".iter().copied())
        .chain(template.bytes())
    {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{hash:016x}")
}

/// Seconds with millisecond precision, rounded up: a reset time rounded to the nearest
/// millisecond could name a moment just before the bucket resets, and a client that waits exactly
/// that long would draw a 429 Discord would not give it.
fn seconds(duration: Duration) -> String {
    let millis = duration.as_nanos().div_ceil(1_000_000);
    format!("{}.{:03}", millis / 1000, millis % 1000)
}

impl RateLimiter {
    /// Decides whether a request may pass and what rate-limit headers it gets; counts it if so.
    pub(crate) fn check(
        &mut self,
        config: &RateLimitConfig,
        request: &Limited<'_>,
        now: Instant,
        now_epoch_ms: u64,
    ) -> Decision {
        let Limited {
            method,
            template,
            major,
            global_exempt,
        } = *request;
        if !config.enabled {
            return Decision {
                headers: Vec::new(),
                bucket: None,
                refusal: None,
            };
        }
        let limit = config
            .routes
            .iter()
            .find(|r| r.method == method && r.template == template)
            .map_or(config.default_route, |r| r.limit);
        let bucket = bucket_id(method, template);
        let window = Window::current(
            self.buckets
                .entry((bucket.clone(), major.to_owned()))
                .or_insert(None),
            now,
            limit.window,
        );
        let reset_after = limit
            .window
            .saturating_sub(now.duration_since(window.started));
        let reset_epoch = Duration::from_millis(now_epoch_ms) + reset_after;
        let route_exhausted = window.count >= limit.limit;
        let mut headers = vec![
            ("x-ratelimit-limit", limit.limit.to_string()),
            ("x-ratelimit-reset", seconds(reset_epoch)),
            ("x-ratelimit-reset-after", seconds(reset_after)),
            ("x-ratelimit-bucket", bucket.clone()),
        ];
        if route_exhausted {
            headers.push(("x-ratelimit-remaining", "0".to_owned()));
            headers.push(("x-ratelimit-scope", "user".to_owned()));
            headers.push(("retry-after", reset_after.as_secs_f64().ceil().to_string()));
            return Decision {
                headers,
                bucket: Some(bucket),
                refusal: Some(json!({
                    "message": "You are being rate limited.",
                    "retry_after": (reset_after.as_secs_f64() * 1000.0).ceil() / 1000.0,
                    "global": false,
                })),
            };
        }
        if !global_exempt {
            let global = Window::current(&mut self.global, now, Duration::from_secs(1));
            if global.count >= config.global_per_second {
                let retry =
                    Duration::from_secs(1).saturating_sub(now.duration_since(global.started));
                return Decision {
                    headers: vec![
                        ("x-ratelimit-global", "true".to_owned()),
                        ("x-ratelimit-scope", "global".to_owned()),
                        ("retry-after", retry.as_secs_f64().ceil().to_string()),
                    ],
                    bucket: Some(bucket),
                    refusal: Some(json!({
                        "message": "You are being rate limited.",
                        "retry_after": (retry.as_secs_f64() * 1000.0).ceil() / 1000.0,
                        "global": true,
                    })),
                };
            }
            global.count += 1;
        }
        // Re-borrow: the global window above borrowed `self` mutably.
        if let Some(Some(window)) = self.buckets.get_mut(&(bucket.clone(), major.to_owned())) {
            window.count += 1;
            headers.push((
                "x-ratelimit-remaining",
                (limit.limit - window.count).to_string(),
            ));
        }
        if config.scope_header_on_success {
            headers.push(("x-ratelimit-scope", "user".to_owned()));
        }
        Decision {
            headers,
            bucket: Some(bucket),
            refusal: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(limit: u32) -> RateLimitConfig {
        RateLimitConfig {
            enabled: true,
            default_route: RouteLimit {
                limit,
                window: Duration::from_secs(5),
            },
            ..RateLimitConfig::default()
        }
    }

    fn header<'a>(decision: &'a Decision, name: &str) -> Option<&'a str> {
        decision
            .headers
            .iter()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| value.as_str())
    }

    #[test]
    fn reset_times_round_up_to_the_millisecond() {
        assert_eq!(seconds(Duration::from_micros(1_000_400)), "1.001");
        assert_eq!(seconds(Duration::from_millis(2500)), "2.500");
        assert_eq!(seconds(Duration::ZERO), "0.000");
    }

    #[test]
    fn a_bucket_refuses_once_its_budget_is_spent_and_recovers_after_the_window() {
        let mut limiter = RateLimiter::default();
        let start = Instant::now();
        let config = config(2);
        let mut check = |at: Instant| {
            limiter.check(
                &config,
                &Limited {
                    method: "POST",
                    template: "/x",
                    major: "1",
                    global_exempt: false,
                },
                at,
                0,
            )
        };
        assert_eq!(header(&check(start), "x-ratelimit-remaining"), Some("1"));
        assert_eq!(header(&check(start), "x-ratelimit-remaining"), Some("0"));
        let refused = check(start + Duration::from_secs(1));
        assert!(refused.refusal.is_some());
        assert_eq!(header(&refused, "x-ratelimit-scope"), Some("user"));
        assert_eq!(header(&refused, "retry-after"), Some("4"));
        assert!(check(start + Duration::from_secs(5)).refusal.is_none());
    }

    #[test]
    fn buckets_are_kept_per_major_parameter() {
        let mut limiter = RateLimiter::default();
        let now = Instant::now();
        let config = config(1);
        assert!(
            limiter
                .check(
                    &config,
                    &Limited {
                        method: "POST",
                        template: "/x",
                        major: "1",
                        global_exempt: false
                    },
                    now,
                    0
                )
                .refusal
                .is_none()
        );
        assert!(
            limiter
                .check(
                    &config,
                    &Limited {
                        method: "POST",
                        template: "/x",
                        major: "2",
                        global_exempt: false
                    },
                    now,
                    0
                )
                .refusal
                .is_none()
        );
        assert!(
            limiter
                .check(
                    &config,
                    &Limited {
                        method: "POST",
                        template: "/x",
                        major: "1",
                        global_exempt: false
                    },
                    now,
                    0
                )
                .refusal
                .is_some()
        );
    }

    #[test]
    fn the_global_limit_spares_interaction_routes() {
        let mut limiter = RateLimiter::default();
        let now = Instant::now();
        let config = RateLimitConfig {
            global_per_second: 2,
            ..config(100)
        };
        for major in ["1", "2"] {
            assert!(
                limiter
                    .check(
                        &config,
                        &Limited {
                            method: "GET",
                            template: "/x",
                            major,
                            global_exempt: false
                        },
                        now,
                        0
                    )
                    .refusal
                    .is_none()
            );
        }
        let refused = limiter.check(
            &config,
            &Limited {
                method: "GET",
                template: "/x",
                major: "3",
                global_exempt: false,
            },
            now,
            0,
        );
        assert_eq!(
            refused.refusal.map(|body| body["global"].clone()),
            Some(Value::Bool(true))
        );
        assert!(
            limiter
                .check(
                    &config,
                    &Limited {
                        method: "POST",
                        template: "/cb",
                        major: "9",
                        global_exempt: true
                    },
                    now,
                    0
                )
                .refusal
                .is_none()
        );
    }

    #[test]
    fn nothing_is_limited_when_disabled() {
        let mut limiter = RateLimiter::default();
        let config = RateLimitConfig::default();
        let now = Instant::now();
        for _ in 0..100 {
            let decision = limiter.check(
                &config,
                &Limited {
                    method: "POST",
                    template: "/x",
                    major: "1",
                    global_exempt: false,
                },
                now,
                0,
            );
            assert!(decision.refusal.is_none() && decision.headers.is_empty());
        }
    }

    fn small_limit() -> InvalidRequestLimit {
        InvalidRequestLimit {
            limit: 3,
            window: Duration::from_secs(10),
            block: Duration::from_mins(1),
        }
    }

    #[test]
    fn the_limitth_invalid_response_in_a_window_blocks_the_api() {
        let limit = small_limit();
        let mut invalid = InvalidRequests::default();
        let start = Instant::now();
        invalid.record(&limit, start);
        invalid.record(&limit, start + Duration::from_secs(1));
        assert_eq!(invalid.blocked_for(start + Duration::from_secs(2)), None);
        invalid.record(&limit, start + Duration::from_secs(2));
        assert_eq!(
            invalid.blocked_for(start + Duration::from_secs(3)),
            Some(Duration::from_secs(59))
        );
        assert_eq!(invalid.blocked_for(start + Duration::from_secs(62)), None);
        assert_eq!(invalid.blocks(), 1);
    }

    #[test]
    fn invalid_responses_older_than_the_window_are_forgotten() {
        let limit = small_limit();
        let mut invalid = InvalidRequests::default();
        let start = Instant::now();
        for second in [0, 5, 10, 15, 20] {
            invalid.record(&limit, start + Duration::from_secs(second));
        }
        assert_eq!(invalid.blocks(), 0, "never three within ten seconds");
        assert_eq!(
            invalid.in_window(&limit, start + Duration::from_secs(21)),
            2
        );
    }

    #[test]
    fn only_401_403_and_unshared_429_count_as_invalid() {
        assert!(counts_as_invalid(401, &[]));
        assert!(counts_as_invalid(403, &[]));
        assert!(counts_as_invalid(
            429,
            &[("x-ratelimit-scope", "user".to_owned())]
        ));
        assert!(!counts_as_invalid(
            429,
            &[("x-ratelimit-scope", "shared".to_owned())]
        ));
        assert!(!counts_as_invalid(404, &[]));
        assert!(!counts_as_invalid(400, &[]));
    }
}
