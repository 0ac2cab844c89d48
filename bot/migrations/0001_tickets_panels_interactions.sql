-- The bot's durable state: tickets (with the close state machine), the messages counted in them,
-- panel messages, and the interaction ids already handled (de-duplication across replicas).

CREATE TABLE tickets (
    id                      BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    guild_id                BIGINT      NOT NULL,
    category_key            TEXT        NOT NULL,
    user_id                 BIGINT      NOT NULL,
    -- NULL while the Discord channel is being created.
    channel_id              BIGINT,
    state                   TEXT        NOT NULL DEFAULT 'opening',
    open_interaction_id     BIGINT      NOT NULL,
    message_count           INTEGER     NOT NULL DEFAULT 0,
    additional_users        BIGINT[]    NOT NULL DEFAULT '{}',
    closed_by               BIGINT,
    close_reason            TEXT,
    transcript_url          TEXT,
    transcript_delete_token TEXT,
    -- Every uploaded part when a transcript had to be split: [{"id","url","delete_token"}, ...].
    transcript_parts        JSONB       NOT NULL DEFAULT '[]',
    created_at              TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at              TIMESTAMPTZ NOT NULL DEFAULT now(),
    closed_at               TIMESTAMPTZ,
    CONSTRAINT tickets_state_known CHECK (state IN (
        'opening', 'open', 'closing', 'transcript_stored', 'logged', 'notified', 'channel_deleted', 'closed'
    )),
    CONSTRAINT tickets_open_interaction_unique UNIQUE (open_interaction_id)
);

-- One open ticket per user per category: a double click or a second replica can never make two.
-- A ticket that is closing no longer counts, so a slow close never blocks the user's next ticket.
CREATE UNIQUE INDEX tickets_one_open_per_user
    ON tickets (guild_id, category_key, user_id)
    WHERE state IN ('opening', 'open');

CREATE UNIQUE INDEX tickets_channel_unique ON tickets (channel_id) WHERE channel_id IS NOT NULL;
CREATE INDEX tickets_unfinished_close ON tickets (state) WHERE state NOT IN ('opening', 'open', 'closed');

-- Messages seen in ticket channels: the primary key makes counting idempotent when several replicas
-- receive the same MESSAGE_CREATE, and the snapshot keeps the conversation if the channel vanishes.
CREATE TABLE ticket_messages (
    message_id  BIGINT      PRIMARY KEY,
    ticket_id   BIGINT      NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    author_id   BIGINT      NOT NULL,
    snapshot    JSONB       NOT NULL,
    deleted     BOOLEAN     NOT NULL DEFAULT false,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX ticket_messages_by_ticket ON ticket_messages (ticket_id, message_id);

CREATE TABLE panels (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    category_key TEXT        NOT NULL,
    guild_id     BIGINT      NOT NULL,
    channel_id   BIGINT      NOT NULL,
    message_id   BIGINT      NOT NULL,
    -- Hash of the rendered panel (text and button), so an unchanged panel is never edited.
    content_hash TEXT        NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT panels_category_unique UNIQUE (category_key)
);

CREATE TABLE processed_interactions (
    interaction_id BIGINT      PRIMARY KEY,
    processed_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX processed_interactions_age ON processed_interactions (processed_at);
