-- Names of the users and roles the bot meets (schema v6), so that ids read as people. For each
-- id the name seen last wins.
CREATE TABLE IF NOT EXISTS names (
    id      INTEGER NOT NULL PRIMARY KEY,
    kind    TEXT NOT NULL,
    name    TEXT NOT NULL,
    avatar  TEXT,
    seen_at INTEGER NOT NULL
);
