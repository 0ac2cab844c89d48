//! The guilds a load run spreads its tickets over, and the bot config that serves them.
//!
//! Discord holds at most 50 channels under a category and 500 in a guild, so a guild here holds
//! 200 tickets: four ticket categories, each with its own Discord category (parent), panel
//! channel and staff role, beside one log channel.

use std::fmt::Write as _;
use std::net::SocketAddr;

use crate::discord::{ChannelSpec, Control, TICKET_BOT_PERMISSIONS};

use super::LoadError;

/// Tickets one guild holds.
pub(crate) const TICKETS_PER_GUILD: usize = 200;
/// Ticket categories per guild, each with a parent of its own.
const CATEGORIES_PER_GUILD: usize = 4;

/// One ticket category of the run.
#[derive(Debug, Clone)]
pub(crate) struct LoadCategory {
    /// Its key in the bot's config.
    pub(crate) key: String,
    pub(crate) guild: u64,
    pub(crate) parent: u64,
    /// Where its panel is posted.
    pub(crate) panel_channel: u64,
    pub(crate) staff_role: u64,
    pub(crate) log_channel: u64,
}

/// A member who opens one ticket.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Opener {
    pub(crate) user: u64,
    /// Index into [`Layout::categories`].
    pub(crate) category: usize,
}

/// Every guild, category and member of a run.
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    pub(crate) guilds: Vec<u64>,
    pub(crate) categories: Vec<LoadCategory>,
    pub(crate) openers: Vec<Opener>,
}

impl Layout {
    /// Builds enough guilds in the emulator for `tickets` openers, filling each category up to
    /// its 50 channels before the next.
    pub(crate) fn build(control: &Control, tickets: usize) -> Result<Self, LoadError> {
        Self::spread(control, tickets, TICKETS_PER_GUILD)
    }

    /// As [`build`](Self::build), with at most `per_guild` openers in each guild (rounded down to
    /// a whole number per category, at least one): each guild creates its channels from its own
    /// rate-limit bucket (5 per 5 s), so a burst spread over more guilds is set up sooner.
    pub(crate) fn spread(
        control: &Control,
        tickets: usize,
        per_guild: usize,
    ) -> Result<Self, LoadError> {
        let per_category = (per_guild.min(TICKETS_PER_GUILD) / CATEGORIES_PER_GUILD).max(1);
        let guild_count = tickets.div_ceil(per_category * CATEGORIES_PER_GUILD).max(1);
        let mut layout = Self {
            guilds: Vec::new(),
            categories: Vec::new(),
            openers: Vec::new(),
        };
        let refused = |error| LoadError::Emulator(format!("building the guilds: {error}"));
        for guild_number in 0..guild_count {
            let guild =
                control.create_guild(&format!("Load {guild_number}"), TICKET_BOT_PERMISSIONS);
            layout.guilds.push(guild);
            let log_channel = control
                .create_channel(guild, ChannelSpec::text("ticket-log"))
                .map_err(refused)?;
            for category_number in 0..CATEGORIES_PER_GUILD {
                let parent = control
                    .create_channel(
                        guild,
                        ChannelSpec::category(&format!("Tickets {category_number}")),
                    )
                    .map_err(refused)?;
                let panel_channel = control
                    .create_channel(guild, ChannelSpec::text(&format!("open-{category_number}")))
                    .map_err(refused)?;
                let staff_role = control
                    .create_role(guild, &format!("Staff {category_number}"), 0)
                    .map_err(refused)?;
                layout.categories.push(LoadCategory {
                    key: format!("g{guild_number}c{category_number}"),
                    guild,
                    parent,
                    panel_channel,
                    staff_role,
                    log_channel,
                });
            }
        }
        for number in 0..tickets {
            let category = number / per_category;
            let user = control.create_user(&format!("member{number}"));
            control
                .add_member(layout.categories[category].guild, user, &[])
                .map_err(refused)?;
            layout.openers.push(Opener { user, category });
        }
        Ok(layout)
    }

    /// The categories that have openers (the last guild may not fill all four).
    pub(crate) fn used_categories(&self) -> impl Iterator<Item = &LoadCategory> {
        let used = self
            .openers
            .iter()
            .map(|opener| opener.category)
            .max()
            .map_or(0, |last| last + 1);
        self.categories.iter().take(used)
    }

    /// The bot's config for this layout: every used category, the emulators' addresses, the
    /// HTTP endpoints on `http`, logs at `log_level` (under load `warn`: a log line per request
    /// would be measured too).
    pub(crate) fn config_yaml(
        &self,
        api_proxy: &str,
        gateway_url: &str,
        privatebin_url: &str,
        http: SocketAddr,
        log_level: &str,
    ) -> String {
        let mut yaml = format!(
            "discord:\n  apiProxy: \"{api_proxy}\"\n  gatewayUrl: \"{gateway_url}\"\nprivatebin:\n  url: \"{privatebin_url}\"\nhttp:\n  listen: \"{http}\"\nlog:\n  level: {log_level}\n  format: json\ncategories:\n"
        );
        for category in self.used_categories() {
            let _ = write!(
                yaml,
                "  {key}:\n    guildId: \"{guild}\"\n    name: Load {key}\n    parentChannelId: \"{parent}\"\n    createChannelId: \"{panel}\"\n    roleIds: [\"{staff}\"]\n    logChannelId: \"{log}\"\n    createMessage: Need help? Open a ticket.\n    createdMessage: Thanks, someone will be with you shortly.\n",
                key = category.key,
                guild = category.guild,
                parent = category.parent,
                panel = category.panel_channel,
                staff = category.staff_role,
                log = category.log_channel,
            );
        }
        yaml
    }
}
