//! Private threads: starting one in a text channel, its members, archiving, and the THREAD_*
//! events. A thread has no overwrites of its own: what a member may do in it is what they may
//! do in its parent channel, seen only by its members and by those who may manage threads
//! there (see [`State::permissions`]).
//!
//! See [Discord Docs/Threads](https://discord.com/developers/docs/topics/threads).

use serde_json::{Value, json};

use super::{Dispatch, State};
use crate::discord::model::{Channel, ChannelKind, Thread};
use crate::discord::session::intents;
use crate::discord::snowflake::{id_str, iso8601, now_ms};

/// What starting a thread takes, validated.
pub(crate) struct NewThread {
    pub(crate) parent: Channel,
    pub(crate) owner_id: u64,
    pub(crate) name: String,
    pub(crate) invitable: bool,
    pub(crate) auto_archive_minutes: u64,
}

impl State {
    /// Starts a private thread; its creator is its first member (THREAD_CREATE).
    pub(crate) fn start_thread(&mut self, new: NewThread) -> u64 {
        let id = self.next_id();
        let now = now_ms();
        self.channels.insert(
            id,
            Channel {
                id,
                kind: ChannelKind::PrivateThread,
                guild_id: new.parent.guild_id,
                name: Some(new.name),
                topic: None,
                parent_id: Some(new.parent.id),
                position: 0,
                overwrites: Vec::new(),
                recipients: Vec::new(),
                last_message_id: None,
                last_pin_ms: None,
                thread: Some(Thread {
                    owner_id: new.owner_id,
                    members: vec![new.owner_id],
                    archived: false,
                    locked: false,
                    invitable: new.invitable,
                    auto_archive_minutes: new.auto_archive_minutes,
                    created_ms: now,
                    archive_changed_ms: now,
                }),
            },
        );
        if let Some(thread) = self.channels.get(&id) {
            let mut data = self.channel_json(thread);
            data["newly_created"] = json!(true);
            self.dispatch(Dispatch::plain(
                "THREAD_CREATE",
                thread.guild_id,
                data,
                intents::GUILDS,
            ));
        }
        id
    }

    /// A thread's name, archive or lock changed (THREAD_UPDATE).
    pub(crate) fn thread_updated(&mut self, thread_id: u64) {
        if let Some(thread) = self.channels.get(&thread_id) {
            let data = self.channel_json(thread);
            let guild_id = thread.guild_id;
            self.dispatch(Dispatch::plain(
                "THREAD_UPDATE",
                guild_id,
                data,
                intents::GUILDS,
            ));
        }
    }

    /// Archives or unarchives a thread (THREAD_UPDATE when it changes).
    pub(crate) fn set_thread_archived(&mut self, thread_id: u64, archived: bool) {
        let changed = self
            .channels
            .get_mut(&thread_id)
            .and_then(|channel| channel.thread.as_mut())
            .filter(|thread| thread.archived != archived)
            .map(|thread| {
                thread.archived = archived;
                thread.archive_changed_ms = now_ms();
            })
            .is_some();
        if changed {
            self.thread_updated(thread_id);
        }
    }

    /// Adds or removes a thread member (THREAD_MEMBERS_UPDATE, for sessions with the
    /// GUILD_MEMBERS intent); `false` when nothing changed.
    pub(crate) fn set_thread_member(&mut self, thread_id: u64, user_id: u64, member: bool) -> bool {
        let Some(channel) = self.channels.get_mut(&thread_id) else {
            return false;
        };
        let guild_id = channel.guild_id;
        let Some(thread) = channel.thread.as_mut() else {
            return false;
        };
        let present = thread.members.contains(&user_id);
        if present == member {
            return false;
        }
        if member {
            thread.members.push(user_id);
        } else {
            thread.members.retain(|id| *id != user_id);
        }
        let count = thread.members.len();
        let mut data = json!({
            "id": id_str(thread_id),
            "guild_id": guild_id.map(id_str),
            "member_count": count.min(50),
        });
        if member {
            data["added_members"] = json!([self.thread_member_json(thread_id, user_id)]);
        } else {
            data["removed_member_ids"] = json!([id_str(user_id)]);
        }
        self.dispatch(Dispatch::plain(
            "THREAD_MEMBERS_UPDATE",
            guild_id,
            data,
            intents::GUILD_MEMBERS,
        ));
        true
    }

    /// A thread member object.
    pub(crate) fn thread_member_json(&self, thread_id: u64, user_id: u64) -> Value {
        let joined = self
            .channels
            .get(&thread_id)
            .and_then(|channel| channel.thread.as_ref())
            .map_or(0, |thread| thread.created_ms);
        json!({
            "id": id_str(thread_id),
            "user_id": id_str(user_id),
            "join_timestamp": iso8601(joined),
            "flags": 0,
        })
    }

    /// The thread-only fields of a thread's JSON.
    pub(crate) fn thread_json_fields(&self, channel: &Channel, value: &mut Value) {
        let Some(thread) = &channel.thread else {
            return;
        };
        value["owner_id"] = id_str(thread.owner_id);
        value["member_count"] = json!(thread.members.len().min(50));
        let messages = self
            .messages
            .get(&channel.id)
            .map_or(0, std::collections::BTreeMap::len);
        value["message_count"] = json!(messages);
        value["total_message_sent"] = json!(messages);
        value["thread_metadata"] = json!({
            "archived": thread.archived,
            "auto_archive_duration": thread.auto_archive_minutes,
            "archive_timestamp": iso8601(thread.archive_changed_ms),
            "locked": thread.locked,
            "invitable": thread.invitable,
            "create_timestamp": iso8601(thread.created_ms),
        });
    }

    /// The thread ids of a guild that are not archived.
    pub(crate) fn active_threads(&self, guild_id: u64) -> Vec<u64> {
        self.channels
            .values()
            .filter(|channel| channel.guild_id == Some(guild_id))
            .filter(|channel| channel.thread.as_ref().is_some_and(|t| !t.archived))
            .map(|channel| channel.id)
            .collect()
    }
}
