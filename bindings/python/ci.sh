#!/usr/bin/env bash
# CI for the Python binding. Run from the repository root on a fresh machine:
#   bash bindings/python/ci.sh
# Installs the package with its test and framework extras (maturin builds the abi3 wheel),
# then runs the pytest suite (with the real LangChain/LangGraph, OpenAI Agents SDK and MCP
# packages), mypy --strict on the examples and the package, stubtest on the native stubs,
# every example, and the overhead benchmark (figures only).
set -euo pipefail
cd "$(dirname "$0")/../.."

export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-1}"
PYTHON="${PYTHON:-python3}"

echo "== install"
"$PYTHON" -m pip install --quiet "maturin>=1.5,<2"
"$PYTHON" -m pip install --quiet "./bindings/python[test,langchain,openai-agents,mcp]"

echo "== pytest"
"$PYTHON" -m pytest bindings/python/tests -q

echo "== mypy --strict"
"$PYTHON" -m mypy --strict examples/python
"$PYTHON" -m mypy --strict bindings/python/python/agentwarrant

echo "== stubtest"
# From outside the source tree, so the installed package is the one checked.
(cd /tmp && "$PYTHON" -m mypy.stubtest agentwarrant._native \
    --allowlist "$OLDPWD/bindings/python/stubtest-allowlist.txt")

echo "== examples"
for example in examples/python/[!_]*.py; do
    echo "-- $example"
    "$PYTHON" "$example" > /dev/null
done

echo "== overhead benchmark"
"$PYTHON" bindings/python/bench/overhead.py --calls 500
