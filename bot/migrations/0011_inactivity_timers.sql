-- Auto-close of abandoned tickets. A category with autoClose keeps one `inactivity_warning`
-- timer per open ticket, due when the warning is to be posted; every message of the creator
-- moves it later. When it fires, the same transaction deletes it and inserts the
-- `inactivity_close` timer, due when the ticket closes; its `message_id` is the warning message
-- (posted after the commit), whose Keep open button withdraws the close again.
ALTER TYPE ticket_timer_kind ADD VALUE IF NOT EXISTS 'inactivity_warning';
ALTER TYPE ticket_timer_kind ADD VALUE IF NOT EXISTS 'inactivity_close';
