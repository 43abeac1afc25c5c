#!/usr/bin/env bash
# CI for the Python binding. Run from the repository root on a fresh machine:
#   bash bindings/python/ci.sh
# Builds the sdist and the abi3 wheel (once; sizes printed, the native module must stay
# under 10 MB), installs that wheel alone into a fresh venv and runs `agentwarrant demo` from
# it, installs it with its test and framework extras, then runs the pytest suite (with the
# real LangChain/LangGraph, OpenAI Agents SDK and MCP 2.x packages), the MCP tests again on
# the newest MCP 1.x in a venv of their own, the PydanticAI, CrewAI, LlamaIndex and smolagents
# adapters' tests, examples and mypy --strict in a venv of their own (CrewAI pins `mcp<2` and
# `openai<3`), mypy --strict on the examples and the package, stubtest on the native stubs,
# every example, and the overhead benchmark (figures only).
set -euo pipefail
cd "$(dirname "$0")/../.."

export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-1}"
PYTHON="${PYTHON:-python3}"
# The newest release of each MCP major version the package accepts (`mcp>=1.9`).
MCP1="${MCP1:-mcp==1.30.0}"
# The adapters, examples and tests that run in the "more frameworks" venv, not the global one.
MORE_ADAPTERS="bindings/python/python/agentwarrant/integrations/(pydantic_ai|crewai|llama_index|smolagents)\.py$"
MORE_EXAMPLES="examples/python/(pydantic_ai|crewai|llama_index|smolagents)_agent\.py$"
MORE_TESTS="bindings/python/tests/test_pydantic_ai.py bindings/python/tests/test_crewai.py bindings/python/tests/test_llama_index.py bindings/python/tests/test_smolagents.py"
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

stage "more frameworks: PydanticAI, CrewAI, LlamaIndex, smolagents in a venv of their own"
# CrewAI pins `mcp<2` and `openai<3`: installed globally it would move the packages the MCP 2.x
# and OpenAI Agents tests need. The four coexist here; CI=1 with AGENTWARRANT_MORE_FRAMEWORKS=1
# makes a missing framework fail the example tests instead of skipping them.
"$PYTHON" -m venv "$WORK/venv-more"
install_start=$SECONDS
# --no-compile: CrewAI brings about 1 GB of packages (lancedb, pyarrow, onnxruntime, ...); byte-
# compiling all of them takes longer than compiling, on import, the few the tests load.
"$WORK/venv-more/bin/pip" install --quiet --no-compile "$WHEEL[pydantic-ai,crewai,llama-index,smolagents]" \
    "pytest>=8" "pytest-asyncio>=0.24" "mypy>=1.10"
echo "   (install: $((SECONDS - install_start)) s)"
# A framework that failed to install fails here, not as a skipped test module.
"$WORK/venv-more/bin/python" -c "import pydantic_ai, crewai, llama_index.core, smolagents"
# mypy --strict on the new adapters and examples runs on the second core while pytest runs.
# (Imported modules, such as langchain.py or the examples' _story.py, are checked elsewhere.)
"$WORK/venv-more/bin/python" -m mypy --strict --follow-imports=silent --cache-dir "$WORK/mypy-more-cache" \
    bindings/python/python/agentwarrant/integrations/{_common,pydantic_ai,crewai,llama_index,smolagents}.py \
    examples/python/{pydantic_ai,crewai,llama_index,smolagents}_agent.py > "$WORK/mypy-more.log" 2>&1 &
mypy_pid=$!
# shellcheck disable=SC2086
if ! CI=1 AGENTWARRANT_MORE_FRAMEWORKS=1 "$WORK/venv-more/bin/python" -m pytest $MORE_TESTS \
    bindings/python/tests/test_examples.py -k "pydantic_ai or crewai or llama_index or smolagents" \
    -q -p no:cacheprovider; then
    kill "$mypy_pid" 2> /dev/null || true
    exit 1
fi
mypy_status=0
wait "$mypy_pid" || mypy_status=$?
cat "$WORK/mypy-more.log"
[ "$mypy_status" -eq 0 ]

stage "mypy --strict"
# The PydanticAI, CrewAI, LlamaIndex and smolagents adapters and examples: in their own venv, above.
"$PYTHON" -m mypy --strict examples/python --exclude "$MORE_EXAMPLES"
"$PYTHON" -m mypy --strict bindings/python/python/agentwarrant --exclude "$MORE_ADAPTERS"
# The adapters' results where the frameworks take them (Agent(tools=...), ToolNode(...)).
"$PYTHON" -m mypy --strict bindings/python/tests/typecheck

stage "stubtest"
# From outside the source tree, so the installed package is the one checked.
(cd /tmp && "$PYTHON" -m mypy.stubtest agentwarrant._native \
    --allowlist "$OLDPWD/bindings/python/stubtest-allowlist.txt")

stage "examples"
for example in examples/python/[!_]*.py; do
    if [[ "$example" =~ $MORE_EXAMPLES ]]; then
        continue  # run in the "more frameworks" venv
    fi
    echo "-- $example"
    "$PYTHON" "$example" > /dev/null
done

stage "overhead benchmark"
"$PYTHON" bindings/python/bench/overhead.py --calls 500
stage "done"
