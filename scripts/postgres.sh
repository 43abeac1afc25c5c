#!/usr/bin/env bash
# A throwaway PostgreSQL server for the tests of crates/agentwarrant-postgres.
#
#   scripts/postgres.sh start   initialise a cluster in a temporary directory and start it
#   scripts/postgres.sh url     print the superuser's connection URL
#   scripts/postgres.sh stop    stop the server and delete the cluster
#
# The server runs as an unprivileged user (initdb refuses root: as root, the `postgres` system
# user, created if missing), listens on 127.0.0.1 only at a free port, keeps its unix socket
# inside the temporary directory, and asks every TCP client for a password (scram-sha-256): a
# task's login role whose password or validity is gone really cannot log in. PostgreSQL is
# installed from the distribution's packages when no `initdb` is found.
set -euo pipefail
cd "$(dirname "$0")/.."

# Where `start` records the cluster's directory for `url` and `stop` (per checkout, so
# worktrees side by side each run their own server).
state="${AGENTWARRANT_PG_STATE:-$PWD/target/postgres.dir}"

find_bin() {
  local name=$1 dir
  if command -v "$name" >/dev/null 2>&1; then
    dirname "$(readlink -f "$(command -v "$name")")"
    return
  fi
  for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    if [ -x "$dir/$name" ]; then
      echo "$dir"
      return
    fi
  done
}

install_postgres() {
  if [ "$(id -u)" -ne 0 ]; then
    echo "postgres.sh: PostgreSQL (initdb) is not installed; install the postgresql package" >&2
    exit 1
  fi
  echo "postgres.sh: installing PostgreSQL from the distribution's packages" >&2
  DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
}

# Runs a command as the cluster's owner.
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

port_in_use() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

start() {
  if [ -f "$state" ] && [ -f "$(cat "$state")/url" ]; then
    echo "postgres.sh: already running ($(cat "$state"))" >&2
    return
  fi
  local bin
  bin=$(find_bin initdb)
  if [ -z "$bin" ]; then
    install_postgres
    bin=$(find_bin initdb)
    [ -n "$bin" ] || { echo "postgres.sh: initdb not found after installing" >&2; exit 1; }
  fi
  if [ "$(id -u)" -eq 0 ] && ! id postgres >/dev/null 2>&1; then
    useradd --system --no-create-home --shell /usr/sbin/nologin postgres
  fi

  local dir password
  dir=$(mktemp -d "${TMPDIR:-/tmp}/agentwarrant-pg.XXXXXX")
  mkdir -p "$dir/data" "$dir/socket"
  password=$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')
  printf '%s\n' "$password" >"$dir/pwfile"
  chmod 700 "$dir" "$dir/socket"
  chmod 600 "$dir/pwfile"
  if [ "$(id -u)" -eq 0 ]; then
    chown -R postgres: "$dir"
  fi
  mkdir -p "$(dirname "$state")"
  echo "$dir" >"$state"

  # Every TCP login needs its password; the unix socket, inside a directory only the owner can
  # enter, is this script's own way in.
  as_owner "$bin/initdb" --pgdata="$dir/data" --username=postgres --pwfile="$dir/pwfile" \
    --auth-host=scram-sha-256 --auth-local=trust --encoding=UTF8 --locale=C >"$dir/initdb.log"
  cat >>"$dir/data/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir/socket'
password_encryption = 'scram-sha-256'
fsync = off
synchronous_commit = off
full_page_writes = off
EOF

  local port tries=0
  while :; do
    tries=$((tries + 1))
    port=$((20000 + RANDOM % 40000))
    port_in_use "$port" && continue
    if as_owner "$bin/pg_ctl" --pgdata="$dir/data" --log="$dir/server.log" --wait \
      --options="-p $port" start >/dev/null; then
      break
    fi
    if [ "$tries" -ge 5 ]; then
      echo "postgres.sh: the server did not start; its log:" >&2
      cat "$dir/server.log" >&2
      exit 1
    fi
  done
  echo "$port" >"$dir/port"
  as_owner "$bin/createdb" --host="$dir/socket" --port="$port" --username=postgres agentwarrant
  echo "postgresql://postgres:$password@127.0.0.1:$port/agentwarrant" >"$dir/url"
  chmod 600 "$dir/url"
  echo "postgres.sh: PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port ($dir)" >&2
}

url() {
  [ -f "$state" ] || { echo "postgres.sh: not running (no $state)" >&2; exit 1; }
  cat "$(cat "$state")/url"
}

stop() {
  [ -f "$state" ] || return 0
  local dir bin
  dir=$(cat "$state")
  bin=$(find_bin pg_ctl)
  if [ -n "$bin" ] && [ -f "$dir/data/postmaster.pid" ]; then
    as_owner "$bin/pg_ctl" --pgdata="$dir/data" --mode=immediate --wait stop >/dev/null || true
  fi
  rm -rf "$dir"
  rm -f "$state"
}

case "${1:-}" in
  start) start ;;
  url) url ;;
  stop) stop ;;
  *)
    echo "usage: scripts/postgres.sh start|url|stop" >&2
    exit 2
    ;;
esac
