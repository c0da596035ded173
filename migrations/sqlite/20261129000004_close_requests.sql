-- Close requests (schema v8): staff ask a ticket's creator to confirm it can close; with no
-- answer by the deadline it closes. One per ticket; `due_at` is when a process next acts on it
-- (the deadline while pending, a retry time once settled), so the sweep reads one index.
CREATE TABLE IF NOT EXISTS close_requests (
    ticket_id    TEXT NOT NULL PRIMARY KEY,
    id           TEXT NOT NULL UNIQUE,
    guild_id     INTEGER NOT NULL,
    requested_by INTEGER NOT NULL,
    reason       TEXT,
    requested_at INTEGER NOT NULL,
    deadline     INTEGER NOT NULL,
    state        TEXT NOT NULL,
    due_at       INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS close_requests_due ON close_requests (due_at);
