//! Realistic, strictly increasing snowflakes, Discord's timestamp format, and snowflakes as JSON
//! writes them (strings, since JavaScript numbers cannot hold 64 bits).

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::Value;

/// Discord's epoch (2015-01-01T00:00:00Z) in Unix milliseconds.
pub const DISCORD_EPOCH_MS: u64 = 1_420_070_400_000;

/// Issues snowflakes whose timestamp part is the current time, never repeating.
#[derive(Debug, Default)]
pub(crate) struct SnowflakeGenerator {
    last: u64,
}

impl SnowflakeGenerator {
    /// The next snowflake for a creation time of `now_ms` (Unix milliseconds).
    pub(crate) fn next_at(&mut self, now_ms: u64) -> u64 {
        // Worker 1, process 0; the increment bits absorb ids issued within the same millisecond.
        let candidate = (now_ms.saturating_sub(DISCORD_EPOCH_MS) << 22) | (1 << 17);
        let id = candidate.max(self.last + 1);
        self.last = id;
        id
    }

    /// The next snowflake for the current time.
    pub(crate) fn next(&mut self) -> u64 {
        self.next_at(now_ms())
    }
}

/// The creation time encoded in a snowflake, Unix milliseconds.
pub fn timestamp_ms(id: u64) -> u64 {
    (id >> 22) + DISCORD_EPOCH_MS
}

/// The current time, Unix milliseconds.
pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| {
            u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX)
        })
}

/// Formats Unix milliseconds the way Discord does: `2026-01-02T03:04:05.678000+00:00`.
pub(crate) fn iso8601(ms: u64) -> String {
    let whole_seconds = i64::try_from(ms / 1000).unwrap_or(i64::MAX);
    let base = jiff::Timestamp::from_second(whole_seconds)
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
        .strftime("%Y-%m-%dT%H:%M:%S")
        .to_string();
    format!("{base}.{:06}+00:00", (ms % 1000) * 1000)
}

/// Parses an ISO 8601 timestamp into Unix milliseconds.
pub(crate) fn parse_iso8601(text: &str) -> Option<u64> {
    let timestamp: jiff::Timestamp = text.parse().ok()?;
    u64::try_from(timestamp.as_millisecond()).ok()
}

/// A snowflake as Discord sends it: a JSON string.
pub(crate) fn id_str(id: u64) -> Value {
    Value::String(id.to_string())
}

/// An optional snowflake as a JSON string or null.
pub(crate) fn opt_id(id: Option<u64>) -> Value {
    id.map_or(Value::Null, id_str)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snowflakes_increase_even_within_one_millisecond() {
        let mut generator = SnowflakeGenerator::default();
        let first = generator.next_at(1_700_000_000_000);
        let second = generator.next_at(1_700_000_000_000);
        assert!(second > first);
        assert_eq!(timestamp_ms(first), 1_700_000_000_000);
    }

    #[test]
    fn snowflakes_of_today_have_seventeen_to_twenty_digits() {
        let id = SnowflakeGenerator::default().next();
        let digits = id.to_string().len();
        assert!((17..=20).contains(&digits), "{id} has {digits} digits");
    }

    #[test]
    fn timestamps_round_trip_through_discords_format() {
        let text = iso8601(1_700_000_000_123);
        assert_eq!(text, "2023-11-14T22:13:20.123000+00:00");
        assert_eq!(parse_iso8601(&text), Some(1_700_000_000_123));
    }
}
