-- Channel work kept until Discord confirms it (schema v3). Same conventions as v1.
-- `channel_sync`: set (a fresh UUID) by every close and reopen in the same write, cleared by
-- the bot once the channel shows that state; a later change replaces it.
ALTER TABLE tickets ADD COLUMN channel_sync TEXT;
CREATE INDEX IF NOT EXISTS tickets_channel_sync ON tickets (updated_at, id)
    WHERE channel_sync IS NOT NULL;
-- The channel of a deleted ticket, recorded in the delete's transaction before Discord is asked:
-- the only proof the repair accepts that a channel is ours to delete.
CREATE TABLE IF NOT EXISTS channel_deletions (
    channel_id   INTEGER NOT NULL PRIMARY KEY,
    guild_id     INTEGER NOT NULL,
    ticket_id    TEXT    NOT NULL,
    requested_at INTEGER NOT NULL
);
