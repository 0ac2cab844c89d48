//! A PrivateBin v2 JSON API emulator applying the real server's rules (docs/protocols.md).
//!
//! It validates new pastes exactly as PrivateBin's `FormatV2::isValid` and `Paste::_validate` do
//! (answering "Invalid data."), enforces the size limit on the base64 `ct` and the per-IP traffic
//! limiter, resolves `expire` values, serves reads by `?pasteid=<id>` and `?<id>` (`meta: []` for
//! pastes that never expire, burn after reading), deletes by token, and answers `?jsonld=paste`.
//! Every request is recorded so tests can assert what the server saw; `set_unavailable` simulates
//! an outage and `advance_time` lets expiry be tested without waiting.
//!
//! Not emulated: comments (a comment post is answered "Invalid data."), the `creators` list and
//! CIDR ranges in `exempted`, the YOURLS/Shlink proxies and the web UI (a tiny HTML page stands in).

mod i18n;
mod php;
mod rules;

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use serde::Serialize;
use serde_json::Value;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use self::i18n::Language;
use self::i18n::LanguageChoice;
use self::rules::PostedData;

/// The answer to a read of a paste that does not exist, has expired or was deleted.
pub const GENERIC_ERROR: &str = "Document does not exist, has expired or has been deleted.";
/// The answer to any paste that breaks a format or paste rule.
pub const INVALID_DATA: &str = "Invalid data.";
/// The answer to a delete with the wrong token.
pub const WRONG_DELETE_TOKEN: &str = "Wrong deletion token. Document was not deleted.";
/// The answer to a read or delete whose id is not 16 hex digits.
pub const INVALID_ID: &str = "Invalid document ID.";
/// The answer when two pastes have the same `ct`.
pub const UNLUCKY: &str = "You are unlucky. Try again.";

/// Request bodies larger than this are cut off with 413 (PHP's `post_max_size` plays this role).
const MAX_BODY_BYTES: usize = 64 * 1024 * 1024;

/// What the emulated server is configured with (the relevant parts of PrivateBin's `conf.php`).
#[derive(Debug, Clone)]
pub struct PrivateBinConfig {
    /// Address to listen on; port 0 picks a free port.
    pub bind: SocketAddr,
    /// Path the instance is served under, starting and ending with `/` (e.g. `/privatebin/`).
    pub base_path: String,
    /// `[main] sizelimit`: the most characters the base64 `ct` may have.
    pub size_limit: usize,
    /// `[traffic] limit`: seconds between two creations from one client IP; 0 turns it off.
    /// PrivateBin's default is 10.
    pub traffic_limit_secs: u64,
    /// `[traffic] header`: take the client IP from this request header when present
    /// (e.g. `X-Forwarded-For`) instead of the peer address.
    pub traffic_header: Option<String>,
    /// `[traffic] exempted`: client IPs the traffic limiter ignores.
    pub traffic_exempted: Vec<IpAddr>,
    /// `[formatter_options]`: the formatters a paste may ask for.
    pub formatters: Vec<String>,
    /// `[main] discussion`: whether pastes may open a discussion.
    pub discussion_enabled: bool,
    /// `[expire_options]`: expire value → lifetime in seconds, 0 meaning never.
    pub expire_options: Vec<(String, u64)>,
    /// `[expire] default`: used when a paste asks for an unknown expire value.
    pub default_expire: String,
    /// The server salt delete tokens are signed with.
    pub server_salt: String,
    /// `[main] languagedefault`: the language of clients without a preference; `None` is
    /// PrivateBin's empty default (English).
    pub language_default: Option<Language>,
    /// `[main] languageselection`: when off and `language_default` is set, every answer is in
    /// `language_default` whatever the client asks for; otherwise a `lang` cookie or
    /// `Accept-Language` chooses.
    pub language_selection: bool,
}

impl Default for PrivateBinConfig {
    fn default() -> Self {
        let expire_options = [
            ("5min", 300),
            ("10min", 600),
            ("1hour", 3_600),
            ("1day", 86_400),
            ("1week", 604_800),
            ("1month", 2_592_000),
            ("1year", 31_536_000),
            ("never", 0),
        ];
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            base_path: "/".to_owned(),
            size_limit: 10_485_760,
            traffic_limit_secs: 10,
            traffic_header: None,
            traffic_exempted: Vec::new(),
            formatters: ["plaintext", "syntaxhighlighting", "markdown"]
                .map(str::to_owned)
                .to_vec(),
            discussion_enabled: true,
            expire_options: expire_options
                .map(|(name, secs)| (name.to_owned(), secs))
                .to_vec(),
            default_expire: "1week".to_owned(),
            server_salt: format!("{:032x}", rand::random::<u128>()),
            language_default: None,
            language_selection: false,
        }
    }
}

impl PrivateBinConfig {
    /// The defaults with the traffic limiter off: for tests that post several pastes in a row
    /// from one address and are not about the limiter.
    pub fn without_traffic_limit() -> Self {
        Self {
            traffic_limit_secs: 0,
            ..Self::default()
        }
    }
}

/// Why the emulator could not start.
#[derive(Debug, thiserror::Error)]
pub enum PrivateBinEmulatorError {
    /// The base path does not start and end with `/`.
    #[error(
        "invalid base path {0:?}: it must start and end with '/' (e.g. \"/\" or \"/privatebin/\")"
    )]
    BasePath(String),
    /// The listening socket could not be bound.
    #[error("binding the PrivateBin emulator to {addr}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// The bound socket's address could not be read.
    #[error("reading the PrivateBin emulator's bound address")]
    LocalAddr(#[source] std::io::Error),
}

/// One HTTP request as the emulator received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    /// HTTP method, e.g. `POST`.
    pub method: String,
    /// Path and query, e.g. `/?pasteid=…`.
    pub path_and_query: String,
    /// Headers in arrival order, names lowercase.
    pub headers: Vec<(String, String)>,
    /// The body's bytes as received, before any JSON parsing.
    pub body: Vec<u8>,
    /// The peer address, when the server knew it.
    pub client: Option<SocketAddr>,
}

impl RecordedRequest {
    /// The first value of a header (case-insensitive name).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// The body as text (lossy UTF-8).
    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body parsed as JSON, when it is JSON.
    pub fn body_json(&self) -> Option<Value> {
        serde_json::from_slice(&self.body).ok()
    }
}

/// A paste as the server stored it.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredPaste {
    /// The paste id: FNV-1a-64 of `ct`, 16 hex digits.
    pub id: String,
    /// The authenticated data exactly as posted.
    pub adata: Value,
    /// The format version as posted (after PHP's numeric cast).
    pub v: Value,
    /// The base64 ciphertext as posted.
    pub ct: String,
    /// The `meta` object as posted (only `expire`).
    pub requested_meta: Value,
    /// The lifetime the server gave the paste; `None` = never expires.
    pub lifetime_secs: Option<u64>,
    /// Unix time (emulator clock) the paste was created.
    pub created_at: u64,
    /// The delete token handed out.
    pub delete_token: String,
}

impl StoredPaste {
    /// The formatter the paste asked for (`adata[1]`).
    pub fn formatter(&self) -> Option<&str> {
        self.adata.get(1).and_then(Value::as_str)
    }

    /// Whether the paste is deleted by its first read.
    pub fn burns_after_reading(&self) -> bool {
        rules::burns_after_reading(&self.adata)
    }

    /// Whether the paste opened a discussion.
    pub fn opens_discussion(&self) -> bool {
        rules::opens_discussion(&self.adata)
    }

    fn expires_at(&self) -> Option<u64> {
        self.lifetime_secs.map(|secs| self.created_at + secs)
    }
}

/// A running PrivateBin emulator on a local port.
#[derive(Debug)]
pub struct PrivateBinEmulator {
    shared: Arc<Shared>,
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl PrivateBinEmulator {
    /// Binds the configured address and serves until [`shutdown`](Self::shutdown) or drop.
    ///
    /// # Errors
    /// [`PrivateBinEmulatorError::BasePath`] for a malformed base path,
    /// [`PrivateBinEmulatorError::Bind`] when the address cannot be bound.
    pub async fn start(config: PrivateBinConfig) -> Result<Self, PrivateBinEmulatorError> {
        let shared = Shared::new(config)?;
        let bind = shared.config.bind;
        let listener = tokio::net::TcpListener::bind(bind)
            .await
            .map_err(|source| PrivateBinEmulatorError::Bind { addr: bind, source })?;
        let addr = listener
            .local_addr()
            .map_err(PrivateBinEmulatorError::LocalAddr)?;
        let app =
            router_for(Arc::clone(&shared)).into_make_service_with_connect_info::<SocketAddr>();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let serving = axum::serve(listener, app).with_graceful_shutdown(async {
                let _ = stopped.await;
            });
            if let Err(error) = serving.await {
                tracing::error!(%error, "the PrivateBin emulator stopped serving");
            }
        });
        tracing::debug!(%addr, "PrivateBin emulator listening");
        Ok(Self {
            shared,
            addr,
            stop: Some(stop),
            task,
        })
    }

    /// The instance URL, e.g. `http://127.0.0.1:PORT/` (ends with the base path).
    pub fn base_url(&self) -> String {
        format!("http://{}{}", self.addr, self.shared.config.base_path)
    }

    /// The address the emulator listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// What the emulator was started with.
    pub fn config(&self) -> &PrivateBinConfig {
        &self.shared.config
    }

    /// Every request received so far, oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.lock().requests.clone()
    }

    /// What the server stored under `id`, if it still exists (not deleted, burnt or expired).
    pub fn paste(&self, id: &str) -> Option<StoredPaste> {
        let now = self.shared.now();
        self.shared
            .lock()
            .pastes
            .get(id)
            .filter(|paste| !is_expired(paste, now))
            .cloned()
    }

    /// How many pastes currently exist (expired ones excluded).
    pub fn paste_count(&self) -> usize {
        let now = self.shared.now();
        self.shared
            .lock()
            .pastes
            .values()
            .filter(|paste| !is_expired(paste, now))
            .count()
    }

    /// Simulates an outage: while on, every request is answered 503 (and still recorded).
    pub fn set_unavailable(&self, on: bool) {
        self.shared.unavailable.store(on, Ordering::SeqCst);
    }

    /// Holds back every answer by `latency` (a server across a network, or a busy one).
    pub fn set_latency(&self, latency: Duration) {
        let millis = u64::try_from(latency.as_millis()).unwrap_or(u64::MAX);
        self.shared.latency_ms.store(millis, Ordering::SeqCst);
    }

    /// Moves the emulator's clock forward (expiry, `time_to_live` and the traffic limiter).
    pub fn advance_time(&self, by: Duration) {
        self.shared
            .clock_offset_secs
            .fetch_add(by.as_secs(), Ordering::SeqCst);
    }

    /// A router sharing this emulator's state, to mount in another server.
    pub fn router(&self) -> Router {
        router_for(Arc::clone(&self.shared))
    }

    /// Stops serving and waits for the server task to end.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = (&mut self.task).await;
    }
}

impl Drop for PrivateBinEmulator {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// A standalone router for a fresh emulated instance (for mounting in another server).
///
/// Without `into_make_service_with_connect_info` the traffic limiter can only tell clients apart
/// by [`PrivateBinConfig::traffic_header`].
///
/// # Errors
/// [`PrivateBinEmulatorError::BasePath`] for a malformed base path.
pub fn router(config: PrivateBinConfig) -> Result<Router, PrivateBinEmulatorError> {
    Ok(router_for(Shared::new(config)?))
}

fn router_for(shared: Arc<Shared>) -> Router {
    Router::new().fallback(handle).with_state(shared)
}

#[derive(Debug)]
struct Shared {
    config: PrivateBinConfig,
    state: Mutex<ServerState>,
    unavailable: AtomicBool,
    clock_offset_secs: AtomicU64,
    /// Milliseconds every answer is held back (a server across a network, or a busy one).
    latency_ms: AtomicU64,
}

#[derive(Debug, Default)]
struct ServerState {
    pastes: HashMap<String, StoredPaste>,
    requests: Vec<RecordedRequest>,
    /// Traffic limiter: client key → unix second of its last permitted creation.
    last_creation: HashMap<String, u64>,
}

impl Shared {
    fn new(config: PrivateBinConfig) -> Result<Arc<Self>, PrivateBinEmulatorError> {
        if !config.base_path.starts_with('/') || !config.base_path.ends_with('/') {
            return Err(PrivateBinEmulatorError::BasePath(config.base_path));
        }
        Ok(Arc::new(Self {
            config,
            state: Mutex::new(ServerState::default()),
            unavailable: AtomicBool::new(false),
            clock_offset_secs: AtomicU64::new(0),
            latency_ms: AtomicU64::new(0),
        }))
    }

    fn lock(&self) -> MutexGuard<'_, ServerState> {
        // A panicking test thread must not hide what the server recorded.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Unix seconds, as PHP's `time()`, plus any offset a test added.
    fn now(&self) -> u64 {
        let wall = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_secs());
        wall + self.clock_offset_secs.load(Ordering::SeqCst)
    }
}

fn is_expired(paste: &StoredPaste, now: u64) -> bool {
    paste
        .expires_at()
        .is_some_and(|expires_at| expires_at < now)
}

/// What PrivateBin decided the request is (`Request::__construct`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Operation {
    View,
    Create,
    Read,
    Delete,
    JsonLd,
}

/// Why the server refused a request; worded in the request's language when answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refusal {
    GenericError,
    InvalidData,
    WrongDeleteToken,
    InvalidId,
    Unlucky,
    /// The traffic limiter, with its `limit` in seconds.
    TrafficLimit(u64),
    /// The size limit, with `sizelimit` in characters of `ct`.
    SizeLimit(usize),
}

impl Refusal {
    fn text(self, language: Language) -> String {
        match self {
            Self::GenericError => i18n::translate(language, GENERIC_ERROR),
            Self::InvalidData => i18n::translate(language, INVALID_DATA),
            Self::WrongDeleteToken => i18n::translate(language, WRONG_DELETE_TOKEN),
            Self::InvalidId => i18n::translate(language, INVALID_ID),
            Self::Unlucky => i18n::translate(language, UNLUCKY),
            Self::TrafficLimit(secs) => {
                i18n::translate_count(language, "Please wait %d seconds between each post.", secs)
            }
            Self::SizeLimit(limit) => i18n::translate_text(
                language,
                "Document is limited to %s of encrypted data.",
                &php::format_human_readable_size(limit),
            ),
        }
    }
}

/// The JSON answer of an operation (`_json_error` / `_json_result`).
#[derive(Debug, Clone, PartialEq)]
enum Answer {
    None,
    Error(Refusal),
    Created {
        id: String,
        delete_token: String,
    },
    Deleted {
        id: String,
    },
    Read {
        id: String,
        paste: StoredPaste,
        time_to_live: Option<u64>,
    },
}

async fn handle(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let latency = shared.latency_ms.load(Ordering::SeqCst);
    if latency > 0 {
        tokio::time::sleep(Duration::from_millis(latency)).await;
    }
    let client = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|info| info.0);
    let (parts, body) = request.into_parts();
    let Ok(body) = to_bytes(body, MAX_BODY_BYTES).await else {
        return plain(StatusCode::PAYLOAD_TOO_LARGE, "Request Entity Too Large");
    };
    let path_and_query = parts
        .uri
        .path_and_query()
        .map_or_else(|| parts.uri.path().to_owned(), ToString::to_string);
    shared.lock().requests.push(RecordedRequest {
        method: parts.method.to_string(),
        path_and_query,
        headers: parts
            .headers
            .iter()
            .map(|(name, value)| {
                (
                    name.as_str().to_owned(),
                    String::from_utf8_lossy(value.as_bytes()).into_owned(),
                )
            })
            .collect(),
        body: body.to_vec(),
        client,
    });
    if shared.unavailable.load(Ordering::SeqCst) {
        return plain(StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable");
    }
    if parts.uri.path() != shared.config.base_path {
        return plain(StatusCode::NOT_FOUND, "Not Found");
    }
    let request = IncomingRequest {
        method: &parts.method,
        path: parts.uri.path(),
        query: parts.uri.query().unwrap_or(""),
        headers: &parts.headers,
        body: &body,
        client,
    };
    serve(&shared, &request)
}

struct IncomingRequest<'a> {
    method: &'a Method,
    path: &'a str,
    query: &'a str,
    headers: &'a HeaderMap,
    body: &'a [u8],
    client: Option<SocketAddr>,
}

impl IncomingRequest<'_> {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }
}

fn serve(shared: &Shared, request: &IncomingRequest<'_>) -> Response {
    let is_json =
        php::is_json_api_call(request.header("accept"), request.header("x-requested-with"));
    let query_pairs = php::parse_query(request.query);
    let (mut operation, mut params) =
        if matches!(*request.method, Method::POST | Method::PUT | Method::DELETE) {
            // An undecodable body leaves the parameters empty, as PHP's Json::decode failure does.
            let params = serde_json::from_slice::<serde_json::Map<String, Value>>(request.body)
                .map(|object| object.into_iter().collect::<BTreeMap<_, _>>())
                .unwrap_or_default();
            (Operation::Create, params)
        } else {
            let params = query_pairs
                .iter()
                .map(|(key, value)| (key.clone(), Value::from(value.as_str())))
                .collect();
            (Operation::View, params)
        };
    if !params.contains_key("pasteid")
        && !params.contains_key("jsonld")
        && !params.contains_key("link")
        && !request.query.is_empty()
    {
        params.insert(
            "pasteid".to_owned(),
            Value::from(paste_id_from_query(&query_pairs)),
        );
    }
    let non_empty = |key: &str| params.get(key).is_some_and(|value| !php::is_empty(value));
    if non_empty("pasteid") {
        if non_empty("deletetoken") {
            operation = Operation::Delete;
        } else if operation != Operation::Create {
            operation = Operation::Read;
        }
    } else if non_empty("jsonld") {
        operation = Operation::JsonLd;
    }

    let url_base = php::html_escape(request.path);
    let now = shared.now();
    let answer = match operation {
        Operation::JsonLd => return json_ld(params.get("jsonld"), &url_base),
        Operation::Create => create(shared, &params, request, now),
        Operation::Delete => delete(
            shared,
            params.get("pasteid"),
            params.get("deletetoken"),
            now,
        ),
        Operation::Read if is_json => read(shared, params.get("pasteid"), now),
        Operation::Read | Operation::View => Answer::None,
    };
    let language = LanguageChoice {
        default: shared.config.language_default,
        selection: shared.config.language_selection,
        cookie: request.header("cookie"),
        accept_language: request.header("accept-language"),
    }
    .resolve();
    if is_json {
        json_response(&render_answer(&answer, &url_base, language))
    } else {
        html_response(&answer, language)
    }
}

/// `Request::getPasteId`: the first bare query key that is 16 hex digits.
fn paste_id_from_query(pairs: &[(String, String)]) -> String {
    pairs
        .iter()
        .find(|(key, value)| value.is_empty() && is_valid_id(key))
        .map_or_else(|| "invalid id".to_owned(), |(key, _)| key.clone())
}

fn is_valid_id(id: &str) -> bool {
    id.len() == 16
        && id
            .bytes()
            .all(|byte| matches!(byte, b'0'..=b'9' | b'a'..=b'f'))
}

/// PHP's `(string)` of a JSON or query value used as an id.
fn id_text(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

fn client_key(shared: &Shared, request: &IncomingRequest<'_>) -> Option<String> {
    let from_header = shared
        .config
        .traffic_header
        .as_deref()
        .and_then(|name| request.header(name))
        .filter(|value| !value.is_empty())
        .map(str::to_owned);
    from_header.or_else(|| request.client.map(|client| client.ip().to_string()))
}

/// `TrafficLimiter::canPass`: refuses while the last permitted creation is at most `limit`
/// whole seconds old; a refusal does not restart the window.
fn traffic_limiter_refusal(
    shared: &Shared,
    state: &mut ServerState,
    request: &IncomingRequest<'_>,
    now: u64,
) -> Option<Refusal> {
    let limit = shared.config.traffic_limit_secs;
    if limit == 0 {
        return None;
    }
    let key = client_key(shared, request).unwrap_or_default();
    let exempted = key
        .parse::<IpAddr>()
        .is_ok_and(|ip| shared.config.traffic_exempted.contains(&ip));
    if exempted {
        return None;
    }
    match state.last_creation.get(&key) {
        Some(&last) if last > 0 && last + limit >= now => Some(Refusal::TrafficLimit(limit)),
        _ => {
            state.last_creation.insert(key, now);
            None
        }
    }
}

fn create(
    shared: &Shared,
    params: &BTreeMap<String, Value>,
    request: &IncomingRequest<'_>,
    now: u64,
) -> Answer {
    let config = &shared.config;
    let mut state = shared.lock();
    if let Some(refusal) = traffic_limiter_refusal(shared, &mut state, request, now) {
        return Answer::Error(refusal);
    }
    let data = PostedData::from_params(params);
    if !rules::is_valid_format_v2(&data) {
        return Answer::Error(Refusal::InvalidData);
    }
    let ct = data.ct.as_str().unwrap_or_default();
    if ct.len() > config.size_limit {
        return Answer::Error(Refusal::SizeLimit(config.size_limit));
    }
    if data.is_comment() {
        // Comments are outside the emulator's scope; see the module documentation.
        return Answer::Error(Refusal::InvalidData);
    }
    // The model purges expired pastes before storing a new one.
    state.pastes.retain(|_, paste| !is_expired(paste, now));
    let lifetime_secs = rules::lifetime_secs(
        data.meta.as_ref(),
        &config.expire_options,
        &config.default_expire,
    );
    if !rules::is_valid_paste(&data.adata, &config.formatters, config.discussion_enabled) {
        return Answer::Error(Refusal::InvalidData);
    }
    let id = php::fnv1a64_hex(ct);
    if state.pastes.contains_key(&id) {
        return Answer::Error(Refusal::Unlucky);
    }
    let delete_token = php::hmac_sha256_hex(&id, &config.server_salt);
    let paste = StoredPaste {
        id: id.clone(),
        adata: data.adata.clone(),
        v: data.version.clone().unwrap_or(Value::Null),
        ct: ct.to_owned(),
        requested_meta: data.meta.clone().unwrap_or(Value::Null),
        lifetime_secs,
        created_at: now,
        delete_token: delete_token.clone(),
    };
    state.pastes.insert(id.clone(), paste);
    Answer::Created { id, delete_token }
}

/// `Paste::get`: an expired paste is removed and reported missing; a burn-after-reading paste is
/// removed by the access itself.
fn access(state: &mut ServerState, id: &str, now: u64) -> Result<StoredPaste, Refusal> {
    let paste = state.pastes.get(id).cloned().ok_or(Refusal::GenericError)?;
    if is_expired(&paste, now) {
        state.pastes.remove(id);
        return Err(Refusal::GenericError);
    }
    if paste.burns_after_reading() {
        state.pastes.remove(id);
    }
    Ok(paste)
}

fn read(shared: &Shared, pasteid: Option<&Value>, now: u64) -> Answer {
    let Some(id) = id_text(pasteid).filter(|id| is_valid_id(id)) else {
        return Answer::Error(Refusal::InvalidId);
    };
    let mut state = shared.lock();
    match access(&mut state, &id, now) {
        Ok(paste) => {
            let time_to_live = paste.expires_at().map(|expires_at| expires_at - now);
            Answer::Read {
                id,
                paste,
                time_to_live,
            }
        }
        Err(refusal) => Answer::Error(refusal),
    }
}

fn delete(shared: &Shared, pasteid: Option<&Value>, token: Option<&Value>, now: u64) -> Answer {
    let Some(id) = id_text(pasteid).filter(|id| is_valid_id(id)) else {
        return Answer::Error(Refusal::InvalidId);
    };
    let mut state = shared.lock();
    // Like the real server, accessing the paste first may burn or expire it.
    let paste = match access(&mut state, &id, now) {
        Ok(paste) => paste,
        Err(refusal) => return Answer::Error(refusal),
    };
    if token.and_then(Value::as_str) == Some(paste.delete_token.as_str()) {
        state.pastes.remove(&id);
        Answer::Deleted { id }
    } else {
        Answer::Error(Refusal::WrongDeleteToken)
    }
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    status: u8,
    message: &'a str,
}

#[derive(Serialize)]
struct CreatedBody<'a> {
    status: u8,
    id: &'a str,
    url: String,
    deletetoken: &'a str,
}

#[derive(Serialize)]
struct DeletedBody<'a> {
    status: u8,
    id: &'a str,
    url: String,
}

#[derive(Serialize)]
struct ReadBody<'a> {
    status: u8,
    id: &'a str,
    url: String,
    adata: &'a Value,
    meta: Value,
    v: &'a Value,
    ct: &'a str,
    comments: [Value; 0],
    comment_count: u8,
    comment_offset: u8,
    #[serde(rename = "@context")]
    context: &'static str,
}

/// The JSON text PrivateBin would answer (empty when the operation produced none).
fn render_answer(answer: &Answer, url_base: &str, language: Language) -> String {
    let url = |id: &str| format!("{url_base}?{id}");
    match answer {
        Answer::None => String::new(),
        Answer::Error(refusal) => php::json_encode(&ErrorBody {
            status: 1,
            message: &refusal.text(language),
        }),
        Answer::Created { id, delete_token } => php::json_encode(&CreatedBody {
            status: 0,
            id,
            url: url(id),
            deletetoken: delete_token,
        }),
        Answer::Deleted { id } => php::json_encode(&DeletedBody {
            status: 0,
            id,
            url: url(id),
        }),
        Answer::Read {
            id,
            paste,
            time_to_live,
        } => php::json_encode(&ReadBody {
            status: 0,
            id,
            url: url(id),
            adata: &paste.adata,
            // PHP encodes the emptied meta array of a never-expiring paste as [].
            meta: time_to_live.map_or_else(
                || Value::Array(Vec::new()),
                |ttl| serde_json::json!({ "time_to_live": ttl }),
            ),
            v: &paste.v,
            ct: &paste.ct,
            comments: [],
            comment_count: 0,
            comment_offset: 0,
            context: "?jsonld=paste",
        }),
    }
}

/// `js/paste.jsonld`, with `?jsonld=` prefixed by the request path as the server does.
const PASTE_JSONLD: &str = r#"{
	"@context": {
		"so": "https://schema.org/",
		"pb": "?jsonld=types#",
		"pm": "?jsonld=pastemeta#",
		"status": {
			"@type": "so:Integer"
		},
		"id": {
			"@type": "so:name"
		},
		"deletetoken": {
			"@type": "so:Text"
		},
		"url": {
			"@type": "so:url"
		},
		"v": {
			"@type": "so:Integer",
			"@value": 2
		},
		"ct": {
			"@type": "pb:CipherText"
		},
		"adata": {
			"@type": "pm:AuthenticatedData"
		},
		"meta": {
			"@type": "pm:MetaData"
		},
		"comments": {
			"@type": "?jsonld=comment",
			"@container": "@list"
		},
		"comment_count": {
			"@type": "so:Integer"
		},
		"comment_offset": {
			"@type": "so:Integer"
		}
	}
}"#;

fn json_ld(kind: Option<&Value>, url_base: &str) -> Response {
    let content = if kind.and_then(Value::as_str) == Some("paste") {
        PASTE_JSONLD.replace("?jsonld=", &format!("{url_base}?jsonld="))
    } else {
        // The other schemas (comment, pastemeta, types) are not needed by any client we test.
        "{}".to_owned()
    };
    let mut response = Response::new(Body::from(content));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/ld+json"),
    );
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET"),
    );
    response
}

fn insert_no_cache_headers(headers: &mut HeaderMap) {
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-store, no-cache, no-transform, must-revalidate"),
    );
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    headers.insert(header::VARY, HeaderValue::from_static("Accept"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
}

fn json_response(json: &str) -> Response {
    let length = json.len();
    let mut response = Response::new(Body::from(json.to_owned()));
    let headers = response.headers_mut();
    insert_no_cache_headers(headers);
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, POST, PUT, DELETE"),
    );
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("X-Requested-With, Content-Type"),
    );
    headers.insert("x-uncompressed-content-length", HeaderValue::from(length));
    headers.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static("X-Uncompressed-Content-Length"),
    );
    response
}

/// The stand-in for PrivateBin's web page, shown to requests that do not ask for JSON.
fn html_response(answer: &Answer, language: Language) -> Response {
    let notice = match answer {
        Answer::Error(refusal) => format!(
            "<p class=\"error\">{}</p>",
            php::html_escape(&refusal.text(language))
        ),
        Answer::Deleted { .. } => format!(
            "<p class=\"status\">{}</p>",
            i18n::translate(language, "Document was properly deleted.")
        ),
        _ => String::new(),
    };
    let lang = language.code();
    let page = format!(
        "<!DOCTYPE html>\n<html lang=\"{lang}\"><head><meta charset=\"utf-8\"><title>PrivateBin</title></head>\
         <body><h1>PrivateBin (Ticketeer test emulator)</h1>{notice}</body></html>\n"
    );
    let mut response = Response::new(Body::from(page));
    let headers = response.headers_mut();
    insert_no_cache_headers(headers);
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=UTF-8"),
    );
    headers.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("deny"));
    response
}

fn plain(status: StatusCode, text: &'static str) -> Response {
    let mut response = Response::new(Body::from(text));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn stored(adata: Value) -> StoredPaste {
        StoredPaste {
            id: "0123456789abcdef".to_owned(),
            adata,
            v: json!(2),
            ct: "Y3Q=".to_owned(),
            requested_meta: json!({"expire": "never"}),
            lifetime_secs: None,
            created_at: 0,
            delete_token: "token".to_owned(),
        }
    }

    #[test]
    fn a_read_answer_has_privatebins_fields_in_order() {
        let answer = Answer::Read {
            id: "0123456789abcdef".to_owned(),
            paste: stored(json!([[], "plaintext", 0, 0])),
            time_to_live: Some(5),
        };
        assert_eq!(
            render_answer(&answer, "/", Language::English),
            r#"{"status":0,"id":"0123456789abcdef","url":"\/?0123456789abcdef","adata":[[],"plaintext",0,0],"meta":{"time_to_live":5},"v":2,"ct":"Y3Q=","comments":[],"comment_count":0,"comment_offset":0,"@context":"?jsonld=paste"}"#
        );
    }

    #[test]
    fn a_never_expiring_paste_reads_with_an_empty_meta_array() {
        let answer = Answer::Read {
            id: "0123456789abcdef".to_owned(),
            paste: stored(json!([])),
            time_to_live: None,
        };
        assert!(render_answer(&answer, "/", Language::English).contains(r#""meta":[]"#));
    }

    #[test]
    fn urls_are_relative_to_the_request_path() {
        let answer = Answer::Deleted {
            id: "0123456789abcdef".to_owned(),
        };
        assert_eq!(
            render_answer(&answer, "/privatebin/", Language::English),
            r#"{"status":0,"id":"0123456789abcdef","url":"\/privatebin\/?0123456789abcdef"}"#
        );
    }

    #[test]
    fn a_bare_hex_key_in_the_query_is_the_paste_id() {
        let pairs = php::parse_query("0123456789abcdef");
        assert_eq!(paste_id_from_query(&pairs), "0123456789abcdef");
        let pairs = php::parse_query("0123456789abcdef=x");
        assert_eq!(paste_id_from_query(&pairs), "invalid id");
    }

    #[test]
    fn a_base_path_without_slashes_is_refused() {
        let config = PrivateBinConfig {
            base_path: "privatebin".to_owned(),
            ..PrivateBinConfig::default()
        };
        assert!(matches!(
            Shared::new(config),
            Err(PrivateBinEmulatorError::BasePath(_))
        ));
    }
}
