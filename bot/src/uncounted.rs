//! Ticket messages the database could not take when they arrived (an outage longer than the
//! pool's acquire timeout), kept in memory until the resume loop stores them.
//!
//! Catching up from channel history would not find them: it reads after the newest stored
//! message, and a message written once the database is back is stored before they are. The
//! gateway already gave us each whole message, so it is stored again as it came, with no REST
//! call. Bounded: past [`MAX_KEPT`] the newest are dropped with a warning, and the close of
//! their ticket still reads its whole history from Discord, since each failure also records a
//! gap (`Context::record_gap`). A crash loses what is kept here, as it loses any event in flight.

use std::collections::VecDeque;
use std::sync::Mutex;

use twilight_model::channel::Message;

/// At most this many messages wait here (some 2 KiB each).
pub(crate) const MAX_KEPT: usize = 10_000;

/// What the gateway said of a message that could not be stored.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Missed {
    /// MESSAGE_CREATE: store and count it.
    Created(Message),
    /// MESSAGE_UPDATE: store the edit (and the message, if it was never stored).
    Edited(Message),
}

/// The messages waiting to be stored again, oldest first.
#[derive(Debug, Default)]
pub(crate) struct Uncounted {
    waiting: Mutex<VecDeque<Missed>>,
}

impl Uncounted {
    /// Keeps `missed` for the next round; `false` when the queue is full and it was dropped.
    pub(crate) fn keep(&self, missed: Missed) -> bool {
        let mut waiting = self.lock();
        if waiting.len() >= MAX_KEPT {
            return false;
        }
        waiting.push_back(missed);
        true
    }

    /// Takes every waiting message, oldest first (those that fail again are kept again).
    pub(crate) fn take_all(&self) -> Vec<Missed> {
        self.lock().drain(..).collect()
    }

    /// How many are waiting.
    pub(crate) fn len(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<Missed>> {
        // A panic while holding the lock leaves a queue that is still a valid queue.
        self.waiting
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(id: u64) -> Message {
        serde_json::from_value(serde_json::json!({
            "id": id.to_string(),
            "channel_id": "20",
            "author": {"id": "30", "username": "member", "discriminator": "0", "avatar": null},
            "content": "my invoice shows the wrong amount",
            "timestamp": "2026-12-06T10:00:00.000000+00:00",
            "edited_timestamp": null,
            "tts": false,
            "mention_everyone": false,
            "mentions": [],
            "mention_roles": [],
            "attachments": [],
            "embeds": [],
            "pinned": false,
            "type": 0
        }))
        .expect("a message as the gateway sends it")
    }

    #[test]
    fn kept_messages_come_back_oldest_first_and_once() {
        let uncounted = Uncounted::default();
        assert!(uncounted.keep(Missed::Created(message(1))));
        assert!(uncounted.keep(Missed::Edited(message(1))));
        assert!(uncounted.keep(Missed::Created(message(2))));
        assert_eq!(uncounted.len(), 3);
        assert_eq!(
            uncounted.take_all(),
            vec![
                Missed::Created(message(1)),
                Missed::Edited(message(1)),
                Missed::Created(message(2)),
            ]
        );
        assert!(uncounted.take_all().is_empty());
    }

    #[test]
    fn past_the_bound_the_newest_are_dropped() {
        let uncounted = Uncounted::default();
        for id in 1..=u64::try_from(MAX_KEPT).unwrap() {
            assert!(uncounted.keep(Missed::Created(message(id))));
        }
        assert!(!uncounted.keep(Missed::Created(message(999_999))));
        let kept = uncounted.take_all();
        assert_eq!(kept.len(), MAX_KEPT);
        assert_eq!(kept[0], Missed::Created(message(1)));
    }
}
