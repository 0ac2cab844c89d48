-- Staff tools. `claimed_by` is the staff member who took the ticket (`/ticket claim` or the Claim
-- button); NULL while nobody has.
ALTER TABLE tickets ADD COLUMN claimed_by BIGINT;

-- Work that must happen later and survive restarts and failover: a row per pending action with
-- its due time. The resume loop of every replica takes due rows with FOR UPDATE SKIP LOCKED and
-- deletes each in the same transaction that does its work, so each fires exactly once however
-- many replicas run. A ticket has at most one timer of each kind; a new request replaces the old.
CREATE TYPE ticket_timer_kind AS ENUM ('close_request');

CREATE TABLE ticket_timers (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ticket_id    BIGINT            NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    kind         ticket_timer_kind NOT NULL,
    due_at       TIMESTAMPTZ       NOT NULL,
    -- Who asked (the staff member of a close request), and why.
    requested_by BIGINT            NOT NULL,
    reason       TEXT,
    -- The message that asks the creator, once posted (so answering it can retire its buttons).
    message_id   BIGINT,
    created_at   TIMESTAMPTZ       NOT NULL DEFAULT now(),
    CONSTRAINT ticket_timers_one_per_kind UNIQUE (ticket_id, kind)
);
CREATE INDEX ticket_timers_due ON ticket_timers (due_at);
