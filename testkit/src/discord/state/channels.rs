//! Channels: creating, updating and deleting them, and the DM channel with a user.

use super::{Dispatch, State};
use crate::discord::model::{Channel, ChannelKind};
use crate::discord::session::intents;

impl State {
    fn channel_event(&mut self, name: &'static str, channel_id: u64) {
        let Some(channel) = self.channels.get(&channel_id) else {
            return;
        };
        let data = self.channel_json(channel);
        let guild_id = channel.guild_id;
        let intent = if guild_id.is_some() {
            intents::GUILDS
        } else {
            intents::DIRECT_MESSAGES
        };
        // DM channel creation is not dispatched to bots since API v8.
        if guild_id.is_none() {
            return;
        }
        self.dispatch(Dispatch::plain(name, guild_id, data, intent));
    }

    pub(crate) fn insert_channel(&mut self, channel: Channel) -> u64 {
        let id = channel.id;
        self.channels.insert(id, channel);
        self.channel_event("CHANNEL_CREATE", id);
        id
    }

    pub(crate) fn channel_updated(&mut self, channel_id: u64) {
        self.channel_event("CHANNEL_UPDATE", channel_id);
    }

    /// Deletes a channel and its messages; a category's children move to no category.
    pub(crate) fn remove_channel(&mut self, channel_id: u64) -> Option<Channel> {
        let data = self
            .channels
            .get(&channel_id)
            .map(|c| self.channel_json(c))?;
        let channel = self.channels.remove(&channel_id)?;
        if let Some(messages) = self.messages.remove(&channel_id) {
            for id in messages.keys() {
                self.message_channel.remove(id);
            }
        }
        if channel.kind == ChannelKind::Dm {
            self.dm_channels.retain(|_, dm| *dm != channel_id);
        }
        if let Some(guild_id) = channel.guild_id {
            // A deleted thread is announced by its ids alone.
            let (name, data) = if channel.kind.is_thread() {
                let data = serde_json::json!({
                    "id": data["id"],
                    "guild_id": data["guild_id"],
                    "parent_id": data["parent_id"],
                    "type": data["type"],
                });
                ("THREAD_DELETE", data)
            } else {
                ("CHANNEL_DELETE", data)
            };
            self.dispatch(Dispatch::plain(name, Some(guild_id), data, intents::GUILDS));
        }
        // A channel's threads go with it.
        let threads: Vec<u64> = self
            .channels
            .values()
            .filter(|c| c.kind.is_thread() && c.parent_id == Some(channel_id))
            .map(|c| c.id)
            .collect();
        for thread in threads {
            self.channels.remove(&thread);
            if let Some(messages) = self.messages.remove(&thread) {
                for id in messages.keys() {
                    self.message_channel.remove(id);
                }
            }
        }
        let children: Vec<u64> = self
            .channels
            .values()
            .filter(|c| !c.kind.is_thread() && c.parent_id == Some(channel_id))
            .map(|c| c.id)
            .collect();
        for child in children {
            if let Some(c) = self.channels.get_mut(&child) {
                c.parent_id = None;
            }
            self.channel_updated(child);
        }
        Some(channel)
    }

    /// The DM channel with a user, created on first use.
    pub(crate) fn dm_channel(&mut self, user_id: u64) -> u64 {
        if let Some(id) = self.dm_channels.get(&user_id) {
            return *id;
        }
        let id = self.next_id();
        self.channels.insert(
            id,
            Channel {
                id,
                kind: ChannelKind::Dm,
                guild_id: None,
                name: None,
                topic: None,
                parent_id: None,
                position: 0,
                overwrites: Vec::new(),
                recipients: vec![user_id],
                last_message_id: None,
                last_pin_ms: None,
                thread: None,
            },
        );
        self.dm_channels.insert(user_id, id);
        id
    }
}
