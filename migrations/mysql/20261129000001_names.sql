-- Names of the users and roles the bot meets (schema v6), so that ids read as people. For each
-- id the name seen last wins.
CREATE TABLE IF NOT EXISTS names (
    id      BIGINT NOT NULL PRIMARY KEY,
    kind    VARCHAR(8) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    name    VARCHAR(100) NOT NULL,
    avatar  VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NULL,
    seen_at BIGINT NOT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
