-- When a ticket's transcript expires on PrivateBin (NULL: never, or closed before this was
-- recorded). Once that time has passed, the bot clears the transcript's URL and delete tokens:
-- they lead nowhere, and the URL holds the key.
ALTER TABLE tickets ADD COLUMN transcript_expires_at TIMESTAMPTZ;
CREATE INDEX tickets_transcript_expiry ON tickets (transcript_expires_at)
    WHERE transcript_expires_at IS NOT NULL;
