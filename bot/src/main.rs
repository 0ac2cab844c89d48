//! The `ticketeer-bot` binary (the lifecycle arrives with the bot issue).

fn main() {
    eprintln!("ticketeer-bot: the bot's run loop is not built yet; see the README's roadmap");
    std::process::exit(2);
}
