//! The control handle over HTTP (JSON), so a bot running as its own process can be driven from
//! outside. Ids are accepted as strings or numbers and returned as strings.
//!
//! Past 450 lines: a handler of a few lines per control operation and the one route table over
//! them, which read best side by side.

use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine as _;
use serde_json::{Value, json};

use super::command_input::{CommandInput, OptionValue};
use super::control::{ChannelSpec, Control, ControlError, UserMessage};
use super::faults::FaultSpec;
use super::model::{
    Channel, ChannelKind, InteractionOutcome, InteractionView, Message, Overwrite, OverwriteKind,
};
use super::snowflake::id_str;
use super::validate::{permission_bits, snowflake};

struct Failure(StatusCode, String);

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        (self.0, Json(json!({"error": self.1}))).into_response()
    }
}

impl From<ControlError> for Failure {
    fn from(error: ControlError) -> Self {
        let status = match error {
            ControlError::Timeout(_) => StatusCode::REQUEST_TIMEOUT,
            ControlError::UnknownGuild(_)
            | ControlError::UnknownChannel(_)
            | ControlError::UnknownMessage(_)
            | ControlError::UnknownUser(_)
            | ControlError::UnknownRole(_)
            | ControlError::UnknownInteraction(_) => StatusCode::NOT_FOUND,
            _ => StatusCode::UNPROCESSABLE_ENTITY,
        };
        Self(status, error.to_string())
    }
}

type Reply = Result<Json<Value>, Failure>;

fn field_id(body: &Value, field: &str) -> Result<u64, Failure> {
    body.get(field).and_then(snowflake).ok_or_else(|| {
        Failure(
            StatusCode::BAD_REQUEST,
            format!("`{field}` must be a snowflake"),
        )
    })
}

fn ids(body: &Value, field: &str) -> Vec<u64> {
    body.get(field)
        .and_then(Value::as_array)
        .map(|list| list.iter().filter_map(snowflake).collect())
        .unwrap_or_default()
}

fn created(id: u64) -> Json<Value> {
    Json(json!({"id": id_str(id)}))
}

fn channel_value(channel: &Channel) -> Value {
    json!({
        "id": id_str(channel.id),
        "kind": channel.kind,
        "guild_id": channel.guild_id.map(id_str),
        "name": channel.name,
        "topic": channel.topic,
        "parent_id": channel.parent_id.map(id_str),
        "position": channel.position,
        "overwrites": channel.overwrites.iter().map(|o| json!({
            "id": id_str(o.id), "kind": o.kind, "allow": o.allow.to_string(), "deny": o.deny.to_string(),
        })).collect::<Vec<_>>(),
    })
}

fn message_value(message: &Message) -> Value {
    json!({
        "id": id_str(message.id),
        "channel_id": id_str(message.channel_id),
        "author_id": id_str(message.author_id),
        "content": message.content,
        "components": message.components,
        "embeds": message.embeds,
        "attachments": message.attachments.iter().map(|a| json!({"id": id_str(a.id), "filename": a.filename, "size": a.data.len()})).collect::<Vec<_>>(),
        "type": message.kind,
        "flags": message.flags,
        "pinned": message.pinned,
        "edited": message.edited_at_ms.is_some(),
        "reference": message.reference.map(id_str),
        "mention_roles": message.mention_roles.iter().map(|r| id_str(*r)).collect::<Vec<_>>(),
        "notified_roles": message.notified_roles.iter().map(|r| id_str(*r)).collect::<Vec<_>>(),
        "button_custom_ids": message.button_custom_ids(),
    })
}

fn interaction_value(view: &InteractionView) -> Value {
    json!({
        "id": id_str(view.id),
        "type": view.kind,
        "opened_by": view.opened_by.map(id_str),
        "modal": view.modal,
        "user_id": id_str(view.user_id),
        "channel_id": id_str(view.channel_id),
        "message_id": id_str(view.message_id),
        "custom_id": view.custom_id,
        "status": view.status,
        "callback_type": view.callback_type,
        "original_response": view.original_response.as_ref().map(message_value),
        "followups": view.followups.iter().map(message_value).collect::<Vec<_>>(),
    })
}

async fn info(State(control): State<Control>) -> Reply {
    Ok(Json(json!({
        "base_url": control.base_url(),
        "bot_user_id": id_str(control.bot_user_id()),
        "application_id": id_str(control.application_id()),
    })))
}

async fn create_guild(State(control): State<Control>, Json(body): Json<Value>) -> Reply {
    let name = body["name"].as_str().unwrap_or("Test Guild");
    let permissions = body
        .get("bot_permissions")
        .and_then(permission_bits)
        .unwrap_or(0);
    let id = control.create_guild(name, permissions);
    Ok(Json(
        json!({"id": id_str(id), "bot_role_id": control.bot_role(id).map(id_str)}),
    ))
}

async fn create_role(
    State(control): State<Control>,
    Path(guild): Path<u64>,
    Json(body): Json<Value>,
) -> Reply {
    let name = body["name"].as_str().unwrap_or("role");
    let permissions = body
        .get("permissions")
        .and_then(permission_bits)
        .unwrap_or(0);
    let role = control.create_role(guild, name, permissions)?;
    if let Some(mentionable) = body["mentionable"].as_bool() {
        control.set_role_mentionable(guild, role, mentionable)?;
    }
    Ok(created(role))
}

async fn update_role(
    State(control): State<Control>,
    Path((guild, role)): Path<(u64, u64)>,
    Json(body): Json<Value>,
) -> Reply {
    if let Some(permissions) = body.get("permissions").and_then(permission_bits) {
        control.set_role_permissions(guild, role, permissions)?;
    }
    if let Some(mentionable) = body["mentionable"].as_bool() {
        control.set_role_mentionable(guild, role, mentionable)?;
    }
    Ok(Json(json!({})))
}

async fn create_user(State(control): State<Control>, Json(body): Json<Value>) -> Reply {
    let id = control.create_user(body["name"].as_str().unwrap_or("user"));
    if let Some(accepts) = body["accepts_dms"].as_bool() {
        control.set_accepts_dms(id, accepts)?;
    }
    Ok(created(id))
}

async fn update_user(
    State(control): State<Control>,
    Path(user): Path<u64>,
    Json(body): Json<Value>,
) -> Reply {
    if let Some(accepts) = body["accepts_dms"].as_bool() {
        control.set_accepts_dms(user, accepts)?;
    }
    Ok(Json(json!({})))
}

async fn put_member(
    State(control): State<Control>,
    Path((guild, user)): Path<(u64, u64)>,
    Json(body): Json<Value>,
) -> Reply {
    let roles = ids(&body, "roles");
    if control
        .guild(guild)
        .is_some_and(|g| g.members.contains_key(&user))
    {
        control.set_member_roles(guild, user, &roles)?;
    } else {
        control.add_member(guild, user, &roles)?;
    }
    Ok(Json(json!({})))
}

fn parse_overwrites(body: &Value) -> Vec<Overwrite> {
    body["overwrites"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|o| {
            Some(Overwrite {
                id: o.get("id").and_then(snowflake)?,
                kind: match (o["type"].as_u64(), o["kind"].as_str()) {
                    (Some(1), _) | (_, Some("member")) => OverwriteKind::Member,
                    _ => OverwriteKind::Role,
                },
                allow: o.get("allow").and_then(permission_bits).unwrap_or(0),
                deny: o.get("deny").and_then(permission_bits).unwrap_or(0),
            })
        })
        .collect()
}

async fn create_channel(
    State(control): State<Control>,
    Path(guild): Path<u64>,
    Json(body): Json<Value>,
) -> Reply {
    let kind =
        serde_json::from_value::<ChannelKind>(body["kind"].clone()).unwrap_or(ChannelKind::Text);
    let spec = ChannelSpec {
        name: body["name"].as_str().unwrap_or("channel").to_owned(),
        kind,
        parent_id: body.get("parent_id").and_then(snowflake),
        overwrites: parse_overwrites(&body),
        topic: body["topic"].as_str().map(str::to_owned),
    };
    Ok(created(control.create_channel(guild, spec)?))
}

async fn guild_channels(State(control): State<Control>, Path(guild): Path<u64>) -> Reply {
    Ok(Json(Value::Array(
        control.channels(guild).iter().map(channel_value).collect(),
    )))
}

async fn get_channel(State(control): State<Control>, Path(channel): Path<u64>) -> Reply {
    let found = control
        .channel(channel)
        .ok_or(ControlError::UnknownChannel(channel))?;
    Ok(Json(channel_value(&found)))
}

async fn delete_channel(State(control): State<Control>, Path(channel): Path<u64>) -> Reply {
    control.delete_channel(channel)?;
    Ok(Json(json!({})))
}

async fn set_overwrites(
    State(control): State<Control>,
    Path(channel): Path<u64>,
    Json(body): Json<Value>,
) -> Reply {
    control.set_channel_overwrites(channel, parse_overwrites(&body))?;
    Ok(Json(json!({})))
}

async fn channel_messages(State(control): State<Control>, Path(channel): Path<u64>) -> Reply {
    Ok(Json(Value::Array(
        control
            .messages(channel)
            .iter()
            .map(message_value)
            .collect(),
    )))
}

async fn channel_pins(State(control): State<Control>, Path(channel): Path<u64>) -> Reply {
    Ok(Json(Value::Array(
        control.pins(channel).iter().map(message_value).collect(),
    )))
}

async fn post_message(
    State(control): State<Control>,
    Path(channel): Path<u64>,
    Json(body): Json<Value>,
) -> Reply {
    let user = field_id(&body, "user_id")?;
    let mut message = UserMessage::text(body["content"].as_str().unwrap_or_default());
    message.reply_to = body.get("reply_to").and_then(snowflake);
    for file in body
        .get("attachments")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let text = |field: &str| file.get(field).and_then(Value::as_str);
        let bad = |detail: &str| Failure(StatusCode::BAD_REQUEST, format!("attachments: {detail}"));
        let filename = text("filename").ok_or_else(|| bad("each needs a `filename`"))?;
        let data = base64::engine::general_purpose::STANDARD
            .decode(text("data_base64").unwrap_or_default())
            .map_err(|_| bad("`data_base64` must be standard base64"))?;
        message = message.with_attachment(
            filename,
            text("content_type").unwrap_or("application/octet-stream"),
            &data,
        );
    }
    Ok(created(control.post_message(user, channel, message)?))
}

async fn edit_message(
    State(control): State<Control>,
    Path(message): Path<u64>,
    Json(body): Json<Value>,
) -> Reply {
    control.edit_message(message, body["content"].as_str().unwrap_or_default())?;
    Ok(Json(json!({})))
}

async fn delete_message(State(control): State<Control>, Path(message): Path<u64>) -> Reply {
    control.delete_message(message)?;
    Ok(Json(json!({})))
}

async fn dm_messages(State(control): State<Control>, Path(user): Path<u64>) -> Reply {
    Ok(Json(Value::Array(
        control
            .dm_messages(user)
            .iter()
            .map(message_value)
            .collect(),
    )))
}

async fn click(State(control): State<Control>, Json(body): Json<Value>) -> Reply {
    let user = field_id(&body, "user_id")?;
    let message = field_id(&body, "message_id")?;
    let custom_id = body["custom_id"].as_str().unwrap_or_default();
    let outcome = control.click_button(user, message, custom_id).await?;
    Ok(Json(outcome_value(&outcome)))
}

async fn select(State(control): State<Control>, Json(body): Json<Value>) -> Reply {
    let user = field_id(&body, "user_id")?;
    let message = field_id(&body, "message_id")?;
    let custom_id = body["custom_id"].as_str().unwrap_or_default();
    let values: Vec<&str> = body["values"]
        .as_array()
        .map(|values| values.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let outcome = control
        .choose_in_menu(user, message, custom_id, &values)
        .await?;
    Ok(Json(outcome_value(&outcome)))
}

/// The same shape for a click and a modal submit.
fn outcome_value(outcome: &InteractionOutcome) -> Value {
    json!({
        "interaction_id": id_str(outcome.interaction_id),
        "status": outcome.status,
        "failed": outcome.failed(),
        "ack_latency_ms": outcome.ack_latency.map(|d| d.as_secs_f64() * 1000.0),
        "callback_type": outcome.callback_type,
        "flags": outcome.flags,
        "ephemeral": outcome.is_ephemeral(),
        "data": outcome.data,
        "modal": outcome.modal,
    })
}

async fn submit_modal(State(control): State<Control>, Json(body): Json<Value>) -> Reply {
    let user = field_id(&body, "user_id")?;
    let opened_by = field_id(&body, "interaction_id")?;
    let values = body
        .get("values")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(custom_id, value)| {
            value
                .as_str()
                .map(|text| (custom_id.as_str(), text))
                .ok_or_else(|| {
                    Failure(
                        StatusCode::BAD_REQUEST,
                        format!("`values.{custom_id}` must be a string"),
                    )
                })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let outcome = control.submit_modal(user, opened_by, &values).await?;
    Ok(Json(outcome_value(&outcome)))
}

/// One input of `/commands/run`: `{name, options: [...]}` is a subcommand (or group);
/// `{name, value}` a string, integer, number or boolean; `{name, user}` and `{name, channel}` a
/// user or channel picked by id.
fn command_input(input: &Value) -> Result<CommandInput, Failure> {
    let bad = |what: &str| Failure(StatusCode::BAD_REQUEST, format!("command input: {what}"));
    let name = input["name"]
        .as_str()
        .ok_or_else(|| bad("`name` must be a string"))?;
    if let Some(options) = input["options"].as_array() {
        return Ok(CommandInput::Sub {
            name: name.to_owned(),
            inputs: options
                .iter()
                .map(command_input)
                .collect::<Result<_, _>>()?,
        });
    }
    let value = if let Some(user) = input.get("user").and_then(snowflake) {
        OptionValue::User(user)
    } else if let Some(channel) = input.get("channel").and_then(snowflake) {
        OptionValue::Channel(channel)
    } else {
        match &input["value"] {
            Value::String(text) => OptionValue::String(text.clone()),
            Value::Bool(flag) => OptionValue::Boolean(*flag),
            Value::Number(n) => match n.as_i64() {
                Some(integer) => OptionValue::Integer(integer),
                None => OptionValue::Number(n.as_f64().unwrap_or_default()),
            },
            _ => return Err(bad("needs `options`, `value`, `user` or `channel`")),
        }
    };
    Ok(CommandInput::value(name, value))
}

async fn run_command(State(control): State<Control>, Json(body): Json<Value>) -> Reply {
    let user = field_id(&body, "user_id")?;
    let channel = field_id(&body, "channel_id")?;
    let name = body["name"].as_str().unwrap_or_default();
    let inputs = body["options"]
        .as_array()
        .into_iter()
        .flatten()
        .map(command_input)
        .collect::<Result<Vec<_>, _>>()?;
    let outcome = control.run_command(user, channel, name, &inputs).await?;
    Ok(Json(outcome_value(&outcome)))
}

async fn guild_commands(State(control): State<Control>, Path(guild): Path<u64>) -> Reply {
    let application_id = control.application_id();
    Ok(Json(Value::Array(
        control
            .guild_commands(guild)
            .iter()
            .map(|c| c.to_json(application_id))
            .collect(),
    )))
}

async fn interaction(State(control): State<Control>, Path(id): Path<u64>) -> Reply {
    let view = control
        .interaction(id)
        .ok_or(ControlError::UnknownInteraction(id))?;
    Ok(Json(interaction_value(&view)))
}

async fn interactions(State(control): State<Control>) -> Reply {
    Ok(Json(Value::Array(
        control
            .interactions()
            .iter()
            .map(interaction_value)
            .collect(),
    )))
}

async fn add_fault(State(control): State<Control>, Json(spec): Json<FaultSpec>) -> Reply {
    control.fail_next(spec);
    Ok(Json(json!({})))
}

async fn clear_faults(State(control): State<Control>) -> Reply {
    control.clear_faults();
    Ok(Json(json!({})))
}

async fn gateway_drop(State(control): State<Control>) -> Reply {
    control.drop_gateway_connections();
    Ok(Json(json!({})))
}

async fn gateway_reconnect(State(control): State<Control>) -> Reply {
    control.send_reconnect();
    Ok(Json(json!({})))
}

async fn gateway_invalid_session(State(control): State<Control>, Json(body): Json<Value>) -> Reply {
    control.send_invalid_session(body["resumable"].as_bool().unwrap_or(false));
    Ok(Json(json!({})))
}

async fn gateway_zombie(State(control): State<Control>) -> Reply {
    control.zombie_gateway_connections();
    Ok(Json(json!({})))
}

async fn gateway_invalidate(State(control): State<Control>) -> Reply {
    control.invalidate_gateway_sessions();
    Ok(Json(json!({})))
}

async fn gateway_sessions(State(control): State<Control>) -> Reply {
    Ok(Json(json!(control.gateway_sessions())))
}

async fn requests(State(control): State<Control>) -> Reply {
    Ok(Json(json!(control.request_log())))
}

async fn clear_requests(State(control): State<Control>) -> Reply {
    control.clear_request_log();
    Ok(Json(json!({})))
}

async fn settings(State(control): State<Control>, Json(body): Json<Value>) -> Reply {
    if let Some(ms) = body["rest_latency_ms"].as_u64() {
        control.set_rest_latency(Duration::from_millis(ms));
    }
    if let Some(ms) = body["ack_deadline_ms"].as_u64() {
        control.set_ack_deadline(Duration::from_millis(ms));
    }
    if let Some(enabled) = body["rate_limits"].as_bool() {
        control.set_rate_limits(if enabled {
            super::RateLimitConfig::discord_like()
        } else {
            super::RateLimitConfig::default()
        });
    }
    if let Some(limit) = body["invalid_request_limit"].as_object() {
        let default = super::InvalidRequestLimit::default();
        let millis = |key: &str, fallback: Duration| {
            limit
                .get(key)
                .and_then(Value::as_u64)
                .map_or(fallback, Duration::from_millis)
        };
        control.set_invalid_request_limit(super::InvalidRequestLimit {
            limit: limit
                .get("limit")
                .and_then(Value::as_u64)
                .and_then(|n| u32::try_from(n).ok())
                .unwrap_or(default.limit),
            window: millis("window_ms", default.window),
            block: millis("block_ms", default.block),
        });
    }
    Ok(Json(json!({})))
}

async fn invalid_requests(State(control): State<Control>) -> Reply {
    Ok(Json(json!({
        "in_window": control.invalid_requests_in_window(),
        "blocks": control.invalid_request_blocks(),
        "blocked": control.api_blocked(),
    })))
}

/// The HTTP control API for the emulator binary.
///
/// Routes (JSON bodies; ids as strings or numbers):
/// `GET /info`; `POST /guilds {name, bot_permissions}`; `POST /guilds/{id}/roles {name, permissions, mentionable?}`;
/// `PATCH /guilds/{gid}/roles/{rid} {permissions?, mentionable?}` (roles start not mentionable);
/// `POST /users {name, accepts_dms?}`; `PATCH /users/{id} {accepts_dms}`;
/// `PUT /guilds/{gid}/members/{uid} {roles}`; `POST|GET /guilds/{id}/channels {name, kind, parent_id?, overwrites?, topic?}`;
/// `GET|DELETE /channels/{id}`; `PUT /channels/{id}/overwrites {overwrites}`;
/// `GET|POST /channels/{id}/messages {user_id, content, reply_to?, attachments?: [{filename,
/// content_type?, data_base64}]}`; `GET /channels/{id}/pins`;
/// `PATCH|DELETE /messages/{id} {content}`; `GET /users/{id}/dms`;
/// `POST /click {user_id, message_id, custom_id}`; `POST /select {user_id, message_id, custom_id,
/// values}` (a choice in a string select menu; the same answer as `/click`, 422 when the Discord
/// client would refuse it); `POST /modals/submit {user_id, interaction_id,
/// values: {"<text input custom_id>": "<text>"}}` (submits the modal the bot answered
/// `interaction_id` with; the same answer as `/click`, 422 when the Discord client would refuse
/// the submit); `POST /commands/run {user_id, channel_id, name, options?: [{name, value | user |
/// channel | options}]}` (runs a guild command; the same answer as `/click`, 422 when the Discord
/// client would refuse it); `GET /guilds/{id}/commands` (as Discord lists them);
/// `GET /interactions`, `GET /interactions/{id}` (with `type`, `opened_by`, `modal`);
/// `POST|DELETE /faults` (a [`FaultSpec`]); `POST /gateway/drop`, `/gateway/reconnect`,
/// `/gateway/invalid-session {resumable}`, `/gateway/zombie` (stop delivering frames, heartbeat
/// ACKs included), `/gateway/invalidate` (refuse the next RESUME); `GET /gateway/sessions`; `GET|DELETE /requests`;
/// `GET /invalid-requests` (`{in_window, blocks, blocked}`);
/// `POST /settings {rest_latency_ms?, ack_deadline_ms?, rate_limits?, invalid_request_limit?: {limit?, window_ms?, block_ms?}}`
/// (setting the invalid-request limit ends a block and forgets what was counted).
pub fn control_router(control: Control) -> Router {
    Router::new()
        .route("/info", get(info))
        .route("/guilds", post(create_guild))
        .route("/guilds/{guild}/roles", post(create_role))
        .route(
            "/guilds/{guild}/roles/{role}",
            axum::routing::patch(update_role),
        )
        .route(
            "/guilds/{guild}/channels",
            post(create_channel).get(guild_channels),
        )
        .route(
            "/guilds/{guild}/members/{user}",
            axum::routing::put(put_member),
        )
        .route("/users", post(create_user))
        .route("/users/{user}", axum::routing::patch(update_user))
        .route("/users/{user}/dms", get(dm_messages))
        .route(
            "/channels/{channel}",
            get(get_channel).delete(delete_channel),
        )
        .route(
            "/channels/{channel}/overwrites",
            axum::routing::put(set_overwrites),
        )
        .route(
            "/channels/{channel}/messages",
            get(channel_messages).post(post_message),
        )
        .route("/channels/{channel}/pins", get(channel_pins))
        .route(
            "/messages/{message}",
            axum::routing::patch(edit_message).delete(delete_message),
        )
        .route("/click", post(click))
        .route("/select", post(select))
        .route("/modals/submit", post(submit_modal))
        .route("/commands/run", post(run_command))
        .route("/guilds/{guild}/commands", get(guild_commands))
        .route("/interactions", get(interactions))
        .route("/interactions/{id}", get(interaction))
        .route("/faults", post(add_fault).delete(clear_faults))
        .route("/gateway/drop", post(gateway_drop))
        .route("/gateway/reconnect", post(gateway_reconnect))
        .route("/gateway/invalid-session", post(gateway_invalid_session))
        .route("/gateway/zombie", post(gateway_zombie))
        .route("/gateway/invalidate", post(gateway_invalidate))
        .route("/gateway/sessions", get(gateway_sessions))
        .route("/requests", get(requests).delete(clear_requests))
        .route("/invalid-requests", get(invalid_requests))
        .route("/settings", post(settings))
        .with_state(control)
}
