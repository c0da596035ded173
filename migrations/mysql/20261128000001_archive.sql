-- Archive, transcripts, overflow categories, leases (schema v2), MySQL/MariaDB dialect. Same
-- conventions as v1: ids as BIGINT (two's complement of the snowflake), times as microseconds.
ALTER TABLE tickets
    ADD COLUMN archived_at BIGINT NULL,
    ADD COLUMN archive_requested_at BIGINT NULL,
    -- Serves `archivable`: status = 'closed' AND archived_at IS NULL, then a range and the
    -- order on closed_at (no partial indexes on MySQL).
    ADD KEY tickets_archivable (status, archived_at, closed_at, id),
    -- Serves the requested ones (`ticketctl archive`): NULL for almost every row.
    ADD KEY tickets_archive_requested (archive_requested_at);
-- Purge finds deleted tickets' histories by kind and time.
ALTER TABLE ticket_events ADD KEY ticket_events_kind_at (kind, at);

-- One header per ticket; `version` names the set of chunks that make up the current bytes, so
-- that a replace switches from one complete set to the other in one write.
CREATE TABLE IF NOT EXISTS transcripts (
    ticket_id     CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL PRIMARY KEY,
    guild_id      BIGINT NOT NULL,
    created_at    BIGINT NOT NULL,
    message_count BIGINT NOT NULL,
    size          BIGINT NOT NULL,
    chunks        BIGINT NOT NULL,
    version       CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- Chunks of at most 1 MiB (TRANSCRIPT_CHUNK_BYTES): each row fits the default packet size.
CREATE TABLE IF NOT EXISTS transcript_chunks (
    ticket_id CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    version   CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    seq       BIGINT NOT NULL,
    data      MEDIUMBLOB NOT NULL,
    PRIMARY KEY (ticket_id, version, seq)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE IF NOT EXISTS overflow_categories (
    category_id BIGINT NOT NULL PRIMARY KEY,
    guild_id    BIGINT NOT NULL,
    base_id     BIGINT NOT NULL,
    kind        VARCHAR(16) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    number      BIGINT NOT NULL,
    created_at  BIGINT NOT NULL,
    UNIQUE KEY overflow_categories_base_number_uq (base_id, number),
    KEY overflow_categories_guild_base (guild_id, base_id, number)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE IF NOT EXISTS leases (
    lease_key VARCHAR(191) NOT NULL PRIMARY KEY,
    holder    VARCHAR(191) NOT NULL,
    until     BIGINT NOT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
