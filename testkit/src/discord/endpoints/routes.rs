//! Maps a REST request path under `/api/v10` to an endpoint, its route template and its
//! rate-limit major parameter.

use axum::http::Method;

use crate::discord::api_error::ApiError;

/// Which message an interaction webhook route names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WebhookMessage {
    Original,
    Id(u64),
}

/// Every REST endpoint the emulator answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Endpoint {
    GetGateway,
    GetGatewayBot,
    GetCurrentUser,
    GetUser(u64),
    GetCurrentApplication,
    CreateDm,
    GetGuild(u64),
    GetGuildChannels(u64),
    CreateGuildChannel(u64),
    GetGuildRoles(u64),
    ListGuildMembers(u64),
    GetGuildMember(u64, u64),
    AddMemberRole(u64, u64, u64),
    RemoveMemberRole(u64, u64, u64),
    GetChannel(u64),
    StartThread(u64),
    AddThreadMember(u64, u64),
    RemoveThreadMember(u64, u64),
    GetThreadMembers(u64),
    GetActiveThreads(u64),
    ModifyChannel(u64),
    DeleteChannel(u64),
    EditChannelPermission(u64, u64),
    DeleteChannelPermission(u64, u64),
    GetMessages(u64),
    CreateMessage(u64),
    GetMessage(u64, u64),
    EditMessage(u64, u64),
    DeleteMessage(u64, u64),
    GetPins(u64),
    PinMessage(u64, u64),
    UnpinMessage(u64, u64),
    GetPinsDeprecated(u64),
    InteractionCallback(u64, String),
    CreateFollowup(u64, String),
    GetWebhookMessage(u64, String, WebhookMessage),
    EditWebhookMessage(u64, String, WebhookMessage),
    DeleteWebhookMessage(u64, String, WebhookMessage),
    GetGlobalCommands(u64),
    PutGlobalCommands(u64),
    GetGuildCommands(u64, u64),
    PutGuildCommands(u64, u64),
}

/// A resolved request: what to do, how it is logged and how it is rate limited.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Route {
    pub(crate) endpoint: Endpoint,
    /// Path template, e.g. `/channels/{channel_id}/messages`.
    pub(crate) template: String,
    /// The top-level resource the bucket is kept per (channel, guild or webhook).
    pub(crate) major: String,
    /// Whether `Authorization: Bot <token>` is required (not for interaction routes).
    pub(crate) needs_bot_auth: bool,
    /// Interaction routes are exempt from the global rate limit.
    pub(crate) global_exempt: bool,
}

fn id(segment: &str, field: &str) -> Result<u64, ApiError> {
    segment.parse::<u64>().map_err(|_| {
        ApiError::invalid_field(
            &[field],
            "NUMBER_TYPE_COERCE",
            &format!("Value \"{segment}\" is not snowflake."),
        )
    })
}

fn webhook_message(segment: &str) -> Result<WebhookMessage, ApiError> {
    if segment == "@original" {
        Ok(WebhookMessage::Original)
    } else {
        id(segment, "message_id").map(WebhookMessage::Id)
    }
}

/// Resolves `method` and the path below `/api/v10` (no query) to a route.
pub(crate) fn resolve(method: &Method, path: &str) -> Result<Route, ApiError> {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let m = method.as_str();
    let (endpoint, template, major) = match (m, segments.as_slice()) {
        ("GET", ["gateway"]) => (Endpoint::GetGateway, "/gateway", String::new()),
        ("GET", ["gateway", "bot"]) => (Endpoint::GetGatewayBot, "/gateway/bot", String::new()),
        ("GET", ["users", "@me"]) => (Endpoint::GetCurrentUser, "/users/@me", String::new()),
        ("POST", ["users", "@me", "channels"]) => {
            (Endpoint::CreateDm, "/users/@me/channels", String::new())
        }
        ("GET", ["users", user]) => (
            Endpoint::GetUser(id(user, "user_id")?),
            "/users/{user_id}",
            String::new(),
        ),
        ("GET", ["applications", "@me"]) => (
            Endpoint::GetCurrentApplication,
            "/applications/@me",
            String::new(),
        ),
        (_, ["applications", application, "commands"]) => {
            let application_id = id(application, "application_id")?;
            let endpoint = match m {
                "GET" => Endpoint::GetGlobalCommands(application_id),
                "PUT" => Endpoint::PutGlobalCommands(application_id),
                _ => return Err(ApiError::method_not_allowed()),
            };
            (
                endpoint,
                "/applications/{application_id}/commands",
                String::new(),
            )
        }
        // Discord keeps this bucket per application and guild: the guild is the major parameter.
        (_, ["applications", application, "guilds", guild, "commands"]) => {
            let application_id = id(application, "application_id")?;
            let guild_id = id(guild, "guild_id")?;
            let endpoint = match m {
                "GET" => Endpoint::GetGuildCommands(application_id, guild_id),
                "PUT" => Endpoint::PutGuildCommands(application_id, guild_id),
                _ => return Err(ApiError::method_not_allowed()),
            };
            (
                endpoint,
                "/applications/{application_id}/guilds/{guild_id}/commands",
                guild_id.to_string(),
            )
        }
        (_, ["guilds", guild, rest @ ..]) => {
            let guild_id = id(guild, "guild_id")?;
            let major = guild_id.to_string();
            let (endpoint, template) = match (m, rest) {
                ("GET", []) => (Endpoint::GetGuild(guild_id), "/guilds/{guild_id}"),
                ("GET", ["channels"]) => (
                    Endpoint::GetGuildChannels(guild_id),
                    "/guilds/{guild_id}/channels",
                ),
                ("POST", ["channels"]) => (
                    Endpoint::CreateGuildChannel(guild_id),
                    "/guilds/{guild_id}/channels",
                ),
                ("GET", ["threads", "active"]) => (
                    Endpoint::GetActiveThreads(guild_id),
                    "/guilds/{guild_id}/threads/active",
                ),
                ("GET", ["roles"]) => (
                    Endpoint::GetGuildRoles(guild_id),
                    "/guilds/{guild_id}/roles",
                ),
                ("GET", ["members"]) => (
                    Endpoint::ListGuildMembers(guild_id),
                    "/guilds/{guild_id}/members",
                ),
                ("GET", ["members", user]) => (
                    Endpoint::GetGuildMember(guild_id, id(user, "user_id")?),
                    "/guilds/{guild_id}/members/{user_id}",
                ),
                ("PUT" | "DELETE", ["members", user, "roles", role]) => {
                    let user_id = id(user, "user_id")?;
                    let role_id = id(role, "role_id")?;
                    let endpoint = if m == "PUT" {
                        Endpoint::AddMemberRole(guild_id, user_id, role_id)
                    } else {
                        Endpoint::RemoveMemberRole(guild_id, user_id, role_id)
                    };
                    (
                        endpoint,
                        "/guilds/{guild_id}/members/{user_id}/roles/{role_id}",
                    )
                }
                _ => return Err(unmatched(rest.is_empty())),
            };
            (endpoint, template, major)
        }
        (_, ["channels", channel, rest @ ..]) => {
            let channel_id = id(channel, "channel_id")?;
            let major = channel_id.to_string();
            let (endpoint, template) = match (m, rest) {
                ("GET", []) => (Endpoint::GetChannel(channel_id), "/channels/{channel_id}"),
                ("PATCH", []) => (
                    Endpoint::ModifyChannel(channel_id),
                    "/channels/{channel_id}",
                ),
                ("DELETE", []) => (
                    Endpoint::DeleteChannel(channel_id),
                    "/channels/{channel_id}",
                ),
                ("POST", ["threads"]) => (
                    Endpoint::StartThread(channel_id),
                    "/channels/{channel_id}/threads",
                ),
                ("GET", ["thread-members"]) => (
                    Endpoint::GetThreadMembers(channel_id),
                    "/channels/{channel_id}/thread-members",
                ),
                ("PUT", ["thread-members", user]) => (
                    Endpoint::AddThreadMember(channel_id, id(user, "user_id")?),
                    "/channels/{channel_id}/thread-members/{user_id}",
                ),
                ("DELETE", ["thread-members", user]) => (
                    Endpoint::RemoveThreadMember(channel_id, id(user, "user_id")?),
                    "/channels/{channel_id}/thread-members/{user_id}",
                ),
                ("PUT", ["permissions", target]) => (
                    Endpoint::EditChannelPermission(channel_id, id(target, "overwrite_id")?),
                    "/channels/{channel_id}/permissions/{overwrite_id}",
                ),
                ("DELETE", ["permissions", target]) => (
                    Endpoint::DeleteChannelPermission(channel_id, id(target, "overwrite_id")?),
                    "/channels/{channel_id}/permissions/{overwrite_id}",
                ),
                ("GET", ["messages"]) => (
                    Endpoint::GetMessages(channel_id),
                    "/channels/{channel_id}/messages",
                ),
                ("POST", ["messages"]) => (
                    Endpoint::CreateMessage(channel_id),
                    "/channels/{channel_id}/messages",
                ),
                ("GET", ["messages", "pins"]) => (
                    Endpoint::GetPins(channel_id),
                    "/channels/{channel_id}/messages/pins",
                ),
                ("PUT", ["messages", "pins", message]) => (
                    Endpoint::PinMessage(channel_id, id(message, "message_id")?),
                    "/channels/{channel_id}/messages/pins/{message_id}",
                ),
                ("DELETE", ["messages", "pins", message]) => (
                    Endpoint::UnpinMessage(channel_id, id(message, "message_id")?),
                    "/channels/{channel_id}/messages/pins/{message_id}",
                ),
                ("GET", ["messages", message]) => (
                    Endpoint::GetMessage(channel_id, id(message, "message_id")?),
                    "/channels/{channel_id}/messages/{message_id}",
                ),
                ("PATCH", ["messages", message]) => (
                    Endpoint::EditMessage(channel_id, id(message, "message_id")?),
                    "/channels/{channel_id}/messages/{message_id}",
                ),
                ("DELETE", ["messages", message]) => (
                    Endpoint::DeleteMessage(channel_id, id(message, "message_id")?),
                    "/channels/{channel_id}/messages/{message_id}",
                ),
                ("GET", ["pins"]) => (
                    Endpoint::GetPinsDeprecated(channel_id),
                    "/channels/{channel_id}/pins",
                ),
                ("PUT", ["pins", message]) => (
                    Endpoint::PinMessage(channel_id, id(message, "message_id")?),
                    "/channels/{channel_id}/pins/{message_id}",
                ),
                ("DELETE", ["pins", message]) => (
                    Endpoint::UnpinMessage(channel_id, id(message, "message_id")?),
                    "/channels/{channel_id}/pins/{message_id}",
                ),
                _ => return Err(unmatched(rest.is_empty())),
            };
            (endpoint, template, major)
        }
        ("POST", ["interactions", interaction, token, "callback"]) => {
            let interaction_id = id(interaction, "interaction_id")?;
            return Ok(Route {
                endpoint: Endpoint::InteractionCallback(interaction_id, (*token).to_owned()),
                template: "/interactions/{interaction_id}/{interaction_token}/callback".to_owned(),
                major: interaction_id.to_string(),
                needs_bot_auth: false,
                global_exempt: true,
            });
        }
        (_, ["webhooks", application, token, rest @ ..]) => {
            let application_id = id(application, "webhook_id")?;
            let token = (*token).to_owned();
            let (endpoint, template) = match (m, rest) {
                ("POST", []) => (
                    Endpoint::CreateFollowup(application_id, token.clone()),
                    "/webhooks/{webhook_id}/{webhook_token}",
                ),
                ("GET", ["messages", message]) => (
                    Endpoint::GetWebhookMessage(
                        application_id,
                        token.clone(),
                        webhook_message(message)?,
                    ),
                    "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}",
                ),
                ("PATCH", ["messages", message]) => (
                    Endpoint::EditWebhookMessage(
                        application_id,
                        token.clone(),
                        webhook_message(message)?,
                    ),
                    "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}",
                ),
                ("DELETE", ["messages", message]) => (
                    Endpoint::DeleteWebhookMessage(
                        application_id,
                        token.clone(),
                        webhook_message(message)?,
                    ),
                    "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}",
                ),
                _ => return Err(ApiError::not_found()),
            };
            return Ok(Route {
                endpoint,
                template: template.to_owned(),
                major: format!("{application_id}/{token}"),
                needs_bot_auth: false,
                global_exempt: true,
            });
        }
        _ => return Err(ApiError::not_found()),
    };
    Ok(Route {
        endpoint,
        template: template.to_owned(),
        major,
        needs_bot_auth: true,
        global_exempt: false,
    })
}

fn unmatched(resource_exists: bool) -> ApiError {
    if resource_exists {
        ApiError::method_not_allowed()
    } else {
        ApiError::not_found()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_history_resolves_with_the_channel_as_major_parameter() {
        let route = resolve(&Method::GET, "/channels/123/messages").ok();
        let route = route.as_ref();
        assert_eq!(
            route.map(|r| &r.endpoint),
            Some(&Endpoint::GetMessages(123))
        );
        assert_eq!(
            route.map(|r| r.template.as_str()),
            Some("/channels/{channel_id}/messages")
        );
        assert_eq!(route.map(|r| r.major.as_str()), Some("123"));
    }

    #[test]
    fn the_new_pin_endpoint_is_not_mistaken_for_a_message_id() {
        let route = resolve(&Method::PUT, "/channels/1/messages/pins/2").ok();
        assert_eq!(route.map(|r| r.endpoint), Some(Endpoint::PinMessage(1, 2)));
    }

    #[test]
    fn interaction_callbacks_need_no_bot_token_and_skip_the_global_limit() {
        let route = resolve(&Method::POST, "/interactions/5/tok/callback").ok();
        assert_eq!(route.as_ref().map(|r| r.needs_bot_auth), Some(false));
        assert_eq!(route.map(|r| r.global_exempt), Some(true));
    }

    #[test]
    fn a_non_numeric_id_is_an_invalid_form_body() {
        let error = resolve(&Method::GET, "/channels/abc").err();
        assert_eq!(error.map(|e| e.code), Some(50035));
    }

    #[test]
    fn guild_commands_are_bucketed_per_guild() {
        let route = resolve(&Method::PUT, "/applications/1/guilds/77/commands").ok();
        assert_eq!(
            route.as_ref().map(|r| &r.endpoint),
            Some(&Endpoint::PutGuildCommands(1, 77))
        );
        assert_eq!(route.map(|r| r.major), Some("77".to_owned()));
    }

    #[test]
    fn unknown_paths_are_404() {
        let error = resolve(&Method::GET, "/nothing/here").err();
        assert_eq!(error.map(|e| e.status.as_u16()), Some(404));
    }
}
