//! The PrivateBin v2 paste format, as pure functions (docs/protocols.md).
//!
//! Encryption is split in two steps, [`compress_paste`] and [`encrypt_compressed`], because the
//! size of the ciphertext is known exactly from the compressed size: the uploader can check a
//! transcript against the server's limit before paying for PBKDF2 and AES.
//!
//! Long because the format is one specification: the key and its derivation, compression, the
//! cipher, the authenticated data and the JSON envelope must agree byte for byte, and are read
//! against each other; its unit tests are the last third.

use std::fmt;
use std::io::{Read, Write};
use std::num::NonZeroU32;

use aes_gcm::aead::consts::U16;
use aes_gcm::aead::{AeadInPlace, KeyInit};
use aes_gcm::aes::Aes256;
use aes_gcm::{AesGcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use flate2::Compression;
use flate2::read::DeflateDecoder;
use flate2::write::DeflateEncoder;
use serde::Serialize;
use serde_json::{Value, json};

use super::document::{PasteDocument, PasteFile, from_json, to_json};
use super::{PrivateBinError, Result};

/// PBKDF2 iterations, as the reference client uses (the server requires more than 10 000).
pub const PBKDF2_ITERATIONS: NonZeroU32 = NonZeroU32::new(100_000).expect("not zero");
/// Length of the random paste key in bytes.
pub const KEY_BYTES: usize = 32;
/// Length of the GCM nonce: PrivateBin uses 16 bytes, not the usual 12.
pub const IV_BYTES: usize = 16;
/// Length of the PBKDF2 salt.
pub const SALT_BYTES: usize = 8;
/// Length of the GCM tag appended to the ciphertext.
pub const TAG_BYTES: usize = 16;
/// Deflate level. The reference client uses 7; on transcripts level 3 gives ciphertext about 12 %
/// larger at less than half the CPU time (see docs/benchmarks.md), which keeps a 10 000-message
/// transcript well inside its CPU budget. Any level inflates the same way.
pub const DEFAULT_COMPRESSION_LEVEL: u32 = 3;
/// A decrypted paste never inflates beyond this: a guard against deflate bombs from a hostile server.
const MAX_INFLATED_BYTES: u64 = 256 * 1024 * 1024;

/// AES-256-GCM with PrivateBin's 128-bit nonce; `aes_gcm::Aes256Gcm` is the 96-bit variant.
type PasteCipher = AesGcm<Aes256, U16>;

/// The random key of one paste. It travels only in the share link's fragment, never to the server.
#[derive(Clone, PartialEq, Eq)]
pub struct PasteKey([u8; KEY_BYTES]);

impl PasteKey {
    /// Draws a fresh random key.
    pub fn generate<R: rand::CryptoRng + ?Sized>(rng: &mut R) -> Self {
        let mut bytes = [0; KEY_BYTES];
        rng.fill_bytes(&mut bytes);
        Self(bytes)
    }

    /// The key made of these bytes; the inverse of [`as_bytes`](Self::as_bytes).
    pub const fn from_bytes(bytes: [u8; KEY_BYTES]) -> Self {
        Self(bytes)
    }

    /// The key's bytes, which derive the AES key (with the paste's salt, by PBKDF2).
    pub const fn as_bytes(&self) -> &[u8; KEY_BYTES] {
        &self.0
    }

    /// The key as it appears in a share link: Base58 (Bitcoin alphabet).
    pub fn to_base58(&self) -> String {
        bs58::encode(self.0).into_string()
    }

    /// Parses the key from a link fragment, like the web client does: a leading `-` (the
    /// burn-after-reading marker) and anything from `&` on are ignored, and a short key is
    /// left-padded with zero bytes.
    pub fn from_base58(fragment: &str) -> Result<Self> {
        let fragment = fragment.strip_prefix('-').unwrap_or(fragment);
        let encoded = fragment.split('&').next().unwrap_or_default();
        if encoded.is_empty() {
            return Err(PrivateBinError::InvalidPasteKey {
                reason: "the key is empty",
            });
        }
        let decoded =
            bs58::decode(encoded)
                .into_vec()
                .map_err(|_| PrivateBinError::InvalidPasteKey {
                    reason: "not Base58",
                })?;
        if decoded.len() > KEY_BYTES {
            return Err(PrivateBinError::InvalidPasteKey {
                reason: "longer than 32 bytes",
            });
        }
        let mut bytes = [0; KEY_BYTES];
        bytes[KEY_BYTES - decoded.len()..].copy_from_slice(&decoded);
        Ok(Self(bytes))
    }
}

impl fmt::Debug for PasteKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The key must never end up in a log line.
        f.write_str("PasteKey(<redacted>)")
    }
}

/// How long the server keeps a paste: the config crate's enum, so the contract is written once.
pub use ticketeer_config::PasteExpiry;

/// Every expiry PrivateBin offers by default (`[expire_options]`), in its order.
pub const ALL_EXPIRIES: [PasteExpiry; 8] = [
    PasteExpiry::FiveMinutes,
    PasteExpiry::TenMinutes,
    PasteExpiry::OneHour,
    PasteExpiry::OneDay,
    PasteExpiry::OneWeek,
    PasteExpiry::OneMonth,
    PasteExpiry::OneYear,
    PasteExpiry::Never,
];

/// Parses an expiry written as PrivateBin names it (`1week`, `never`, …).
///
/// The server silently replaces an unknown value with its own default, so a typo must fail here
/// instead, naming the value.
pub fn parse_expiry(value: &str) -> Result<PasteExpiry> {
    ALL_EXPIRIES
        .into_iter()
        .find(|expiry| expiry.as_str() == value)
        .ok_or_else(|| PrivateBinError::UnknownExpiry {
            value: value.to_owned(),
        })
}

/// How PrivateBin's web client displays the paste.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PasteFormatter {
    /// `plaintext`
    PlainText,
    /// `syntaxhighlighting`
    SyntaxHighlighting,
    /// `markdown`: transcripts are Markdown.
    #[default]
    Markdown,
}

impl PasteFormatter {
    /// The name PrivateBin gives it, as written in the paste's adata.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::PlainText => "plaintext",
            Self::SyntaxHighlighting => "syntaxhighlighting",
            Self::Markdown => "markdown",
        }
    }
}

/// Everything about a paste except its text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PasteOptions {
    /// How long the server keeps it.
    pub expire: PasteExpiry,
    /// How the web client shows it.
    pub formatter: PasteFormatter,
    /// Deleted by the server after the first read.
    pub burn_after_reading: bool,
    /// Comments allowed (the server may forbid it).
    pub open_discussion: bool,
    /// Deflate level 0–9; at 0 the text is stored uncompressed and adata says `none`.
    pub compression_level: u32,
}

impl Default for PasteOptions {
    fn default() -> Self {
        Self {
            expire: PasteExpiry::default(),
            formatter: PasteFormatter::default(),
            burn_after_reading: false,
            open_discussion: false,
            compression_level: DEFAULT_COMPRESSION_LEVEL,
        }
    }
}

/// The JSON body of a create request, exactly the fields the server reads.
#[derive(Clone, Debug, Serialize)]
pub struct CreatePasteRequest {
    /// Format version, always 2.
    pub v: u8,
    /// The authenticated data: `[[iv, salt, iter, 256, 128, "aes", "gcm", "zlib"], formatter, discussion, burn]`.
    pub adata: Value,
    /// Base64 of ciphertext followed by the GCM tag.
    pub ct: String,
    /// `{"expire": …}` and nothing else (extra keys are rejected).
    pub meta: CreateMeta,
}

/// The `meta` member of a create request.
#[derive(Clone, Debug, Serialize)]
pub struct CreateMeta {
    /// How long the server keeps the paste.
    pub expire: PasteExpiry,
}

/// A paste's plaintext after serialisation and deflate, ready to be encrypted.
#[derive(Clone, Debug)]
pub struct CompressedPaste {
    bytes: Vec<u8>,
    compressed: bool,
}

impl CompressedPaste {
    /// The exact length of the base64 `ct` this paste will have, which is what the server's size
    /// limit counts.
    pub fn ciphertext_len(&self) -> usize {
        base64_len(self.bytes.len() + TAG_BYTES)
    }
}

/// Length of padded standard base64 for `bytes` input bytes.
pub(crate) const fn base64_len(bytes: usize) -> usize {
    bytes.div_ceil(3) * 4
}

/// Serialises `text` as `{"paste": text}` and raw-deflates it (or not, at level 0).
pub fn compress_paste(text: &str, options: &PasteOptions) -> Result<CompressedPaste> {
    compress_document(text, None, options)
}

/// Like [`compress_paste`], with `file` in the paste's attachment fields.
pub fn compress_document(
    text: &str,
    file: Option<&PasteFile>,
    options: &PasteOptions,
) -> Result<CompressedPaste> {
    let json = to_json(text, file)?;
    if options.compression_level == 0 {
        return Ok(CompressedPaste {
            bytes: json,
            compressed: false,
        });
    }
    // Text transcripts deflate to roughly a quarter; reserving that avoids regrowing the buffer.
    let mut encoder = DeflateEncoder::new(
        Vec::with_capacity(json.len() / 4 + 64),
        Compression::new(options.compression_level.min(9)),
    );
    encoder
        .write_all(&json)
        .map_err(PrivateBinError::CompressPaste)?;
    let bytes = encoder.finish().map_err(PrivateBinError::CompressPaste)?;
    Ok(CompressedPaste {
        bytes,
        compressed: true,
    })
}

/// Builds the adata array, which is also the AES-GCM associated data.
fn adata(iv: &[u8], salt: &[u8], options: &PasteOptions, compressed: bool) -> Value {
    json!([
        [
            BASE64.encode(iv),
            BASE64.encode(salt),
            PBKDF2_ITERATIONS,
            KEY_BYTES * 8,
            TAG_BYTES * 8,
            "aes",
            "gcm",
            if compressed { "zlib" } else { "none" }
        ],
        options.formatter.as_str(),
        u8::from(options.open_discussion),
        u8::from(options.burn_after_reading)
    ])
}

/// PBKDF2-HMAC-SHA256 of the paste key (no password: the bot never uses one).
fn derive_key(key: &PasteKey, salt: &[u8], iterations: NonZeroU32) -> [u8; KEY_BYTES] {
    let mut derived = [0; KEY_BYTES];
    ring::pbkdf2::derive(
        ring::pbkdf2::PBKDF2_HMAC_SHA256,
        iterations,
        salt,
        key.as_bytes(),
        &mut derived,
    );
    derived
}

/// Encrypts an already compressed paste with `key` and a fresh IV and salt.
pub fn encrypt_compressed<R: rand::CryptoRng + ?Sized>(
    paste: &CompressedPaste,
    options: &PasteOptions,
    key: &PasteKey,
    rng: &mut R,
) -> Result<CreatePasteRequest> {
    if options.burn_after_reading && options.open_discussion {
        return Err(PrivateBinError::ConflictingFlags);
    }
    let mut iv = [0; IV_BYTES];
    let mut salt = [0; SALT_BYTES];
    rng.fill_bytes(&mut iv);
    rng.fill_bytes(&mut salt);
    let adata = adata(&iv, &salt, options, paste.compressed);
    // serde_json's compact output equals JavaScript's JSON.stringify for these values: no spaces,
    // integers as digits, `/` and non-ASCII left unescaped.
    let associated_data = adata.to_string();
    let cipher = PasteCipher::new(&derive_key(key, &salt, PBKDF2_ITERATIONS).into());
    let mut buffer = Vec::with_capacity(paste.bytes.len() + TAG_BYTES);
    buffer.extend_from_slice(&paste.bytes);
    cipher
        .encrypt_in_place(
            Nonce::<U16>::from_slice(&iv),
            associated_data.as_bytes(),
            &mut buffer,
        )
        .map_err(|_| PrivateBinError::EncryptPaste)?;
    Ok(CreatePasteRequest {
        v: 2,
        adata,
        ct: BASE64.encode(&buffer),
        meta: CreateMeta {
            expire: options.expire,
        },
    })
}

/// Encrypts `text` under a fresh random key; returns the request body and the key for the link.
pub fn encrypt_paste<R: rand::CryptoRng + ?Sized>(
    text: &str,
    options: &PasteOptions,
    rng: &mut R,
) -> Result<(CreatePasteRequest, PasteKey)> {
    let key = PasteKey::generate(rng);
    let compressed = compress_paste(text, options)?;
    let request = encrypt_compressed(&compressed, options, &key, rng)?;
    Ok((request, key))
}

/// The cipher parameters read back from a paste's adata.
struct CipherSpec {
    iv: Vec<u8>,
    salt: Vec<u8>,
    iterations: NonZeroU32,
    compressed: bool,
}

fn unsupported(detail: impl Into<String>) -> PrivateBinError {
    PrivateBinError::UnsupportedPaste {
        detail: detail.into(),
    }
}

fn parse_cipher_spec(adata: &Value) -> Result<CipherSpec> {
    // Pastes carry `[spec, formatter, discussion, burn]`; comments carry the bare spec.
    let spec = match adata.get(0) {
        Some(Value::Array(spec)) => spec,
        Some(_) => adata
            .as_array()
            .ok_or_else(|| unsupported("adata is not an array"))?,
        None => return Err(unsupported("adata is empty or not an array")),
    };
    if spec.len() < 8 {
        return Err(unsupported(
            "the cipher specification has fewer than 8 items",
        ));
    }
    let text = |index: usize, field: &'static str| {
        spec[index]
            .as_str()
            .ok_or_else(|| unsupported(format!("{field} is not a string")))
    };
    let number = |index: usize, field: &'static str| {
        spec[index]
            .as_u64()
            .ok_or_else(|| unsupported(format!("{field} is not an integer")))
    };
    let iv = BASE64
        .decode(text(0, "the IV")?)
        .map_err(|source| PrivateBinError::DecodeBase64 {
            field: "IV",
            source,
        })?;
    let salt =
        BASE64
            .decode(text(1, "the salt")?)
            .map_err(|source| PrivateBinError::DecodeBase64 {
                field: "salt",
                source,
            })?;
    let iterations = u32::try_from(number(2, "the iteration count")?)
        .map_err(|_| unsupported("the iteration count is too large"))?;
    let iterations =
        NonZeroU32::new(iterations).ok_or_else(|| unsupported("the iteration count is zero"))?;
    let key_bits = number(3, "the key size")?;
    let tag_bits = number(4, "the tag size")?;
    let (algorithm, mode, compression) = (
        text(5, "the algorithm")?,
        text(6, "the mode")?,
        text(7, "the compression")?,
    );
    if algorithm != "aes"
        || mode != "gcm"
        || key_bits != 256
        || tag_bits != 128
        || iv.len() != IV_BYTES
    {
        return Err(unsupported(format!(
            "{algorithm}-{key_bits}-{mode} with a {tag_bits}-bit tag and a {}-byte IV (only aes-256-gcm, 128-bit tag, 16-byte IV)",
            iv.len()
        )));
    }
    let compressed = match compression {
        "zlib" => true,
        "none" => false,
        other => return Err(unsupported(format!("compression {other:?}"))),
    };
    Ok(CipherSpec {
        iv,
        salt,
        iterations,
        compressed,
    })
}

/// Decrypts a paste read from the server and returns its text.
///
/// `adata` is the parsed value from the server's answer; it is re-serialised compactly for the
/// associated data, because the PHP server re-emits it with escaped slashes.
pub fn decrypt_paste(adata: &Value, ct: &str, key: &PasteKey) -> Result<String> {
    decrypt_document(adata, ct, key).map(|document| document.text)
}

/// Decrypts a paste read from the server: its text and its attached files.
pub fn decrypt_document(adata: &Value, ct: &str, key: &PasteKey) -> Result<PasteDocument> {
    let spec = parse_cipher_spec(adata)?;
    let mut buffer = BASE64
        .decode(ct)
        .map_err(|source| PrivateBinError::DecodeBase64 {
            field: "ciphertext",
            source,
        })?;
    let cipher = PasteCipher::new(&derive_key(key, &spec.salt, spec.iterations).into());
    cipher
        .decrypt_in_place(
            Nonce::<U16>::from_slice(&spec.iv),
            adata.to_string().as_bytes(),
            &mut buffer,
        )
        .map_err(|_| PrivateBinError::DecryptPaste)?;
    let plaintext = if spec.compressed {
        let mut inflated = Vec::with_capacity(buffer.len() * 4);
        DeflateDecoder::new(buffer.as_slice())
            .take(MAX_INFLATED_BYTES)
            .read_to_end(&mut inflated)
            .map_err(PrivateBinError::InflatePaste)?;
        inflated
    } else {
        buffer
    };
    from_json(&plaintext)
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    use super::*;

    fn rng() -> StdRng {
        StdRng::seed_from_u64(7)
    }

    #[test]
    fn encrypted_paste_decrypts_to_the_same_text() {
        let text = "# Ticket\n\nhéllo 👋 <b>not html</b>\n```rust\nfn main() {}\n```";
        let (request, key) = encrypt_paste(text, &PasteOptions::default(), &mut rng()).unwrap();
        assert_eq!(
            decrypt_paste(&request.adata, &request.ct, &key).unwrap(),
            text
        );
    }

    #[test]
    fn uncompressed_paste_decrypts_too() {
        let options = PasteOptions {
            compression_level: 0,
            ..PasteOptions::default()
        };
        let (request, key) = encrypt_paste("plain", &options, &mut rng()).unwrap();
        assert_eq!(request.adata[0][7], "none");
        assert_eq!(
            decrypt_paste(&request.adata, &request.ct, &key).unwrap(),
            "plain"
        );
    }

    #[test]
    fn adata_serialises_like_javascript() {
        let adata = adata(
            &[0; IV_BYTES],
            &[0xff; SALT_BYTES],
            &PasteOptions::default(),
            true,
        );
        assert_eq!(
            adata.to_string(),
            r#"[["AAAAAAAAAAAAAAAAAAAAAA==","//////////8=",100000,256,128,"aes","gcm","zlib"],"markdown",0,0]"#
        );
    }

    #[test]
    fn create_request_has_exactly_the_fields_the_server_reads() {
        let (request, key) = encrypt_paste("x", &PasteOptions::default(), &mut rng()).unwrap();
        let body = serde_json::to_value(&request).unwrap();
        let mut keys: Vec<_> = body.as_object().unwrap().keys().cloned().collect();
        keys.sort();
        assert_eq!(keys, ["adata", "ct", "meta", "v"]);
        assert_eq!(body["v"], 2);
        assert_eq!(body["meta"], json!({"expire": "1year"}));
        assert_eq!(body["adata"][0][2], 100_000);
        assert_eq!(
            BASE64
                .decode(body["adata"][0][0].as_str().unwrap())
                .unwrap()
                .len(),
            IV_BYTES
        );
        assert_eq!(
            BASE64
                .decode(body["adata"][0][1].as_str().unwrap())
                .unwrap()
                .len(),
            SALT_BYTES
        );
        let serialized = serde_json::to_string(&request).unwrap();
        assert!(!serialized.contains(&key.to_base58()));
        assert!(!serialized.contains(&BASE64.encode(key.as_bytes())));
    }

    #[test]
    fn ciphertext_length_is_predicted_exactly() {
        let text = "a fairly ordinary transcript line\n".repeat(500);
        let options = PasteOptions::default();
        let compressed = compress_paste(&text, &options).unwrap();
        let request = encrypt_compressed(
            &compressed,
            &options,
            &PasteKey::generate(&mut rng()),
            &mut rng(),
        )
        .unwrap();
        assert_eq!(compressed.ciphertext_len(), request.ct.len());
    }

    #[test]
    fn wrong_key_fails_authentication() {
        let (request, _) = encrypt_paste("secret", &PasteOptions::default(), &mut rng()).unwrap();
        let wrong = PasteKey::from_bytes([9; KEY_BYTES]);
        assert!(matches!(
            decrypt_paste(&request.adata, &request.ct, &wrong),
            Err(PrivateBinError::DecryptPaste)
        ));
    }

    #[test]
    fn tampered_adata_fails_authentication() {
        let (mut request, key) =
            encrypt_paste("secret", &PasteOptions::default(), &mut rng()).unwrap();
        request.adata[1] = json!("plaintext");
        assert!(matches!(
            decrypt_paste(&request.adata, &request.ct, &key),
            Err(PrivateBinError::DecryptPaste)
        ));
    }

    #[test]
    fn burn_after_reading_and_discussion_together_are_refused() {
        let options = PasteOptions {
            burn_after_reading: true,
            open_discussion: true,
            ..PasteOptions::default()
        };
        assert!(matches!(
            encrypt_paste("x", &options, &mut rng()),
            Err(PrivateBinError::ConflictingFlags)
        ));
    }

    #[test]
    fn flags_are_integers() {
        let options = PasteOptions {
            burn_after_reading: true,
            ..PasteOptions::default()
        };
        let (request, _) = encrypt_paste("x", &options, &mut rng()).unwrap();
        assert_eq!(request.adata[2], json!(0));
        assert_eq!(request.adata[3], json!(1));
    }

    #[test]
    fn key_round_trips_through_base58() {
        let key = PasteKey::generate(&mut rng());
        assert_eq!(PasteKey::from_base58(&key.to_base58()).unwrap(), key);
        assert_eq!(
            PasteKey::from_base58(&format!("-{}&x=1", key.to_base58())).unwrap(),
            key
        );
    }

    #[test]
    fn key_with_leading_zero_bytes_is_left_padded() {
        let mut bytes = [0xab; KEY_BYTES];
        bytes[0] = 0;
        bytes[1] = 0;
        let key = PasteKey::from_bytes(bytes);
        let encoded = key.to_base58();
        assert!(encoded.starts_with("11"));
        assert_eq!(PasteKey::from_base58(&encoded).unwrap(), key);
        // Without the leading '1's the browser still pads to 32 bytes.
        assert_eq!(PasteKey::from_base58(&encoded[2..]).unwrap(), key);
    }

    #[test]
    fn invalid_keys_are_rejected() {
        assert!(PasteKey::from_base58("0OIl").is_err());
        assert!(PasteKey::from_base58("").is_err());
        assert!(PasteKey::from_base58(&"z".repeat(60)).is_err());
    }

    #[test]
    fn key_debug_output_hides_the_key() {
        let key = PasteKey::from_bytes([0x11; KEY_BYTES]);
        assert_eq!(format!("{key:?}"), "PasteKey(<redacted>)");
    }

    #[test]
    fn expiry_parses_privatebin_values_and_names_a_bad_one() {
        for expiry in ALL_EXPIRIES {
            assert_eq!(parse_expiry(expiry.as_str()).unwrap(), expiry);
            assert_eq!(
                serde_json::to_value(expiry).unwrap(),
                json!(expiry.as_str())
            );
        }
        assert_eq!(PasteExpiry::default(), PasteExpiry::OneYear);
        let error = parse_expiry("2years").unwrap_err();
        assert!(error.to_string().contains("\"2years\""), "{error}");
    }

    #[test]
    fn adata_reserialised_from_php_escaped_json_still_authenticates() {
        let (request, key) = encrypt_paste("x/y", &PasteOptions::default(), &mut rng()).unwrap();
        // PHP's json_encode escapes '/', which a base64 IV or salt often contains.
        let php = request.adata.to_string().replace('/', "\\/");
        let parsed: Value = serde_json::from_str(&php).unwrap();
        assert_eq!(decrypt_paste(&parsed, &request.ct, &key).unwrap(), "x/y");
    }

    #[test]
    fn unsupported_cipher_is_named() {
        let (mut request, key) = encrypt_paste("x", &PasteOptions::default(), &mut rng()).unwrap();
        request.adata[0][6] = json!("cbc");
        let error = decrypt_paste(&request.adata, &request.ct, &key).unwrap_err();
        assert!(error.to_string().contains("cbc"), "{error}");
    }
}
