-- Messages written by staff in ticket channels (schema v7), counted per member and hour: the
-- per-staff "messages" figure of the statistics. Content is never stored.
CREATE TABLE IF NOT EXISTS staff_messages (
    guild_id BIGINT NOT NULL,
    user_id  BIGINT NOT NULL,
    hour     BIGINT NOT NULL,
    n        BIGINT NOT NULL,
    PRIMARY KEY (guild_id, user_id, hour)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
