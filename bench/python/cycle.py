"""The Python bot's store layer, reproduced for side-by-side measurement.

Its SQL, its tables (legacy-schema.md) and its way of calling them: one connection, a commit
per call (Python's sqlite3 module / mysql-connector). One cycle is what a ticket's life costs
it: INSERT the row, set its channel, claim (looked up by channel, then the conditional
UPDATE), close (looked up by channel, then UPDATE).

    python3 cycle.py sqlite PATH CYCLES
    python3 cycle.py mysql DATABASE CYCLES     (127.0.0.1:3306, root, no password)

Prints one line: `cycles=<n> seconds=<s>`.
"""

import sys
import time
import uuid
from datetime import datetime, timezone

GUILD = 1_000_000_000_000_000_001
STAFF = 2_000_000_000_000_000_001
CREATOR_BASE = 3_000_000_000_000_000_000
CHANNEL_BASE = 4_000_000_000_000_000_000


def connect(kind, where):
    if kind == "sqlite":
        import sqlite3

        conn = sqlite3.connect(where)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.executescript(
            """CREATE TABLE IF NOT EXISTS tickets (
                   id TEXT PRIMARY KEY, guild_id TEXT NOT NULL, channel_id TEXT NULL,
                   creator_id TEXT NOT NULL, status TEXT NOT NULL,
                   created_at TIMESTAMP NOT NULL, closed_at TIMESTAMP, claimed_by TEXT);
               CREATE INDEX IF NOT EXISTS idx_ticket_channel ON tickets(channel_id);
               CREATE INDEX IF NOT EXISTS idx_ticket_guild_status ON tickets(guild_id, status);"""
        )
        conn.commit()
        return conn, "?"
    import mysql.connector

    server = mysql.connector.connect(host="127.0.0.1", port=3306, user="root", password="")
    cur = server.cursor()
    cur.execute(f"CREATE DATABASE IF NOT EXISTS `{where}` CHARACTER SET utf8mb4")
    server.close()
    conn = mysql.connector.connect(
        host="127.0.0.1", port=3306, user="root", password="", database=where
    )
    cur = conn.cursor()
    cur.execute(
        """CREATE TABLE IF NOT EXISTS tickets (
               id VARCHAR(36) PRIMARY KEY, guild_id BIGINT NOT NULL, channel_id BIGINT,
               creator_id BIGINT NOT NULL, status VARCHAR(16) NOT NULL,
               created_at DATETIME NOT NULL, closed_at DATETIME, claimed_by BIGINT,
               KEY idx_channel (channel_id), KEY idx_guild_status (guild_id, status))"""
    )
    conn.commit()
    return conn, "%s"


def main():
    kind, where, cycles = sys.argv[1], sys.argv[2], int(sys.argv[3])
    conn, p = connect(kind, where)

    def call(sql, args, fetch=False):
        cur = conn.cursor()
        cur.execute(sql.replace("?", p), args)
        row = cur.fetchone() if fetch else None
        conn.commit()
        return row

    start = time.perf_counter()
    for i in range(cycles):
        tid = str(uuid.uuid4())
        channel = CHANNEL_BASE + i
        call(
            "INSERT INTO tickets (id, guild_id, creator_id, status, created_at) "
            "VALUES (?, ?, ?, 'open', ?)",
            (tid, GUILD, CREATOR_BASE + i, datetime.now(timezone.utc)),
        )
        call("UPDATE tickets SET channel_id = ? WHERE id = ?", (channel, tid))
        row = call("SELECT * FROM tickets WHERE channel_id = ?", (channel,), fetch=True)
        call(
            "UPDATE tickets SET claimed_by = ? WHERE id = ? AND claimed_by IS NULL",
            (STAFF, row[0]),
        )
        row = call("SELECT * FROM tickets WHERE channel_id = ?", (channel,), fetch=True)
        call(
            "UPDATE tickets SET status = 'closed', closed_at = ? WHERE id = ?",
            (datetime.now(timezone.utc), row[0]),
        )
    seconds = time.perf_counter() - start
    print(f"cycles={cycles} seconds={seconds:.6f}")


if __name__ == "__main__":
    main()
