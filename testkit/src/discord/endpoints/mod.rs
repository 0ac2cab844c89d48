//! REST under `/api/v10`: one wrapper around every endpoint, and the endpoints by resource
//! (users, guilds, channels, messages, the interaction callback and webhook). An endpoint is a
//! plain function of the state and its typed path parameters; it sees only its own rules.
//!
//! The wrapper ([`serve`]) does what every request shares, always in this order: the
//! invalid-request block, the route (an unknown path or a non-numeric id is answered before the
//! token is looked at), the bot token, injected faults, the route's rate-limit bucket, the JSON
//! body, the endpoint; then the invalid-request count and the request log. All of it runs under
//! the state lock, so a request's bucket decision, its change to the state and its log entry are
//! one step that no other request interleaves with.
//!
//! Why [`routes::resolve`], a match over the path's segments, picks the endpoint and not an
//! `axum::Router` with path parameters: the answers tests check depend on the path before the
//! method, and axum decides the other way round. The emulator checks each id as its segment is
//! reached (50035 naming the field, before the token, also under paths no endpoint serves such as
//! `/channels/abc/anything`), answers 405 only on a bare `/guilds/{guild_id}` or
//! `/channels/{channel_id}` and 404 below them, reads `PATCH /channels/1/messages/pins` as message
//! id `pins`, ignores a trailing slash and never lets GET answer HEAD. An axum router would hand
//! all of these to its fallbacks, which would have to parse the path a second time: two resolvers
//! instead of one. The resolver also names the route template and the major parameter the rate
//! limiter buckets by. Axum routes the listener (REST, the gateway, resume URLs, attachments) and
//! hands all of `/api/v10/*` to [`handle`].

mod channels;
mod checks;
mod commands;
mod guilds;
mod interactions;
mod messages;
mod routes;
mod threads;
mod users;
mod webhooks;

use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::State as AxumState;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

pub(crate) use messages::attachment;
use routes::Endpoint;

use super::api_error::ApiError;
use super::faults;
use super::model::RequestRecord;
use super::ratelimit::{self, Limited};
use super::snowflake::now_ms;
use super::state::{Shared, State};

/// A successful answer.
#[derive(Debug)]
pub(crate) enum Reply {
    Json(StatusCode, Value),
    NoContent,
}

fn ok(value: Value) -> Reply {
    Reply::Json(StatusCode::OK, value)
}

/// What an endpoint may read of the request besides its path: the query and the JSON body.
struct Request<'a> {
    query: &'a [(String, String)],
    body: Option<&'a Value>,
}

impl Request<'_> {
    /// A query parameter, percent-decoded.
    fn query(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The JSON body; an empty body reads as `null`.
    fn body(&self) -> &Value {
        self.body.unwrap_or(&Value::Null)
    }

    /// The `limit` query parameter within `min..=max`, `default` when absent, with Discord's 50035
    /// for anything else.
    fn limit(&self, min: usize, max: usize, default: usize) -> Result<usize, ApiError> {
        let Some(text) = self.query("limit") else {
            return Ok(default);
        };
        let value: i64 = text.parse().map_err(|_| {
            ApiError::invalid_field(
                &["limit"],
                "NUMBER_TYPE_COERCE",
                &format!("Value \"{text}\" is not int."),
            )
        })?;
        if value < i64::try_from(min).unwrap_or(1) {
            return Err(ApiError::invalid_field(
                &["limit"],
                "NUMBER_TYPE_MIN",
                &format!("int value should be greater than or equal to {min}."),
            ));
        }
        if value > i64::try_from(max).unwrap_or(i64::MAX) {
            return Err(ApiError::invalid_field(
                &["limit"],
                "NUMBER_TYPE_MAX",
                &format!("int value should be less than or equal to {max}."),
            ));
        }
        Ok(usize::try_from(value).unwrap_or(default))
    }
}

/// Query parameters, percent-decoded.
fn query_pairs(query: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect()
}

/// The axum handler for every `/api/v10/...` request.
pub(crate) async fn handle(
    AxumState(shared): AxumState<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let latency = shared.read(|state| state.config.rest_latency);
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let path = uri
        .path()
        .strip_prefix("/api/v10")
        .unwrap_or(uri.path())
        .to_owned();
    let query = uri.query().unwrap_or_default().to_owned();
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let answer = shared.mutate(|state| {
        serve(
            state,
            &method,
            &path,
            &query,
            authorization.as_deref(),
            &body,
        )
    });
    let mut response = match answer.body {
        Some(body) => (answer.status, axum::Json(body)).into_response(),
        None => answer.status.into_response(),
    };
    for (name, value) in answer.headers {
        if let Ok(value) = HeaderValue::from_str(&value) {
            response
                .headers_mut()
                .insert(HeaderName::from_static(name), value);
        }
    }
    response
}

/// A fully decided response.
struct Answer {
    status: StatusCode,
    headers: Vec<(&'static str, String)>,
    body: Option<Value>,
}

impl Answer {
    fn error(error: &ApiError) -> Self {
        Self {
            status: error.status,
            headers: Vec::new(),
            body: Some(error.body()),
        }
    }
}

/// Answers one request, everything under the state lock.
fn serve(
    state: &mut State,
    method: &Method,
    path: &str,
    query: &str,
    authorization: Option<&str>,
    raw_body: &[u8],
) -> Answer {
    let now = Instant::now();
    let body: Result<Option<Value>, ApiError> = if raw_body.is_empty() {
        Ok(None)
    } else {
        serde_json::from_slice(raw_body)
            .map(Some)
            .map_err(|_| ApiError::invalid_json())
    };
    let full_path = if query.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{query}")
    };
    let route = routes::resolve(method, path);
    let template = route
        .as_ref()
        .map_or_else(|_| path.to_owned(), |r| r.template.clone());
    let global = route.as_ref().is_ok_and(|r| !r.global_exempt);
    let mut bucket = None;
    let limit = state.config.invalid_requests;
    let blocked = state.invalid_requests.blocked_for(now);
    let answer = (|| {
        if let Some(remaining) = blocked {
            return Err(Answer {
                status: StatusCode::TOO_MANY_REQUESTS,
                headers: vec![("retry-after", remaining.as_secs_f64().ceil().to_string())],
                body: Some(ratelimit::blocked_body()),
            });
        }
        let route = route.map_err(|e| Answer::error(&e))?;
        if route.needs_bot_auth
            && authorization != Some(format!("Bot {}", state.config.token).as_str())
        {
            return Err(Answer::error(&ApiError::unauthorized()));
        }
        if let Some(answer) = injected_fault(state, method.as_str(), &route.template, path) {
            return Err(answer);
        }
        let limited = Limited {
            method: method.as_str(),
            template: &route.template,
            major: &route.major,
            global_exempt: route.global_exempt,
        };
        let decision = state
            .limiter
            .check(&state.config.rate_limits, &limited, now, now_ms());
        bucket.clone_from(&decision.bucket);
        if let Some(refusal) = decision.refusal {
            return Err(Answer {
                status: StatusCode::TOO_MANY_REQUESTS,
                headers: decision.headers,
                body: Some(refusal),
            });
        }
        let body = body.as_ref().map_err(|e| Answer {
            headers: decision.headers.clone(),
            ..Answer::error(e)
        })?;
        let pairs = query_pairs(query);
        let request = Request {
            query: &pairs,
            body: body.as_ref(),
        };
        let reply = call(state, route.endpoint, &request).map_err(|e| Answer {
            headers: decision.headers.clone(),
            ..Answer::error(&e)
        })?;
        Ok(match reply {
            Reply::Json(status, value) => Answer {
                status,
                headers: decision.headers,
                body: Some(value),
            },
            Reply::NoContent => Answer {
                status: StatusCode::NO_CONTENT,
                headers: decision.headers,
                body: None,
            },
        })
    })()
    .unwrap_or_else(|answer| answer);
    // Answers during a block do not count: the block is already the consequence.
    if blocked.is_none() && ratelimit::counts_as_invalid(answer.status.as_u16(), &answer.headers) {
        state.invalid_requests.record(&limit, now);
    }
    state.request_log.push(RequestRecord {
        method: method.to_string(),
        path: full_path,
        route: template,
        status: answer.status.as_u16(),
        body: body.ok().flatten(),
        bucket,
        global,
        at: now.duration_since(state.started),
    });
    answer
}

/// The answer of an armed fault matching the request: a 429 as the rate limiter would send it, so
/// clients wait and retry as they would on Discord.
fn injected_fault(state: &mut State, method: &str, template: &str, path: &str) -> Option<Answer> {
    let spec = faults::take(&mut state.faults, method, template, path)?;
    let status = StatusCode::from_u16(spec.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if status == StatusCode::TOO_MANY_REQUESTS {
        let retry = spec.retry_after.as_secs_f64();
        return Some(Answer {
            status,
            headers: vec![
                ("x-ratelimit-limit", "1".to_owned()),
                ("x-ratelimit-remaining", "0".to_owned()),
                ("x-ratelimit-reset-after", format!("{retry:.3}")),
                ("x-ratelimit-bucket", ratelimit::bucket_id(method, template)),
                ("x-ratelimit-scope", "user".to_owned()),
                ("retry-after", retry.ceil().to_string()),
            ],
            body: Some(json!({
                "message": "You are being rate limited.",
                "retry_after": retry,
                "global": false,
            })),
        });
    }
    Some(Answer {
        status,
        headers: Vec::new(),
        body: Some(json!({"code": spec.code, "message": spec.message})),
    })
}

/// Which function answers which endpoint.
fn call(state: &mut State, endpoint: Endpoint, request: &Request<'_>) -> Result<Reply, ApiError> {
    match endpoint {
        Endpoint::GetGateway => Ok(users::gateway(state)),
        Endpoint::GetGatewayBot => Ok(users::gateway_bot(state)),
        Endpoint::GetCurrentUser => Ok(users::current_user(state)),
        Endpoint::GetUser(user_id) => users::user(state, user_id),
        Endpoint::GetCurrentApplication => Ok(users::current_application(state)),
        Endpoint::CreateDm => users::create_dm(state, request.body()),
        Endpoint::GetGuild(guild_id) => guilds::guild(state, guild_id),
        Endpoint::GetGuildChannels(guild_id) => guilds::channels(state, guild_id),
        Endpoint::CreateGuildChannel(guild_id) => {
            guilds::create_channel(state, guild_id, request.body())
        }
        Endpoint::GetGuildRoles(guild_id) => guilds::roles(state, guild_id),
        Endpoint::ListGuildMembers(guild_id) => guilds::members(state, guild_id, request),
        Endpoint::GetGuildMember(guild_id, user_id) => guilds::member(state, guild_id, user_id),
        Endpoint::AddMemberRole(guild_id, user_id, role_id) => {
            guilds::change_member_role(state, guild_id, user_id, role_id, true)
        }
        Endpoint::RemoveMemberRole(guild_id, user_id, role_id) => {
            guilds::change_member_role(state, guild_id, user_id, role_id, false)
        }
        Endpoint::GetChannel(channel_id) => channels::get(state, channel_id),
        Endpoint::StartThread(channel_id) => threads::start(state, channel_id, request.body()),
        Endpoint::AddThreadMember(thread_id, user_id) => {
            threads::add_member(state, thread_id, user_id)
        }
        Endpoint::RemoveThreadMember(thread_id, user_id) => {
            threads::remove_member(state, thread_id, user_id)
        }
        Endpoint::GetThreadMembers(thread_id) => threads::members(state, thread_id),
        Endpoint::GetActiveThreads(guild_id) => threads::active(state, guild_id),
        Endpoint::ModifyChannel(channel_id) => channels::modify(state, channel_id, request.body()),
        Endpoint::DeleteChannel(channel_id) => channels::delete(state, channel_id),
        Endpoint::EditChannelPermission(channel_id, target) => {
            channels::edit_permission(state, channel_id, target, request.body())
        }
        Endpoint::DeleteChannelPermission(channel_id, target) => {
            channels::delete_permission(state, channel_id, target)
        }
        Endpoint::GetMessages(channel_id) => messages::list(state, channel_id, request),
        Endpoint::CreateMessage(channel_id) => messages::create(state, channel_id, request.body()),
        Endpoint::GetMessage(channel_id, message_id) => {
            messages::get(state, channel_id, message_id)
        }
        Endpoint::EditMessage(channel_id, message_id) => {
            messages::edit(state, channel_id, message_id, request.body())
        }
        Endpoint::DeleteMessage(channel_id, message_id) => {
            messages::delete(state, channel_id, message_id)
        }
        Endpoint::GetPins(channel_id) => messages::pins(state, channel_id, request),
        Endpoint::GetPinsDeprecated(channel_id) => messages::pins_deprecated(state, channel_id),
        Endpoint::PinMessage(channel_id, message_id) => {
            messages::pin(state, channel_id, message_id)
        }
        Endpoint::UnpinMessage(channel_id, message_id) => {
            messages::unpin(state, channel_id, message_id)
        }
        Endpoint::InteractionCallback(interaction_id, token) => {
            let with_response = request.query("with_response") == Some("true");
            interactions::callback(state, interaction_id, &token, request.body(), with_response)
        }
        Endpoint::CreateFollowup(application_id, token) => {
            webhooks::create_followup(state, application_id, &token, request.body())
        }
        Endpoint::GetWebhookMessage(application_id, token, which) => {
            webhooks::get_message(state, application_id, &token, which)
        }
        Endpoint::EditWebhookMessage(application_id, token, which) => {
            webhooks::edit_message(state, application_id, &token, which, request.body())
        }
        Endpoint::DeleteWebhookMessage(application_id, token, which) => {
            webhooks::delete_message(state, application_id, &token, which)
        }
        Endpoint::GetGlobalCommands(application_id) => commands::list(state, application_id, None),
        Endpoint::PutGlobalCommands(application_id) => {
            commands::overwrite(state, application_id, None, request.body())
        }
        Endpoint::GetGuildCommands(application_id, guild_id) => {
            commands::list(state, application_id, Some(guild_id))
        }
        Endpoint::PutGuildCommands(application_id, guild_id) => {
            commands::overwrite(state, application_id, Some(guild_id), request.body())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(pairs: &[(String, String)]) -> Request<'_> {
        Request {
            query: pairs,
            body: None,
        }
    }

    #[test]
    fn query_values_are_percent_decoded() {
        let pairs = query_pairs("before=2026-01-01T00%3A00%3A00%2B00%3A00&limit=5");
        let request = request(&pairs);
        assert_eq!(request.query("before"), Some("2026-01-01T00:00:00+00:00"));
        assert_eq!(request.query("limit"), Some("5"));
    }

    #[test]
    fn a_limit_above_the_maximum_is_an_invalid_form_body() {
        let pairs = query_pairs("limit=101");
        assert_eq!(
            request(&pairs).limit(1, 100, 50).err().map(|e| e.code),
            Some(50035)
        );
        assert_eq!(request(&[]).limit(1, 100, 50).ok(), Some(50));
    }
}
