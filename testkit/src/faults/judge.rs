//! The end state a fault trial is held to, as pure rules over what the trial read back from the
//! database and the emulator, so each rule can be tried on hand-made inputs.

use std::collections::{HashMap, HashSet};

/// What one user wanted by the end of a trial.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Wanted {
    pub(crate) user: u64,
    /// The ticket the user ended up talking in: `None` when no open ever gave them one.
    pub(crate) ticket: Option<u64>,
    /// Whether the user closed it.
    pub(crate) closed: bool,
    /// How many messages the user wrote into it.
    pub(crate) written: usize,
}

/// A ticket row as the database holds it at the end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Row {
    pub(crate) id: u64,
    pub(crate) user: u64,
    pub(crate) state: String,
    pub(crate) channel: Option<u64>,
    pub(crate) transcript: Option<String>,
    pub(crate) message_count: i64,
    /// Messages of the ticket's creator stored for it.
    pub(crate) stored: i64,
}

/// A channel under one of the ticket categories' parents, as the emulator shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TicketChannel {
    pub(crate) id: u64,
    /// The ticket whose Close button the bot's pinned message carries, if one is pinned.
    pub(crate) pinned_close: Option<u64>,
}

/// Everything the rules look at.
#[derive(Debug, Clone, Default)]
pub(crate) struct Seen {
    pub(crate) rows: Vec<Row>,
    /// The bot's log posts per ticket, over every log channel.
    pub(crate) log_posts: HashMap<u64, usize>,
    pub(crate) channels: Vec<TicketChannel>,
}

/// States a close or an open passes through: a row left in one after the restart settled means
/// a crash stranded it.
const UNFINISHED: [&str; 6] = [
    "opening",
    "closing",
    "transcript_stored",
    "logged",
    "notified",
    "channel_deleted",
];

/// Every way the end state breaks the promise that a crash loses nothing, one line each; empty
/// when it keeps it.
pub(crate) fn problems(wanted: &[Wanted], seen: &Seen) -> Vec<String> {
    let mut problems = Vec::new();
    let rows: HashMap<u64, &Row> = seen.rows.iter().map(|row| (row.id, row)).collect();
    let channels: HashMap<u64, &TicketChannel> = seen
        .channels
        .iter()
        .map(|channel| (channel.id, channel))
        .collect();

    let mut open_per_user: HashMap<u64, usize> = HashMap::new();
    for row in &seen.rows {
        if UNFINISHED.contains(&row.state.as_str()) {
            problems.push(format!("ticket {} is left {}", row.id, row.state));
        }
        if row.state == "open" {
            *open_per_user.entry(row.user).or_default() += 1;
        }
    }
    let mut doubled: Vec<(u64, usize)> = open_per_user
        .into_iter()
        .filter(|(_, open)| *open > 1)
        .collect();
    doubled.sort_unstable();
    for (user, open) in doubled {
        problems.push(format!("user {user} holds {open} open tickets"));
    }

    let mut wanted_tickets = HashSet::new();
    for user in wanted {
        let Some(ticket) = user.ticket else {
            problems.push(format!("user {} never got a ticket", user.user));
            continue;
        };
        wanted_tickets.insert(ticket);
        let Some(row) = rows.get(&ticket) else {
            problems.push(format!("ticket {ticket} of user {} has no row", user.user));
            continue;
        };
        if user.closed {
            problems.extend(closed_problems(user, row, seen, &channels));
        } else {
            problems.extend(open_problems(user, row, &channels));
        }
    }

    for row in &seen.rows {
        if !wanted_tickets.contains(&row.id) {
            problems.push(format!(
                "ticket {} of user {} ({}) is not one the users talked in",
                row.id, row.user, row.state
            ));
        }
    }
    let closed_tickets: HashSet<u64> = wanted
        .iter()
        .filter(|user| user.closed)
        .filter_map(|user| user.ticket)
        .collect();
    let mut stray_posts: Vec<u64> = seen
        .log_posts
        .keys()
        .copied()
        .filter(|ticket| !closed_tickets.contains(ticket))
        .collect();
    stray_posts.sort_unstable();
    for ticket in stray_posts {
        problems.push(format!("ticket {ticket} has a log post but was not closed"));
    }
    let owned: HashSet<u64> = seen
        .rows
        .iter()
        .filter(|row| row.state == "open")
        .filter_map(|row| row.channel)
        .collect();
    for channel in &seen.channels {
        if !owned.contains(&channel.id) {
            problems.push(format!("channel {} belongs to no open ticket", channel.id));
        }
    }
    problems
}

/// A ticket its user closed: closed, with a transcript counting what they wrote, logged once,
/// its channel gone.
fn closed_problems(
    user: &Wanted,
    row: &Row,
    seen: &Seen,
    channels: &HashMap<u64, &TicketChannel>,
) -> Vec<String> {
    let ticket = row.id;
    let mut problems = Vec::new();
    if row.state != "closed" {
        problems.push(format!(
            "ticket {ticket} was closed by its user but is {}",
            row.state
        ));
    }
    if row.transcript.is_none() {
        problems.push(format!("ticket {ticket} has no transcript"));
    }
    let written = i64::try_from(user.written).unwrap_or(i64::MAX);
    if row.message_count < written {
        problems.push(format!(
            "ticket {ticket} counts {} messages of the {written} its user wrote",
            row.message_count
        ));
    }
    let posts = seen.log_posts.get(&ticket).copied().unwrap_or(0);
    if posts != 1 {
        problems.push(format!("ticket {ticket} has {posts} log posts"));
    }
    if let Some(channel) = row.channel
        && channels.contains_key(&channel)
    {
        problems.push(format!(
            "ticket {ticket} is closed but its channel {channel} is still there"
        ));
    }
    problems
}

/// A ticket its user kept: open, its channel there with the pinned welcome carrying its Close
/// button, every message its user wrote stored.
fn open_problems(user: &Wanted, row: &Row, channels: &HashMap<u64, &TicketChannel>) -> Vec<String> {
    let ticket = row.id;
    let mut problems = Vec::new();
    if row.state != "open" {
        problems.push(format!(
            "ticket {ticket} was kept open by its user but is {}",
            row.state
        ));
    }
    match row.channel.map(|channel| (channel, channels.get(&channel))) {
        None => problems.push(format!("ticket {ticket} has no channel")),
        Some((channel, None)) => {
            problems.push(format!("ticket {ticket}'s channel {channel} is gone"));
        }
        Some((channel, Some(seen))) if seen.pinned_close != Some(ticket) => problems.push(format!(
            "ticket {ticket}'s channel {channel} has no pinned welcome with its Close button"
        )),
        Some(_) => {}
    }
    let written = i64::try_from(user.written).unwrap_or(i64::MAX);
    if row.stored != written {
        problems.push(format!(
            "ticket {ticket} holds {} of the {written} messages its user wrote",
            row.stored
        ));
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open_row(id: u64, user: u64, channel: u64, stored: i64) -> Row {
        Row {
            id,
            user,
            state: "open".to_owned(),
            channel: Some(channel),
            transcript: None,
            message_count: stored,
            stored,
        }
    }

    fn closed_row(id: u64, user: u64, channel: u64, count: i64) -> Row {
        Row {
            state: "closed".to_owned(),
            transcript: Some("https://paste/?x#k".to_owned()),
            message_count: count,
            ..open_row(id, user, channel, count)
        }
    }

    /// User 1 kept ticket 10 (channel 100), user 2 closed ticket 20 (channel 200); two messages
    /// each.
    fn consistent() -> (Vec<Wanted>, Seen) {
        let wanted = vec![
            Wanted {
                user: 1,
                ticket: Some(10),
                closed: false,
                written: 2,
            },
            Wanted {
                user: 2,
                ticket: Some(20),
                closed: true,
                written: 2,
            },
        ];
        let seen = Seen {
            rows: vec![open_row(10, 1, 100, 2), closed_row(20, 2, 200, 3)],
            log_posts: HashMap::from([(20, 1)]),
            channels: vec![TicketChannel {
                id: 100,
                pinned_close: Some(10),
            }],
        };
        (wanted, seen)
    }

    #[test]
    fn a_consistent_end_state_has_no_problems() {
        let (wanted, seen) = consistent();
        assert_eq!(problems(&wanted, &seen), Vec::<String>::new());
    }

    #[test]
    fn rows_stranded_mid_open_or_mid_close_are_named() {
        let (wanted, mut seen) = consistent();
        seen.rows[1].state = "logged".to_owned();
        seen.rows.push(Row {
            state: "opening".to_owned(),
            channel: None,
            ..open_row(30, 3, 0, 0)
        });
        let found = problems(&wanted, &seen);
        assert!(
            found.contains(&"ticket 20 is left logged".to_owned()),
            "{found:?}"
        );
        assert!(
            found.contains(&"ticket 30 is left opening".to_owned()),
            "{found:?}"
        );
        assert!(
            found.contains(&"ticket 20 was closed by its user but is logged".to_owned()),
            "{found:?}"
        );
    }

    #[test]
    fn a_second_open_ticket_of_one_user_is_named() {
        let (wanted, mut seen) = consistent();
        seen.rows.push(open_row(11, 1, 101, 0));
        seen.channels.push(TicketChannel {
            id: 101,
            pinned_close: Some(11),
        });
        let found = problems(&wanted, &seen);
        assert!(
            found.contains(&"user 1 holds 2 open tickets".to_owned()),
            "{found:?}"
        );
        assert!(
            found
                .iter()
                .any(|problem| problem.starts_with("ticket 11 of user 1")),
            "{found:?}"
        );
    }

    #[test]
    fn a_close_that_lost_its_log_post_or_kept_its_channel_is_named() {
        let (wanted, mut seen) = consistent();
        seen.log_posts.insert(20, 2);
        seen.channels.push(TicketChannel {
            id: 200,
            pinned_close: Some(20),
        });
        let found = problems(&wanted, &seen);
        assert!(
            found.contains(&"ticket 20 has 2 log posts".to_owned()),
            "{found:?}"
        );
        assert!(
            found.contains(&"ticket 20 is closed but its channel 200 is still there".to_owned()),
            "{found:?}"
        );
        assert!(
            found.contains(&"channel 200 belongs to no open ticket".to_owned()),
            "{found:?}"
        );
        seen.log_posts.remove(&20);
        assert!(problems(&wanted, &seen).contains(&"ticket 20 has 0 log posts".to_owned()));
    }

    #[test]
    fn lost_messages_are_named_for_open_and_closed_tickets() {
        let (wanted, mut seen) = consistent();
        seen.rows[0].stored = 1;
        seen.rows[1].message_count = 1;
        let found = problems(&wanted, &seen);
        assert!(
            found.contains(&"ticket 10 holds 1 of the 2 messages its user wrote".to_owned()),
            "{found:?}"
        );
        assert!(
            found.contains(&"ticket 20 counts 1 messages of the 2 its user wrote".to_owned()),
            "{found:?}"
        );
    }

    #[test]
    fn an_open_ticket_without_its_pinned_welcome_or_channel_is_named() {
        let (wanted, mut seen) = consistent();
        seen.channels[0].pinned_close = None;
        let found = problems(&wanted, &seen);
        assert!(
            found.contains(
                &"ticket 10's channel 100 has no pinned welcome with its Close button".to_owned()
            ),
            "{found:?}"
        );
        seen.channels.clear();
        let found = problems(&wanted, &seen);
        assert!(
            found.contains(&"ticket 10's channel 100 is gone".to_owned()),
            "{found:?}"
        );
    }

    #[test]
    fn a_user_without_a_ticket_and_a_stray_log_post_are_named() {
        let (mut wanted, mut seen) = consistent();
        wanted[0].ticket = None;
        seen.log_posts.insert(10, 1);
        let found = problems(&wanted, &seen);
        assert!(
            found.contains(&"user 1 never got a ticket".to_owned()),
            "{found:?}"
        );
        assert!(
            found.contains(&"ticket 10 has a log post but was not closed".to_owned()),
            "{found:?}"
        );
    }
}
