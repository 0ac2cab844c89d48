//! The whole product the way a platform team runs it, against a real Kubernetes API server: the
//! README's quick start (`helm install`, Secrets, `kubectl apply -f crds/examples/`), the operator
//! binary as the chart's ServiceAccount, the bot binary started from what the operator rendered,
//! then a user opening and closing a ticket. See `ticketeer_testkit::quickstart` for what stands
//! in for the kubelet.

use std::time::{Duration, Instant};

use kube::Api;
use serde_json::Value;
use ticketeer_operator::crd::TicketCategory;
use ticketeer_testkit::discord::{InteractionStatus, UserMessage};
use ticketeer_testkit::quickstart::{BOT_NAMESPACE, Quickstart, QuickstartOptions};
use ticketeer_testkit::tools;

const WAIT: Duration = Duration::from_mins(1);

async fn eventually<T>(what: &str, mut check: impl AsyncFnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + WAIT;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn condition_status(category: &TicketCategory, type_: &str) -> Option<String> {
    category
        .status
        .as_ref()?
        .conditions
        .iter()
        .find(|condition| condition.type_ == type_)
        .map(|condition| condition.status.clone())
}

/// The `custom_id` of the first button of a message's components.
fn button_custom_id(components: &[Value]) -> Option<String> {
    components
        .iter()
        .flat_map(|row| row["components"].as_array().cloned().unwrap_or_default())
        .find_map(|button| button["custom_id"].as_str().map(str::to_owned))
}

#[tokio::test]
async fn the_readme_quick_start_runs_a_ticket_from_panel_to_transcript() {
    let work_dir = std::env::temp_dir().join(format!(
        "ticketeer-quickstart-{}-{:08x}",
        std::process::id(),
        rand::random::<u32>()
    ));
    let quickstart = Quickstart::start(QuickstartOptions {
        operator_binary: env!("CARGO_BIN_EXE_ticketeer-operator").into(),
        bot_binary: tools::workspace_binary("ticketeer-bot"),
        work_dir: work_dir.clone(),
        discord_bind: "127.0.0.1:0".parse().expect("an address"),
        privatebin_bind: "127.0.0.1:0".parse().expect("an address"),
    })
    .await
    .unwrap_or_else(|error| {
        let logs = ["operator.log", "bot.log"]
            .iter()
            .map(|log| {
                let text = std::fs::read_to_string(work_dir.join(log)).unwrap_or_default();
                format!("--- {log}\n{text}")
            })
            .collect::<Vec<_>>()
            .join("\n");
        panic!("the quick start runs: {error}\n{logs}")
    });
    let admin = quickstart.plane.admin_client().expect("an admin client");
    let categories: Api<TicketCategory> = Api::namespaced(admin, BOT_NAMESPACE);

    // The operator reads the bot's /status: each category turns Ready with its panel's id.
    let mut panels = Vec::new();
    for name in ["billing", "general"] {
        let panel = eventually(&format!("category {name} is Ready"), async || {
            let category = categories.get_opt(name).await.ok().flatten()?;
            (condition_status(&category, "Ready").as_deref() == Some("True"))
                .then(|| category.status?.panel_message_id)
                .flatten()
        })
        .await;
        panels.push(panel.parse::<u64>().expect("a panel message id"));
    }
    let control = &quickstart.control;
    let guild = quickstart.guild;
    let general_panel = control.message(panels[1]).expect("the panel is in Discord");
    assert_eq!(general_panel.channel_id, guild.general_panel_channel);

    // alice opens a ticket from the panel, writes, and closes it.
    let open_id = button_custom_id(&general_panel.components).expect("the panel has a button");
    let opened = control
        .click_button(guild.alice, general_panel.id, &open_id)
        .await
        .expect("the click is delivered");
    assert_eq!(opened.status, InteractionStatus::Acknowledged, "{opened:?}");
    let ticket_channel = eventually("the ticket channel exists", async || {
        control
            .channels(guild.guild)
            .into_iter()
            .find(|channel| channel.parent_id == Some(guild.parent))
            .map(|channel| channel.id)
    })
    .await;
    let welcome = eventually("the welcome message is pinned", async || {
        control.pins(ticket_channel).into_iter().next()
    })
    .await;
    control
        .post_message(
            guild.alice,
            ticket_channel,
            UserMessage::text("My invoice for November is wrong."),
        )
        .expect("alice writes in her ticket");
    let close_id = button_custom_id(&welcome.components).expect("a Close button");
    let closed = control
        .click_button(guild.alice, welcome.id, &close_id)
        .await
        .expect("the click is delivered");
    assert_eq!(closed.status, InteractionStatus::Acknowledged, "{closed:?}");

    // The transcript link lands in the log channel, and the transcript holds what alice wrote.
    let link = eventually("the transcript is logged", async || {
        control
            .messages(guild.log_channel)
            .iter()
            .flat_map(|message| {
                let mut texts = vec![message.content.clone()];
                texts.extend(message.embeds.iter().map(Value::to_string));
                texts
            })
            .find_map(|text| {
                let start = text.find(&quickstart.privatebin.base_url())?;
                let link: String = text[start..]
                    .chars()
                    .take_while(|c| !c.is_whitespace() && !matches!(c, ')' | '"' | '>'))
                    .collect();
                link.contains('#').then_some(link)
            })
    })
    .await;
    let transcript = tools::pbincli_get(&link)
        .await
        .expect("pbincli decrypts the transcript");
    assert!(
        transcript.contains("My invoice for November is wrong."),
        "{transcript}"
    );
    eventually("the ticket channel is deleted", async || {
        control.channel(ticket_channel).is_none().then_some(())
    })
    .await;

    // What the README says `kubectl -n tickets get tb,tc` shows.
    let table = quickstart
        .kubectl(&["-n", BOT_NAMESPACE, "get", "tb,tc"])
        .await
        .expect("kubectl runs");
    let lines: Vec<Vec<&str>> = table
        .lines()
        .map(|line| line.split_whitespace().collect())
        .collect();
    assert!(
        lines.contains(&vec!["NAME", "READY", "CATEGORIES", "REPLICAS", "AGE"]),
        "{table}"
    );
    assert!(
        lines.contains(&vec!["NAME", "BOT", "GUILD", "READY", "OPEN", "AGE"]),
        "{table}"
    );
    let row = |name: &str| {
        lines
            .iter()
            .find(|line| line.first() == Some(&name))
            .cloned()
            .unwrap_or_else(|| panic!("a row for {name} in\n{table}"))
    };
    assert_eq!(
        row("ticketbot.ticketeer.dev/support")[1..4],
        ["True", "2", "1"]
    );
    let guild_id = guild.guild.to_string();
    for name in ["billing", "general"] {
        assert_eq!(
            row(&format!("ticketcategory.ticketeer.dev/{name}"))[1..4],
            ["support", guild_id.as_str(), "True"]
        );
    }
    quickstart.shutdown().await;
    let _ = std::fs::remove_dir_all(&work_dir);
}
