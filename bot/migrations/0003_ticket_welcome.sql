-- The ticket's first message (mentions and the Close button) is posted and pinned as a durable
-- step: a failure is retried until both are done. Tickets opened before this migration had theirs
-- posted already, so they start out done; new tickets start out not done.
ALTER TABLE tickets ADD COLUMN welcome_message_id BIGINT;
ALTER TABLE tickets ADD COLUMN welcome_pinned BOOLEAN NOT NULL DEFAULT true;
ALTER TABLE tickets ALTER COLUMN welcome_pinned SET DEFAULT false;
