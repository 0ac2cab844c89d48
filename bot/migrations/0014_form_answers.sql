-- The answers a ticket's creator gave to its category's questions before it opened, in question
-- order, with the question as it was asked. Kept while the ticket's first message may still have
-- to be posted (a repair re-renders them); deleted with the message snapshots once the transcript
-- is stored, since the transcript then holds them and the database must not keep a readable copy.
CREATE TABLE ticket_form_answers (
    ticket_id BIGINT   NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    position  SMALLINT NOT NULL,
    question  TEXT     NOT NULL,
    answer    TEXT     NOT NULL,
    PRIMARY KEY (ticket_id, position)
);
