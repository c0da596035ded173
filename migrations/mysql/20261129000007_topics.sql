-- Ticket topics and the forms tickets were opened with (schema v11). A topic's name is unique in
-- its guild while it exists: a removed topic keeps its row (old panel buttons name it) with a
-- NULL key, which frees the name.
CREATE TABLE IF NOT EXISTS topics (
    id          CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL PRIMARY KEY,
    guild_id    BIGINT NOT NULL,
    name        VARCHAR(191) NOT NULL,
    name_key    VARCHAR(191) NULL,
    emoji       VARCHAR(191) NULL,
    category_id BIGINT NULL,
    role_id     BIGINT NULL,
    max_open    BIGINT NULL,
    questions   TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    removed_at  BIGINT NULL,
    UNIQUE KEY topics_guild_name_uq (guild_id, name_key)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE IF NOT EXISTS topic_forms (
    ticket_id    CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL PRIMARY KEY,
    guild_id     BIGINT NOT NULL,
    topic_id     CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    topic_name   VARCHAR(191) NOT NULL,
    topic_key    VARCHAR(191) NOT NULL,
    answers      MEDIUMTEXT NOT NULL,
    submitted_at BIGINT NOT NULL,
    KEY topic_forms_topic (topic_key, ticket_id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
