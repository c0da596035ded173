-- Channel work kept until Discord confirms it (schema v3), MySQL/MariaDB dialect.
-- `channel_sync`: set (a fresh UUID) by every close and reopen in the same write, cleared by
-- the bot once the channel shows that state; a later change replaces it.
ALTER TABLE tickets
    ADD COLUMN channel_sync CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NULL,
    ADD KEY tickets_channel_sync (channel_sync);
-- The channel of a deleted ticket, recorded in the delete's transaction before Discord is asked:
-- the only proof the repair accepts that a channel is ours to delete.
CREATE TABLE IF NOT EXISTS channel_deletions (
    channel_id   BIGINT NOT NULL PRIMARY KEY,
    guild_id     BIGINT NOT NULL,
    ticket_id    CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    requested_at BIGINT NOT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
