-- A ticket's state becomes a Postgres enum: an unknown state is refused by the type itself, the
-- bot maps it to its own enum, and the values sort in lifecycle order. The two partial indexes
-- that name states are rebuilt against the new type (their stored predicates compare text).
CREATE TYPE ticket_state AS ENUM (
    'opening', 'open', 'closing', 'transcript_stored', 'logged', 'notified', 'channel_deleted', 'closed'
);
DROP INDEX tickets_one_open_per_user;
DROP INDEX tickets_unfinished_close;
ALTER TABLE tickets DROP CONSTRAINT tickets_state_known;
ALTER TABLE tickets ALTER COLUMN state DROP DEFAULT;
ALTER TABLE tickets ALTER COLUMN state TYPE ticket_state USING state::ticket_state;
ALTER TABLE tickets ALTER COLUMN state SET DEFAULT 'opening';

-- One open ticket per user per category: a double click or a second replica can never make two.
-- A ticket that is closing no longer counts, so a slow close never blocks the user's next ticket.
CREATE UNIQUE INDEX tickets_one_open_per_user
    ON tickets (guild_id, category_key, user_id)
    WHERE state IN ('opening', 'open');
CREATE INDEX tickets_unfinished_close ON tickets (state) WHERE state NOT IN ('opening', 'open', 'closed');
