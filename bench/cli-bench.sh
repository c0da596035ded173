#!/usr/bin/env bash
# ticketctl on 1,000,000 tickets, beside the bare sqlite3 / mariadb CLI running the equivalent
# queries, in one run (hyperfine); then `migrate` sqlite -> mysql: rows/s and peak RSS.
#
#   bash bench/cli-bench.sh [TICKETS]        (needs sqlite3, mariadb, hyperfine, GNU time)
#
# BASELINE=/path/to/an/older/ticketctl adds its runs beside ours (before/after in one run);
# SQLITE_ONLY=1 stops after the SQLite table; GENERATE_ONLY=1 after generating the database.
#
# The SQLite database is generated with SQL (seconds, not minutes); MySQL gets its copy from
# `ticketctl migrate`, which is the migrate measurement.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-1000000}
WORK=${BENCH_DIR:-/tmp/ticketbot-cli-bench}
DB=$WORK/tickets.db
MYSQL_DB=tb_clibench
MYSQL_URL="mysql://root@127.0.0.1:3306/$MYSQL_DB"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
cargo build --release -q -p ticketctl
T=${TICKETCTL:-$CARGO_TARGET_DIR/release/ticketctl}
rm -rf "$WORK" && mkdir -p "$WORK"

echo "== generating $N tickets in $DB"
# The schema as the store makes it (every migration, recorded as applied).
touch "$DB" && TICKETCTL_DATABASE_URL="sqlite://$DB" "$T" status > /dev/null
sqlite3 "$DB" <<SQL
PRAGMA journal_mode = WAL;
CREATE TEMP TABLE n AS WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < $N) SELECT i FROM c;
-- 10 guilds, ~10% open, half claimed by 25 staff, 80% answered, a ticket every 30 s for a year.
INSERT INTO tickets (id, guild_id, channel_id, creator_id, status, created_at, closed_at, closed_by,
                     close_reason, claimed_by, claimed_at, updated_at, open_slot,
                     first_response_at, first_response_by)
SELECT printf('%08x-%04x-4%03x-%04x-%012x', abs(random()) % 4294967296, i % 65536, abs(random()) % 4096,
              32768 + abs(random()) % 16384, i),
       1000 + i % 10, 900000000000000000 + i, 100000000000000000 + i,
       CASE WHEN i % 10 = 0 THEN 'open' ELSE 'closed' END,
       1700000000000000 + i * 30000000,
       CASE WHEN i % 10 = 0 THEN NULL ELSE 1700000000000000 + i * 30000000 + (60 + i % 86400) * 1000000 END,
       CASE WHEN i % 10 = 0 THEN NULL ELSE 200000000000000000 + i % 25 END,
       CASE WHEN i % 10 = 0 THEN NULL ELSE 'resolved' END,
       CASE WHEN i % 2 = 0 THEN 200000000000000000 + i % 25 END,
       CASE WHEN i % 2 = 0 THEN 1700000000000000 + i * 30000000 + 30000000 END,
       1700000000000000 + i * 30000000 + 86400000000,
       CASE WHEN i % 10 = 0 THEN 0 END,
       CASE WHEN i % 5 <> 0 THEN 1700000000000000 + i * 30000000 + (45 + i % 3600) * 1000000 END,
       CASE WHEN i % 5 <> 0 THEN 200000000000000000 + i % 25 END
FROM n;
INSERT INTO ticket_events (id, ticket_id, guild_id, kind, actor_id, at, details)
SELECT printf('%08x-%04x-7%03x-%04x-%012x', rowid, 1, 0, 32768, rowid), id, guild_id, 'opened', creator_id, created_at, NULL FROM tickets;
INSERT INTO ticket_events (id, ticket_id, guild_id, kind, actor_id, at, details)
SELECT printf('%08x-%04x-7%03x-%04x-%012x', rowid, 2, 0, 32768, rowid), id, guild_id, 'claimed', claimed_by, claimed_at, NULL FROM tickets WHERE claimed_by IS NOT NULL;
INSERT INTO ticket_events (id, ticket_id, guild_id, kind, actor_id, at, details)
SELECT printf('%08x-%04x-7%03x-%04x-%012x', rowid, 3, 0, 32768, rowid), id, guild_id, 'closed', closed_by, closed_at, close_reason FROM tickets WHERE status = 'closed';
INSERT INTO ticket_events (id, ticket_id, guild_id, kind, actor_id, at, details)
SELECT printf('%08x-%04x-7%03x-%04x-%012x', rowid, 4, 0, 32768, rowid), id, guild_id, 'first_response', first_response_by, first_response_at, NULL FROM tickets WHERE first_response_at IS NOT NULL;
-- A third of the closed tickets rated by their creators, an hour after closing (the rating
-- copied onto the ticket, as the store does).
UPDATE tickets SET rating = 1 + (rowid * 7 + rowid / 3) % 5 WHERE status = 'closed' AND rowid % 3 = 0;
INSERT INTO feedback (ticket_id, user_id, rating, comment, given_at, updated_at)
SELECT id, creator_id, rating, CASE WHEN rowid % 4 = 0 THEN 'thanks' END,
       closed_at + 3600000000, closed_at + 3600000000 FROM tickets WHERE rating IS NOT NULL;
ANALYZE;
SQL
export TICKETCTL_DATABASE_URL="sqlite://$DB"
"$T" status
# GENERATE_ONLY=1: the database is what the caller wanted (bench/web-bench.sh).
if [ "${GENERATE_ONLY:-0}" = 1 ]; then exit 0; fi

# The cursor of page 1,000 (its first row is the 49,951st newest) and one ticket to inspect.
read -r C_AT C_ID <<<"$(sqlite3 -separator ' ' "$DB" "SELECT created_at, id FROM tickets ORDER BY created_at DESC, id DESC LIMIT 1 OFFSET 49949")"
CURSOR="$C_AT.${C_ID//-/}"
ID=$(sqlite3 "$DB" "SELECT id FROM tickets ORDER BY created_at DESC LIMIT 1 OFFSET 12345")
COLS="id, status, creator_id, claimed_by, channel_id, created_at"
FIRST="SELECT $COLS FROM tickets ORDER BY created_at DESC, id DESC LIMIT 51"
PAGE="SELECT $COLS FROM tickets WHERE created_at <= $C_AT AND (created_at < $C_AT OR id < '$C_ID') ORDER BY created_at DESC, id DESC LIMIT 51"
# What `stats` computes, as one would write it by hand: counts by status and by kind, per hour,
# the backlog, staff activity, ratings by claimer and closer, and for each duration its count,
# median, p90 (ORDER BY … OFFSET) and, for time to close, the buckets.
H=3600000000
S_CLOSE="FROM tickets WHERE status = 'closed' AND closed_at IS NOT NULL"
S_CLAIM="FROM tickets WHERE claimed_at IS NOT NULL"
S_RESP="FROM tickets WHERE first_response_at IS NOT NULL"
pct() { # expression, selection: count, median and p90 by nearest rank
  echo "SELECT COUNT(*) $2; SELECT $1 AS d $2 ORDER BY d LIMIT 1 OFFSET (SELECT (COUNT(*) + 1) / 2 - 1 $2); SELECT $1 AS d $2 ORDER BY d LIMIT 1 OFFSET (SELECT (9 * COUNT(*) + 9) / 10 - 1 $2);"
}
pct_mysql() { # the same for MariaDB (no subquery in OFFSET): numbered rows
  echo "SELECT COUNT(*) $2; SELECT d FROM (SELECT $1 AS d, ROW_NUMBER() OVER (ORDER BY $1) AS r, COUNT(*) OVER () AS c $2) q WHERE r = (c + 1) DIV 2 OR r = (9 * c + 9) DIV 10;"
}
stats_sql() { # percentile function, integer division operator
  local P=$1 D=$2
  echo "SELECT status, COUNT(*) FROM tickets GROUP BY status; \
SELECT kind, COUNT(*) FROM ticket_events WHERE kind IN ('opened','closed','force_closed','reopened','archived') GROUP BY kind; \
SELECT at $D $H AS h, COUNT(*) FROM ticket_events WHERE kind IN ('closed','force_closed') GROUP BY h; \
SELECT created_at $D $H AS h, COUNT(*) FROM tickets GROUP BY h; \
SELECT COUNT(*), COUNT(CASE WHEN claimed_by IS NULL THEN 1 END), MIN(CASE WHEN claimed_by IS NULL THEN created_at END) FROM tickets WHERE status = 'open'; \
SELECT actor_id, kind, COUNT(*) FROM ticket_events WHERE kind IN ('claimed','closed','first_response') AND actor_id IS NOT NULL GROUP BY kind, actor_id; \
SELECT claimed_by, closed_by, rating, COUNT(*) FROM tickets WHERE rating IS NOT NULL GROUP BY claimed_by, closed_by, rating; \
$($P "closed_at - created_at" "$S_CLOSE") $($P "claimed_at - created_at" "$S_CLAIM") $($P "first_response_at - created_at" "$S_RESP") \
SELECT CASE WHEN d < 1*$H THEN 0 WHEN d < 4*$H THEN 1 WHEN d < 24*$H THEN 2 WHEN d < 72*$H THEN 3 WHEN d < 168*$H THEN 4 ELSE 5 END AS b, COUNT(*) FROM (SELECT closed_at - created_at AS d $S_CLOSE) q GROUP BY b"
}
STATS=$(stats_sql pct /)
STATS_MYSQL=$(stats_sql pct_mysql DIV)
INSPECT="SELECT * FROM tickets WHERE id = '$ID'; SELECT * FROM ticket_participants WHERE ticket_id = '$ID'; SELECT * FROM ticket_events WHERE ticket_id = '$ID' ORDER BY at, id"

BASE=()
if [ -n "${BASELINE:-}" ]; then
  BASE=(-n "baseline list" "$BASELINE list" -n "baseline stats" "$BASELINE stats"
        -n "baseline inspect" "$BASELINE inspect $ID")
fi
echo "== SQLite: ticketctl beside sqlite3"
hyperfine -N --warmup 2 --runs 15 --export-markdown "$WORK/sqlite.md" "${BASE[@]}" \
  -n "ticketctl list" "$T list" \
  -n "sqlite3 list" "sqlite3 $DB \"$FIRST\"" \
  -n "ticketctl list page 1000" "$T list --after $CURSOR" \
  -n "sqlite3 list page 1000" "sqlite3 $DB \"$PAGE\"" \
  -n "ticketctl stats" "$T stats" \
  -n "sqlite3 stats" "sqlite3 $DB \"$STATS\"" \
  -n "ticketctl inspect" "$T inspect $ID" \
  -n "sqlite3 inspect" "sqlite3 $DB \"$INSPECT\"" 2>&1 | grep -v "^ *Warning"

if [ -n "${SQLITE_ONLY:-}" ]; then cat "$WORK/sqlite.md"; exit 0; fi

echo "== migrate sqlite -> mysql"
mariadb -uroot -e "DROP DATABASE IF EXISTS $MYSQL_DB"
/usr/bin/time -v "$T" migrate --to mysql --to-url "$MYSQL_URL" 2> "$WORK/migrate.time" | tee "$WORK/migrate.out"
grep -E "Maximum resident|Elapsed" "$WORK/migrate.time"

echo "== MySQL: ticketctl beside mariadb"
export TICKETCTL_DATABASE_URL="$MYSQL_URL"
M="mariadb -uroot -h127.0.0.1 $MYSQL_DB -e"
hyperfine -N --warmup 2 --runs 15 --export-markdown "$WORK/mysql.md" \
  -n "ticketctl list" "$T list" \
  -n "mariadb list" "$M \"$FIRST\"" \
  -n "ticketctl list page 1000" "$T list --after $CURSOR" \
  -n "mariadb list page 1000" "$M \"$PAGE\"" \
  -n "ticketctl stats" "$T stats" \
  -n "mariadb stats" "$M \"$STATS_MYSQL\"" \
  -n "ticketctl inspect" "$T inspect $ID" \
  -n "mariadb inspect" "$M \"$INSPECT\"" 2>&1 | grep -v "^ *Warning"
cat "$WORK/sqlite.md" "$WORK/mysql.md"
mariadb -uroot -e "DROP DATABASE IF EXISTS $MYSQL_DB"
