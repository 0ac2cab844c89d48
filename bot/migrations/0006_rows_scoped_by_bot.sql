-- Bots that share one database keep to their own rows: every panel and ticket belongs to the
-- Discord application (the bot) that made it, and each bot reads, resumes and deletes only its
-- own. Rows from before this migration belong to the one bot that used the database then; that
-- bot claims them (application_id IS NULL) when it next starts.
ALTER TABLE panels ADD COLUMN application_id BIGINT;
ALTER TABLE panels DROP CONSTRAINT panels_category_unique;
ALTER TABLE panels ADD CONSTRAINT panels_category_unique UNIQUE (application_id, category_key);

ALTER TABLE tickets ADD COLUMN application_id BIGINT;
-- One open ticket per user per category of one bot.
DROP INDEX tickets_one_open_per_user;
CREATE UNIQUE INDEX tickets_one_open_per_user
    ON tickets (application_id, guild_id, category_key, user_id)
    WHERE state IN ('opening', 'open');
