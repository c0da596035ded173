-- ticketbot schema, MySQL/MariaDB dialect (InnoDB, utf8mb4). Ids are Discord snowflakes as
-- BIGINT (two's complement of the u64), times are microseconds since 1970 UTC.
CREATE TABLE IF NOT EXISTS tickets (
    id           CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL PRIMARY KEY,
    guild_id     BIGINT NOT NULL,
    channel_id   BIGINT NULL,
    creator_id   BIGINT NOT NULL,
    status       VARCHAR(16) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    created_at   BIGINT NOT NULL,
    closed_at    BIGINT NULL,
    closed_by    BIGINT NULL,
    close_reason MEDIUMTEXT NULL,
    claimed_by   BIGINT NULL,
    claimed_at   BIGINT NULL,
    updated_at   BIGINT NOT NULL,
    open_slot    BIGINT NULL,
    UNIQUE KEY tickets_channel_uq (channel_id),
    UNIQUE KEY tickets_open_slot_uq (guild_id, creator_id, open_slot),
    KEY tickets_guild_status_created (guild_id, status, created_at, id),
    KEY tickets_created (created_at, id),
    KEY tickets_creator_created (creator_id, created_at),
    KEY tickets_claimer_created (claimed_by, created_at),
    KEY tickets_updated (updated_at)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE IF NOT EXISTS ticket_participants (
    ticket_id CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    user_id   BIGINT NOT NULL,
    added_by  BIGINT NOT NULL,
    added_at  BIGINT NOT NULL,
    PRIMARY KEY (ticket_id, user_id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE IF NOT EXISTS ticket_events (
    id        CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL PRIMARY KEY,
    ticket_id CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    guild_id  BIGINT NOT NULL,
    kind      VARCHAR(32) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    actor_id  BIGINT NULL,
    at        BIGINT NOT NULL,
    details   MEDIUMTEXT NULL,
    KEY ticket_events_ticket (ticket_id, at, id),
    KEY ticket_events_guild_at (guild_id, at)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE IF NOT EXISTS bot_heartbeats (
    instance_id VARCHAR(191) NOT NULL PRIMARY KEY,
    details     MEDIUMTEXT NOT NULL,
    started_at  BIGINT NOT NULL,
    seen_at     BIGINT NOT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE IF NOT EXISTS ticketbot_meta (
    meta_key   VARCHAR(191) NOT NULL PRIMARY KEY,
    meta_value MEDIUMTEXT NOT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
