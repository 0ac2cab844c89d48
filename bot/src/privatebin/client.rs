//! The HTTP side of PrivateBin's JSON API: create, read and delete, each bounded by timeouts.

use std::time::Duration;

use reqwest::Url;
use serde::Deserialize;
use serde_json::Value;

use super::document::PasteDocument;
use super::format::{CreatePasteRequest, decrypt_document, decrypt_paste};
use super::link::{ShareLink, checked_paste_id, parse_base_url};
use super::{PasteAction, PrivateBinError, Result};

/// The header that makes PrivateBin answer JSON instead of its HTML page.
const JSON_API_HEADER: (&str, &str) = ("X-Requested-With", "JSONHttpRequest");
/// PrivateBin words its refusals in the language the request prefers (unless the instance fixes
/// one), and the queue reads the English ones; see docs/protocols.md.
const LANGUAGE: &str = "en";

/// Timeouts of every request to the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientTimeouts {
    /// Establishing the TCP/TLS connection.
    pub connect: Duration,
    /// One whole request, upload of a multi-megabyte paste included.
    pub request: Duration,
}

impl Default for ClientTimeouts {
    fn default() -> Self {
        Self {
            connect: Duration::from_secs(10),
            request: Duration::from_mins(1),
        }
    }
}

/// What the server answered to a successful create.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreatedPaste {
    /// The paste id (16 hex digits on a real server).
    pub id: String,
    /// The token that deletes the paste; keep it to honour erasure requests.
    pub delete_token: String,
}

/// A paste as read from the server, still encrypted.
#[derive(Clone, Debug, PartialEq)]
pub struct PasteResponse {
    /// The paste id as the server answered it, else the one asked for.
    pub id: String,
    /// The parsed adata (authenticated data).
    pub adata: Value,
    /// Base64 ciphertext with the GCM tag.
    pub ct: String,
    /// Seconds until the server deletes it; `None` for `never` pastes (`meta` is `[]` then).
    pub time_to_live: Option<u64>,
}

impl PasteResponse {
    /// Decrypts this paste with `key` and returns its text.
    pub fn decrypt(&self, key: &super::PasteKey) -> Result<String> {
        decrypt_paste(&self.adata, &self.ct, key)
    }

    /// Decrypts this paste with `key`: its text and its attached files.
    pub fn decrypt_document(&self, key: &super::PasteKey) -> Result<PasteDocument> {
        decrypt_document(&self.adata, &self.ct, key)
    }
}

/// Every field any API answer may carry; which are present depends on the call.
#[derive(Deserialize)]
struct Answer {
    status: i64,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    deletetoken: Option<String>,
    #[serde(default)]
    adata: Option<Value>,
    #[serde(default)]
    ct: Option<String>,
    #[serde(default)]
    meta: Option<Value>,
}

/// A client for one PrivateBin server.
#[derive(Clone, Debug)]
pub struct PrivateBinClient {
    http: reqwest::Client,
    base: Url,
}

impl PrivateBinClient {
    /// A client for the server at `base_url` (e.g. `https://paste.example.com/` or a sub-path).
    ///
    /// The process's rustls crypto provider must be installed first (`main` does).
    pub fn new(base_url: &str, timeouts: ClientTimeouts) -> Result<Self> {
        let base = parse_base_url(base_url)?;
        let http = reqwest::Client::builder()
            .connect_timeout(timeouts.connect)
            .timeout(timeouts.request)
            .user_agent(concat!("ticketeer/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(PrivateBinError::BuildHttpClient)?;
        Ok(Self { http, base })
    }

    /// The server's base URL.
    pub const fn base_url(&self) -> &Url {
        &self.base
    }

    /// Stores an encrypted paste.
    pub async fn create(&self, request: &CreatePasteRequest) -> Result<CreatedPaste> {
        let answer = self
            .send(
                PasteAction::Create,
                self.http.post(self.base.clone()).json(request),
            )
            .await?;
        let id = answer
            .id
            .ok_or_else(|| missing(PasteAction::Create, "id"))?;
        checked_paste_id(&id)?;
        let delete_token = answer
            .deletetoken
            .ok_or_else(|| missing(PasteAction::Create, "deletetoken"))?;
        Ok(CreatedPaste { id, delete_token })
    }

    /// Reads a paste (still encrypted).
    pub async fn read(&self, id: &str) -> Result<PasteResponse> {
        let mut url = self.base.clone();
        url.query_pairs_mut()
            .append_pair("pasteid", checked_paste_id(id)?);
        let answer = self.send(PasteAction::Read, self.http.get(url)).await?;
        let time_to_live = answer
            .meta
            .as_ref()
            .and_then(|meta| meta.get("time_to_live"))
            .and_then(Value::as_u64);
        Ok(PasteResponse {
            id: answer.id.unwrap_or_else(|| id.to_owned()),
            adata: answer
                .adata
                .ok_or_else(|| missing(PasteAction::Read, "adata"))?,
            ct: answer.ct.ok_or_else(|| missing(PasteAction::Read, "ct"))?,
            time_to_live,
        })
    }

    /// Reads and decrypts the paste a share link points to.
    ///
    /// The link must point at this client's server: the key is only ever used locally.
    pub async fn read_text(&self, link: &ShareLink) -> Result<String> {
        self.read(link.id()).await?.decrypt(link.key())
    }

    /// Reads and decrypts the paste a share link points to, attached files included.
    pub async fn read_document(&self, link: &ShareLink) -> Result<PasteDocument> {
        self.read(link.id()).await?.decrypt_document(link.key())
    }

    /// Deletes a paste with its delete token.
    pub async fn delete(&self, id: &str, delete_token: &str) -> Result<()> {
        let body =
            serde_json::json!({ "pasteid": checked_paste_id(id)?, "deletetoken": delete_token });
        self.send(
            PasteAction::Delete,
            self.http.post(self.base.clone()).json(&body),
        )
        .await
        .map(drop)
    }

    async fn send(&self, action: PasteAction, request: reqwest::RequestBuilder) -> Result<Answer> {
        let response = request
            .header(JSON_API_HEADER.0, JSON_API_HEADER.1)
            .header(reqwest::header::ACCEPT, "application/json")
            .header(reqwest::header::ACCEPT_LANGUAGE, LANGUAGE)
            .send()
            .await
            .map_err(|source| PrivateBinError::SendRequest { action, source })?;
        let status = response.status();
        if !status.is_success() {
            return Err(PrivateBinError::ServerStatus {
                action,
                status: status.as_u16(),
            });
        }
        let body = response
            .bytes()
            .await
            .map_err(|source| PrivateBinError::SendRequest { action, source })?;
        let answer: Answer = serde_json::from_slice(&body)
            .map_err(|source| PrivateBinError::ParseAnswer { action, source })?;
        if answer.status == 0 {
            Ok(answer)
        } else {
            Err(PrivateBinError::ServerRejected {
                action,
                message: answer
                    .message
                    .unwrap_or_else(|| format!("status {} without a message", answer.status)),
            })
        }
    }
}

fn missing(action: PasteAction, field: &str) -> PrivateBinError {
    PrivateBinError::ParseAnswer {
        action,
        source: serde::de::Error::custom(format!("missing field `{field}`")),
    }
}
