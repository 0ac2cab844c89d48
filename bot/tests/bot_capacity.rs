//! Capacity end to end, against the Discord emulator and Postgres: a category whose parent holds
//! Discord's 50 channels opens its tickets in the overflow parents, in order, drawing one
//! refusal rather than one per open, and back in the parent once it has room; a clear answer
//! when every parent is full, and when the server holds Discord's 500 channels; and parents the
//! bot creates itself (`createOverflowParents`), one per need across replicas, restarts and
//! crashes.

mod support;

use support::{Harness, SUPPORT, channel_link, eventually};
use ticketeer_bot::store;
use ticketeer_testkit::discord::permissions::{MANAGE_CHANNELS, VIEW_CHANNEL};
use ticketeer_testkit::discord::{Channel, ChannelKind, ChannelSpec, Overwrite};

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

/// A bot whose `support` category may create `max` more parent categories once its parent is
/// full; the parent keeps its tickets from @everyone and shows them to staff and the bot, as set
/// up by hand.
async fn bot_creating_parents(max: u16) -> Harness {
    let harness = Harness::start().await;
    let world = &harness.world;
    harness
        .control
        .set_channel_overwrites(
            world.parent,
            vec![
                Overwrite::role(world.guild, 0, VIEW_CHANNEL),
                Overwrite::role(world.staff_role, VIEW_CHANNEL, 0),
                Overwrite::member(
                    harness.control.bot_user_id(),
                    VIEW_CHANNEL | MANAGE_CHANNELS,
                    0,
                ),
            ],
        )
        .expect("the parent's overwrites");
    let parent_line = format!("    parentChannelId: \"{}\"\n", world.parent);
    let yaml = harness.config_yaml(&[(SUPPORT, "Need help?")]);
    harness.write_config(&yaml.replace(
        &parent_line,
        &format!("{parent_line}    createOverflowParents: {max}\n"),
    ));
    eventually("the bot to load createOverflowParents", || {
        let loaded = harness.ctx.config().categories[SUPPORT].create_overflow_parents == max;
        async move { loaded.then_some(()) }
    })
    .await;
    harness
}

/// The guild's channel categories with this name.
fn categories_named(harness: &Harness, name: &str) -> Vec<Channel> {
    harness
        .control
        .channels(harness.world.guild)
        .into_iter()
        .filter(|channel| {
            channel.kind == ChannelKind::Category && channel.name.as_deref() == Some(name)
        })
        .collect()
}

async fn created_parents(harness: &Harness) -> Vec<u64> {
    store::created_parents(
        &harness.pool,
        harness.ctx.application_id,
        twilight_model::id::Id::new(harness.world.guild),
        SUPPORT,
    )
    .await
    .expect("created parents")
    .iter()
    .map(|parent| parent.channel_id.get())
    .collect()
}

#[tokio::test]
async fn with_its_parent_full_a_category_creates_numbered_parents_up_to_its_maximum() {
    let harness = bot_creating_parents(2).await;
    let world = &harness.world;
    fill(&harness, world.parent);

    let first = harness.open_ticket(world.alice).await;
    let created = categories_named(&harness, "Tickets 2");
    assert_eq!(created.len(), 1, "one category is created");
    let second_parent = created[0].id;
    assert_eq!(parent_of(&harness, first), Some(second_parent));
    let parent_overwrites = harness
        .control
        .channel(world.parent)
        .expect("the parent")
        .overwrites;
    assert_eq!(
        created[0].overwrites, parent_overwrites,
        "it is kept as the parent is"
    );
    assert_eq!(created_parents(&harness).await, [second_parent]);

    // The next ticket uses it rather than creating another, and so does a restarted bot.
    let second = harness.open_ticket(world.bob).await;
    assert_eq!(parent_of(&harness, second), Some(second_parent));
    let mut harness = harness;
    harness.restart(|_| {}).await;
    let third = harness.open_ticket(harness.world.carol).await;
    assert_eq!(parent_of(&harness, third), Some(second_parent));
    assert!(categories_named(&harness, "Tickets 3").is_empty());

    // Full too: a third parent; and with that one full, the maximum is reached.
    fill(&harness, second_parent);
    let fourth = harness.open_ticket(harness.world.moderator).await;
    let third_parent = categories_named(&harness, "Tickets 3")
        .first()
        .expect("a third parent")
        .id;
    assert_eq!(parent_of(&harness, fourth), Some(third_parent));
    fill(&harness, third_parent);
    let user = harness.control.create_user("dave");
    harness
        .control
        .add_member(harness.world.guild, user, &[])
        .expect("dave joins");
    let answer = harness.answer(&harness.click_open(user).await).await;
    assert!(answer.contains("ticket category is full"), "{answer}");
    assert!(categories_named(&harness, "Tickets 4").is_empty());
    assert_eq!(
        created_parents(&harness).await,
        [second_parent, third_parent]
    );

    // /status reports the created parents' fill after the configured ones.
    let status = harness.status().await;
    let fills: Vec<(String, u64)> = status["categories"][SUPPORT]["parents"]
        .as_array()
        .expect("parents")
        .iter()
        .map(|fill| {
            (
                fill["channel_id"].as_str().expect("id").to_owned(),
                fill["channels"].as_u64().expect("count"),
            )
        })
        .collect();
    assert_eq!(
        fills,
        [
            (world_parent(&harness), 50),
            (second_parent.to_string(), 50),
            (third_parent.to_string(), 50),
        ]
    );
}

#[tokio::test]
async fn a_created_parent_deleted_while_no_session_was_up_is_forgotten_by_the_next_session() {
    let harness = bot_creating_parents(2).await;
    let world = &harness.world;
    // What a category deleted while the bot was away leaves: its row, and no channel, since its
    // CHANNEL_DELETE reached no session.
    let gone = harness
        .control
        .create_channel(world.guild, ChannelSpec::category("Tickets 2"))
        .expect("a category");
    store::record_created_parent(
        &harness.pool,
        harness.ctx.application_id,
        twilight_model::id::Id::new(world.guild),
        SUPPORT,
        1,
        twilight_model::id::Id::new(gone),
    )
    .await
    .expect("its row");
    harness.control.invalidate_gateway_sessions();
    harness.control.drop_gateway_connections();
    harness.control.delete_channel(gone).expect("deleted");
    eventually("a new session to forget the deleted parent", || async {
        created_parents(&harness).await.is_empty().then_some(())
    })
    .await;

    // With the parent full, the next ticket gets a new category rather than the deleted one.
    fill(&harness, world.parent);
    let ticket = harness.open_ticket(world.alice).await;
    let created = categories_named(&harness, "Tickets 2");
    assert_eq!(created.len(), 1, "{created:?}");
    assert_eq!(parent_of(&harness, ticket), Some(created[0].id));
    assert_eq!(created_parents(&harness).await, [created[0].id]);
}

fn world_parent(harness: &Harness) -> String {
    harness.world.parent.to_string()
}

#[tokio::test]
async fn racing_opens_on_two_replicas_create_one_parent_and_one_left_by_a_crash_is_found_again() {
    let harness = bot_creating_parents(3).await;
    let replica = harness.start_replica().await;
    let world = &harness.world;
    fill(&harness, world.parent);
    // Each replica sees both clicks at once, so four handlers want a parent.
    let (alice, bob) = tokio::join!(
        harness.click_open(world.alice),
        harness.click_open(world.bob)
    );
    let alice = channel_link(&harness.answer(&alice).await).expect("alice's ticket");
    let bob = channel_link(&harness.answer(&bob).await).expect("bob's ticket");
    let created = categories_named(&harness, "Tickets 2");
    assert_eq!(created.len(), 1, "one category for both opens");
    assert_eq!(parent_of(&harness, alice), Some(created[0].id));
    assert_eq!(parent_of(&harness, bob), Some(created[0].id));
    replica.stop().await.expect("the replica stops");

    // A crash between Discord creating the next parent and the row: the category is there,
    // unrecorded. The bot takes it rather than making a second "Tickets 3".
    fill(&harness, created[0].id);
    let left_behind = harness
        .control
        .create_channel(world.guild, ChannelSpec::category("Tickets 3"))
        .expect("a category left behind");
    let carol = harness.open_ticket(world.carol).await;
    assert_eq!(parent_of(&harness, carol), Some(left_behind));
    assert_eq!(categories_named(&harness, "Tickets 3").len(), 1);
    assert_eq!(
        created_parents(&harness).await,
        [created[0].id, left_behind]
    );

    // Deleted by hand: forgotten, and the next need creates another.
    harness
        .control
        .delete_channel(left_behind)
        .expect("deleted by hand");
    let ctx = harness.ctx.clone();
    let pool = harness.pool.clone();
    eventually("the bot to forget the deleted parent", || {
        let (ctx, pool) = (ctx.clone(), pool.clone());
        async move {
            let left = store::created_parents(
                &pool,
                ctx.application_id,
                twilight_model::id::Id::new(world.guild),
                SUPPORT,
            )
            .await
            .expect("created parents");
            (left.len() == 1).then_some(())
        }
    })
    .await;
    let morgan = harness.open_ticket(world.moderator).await;
    let again = categories_named(&harness, "Tickets 3");
    assert_eq!(again.len(), 1, "the number after the highest left");
    assert_ne!(again[0].id, left_behind);
    assert_eq!(parent_of(&harness, morgan), Some(again[0].id));
}
