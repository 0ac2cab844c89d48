//! `ticketeer-bot erase`: one user's data goes, as a data erasure request asks; see
//! docs/data.md ("Erasing a user's data").
//!
//! For each closed ticket the user opened, every paste of its transcript is deleted on the
//! PrivateBin server its link names, with its delete token, and forgotten in the row as soon as
//! it is gone; the row itself goes once it holds no paste still to delete. A run that fails part
//! way (PrivateBin down, a wrong token) therefore leaves exactly the pastes still to delete on
//! record, and running the same command again finishes the job; a paste the server no longer has
//! counts as deleted. The user is then removed from other people's closed tickets. Tickets not
//! closed yet are left to the bot, which is still working on them.
//!
//! Planning (which pastes a row holds, what the report says) is pure; the IO is in [`erase`].

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::fmt::Write as _;
use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;
use twilight_model::id::Id;
use twilight_model::id::marker::UserMarker;

use crate::cli::EraseArguments;
use crate::error::{BotError, ErrorChain, Result};
use crate::privatebin::{ClientTimeouts, PasteLocation, PrivateBinClient};
use crate::store::{self, Mention, OwnTicket, TicketState};

/// What a run did (or, dry, would do), for the summary and the exit code.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EraseSummary {
    /// Whether anything was changed (`--execute`).
    pub executed: bool,
    /// Pastes deleted (dry run: to delete).
    pub pastes_deleted: usize,
    /// Pastes the server no longer had: expired, or deleted by an earlier run.
    pub pastes_gone: usize,
    /// Pastes that could not be deleted; their tickets' rows are kept.
    pub pastes_failed: usize,
    /// Ticket rows deleted (dry run: to delete).
    pub rows_deleted: usize,
    /// Ticket rows kept because a paste of theirs is still to delete.
    pub rows_kept: usize,
    /// The user's tickets not closed yet, left alone.
    pub tickets_skipped: usize,
    /// Other people's closed tickets the user was removed from (dry run: to remove from).
    pub others_scrubbed: usize,
    /// Other people's tickets naming the user that are not closed yet, left alone.
    pub others_skipped: usize,
}

/// How a run ended, for the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EraseOutcome {
    /// Everything asked was done (or there was nothing to do), or it was a dry run.
    Complete,
    /// Nothing failed, but tickets not closed yet were left: run again once they are.
    Incomplete,
    /// Something could not be done: run the same command again once it is fixed.
    Failed,
}

impl EraseSummary {
    /// How the run ended.
    pub const fn outcome(&self) -> EraseOutcome {
        if !self.executed {
            EraseOutcome::Complete
        } else if self.pastes_failed > 0 || self.rows_kept > 0 {
            EraseOutcome::Failed
        } else if self.tickets_skipped > 0 || self.others_skipped > 0 {
            EraseOutcome::Incomplete
        } else {
            EraseOutcome::Complete
        }
    }
}

/// One paste a ticket's row records.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Paste {
    id: String,
    url: String,
    delete_token: String,
}

/// Every paste the row records: each part, and the first part's own columns should they name a
/// paste the parts do not (a row written by hand, say), so that no token is dropped unused.
fn pastes_of(ticket: &OwnTicket) -> Vec<Paste> {
    let mut pastes: Vec<Paste> = ticket
        .transcript_parts
        .iter()
        .map(|part| Paste {
            id: part.id.clone(),
            url: part.url.clone(),
            delete_token: part.delete_token.clone(),
        })
        .collect();
    if let (Some(url), Some(token)) = (&ticket.transcript_url, &ticket.transcript_delete_token)
        && !pastes.iter().any(|paste| &paste.delete_token == token)
    {
        let id = PasteLocation::parse(url)
            .map(|location| location.id().to_owned())
            .unwrap_or_default();
        pastes.insert(
            0,
            Paste {
                id,
                url: url.clone(),
                delete_token: token.clone(),
            },
        );
    }
    pastes
}

/// "paste ID on SERVER": never the link itself, which may hold the key that decrypts it.
fn describe(paste: &Paste) -> String {
    match PasteLocation::parse(&paste.url) {
        Ok(location) => format!("paste {} on {}", paste.id, location.base()),
        Err(_) => format!(
            "paste {:?} (its stored link is not a PrivateBin link)",
            paste.id
        ),
    }
}

fn plural(count: usize, one: &str, many: &str) -> String {
    format!("{count} {}", if count == 1 { one } else { many })
}

fn ticket_heading(ticket: &OwnTicket) -> String {
    let mut heading = format!(
        "ticket {} ({}, guild {}",
        ticket.id,
        ticket.state.as_str(),
        ticket.guild_id
    );
    if let Some(bot) = ticket.application_id {
        let _ = write!(heading, ", bot {bot}");
    }
    heading.push(')');
    heading
}

/// What became of one paste.
enum PasteResult {
    Deleted,
    AlreadyGone,
    Failed(String),
}

/// One PrivateBin client per server the links name, made when first needed.
struct Clients {
    timeouts: ClientTimeouts,
    by_server: HashMap<String, PrivateBinClient>,
}

impl Clients {
    async fn delete(&mut self, paste: &Paste) -> PasteResult {
        let location = match PasteLocation::parse(&paste.url) {
            Ok(location) => location,
            Err(error) => return PasteResult::Failed(ErrorChain(&error).to_string()),
        };
        let client = match self.by_server.entry(location.base().to_string()) {
            Entry::Occupied(entry) => entry.into_mut(),
            Entry::Vacant(entry) => match PrivateBinClient::new(entry.key(), self.timeouts) {
                Ok(client) => entry.insert(client),
                Err(error) => return PasteResult::Failed(ErrorChain(&error).to_string()),
            },
        };
        match client.delete(&paste.id, &paste.delete_token).await {
            Ok(()) => PasteResult::Deleted,
            Err(error) if error.is_paste_gone() => PasteResult::AlreadyGone,
            Err(error) => PasteResult::Failed(ErrorChain(&error).to_string()),
        }
    }
}

/// A small pool on `database_url`: erase runs one query at a time.
///
/// # Errors
///
/// [`crate::BotError::ConnectDatabase`] when the URL is unusable or the server cannot be reached.
pub async fn connect(database_url: &str) -> Result<PgPool> {
    PgPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(Duration::from_secs(10))
        .connect(database_url)
        .await
        .map_err(BotError::ConnectDatabase)
}

/// Erases the data `arguments` names, writing the report to `out` as it goes (a ticket at a
/// time, so a long run shows progress and a run cut short shows how far it got). A dry run reads
/// the database and nothing else.
///
/// # Errors
///
/// [`crate::BotError::Store`] when the database fails; what was done until then is in the
/// report, and running again carries on from there.
pub async fn erase(
    pool: &PgPool,
    arguments: &EraseArguments,
    timeouts: ClientTimeouts,
    out: &mut dyn FnMut(&str),
) -> Result<EraseSummary> {
    let user = arguments.user;
    let mut summary = EraseSummary {
        executed: arguments.execute,
        ..EraseSummary::default()
    };
    let whose = whose(arguments);
    out(&if arguments.execute {
        format!("Erasing the data of {whose}.\n")
    } else {
        format!("Dry run, nothing is changed: what erasing the data of {whose} would do.\n")
    });
    let own = store::tickets_opened_by(pool, user, arguments.guild).await?;
    let mentions = store::tickets_mentioning(pool, user, arguments.guild).await?;
    if own.is_empty() && mentions.is_empty() {
        out(&format!(
            "\nNothing to erase: no ticket in the database names {whose}.\n{NOT_TOUCHED}"
        ));
        return Ok(summary);
    }

    out(&format!(
        "\nTickets they opened: {}\n",
        plural(own.len(), "ticket", "tickets")
    ));
    let mut clients = Clients {
        timeouts,
        by_server: HashMap::new(),
    };
    for ticket in &own {
        let text = if arguments.execute {
            erase_ticket(pool, &mut clients, user, ticket, &mut summary).await?
        } else {
            plan_ticket(ticket, &mut summary)
        };
        out(&text);
    }

    let scrubbed = if arguments.execute {
        store::scrub_from_closed_tickets(pool, user, arguments.guild).await?
    } else {
        mentions
            .iter()
            .filter(|mention| mention.state == TicketState::Closed)
            .copied()
            .collect()
    };
    let unfinished: Vec<Mention> = mentions
        .iter()
        .filter(|mention| mention.state != TicketState::Closed)
        .copied()
        .collect();
    summary.others_scrubbed = scrubbed.len();
    summary.others_skipped = unfinished.len();
    out(&others_report(arguments.execute, &scrubbed, &unfinished));
    out(&summary_report(&summary));
    Ok(summary)
}

/// "user 1 in guild 2", "user 1 (in any guild)".
fn whose(arguments: &EraseArguments) -> String {
    match arguments.guild {
        Some(guild) => format!("user {} in guild {guild}", arguments.user),
        None => format!("user {} (in any guild)", arguments.user),
    }
}

/// What erase cannot reach, said on every run so that no one takes "done" for more than it is.
const NOT_TOUCHED: &str = "Not touched:
  - what they wrote in other people's tickets: it is in those transcripts, encrypted on
    PrivateBin, which can only be deleted whole, with their ticket
  - the log channel's posts and the DMs on Discord (a log post names the ticket's opener and
    closer): delete them in Discord
";

const SKIPPED: &str = "skipped: not closed yet, so the bot is still working on it; close it \
                       (or let its close finish), then run erase again";

/// The dry run's account of one ticket.
fn plan_ticket(ticket: &OwnTicket, summary: &mut EraseSummary) -> String {
    let mut text = format!("  {}: ", ticket_heading(ticket));
    if ticket.state != TicketState::Closed {
        summary.tickets_skipped += 1;
        text.push_str(SKIPPED);
        text.push('\n');
        return text;
    }
    text.push_str("would be erased\n");
    for paste in pastes_of(ticket) {
        summary.pastes_deleted += 1;
        let _ = writeln!(text, "    {}: would be deleted", describe(&paste));
    }
    summary.rows_deleted += 1;
    text.push_str("    its row would be deleted (with any messages stored for it)\n");
    text
}

/// Erases one ticket: its pastes, each forgotten once gone, then its row if none is left.
async fn erase_ticket(
    pool: &PgPool,
    clients: &mut Clients,
    user: Id<UserMarker>,
    ticket: &OwnTicket,
    summary: &mut EraseSummary,
) -> Result<String> {
    let mut text = format!("  {}: ", ticket_heading(ticket));
    if ticket.state != TicketState::Closed {
        summary.tickets_skipped += 1;
        text.push_str(SKIPPED);
        text.push('\n');
        return Ok(text);
    }
    let mut lines = String::new();
    let mut failed = 0;
    for paste in pastes_of(ticket) {
        let result = clients.delete(&paste).await;
        let said = match &result {
            PasteResult::Deleted => {
                summary.pastes_deleted += 1;
                "deleted".to_owned()
            }
            PasteResult::AlreadyGone => {
                summary.pastes_gone += 1;
                "already gone (expired, or deleted before)".to_owned()
            }
            PasteResult::Failed(why) => {
                summary.pastes_failed += 1;
                failed += 1;
                format!("FAILED: {why}")
            }
        };
        if !matches!(result, PasteResult::Failed(_)) {
            store::forget_erased_paste(pool, ticket.id, user, &paste.id, &paste.delete_token)
                .await?;
        }
        let _ = writeln!(lines, "    {}: {said}", describe(&paste));
    }
    let deleted = failed == 0 && store::delete_erased_ticket(pool, ticket.id, user).await?;
    if deleted {
        summary.rows_deleted += 1;
        text.push_str("erased\n");
        text.push_str(&lines);
        text.push_str("    its row is deleted (with any messages stored for it)\n");
    } else {
        summary.rows_kept += 1;
        text.push_str("NOT erased\n");
        text.push_str(&lines);
        text.push_str(
            "    its row is kept: it holds the delete tokens still needed; fix what failed and \
             run the same command again\n",
        );
    }
    Ok(text)
}

/// What happened to the user's traces in other people's tickets.
fn others_report(executed: bool, scrubbed: &[Mention], unfinished: &[Mention]) -> String {
    let mut text = String::from("\nIn other people's tickets:\n");
    if scrubbed.is_empty() && unfinished.is_empty() {
        text.push_str("  they are named in none\n");
        return text;
    }
    let (removed, cleared) = if executed {
        ("removed from", "cleared as")
    } else {
        ("would be removed from", "would be cleared as")
    };
    let added: Vec<Mention> = scrubbed.iter().filter(|m| m.added).copied().collect();
    let closed: Vec<Mention> = scrubbed.iter().filter(|m| m.closed_it).copied().collect();
    for (what, tickets, why) in [
        (format!("{removed} the added users of"), &added[..], ""),
        (format!("{cleared} the closer of"), &closed[..], ""),
        (
            "skipped".to_owned(),
            unfinished,
            " (not closed yet: run erase again once they are)",
        ),
    ] {
        if !tickets.is_empty() {
            let numbers: Vec<String> = tickets.iter().map(|m| m.ticket_id.to_string()).collect();
            let _ = writeln!(
                text,
                "  {what} {}: {}{why}",
                plural(tickets.len(), "ticket", "tickets"),
                numbers.join(", ")
            );
        }
    }
    text
}

fn summary_report(summary: &EraseSummary) -> String {
    let (deleted, scrubbed) = if summary.executed {
        ("deleted", "scrubbed")
    } else {
        ("to delete", "to scrub")
    };
    let mut text = String::from("\nSummary");
    if !summary.executed {
        text.push_str(" (dry run: nothing was changed; add --execute to do it)");
    }
    let _ = write!(
        text,
        ": {} {deleted}",
        plural(summary.pastes_deleted, "paste", "pastes")
    );
    if summary.executed {
        let _ = write!(
            text,
            ", {} already gone, {} failed",
            summary.pastes_gone, summary.pastes_failed
        );
    }
    let rows = plural(summary.rows_deleted, "ticket row", "ticket rows");
    let _ = write!(text, "; {rows} {deleted}");
    if summary.rows_kept > 0 {
        let _ = write!(text, ", {} kept", summary.rows_kept);
    }
    let others = plural(summary.others_scrubbed, "ticket", "tickets");
    let skipped = summary.tickets_skipped + summary.others_skipped;
    let _ = writeln!(
        text,
        "; {others} of other people {scrubbed}; {} skipped (not closed yet).",
        plural(skipped, "ticket", "tickets"),
    );
    text.push_str(NOT_TOUCHED);
    match summary.outcome() {
        EraseOutcome::Complete if summary.executed => text.push_str("Done.\n"),
        EraseOutcome::Complete => {}
        EraseOutcome::Incomplete => text.push_str(
            "Not complete: the skipped tickets still hold their data; run the same command again \
             once they are closed.\n",
        ),
        EraseOutcome::Failed => text.push_str(
            "Not complete: something failed (see above); fix it and run the same command again: \
             it carries on where this run stopped.\n",
        ),
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::TranscriptPart;

    fn part(id: &str) -> TranscriptPart {
        serde_json::from_value(serde_json::json!({
            "id": id,
            "url": format!("https://paste.example/?{id}#key"),
            "delete_token": format!("token-{id}"),
        }))
        .unwrap()
    }

    fn closed(parts: Vec<TranscriptPart>) -> OwnTicket {
        OwnTicket {
            id: 7,
            application_id: Some(Id::new(5)),
            guild_id: Id::new(3),
            state: TicketState::Closed,
            transcript_url: parts.first().map(|part| part.url.clone()),
            transcript_delete_token: parts.first().map(|part| part.delete_token.clone()),
            transcript_parts: parts,
        }
    }

    #[test]
    fn every_part_is_a_paste_and_the_first_parts_columns_add_none() {
        let ticket = closed(vec![part("aaaa"), part("bbbb")]);
        let ids: Vec<String> = pastes_of(&ticket).into_iter().map(|p| p.id).collect();
        assert_eq!(ids, ["aaaa", "bbbb"]);
        assert!(pastes_of(&closed(Vec::new())).is_empty());
    }

    #[test]
    fn a_token_only_in_the_first_parts_columns_is_not_dropped() {
        let mut ticket = closed(vec![part("bbbb")]);
        ticket.transcript_url = Some("https://paste.example/?aaaa".to_owned());
        ticket.transcript_delete_token = Some("token-aaaa".to_owned());
        let pastes = pastes_of(&ticket);
        assert_eq!(pastes.len(), 2);
        assert_eq!(pastes[0].id, "aaaa");
        assert_eq!(pastes[0].delete_token, "token-aaaa");
    }

    #[test]
    fn a_paste_is_described_by_its_server_and_id_never_its_key() {
        let paste = &pastes_of(&closed(vec![part("aaaa")]))[0];
        let text = describe(paste);
        assert_eq!(text, "paste aaaa on https://paste.example/");
        assert!(!text.contains("key"));
    }

    #[test]
    fn a_dry_run_plans_closed_tickets_and_skips_the_others() {
        let mut summary = EraseSummary::default();
        let text = plan_ticket(&closed(vec![part("aaaa")]), &mut summary);
        assert!(
            text.contains("ticket 7 (closed, guild 3, bot 5): would be erased"),
            "{text}"
        );
        assert!(text.contains("paste aaaa on https://paste.example/: would be deleted"));
        let mut open = closed(Vec::new());
        open.state = TicketState::Open;
        let text = plan_ticket(&open, &mut summary);
        assert!(text.contains("skipped: not closed yet"), "{text}");
        assert_eq!(
            (
                summary.pastes_deleted,
                summary.rows_deleted,
                summary.tickets_skipped
            ),
            (1, 1, 1)
        );
        assert_eq!(
            summary.outcome(),
            EraseOutcome::Complete,
            "a dry run fails nothing"
        );
    }

    #[test]
    fn the_outcome_is_failed_before_incomplete_before_complete() {
        let done = EraseSummary {
            executed: true,
            pastes_deleted: 1,
            rows_deleted: 1,
            ..EraseSummary::default()
        };
        assert_eq!(done.outcome(), EraseOutcome::Complete);
        let skipped = EraseSummary {
            others_skipped: 1,
            ..done
        };
        assert_eq!(skipped.outcome(), EraseOutcome::Incomplete);
        let failed = EraseSummary {
            pastes_failed: 1,
            rows_kept: 1,
            ..skipped
        };
        assert_eq!(failed.outcome(), EraseOutcome::Failed);
    }

    #[test]
    fn others_report_names_the_tickets_and_what_cannot_be_edited() {
        let mention = |ticket_id, added, closed_it| Mention {
            ticket_id,
            state: TicketState::Closed,
            added,
            closed_it,
            messages: 0,
        };
        let text = others_report(
            true,
            &[mention(4, true, false), mention(9, true, true)],
            &[],
        );
        assert!(
            text.contains("removed from the added users of 2 tickets: 4, 9"),
            "{text}"
        );
        assert!(
            text.contains("cleared as the closer of 1 ticket: 9"),
            "{text}"
        );
        assert!(!text.contains("skipped"), "{text}");
    }
}
