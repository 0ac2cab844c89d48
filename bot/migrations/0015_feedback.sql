-- The creator's rating of a closed ticket (1 to 5) and optional comment, given from the DM the
-- bot sends after the close; one per ticket, recorded once.
ALTER TABLE tickets
    ADD COLUMN feedback_rating  SMALLINT CHECK (feedback_rating BETWEEN 1 AND 5),
    ADD COLUMN feedback_comment TEXT,
    ADD COLUMN feedback_at      TIMESTAMPTZ;
