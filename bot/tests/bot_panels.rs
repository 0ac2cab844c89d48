//! Behaviour 1: panels follow the config — posted on start, edited in place, re-posted when
//! deleted by hand, deleted with their category — and config reloads (file change, ConfigMap
//! symlink swap, SIGHUP's reload request, a bad file refused).

mod support;

use support::{Harness, SUPPORT, WAIT};
use ticketeer_bot::reload::{self, ReloadOutcome};

#[tokio::test]
async fn the_panel_is_posted_on_start_with_its_open_button() {
    let harness = Harness::start().await;
    let panel = harness.panel(SUPPORT).await;
    assert_eq!(panel.content, "Need help? Open a ticket.");
    assert_eq!(panel.button_custom_ids(), vec!["ticketeer:open:support"]);
    let button = &panel.components[0]["components"][0];
    assert_eq!(button["label"], "Open a ticket");
    assert_eq!(button["emoji"]["name"], "🎫");
    assert_eq!(harness.panels_in_create_channel().len(), 1);
}

#[tokio::test]
async fn a_restart_keeps_the_existing_panel_instead_of_posting_another() {
    let mut harness = Harness::start().await;
    let panel = harness.panel(SUPPORT).await;
    harness.stop().await.expect("the bot stops cleanly");
    let ctx = ticketeer_bot::Context::build(harness.settings())
        .await
        .expect("context");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(ticketeer_bot::run(ctx, async move {
        let _ = stopped.await;
    }));
    // The restarted bot checks its stored panel; wait until it has read it back.
    support::eventually("the restarted bot to look at its panel", || {
        let requests = harness.control.request_log();
        let panel_id = panel.id.to_string();
        async move {
            requests
                .iter()
                .any(|request| request.method == "GET" && request.path.contains(&panel_id))
                .then_some(())
        }
    })
    .await;
    let _ = stop.send(());
    task.await.expect("no panic").expect("clean stop");
    let panels = harness.panels_in_create_channel();
    assert_eq!(panels.len(), 1, "no second panel");
    assert_eq!(panels[0].id, panel.id);
}

#[tokio::test]
async fn a_changed_panel_text_is_edited_in_place() {
    let harness = Harness::start().await;
    let panel = harness.panel(SUPPORT).await;
    harness.write_config(&harness.config_yaml(&[(SUPPORT, "Billing questions? Click below.")]));
    let channel = harness.world.create_channel;
    let edited = harness
        .control
        .wait_for(WAIT, |control| {
            control
                .message(panel.id)
                .filter(|message| message.content == "Billing questions? Click below.")
        })
        .await
        .expect("the panel is edited");
    assert!(edited.edited_at_ms.is_some());
    assert_eq!(harness.panels_in_create_channel().len(), 1);
    assert_eq!(
        harness.control.messages(channel).len(),
        1,
        "nothing new posted"
    );
}

#[tokio::test]
async fn a_panel_deleted_by_hand_is_reposted_at_once() {
    let harness = Harness::start().await;
    let panel = harness.panel(SUPPORT).await;
    harness
        .control
        .delete_message(panel.id)
        .expect("delete the panel by hand");
    let reposted = harness.panel(SUPPORT).await;
    assert_ne!(reposted.id, panel.id);
    assert_eq!(reposted.content, panel.content);
    assert_eq!(harness.panels_in_create_channel().len(), 1);
}

#[tokio::test]
async fn a_removed_categorys_panel_is_deleted_and_a_new_one_posted() {
    let harness = Harness::start().await;
    let old = harness.panel(SUPPORT).await;
    harness.write_config(&harness.config_yaml(&[("billing", "Invoices? Here.")]));
    let new = harness.panel("billing").await;
    harness
        .control
        .wait_for(WAIT, |control| {
            control.message(old.id).is_none().then_some(())
        })
        .await
        .expect("the removed category's panel is deleted");
    let panels = harness.panels_in_create_channel();
    assert_eq!(panels.len(), 1);
    assert_eq!(panels[0].id, new.id);
}

#[tokio::test]
async fn a_configmap_symlink_swap_is_picked_up_without_a_restart() {
    let harness = Harness::start().await;
    let (identifies, _) = harness.control.gateway_counts();
    // Lay the file out the way a Kubernetes ConfigMap volume does:
    // config.yaml -> ..data/config.yaml, ..data -> ..<timestamp>/
    let dir = harness.dir.path();
    let version = |name: &str, yaml: &str| {
        let versioned = dir.join(name);
        std::fs::create_dir_all(&versioned).expect("version dir");
        std::fs::write(versioned.join("config.yaml"), yaml).expect("write version");
    };
    let swap_data_to = |name: &str| {
        let staging = dir.join("..data_tmp");
        let _ = std::fs::remove_file(&staging);
        std::os::unix::fs::symlink(name, &staging).expect("symlink");
        std::fs::rename(&staging, dir.join("..data")).expect("swap ..data");
    };
    version(
        "..v1",
        &harness.config_yaml(&[(SUPPORT, "Need help? Open a ticket.")]),
    );
    swap_data_to("..v1");
    let staging = dir.join("config.yaml.link");
    std::os::unix::fs::symlink("..data/config.yaml", &staging).expect("symlink");
    std::fs::rename(&staging, &harness.config_path).expect("link config.yaml");

    version(
        "..v2",
        &harness.config_yaml(&[(SUPPORT, "Swapped by Kubernetes.")]),
    );
    swap_data_to("..v2");

    let panel = harness.panel(SUPPORT).await;
    harness
        .control
        .wait_for(WAIT, |control| {
            control
                .message(panel.id)
                .filter(|message| message.content == "Swapped by Kubernetes.")
        })
        .await
        .expect("the swapped config is applied");
    assert_eq!(
        harness.control.gateway_counts().0,
        identifies,
        "the gateway was not reconnected"
    );
}

#[tokio::test]
async fn a_bad_new_config_is_refused_and_the_running_config_kept() {
    let harness = Harness::start().await;
    let panel = harness.panel(SUPPORT).await;
    let good = harness.ctx.config();
    let bad = harness.config_yaml(&[(SUPPORT, "Never shown")]).replace(
        "label: Open a ticket",
        &format!("label: {}", "x".repeat(81)),
    );
    harness.write_config(&bad);
    assert_eq!(
        reload::reload_once(&harness.ctx, true).await,
        ReloadOutcome::Refused
    );
    assert_eq!(*harness.ctx.config(), *good);
    // Let the poller see the bad file too; it must not apply it either. The second check from
    // now certainly started after the file was written.
    let checks = |ctx: &ticketeer_bot::Context| {
        ["unchanged", "applied", "refused"]
            .into_iter()
            .map(|outcome| ctx.metrics.config_checks_ended(outcome))
            .sum::<u64>()
    };
    let before = checks(&harness.ctx);
    let ctx = std::sync::Arc::clone(&harness.ctx);
    support::eventually("the poller to check the file twice", || {
        let done = checks(&ctx) >= before + 2;
        async move { done.then_some(()) }
    })
    .await;
    assert_eq!(*harness.ctx.config(), *good);
    let still = harness
        .control
        .message(panel.id)
        .expect("panel still there");
    assert_eq!(still.content, "Need help? Open a ticket.");
}

#[tokio::test]
async fn a_reload_request_applies_a_changed_file_at_once() {
    let harness = Harness::start().await;
    let panel = harness.panel(SUPPORT).await;
    harness.write_config(&harness.config_yaml(&[(SUPPORT, "Reloaded on SIGHUP.")]));
    harness.ctx.request_reload();
    harness
        .control
        .wait_for(WAIT, |control| {
            control
                .message(panel.id)
                .filter(|message| message.content == "Reloaded on SIGHUP.")
        })
        .await
        .expect("the reload request applies the file");
}
