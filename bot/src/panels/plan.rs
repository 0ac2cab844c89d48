//! Which panel messages the config asks for: one per category of its own, and one per shared
//! panel (a panel name in one create channel), with its categories in order.
//!
//! Pure, so the grouping and ordering rules are unit-tested; [`super`] posts and edits what this
//! plans.

use std::collections::BTreeMap;

use ticketeer_config::PanelStyle;
use twilight_model::id::Id;
use twilight_model::id::marker::{ChannelMarker, GuildMarker};

use crate::config::Category;

/// The most buttons (5 rows of 5) or select options one panel message can carry.
pub(crate) const MAX_ENTRIES: usize = 25;

/// One panel message to keep posted.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PanelPlan<'a> {
    /// The panel's stable key (see [`panel_key`]).
    pub key: String,
    /// The guild of the create channel.
    pub guild_id: Id<GuildMarker>,
    /// The channel the panel is posted in.
    pub channel_id: Id<ChannelMarker>,
    /// Buttons or a select menu.
    pub style: PanelStyle,
    /// The select menu's text before a choice.
    pub placeholder: Option<&'a str>,
    /// The panel's text: its first category's `createMessage`.
    pub content: &'a str,
    /// The categories offered, in panel order (at most [`MAX_ENTRIES`]).
    pub entries: Vec<(&'a str, &'a Category)>,
    /// The categories left off because the panel is full.
    pub left_off: Vec<&'a str>,
}

/// The key of the panel a category is offered on. A category of its own keeps its category key
/// (so panels posted before shared panels existed stay where they are); a shared panel is
/// `@name:channel`, which no category key can be (they never hold `@` or `:`).
pub(crate) fn panel_key(category_key: &str, category: &Category) -> String {
    match &category.panel {
        None => category_key.to_owned(),
        Some(panel) => format!("@{}:{}", panel.name, category.create_channel_id),
    }
}

/// Every panel the categories ask for, by panel key.
pub(crate) fn plan_panels(
    categories: &BTreeMap<String, Category>,
) -> BTreeMap<String, PanelPlan<'_>> {
    let mut grouped: BTreeMap<String, Vec<(&str, &Category)>> = BTreeMap::new();
    for (key, category) in categories {
        grouped
            .entry(panel_key(key, category))
            .or_default()
            .push((key.as_str(), category));
    }
    grouped
        .into_iter()
        .filter_map(|(panel_key, mut members)| {
            members.sort_by_key(|(key, category)| (position(category), *key));
            let (_, first) = *members.first()?;
            let left_off = members
                .iter()
                .skip(MAX_ENTRIES)
                .map(|(key, _)| *key)
                .collect();
            members.truncate(MAX_ENTRIES);
            let placement = first.panel.as_ref();
            let plan = PanelPlan {
                key: panel_key.clone(),
                guild_id: first.guild_id,
                channel_id: first.create_channel_id,
                style: placement.map_or(PanelStyle::Buttons, |panel| panel.style),
                placeholder: placement.and_then(|panel| panel.placeholder.as_deref()),
                content: &first.create_message,
                entries: members,
                left_off,
            };
            Some((panel_key, plan))
        })
        .collect()
}

fn position(category: &Category) -> u16 {
    category.panel.as_ref().map_or(0, |panel| panel.position)
}

#[cfg(test)]
mod tests {
    use ticketeer_config::PanelPlacementConfig;

    use super::*;
    use crate::config::tests::{CREATE_CHANNEL, category};

    const GUILD: u64 = 200_000_000_000_000_001;

    fn on_panel(name: &str, position: u16, text: &str) -> Category {
        Category {
            panel: Some(PanelPlacementConfig {
                name: name.to_owned(),
                style: PanelStyle::Select,
                position,
                description: None,
                placeholder: Some(format!("{name} placeholder")),
            }),
            create_message: text.to_owned(),
            ..category(GUILD, &[])
        }
    }

    #[test]
    fn a_category_of_its_own_keeps_its_key_and_buttons() {
        let categories = BTreeMap::from([("support".to_owned(), category(GUILD, &[]))]);
        let plans = plan_panels(&categories);
        let plan = &plans["support"];
        assert_eq!(plan.style, PanelStyle::Buttons);
        assert_eq!(plan.entries.len(), 1);
        assert_eq!(plan.placeholder, None);
        assert!(plan.left_off.is_empty());
    }

    #[test]
    fn categories_naming_one_panel_share_it_in_position_then_key_order() {
        let categories = BTreeMap::from([
            ("a-late".to_owned(), on_panel("desk", 2, "A")),
            ("b-early".to_owned(), on_panel("desk", 1, "B")),
            ("c-early".to_owned(), on_panel("desk", 1, "C")),
            ("alone".to_owned(), category(GUILD, &[])),
        ]);
        let plans = plan_panels(&categories);
        assert_eq!(plans.len(), 2);
        let shared = &plans[&format!("@desk:{CREATE_CHANNEL}")];
        let order: Vec<_> = shared.entries.iter().map(|(key, _)| *key).collect();
        assert_eq!(order, ["b-early", "c-early", "a-late"]);
        // The first category's text, style and placeholder are the panel's.
        assert_eq!(shared.content, "B");
        assert_eq!(shared.style, PanelStyle::Select);
        assert_eq!(shared.placeholder, Some("desk placeholder"));
    }

    #[test]
    fn one_name_in_two_channels_is_two_panels() {
        let mut elsewhere = on_panel("desk", 0, "Elsewhere");
        elsewhere.create_channel_id = Id::new(CREATE_CHANNEL + 100);
        let categories = BTreeMap::from([
            ("here".to_owned(), on_panel("desk", 0, "Here")),
            ("there".to_owned(), elsewhere),
        ]);
        assert_eq!(plan_panels(&categories).len(), 2);
    }

    #[test]
    fn a_panel_shows_25_categories_and_names_the_rest() {
        let categories: BTreeMap<_, _> = (0..27)
            .map(|index| (format!("topic-{index:02}"), on_panel("desk", 0, "Pick")))
            .collect();
        let plans = plan_panels(&categories);
        let plan = plans.values().next().expect("one panel");
        assert_eq!(plan.entries.len(), MAX_ENTRIES);
        assert_eq!(plan.left_off, ["topic-25", "topic-26"]);
    }
}
