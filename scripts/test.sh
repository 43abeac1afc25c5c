#!/usr/bin/env bash
# Runs every test of the project: Rust (unit, integration, doc tests, scenario corpus through
# the CLI) and, when present, the Python binding's suite. Installs what a fresh machine lacks.
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}"

started=$SECONDS
stage() {
  local name=$1
  shift
  local t0=$SECONDS
  echo "== $name"
  "$@"
  echo "== $name: $((SECONDS - t0)) s (total $((SECONDS - started)) s)"
}

# A throwaway PostgreSQL server (installed from the distribution's packages if missing) for
# crates/agentwarrant-postgres, stopped and deleted however this script exits. A URL given
# from outside is used as it is.
if [ -z "${AGENTWARRANT_TEST_POSTGRES_URL:-}" ]; then
  trap 'bash scripts/postgres.sh stop' EXIT
  stage "postgres start" bash scripts/postgres.sh start
  AGENTWARRANT_TEST_POSTGRES_URL=$(bash scripts/postgres.sh url)
  export AGENTWARRANT_TEST_POSTGRES_URL
fi

# The Python extension module links against the interpreter only when loaded by Python: its
# tests run under pytest below.
stage "rust tests" cargo test --workspace --exclude agentwarrant-python
# `agentwarrant approvals` and `verify postgresql://` are built only with the CLI's `postgres`
# feature: the CLI's tests again with it, those two on this server.
stage "CLI on PostgreSQL" cargo test -p agentwarrant-cli --features postgres --test cli
# The README's one-command session (scripts/fleet-demo.sh) on this server: three processes,
# the CLI just built with `postgres` by the stage above, the example by `cargo test`.
target_dir="${CARGO_TARGET_DIR:-target}"
stage "fleet session across three processes" cargo run --quiet -p agentwarrant-postgres \
  --example fleet_session -- "$AGENTWARRANT_TEST_POSTGRES_URL" "$target_dir/debug/agentwarrant"

if [ -f bindings/python/ci.sh ]; then
  stage "python binding" bash bindings/python/ci.sh
fi

# The scenario corpus through the CLI, as a user's CI would run it; its last line is the
# run's summary: "N passed, N failed".
stage "cli build" cargo build --quiet -p agentwarrant-cli
echo "== scenario corpus (starts at $((SECONDS - started)) s; a few seconds)"
cargo run --quiet -p agentwarrant-cli -- test tests/scenarios
