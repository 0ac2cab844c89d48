//! The definitions of the bot's guild commands, built from the config, and the comparison that
//! says whether Discord already holds them (Discord adds ids, versions and defaults of its own).

use serde_json::Value;
use twilight_model::application::command::{Command, CommandType};
use twilight_model::application::interaction::InteractionContextType;
use twilight_model::guild::Permissions;
use twilight_model::oauth::ApplicationIntegrationType;
use twilight_util::builder::command::{
    CommandBuilder, StringBuilder, SubCommandBuilder, UserBuilder,
};

use crate::config::Category;

/// The staff command.
pub(crate) const TICKET_COMMAND: &str = "ticket";
/// The command anyone may run in their ticket to close it.
pub(crate) const CLOSE_COMMAND: &str = "close";
/// The longest reason a command takes, as the reason form does.
pub(crate) const REASON_MAX_CHARS: u16 = 500;
/// Discord's limit on a text channel's name.
const CHANNEL_NAME_MAX_CHARS: u16 = 100;
/// Discord's limit on an option's choices.
const CHOICES_MAX: usize = 25;
/// Discord's limit on a choice's name.
const CHOICE_NAME_MAX_CHARS: usize = 100;

/// The commands of one guild, whose categories are `categories` (key and category): `/move`
/// offers them as choices while there are at most 25 (Discord's limit), else takes a key or
/// name as typed.
pub(crate) fn guild_commands(categories: &[(&str, &Category)]) -> Vec<Command> {
    let reason = |what: &str| {
        StringBuilder::new("reason", what)
            .max_length(REASON_MAX_CHARS)
            .required(false)
    };
    let mut destination = StringBuilder::new("category", "The category to move the ticket to")
        .required(true)
        .max_length(100);
    if categories.len() <= CHOICES_MAX {
        destination = destination.choices(categories.iter().map(|(key, category)| {
            let name: String = category.name.chars().take(CHOICE_NAME_MAX_CHARS).collect();
            (name, (*key).to_owned())
        }));
    }
    let ticket = CommandBuilder::new(
        TICKET_COMMAND,
        "Staff tools for this ticket",
        CommandType::ChatInput,
    )
    .default_member_permissions(Permissions::MANAGE_CHANNELS)
    .contexts([InteractionContextType::Guild])
    .integration_types([ApplicationIntegrationType::GuildInstall])
    .option(
        SubCommandBuilder::new("add", "Give a member access to this ticket")
            .option(UserBuilder::new("user", "Who to add").required(true)),
    )
    .option(
        SubCommandBuilder::new("remove", "Take a member's access to this ticket away")
            .option(UserBuilder::new("user", "Who to remove").required(true)),
    )
    .option(SubCommandBuilder::new("claim", "Take this ticket on"))
    .option(SubCommandBuilder::new(
        "unclaim",
        "Give this ticket up for someone else",
    ))
    .option(
        SubCommandBuilder::new("close", "Close this ticket now").option(reason(
            "Why it is closed (shown in the log, the DM and the transcript)",
        )),
    )
    .option(
        SubCommandBuilder::new(
            "request-close",
            "Ask the person who opened this ticket to confirm closing it",
        )
        .option(reason("Why it should close (shown to them)")),
    )
    .option(
        SubCommandBuilder::new("rename", "Rename this ticket's channel").option(
            StringBuilder::new("name", "The new channel name")
                .required(true)
                .min_length(1)
                .max_length(CHANNEL_NAME_MAX_CHARS),
        ),
    )
    .option(
        SubCommandBuilder::new("move", "Move this ticket to another category").option(destination),
    )
    .build();
    let close = CommandBuilder::new(CLOSE_COMMAND, "Close this ticket", CommandType::ChatInput)
        .contexts([InteractionContextType::Guild])
        .integration_types([ApplicationIntegrationType::GuildInstall])
        .option(reason(
            "Why it is closed (shown in the log and the transcript)",
        ))
        .build();
    vec![ticket, close]
}

/// Whether the commands Discord holds (`registered`) are the ones `wanted`, whatever Discord
/// adds (ids, versions, defaults written out, the deprecated `dm_permission`).
pub(crate) fn same_commands(registered: &[Command], wanted: &[Command]) -> bool {
    let shapes = |commands: &[Command]| {
        let mut shapes: Vec<Value> = commands.iter().map(shape).collect();
        shapes.sort_by_key(|shape| shape["name"].as_str().unwrap_or_default().to_owned());
        shapes
    };
    shapes(registered) == shapes(wanted)
}

/// What of a command decides how it looks and works: its JSON without what Discord assigns, and
/// without fields whose value is the default (null, false, empty), which Discord may or may not
/// write out.
fn shape(command: &Command) -> Value {
    let mut value = serde_json::to_value(command).unwrap_or_default();
    if let Value::Object(fields) = &mut value {
        for assigned in [
            "id",
            "application_id",
            "guild_id",
            "version",
            "dm_permission",
        ] {
            fields.remove(assigned);
        }
    }
    strip_defaults(&mut value);
    value
}

fn strip_defaults(value: &mut Value) {
    match value {
        Value::Object(fields) => {
            fields.values_mut().for_each(strip_defaults);
            fields.retain(|_, field| !is_default(field));
        }
        Value::Array(items) => items.iter_mut().for_each(strip_defaults),
        _ => {}
    }
}

fn is_default(value: &Value) -> bool {
    match value {
        Value::Null | Value::Bool(false) => true,
        Value::Array(items) => items.is_empty(),
        Value::Object(fields) => fields.is_empty(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tests::category;

    fn commands() -> Vec<Command> {
        let billing = category(1, &[]);
        let mut sales = category(1, &[]);
        sales.name = "Sales".to_owned();
        guild_commands(&[("billing", &billing), ("sales", &sales)])
    }

    #[test]
    fn ticket_holds_every_staff_tool_and_is_hidden_from_members_who_cannot_manage_channels() {
        let json = serde_json::to_value(commands()).unwrap();
        let ticket = &json[0];
        assert_eq!(ticket["name"], TICKET_COMMAND);
        assert_eq!(ticket["default_member_permissions"], "16");
        assert_eq!(ticket["contexts"], serde_json::json!([0]));
        let subcommands: Vec<&str> = ticket["options"]
            .as_array()
            .unwrap()
            .iter()
            .map(|option| option["name"].as_str().unwrap())
            .collect();
        assert_eq!(
            subcommands,
            [
                "add",
                "remove",
                "claim",
                "unclaim",
                "close",
                "request-close",
                "rename",
                "move"
            ]
        );
        let category_option = &ticket["options"][7]["options"][0];
        assert_eq!(category_option["choices"][1]["name"], "Sales");
        assert_eq!(category_option["choices"][1]["value"], "sales");
        let close = &json[1];
        assert_eq!(close["name"], CLOSE_COMMAND);
        assert!(
            close["default_member_permissions"].is_null(),
            "everyone sees /close"
        );
        assert_eq!(close["options"][0]["max_length"], 500);
    }

    #[test]
    fn what_discord_adds_is_not_a_change_but_a_new_choice_or_permission_is() {
        let wanted = commands();
        let mut echoed: Vec<Value> = wanted
            .iter()
            .map(|command| serde_json::to_value(command).unwrap())
            .collect();
        for (index, command) in echoed.iter_mut().enumerate() {
            command["id"] = Value::from(format!("9000000000000000{index}"));
            command["application_id"] = Value::from("100000000000000001");
            command["version"] = Value::from("9100000000000000001");
            command["dm_permission"] = Value::Bool(true);
            command["nsfw"] = Value::Bool(false);
            command["description_localizations"] = Value::Null;
        }
        echoed.reverse();
        let registered: Vec<Command> = serde_json::from_value(Value::Array(echoed)).unwrap();
        assert!(same_commands(&registered, &wanted));
        let only_billing = guild_commands(&[("billing", &category(1, &[]))]);
        assert!(!same_commands(&registered, &only_billing));
        let mut without_permissions = wanted.clone();
        without_permissions[0].default_member_permissions = None;
        assert!(!same_commands(&registered, &without_permissions));
        assert!(!same_commands(&[], &wanted));
    }

    #[test]
    fn more_categories_than_discord_allows_as_choices_are_typed_instead() {
        let base = category(1, &[]);
        let keys: Vec<String> = (0..26).map(|index| format!("c{index}")).collect();
        let many: Vec<(&str, &Category)> = keys.iter().map(|key| (key.as_str(), &base)).collect();
        let json = serde_json::to_value(guild_commands(&many)).unwrap();
        let choices = &json[0]["options"][7]["options"][0]["choices"];
        assert!(choices.as_array().is_none_or(Vec::is_empty), "{choices}");
    }
}
