-- Ratings of closed tickets by their creators (schema v10): one per ticket. `given_at` is when
-- the rating was first given (the change window runs from it).
CREATE TABLE IF NOT EXISTS feedback (
    ticket_id  CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL PRIMARY KEY,
    user_id    BIGINT NOT NULL,
    rating     BIGINT NOT NULL,
    comment    TEXT NULL,
    given_at   BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    CONSTRAINT feedback_rating CHECK (rating BETWEEN 1 AND 5)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
