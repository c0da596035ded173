-- Messages written by staff in ticket channels (schema v7), counted per member and hour: the
-- per-staff "messages" figure of the statistics. Content is never stored.
CREATE TABLE IF NOT EXISTS staff_messages (
    guild_id INTEGER NOT NULL,
    user_id  INTEGER NOT NULL,
    hour     INTEGER NOT NULL,
    n        INTEGER NOT NULL,
    PRIMARY KEY (guild_id, user_id, hour)
);
