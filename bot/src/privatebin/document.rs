//! What a paste holds before encryption: the JSON document `{"paste": text}`, optionally with one
//! file in PrivateBin's attachment fields, `attachment` (a `data:` URI) and `attachment_name`.
//!
//! The bot writes a file as PrivateBin's web client did before 1.7.7 and as pbincli reads it: one
//! file per paste, both fields strings. PrivateBin's web client since 1.7.7 writes arrays of
//! both (several files in one paste); reading accepts either form, so a paste made in the
//! browser can be fetched too.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::{Deserialize, Serialize};

use super::{PrivateBinError, Result};

/// Shown for a file whose type is unknown or one a browser would run rather than show.
const OPAQUE_MEDIA_TYPE: &str = "application/octet-stream";

/// A file carried in a paste's attachment fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PasteFile {
    /// The file name PrivateBin offers the download under.
    pub name: String,
    /// The media type written into the `data:` URI; PrivateBin's viewer shows images inline.
    pub media_type: String,
    /// The file's bytes.
    pub bytes: Vec<u8>,
}

/// A paste's decrypted content.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PasteDocument {
    /// The paste's text.
    pub text: String,
    /// The files attached to it, in order (the bot attaches at most one).
    pub files: Vec<PasteFile>,
}

/// The media type to store a file under: Discord's `content_type` when it is a plain
/// `type/subtype` that PrivateBin's viewer shows or offers for download, else
/// `application/octet-stream`. Markup types (HTML, SVG, XML) are stored opaque: a transcript's
/// reader opens the file from a link, and must not have a page run in the PrivateBin origin.
pub fn safe_media_type(content_type: Option<&str>) -> String {
    let Some(essence) = content_type
        .and_then(|value| value.split(';').next())
        .map(|value| value.trim().to_ascii_lowercase())
    else {
        return OPAQUE_MEDIA_TYPE.to_owned();
    };
    let token = |part: &str| {
        !part.is_empty()
            && part
                .bytes()
                .all(|byte| byte.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&byte))
    };
    let well_formed = essence
        .split_once('/')
        .is_some_and(|(kind, subtype)| token(kind) && token(subtype));
    let runs_in_a_browser = essence.contains("html")
        || essence.contains("xml")
        || essence.contains("svg")
        || essence.contains("javascript");
    if well_formed && !runs_in_a_browser {
        essence
    } else {
        OPAQUE_MEDIA_TYPE.to_owned()
    }
}

/// A file name that is safe to save under as given: no path separators or control characters,
/// no leading dot, never empty. pbincli saves an attachment under its `attachment_name` as is,
/// so the bot never stores a name that could lead outside the folder it is saved in.
pub fn safe_file_name(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| {
            if c == '/' || c == '\\' || c.is_control() {
                '_'
            } else {
                c
            }
        })
        .collect();
    let cleaned = cleaned.trim_start_matches('.');
    if cleaned.is_empty() {
        "file".to_owned()
    } else {
        cleaned.to_owned()
    }
}

#[derive(Serialize)]
struct DocumentOut<'a> {
    paste: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    attachment: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    attachment_name: Option<&'a str>,
}

/// The JSON bytes of a paste holding `text` and, optionally, `file`.
pub(crate) fn to_json(text: &str, file: Option<&PasteFile>) -> Result<Vec<u8>> {
    let document = DocumentOut {
        paste: text,
        attachment: file.map(|file| {
            format!(
                "data:{};base64,{}",
                safe_media_type(Some(&file.media_type)),
                BASE64.encode(&file.bytes)
            )
        }),
        attachment_name: file.map(|file| file.name.as_str()),
    };
    serde_json::to_vec(&document).map_err(|error| PrivateBinError::CompressPaste(error.into()))
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    fn into_vec(self) -> Vec<String> {
        match self {
            Self::One(value) => vec![value],
            Self::Many(values) => values,
        }
    }
}

#[derive(Deserialize)]
struct DocumentIn {
    paste: String,
    #[serde(default)]
    attachment: Option<OneOrMany>,
    #[serde(default)]
    attachment_name: Option<OneOrMany>,
}

/// Reads a decrypted paste's JSON.
pub(crate) fn from_json(bytes: &[u8]) -> Result<PasteDocument> {
    let document: DocumentIn =
        serde_json::from_slice(bytes).map_err(PrivateBinError::ParsePlaintext)?;
    let uris = document
        .attachment
        .map(OneOrMany::into_vec)
        .unwrap_or_default();
    let mut names = document
        .attachment_name
        .map(OneOrMany::into_vec)
        .unwrap_or_default()
        .into_iter();
    let files = uris
        .iter()
        .enumerate()
        .map(|(index, uri)| {
            let (media_type, bytes) = parse_data_uri(uri)?;
            let name = names
                .next()
                .unwrap_or_else(|| format!("attachment-{}", index + 1));
            Ok(PasteFile {
                name,
                media_type,
                bytes,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(PasteDocument {
        text: document.paste,
        files,
    })
}

/// Splits a base64 `data:` URI (RFC 2397) into its media type and bytes. PrivateBin's clients
/// write only base64 ones.
fn parse_data_uri(uri: &str) -> Result<(String, Vec<u8>)> {
    let unsupported = |detail: &str| PrivateBinError::UnsupportedPaste {
        detail: format!("the attachment {detail}"),
    };
    let rest = uri
        .strip_prefix("data:")
        .ok_or_else(|| unsupported("is not a data: URI"))?;
    let (header, data) = rest
        .split_once(',')
        .ok_or_else(|| unsupported("has no data"))?;
    let media_type = header
        .strip_suffix(";base64")
        .ok_or_else(|| unsupported("is not base64-encoded"))?;
    let bytes = BASE64
        .decode(data)
        .map_err(|source| PrivateBinError::DecodeBase64 {
            field: "attachment",
            source,
        })?;
    let media_type = if media_type.is_empty() {
        OPAQUE_MEDIA_TYPE.to_owned()
    } else {
        media_type.to_owned()
    };
    Ok((media_type, bytes))
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn file() -> PasteFile {
        PasteFile {
            name: "screenshot.png".to_owned(),
            media_type: "image/png".to_owned(),
            bytes: vec![0x89, b'P', b'N', b'G', 0, 255],
        }
    }

    #[test]
    fn a_file_is_written_in_the_string_form_pbincli_reads() {
        let json: Value = serde_json::from_slice(&to_json("text", Some(&file())).unwrap()).unwrap();
        assert_eq!(
            json,
            json!({
                "paste": "text",
                "attachment": "data:image/png;base64,iVBORwD/",
                "attachment_name": "screenshot.png",
            })
        );
        let text_only: Value = serde_json::from_slice(&to_json("text", None).unwrap()).unwrap();
        assert_eq!(text_only, json!({"paste": "text"}));
    }

    #[test]
    fn a_document_reads_back_as_written() {
        let document = from_json(&to_json("text", Some(&file())).unwrap()).unwrap();
        assert_eq!(
            document,
            PasteDocument {
                text: "text".to_owned(),
                files: vec![file()],
            }
        );
    }

    #[test]
    fn the_web_clients_array_form_is_read_too() {
        let json = json!({
            "paste": "",
            "attachment": ["data:text/plain;base64,aGk=", "data:;base64,AA=="],
            "attachment_name": ["a.txt"],
        });
        let document = from_json(json.to_string().as_bytes()).unwrap();
        let names: Vec<&str> = document.files.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["a.txt", "attachment-2"]);
        assert_eq!(document.files[0].bytes, b"hi");
        assert_eq!(document.files[1].media_type, OPAQUE_MEDIA_TYPE);
    }

    #[test]
    fn an_attachment_that_is_not_a_base64_data_uri_is_refused() {
        for uri in [
            "https://example.com/a.png",
            "data:text/plain,hi",
            "data:;base64,%%",
        ] {
            let json = json!({"paste": "", "attachment": uri});
            assert!(from_json(json.to_string().as_bytes()).is_err(), "{uri}");
        }
    }

    #[test]
    fn file_names_stay_inside_the_folder_they_are_saved_in() {
        assert_eq!(safe_file_name("shot.png"), "shot.png");
        assert_eq!(safe_file_name("../../etc/passwd"), "_.._etc_passwd");
        assert_eq!(safe_file_name("..\\x"), "_x");
        assert_eq!(safe_file_name(".bashrc"), "bashrc");
        assert_eq!(safe_file_name(""), "file");
        assert_eq!(safe_file_name("a\nb"), "a_b");
    }

    #[test]
    fn only_inert_well_formed_media_types_are_kept() {
        assert_eq!(safe_media_type(Some("image/png")), "image/png");
        assert_eq!(
            safe_media_type(Some("Text/Plain; charset=utf-8")),
            "text/plain"
        );
        for risky in [
            Some("text/html"),
            Some("image/svg+xml"),
            Some("application/xhtml+xml"),
            Some("text/javascript"),
            Some("image/png\"><script>"),
            Some("nonsense"),
            None,
        ] {
            assert_eq!(safe_media_type(risky), OPAQUE_MEDIA_TYPE, "{risky:?}");
        }
    }
}
