-- Which process drives a ticket's close, as a row with an expiry instead of a session advisory
-- lock: a session lock pins a pooled connection for the whole close, across Discord and
-- PrivateBin round trips and the upload queue, so enough simultaneous closes starved every other
-- query. The holder renews its leases while it works; a crashed holder's lease expires.
CREATE TABLE close_leases (
    ticket_id BIGINT PRIMARY KEY REFERENCES tickets (id) ON DELETE CASCADE,
    holder BIGINT NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);
