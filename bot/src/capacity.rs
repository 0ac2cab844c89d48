//! Where a new ticket channel goes: its category's parent, then the overflow parents in order.
//! Discord refuses a 51st channel in a category (400, `CHANNEL_PARENT_MAX_CHANNELS`); the bot
//! then tries the next parent. Each replica remembers for a while which parents answered full,
//! so later opens go straight to one with room instead of drawing a refusal per open (Discord
//! counts refused requests against the bot), and forgets it as soon as a channel leaves that
//! parent.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use twilight_model::id::Id;
use twilight_model::id::marker::ChannelMarker;

/// How long a parent that answered full is tried last (unless a channel leaves it first).
pub(crate) const FULL_FOR: Duration = Duration::from_mins(1);

/// The parents that answered full lately, with when.
#[derive(Debug, Default)]
pub(crate) struct FullParents(Mutex<HashMap<Id<ChannelMarker>, Instant>>);

impl FullParents {
    /// The order to try `candidates` in at `now`: those not known full, in their order, then
    /// those that answered full within [`FULL_FOR`] (still tried: another replica or a person may
    /// have made room).
    pub(crate) fn order(
        &self,
        candidates: &[Id<ChannelMarker>],
        now: Instant,
    ) -> Vec<Id<ChannelMarker>> {
        let full = self.lock();
        let known_full = |parent: &Id<ChannelMarker>| {
            full.get(parent)
                .is_some_and(|at| now.duration_since(*at) < FULL_FOR)
        };
        let (full_ones, with_room): (Vec<_>, Vec<_>) =
            candidates.iter().copied().partition(known_full);
        with_room.into_iter().chain(full_ones).collect()
    }

    /// Records that `parent` answered full at `now`.
    pub(crate) fn mark_full(&self, parent: Id<ChannelMarker>, now: Instant) {
        self.lock().insert(parent, now);
    }

    /// Forgets that `parent` was full: a channel left it.
    pub(crate) fn made_room(&self, parent: Id<ChannelMarker>) {
        self.lock().remove(&parent);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Id<ChannelMarker>, Instant>> {
        match self.0.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(values: &[u64]) -> Vec<Id<ChannelMarker>> {
        values.iter().map(|&value| Id::new(value)).collect()
    }

    #[test]
    fn parents_are_tried_in_order_and_a_full_one_last_until_it_has_room() {
        let full = FullParents::default();
        let start = Instant::now();
        let candidates = ids(&[1, 2, 3]);
        assert_eq!(full.order(&candidates, start), ids(&[1, 2, 3]));
        full.mark_full(Id::new(1), start);
        full.mark_full(Id::new(2), start);
        assert_eq!(full.order(&candidates, start), ids(&[3, 1, 2]));
        full.made_room(Id::new(2));
        assert_eq!(full.order(&candidates, start), ids(&[2, 3, 1]));
        // The memory fades: a parent is tried first again after FULL_FOR.
        assert_eq!(full.order(&candidates, start + FULL_FOR), ids(&[1, 2, 3]));
    }
}
