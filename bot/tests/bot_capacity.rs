//! Capacity end to end, against the Discord emulator and Postgres: a category whose parent holds
//! Discord's 50 channels opens its tickets in the overflow parents, in order, drawing one
//! refusal rather than one per open, and back in the parent once it has room; a clear answer
//! when every parent is full, and when the server holds Discord's 500 channels.

mod support;

use support::{Harness, SUPPORT, channel_link, eventually};
use ticketeer_bot::store;
use ticketeer_testkit::discord::ChannelSpec;

/// Fills category `parent` of the harness's guild with text channels up to Discord's 50.
fn fill(harness: &Harness, parent: u64) -> Vec<u64> {
    let present = harness
        .control
        .channels(harness.world.guild)
        .iter()
        .filter(|channel| channel.parent_id == Some(parent))
        .count();
    (present..50)
        .map(|index| {
            harness
                .control
                .create_channel(
                    harness.world.guild,
                    ChannelSpec::text(&format!("filler-{parent}-{index}")).under(parent),
                )
                .expect("a filler channel")
        })
        .collect()
}

/// A bot whose `support` category overflows into `overflow` (new channel categories).
async fn bot_overflowing_into(count: usize) -> (Harness, Vec<u64>) {
    let harness = Harness::start().await;
    let overflow: Vec<u64> = (0..count)
        .map(|index| {
            harness
                .control
                .create_channel(
                    harness.world.guild,
                    ChannelSpec::category(&format!("Tickets {}", index + 2)),
                )
                .expect("an overflow category")
        })
        .collect();
    let ids: Vec<String> = overflow.iter().map(|id| format!("\"{id}\"")).collect();
    let parent_line = format!("    parentChannelId: \"{}\"\n", harness.world.parent);
    let yaml = harness.config_yaml(&[(SUPPORT, "Need help?")]);
    assert!(yaml.contains(&parent_line), "{yaml}");
    harness.write_config(&yaml.replace(
        &parent_line,
        &format!(
            "{parent_line}    overflowParentChannelIds: [{}]\n",
            ids.join(", ")
        ),
    ));
    let wanted = overflow.len();
    eventually("the bot to load the overflow parents", || {
        let loaded = harness.ctx.config().categories[SUPPORT]
            .overflow_parent_ids
            .len()
            == wanted;
        async move { loaded.then_some(()) }
    })
    .await;
    (harness, overflow)
}

fn parent_of(harness: &Harness, channel: u64) -> Option<u64> {
    harness
        .control
        .channel(channel)
        .and_then(|channel| channel.parent_id)
}

/// How many creates Discord refused because the category was full.
fn full_refusals(harness: &Harness) -> usize {
    harness
        .control
        .request_log()
        .iter()
        .filter(|request| {
            request.route == "/guilds/{guild_id}/channels"
                && request.method == "POST"
                && request.status == 400
        })
        .count()
}

#[tokio::test]
async fn the_51st_ticket_opens_in_the_overflow_parent_and_the_parent_is_used_again_once_it_has_room()
 {
    let (harness, overflow) = bot_overflowing_into(2).await;
    let fillers = fill(&harness, harness.world.parent);
    let world = &harness.world;

    let first = harness.open_ticket(world.alice).await;
    assert_eq!(parent_of(&harness, first), Some(overflow[0]));
    let second = harness.open_ticket(world.bob).await;
    assert_eq!(parent_of(&harness, second), Some(overflow[0]));
    assert_eq!(full_refusals(&harness), 1, "the full parent is remembered");

    // A channel leaves the parent: the next ticket goes there again.
    harness.control.delete_channel(fillers[0]).expect("deleted");
    let ctx = harness.ctx.clone();
    eventually("the bot to handle the channel's deletion", || {
        let handled = ctx.metrics.events_handled("CHANNEL_DELETE") > 0;
        async move { handled.then_some(()) }
    })
    .await;
    let third = harness.open_ticket(world.carol).await;
    assert_eq!(parent_of(&harness, third), Some(world.parent));
}

#[tokio::test]
async fn with_every_parent_full_the_clicker_is_told_and_nothing_is_left_opening() {
    let (harness, overflow) = bot_overflowing_into(1).await;
    fill(&harness, harness.world.parent);
    fill(&harness, overflow[0]);
    let outcome = harness.click_open(harness.world.alice).await;
    let answer = harness.answer(&outcome).await;
    assert!(answer.contains("ticket category is full"), "{answer}");
    assert_eq!(channel_link(&answer), None);
    let open = store::open_ticket_counts(&harness.pool, harness.ctx.application_id)
        .await
        .expect("counts");
    assert!(open.iter().all(|(_, count)| *count == 0), "{open:?}");
}

#[tokio::test]
async fn a_server_at_500_channels_is_named_as_the_reason() {
    let harness = Harness::start().await;
    let guild = harness.world.guild;
    let present = harness.control.channels(guild).len();
    for index in present..500 {
        harness
            .control
            .create_channel(guild, ChannelSpec::text(&format!("busy-{index}")))
            .expect("a channel");
    }
    let outcome = harness.click_open(harness.world.alice).await;
    let answer = harness.answer(&outcome).await;
    assert!(
        answer.contains("reached Discord's limit of 500 channels"),
        "{answer}"
    );
    let open = store::open_ticket_counts(&harness.pool, harness.ctx.application_id)
        .await
        .expect("counts");
    assert!(open.iter().all(|(_, count)| *count == 0), "{open:?}");
}
