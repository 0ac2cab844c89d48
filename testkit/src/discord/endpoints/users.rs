//! Who the bot is and whom it can reach: the gateway URL, the current user and application,
//! other users, and DM channels. What cannot fail (the gateway and the bot's own identity) answers
//! a bare `Reply`.

use serde_json::{Value, json};

use super::{Reply, ok};
use crate::discord::api_error::ApiError;
use crate::discord::snowflake::id_str;
use crate::discord::state::State;
use crate::discord::validate::snowflake;

/// `GET /gateway`.
pub(crate) fn gateway(state: &State) -> Reply {
    ok(json!({"url": state.base_url.replacen("http", "ws", 1)}))
}

/// `GET /gateway/bot`: the IDENTIFYs left count down as sessions start.
pub(crate) fn gateway_bot(state: &State) -> Reply {
    ok(json!({
        "url": state.base_url.replacen("http", "ws", 1),
        "shards": 1,
        "session_start_limit": {"total": 1000, "remaining": 1000 - state.identify_count.min(1000), "reset_after": 86_400_000, "max_concurrency": 1},
    }))
}

/// `GET /users/@me`: only the current user carries `verified`, `mfa_enabled` and `locale`.
pub(crate) fn current_user(state: &State) -> Reply {
    let mut user = state.user_json(state.bot_id());
    user["verified"] = json!(true);
    user["mfa_enabled"] = json!(false);
    user["locale"] = json!("en-US");
    ok(user)
}

/// `GET /users/{user_id}`.
pub(crate) fn user(state: &State, user_id: u64) -> Result<Reply, ApiError> {
    if !state.users.contains_key(&user_id) {
        return Err(ApiError::unknown_user());
    }
    Ok(ok(state.user_json(user_id)))
}

/// `GET /applications/@me`.
pub(crate) fn current_application(state: &State) -> Reply {
    ok(json!({
        "id": id_str(state.config.application_id),
        "name": state.config.bot_username,
        "icon": null,
        "description": "",
        "bot_public": true,
        "bot_require_code_grant": false,
        "verify_key": "0".repeat(64),
        "team": null,
        "owner": state.user_json(state.bot_id()),
        "flags": 0,
        "bot": state.user_json(state.bot_id()),
        "summary": "",
        "tags": [],
        "approximate_guild_count": state.guilds.len(),
    }))
}

/// `POST /users/@me/channels`: the DM channel with a user, opened on first use.
pub(crate) fn create_dm(state: &mut State, body: &Value) -> Result<Reply, ApiError> {
    let recipient = body
        .get("recipient_id")
        .and_then(snowflake)
        .ok_or_else(|| {
            ApiError::invalid_field(
                &["recipient_id"],
                "BASE_TYPE_REQUIRED",
                "This field is required",
            )
        })?;
    if !state.users.contains_key(&recipient) {
        return Err(ApiError::unknown_user());
    }
    let channel_id = state.dm_channel(recipient);
    Ok(ok(state.dm_channel_json(channel_id)))
}
