//! Threads: starting a private thread in a text channel, adding and removing its members, and
//! the guild's active threads.
//!
//! See [Discord Docs/Start Thread without Message](https://discord.com/developers/docs/resources/channel#start-thread-without-message)
//! and the thread member endpoints beside it.

use axum::http::StatusCode;
use serde_json::{Value, json};

use super::checks::{member_guild, require, visible_channel};
use super::{Reply, ok};
use crate::discord::api_error::{ApiError, FormErrors};
use crate::discord::model::{Channel, ChannelKind};
use crate::discord::permissions::{
    CREATE_PRIVATE_THREADS, MANAGE_THREADS, SEND_MESSAGES, VIEW_CHANNEL,
};
use crate::discord::state::{NewThread, State};

/// The auto-archive durations Discord accepts, in minutes.
const AUTO_ARCHIVE_MINUTES: [u64; 4] = [60, 1440, 4320, 10_080];

/// `POST /channels/{channel_id}/threads` without a message: only private threads (type 12, the
/// default) of a text channel are modelled.
pub(crate) fn start(state: &mut State, channel_id: u64, body: &Value) -> Result<Reply, ApiError> {
    let parent = visible_channel(state, channel_id)?;
    if parent.kind != ChannelKind::Text {
        return Err(ApiError::wrong_channel_type());
    }
    let mut errors = FormErrors::default();
    let name = body.get("name").and_then(Value::as_str).unwrap_or_default();
    if body.get("name").is_none_or(Value::is_null) {
        errors.push(
            vec!["name".into()],
            "BASE_TYPE_REQUIRED",
            "This field is required",
        );
    } else if !(1..=100).contains(&name.chars().count()) {
        errors.push(
            vec!["name".into()],
            "BASE_TYPE_BAD_LENGTH",
            "Must be between 1 and 100 in length.",
        );
    }
    match body.get("type").and_then(Value::as_u64) {
        None | Some(12) => {}
        Some(_) => errors.push(
            vec!["type".into()],
            "BASE_TYPE_CHOICES",
            "This emulator models private threads (12) only.",
        ),
    }
    let auto_archive_minutes = match body.get("auto_archive_duration") {
        None | Some(Value::Null) => 4320,
        Some(value) => {
            if let Some(minutes) = value.as_u64().filter(|m| AUTO_ARCHIVE_MINUTES.contains(m)) {
                minutes
            } else {
                errors.push(
                    vec!["auto_archive_duration".into()],
                    "BASE_TYPE_CHOICES",
                    "Value must be one of {60, 1440, 4320, 10080}.",
                );
                0
            }
        }
    };
    if !errors.is_empty() {
        return Err(ApiError::invalid_form(&errors));
    }
    require(state, &parent, VIEW_CHANNEL | CREATE_PRIVATE_THREADS)?;
    let invitable = body
        .get("invitable")
        .and_then(Value::as_bool)
        .unwrap_or(true);
    let id = state.start_thread(NewThread {
        parent,
        owner_id: state.bot_id(),
        name: name.to_owned(),
        invitable,
        auto_archive_minutes,
    });
    let json = state
        .channels
        .get(&id)
        .map(|thread| state.channel_json(thread))
        .unwrap_or_default();
    Ok(Reply::Json(StatusCode::CREATED, json))
}

/// The thread a thread-member route names, as the bot sees it.
fn visible_thread(state: &State, thread_id: u64) -> Result<Channel, ApiError> {
    let thread = visible_channel(state, thread_id)?;
    if !thread.kind.is_thread() {
        return Err(ApiError::wrong_channel_type());
    }
    if thread.thread.as_ref().is_some_and(|t| t.archived) {
        return Err(ApiError::thread_archived());
    }
    Ok(thread)
}

/// `PUT /channels/{thread_id}/thread-members/{user_id}`: whoever may send messages in the thread
/// adds a member of the guild (on an invite-only thread, only with Manage Threads).
pub(crate) fn add_member(
    state: &mut State,
    thread_id: u64,
    user_id: u64,
) -> Result<Reply, ApiError> {
    let thread = visible_thread(state, thread_id)?;
    // Sending in a thread maps to SEND_MESSAGES in the emulator's thread permissions.
    require(state, &thread, SEND_MESSAGES)?;
    // On an invite-only private thread only moderators add other people.
    if thread.thread.as_ref().is_some_and(|t| !t.invitable) && user_id != state.bot_id() {
        require(state, &thread, MANAGE_THREADS)?;
    }
    let guild_id = thread.guild_id.unwrap_or_default();
    let is_member = state
        .guilds
        .get(&guild_id)
        .is_some_and(|guild| guild.members.contains_key(&user_id));
    if !is_member {
        return Err(ApiError::unknown_member());
    }
    state.set_thread_member(thread_id, user_id, true);
    Ok(Reply::NoContent)
}

/// `DELETE /channels/{thread_id}/thread-members/{user_id}`: needs Manage Threads, or to be the
/// private thread's creator.
pub(crate) fn remove_member(
    state: &mut State,
    thread_id: u64,
    user_id: u64,
) -> Result<Reply, ApiError> {
    let thread = visible_thread(state, thread_id)?;
    let owner = thread
        .thread
        .as_ref()
        .is_some_and(|t| t.owner_id == state.bot_id());
    if !owner {
        require(state, &thread, MANAGE_THREADS)?;
    }
    state.set_thread_member(thread_id, user_id, false);
    Ok(Reply::NoContent)
}

/// `GET /channels/{thread_id}/thread-members`.
pub(crate) fn members(state: &State, thread_id: u64) -> Result<Reply, ApiError> {
    let thread = visible_channel(state, thread_id)?;
    let members = thread.thread.map(|t| t.members).unwrap_or_default();
    Ok(ok(Value::Array(
        members
            .into_iter()
            .map(|user| state.thread_member_json(thread_id, user))
            .collect(),
    )))
}

/// `GET /guilds/{guild_id}/threads/active`: the guild's unarchived threads the bot can see, and
/// its own membership of each.
pub(crate) fn active(state: &State, guild_id: u64) -> Result<Reply, ApiError> {
    member_guild(state, guild_id)?;
    let bot = state.bot_id();
    let mut threads = Vec::new();
    let mut members = Vec::new();
    for id in state.active_threads(guild_id) {
        let Some(thread) = state.channels.get(&id) else {
            continue;
        };
        if state.channel_permissions_of(bot, thread) & VIEW_CHANNEL == 0 {
            continue;
        }
        threads.push(state.channel_json(thread));
        if thread
            .thread
            .as_ref()
            .is_some_and(|t| t.members.contains(&bot))
        {
            members.push(state.thread_member_json(id, bot));
        }
    }
    Ok(ok(json!({"threads": threads, "members": members})))
}
