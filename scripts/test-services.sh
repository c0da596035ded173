#!/usr/bin/env bash
# Starts the database servers the test suite talks to, when they are not running already:
# MariaDB on 127.0.0.1:3306 and a MongoDB-wire server (nx-27017) on 127.0.0.1:27017; and
# installs Debian's chromium, in which the transcript tests open their pages, when missing.
set -euo pipefail

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_port() {
  local port=$1 what=$2
  for _ in $(seq 1 120); do
    port_open "$port" && return 0
    sleep 0.5
  done
  echo "error: $what did not open 127.0.0.1:$port within 60 s" >&2
  return 1
}

if ! command -v chromium >/dev/null; then
  echo "installing chromium"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi

if ! port_open 3306; then
  echo "starting MariaDB"
  if ! command -v mariadbd >/dev/null && [ ! -x /usr/sbin/mariadbd ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mariadb-server >/dev/null
  fi
  mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld 2>/dev/null || true
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd
  wait_port 3306 MariaDB
fi

if ! port_open 27017; then
  venv=${MONGO_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/ticketbot/venv-mongo}
  if [ ! -x "$venv/bin/nx-27017" ]; then
    echo "installing nx-27017 into $venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q nx-27017==0.8.1
  fi
  echo "starting nx-27017"
  nohup "$venv/bin/nx-27017" --db memory --host 127.0.0.1 --port 27017 \
    >"${TMPDIR:-/tmp}/nx-27017.log" 2>&1 &
  wait_port 27017 nx-27017
fi
