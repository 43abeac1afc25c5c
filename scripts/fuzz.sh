#!/usr/bin/env bash
# Runs every libFuzzer target in fuzz/ for a bounded time (FUZZ_SECONDS each, default 15),
# under AddressSanitizer with a nightly toolchain when there is one. Installs cargo-fuzz when it
# is missing. Fails on the first crash and prints what the fuzzer reported.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"

seconds="${FUZZ_SECONDS:-15}"
if ! command -v cargo-fuzz >/dev/null 2>&1; then
  echo "== installing cargo-fuzz"
  cargo install --locked cargo-fuzz
fi
if rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
  toolchain=(+nightly)
  flags=()
else
  # Without nightly, the stable toolchain builds the targets without a sanitizer.
  export RUSTC_BOOTSTRAP=1
  toolchain=()
  flags=(-s none)
fi

t0=$SECONDS
cargo "${toolchain[@]}" fuzz build "${flags[@]}" 2>&1 | tail -n 1
echo "== fuzz targets built in $((SECONDS - t0)) s"
log=$(mktemp)
for target in $(cargo "${toolchain[@]}" fuzz list); do
  t1=$SECONDS
  mkdir -p "corpus/$target"
  if ! cargo "${toolchain[@]}" fuzz run "${flags[@]}" "$target" "corpus/$target" -- \
      -max_total_time="$seconds" >"$log" 2>&1; then
    tail -n 40 "$log"
    echo "fuzz target $target failed; the input is in fuzz/artifacts/$target"
    exit 1
  fi
  runs=$(grep -Eo '^#[0-9]+' "$log" | tail -n 1 || true)
  echo "== $target: ${runs:-#?} runs, $((SECONDS - t1)) s"
done
