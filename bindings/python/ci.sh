#!/usr/bin/env bash
# CI for the Python binding. Run from the repository root on a fresh machine:
#   bash bindings/python/ci.sh
# Builds the sdist and the abi3 wheel (once; sizes printed, the native module must stay
# under 10 MB), installs that wheel alone into a fresh venv and runs `agentwarrant demo` from
# it, installs it with its test and framework extras, then runs the pytest suite (with the
# real LangChain/LangGraph, OpenAI Agents SDK and MCP 2.x packages), the MCP tests again on
# the newest MCP 1.x in a venv of their own, mypy --strict on the examples and the package,
# stubtest on the native stubs, every example, and the overhead benchmark (figures only).
set -euo pipefail
cd "$(dirname "$0")/../.."

export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-1}"
PYTHON="${PYTHON:-python3}"
# The newest release of each MCP major version the package accepts (`mcp>=1.9`).
MCP1="${MCP1:-mcp==1.30.0}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

stage_start=$SECONDS
stage() {
    if [ -n "${stage_name:-}" ]; then
        echo "   ($stage_name: $((SECONDS - stage_start)) s)"
    fi
    stage_name="$1"
    stage_start=$SECONDS
    echo "== $1"
}

stage "build: sdist and abi3 wheel"
"$PYTHON" -m pip install --quiet "maturin>=1.9.4,<2"
# `[tool.maturin] profile = "wheel"`: release code without debug info or symbols.
"$PYTHON" -m maturin sdist --manifest-path bindings/python/Cargo.toml --out "$WORK/dist"
"$PYTHON" -m maturin build --manifest-path bindings/python/Cargo.toml --out "$WORK/dist"
"$PYTHON" - "$WORK/dist" <<'PY'
import pathlib, sys, tarfile, zipfile

dist = pathlib.Path(sys.argv[1])
(wheel,) = dist.glob("agentwarrant-*-abi3-*.whl")
(sdist,) = dist.glob("agentwarrant-*.tar.gz")
mb = lambda n: f"{n / 1e6:.1f} MB"
with zipfile.ZipFile(wheel) as z:
    native = [i for i in z.infolist() if i.filename.startswith("agentwarrant/_native")]
    names = set(z.namelist())
print(f"wheel {wheel.name}: {mb(wheel.stat().st_size)}; native module {mb(native[0].file_size)} unpacked")
print(f"sdist {sdist.name}: {mb(sdist.stat().st_size)}")
assert native[0].file_size <= 10_000_000, "the native module is over 10 MB: are debug info and symbols stripped?"
for needed in ("agentwarrant/py.typed", "agentwarrant/_native.pyi", "agentwarrant/__main__.py"):
    assert needed in names, f"{needed} is missing from the wheel"
with tarfile.open(sdist) as t:
    files = t.getnames()
for needed in ("LICENSE", "README.md", "crates/agentwarrant-cli/Cargo.toml", "crates/agentwarrant/Cargo.toml"):
    assert any(f.endswith("/" + needed) for f in files), f"{needed} is missing from the sdist"
PY
WHEEL="$(ls "$WORK"/dist/agentwarrant-*-abi3-*.whl)"

stage "fresh venv: the wheel alone runs \`agentwarrant demo\`"
"$PYTHON" -m venv "$WORK/venv"
"$WORK/venv/bin/pip" install --quiet "$WHEEL"
"$WORK/venv/bin/agentwarrant" demo --ledger "$WORK/demo.jsonl" > /dev/null
"$WORK/venv/bin/python" -m agentwarrant verify "$WORK/demo.jsonl"

stage "install: the wheel with its test and framework extras"
"$PYTHON" -m pip install --quiet "$WHEEL[test,langchain,openai-agents,mcp]"
"$PYTHON" -m pip install --quiet --force-reinstall --no-deps "$WHEEL"

stage "pytest"
"$PYTHON" -m pytest bindings/python/tests -q

stage "pytest: MCP tests on $MCP1"
"$PYTHON" -m venv "$WORK/venv-mcp1"
"$WORK/venv-mcp1/bin/pip" install --quiet "$WHEEL" "$MCP1" "pytest>=8" "pytest-asyncio>=0.24"
"$WORK/venv-mcp1/bin/python" -m pytest bindings/python/tests/test_mcp.py -q -p no:cacheprovider

stage "mypy --strict"
"$PYTHON" -m mypy --strict examples/python
"$PYTHON" -m mypy --strict bindings/python/python/agentwarrant
# The adapters' results where the frameworks take them (Agent(tools=...), ToolNode(...)).
"$PYTHON" -m mypy --strict bindings/python/tests/typecheck

stage "stubtest"
# From outside the source tree, so the installed package is the one checked.
(cd /tmp && "$PYTHON" -m mypy.stubtest agentwarrant._native \
    --allowlist "$OLDPWD/bindings/python/stubtest-allowlist.txt")

stage "examples"
for example in examples/python/[!_]*.py; do
    echo "-- $example"
    "$PYTHON" "$example" > /dev/null
done

stage "overhead benchmark"
"$PYTHON" bindings/python/bench/overhead.py --calls 500
stage "done"
