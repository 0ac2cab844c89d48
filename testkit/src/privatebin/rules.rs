//! PrivateBin's rules for a new paste, as pure functions: which request fields count
//! (`Request::getData`), the format check (`FormatV2::isValid`) and the paste check
//! (`Paste::_validate`, `Paste::_sanitize`). Every refusal is the server's "Invalid data.".

use std::collections::BTreeMap;

use serde_json::Value;

use super::php;

/// The request fields PrivateBin keeps for a new paste or comment; everything else is dropped.
#[derive(Debug, Clone, PartialEq)]
pub struct PostedData {
    /// `adata`, or `""` when absent.
    pub adata: Value,
    /// `meta` when present and not PHP-empty; without it the post is comment-shaped.
    pub meta: Option<Value>,
    /// `pasteid` and `parentid` of a comment (only read when `meta` is empty).
    pub comment_of: Option<(Value, Value)>,
    /// `v` after PHP's `+ 0` cast; `None` where PHP would fail the cast.
    pub version: Option<Value>,
    /// `ct`, or `""` when absent.
    pub ct: Value,
}

impl PostedData {
    /// Picks the fields out of decoded request parameters (`Request::getData`).
    pub fn from_params(params: &BTreeMap<String, Value>) -> Self {
        let param = |key: &str| params.get(key).cloned().unwrap_or_else(|| Value::from(""));
        let meta = params
            .get("meta")
            .filter(|meta| !php::is_empty(meta))
            .cloned();
        let comment_of = meta
            .is_none()
            .then(|| (param("pasteid"), param("parentid")));
        let version = php::add_zero(params.get("v").unwrap_or(&Value::from(1)));
        Self {
            adata: param("adata"),
            meta,
            comment_of,
            version,
            ct: param("ct"),
        }
    }

    /// Whether PrivateBin treats the post as a comment: both `pasteid` and `parentid` set.
    pub fn is_comment(&self) -> bool {
        self.comment_of
            .as_ref()
            .is_some_and(|(paste, parent)| !php::is_empty(paste) && !php::is_empty(parent))
    }
}

/// `FormatV2::isValid`: the shape of the encrypted message and its cipher parameters.
pub fn is_valid_format_v2(data: &PostedData) -> bool {
    let is_comment = data.is_comment();
    // getData yields exactly the four keys of a paste only when meta is present.
    if !is_comment && data.meta.is_none() {
        return false;
    }
    let Value::Array(adata) = &data.adata else {
        return false;
    };
    let cipher = if is_comment {
        Some(adata)
    } else {
        adata.first().and_then(Value::as_array)
    };
    let Some(cipher) = cipher.filter(|cipher| cipher.len() >= 8) else {
        return false;
    };
    let (Some(iv), Some(salt), Some(ct)) =
        (cipher[0].as_str(), cipher[1].as_str(), data.ct.as_str())
    else {
        return false;
    };
    let decodes_truthy = |text: &str| {
        php::base64_decode_strict(text).is_some_and(|bytes| php::is_truthy_bytes(&bytes))
    };
    if !decodes_truthy(iv) || !decodes_truthy(salt) {
        return false;
    }
    let Some(raw_ct) = php::base64_decode_strict(ct).filter(|bytes| php::is_truthy_bytes(bytes))
    else {
        return false;
    };
    if iv.len() > 24 || salt.len() > 14 {
        return false;
    }
    let version_ok = data
        .version
        .as_ref()
        .and_then(Value::as_f64)
        .is_some_and(|version| version >= 2.0);
    if !version_ok {
        return false;
    }
    if cipher[2]
        .as_i64()
        .is_none_or(|iterations| iterations <= 10_000)
    {
        return false;
    }
    if !is_int_in(&cipher[3], &[128, 192, 256]) || !is_int_in(&cipher[4], &[64, 96, 128]) {
        return false;
    }
    if cipher[5].as_str() != Some("aes")
        || !is_str_in(&cipher[6], &["ctr", "cbc", "gcm"])
        || !is_str_in(&cipher[7], &["zlib", "none"])
    {
        return false;
    }
    // Entropy rule: real ciphertext does not shrink under DEFLATE.
    if raw_ct.len() > php::gzdeflate_len(&raw_ct) {
        return false;
    }
    if !is_comment {
        let meta_ok = data
            .meta
            .as_ref()
            .and_then(Value::as_object)
            .is_some_and(|meta| meta.len() == 1 && meta.contains_key("expire"));
        if !meta_ok {
            return false;
        }
    }
    true
}

/// `Paste::_validate`: the formatter must be offered and the two flags integers 0 or 1; open
/// discussion needs discussions enabled and excludes burn after reading.
pub fn is_valid_paste(adata: &Value, formatters: &[String], discussion_enabled: bool) -> bool {
    let formatter_ok = adata
        .get(1)
        .and_then(Value::as_str)
        .is_some_and(|formatter| formatters.iter().any(|offered| offered == formatter));
    if !formatter_ok {
        return false;
    }
    let discussion = adata.get(2).and_then(strict_flag);
    let burn = adata.get(3).and_then(strict_flag);
    match (discussion, burn) {
        (Some(true), Some(false)) => discussion_enabled,
        (Some(false), Some(_)) => true,
        _ => false,
    }
}

/// Whether the paste's adata asks for burn after reading (`adata[3] === 1`).
pub fn burns_after_reading(adata: &Value) -> bool {
    adata.get(3).and_then(strict_flag) == Some(true)
}

/// Whether the paste's adata opens a discussion (`adata[2] === 1`).
pub fn opens_discussion(adata: &Value) -> bool {
    adata.get(2).and_then(strict_flag) == Some(true)
}

/// `Paste::_sanitize`: the paste's lifetime in seconds (`None` = never expires). An unknown or
/// non-string `expire` silently becomes the configured default.
pub fn lifetime_secs(
    meta: Option<&Value>,
    expire_options: &[(String, u64)],
    default_expire: &str,
) -> Option<u64> {
    const FALLBACK_SECS: u64 = 604_800;
    let lookup = |key: &str| {
        expire_options
            .iter()
            .find(|(option, _)| option == key)
            .map(|(_, secs)| *secs)
    };
    let requested = meta
        .and_then(|meta| meta.get("expire"))
        .and_then(Value::as_str);
    let secs = requested
        .and_then(lookup)
        .or_else(|| lookup(default_expire))
        .unwrap_or(FALLBACK_SECS);
    (secs > 0).then_some(secs)
}

/// A flag compared with PHP's `===` against 0 and 1: only JSON integers count.
fn strict_flag(value: &Value) -> Option<bool> {
    match value.as_i64() {
        Some(0) if value.is_i64() || value.is_u64() => Some(false),
        Some(1) if value.is_i64() || value.is_u64() => Some(true),
        _ => None,
    }
}

fn is_int_in(value: &Value, allowed: &[i64]) -> bool {
    value
        .as_i64()
        .is_some_and(|number| allowed.contains(&number))
}

fn is_str_in(value: &Value, allowed: &[&str]) -> bool {
    value.as_str().is_some_and(|text| allowed.contains(&text))
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;
    use serde_json::json;

    use super::*;

    fn random_base64(len: usize) -> String {
        STANDARD.encode((0..len).map(|_| rand::random::<u8>()).collect::<Vec<u8>>())
    }

    fn valid_request() -> serde_json::Map<String, Value> {
        let body = json!({
            "v": 2,
            "adata": [[random_base64(16), random_base64(8), 100_000, 256, 128, "aes", "gcm", "zlib"], "plaintext", 0, 0],
            "ct": random_base64(200),
            "meta": {"expire": "1week"},
        });
        body.as_object().cloned().unwrap_or_default()
    }

    fn is_valid(request: &serde_json::Map<String, Value>) -> bool {
        let params: BTreeMap<String, Value> = request.clone().into_iter().collect();
        let data = PostedData::from_params(&params);
        is_valid_format_v2(&data) && is_valid_paste(&data.adata, &["plaintext".to_owned()], false)
    }

    fn with(mutate: impl FnOnce(&mut serde_json::Map<String, Value>)) -> bool {
        let mut request = valid_request();
        mutate(&mut request);
        is_valid(&request)
    }

    #[test]
    fn a_well_formed_paste_is_valid() {
        assert!(is_valid(&valid_request()));
    }

    #[test]
    fn extra_top_level_keys_are_dropped_not_refused() {
        assert!(with(|request| {
            request.insert("extra".to_owned(), json!(1));
        }));
    }

    #[test]
    fn version_may_be_a_float_or_numeric_string_but_not_below_two() {
        assert!(with(|request| {
            request.insert("v".to_owned(), json!(2.0));
        }));
        assert!(with(|request| {
            request.insert("v".to_owned(), json!("2"));
        }));
        assert!(!with(|request| {
            request.insert("v".to_owned(), json!(1));
        }));
        assert!(!with(|request| {
            request.remove("v");
        }));
    }

    #[test]
    fn cipher_parameters_are_checked_strictly() {
        let cases: [(usize, Value); 9] = [
            (2, json!(10_000)),
            (2, json!(100_000.0)),
            (2, json!("100000")),
            (3, json!(512)),
            (4, json!(32)),
            (5, json!("des")),
            (6, json!("ecb")),
            (7, json!("gzip")),
            (0, json!("not base64!")),
        ];
        for (index, value) in cases {
            assert!(
                !with(|request| {
                    request["adata"][0][index] = value.clone();
                }),
                "adata[0][{index}] = {value} must be refused"
            );
        }
    }

    #[test]
    fn over_long_iv_and_salt_are_refused() {
        assert!(!with(
            |request| request["adata"][0][0] = json!(random_base64(20))
        ));
        assert!(!with(
            |request| request["adata"][0][1] = json!(random_base64(12))
        ));
    }

    #[test]
    fn flags_must_be_integers_and_not_both_set() {
        assert!(!with(|request| request["adata"][3] = json!(true)));
        assert!(!with(|request| request["adata"][2] = json!(false)));
        assert!(!with(|request| request["adata"][3] = json!(2)));
        assert!(!with(|request| {
            request["adata"][2] = json!(1);
            request["adata"][3] = json!(1);
        }));
        assert!(with(|request| request["adata"][3] = json!(1)));
        // Discussions are disabled in is_valid's configuration.
        assert!(!with(|request| request["adata"][2] = json!(1)));
    }

    #[test]
    fn unknown_formatters_are_refused() {
        assert!(!with(|request| request["adata"][1] = json!("html")));
    }

    #[test]
    fn compressible_ciphertext_is_refused() {
        assert!(!with(|request| {
            request.insert("ct".to_owned(), json!(STANDARD.encode([b'A'; 200])));
        }));
    }

    #[test]
    fn meta_must_hold_exactly_expire() {
        assert!(!with(
            |request| request["meta"]["burnafterreading"] = json!(true)
        ));
        assert!(!with(|request| request["meta"] = json!({"other": "1week"})));
        assert!(!with(|request| request["meta"] = json!(["1week"])));
        assert!(!with(|request| {
            request.remove("meta");
        }));
    }

    #[test]
    fn unknown_expire_values_fall_back_to_the_default() {
        let options = vec![
            ("1day".to_owned(), 86_400),
            ("1week".to_owned(), 604_800),
            ("never".to_owned(), 0),
        ];
        assert_eq!(
            lifetime_secs(Some(&json!({"expire": "1day"})), &options, "1week"),
            Some(86_400)
        );
        assert_eq!(
            lifetime_secs(Some(&json!({"expire": "forever"})), &options, "1week"),
            Some(604_800)
        );
        assert_eq!(
            lifetime_secs(Some(&json!({"expire": 5})), &options, "1week"),
            Some(604_800)
        );
        assert_eq!(
            lifetime_secs(Some(&json!({"expire": "never"})), &options, "1week"),
            None
        );
    }
}
