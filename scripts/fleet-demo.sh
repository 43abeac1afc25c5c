#!/usr/bin/env bash
# One guarded session across three processes on a throwaway PostgreSQL server: a worker with a
# per-task database login whose refund waits for approval, the `agentwarrant` CLI answering it
# from another process, and a third process throwing the kill switch. Prints each process's
# output, the worker's ledger (in PostgreSQL) and the fleet's shared state, then stops the server.
#
#   bash scripts/fleet-demo.sh
#
# Uses scripts/postgres.sh (which installs PostgreSQL from the distribution's packages when no
# initdb is found, as root). A server this checkout already runs is used and left running.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --quiet -p agentwarrant-cli --features postgres --bin agentwarrant
cargo build --quiet -p agentwarrant-postgres --example fleet_session

started=
if ! bash scripts/postgres.sh url >/dev/null 2>&1; then
  bash scripts/postgres.sh start
  started=1
fi
stop() {
  if [ -n "$started" ]; then
    bash scripts/postgres.sh stop
  fi
}
trap stop EXIT

target="${CARGO_TARGET_DIR:-target}"
"$target/debug/examples/fleet_session" "$(bash scripts/postgres.sh url)" "$target/debug/agentwarrant"
