//! The names of the bot's Discord REST calls, a leaf every other room may use: the wrapper in
//! `discord` sends them, errors name them, metrics count them.

/// Every Discord REST call the bot makes. Each names its route (as Discord's docs write it),
/// what the bot was doing (for errors and logs: "Discord refused to …") and a metric label.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DiscordCall {
    /// At start: who the bot is.
    ReadBotUser,
    /// At start, when the config names no application id.
    ReadApplication,
    /// The deferred answer to a button click, within Discord's 3 seconds.
    AcknowledgeClick,
    /// The clicker's reply, edited into the deferred answer.
    AnswerClick,
    /// A new ticket's private channel.
    CreateTicketChannel,
    /// A new thread-mode ticket's private thread.
    CreateTicketThread,
    /// Finding the thread a crashed opening did create.
    FindCreatedThread,
    /// Making someone a member of a ticket's thread.
    AddThreadMember,
    /// Taking someone out of a ticket's thread.
    RemoveThreadMember,
    /// Unarchiving a ticket's thread Discord archived, so that it can change again.
    UnarchiveThread,
    /// Finding the channel a crashed opening did create.
    FindCreatedChannel,
    /// The parent category copied by a created overflow parent (its name and overwrites).
    ReadTicketParent,
    /// Finding the overflow parent a crashed creation did make.
    FindCreatedParent,
    /// One more parent category for a category whose parents are full.
    CreateOverflowParent,
    /// A channel created for an opening that lost its race.
    DeleteOrphanedChannel,
    /// The welcome message with the close button.
    PostWelcome,
    /// Pinning the welcome message.
    PinWelcome,
    /// Looking for a welcome message already posted.
    ReadTicketChannel,
    /// Catching up on messages sent while the gateway was away.
    CatchUpMessages,
    /// Every message of a closing ticket, for its transcript.
    ReadTranscriptMessages,
    /// A stored message of a closing ticket read again for its files' current links (Discord's
    /// attachment links expire).
    ReadTranscriptMessage,
    /// Role names for a transcript's mentions.
    ReadTranscriptRoles,
    /// The server's name and icon for a transcript.
    ReadTranscriptGuild,
    /// A member's nickname for a transcript.
    ReadTranscriptMember,
    /// Whether a closed-ticket notice was already posted (before a restart).
    ReadRecentMessages,
    /// The transcript link in the log channel or the creator's DM.
    PostClosedNotice,
    /// The DM channel with a ticket's creator.
    OpenCreatorDm,
    /// The last step of a close.
    DeleteTicketChannel,
    /// Whether a stored panel message still exists.
    ReadPanel,
    /// A category's panel with its open button.
    PostPanel,
    /// A panel whose text or button changed.
    EditPanel,
    /// A panel whose category is gone or moved.
    DeletePanel,
    /// The status check: the category's channels.
    CheckGuildChannels,
    /// The status check: the category's roles.
    CheckGuildRoles,
    /// The status check: the bot's own roles.
    CheckBotMember,
    /// Whether a guild's slash commands are the bot's current ones.
    ReadGuildCommands,
    /// A guild's slash commands, replaced when their definition changed.
    RegisterGuildCommands,
    /// A ticket channel's permission overwrites, before they are changed.
    ReadTicketAccess,
    /// Who may see and write in a ticket (one permission overwrite).
    EditTicketAccess,
    /// A permission overwrite a ticket no longer needs.
    RemoveTicketAccess,
    /// A ticket channel's name, topic or category.
    EditTicketChannel,
    /// A ticket's first message once its claim changed.
    EditWelcome,
    /// The message asking a ticket's creator to confirm a close.
    PostCloseRequest,
    /// A close request's message once answered.
    EditCloseRequest,
    /// A closed ticket's log post, with the creator's rating added.
    EditLogPost,
    /// The DM asking for a rating, its buttons retired once rated.
    EditFeedbackDm,
    /// The warning posted in an abandoned ticket before it closes.
    PostInactivityWarning,
    /// An inactivity warning once withdrawn (its button retired).
    EditInactivityWarning,
}

impl DiscordCall {
    /// The route, e.g. `POST /guilds/{guild_id}/channels`.
    pub const fn route(self) -> &'static str {
        match self {
            Self::ReadBotUser => "GET /users/@me",
            Self::ReadApplication => "GET /applications/@me",
            Self::AcknowledgeClick => {
                "POST /interactions/{interaction_id}/{interaction_token}/callback"
            }
            Self::AnswerClick => {
                "PATCH /webhooks/{application_id}/{interaction_token}/messages/@original"
            }
            Self::CreateTicketChannel | Self::CreateOverflowParent => {
                "POST /guilds/{guild_id}/channels"
            }
            Self::CreateTicketThread => "POST /channels/{channel_id}/threads",
            Self::FindCreatedThread => "GET /guilds/{guild_id}/threads/active",
            Self::AddThreadMember => "PUT /channels/{channel_id}/thread-members/{user_id}",
            Self::RemoveThreadMember => "DELETE /channels/{channel_id}/thread-members/{user_id}",
            Self::FindCreatedChannel | Self::FindCreatedParent | Self::CheckGuildChannels => {
                "GET /guilds/{guild_id}/channels"
            }
            Self::DeleteOrphanedChannel | Self::DeleteTicketChannel => {
                "DELETE /channels/{channel_id}"
            }
            Self::PostWelcome
            | Self::PostClosedNotice
            | Self::PostPanel
            | Self::PostCloseRequest
            | Self::PostInactivityWarning => "POST /channels/{channel_id}/messages",
            Self::PinWelcome => "PUT /channels/{channel_id}/messages/pins/{message_id}",
            Self::ReadTicketChannel
            | Self::CatchUpMessages
            | Self::ReadTranscriptMessages
            | Self::ReadRecentMessages => "GET /channels/{channel_id}/messages",
            Self::ReadTranscriptRoles | Self::CheckGuildRoles => "GET /guilds/{guild_id}/roles",
            Self::ReadTranscriptGuild => "GET /guilds/{guild_id}",
            Self::ReadTranscriptMember | Self::CheckBotMember => {
                "GET /guilds/{guild_id}/members/{user_id}"
            }
            Self::OpenCreatorDm => "POST /users/@me/channels",
            Self::ReadPanel | Self::ReadTranscriptMessage => {
                "GET /channels/{channel_id}/messages/{message_id}"
            }
            Self::EditPanel
            | Self::EditWelcome
            | Self::EditCloseRequest
            | Self::EditLogPost
            | Self::EditFeedbackDm
            | Self::EditInactivityWarning => "PATCH /channels/{channel_id}/messages/{message_id}",
            Self::DeletePanel => "DELETE /channels/{channel_id}/messages/{message_id}",
            Self::ReadGuildCommands => {
                "GET /applications/{application_id}/guilds/{guild_id}/commands"
            }
            Self::RegisterGuildCommands => {
                "PUT /applications/{application_id}/guilds/{guild_id}/commands"
            }
            Self::ReadTicketAccess | Self::ReadTicketParent => "GET /channels/{channel_id}",
            Self::EditTicketAccess => "PUT /channels/{channel_id}/permissions/{overwrite_id}",
            Self::RemoveTicketAccess => "DELETE /channels/{channel_id}/permissions/{overwrite_id}",
            Self::EditTicketChannel | Self::UnarchiveThread => "PATCH /channels/{channel_id}",
        }
    }

    /// What the bot was doing, completing "Discord refused to …".
    pub const fn action(self) -> &'static str {
        match self {
            Self::ReadBotUser => "read the bot's user",
            Self::ReadApplication => "read the bot's application",
            Self::AcknowledgeClick => "acknowledge the click",
            Self::AnswerClick => "answer the click",
            Self::CreateTicketChannel => "create the ticket channel",
            Self::CreateTicketThread => "create the ticket thread",
            Self::FindCreatedThread => "list the server's active threads",
            Self::AddThreadMember => "add someone to the ticket thread",
            Self::RemoveThreadMember => "take someone out of the ticket thread",
            Self::UnarchiveThread => "unarchive the ticket thread",
            Self::FindCreatedChannel => "list the server's channels",
            Self::ReadTicketParent => "read the ticket parent category",
            Self::FindCreatedParent => "look for an overflow category already created",
            Self::CreateOverflowParent => "create an overflow category",
            Self::DeleteOrphanedChannel => "delete an orphaned ticket channel",
            Self::PostWelcome => "post the ticket's first message",
            Self::PinWelcome => "pin the ticket's first message",
            Self::ReadTicketChannel => "read the ticket channel",
            Self::CatchUpMessages => "read a ticket's messages missed by the gateway",
            Self::ReadTranscriptMessages => "read the ticket's messages",
            Self::ReadTranscriptMessage => "read a ticket message's files",
            Self::ReadTranscriptRoles => "read the guild's roles",
            Self::ReadTranscriptGuild => "read the guild",
            Self::ReadTranscriptMember => "read a member's names",
            Self::ReadRecentMessages => "read recent messages",
            Self::PostClosedNotice => "post about the closed ticket",
            Self::OpenCreatorDm => "open a DM with the ticket's creator",
            Self::DeleteTicketChannel => "delete the ticket channel",
            Self::ReadPanel => "read the panel",
            Self::PostPanel => "post the panel",
            Self::EditPanel => "edit the panel",
            Self::DeletePanel => "delete the old panel",
            Self::CheckGuildChannels => "list the guild's channels",
            Self::CheckGuildRoles => "list the guild's roles",
            Self::CheckBotMember => "read the bot's membership",
            Self::ReadGuildCommands => "read the server's slash commands",
            Self::RegisterGuildCommands => "register the server's slash commands",
            Self::ReadTicketAccess => "read the ticket channel's permissions",
            Self::EditTicketAccess => "change who may use the ticket channel",
            Self::RemoveTicketAccess => "take back someone's access to the ticket channel",
            Self::EditTicketChannel => "edit the ticket channel",
            Self::EditWelcome => "edit the ticket's first message",
            Self::PostCloseRequest => "post the close request",
            Self::EditCloseRequest => "edit the close request",
            Self::EditLogPost => "add the rating to the log post",
            Self::EditFeedbackDm => "retire the rating buttons",
            Self::PostInactivityWarning => "post the inactivity warning",
            Self::EditInactivityWarning => "edit the inactivity warning",
        }
    }

    /// The `call` label of the REST metrics, e.g. `create_ticket_channel`.
    pub const fn label(self) -> &'static str {
        match self {
            Self::ReadBotUser => "read_bot_user",
            Self::ReadApplication => "read_application",
            Self::AcknowledgeClick => "acknowledge_click",
            Self::AnswerClick => "answer_click",
            Self::CreateTicketChannel => "create_ticket_channel",
            Self::CreateTicketThread => "create_ticket_thread",
            Self::FindCreatedThread => "find_created_thread",
            Self::AddThreadMember => "add_thread_member",
            Self::RemoveThreadMember => "remove_thread_member",
            Self::UnarchiveThread => "unarchive_thread",
            Self::FindCreatedChannel => "find_created_channel",
            Self::ReadTicketParent => "read_ticket_parent",
            Self::FindCreatedParent => "find_created_parent",
            Self::CreateOverflowParent => "create_overflow_parent",
            Self::DeleteOrphanedChannel => "delete_orphaned_channel",
            Self::PostWelcome => "post_welcome",
            Self::PinWelcome => "pin_welcome",
            Self::ReadTicketChannel => "read_ticket_channel",
            Self::CatchUpMessages => "catch_up_messages",
            Self::ReadTranscriptMessages => "read_transcript_messages",
            Self::ReadTranscriptMessage => "read_transcript_message",
            Self::ReadTranscriptRoles => "read_transcript_roles",
            Self::ReadTranscriptGuild => "read_transcript_guild",
            Self::ReadTranscriptMember => "read_transcript_member",
            Self::ReadRecentMessages => "read_recent_messages",
            Self::PostClosedNotice => "post_closed_notice",
            Self::OpenCreatorDm => "open_creator_dm",
            Self::DeleteTicketChannel => "delete_ticket_channel",
            Self::ReadPanel => "read_panel",
            Self::PostPanel => "post_panel",
            Self::EditPanel => "edit_panel",
            Self::DeletePanel => "delete_panel",
            Self::CheckGuildChannels => "check_guild_channels",
            Self::CheckGuildRoles => "check_guild_roles",
            Self::CheckBotMember => "check_bot_member",
            Self::ReadGuildCommands => "read_guild_commands",
            Self::RegisterGuildCommands => "register_guild_commands",
            Self::ReadTicketAccess => "read_ticket_access",
            Self::EditTicketAccess => "edit_ticket_access",
            Self::RemoveTicketAccess => "remove_ticket_access",
            Self::EditTicketChannel => "edit_ticket_channel",
            Self::EditWelcome => "edit_welcome",
            Self::PostCloseRequest => "post_close_request",
            Self::EditCloseRequest => "edit_close_request",
            Self::EditLogPost => "edit_log_post",
            Self::EditFeedbackDm => "edit_feedback_dm",
            Self::PostInactivityWarning => "post_inactivity_warning",
            Self::EditInactivityWarning => "edit_inactivity_warning",
        }
    }
}
