#!/usr/bin/env bash
# Bulk paths, each beside the database's own bulk load of the same rows, in one run:
#   1. takeover: first start on a Python-bot SQLite database of N tickets (`ticketctl status`
#      converts it in place, as the bot's first start does), beside `sqlite3` loading the
#      converted rows (its `.dump` script, the schema's indexes built after);
#   2. `ticketctl migrate` sqlite -> sqlite (an empty file), beside the same `sqlite3` load;
#   3. `ticketctl migrate` sqlite -> mysql (an empty database), beside the `mariadb` client
#      loading `mariadb-dump`'s multi-row INSERT script of the same rows into the empty schema.
# Each line: seconds, tickets/s, peak RSS, and ours / reference.
#
#   bash bench/bulk-bench.sh [TICKETS]       (needs sqlite3, mariadb, mariadb-dump, GNU time)
#
# BASELINE=/path/to/an/older/ticketctl runs its takeover and migrates too (before/after);
# SQLITE_ONLY=1 skips MySQL. MySQL's tb_bulkbench and tb_bulkref are dropped before and after.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-1000000}
WORK=${BENCH_DIR:-/tmp/ticketbot-bulk-bench}
MY=tb_bulkbench
REF=tb_bulkref
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
cargo build --release -q -p ticketctl
T=${TICKETCTL:-$CARGO_TARGET_DIR/release/ticketctl}
rm -rf "$WORK" && mkdir -p "$WORK"
unset TICKETCTL_DATABASE_URL DATABASE_URL DB_TYPE

echo "== generating a Python-bot database of $N tickets"
# Its schema and value forms (../shared/seed/legacy-schema.md): text ids, str(datetime) times;
# 10% open, half claimed by 25 staff, 50,000 creators, a ticket every 30 s.
sqlite3 "$WORK/legacy.db" <<SQL >/dev/null
PRAGMA journal_mode = WAL;
CREATE TABLE tickets (id TEXT PRIMARY KEY, guild_id TEXT NOT NULL, channel_id TEXT NULL,
  creator_id TEXT NOT NULL, status TEXT NOT NULL, created_at TIMESTAMP NOT NULL,
  closed_at TIMESTAMP, claimed_by TEXT);
CREATE INDEX idx_ticket_channel ON tickets (channel_id);
CREATE INDEX idx_ticket_guild_status ON tickets (guild_id, status);
WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < $N)
INSERT INTO tickets
SELECT lower(hex(randomblob(4))) || '-' || lower(hex(randomblob(2))) || '-4'
         || substr(lower(hex(randomblob(2))), 2) || '-a' || substr(lower(hex(randomblob(2))), 2)
         || '-' || lower(hex(randomblob(6))),
       '1000', CAST(900000000000000000 + i AS TEXT), CAST(100000000000000000 + i % 50000 AS TEXT),
       CASE WHEN i % 10 = 0 THEN 'open' ELSE 'closed' END,
       datetime(1700000000 + i * 30, 'unixepoch') || '.512345+00:00',
       CASE WHEN i % 10 = 0 THEN NULL ELSE datetime(1700000000 + i * 30 + 3600, 'unixepoch') || '+00:00' END,
       CASE WHEN i % 2 = 0 THEN CAST(200000000000000000 + i % 25 AS TEXT) END
FROM c;
SQL

# `measure NAME CMD...`: runs CMD under GNU time, prints and records seconds and peak RSS.
measure() {
  local name=$1; shift
  /usr/bin/time -f "%e %M" -o "$WORK/time" "$@" > "$WORK/out" 2>&1 || { cat "$WORK/out"; exit 1; }
  read -r secs kb < "$WORK/time"
  printf '%-44s %8.2f s %10.0f tickets/s %6d MB peak RSS\n' "$name" "$secs" \
    "$(echo "$N / $secs" | bc -l)" $((kb / 1024)) | tee -a "$WORK/results"
  echo "$secs" > "$WORK/last"
}
ratio() { printf '%-44s %8.2f x\n' "  $1" "$(echo "$2 / $3" | bc -l)" | tee -a "$WORK/results"; }

run_takeover() {
  cp "$WORK/legacy.db" "$WORK/$1.db"
  measure "$2" env TICKETCTL_DATABASE_URL="sqlite://$WORK/$1.db" "$3" status
}

echo "== takeover"
[ -n "${BASELINE:-}" ] && run_takeover base "takeover (baseline)" "$BASELINE"
run_takeover take "takeover (ours)" "$T"
OURS=$(cat "$WORK/last")

# sqlite3's own load of the same rows: the tables, the rows as one INSERT each in one
# transaction (its .dump), then the schema's explicit indexes.
{
  echo "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;"
  sqlite3 "$WORK/take.db" "SELECT sql || ';' FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
  echo "BEGIN;"
  sqlite3 "$WORK/take.db" ".dump tickets ticket_events ticket_participants" | grep '^INSERT INTO'
  echo "COMMIT;"
  sqlite3 "$WORK/take.db" "SELECT sql || ';' FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
} > "$WORK/load.sql"
measure "sqlite3 loading the same rows" sh -c "sqlite3 '$WORK/ref.db' < '$WORK/load.sql'"
REF_SQLITE=$(cat "$WORK/last")
ratio "takeover / sqlite3" "$OURS" "$REF_SQLITE"

echo "== migrate sqlite -> sqlite"
run_migrate_sqlite() {
  rm -f "$WORK/$1.db"*
  measure "$2" env TICKETCTL_DATABASE_URL="sqlite://$WORK/take.db" "$3" migrate --to sqlite --sqlite-path "$WORK/$1.db"
}
[ -n "${BASELINE:-}" ] && run_migrate_sqlite mbase "migrate -> sqlite (baseline)" "$BASELINE"
run_migrate_sqlite mnew "migrate -> sqlite (ours)" "$T"
ratio "migrate -> sqlite / sqlite3" "$(cat "$WORK/last")" "$REF_SQLITE"

if [ -z "${SQLITE_ONLY:-}" ]; then
  echo "== migrate sqlite -> mysql"
  my() { mariadb -uroot -h127.0.0.1 "$@"; }
  run_migrate_mysql() {
    my -e "DROP DATABASE IF EXISTS $MY"
    measure "$1" env TICKETCTL_DATABASE_URL="sqlite://$WORK/take.db" "$2" migrate --to mysql --to-url "mysql://root@127.0.0.1:3306/$MY"
  }
  [ -n "${BASELINE:-}" ] && run_migrate_mysql "migrate -> mysql (baseline)" "$BASELINE"
  run_migrate_mysql "migrate -> mysql (ours)" "$T"
  OURS=$(cat "$WORK/last")
  # The reference: the same rows as mariadb-dump's multi-row INSERTs into the empty schema.
  mariadb-dump -uroot -h127.0.0.1 --no-create-info --skip-triggers "$MY" tickets ticket_events ticket_participants > "$WORK/mysql-rows.sql"
  my -e "DROP DATABASE IF EXISTS $REF; CREATE DATABASE $REF"
  TICKETCTL_DATABASE_URL="mysql://root@127.0.0.1:3306/$REF" "$T" status > /dev/null
  measure "mariadb loading the same rows" sh -c "mariadb -uroot -h127.0.0.1 $REF < '$WORK/mysql-rows.sql'"
  ratio "migrate -> mysql / mariadb" "$OURS" "$(cat "$WORK/last")"
  my -e "DROP DATABASE IF EXISTS $MY; DROP DATABASE IF EXISTS $REF"
fi
echo "== summary ($N tickets)"
cat "$WORK/results"
