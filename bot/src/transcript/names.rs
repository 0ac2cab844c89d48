//! Names for a transcript's people and mentions.
//!
//! One rule for message headings, the header's people and `<@id>` mentions: the display name
//! (server nickname, else global display name, else username), followed by the username in
//! parentheses where the two differ — `Alice (alice_92)`; a user whose display name is the
//! username is just `alice_92`. Headings use the display name the message was sent with; mentions
//! use what [`Names`] learned. Mentioned users who never wrote are named from the mention itself,
//! which lacks the global display name, so [`Names::incomplete_users`] lists them for a member
//! lookup.

use std::collections::HashMap;

use twilight_model::channel::message::Message;
use twilight_model::guild::Member;
use twilight_model::id::Id;
use twilight_model::id::marker::{ChannelMarker, RoleMarker, UserMarker};
use twilight_model::user::User;

use super::model::TranscriptUser;

/// How the transcript calls a user, in headings and mentions alike: the display name, followed by
/// the username in parentheses where the two differ (`Alice (alice_92)`), else the username alone
/// (`alice_92`). Unescaped; the renderer escapes it.
pub fn user_name(display_name: &str, username: Option<&str>) -> String {
    match username {
        Some(username) if username != display_name => format!("{display_name} ({username})"),
        _ => display_name.to_owned(),
    }
}

/// What is known of a user's names.
#[derive(Clone, Debug, PartialEq, Eq)]
struct KnownUser {
    display_name: String,
    username: Option<String>,
    /// Learned from a full user object or a nickname, so the display name is the real one.
    complete: bool,
}

/// Names for the mentions in message text (`<@id>`, `<@&id>`, `<#id>`), and the usernames shown
/// next to display names.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Names {
    users: HashMap<Id<UserMarker>, KnownUser>,
    roles: HashMap<Id<RoleMarker>, String>,
    channels: HashMap<Id<ChannelMarker>, String>,
}

impl Names {
    /// No names known.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records a user's display name, with no username known.
    pub fn insert_user(
        &mut self,
        id: Id<UserMarker>,
        display_name: impl Into<String>,
    ) -> &mut Self {
        self.users.insert(
            id,
            KnownUser {
                display_name: display_name.into(),
                username: None,
                complete: true,
            },
        );
        self
    }

    /// Records a role's name.
    pub fn insert_role(&mut self, id: Id<RoleMarker>, name: impl Into<String>) -> &mut Self {
        self.roles.insert(id, name.into());
        self
    }

    /// Records a channel's name.
    pub fn insert_channel(&mut self, id: Id<ChannelMarker>, name: impl Into<String>) -> &mut Self {
        self.channels.insert(id, name.into());
        self
    }

    /// Learns the names a message carries: its author, the users it mentions and the author of
    /// the message it replies to. Names already known are kept, unless they were incomplete (see
    /// [`Names::incomplete_users`]) and these are not.
    pub fn learn_from_message(&mut self, message: &Message) -> &mut Self {
        let nick = message
            .member
            .as_ref()
            .and_then(|member| member.nick.as_deref());
        self.learn_user(&message.author, nick);
        for mention in &message.mentions {
            // Discord attaches a member partial (with the nickname) to mentioned users only in
            // gateway message events from guild channels, and twilight's mention drops the global
            // display name: without a nickname, the display name is not known yet.
            let nick = mention
                .member
                .as_ref()
                .and_then(|member| member.nick.as_deref());
            self.learn(
                mention.id,
                nick.unwrap_or(&mention.name),
                &mention.name,
                nick.is_some(),
            );
        }
        if let Some(referenced) = &message.referenced_message {
            self.learn_from_message(referenced);
        }
        self
    }

    /// Learns a server member's names (from `GET /guilds/{guild.id}/members/{user.id}`).
    pub fn learn_member(&mut self, member: &Member) -> &mut Self {
        self.learn_user(&member.user, member.nick.as_deref());
        self
    }

    /// Users whose display name is not known for sure: only mentions without a nickname named
    /// them. Look them up as members and [`Names::learn_member`].
    pub fn incomplete_users(&self) -> Vec<Id<UserMarker>> {
        let mut ids: Vec<Id<UserMarker>> = self
            .users
            .iter()
            .filter(|(_, known)| !known.complete)
            .map(|(id, _)| *id)
            .collect();
        ids.sort_unstable();
        ids
    }

    fn learn_user(&mut self, user: &User, nick: Option<&str>) {
        self.learn(
            user.id,
            display_name(nick, user.global_name.as_deref(), &user.name),
            &user.name,
            true,
        );
    }

    fn learn(&mut self, id: Id<UserMarker>, display_name: &str, username: &str, complete: bool) {
        if self
            .users
            .get(&id)
            .is_some_and(|known| known.complete || !complete)
        {
            return;
        }
        self.users.insert(
            id,
            KnownUser {
                display_name: display_name.to_owned(),
                username: Some(username.to_owned()),
                complete,
            },
        );
    }

    /// A user's display name, if known.
    pub fn user(&self, id: Id<UserMarker>) -> Option<&str> {
        self.users.get(&id).map(|known| known.display_name.as_str())
    }

    /// A user's username, if known.
    pub fn username(&self, id: Id<UserMarker>) -> Option<&str> {
        self.users
            .get(&id)
            .and_then(|known| known.username.as_deref())
    }

    /// How a mentioned user is called (see [`user_name`]), if known.
    pub fn mention(&self, id: Id<UserMarker>) -> Option<String> {
        self.users
            .get(&id)
            .map(|known| user_name(&known.display_name, known.username.as_deref()))
    }

    /// How the transcript calls someone shown by their display name (see [`user_name`]).
    pub fn name_of(&self, user: &TranscriptUser) -> String {
        user_name(&user.display_name, self.username(user.id))
    }

    /// A role's name, if known.
    pub fn role(&self, id: Id<RoleMarker>) -> Option<&str> {
        self.roles.get(&id).map(String::as_str)
    }

    /// A channel's name, if known.
    pub fn channel(&self, id: Id<ChannelMarker>) -> Option<&str> {
        self.channels.get(&id).map(String::as_str)
    }
}

/// The name Discord shows: server nickname, else global display name, else username.
pub(super) fn display_name<'a>(
    nick: Option<&'a str>,
    global_name: Option<&'a str>,
    username: &'a str,
) -> &'a str {
    nick.or(global_name).unwrap_or(username)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_username_follows_the_display_name_only_where_they_differ() {
        assert_eq!(user_name("Alice", Some("alice_92")), "Alice (alice_92)");
        assert_eq!(user_name("alice_92", Some("alice_92")), "alice_92");
        assert_eq!(user_name("user 5", None), "user 5");
    }
}
