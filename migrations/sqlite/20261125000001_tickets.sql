-- ticketbot schema, SQLite dialect. Ids are Discord snowflakes stored as INTEGER (two's
-- complement of the u64), times are microseconds since 1970 UTC.
CREATE TABLE IF NOT EXISTS tickets (
    id           TEXT    NOT NULL PRIMARY KEY,  -- UUID v4, hyphenated, lowercase
    guild_id     INTEGER NOT NULL,
    channel_id   INTEGER,
    creator_id   INTEGER NOT NULL,
    status       TEXT    NOT NULL CHECK (status IN ('open', 'closed')),
    created_at   INTEGER NOT NULL,
    closed_at    INTEGER,
    closed_by    INTEGER,
    close_reason TEXT,
    claimed_by   INTEGER,
    claimed_at   INTEGER,
    updated_at   INTEGER NOT NULL,
    -- Which of the creator's open-ticket slots this ticket holds; NULL once closed. The unique
    -- index below is what makes the per-user limit hold under any concurrency.
    open_slot    INTEGER
);
CREATE UNIQUE INDEX IF NOT EXISTS tickets_channel_uq ON tickets (channel_id);
CREATE UNIQUE INDEX IF NOT EXISTS tickets_open_slot_uq ON tickets (guild_id, creator_id, open_slot);
CREATE INDEX IF NOT EXISTS tickets_guild_status_created ON tickets (guild_id, status, created_at, id);
CREATE INDEX IF NOT EXISTS tickets_created ON tickets (created_at, id);
CREATE INDEX IF NOT EXISTS tickets_creator_created ON tickets (creator_id, created_at);
CREATE INDEX IF NOT EXISTS tickets_claimer_created ON tickets (claimed_by, created_at);
CREATE INDEX IF NOT EXISTS tickets_updated ON tickets (updated_at);

CREATE TABLE IF NOT EXISTS ticket_participants (
    ticket_id TEXT    NOT NULL,
    user_id   INTEGER NOT NULL,
    added_by  INTEGER NOT NULL,
    added_at  INTEGER NOT NULL,
    PRIMARY KEY (ticket_id, user_id)
);

-- Append-only history; no foreign key on purpose: it outlives deleted tickets.
CREATE TABLE IF NOT EXISTS ticket_events (
    id        TEXT    NOT NULL PRIMARY KEY,  -- UUID v7
    ticket_id TEXT    NOT NULL,
    guild_id  INTEGER NOT NULL,
    kind      TEXT    NOT NULL,
    actor_id  INTEGER,
    at        INTEGER NOT NULL,
    details   TEXT
);
CREATE INDEX IF NOT EXISTS ticket_events_ticket ON ticket_events (ticket_id, at, id);
CREATE INDEX IF NOT EXISTS ticket_events_guild_at ON ticket_events (guild_id, at);

CREATE TABLE IF NOT EXISTS bot_heartbeats (
    instance_id TEXT    NOT NULL PRIMARY KEY,
    details     TEXT    NOT NULL,
    started_at  INTEGER NOT NULL,
    seen_at     INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS ticketbot_meta (
    meta_key   TEXT NOT NULL PRIMARY KEY,
    meta_value TEXT NOT NULL
);
