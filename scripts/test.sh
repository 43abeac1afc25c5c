#!/usr/bin/env bash
# Runs every test of the project: Rust (unit, integration, doc tests, scenario corpus through
# the CLI) and, when present, the Python binding's suite. Installs what a fresh machine lacks.
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}"

# The Python extension module links against the interpreter only when loaded by Python: its
# tests run under pytest below.
cargo test --workspace --exclude agentwarrant-python

if [ -f bindings/python/ci.sh ]; then
  bash bindings/python/ci.sh
fi

# The scenario corpus through the CLI, as a user's CI would run it; its last line is the
# run's summary: "N passed, N failed".
cargo run --quiet -p agentwarrant-cli -- test tests/scenarios
