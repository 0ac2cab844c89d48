//! REST under `/api/v10`: authentication, fault injection, rate limits, Discord's permission
//! checks and error codes, and the request log. Handlers run synchronously under the state lock.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{Path, State as AxumState};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::api_error::{ApiError, FormErrors};
use super::faults;
use super::model::{Channel, ChannelKind, Overwrite, OverwriteKind, RequestRecord};
use super::permissions::{
    ADMINISTRATOR, MANAGE_CHANNELS, MANAGE_MESSAGES, MANAGE_ROLES, PIN_MESSAGES,
    READ_MESSAGE_HISTORY, SEND_MESSAGES, VIEW_CHANNEL,
};
use super::ratelimit::{self, Limited};
use super::routes::{self, Endpoint};
use super::snowflake::{id_str, iso8601, now_ms, parse_iso8601};
use super::state::{NewMessage, Shared, State};
use super::validate::{self, channel_draft, message_draft, snowflake};

/// A successful answer.
#[derive(Debug)]
pub(crate) enum Reply {
    Json(StatusCode, Value),
    NoContent,
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

/// Query parameters, percent-decoded.
fn query_pairs(query: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect()
}

fn query_value<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
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
    let answer =
        shared.mutate(|state| state.serve(&method, &path, &query, authorization.as_deref(), &body));
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

/// `GET /attachments/{channel}/{attachment}/{filename}`: an attachment's bytes (the CDN).
pub(crate) async fn attachment(
    AxumState(shared): AxumState<Arc<Shared>>,
    Path((channel_id, attachment_id, _filename)): Path<(u64, u64, String)>,
) -> Response {
    let found = shared.read(|state| {
        state
            .messages
            .get(&channel_id)?
            .values()
            .flat_map(|m| m.attachments.iter())
            .find(|a| a.id == attachment_id)
            .cloned()
    });
    match found {
        Some(attachment) => {
            let content_type = attachment
                .content_type
                .clone()
                .unwrap_or_else(|| "application/octet-stream".to_owned());
            (
                [(header::CONTENT_TYPE, content_type)],
                attachment.data.as_ref().clone(),
            )
                .into_response()
        }
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

impl State {
    fn serve(
        &mut self,
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
        let mut bucket = None;
        let limit = self.config.invalid_requests;
        let blocked = self.invalid_requests.blocked_for(now);
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
                && authorization != Some(format!("Bot {}", self.config.token).as_str())
            {
                return Err(Answer::error(&ApiError::unauthorized()));
            }
            if let Some(answer) = self.injected_fault(method.as_str(), &route.template, path) {
                return Err(answer);
            }
            let limited = Limited {
                method: method.as_str(),
                template: &route.template,
                major: &route.major,
                global_exempt: route.global_exempt,
            };
            let decision = self
                .limiter
                .check(&self.config.rate_limits, &limited, now, now_ms());
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
            let reply = self
                .endpoint(route.endpoint, &pairs, body.as_ref())
                .map_err(|e| Answer {
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
        if blocked.is_none()
            && ratelimit::counts_as_invalid(answer.status.as_u16(), &answer.headers)
        {
            self.invalid_requests.record(&limit, now);
        }
        self.request_log.push(RequestRecord {
            method: method.to_string(),
            path: full_path,
            route: template,
            status: answer.status.as_u16(),
            body: body.ok().flatten(),
            bucket,
            at: now.duration_since(self.started),
        });
        answer
    }

    fn injected_fault(&mut self, method: &str, template: &str, path: &str) -> Option<Answer> {
        let spec = faults::take(&mut self.faults, method, template, path)?;
        let status = StatusCode::from_u16(spec.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        if status == StatusCode::TOO_MANY_REQUESTS {
            let retry = spec.retry_after.as_secs_f64();
            return Some(Answer {
                status,
                headers: vec![
                    ("x-ratelimit-limit", "1".to_owned()),
                    ("x-ratelimit-remaining", "0".to_owned()),
                    ("x-ratelimit-reset-after", format!("{retry:.3}")),
                    (
                        "x-ratelimit-bucket",
                        super::ratelimit::bucket_id(method, template),
                    ),
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

    fn endpoint(
        &mut self,
        endpoint: Endpoint,
        query: &[(String, String)],
        body: Option<&Value>,
    ) -> Result<Reply, ApiError> {
        let empty = Value::Null;
        let body_value = body.unwrap_or(&empty);
        match endpoint {
            Endpoint::GetGateway => Ok(ok(json!({"url": self.base_url.replacen("http", "ws", 1)}))),
            Endpoint::GetGatewayBot => Ok(ok(json!({
                "url": self.base_url.replacen("http", "ws", 1),
                "shards": 1,
                "session_start_limit": {"total": 1000, "remaining": 1000 - self.identify_count.min(1000), "reset_after": 86_400_000, "max_concurrency": 1},
            }))),
            Endpoint::GetCurrentUser => {
                let mut user = self.user_json(self.bot_id());
                user["verified"] = json!(true);
                user["mfa_enabled"] = json!(false);
                user["locale"] = json!("en-US");
                Ok(ok(user))
            }
            Endpoint::GetUser(user_id) => {
                if !self.users.contains_key(&user_id) {
                    return Err(ApiError::unknown_user());
                }
                Ok(ok(self.user_json(user_id)))
            }
            Endpoint::GetCurrentApplication => Ok(ok(self.application_json())),
            Endpoint::CreateDm => {
                let recipient = body_value
                    .get("recipient_id")
                    .and_then(snowflake)
                    .ok_or_else(|| {
                        ApiError::invalid_field(
                            &["recipient_id"],
                            "BASE_TYPE_REQUIRED",
                            "This field is required",
                        )
                    })?;
                if !self.users.contains_key(&recipient) {
                    return Err(ApiError::unknown_user());
                }
                let channel_id = self.dm_channel(recipient);
                Ok(ok(self.dm_channel_json(channel_id)))
            }
            Endpoint::GetGuild(guild_id) => {
                self.member_guild(guild_id)?;
                let mut guild = self.guild_json(guild_id, false, false);
                guild["approximate_member_count"] =
                    json!(self.guilds.get(&guild_id).map_or(0, |g| g.members.len()));
                Ok(ok(guild))
            }
            Endpoint::GetGuildChannels(guild_id) => {
                self.member_guild(guild_id)?;
                let mut channels: Vec<&Channel> = self
                    .channels
                    .values()
                    .filter(|c| c.guild_id == Some(guild_id))
                    .collect();
                channels.sort_by_key(|c| (c.position, c.id));
                Ok(ok(Value::Array(
                    channels.into_iter().map(|c| self.channel_json(c)).collect(),
                )))
            }
            Endpoint::CreateGuildChannel(guild_id) => {
                self.create_guild_channel(guild_id, body_value)
            }
            Endpoint::GetGuildRoles(guild_id) => {
                self.member_guild(guild_id)?;
                Ok(ok(Value::Array(self.roles_json(guild_id))))
            }
            Endpoint::ListGuildMembers(guild_id) => {
                self.member_guild(guild_id)?;
                if !self.config.guild_members_intent {
                    return Err(ApiError::missing_access());
                }
                let limit = parse_limit(query, 1, 1000, 1)?;
                let after = query_value(query, "after")
                    .and_then(|v| v.parse::<u64>().ok())
                    .unwrap_or(0);
                let members: Vec<Value> = self
                    .guilds
                    .get(&guild_id)
                    .map(|g| {
                        g.members
                            .keys()
                            .copied()
                            .filter(|u| *u > after)
                            .take(limit)
                            .collect::<Vec<_>>()
                    })
                    .unwrap_or_default()
                    .into_iter()
                    .map(|user| self.member_json(guild_id, user, true, None))
                    .collect();
                Ok(ok(Value::Array(members)))
            }
            Endpoint::GetGuildMember(guild_id, user_id) => {
                self.member_guild(guild_id)?;
                if !self
                    .guilds
                    .get(&guild_id)
                    .is_some_and(|g| g.members.contains_key(&user_id))
                {
                    return Err(ApiError::unknown_member());
                }
                Ok(ok(self.member_json(guild_id, user_id, true, None)))
            }
            Endpoint::AddMemberRole(guild_id, user_id, role_id) => {
                self.change_member_role(guild_id, user_id, role_id, true)
            }
            Endpoint::RemoveMemberRole(guild_id, user_id, role_id) => {
                self.change_member_role(guild_id, user_id, role_id, false)
            }
            Endpoint::GetChannel(channel_id) => {
                let channel = self.visible_channel(channel_id)?;
                Ok(ok(self.channel_json(&channel)))
            }
            Endpoint::ModifyChannel(channel_id) => self.modify_channel(channel_id, body_value),
            Endpoint::DeleteChannel(channel_id) => {
                let channel = self.visible_channel(channel_id)?;
                if channel.guild_id.is_some() {
                    self.require(&channel, MANAGE_CHANNELS)?;
                }
                let json = self.channel_json(&channel);
                self.remove_channel(channel_id);
                Ok(ok(json))
            }
            Endpoint::EditChannelPermission(channel_id, target) => {
                self.edit_channel_permission(channel_id, target, body_value)
            }
            Endpoint::DeleteChannelPermission(channel_id, target) => {
                let channel = self.visible_channel(channel_id)?;
                require_guild_channel(&channel)?;
                self.require(&channel, MANAGE_ROLES)?;
                if let Some(c) = self.channels.get_mut(&channel_id) {
                    c.overwrites.retain(|o| o.id != target);
                }
                self.channel_updated(channel_id);
                Ok(Reply::NoContent)
            }
            Endpoint::GetMessages(channel_id) => self.get_messages(channel_id, query),
            Endpoint::CreateMessage(channel_id) => self.create_message(channel_id, body_value),
            Endpoint::GetMessage(channel_id, message_id) => {
                let channel = self.visible_channel(channel_id)?;
                self.require(&channel, READ_MESSAGE_HISTORY)?;
                let message = self
                    .channel_message(channel_id, message_id)
                    .ok_or_else(ApiError::unknown_message)?;
                Ok(ok(self.rest_message_json(message)))
            }
            Endpoint::EditMessage(channel_id, message_id) => {
                self.visible_channel(channel_id)?;
                let message = self
                    .channel_message(channel_id, message_id)
                    .cloned()
                    .ok_or_else(ApiError::unknown_message)?;
                if message.author_id != self.bot_id() {
                    return Err(ApiError::edit_others_message());
                }
                let draft = message_draft(body_value)?;
                let would_be_empty = draft
                    .content
                    .as_deref()
                    .unwrap_or(&message.content)
                    .is_empty()
                    && draft
                        .components
                        .as_ref()
                        .unwrap_or(&message.components)
                        .is_empty()
                    && draft.embeds.as_ref().unwrap_or(&message.embeds).is_empty()
                    && message.attachments.is_empty();
                if would_be_empty {
                    return Err(ApiError::empty_message());
                }
                let edited = self
                    .edit_message(
                        message_id,
                        draft.content,
                        draft.components,
                        draft.embeds,
                        draft.allowed_mentions.as_ref(),
                    )
                    .ok_or_else(ApiError::unknown_message)?;
                Ok(ok(self.rest_message_json(&edited)))
            }
            Endpoint::DeleteMessage(channel_id, message_id) => {
                let channel = self.visible_channel(channel_id)?;
                let message = self
                    .channel_message(channel_id, message_id)
                    .cloned()
                    .ok_or_else(ApiError::unknown_message)?;
                if message.author_id != self.bot_id() {
                    if channel.guild_id.is_none() {
                        return Err(ApiError::dm_action());
                    }
                    self.require(&channel, MANAGE_MESSAGES)?;
                }
                self.remove_message(message_id);
                Ok(Reply::NoContent)
            }
            Endpoint::GetPins(channel_id) => self.get_pins(channel_id, query),
            Endpoint::GetPinsDeprecated(channel_id) => {
                let channel = self.visible_channel(channel_id)?;
                if self.channel_permissions_of(self.bot_id(), &channel) & READ_MESSAGE_HISTORY == 0
                {
                    return Ok(ok(json!([])));
                }
                let pins: Vec<Value> = self
                    .pinned(channel_id)
                    .into_iter()
                    .map(|m| self.rest_message_json(m))
                    .collect();
                Ok(ok(Value::Array(pins)))
            }
            Endpoint::PinMessage(channel_id, message_id) => {
                let channel = self.visible_channel(channel_id)?;
                self.require(&channel, PIN_MESSAGES)?;
                let message = self
                    .channel_message(channel_id, message_id)
                    .ok_or_else(ApiError::unknown_message)?;
                if !message.pinned {
                    if self.pinned(channel_id).len() >= self.config.max_pins_per_channel {
                        return Err(ApiError::max_pins(self.config.max_pins_per_channel));
                    }
                    self.pin_message(channel_id, message_id, self.bot_id());
                }
                Ok(Reply::NoContent)
            }
            Endpoint::UnpinMessage(channel_id, message_id) => {
                let channel = self.visible_channel(channel_id)?;
                self.require(&channel, PIN_MESSAGES)?;
                if self.channel_message(channel_id, message_id).is_none() {
                    return Err(ApiError::unknown_message());
                }
                self.unpin_message(channel_id, message_id);
                Ok(Reply::NoContent)
            }
            Endpoint::InteractionCallback(interaction_id, token) => {
                let with_response = query_value(query, "with_response") == Some("true");
                self.interaction_callback(interaction_id, &token, body, with_response)
            }
            Endpoint::CreateFollowup(application_id, token) => {
                self.create_followup(application_id, &token, body)
            }
            Endpoint::GetWebhookMessage(application_id, token, which) => {
                self.get_webhook_message(application_id, &token, which)
            }
            Endpoint::EditWebhookMessage(application_id, token, which) => {
                self.edit_webhook_message(application_id, &token, which, body)
            }
            Endpoint::DeleteWebhookMessage(application_id, token, which) => {
                self.delete_webhook_message(application_id, &token, which)
            }
        }
    }

    fn application_json(&self) -> Value {
        json!({
            "id": id_str(self.config.application_id),
            "name": self.config.bot_username,
            "icon": null,
            "description": "",
            "bot_public": true,
            "bot_require_code_grant": false,
            "verify_key": "0".repeat(64),
            "team": null,
            "owner": self.user_json(self.bot_id()),
            "flags": 0,
            "bot": self.user_json(self.bot_id()),
            "summary": "",
            "tags": [],
            "approximate_guild_count": self.guilds.len(),
        })
    }

    /// A guild the bot is a member of.
    fn member_guild(&self, guild_id: u64) -> Result<(), ApiError> {
        let guild = self
            .guilds
            .get(&guild_id)
            .ok_or_else(ApiError::unknown_guild)?;
        if guild.members.contains_key(&self.bot_id()) {
            Ok(())
        } else {
            Err(ApiError::missing_access())
        }
    }

    /// A channel the bot can see: 10003 if unknown, 50001 Missing Access without VIEW_CHANNEL.
    fn visible_channel(&self, channel_id: u64) -> Result<Channel, ApiError> {
        let channel = self
            .channels
            .get(&channel_id)
            .ok_or_else(ApiError::unknown_channel)?;
        if self.channel_permissions_of(self.bot_id(), channel) & VIEW_CHANNEL == 0 {
            return Err(ApiError::missing_access());
        }
        Ok(channel.clone())
    }

    fn require(&self, channel: &Channel, bits: u64) -> Result<(), ApiError> {
        if self.channel_permissions_of(self.bot_id(), channel) & bits == bits {
            Ok(())
        } else {
            Err(ApiError::missing_permissions())
        }
    }

    /// Every overwrite must name a role of the guild (10011 Unknown Role) or a known user
    /// (10013 Unknown User).
    fn check_overwrite_targets(
        &self,
        guild_id: u64,
        overwrites: &[Overwrite],
    ) -> Result<(), ApiError> {
        let guild = self
            .guilds
            .get(&guild_id)
            .ok_or_else(ApiError::unknown_guild)?;
        for overwrite in overwrites {
            match overwrite.kind {
                OverwriteKind::Role if !guild.roles.contains_key(&overwrite.id) => {
                    return Err(ApiError::unknown_role());
                }
                OverwriteKind::Member if !self.users.contains_key(&overwrite.id) => {
                    return Err(ApiError::unknown_user());
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn create_guild_channel(&mut self, guild_id: u64, body: &Value) -> Result<Reply, ApiError> {
        self.member_guild(guild_id)?;
        let draft = channel_draft(body)?;
        let bot = self.bot_id();
        let parent = match draft.parent_id {
            Some(parent_id) => {
                let parent = self
                    .channels
                    .get(&parent_id)
                    .filter(|c| c.guild_id == Some(guild_id) && c.kind == ChannelKind::Category)
                    .filter(|_| draft.kind != ChannelKind::Category)
                    .cloned()
                    .ok_or_else(|| {
                        ApiError::invalid_field(
                            &["parent_id"],
                            "CHANNEL_PARENT_INVALID_TYPE",
                            "Not a category",
                        )
                    })?;
                Some(parent)
            }
            None => None,
        };
        let held = match &parent {
            Some(parent) => self.permissions(guild_id, bot, Some(parent)),
            None => self.permissions(guild_id, bot, None),
        };
        if held & MANAGE_CHANNELS == 0 {
            return Err(ApiError::missing_permissions());
        }
        if let Some(overwrites) = draft.overwrites.as_ref().filter(|o| !o.is_empty()) {
            self.check_overwrite_targets(guild_id, overwrites)?;
            // Create Guild Channel checks overwrites against the bot's guild-level permissions:
            // what it holds only through the parent category's overwrites does not count.
            check_overwrites(self.permissions(guild_id, bot, None), overwrites)?;
        }
        let guild_channels = self
            .channels
            .values()
            .filter(|c| c.guild_id == Some(guild_id))
            .count();
        if guild_channels >= self.config.max_guild_channels {
            return Err(ApiError::max_guild_channels(self.config.max_guild_channels));
        }
        if let Some(parent) = &parent {
            let children = self
                .channels
                .values()
                .filter(|c| c.parent_id == Some(parent.id))
                .count();
            if children >= self.config.max_channels_per_category {
                return Err(ApiError::invalid_field(
                    &["parent_id"],
                    "CHANNEL_PARENT_MAX_CHANNELS",
                    &format!(
                        "Maximum number of channels in category reached ({})",
                        self.config.max_channels_per_category
                    ),
                ));
            }
        }
        let position = draft.position.unwrap_or_else(|| {
            self.channels
                .values()
                .filter(|c| c.guild_id == Some(guild_id) && c.parent_id == draft.parent_id)
                .map(|c| c.position + 1)
                .max()
                .unwrap_or(0)
        });
        let id = self.next_id();
        // A channel created in a category without overwrites is synced with the category.
        let overwrites = draft.overwrites.unwrap_or_else(|| {
            parent
                .as_ref()
                .map(|p| p.overwrites.clone())
                .unwrap_or_default()
        });
        let channel = Channel {
            id,
            kind: draft.kind,
            guild_id: Some(guild_id),
            name: Some(draft.name),
            topic: draft.topic,
            parent_id: draft.parent_id,
            position,
            overwrites,
            recipients: Vec::new(),
            last_message_id: None,
            last_pin_ms: None,
        };
        let json = self.channel_json(&channel);
        self.insert_channel(channel);
        Ok(Reply::Json(StatusCode::CREATED, json))
    }

    fn modify_channel(&mut self, channel_id: u64, body: &Value) -> Result<Reply, ApiError> {
        let channel = self.visible_channel(channel_id)?;
        let guild_id = require_guild_channel(&channel)?;
        self.require(&channel, MANAGE_CHANNELS)?;
        let mut errors = FormErrors::default();
        let overwrites = body
            .get("permission_overwrites")
            .filter(|v| !v.is_null())
            .map(|v| validate::overwrites(v, &mut errors, "permission_overwrites"));
        if let Some(name) = body.get("name").and_then(Value::as_str)
            && !(1..=100).contains(&name.chars().count())
        {
            errors.push(
                vec!["name".into()],
                "BASE_TYPE_BAD_LENGTH",
                "Must be between 1 and 100 in length.",
            );
        }
        if !errors.is_empty() {
            return Err(ApiError::invalid_form(&errors));
        }
        if let Some(overwrites) = &overwrites {
            self.check_overwrite_targets(guild_id, overwrites)?;
            let held = self.permissions(guild_id, self.bot_id(), Some(&channel));
            check_overwrites(held, overwrites)?;
        }
        let new_parent = match body.get("parent_id") {
            Some(Value::Null) => Some(None),
            Some(value) => {
                let parent = snowflake(value).filter(|p| {
                    self.channels.get(p).is_some_and(|c| {
                        c.kind == ChannelKind::Category && c.guild_id == Some(guild_id)
                    })
                });
                match parent {
                    Some(parent) => Some(Some(parent)),
                    None => {
                        return Err(ApiError::invalid_field(
                            &["parent_id"],
                            "CHANNEL_PARENT_INVALID_TYPE",
                            "Not a category",
                        ));
                    }
                }
            }
            None => None,
        };
        if let Some(c) = self.channels.get_mut(&channel_id) {
            if let Some(name) = body.get("name").and_then(Value::as_str) {
                c.name = Some(validate::normalise_channel_name(c.kind, name));
            }
            if let Some(topic) = body.get("topic") {
                c.topic = topic.as_str().map(str::to_owned);
            }
            if let Some(position) = body.get("position").and_then(Value::as_i64) {
                c.position = position;
            }
            if let Some(parent) = new_parent {
                c.parent_id = parent;
            }
            if let Some(overwrites) = overwrites {
                c.overwrites = overwrites;
            }
        }
        self.channel_updated(channel_id);
        let updated = self
            .channels
            .get(&channel_id)
            .map(|c| self.channel_json(c))
            .unwrap_or_default();
        Ok(ok(updated))
    }

    fn edit_channel_permission(
        &mut self,
        channel_id: u64,
        target: u64,
        body: &Value,
    ) -> Result<Reply, ApiError> {
        let channel = self.visible_channel(channel_id)?;
        let guild_id = require_guild_channel(&channel)?;
        let kind = match body.get("type").and_then(Value::as_u64) {
            Some(0) => OverwriteKind::Role,
            Some(1) => OverwriteKind::Member,
            _ => {
                return Err(ApiError::invalid_field(
                    &["type"],
                    "BASE_TYPE_CHOICES",
                    "Value must be one of {0, 1}.",
                ));
            }
        };
        let overwrite = Overwrite {
            id: target,
            kind,
            allow: body
                .get("allow")
                .and_then(validate::permission_bits)
                .unwrap_or(0),
            deny: body
                .get("deny")
                .and_then(validate::permission_bits)
                .unwrap_or(0),
        };
        self.check_overwrite_targets(guild_id, std::slice::from_ref(&overwrite))?;
        let held = self.permissions(guild_id, self.bot_id(), Some(&channel));
        check_overwrites(held, std::slice::from_ref(&overwrite))?;
        if let Some(c) = self.channels.get_mut(&channel_id) {
            c.overwrites.retain(|o| o.id != target);
            c.overwrites.push(overwrite);
        }
        self.channel_updated(channel_id);
        Ok(Reply::NoContent)
    }

    fn change_member_role(
        &mut self,
        guild_id: u64,
        user_id: u64,
        role_id: u64,
        add: bool,
    ) -> Result<Reply, ApiError> {
        self.member_guild(guild_id)?;
        let guild = self
            .guilds
            .get(&guild_id)
            .ok_or_else(ApiError::unknown_guild)?;
        if !guild.members.contains_key(&user_id) {
            return Err(ApiError::unknown_member());
        }
        let role = guild
            .roles
            .get(&role_id)
            .cloned()
            .ok_or_else(ApiError::unknown_role)?;
        let held = self.permissions(guild_id, self.bot_id(), None);
        let above = self.top_role_position(guild_id, self.bot_id()) > role.position;
        if held & MANAGE_ROLES == 0 || !above || role.managed || role.id == guild_id {
            return Err(ApiError::missing_permissions());
        }
        if let Some(member) = self
            .guilds
            .get_mut(&guild_id)
            .and_then(|g| g.members.get_mut(&user_id))
        {
            member.roles.retain(|r| *r != role_id);
            if add {
                member.roles.push(role_id);
            }
        }
        self.member_event("GUILD_MEMBER_UPDATE", guild_id, user_id);
        Ok(Reply::NoContent)
    }

    fn create_message(&mut self, channel_id: u64, body: &Value) -> Result<Reply, ApiError> {
        let channel = self.visible_channel(channel_id)?;
        if !channel.kind.holds_messages() {
            return Err(ApiError::non_text_channel());
        }
        if channel.guild_id.is_some() {
            self.require(&channel, SEND_MESSAGES)?;
        } else {
            let recipient = channel.recipients.first().copied().unwrap_or_default();
            let accepts = self.users.get(&recipient).is_some_and(|u| u.accepts_dms);
            let shares_guild = self.guilds.values().any(|g| {
                g.members.contains_key(&recipient) && g.members.contains_key(&self.bot_id())
            });
            if !accepts || !shares_guild {
                return Err(ApiError::cannot_dm());
            }
        }
        let draft = message_draft(body)?;
        if draft.is_empty() {
            return Err(ApiError::empty_message());
        }
        if let Some(reference) = draft.reference {
            if channel.guild_id.is_some() {
                self.require(&channel, READ_MESSAGE_HISTORY)?;
            }
            if self.channel_message(channel_id, reference).is_none() {
                return Err(ApiError::invalid_field(
                    &["message_reference"],
                    "REPLIES_UNKNOWN_MESSAGE",
                    "Unknown message",
                ));
            }
        }
        let message = self.add_message(NewMessage {
            channel_id,
            author_id: self.bot_id(),
            content: draft.content.unwrap_or_default(),
            components: draft.components.unwrap_or_default(),
            embeds: draft.embeds.unwrap_or_default(),
            kind: if draft.reference.is_some() { 19 } else { 0 },
            // Only SUPPRESS_EMBEDS, SUPPRESS_NOTIFICATIONS and IS_COMPONENTS_V2 may be set.
            flags: draft.flags.unwrap_or(0) & ((1 << 2) | (1 << 12) | (1 << 15)),
            reference: draft.reference,
            allowed_mentions: draft.allowed_mentions,
            ..NewMessage::default()
        });
        Ok(ok(self.rest_message_json(&message)))
    }

    fn get_messages(&self, channel_id: u64, query: &[(String, String)]) -> Result<Reply, ApiError> {
        let channel = self.visible_channel(channel_id)?;
        let limit = parse_limit(query, 1, 100, 50)?;
        // Without READ_MESSAGE_HISTORY Discord answers with no messages rather than an error.
        if self.channel_permissions_of(self.bot_id(), &channel) & READ_MESSAGE_HISTORY == 0 {
            return Ok(ok(json!([])));
        }
        let Some(messages) = self.messages.get(&channel_id) else {
            return Ok(ok(json!([])));
        };
        let anchor = |key: &str| query_value(query, key).and_then(|v| v.parse::<u64>().ok());
        let mut selected: Vec<_> = if let Some(before) = anchor("before") {
            messages
                .range(..before)
                .rev()
                .take(limit)
                .map(|(_, m)| m)
                .collect()
        } else if let Some(after) = anchor("after") {
            let mut page: Vec<_> = messages
                .range(after + 1..)
                .take(limit)
                .map(|(_, m)| m)
                .collect();
            page.reverse();
            page
        } else if let Some(around) = anchor("around") {
            let newer = limit / 2;
            let older = limit - newer;
            let mut page: Vec<_> = messages
                .range(around + 1..)
                .take(newer)
                .map(|(_, m)| m)
                .collect();
            page.reverse();
            page.extend(messages.range(..=around).rev().take(older).map(|(_, m)| m));
            page
        } else {
            messages.values().rev().take(limit).collect()
        };
        selected.sort_by_key(|m| std::cmp::Reverse(m.id));
        Ok(ok(Value::Array(
            selected
                .into_iter()
                .map(|m| self.rest_message_json(m))
                .collect(),
        )))
    }

    fn get_pins(&self, channel_id: u64, query: &[(String, String)]) -> Result<Reply, ApiError> {
        let channel = self.visible_channel(channel_id)?;
        let limit = parse_limit(query, 1, 50, 50)?;
        if self.channel_permissions_of(self.bot_id(), &channel) & READ_MESSAGE_HISTORY == 0 {
            return Ok(ok(json!({"items": [], "has_more": false})));
        }
        let before = match query_value(query, "before") {
            Some(text) => Some(parse_iso8601(text).ok_or_else(|| {
                ApiError::invalid_field(
                    &["before"],
                    "DATE_TIME_TYPE_PARSE",
                    "Could not parse the value as a date-time.",
                )
            })?),
            None => None,
        };
        let candidates: Vec<_> = self
            .pinned(channel_id)
            .into_iter()
            .filter(|m| before.is_none_or(|b| m.pinned_at_ms.is_some_and(|at| at < b)))
            .collect();
        let has_more = candidates.len() > limit;
        let items: Vec<Value> = candidates
            .into_iter()
            .take(limit)
            .map(|m| json!({"pinned_at": m.pinned_at_ms.map(iso8601), "message": self.rest_message_json(m)}))
            .collect();
        Ok(ok(json!({"items": items, "has_more": has_more})))
    }
}

fn require_guild_channel(channel: &Channel) -> Result<u64, ApiError> {
    channel.guild_id.ok_or_else(ApiError::dm_action)
}

/// Overwrites may only allow or deny what the bot itself has; MANAGE_ROLES only for admins.
fn check_overwrites(held: u64, overwrites: &[Overwrite]) -> Result<(), ApiError> {
    if held & ADMINISTRATOR != 0 {
        return Ok(());
    }
    let beyond_own = overwrites
        .iter()
        .any(|o| (o.allow | o.deny) & !held != 0 || (o.allow | o.deny) & MANAGE_ROLES != 0);
    if held & MANAGE_ROLES == 0 || beyond_own {
        return Err(ApiError::missing_permissions());
    }
    Ok(())
}

fn ok(value: Value) -> Reply {
    Reply::Json(StatusCode::OK, value)
}

fn parse_limit(
    query: &[(String, String)],
    min: usize,
    max: usize,
    default: usize,
) -> Result<usize, ApiError> {
    let Some(text) = query_value(query, "limit") else {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_are_percent_decoded() {
        let pairs = query_pairs("before=2026-01-01T00%3A00%3A00%2B00%3A00&limit=5");
        assert_eq!(
            query_value(&pairs, "before"),
            Some("2026-01-01T00:00:00+00:00")
        );
        assert_eq!(query_value(&pairs, "limit"), Some("5"));
    }

    #[test]
    fn a_limit_above_the_maximum_is_an_invalid_form_body() {
        let pairs = query_pairs("limit=101");
        assert_eq!(
            parse_limit(&pairs, 1, 100, 50).err().map(|e| e.code),
            Some(50035)
        );
        assert_eq!(parse_limit(&[], 1, 100, 50).ok(), Some(50));
    }
}
