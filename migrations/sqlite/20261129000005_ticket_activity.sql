-- When each ticket's channel last had a message (schema v9), for auto-close of stale tickets.
CREATE TABLE IF NOT EXISTS ticket_activity (
    ticket_id       TEXT NOT NULL PRIMARY KEY,
    guild_id        INTEGER NOT NULL,
    last_message_at INTEGER NOT NULL
);
