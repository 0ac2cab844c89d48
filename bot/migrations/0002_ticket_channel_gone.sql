-- A ticket whose channel was deleted by hand (or vanished before its transcript was read) closes
-- with a transcript of the messages the bot stored, and its close skips deleting the channel.
ALTER TABLE tickets ADD COLUMN channel_gone BOOLEAN NOT NULL DEFAULT false;
