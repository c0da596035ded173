-- When each ticket's channel last had a message (schema v9), for auto-close of stale tickets.
CREATE TABLE IF NOT EXISTS ticket_activity (
    ticket_id       CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL PRIMARY KEY,
    guild_id        BIGINT NOT NULL,
    last_message_at BIGINT NOT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
