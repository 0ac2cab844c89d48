-- A category may let a member hold several open tickets (maxOpenPerUser). Each open ticket takes
-- one numbered slot, 1 up to the category's maximum, and the unique index gives each slot to
-- one ticket only: racing clicks on any number of replicas can never exceed the maximum, just as
-- the old index (one open ticket per member and category) could never make two. Tickets from
-- before this migration hold slot 1, which is what the old rule meant.
ALTER TABLE tickets ADD COLUMN slot SMALLINT NOT NULL DEFAULT 1 CHECK (slot >= 1);
DROP INDEX tickets_one_open_per_user;
CREATE UNIQUE INDEX tickets_open_slot_per_user
    ON tickets (application_id, guild_id, category_key, user_id, slot)
    WHERE state IN ('opening', 'open');
