//! Discord ids and button emojis as they appear in the config.

use std::borrow::Cow;
use std::fmt;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Serialize};

/// The schema pattern of a snowflake: Discord ids are 64-bit integers written as 17–20 digits.
pub const SNOWFLAKE_PATTERN: &str = "^[0-9]{17,20}$";

/// A Discord id (snowflake), kept as the decimal string Discord and Kubernetes YAML use.
///
/// Any string deserializes, so a bad id is reported by [`crate::BotConfig::validate`] with the
/// path of its field rather than as a bare parse error; [`Snowflake::get`] returns the number
/// once it is known to be valid.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Snowflake(String);

impl Snowflake {
    /// Wraps a string without checking it; see [`Snowflake::is_valid`].
    pub fn new(id: impl Into<String>) -> Self {
        Self(id.into())
    }

    /// The id as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this is 17–20 ASCII digits that fit in a `u64` (no leading sign, no spaces).
    pub fn is_valid(&self) -> bool {
        self.get().is_some()
    }

    /// The id as a number, or `None` when it is not a valid snowflake.
    pub fn get(&self) -> Option<u64> {
        let digits = self.0.len();
        if !(17..=20).contains(&digits) || !self.0.bytes().all(|byte| byte.is_ascii_digit()) {
            return None;
        }
        self.0.parse().ok()
    }
}

impl From<u64> for Snowflake {
    fn from(id: u64) -> Self {
        Self(id.to_string())
    }
}

impl fmt::Display for Snowflake {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.0)
    }
}

impl JsonSchema for Snowflake {
    fn schema_name() -> Cow<'static, str> {
        "Snowflake".into()
    }

    // Inlined so the Kubernetes structural schema (which forbids `$ref`) carries the pattern.
    fn inline_schema() -> bool {
        true
    }

    fn json_schema(_generator: &mut SchemaGenerator) -> Schema {
        // The length bound also lets the API server afford CEL rules that compare ids.
        json_schema!({
            "type": "string",
            "pattern": SNOWFLAKE_PATTERN,
            "maxLength": 20,
        })
    }
}

/// A button emoji: a Unicode emoji such as `🎫`, or a custom one written `<:name:id>` (animated:
/// `<a:name:id>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Emoji {
    /// A Unicode emoji, sent to Discord as its `name`.
    Unicode(String),
    /// A guild's custom emoji.
    Custom {
        /// The emoji's name (without colons).
        name: String,
        /// The emoji's id.
        id: Snowflake,
        /// Whether it is animated (`<a:…>`).
        animated: bool,
    },
}

impl Emoji {
    /// Reads an emoji as written in the config; `None` when it is not one Discord accepts on a
    /// button: text that is not in the Unicode emoji table (Discord answers such a button with
    /// 50035 "Invalid emoji", and every panel carrying it fails), or a malformed custom emoji.
    pub fn parse(text: &str) -> Option<Self> {
        if text.is_empty() || text.chars().any(char::is_whitespace) {
            return None;
        }
        let Some(inner) = text.strip_prefix('<') else {
            return emojis::get(text).map(|_| Self::Unicode(text.to_owned()));
        };
        let inner = inner.strip_suffix('>')?;
        let (animated, rest) = match inner.strip_prefix("a:") {
            Some(rest) => (true, rest),
            None => (false, inner.strip_prefix(':')?),
        };
        let (name, id) = rest.split_once(':')?;
        let name_is_valid = (2..=32).contains(&name.len())
            && name
                .bytes()
                .all(|byte| byte.is_ascii_alphanumeric() || byte == b'_');
        let id = Snowflake::new(id);
        (name_is_valid && id.is_valid()).then(|| Self::Custom {
            name: name.to_owned(),
            id,
            animated,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snowflakes_of_17_to_20_digits_are_valid() {
        assert_eq!(
            Snowflake::new("12345678901234567").get(),
            Some(12_345_678_901_234_567)
        );
        assert!(Snowflake::new("18446744073709551615").is_valid());
    }

    #[test]
    fn short_long_signed_or_overflowing_snowflakes_are_invalid() {
        for bad in [
            "1234567890123456",
            "123456789012345678901",
            "+1234567890123456",
            "18446744073709551616",
            "1234567890123456x",
            "",
        ] {
            assert!(!Snowflake::new(bad).is_valid(), "{bad} should be invalid");
        }
    }

    #[test]
    fn unicode_and_custom_emojis_parse() {
        assert_eq!(Emoji::parse("🎫"), Some(Emoji::Unicode("🎫".into())));
        assert_eq!(
            Emoji::parse("<:ticket:123456789012345678>"),
            Some(Emoji::Custom {
                name: "ticket".into(),
                id: Snowflake::new("123456789012345678"),
                animated: false
            })
        );
        assert!(matches!(
            Emoji::parse("<a:spin:123456789012345678>"),
            Some(Emoji::Custom { animated: true, .. })
        ));
    }

    #[test]
    fn emojis_with_and_without_the_variation_selector_and_with_skin_tones_parse() {
        for good in [
            "❤",
            "❤\u{fe0f}",
            "👍🏽",
            "🏳\u{fe0f}\u{200d}🌈",
            "1\u{fe0f}\u{20e3}",
        ] {
            assert!(
                matches!(Emoji::parse(good), Some(Emoji::Unicode(_))),
                "{good:?} should be accepted"
            );
        }
    }

    #[test]
    fn malformed_emojis_are_rejected() {
        for bad in [
            "",
            "a b",
            "<:ticket:12>",
            "<ticket:123456789012345678>",
            "<:t:123456789012345678>",
            "<:ticket:123456789012345678",
            "this is not an emoji at all",
            "ab",
            "ticket",
            ":ticket:",
            "🎫🎫",
            "\u{200d}",
        ] {
            assert_eq!(Emoji::parse(bad), None, "{bad:?} should be rejected");
        }
    }
}
