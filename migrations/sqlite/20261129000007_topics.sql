-- Ticket topics and the forms tickets were opened with (schema v11). A topic's name is unique in
-- its guild while it exists: a removed topic keeps its row (old panel buttons name it) with a
-- NULL key, which frees the name.
CREATE TABLE IF NOT EXISTS topics (
    id          TEXT NOT NULL PRIMARY KEY,
    guild_id    INTEGER NOT NULL,
    name        TEXT NOT NULL,
    name_key    TEXT,
    emoji       TEXT,
    category_id INTEGER,
    role_id     INTEGER,
    max_open    INTEGER,
    questions   TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    removed_at  INTEGER
);
CREATE UNIQUE INDEX IF NOT EXISTS topics_guild_name_uq ON topics (guild_id, name_key);

CREATE TABLE IF NOT EXISTS topic_forms (
    ticket_id    TEXT NOT NULL PRIMARY KEY,
    guild_id     INTEGER NOT NULL,
    topic_id     TEXT NOT NULL,
    topic_name   TEXT NOT NULL,
    topic_key    TEXT NOT NULL,
    answers      TEXT NOT NULL,
    submitted_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS topic_forms_topic ON topic_forms (topic_key, ticket_id);
