#!/usr/bin/env bash
# `ticketctl serve` under load on 1,000,000 tickets (SQLite), on loopback with wrk: requests/s
# and latency percentiles for the ticket list (first page and page 1,000 by its cursor) and
# one ticket's page, signed in with --token.
#
#   bash bench/web-bench.sh [TICKETS]        (needs sqlite3, wrk, curl; makes the database
#                                            with bench/cli-bench.sh)
#
# DURATION (default 10s) and CONNECTIONS (default 32) tune wrk.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-1000000}
export BENCH_DIR=${BENCH_DIR:-/tmp/ticketbot-web-bench}
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-32}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
GENERATE_ONLY=1 bash bench/cli-bench.sh "$N" > /dev/null
DB=$BENCH_DIR/tickets.db
T=$CARGO_TARGET_DIR/release/ticketctl

OUT=$BENCH_DIR/serve.out
"$T" --database-url "sqlite://$DB" serve --token --bind 127.0.0.1:0 > "$OUT" 2> "$BENCH_DIR/serve.err" &
PID=$!
trap 'kill $PID 2> /dev/null || true' EXIT
for _ in $(seq 100); do [ -s "$OUT" ] && break; sleep 0.1; done
URL=$(head -n1 "$OUT")
BASE=${URL%%/\?token=*}
COOKIE=$(curl -s -o /dev/null -D - "$URL" | sed -n 's/^set-cookie: \(tb_session=[^;]*\).*/\1/Ip' | tr -d '\r')
[ -n "$COOKIE" ] || { echo "no session cookie from $URL" >&2; exit 1; }

read -r C_AT C_ID <<<"$(sqlite3 -separator ' ' "$DB" "SELECT created_at, id FROM tickets ORDER BY created_at DESC, id DESC LIMIT 1 OFFSET 49949")"
CURSOR="$C_AT.${C_ID//-/}"
ID=$(sqlite3 "$DB" "SELECT id FROM tickets ORDER BY created_at DESC LIMIT 1 OFFSET 12345")

printf '%-34s %10s %9s %9s %9s\n' "page ($N tickets, $CONNECTIONS connections)" "req/s" "p50" "p99" "errors"
for page in "/tickets" "/tickets?after=$CURSOR" "/tickets?status=open" "/tickets/$ID" "/stats?days=7"; do
  R=$(wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency -H "Cookie: $COOKIE" "$BASE$page")
  RPS=$(awk '/^Requests\/sec/ {print $2}' <<<"$R")
  P50=$(awk '$1 == "50%" {print $2}' <<<"$R")
  P99=$(awk '$1 == "99%" {print $2}' <<<"$R")
  ERR=$(awk '/Non-2xx/ {print $NF} /Socket errors/ {print "socket"}' <<<"$R" | paste -sd, -)
  LABEL=$page
  [ ${#LABEL} -gt 34 ] && LABEL="${LABEL:0:31}..."
  printf '%-34s %10s %9s %9s %9s\n' "$LABEL" "$RPS" "$P50" "$P99" "${ERR:-0}"
done
# The bare sqlite3 CLI answering the list's first page, for scale (one process per query).
FIRST="SELECT id, status, creator_id, claimed_by, created_at, close_reason FROM tickets ORDER BY created_at DESC, id DESC LIMIT 51"
S=$(date +%s%N); for _ in $(seq 200); do sqlite3 "$DB" "$FIRST" > /dev/null; done; E=$(date +%s%N)
echo "sqlite3 CLI, same first-page query: $(( (E - S) / 200000 )) µs per query (process start included)"
RSS=$(awk '/VmHWM/ {print $2}' /proc/$PID/status)
echo "ticketctl serve peak RSS: $((RSS / 1024)) MB"
