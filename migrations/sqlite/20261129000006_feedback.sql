-- Ratings of closed tickets by their creators (schema v10): one per ticket. `given_at` is when
-- the rating was first given (the change window runs from it).
CREATE TABLE IF NOT EXISTS feedback (
    ticket_id  TEXT NOT NULL PRIMARY KEY,
    user_id    INTEGER NOT NULL,
    rating     INTEGER NOT NULL CHECK (rating BETWEEN 1 AND 5),
    comment    TEXT,
    given_at   INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
