//! The few PHP behaviours PrivateBin's answers depend on, reproduced exactly.
//!
//! PrivateBin is a PHP application; its validation leans on PHP semantics (strict `base64_decode`,
//! `empty()`, `$x + 0`, `json_encode`, `gzdeflate`, `number_format`). Clients are tested against
//! these rules, so the emulator copies them rather than approximating with Rust's defaults.

use std::fmt::Write as _;
use std::io::Write as _;

use flate2::Compression;
use flate2::write::DeflateEncoder;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;

/// PHP's `base64_decode($input, true)`: standard alphabet; whitespace is skipped, padding may be
/// omitted, but any other character, data after padding, a dangling single character or
/// over-long padding fails.
pub fn base64_decode_strict(input: &str) -> Option<Vec<u8>> {
    let mut output = Vec::with_capacity(input.len() / 4 * 3 + 3);
    let mut accumulator: u32 = 0;
    let mut sextets: usize = 0;
    let mut padding: usize = 0;
    for byte in input.bytes() {
        if byte == b'=' {
            padding += 1;
            continue;
        }
        let value = match byte {
            b'A'..=b'Z' => byte - b'A',
            b'a'..=b'z' => byte - b'a' + 26,
            b'0'..=b'9' => byte - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b' ' | b'\t' | b'\r' | b'\n' => continue,
            _ => return None,
        };
        if padding > 0 {
            return None;
        }
        accumulator = (accumulator << 6) | u32::from(value);
        sextets += 1;
        if sextets.is_multiple_of(4) {
            output.extend_from_slice(&accumulator.to_be_bytes()[1..]);
            accumulator = 0;
        }
    }
    match sextets % 4 {
        1 => return None,
        2 => output.push(((accumulator >> 4) & 0xff) as u8),
        3 => {
            output.push(((accumulator >> 10) & 0xff) as u8);
            output.push(((accumulator >> 2) & 0xff) as u8);
        }
        _ => {}
    }
    if padding > 0 && (padding > 2 || !(sextets + padding).is_multiple_of(4)) {
        return None;
    }
    Some(output)
}

/// Whether PHP treats a decoded string as true: everything except `""` and `"0"`.
pub fn is_truthy_bytes(bytes: &[u8]) -> bool {
    !(bytes.is_empty() || bytes == b"0")
}

/// PHP's `empty()` for a value decoded from JSON or the query string.
pub fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Bool(flag) => !flag,
        Value::Number(number) => number.as_f64() == Some(0.0),
        Value::String(text) => text.is_empty() || text == "0",
        Value::Array(items) => items.is_empty(),
        Value::Object(members) => members.is_empty(),
    }
}

/// PHP's `$value + 0`: numbers stay, numeric strings become numbers, booleans and null become
/// integers. `None` where PHP 8 throws a `TypeError` (arrays, non-numeric strings).
pub fn add_zero(value: &Value) -> Option<Value> {
    match value {
        Value::Number(_) => Some(value.clone()),
        Value::Bool(flag) => Some(Value::from(i64::from(*flag))),
        Value::Null => Some(Value::from(0)),
        Value::String(text) => numeric_string(text),
        Value::Array(_) | Value::Object(_) => None,
    }
}

fn numeric_string(text: &str) -> Option<Value> {
    let trimmed =
        text.trim_matches(|c: char| matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0b' | '\x0c'));
    let plain = trimmed.strip_prefix(['+', '-']).unwrap_or(trimmed);
    let well_formed = !plain.is_empty()
        && plain
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '+' | '-'))
        && plain.starts_with(|c: char| c.is_ascii_digit() || c == '.');
    if !well_formed {
        return None;
    }
    if let Ok(integer) = trimmed.parse::<i64>() {
        return Some(Value::from(integer));
    }
    let float = trimmed.parse::<f64>().ok()?;
    serde_json::Number::from_f64(float).map(Value::Number)
}

/// PHP's `json_encode` without flags: like compact JSON, but `/` is escaped as `\/` and every
/// non-ASCII character as `\uXXXX` (UTF-16). Clients must parse, not byte-compare, these answers.
pub fn json_encode(value: &impl serde::Serialize) -> String {
    let compact = serde_json::to_string(value).unwrap_or_else(|_| String::from("null"));
    let mut encoded = String::with_capacity(compact.len() + 16);
    for character in compact.chars() {
        match character {
            '/' => encoded.push_str("\\/"),
            c if c.is_ascii() => encoded.push(c),
            c => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    let _ = write!(encoded, "\\u{unit:04x}");
                }
            }
        }
    }
    encoded
}

/// PrivateBin's `Filter::formatHumanReadableSize`: SI units (powers of 1000), two decimals once
/// past bytes, e.g. 10485760 -> "10.49 MB", 2000000 -> "2.00 MB".
pub fn format_human_readable_size(size: usize) -> String {
    const UNITS: [&str; 9] = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"];
    #[allow(clippy::cast_precision_loss)]
    let mut scaled = size as f64;
    let mut unit = 0;
    while scaled / 1000.0 >= 1.0 && unit < UNITS.len() - 1 {
        scaled /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{size} B")
    } else {
        // PHP's number_format rounds half away from zero, as f64::round does.
        format!("{:.2} {}", (scaled * 100.0).round() / 100.0, UNITS[unit])
    }
}

/// Length of PHP's `gzdeflate($bytes)`: raw DEFLATE (RFC 1951) at zlib's default level 6.
pub fn gzdeflate_len(bytes: &[u8]) -> usize {
    let mut encoder = DeflateEncoder::new(Vec::with_capacity(bytes.len() / 2), Compression::new(6));
    // Writing into a Vec cannot fail; should it ever, report "incompressible" (the paste passes).
    if encoder.write_all(bytes).is_err() {
        return usize::MAX;
    }
    encoder
        .finish()
        .map_or(usize::MAX, |compressed| compressed.len())
}

/// PHP's `hash('fnv1a64', $text)`: 16 lowercase hex digits.
pub fn fnv1a64_hex(text: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in text.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{hash:016x}")
}

/// PHP's `hash_hmac('sha256', $message, $key)`: lowercase hex.
pub fn hmac_sha256_hex(message: &str, key: &str) -> String {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key.as_bytes()) else {
        // HMAC accepts keys of any length; this branch is unreachable in practice.
        return String::new();
    };
    mac.update(message.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// PHP's `htmlspecialchars` with its default flags.
pub fn html_escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => escaped.push_str("&amp;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#039;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            c => escaped.push(c),
        }
    }
    escaped
}

/// PHP's `$_GET` for a query string: `&`-separated pairs, a bare key has the value `""`,
/// `+` and `%XX` are decoded (a malformed escape stays as written); a later duplicate key wins.
pub fn parse_query(query: &str) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = Vec::new();
    for (key, value) in form_urlencoded::parse(query.as_bytes()) {
        if key.is_empty() {
            continue;
        }
        pairs.retain(|(existing, _)| *existing != key);
        pairs.push((key.into_owned(), value.into_owned()));
    }
    pairs
}

/// PrivateBin's `Request::_detectJsonRequest`: the `X-Requested-With: JSONHttpRequest` header,
/// or an `Accept` header that prefers JSON over HTML.
pub fn is_json_api_call(accept: Option<&str>, requested_with: Option<&str>) -> bool {
    const JSON: &str = "application/json";
    const HTML: &str = "text/html";
    const XHTML: &str = "application/xhtml+xml";
    if requested_with == Some("JSONHttpRequest") {
        return true;
    }
    let Some(accept) = accept else {
        return false;
    };
    if accept.contains(JSON) && !accept.contains(HTML) && !accept.contains(XHTML) {
        return true;
    }
    // Media type negotiation: highest quality first; the first HTML or JSON type decides.
    let mut ranges: Vec<(u16, String)> = accept
        .trim()
        .split(',')
        .filter_map(|range| {
            let mut parts = range.trim().split(';');
            let media_type = parts.next()?.trim().to_ascii_lowercase();
            let mut quality = 1000u16;
            for parameter in parts {
                if let Some(q) = parameter.trim().strip_prefix("q=") {
                    quality = parse_quality(q)?;
                }
            }
            Some((quality, media_type))
        })
        .collect();
    ranges.sort_by_key(|(quality, _)| std::cmp::Reverse(*quality));
    for (quality, media_type) in ranges {
        if quality == 0 {
            continue;
        }
        if media_type.starts_with(HTML) || media_type.starts_with(XHTML) {
            return false;
        }
        if media_type.starts_with(JSON) {
            return true;
        }
    }
    false
}

fn parse_quality(text: &str) -> Option<u16> {
    let value: f64 = text.trim().parse().ok()?;
    if (0.0..=1.0).contains(&value) {
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        Some((value * 1000.0).round() as u16)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn strict_base64_accepts_padded_unpadded_and_whitespace() {
        assert_eq!(base64_decode_strict("aGk=").as_deref(), Some(&b"hi"[..]));
        assert_eq!(base64_decode_strict("aGk").as_deref(), Some(&b"hi"[..]));
        assert_eq!(base64_decode_strict("aG\nk=").as_deref(), Some(&b"hi"[..]));
        assert_eq!(base64_decode_strict("").as_deref(), Some(&b""[..]));
    }

    #[test]
    fn strict_base64_rejects_foreign_characters_and_bad_padding() {
        assert_eq!(base64_decode_strict("aGk-"), None);
        assert_eq!(base64_decode_strict("aGk=a"), None);
        assert_eq!(base64_decode_strict("a"), None);
        assert_eq!(base64_decode_strict("aGk=="), None);
        assert_eq!(base64_decode_strict("aG==="), None);
    }

    #[test]
    fn a_decoded_zero_is_false_like_in_php() {
        assert!(!is_truthy_bytes(b"0"));
        assert!(!is_truthy_bytes(b""));
        assert!(is_truthy_bytes(b"00"));
    }

    #[test]
    fn php_empty_matches_php() {
        for value in [
            json!(null),
            json!(false),
            json!(0),
            json!(0.0),
            json!(""),
            json!("0"),
            json!([]),
            json!({}),
        ] {
            assert!(is_empty(&value), "{value} is empty");
        }
        for value in [
            json!(true),
            json!(1),
            json!("a"),
            json!("00"),
            json!([0]),
            json!({"a": 1}),
        ] {
            assert!(!is_empty(&value), "{value} is not empty");
        }
    }

    #[test]
    fn adding_zero_casts_numeric_strings_and_refuses_others() {
        assert_eq!(add_zero(&json!("2")), Some(json!(2)));
        assert_eq!(add_zero(&json!(" 2.5 ")), Some(json!(2.5)));
        assert_eq!(add_zero(&json!(2.0)), Some(json!(2.0)));
        assert_eq!(add_zero(&json!(true)), Some(json!(1)));
        assert_eq!(add_zero(&json!("two")), None);
        assert_eq!(add_zero(&json!("inf")), None);
        assert_eq!(add_zero(&json!([2])), None);
    }

    #[test]
    fn json_is_encoded_like_php() {
        assert_eq!(json_encode(&json!({"url": "/?ab"})), r#"{"url":"\/?ab"}"#);
        assert_eq!(
            json_encode(&json!(["é", "😀"])),
            r#"["\u00e9","\ud83d\ude00"]"#
        );
    }

    #[test]
    fn sizes_are_formatted_like_privatebin() {
        assert_eq!(format_human_readable_size(10_485_760), "10.49 MB");
        assert_eq!(format_human_readable_size(2_000_000), "2.00 MB");
        assert_eq!(format_human_readable_size(10_000_000), "10.00 MB");
        assert_eq!(format_human_readable_size(1_500), "1.50 kB");
        assert_eq!(format_human_readable_size(999), "999 B");
    }

    #[test]
    fn fnv1a64_matches_the_reference_vectors() {
        assert_eq!(fnv1a64_hex(""), "cbf29ce484222325");
        assert_eq!(fnv1a64_hex("a"), "af63dc4c8601ec8c");
        assert_eq!(fnv1a64_hex("foobar"), "85944171f73967e8");
    }

    #[test]
    fn hmac_sha256_matches_rfc_4231_case_2() {
        assert_eq!(
            hmac_sha256_hex("what do ya want for nothing?", "Jefe"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn compressible_bytes_shrink_and_random_bytes_do_not() {
        assert!(gzdeflate_len(&[b'A'; 200]) < 200);
        let random: Vec<u8> = (0..200).map(|_| rand::random::<u8>()).collect();
        assert!(gzdeflate_len(&random) >= 200);
    }

    #[test]
    fn query_strings_parse_like_php_get() {
        assert_eq!(
            parse_query("pasteid=ab%20c&deletetoken=x+y&bare"),
            vec![
                ("pasteid".to_owned(), "ab c".to_owned()),
                ("deletetoken".to_owned(), "x y".to_owned()),
                ("bare".to_owned(), String::new()),
            ]
        );
        assert_eq!(
            parse_query("a=1&a=2"),
            vec![("a".to_owned(), "2".to_owned())]
        );
    }

    #[test]
    fn json_requests_are_detected_like_privatebin() {
        assert!(is_json_api_call(None, Some("JSONHttpRequest")));
        assert!(is_json_api_call(Some("application/json"), None));
        assert!(!is_json_api_call(Some("text/html,application/json"), None));
        assert!(is_json_api_call(
            Some("text/html;q=0.5, application/json"),
            None
        ));
        assert!(!is_json_api_call(Some("*/*"), None));
        assert!(!is_json_api_call(None, None));
    }

    #[test]
    fn html_special_characters_are_escaped() {
        assert_eq!(html_escape("/a&b<'\">"), "/a&amp;b&lt;&#039;&quot;&gt;");
    }
}
