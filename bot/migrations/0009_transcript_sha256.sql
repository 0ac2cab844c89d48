-- The SHA-256 of the whole transcript's Markdown, as the log post shows it. Kept so that a log post
-- made after a restart shows the same hash, and so that a transcript someone presents can be
-- checked against it; the hash of each paste is in `transcript_parts`. A hash reveals nothing of
-- the transcript, so it stays when the links are cleared.
ALTER TABLE tickets ADD COLUMN transcript_sha256 TEXT;
