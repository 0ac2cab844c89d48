-- The channel categories the bot created for a ticket category whose parent and overflow parents
-- were full (createOverflowParents), numbered in the order created. Replicas and restarts read
-- them before creating another, so one category is created per need, not per replica; the
-- primary key makes a second creation of the same number fail rather than duplicate.
CREATE TABLE created_parents (
    application_id BIGINT      NOT NULL,
    guild_id       BIGINT      NOT NULL,
    category_key   TEXT        NOT NULL,
    ordinal        SMALLINT    NOT NULL CHECK (ordinal >= 1),
    channel_id     BIGINT      NOT NULL UNIQUE,
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (application_id, guild_id, category_key, ordinal)
);
