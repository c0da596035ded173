-- Archive, transcripts, overflow categories, leases (schema v2). Same conventions as v1: ids as
-- INTEGER (two's complement of the snowflake), times as microseconds since 1970 UTC.
ALTER TABLE tickets ADD COLUMN archived_at INTEGER;
ALTER TABLE tickets ADD COLUMN archive_requested_at INTEGER;
-- Serves `archivable`: closed, not archived, with a channel, oldest close first. Partial, so it
-- holds only the tickets still to archive.
CREATE INDEX IF NOT EXISTS tickets_archivable ON tickets (closed_at, id)
    WHERE status = 'closed' AND archived_at IS NULL AND channel_id IS NOT NULL;
-- Serves the requested ones (`ticketctl archive`): few at any time, so a small index.
CREATE INDEX IF NOT EXISTS tickets_archive_requested ON tickets (archive_requested_at)
    WHERE archive_requested_at IS NOT NULL;
-- Purge finds deleted tickets' histories by kind and time.
CREATE INDEX IF NOT EXISTS ticket_events_kind_at ON ticket_events (kind, at);

-- One header per ticket; `version` names the set of chunks that make up the current bytes, so
-- that a replace switches from one complete set to the other in one write.
CREATE TABLE IF NOT EXISTS transcripts (
    ticket_id     TEXT    NOT NULL PRIMARY KEY,
    guild_id      INTEGER NOT NULL,
    created_at    INTEGER NOT NULL,
    message_count INTEGER NOT NULL,
    size          INTEGER NOT NULL,
    chunks        INTEGER NOT NULL,
    version       TEXT    NOT NULL
);
CREATE TABLE IF NOT EXISTS transcript_chunks (
    ticket_id TEXT    NOT NULL,
    version   TEXT    NOT NULL,
    seq       INTEGER NOT NULL,
    data      BLOB    NOT NULL,
    PRIMARY KEY (ticket_id, version, seq)
);

CREATE TABLE IF NOT EXISTS overflow_categories (
    category_id INTEGER NOT NULL PRIMARY KEY,
    guild_id    INTEGER NOT NULL,
    base_id     INTEGER NOT NULL,
    kind        TEXT    NOT NULL,
    number      INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    UNIQUE (base_id, number)
);
CREATE INDEX IF NOT EXISTS overflow_categories_guild_base ON overflow_categories (guild_id, base_id, number);

CREATE TABLE IF NOT EXISTS leases (
    lease_key TEXT    NOT NULL PRIMARY KEY,
    holder    TEXT    NOT NULL,
    until     INTEGER NOT NULL
);
