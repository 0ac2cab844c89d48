//! Discord rules a ticket depends on without saying so: the staff ping notifies only a mentionable
//! role or from a bot with Mention Everyone, a new channel's overwrites count only the bot's
//! guild-level permissions, a button emoji must be one Discord knows, and a client answered
//! 401/403/429 too often is blocked from the whole API, and a bot that waits for a spent bucket
//! draws no 429 at all. Each through the real bot, its `/status` and its config loader.

mod support;

use std::time::Duration;

use support::{BOT_PERMISSIONS, Harness, SUPPORT, WAIT};
use ticketeer_bot::{BotError, Context, Settings};
use ticketeer_config::{Problem, StatusReport};
use ticketeer_testkit::discord::permissions::{MANAGE_ROLES, MENTION_EVERYONE};
use ticketeer_testkit::discord::{
    Control, FaultSpec, InvalidRequestLimit, Message, Overwrite, RequestRecord,
};

async fn problems(harness: &Harness) -> Vec<Problem> {
    let report: StatusReport =
        serde_json::from_value(harness.status().await).expect("the operator can read it");
    report.categories[SUPPORT].problems.clone()
}

/// The ticket's first message (the one that mentions the creator and the ticket roles).
async fn welcome(harness: &Harness, channel: u64) -> Message {
    harness
        .control
        .wait_for(WAIT, |control| {
            control
                .messages(channel)
                .into_iter()
                .find(|message| !message.mention_roles.is_empty())
        })
        .await
        .expect("the welcome mentions the ticket roles")
}

/// Nothing is reported, and a new ticket's welcome notifies the ticket role.
async fn assert_staff_pinged(harness: &Harness) {
    assert_eq!(problems(harness).await, []);
    let channel = harness.open_ticket(harness.world.alice).await;
    let welcome = welcome(harness, channel).await;
    assert_eq!(welcome.notified_roles, [harness.world.staff_role]);
}

fn without_mention_everyone(world: &support::World) {
    let bot_role = world.control.bot_role(world.guild).expect("bot role");
    world
        .control
        .set_role_permissions(world.guild, bot_role, BOT_PERMISSIONS & !MENTION_EVERYONE)
        .expect("take Mention Everyone away");
}

#[tokio::test]
async fn staff_are_pinged_when_the_bot_may_mention_everyone() {
    let harness = Harness::start().await;
    assert_staff_pinged(&harness).await;
}

#[tokio::test]
async fn staff_are_pinged_through_a_mentionable_role() {
    let harness = Harness::start_with(support::emulator_config(), |world| {
        without_mention_everyone(world);
        world
            .control
            .set_role_mentionable(world.guild, world.staff_role, true)
            .expect("mentionable");
    })
    .await;
    assert_staff_pinged(&harness).await;
}

#[tokio::test]
async fn status_reports_a_ticket_role_nobody_would_ping() {
    let harness = Harness::start_with(support::emulator_config(), without_mention_everyone).await;
    let staff = harness.world.staff_role;
    assert_eq!(
        problems(&harness).await,
        [Problem::RoleNotPinged {
            field: "roleIds[0]".to_owned(),
            role_id: staff.to_string(),
        }]
    );
    // What the report warns of: the mention is there, and nobody is notified.
    let channel = harness.open_ticket(harness.world.alice).await;
    let welcome = welcome(&harness, channel).await;
    assert_eq!(welcome.mention_roles, [staff]);
    assert!(welcome.notified_roles.is_empty());

    harness
        .control
        .set_role_mentionable(harness.world.guild, staff, true)
        .expect("mentionable");
    assert_eq!(problems(&harness).await, []);
}

#[tokio::test]
async fn manage_roles_granted_only_on_the_category_fails_the_open_and_status_says_so() {
    let harness = Harness::start_with(support::emulator_config(), |world| {
        let bot_role = world.control.bot_role(world.guild).expect("bot role");
        world
            .control
            .set_role_permissions(world.guild, bot_role, BOT_PERMISSIONS & !MANAGE_ROLES)
            .expect("no Manage Roles in the guild");
        world
            .control
            .set_channel_overwrites(
                world.parent,
                vec![Overwrite::role(bot_role, MANAGE_ROLES, 0)],
            )
            .expect("Manage Roles on the category");
    })
    .await;
    assert_eq!(
        problems(&harness).await,
        [Problem::MissingGuildPermissions {
            missing: vec!["MANAGE_ROLES".to_owned()],
        }]
    );
    let outcome = harness.click_open(harness.world.alice).await;
    let answer = harness.answer(&outcome).await;
    assert!(
        answer.starts_with("I could not create your ticket channel: I am missing permissions"),
        "{answer}"
    );
    let refused = harness
        .control
        .request_log()
        .into_iter()
        .filter(|request| {
            request.method == "POST" && request.route == "/guilds/{guild_id}/channels"
        })
        .map(|request| request.status)
        .collect::<Vec<_>>();
    assert_eq!(refused, [403], "Discord refused the channel once");
    assert!(
        harness.control.channels(harness.world.guild).len() == 3,
        "no ticket channel was made"
    );
}

#[tokio::test]
async fn a_button_emoji_discord_does_not_know_is_refused_at_load_naming_the_field() {
    let harness = Harness::start().await;
    let yaml = harness
        .config_yaml(&[(SUPPORT, "Need help?")])
        .replace("emoji: \"🎫\"", "emoji: \"tk\"");
    assert!(
        yaml.contains("emoji: \"tk\""),
        "the test config names an emoji"
    );
    let path = harness.dir.path().join("bad-emoji.yaml");
    std::fs::write(&path, yaml).expect("write");
    let error = Context::build(Settings::new(&path, "unused-token", "postgres://unused"))
        .await
        .expect_err("the config is refused");
    assert!(matches!(error, BotError::InvalidConfig { .. }), "{error:?}");
    let message = error.to_string();
    assert!(
        message.contains(r#"categories["support"].createButton.emoji"#),
        "{message}"
    );
}

/// The bot's requests about `channel` that Discord refused with 403.
fn refused_in(control: &Control, channel: u64) -> Vec<RequestRecord> {
    let prefix = format!("/channels/{channel}/");
    control
        .request_log()
        .into_iter()
        .filter(|request| request.status == 403 && request.path.starts_with(&prefix))
        .collect()
}

/// A moderator drops the bot's overwrite from a ticket channel before its welcome is pinned:
/// from then on every attempt to finish the welcome is refused (403), for good. Discord blocks a
/// client from its whole API once 10 000 of its requests in 10 minutes were refused so (429s
/// count too); the emulator here blocks at 8, which a bot retrying on every tick reaches within
/// seconds, and a bot that waits twice as long after each refusal does not.
#[tokio::test]
async fn a_refusal_that_lasts_is_retried_less_and_less_often_and_never_gets_the_bot_blocked() {
    let mut harness = Harness::start().await;
    let max_backoff = Duration::from_secs(2);
    harness
        .restart_with(
            |_| {},
            |settings| {
                settings.close_retry_interval = Duration::from_millis(250);
                settings.close_retry_max_backoff = max_backoff;
            },
        )
        .await;
    harness
        .control
        .set_invalid_request_limit(InvalidRequestLimit {
            limit: 8,
            window: Duration::from_mins(10),
            block: Duration::from_hours(1),
        });
    harness.control.fail_next(FaultSpec::new(
        "PUT",
        "/channels/{channel_id}/messages/pins/{message_id}",
        500,
    ));
    let channel = harness.open_ticket(harness.world.alice).await;
    let bot = harness.control.bot_user_id();
    let mut overwrites = harness
        .control
        .channel(channel)
        .expect("the ticket channel")
        .overwrites;
    overwrites.retain(|overwrite| overwrite.id != bot);
    harness
        .control
        .set_channel_overwrites(channel, overwrites)
        .expect("drop the bot's overwrite");

    // Seven refusals take the bot past the first retries (each waiting twice as long as the last)
    // to the longest wait. The pin route allows 5 requests per 5 s, and the sixth refusal comes
    // at least 5.75 s after the first, so the bot draws no 429 on the way.
    let refused = harness
        .control
        .wait_for(Duration::from_secs(30), |control| {
            let refused = refused_in(control, channel);
            (refused.len() >= 7 || control.invalid_request_blocks() > 0).then_some(refused)
        })
        .await
        .expect("the bot keeps trying to finish the welcome");
    assert_eq!(
        harness.control.invalid_request_blocks(),
        0,
        "the bot was blocked after {} refusals",
        refused.len()
    );
    let gaps: Vec<Duration> = refused
        .windows(2)
        .map(|pair| pair[1].at.saturating_sub(pair[0].at))
        .collect();
    assert!(
        gaps.last().is_some_and(|gap| *gap >= max_backoff / 2),
        "by the seventh refusal the bot waits about {max_backoff:?} between attempts: {gaps:?}"
    );
}

/// Eight people open tickets in one guild at once. Channel creation allows 5 per 5 s per guild,
/// and Discord announces that only through each answer's `X-RateLimit-Remaining` and
/// `-Reset-After` (the scope header comes on 429s only): the bot reads them and holds the sixth
/// creation until the bucket resets, so Discord refuses nothing.
#[tokio::test]
async fn a_burst_of_opens_waits_for_the_spent_channel_bucket_and_draws_no_429() {
    let harness = Harness::start().await;
    let panel = harness.panel(SUPPORT).await;
    let users = harness.new_members("burst", 8);
    let clicks = users
        .iter()
        .map(|user| harness.click(*user, panel.id, "ticketeer:open:support"));
    let outcomes = futures_util::future::join_all(clicks).await;
    for outcome in &outcomes {
        assert!(!outcome.failed(), "every click is acknowledged");
        let answer = harness.answer(outcome).await;
        let channel = support::channel_link(&answer)
            .unwrap_or_else(|| panic!("the answer links a channel: {answer}"));
        harness.pinned_welcome(channel).await;
    }
    let log = harness.control.request_log();
    let creations: Vec<&RequestRecord> = log
        .iter()
        .filter(|record| record.method == "POST" && record.route == "/guilds/{guild_id}/channels")
        .collect();
    assert_eq!(creations.len(), 8, "one creation per ticket");
    let refused: Vec<String> = log
        .iter()
        .filter(|record| record.status == 429)
        .map(|record| format!("{} {}", record.method, record.path))
        .collect();
    assert!(refused.is_empty(), "Discord refused {refused:?}");
}
