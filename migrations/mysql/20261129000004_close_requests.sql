-- Close requests (schema v8): staff ask a ticket's creator to confirm it can close; with no
-- answer by the deadline it closes. One per ticket; `due_at` is when a process next acts on it
-- (the deadline while pending, a retry time once settled), so the sweep reads one index.
CREATE TABLE IF NOT EXISTS close_requests (
    ticket_id    CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL PRIMARY KEY,
    id           CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    guild_id     BIGINT NOT NULL,
    requested_by BIGINT NOT NULL,
    reason       TEXT NULL,
    requested_at BIGINT NOT NULL,
    deadline     BIGINT NOT NULL,
    state        VARCHAR(16) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    due_at       BIGINT NOT NULL,
    UNIQUE KEY close_requests_id (id),
    KEY close_requests_due (due_at)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
