-- A ticket keeps its messages' snapshots only until its transcript is stored: from then on the
-- encrypted transcript is the conversation's only copy. The bot deletes them in the transaction
-- that records the transcript; this deletes the ones kept before it did.
DELETE FROM ticket_messages m
USING tickets t
WHERE m.ticket_id = t.id
  AND t.state NOT IN ('opening', 'open', 'closing');
