//! Which Discord bot a token belongs to, read from the token itself: its first segment is the
//! bot's user id in base64. Two TicketBots whose tokens name the same bot would run one bot
//! twice, each deleting the other's panels as categories it does not know; the operator refuses
//! the newer one. The id is public (it is in every message the bot sends), so it may be written
//! to a status; nothing else of the token is kept.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};

/// The bot user id a token names, or `None` when the token is not of Discord's shape.
pub(crate) fn bot_user_id(token: &str) -> Option<u64> {
    let token = token.trim();
    let token = token.strip_prefix("Bot ").unwrap_or(token);
    let (first, _) = token.split_once('.')?;
    let first = first.trim_end_matches('=');
    let decoded = STANDARD_NO_PAD
        .decode(first)
        .or_else(|_| URL_SAFE_NO_PAD.decode(first))
        .ok()?;
    let digits = std::str::from_utf8(&decoded).ok()?;
    if digits.is_empty() || !digits.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok().filter(|&id| id != 0)
}

/// Of the bots claiming one Discord bot, the one that keeps it: the oldest, then the first by
/// namespace and name, so every reconcile of every bot agrees without talking to the others.
pub(crate) fn keeper<'a, K: Ord + ?Sized>(
    claims: impl IntoIterator<Item = (&'a K, i64)>,
) -> Option<&'a K> {
    claims
        .into_iter()
        .min_by(|(key_a, created_a), (key_b, created_b)| {
            created_a.cmp(created_b).then_with(|| key_a.cmp(key_b))
        })
        .map(|(key, _)| key)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token_for(id: &str) -> String {
        format!("{}.GhIjKl.{}", STANDARD_NO_PAD.encode(id), "x".repeat(38))
    }

    #[test]
    fn the_first_segment_names_the_bot() {
        assert_eq!(
            bot_user_id(&token_for("1234567890123456789")),
            Some(1_234_567_890_123_456_789)
        );
        let padded = format!(
            "{}.a.b",
            base64::engine::general_purpose::STANDARD.encode("12345678901234567")
        );
        assert_eq!(bot_user_id(&padded), Some(12_345_678_901_234_567));
        assert_eq!(
            bot_user_id(&format!("Bot {}\n", token_for("1234567890123456789"))),
            Some(1_234_567_890_123_456_789)
        );
    }

    #[test]
    fn a_token_of_another_shape_names_no_bot() {
        for token in [
            "",
            "no-dots",
            "%%%.a.b",
            &token_for("abc"),
            &token_for("0"),
            &token_for(""),
        ] {
            assert_eq!(bot_user_id(token), None, "{token:?}");
        }
    }

    #[test]
    fn the_oldest_claim_keeps_the_bot_and_ties_go_by_name() {
        let claims = [("tickets/b", 20), ("tickets/a", 30), ("other/c", 20)];
        assert_eq!(
            keeper(claims.iter().map(|(key, at)| (*key, *at))),
            Some("other/c")
        );
        assert_eq!(keeper(std::iter::empty::<(&str, i64)>()), None);
    }
}
