//! pbincli, the reference PrivateBin client, against the emulator: the emulator speaks the real
//! protocol when an independent client can send, read, burn and delete through it.

use ticketeer_testkit::privatebin::{PrivateBinConfig, PrivateBinEmulator};
use ticketeer_testkit::tools::{self, ToolError, pbincli_get, pbincli_send, run_pbincli};

async fn start(config: PrivateBinConfig) -> PrivateBinEmulator {
    // Fail loudly (with how to install it) rather than skip when pbincli is missing.
    tools::pbincli();
    PrivateBinEmulator::start(config)
        .await
        .expect("the emulator starts")
}

const TEXT: &str = "# Ticket 42\n\nHello — ünïcödé, emoji 🎫, and <b>markup</b>.\nSecond line.";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pbincli_sends_a_paste_and_reads_it_back() {
    let emulator = start(PrivateBinConfig::without_traffic_limit()).await;
    let sent = pbincli_send(
        &emulator.base_url(),
        TEXT,
        &["-F", "markdown", "-E", "1day"],
    )
    .await
    .expect("pbincli sends the paste");
    assert_eq!(
        sent.link,
        format!("{}?{}#{}", emulator.base_url(), sent.id, sent.password)
    );
    let stored = emulator
        .paste(&sent.id)
        .expect("the emulator stored the paste");
    assert_eq!(stored.formatter(), Some("markdown"));
    assert_eq!(stored.lifetime_secs, Some(86_400));
    assert_eq!(stored.delete_token, sent.deletetoken);

    let text = pbincli_get(&sent.link)
        .await
        .expect("pbincli reads the paste");
    assert_eq!(text, TEXT);

    let requests = emulator.requests();
    assert!(
        requests
            .iter()
            .any(|request| request.path_and_query == "/?jsonld=paste"),
        "pbincli asks for the schema"
    );
    for request in &requests {
        assert!(
            !request.path_and_query.contains(&sent.password),
            "the key never reaches the server"
        );
        assert!(
            !request.body_text().contains(&sent.password),
            "the key never reaches the server"
        );
        assert!(
            request
                .headers
                .iter()
                .all(|(_, value)| !value.contains(&sent.password))
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pbincli_works_with_an_instance_under_a_sub_path() {
    let emulator = start(PrivateBinConfig {
        base_path: "/privatebin/".to_owned(),
        ..PrivateBinConfig::without_traffic_limit()
    })
    .await;
    let sent = pbincli_send(&emulator.base_url(), TEXT, &["-E", "never"])
        .await
        .expect("pbincli sends");
    assert_eq!(
        emulator.paste(&sent.id).expect("stored").lifetime_secs,
        None
    );
    assert_eq!(
        pbincli_get(&sent.link)
            .await
            .expect("pbincli reads a never-expiring paste"),
        TEXT
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burn_after_reading_paste_reads_once_with_pbincli() {
    let emulator = start(PrivateBinConfig::without_traffic_limit()).await;
    let sent = pbincli_send(&emulator.base_url(), TEXT, &["-B"])
        .await
        .expect("pbincli sends");
    assert!(
        emulator
            .paste(&sent.id)
            .expect("stored")
            .burns_after_reading()
    );
    assert_eq!(
        pbincli_get(&sent.link).await.expect("the first read works"),
        TEXT
    );
    match pbincli_get(&sent.link).await {
        Err(ToolError::PbincliFailed { stdout, stderr, .. }) => {
            let output = format!("{stdout}{stderr}");
            assert!(
                output.contains("Document does not exist, has expired or has been deleted."),
                "{output}"
            );
        }
        other => panic!("the second read must fail, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pbincli_deletes_a_paste_with_its_delete_link() {
    let emulator = start(PrivateBinConfig::without_traffic_limit()).await;
    let sent = pbincli_send(&emulator.base_url(), TEXT, &[])
        .await
        .expect("pbincli sends");
    let output = run_pbincli(vec!["delete".to_owned(), sent.deletelink.clone()])
        .await
        .expect("pbincli deletes");
    assert!(
        output.stdout.contains("Paste successfully deleted!"),
        "{}",
        output.stdout
    );
    assert!(emulator.paste(&sent.id).is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pbincli_reports_the_traffic_limiters_refusal() {
    let emulator = start(PrivateBinConfig {
        traffic_limit_secs: 30,
        ..PrivateBinConfig::default()
    })
    .await;
    pbincli_send(&emulator.base_url(), TEXT, &[])
        .await
        .expect("the first paste passes");
    match pbincli_send(&emulator.base_url(), TEXT, &[]).await {
        Err(ToolError::PbincliFailed { stdout, stderr, .. }) => {
            let output = format!("{stdout}{stderr}");
            assert!(
                output.contains("Please wait 30 seconds between each post."),
                "{output}"
            );
        }
        other => panic!("the second paste must be refused, got {other:?}"),
    }
    assert_eq!(emulator.paste_count(), 1);
}
