#!/usr/bin/env bash
# Builds the fuzz targets with cargo-fuzz and runs each on its corpus for
# FUZZ_SECONDS (30) seconds. Exits non-zero when a target finds a crash, a
# timeout (an input taking over 10 s) or an out-of-memory; the input is then
# in fuzz/artifacts/<target>/. `.ci/run` calls it; so can anyone:
# `bash fuzz/ci.sh` (FUZZ_TARGET_DIR: where to build, default fuzz/target).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${FUZZ_SECONDS:-30}
target_dir=${FUZZ_TARGET_DIR:-fuzz/target}

# cargo-fuzz needs nightly flags (-Zsanitizer): nightly when installed, else
# stable told to accept them.
if cargo +nightly --version >/dev/null 2>&1; then
  toolchain=(+nightly)
else
  toolchain=()
  export RUSTC_BOOTSTRAP=1
  echo "no nightly toolchain: building with stable and RUSTC_BOOTSTRAP=1"
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked --version 0.13.2
fi
cargo fuzz --version

timeout 1200 cargo "${toolchain[@]}" fuzz build --target-dir "$target_dir"
host=$(rustc "${toolchain[@]}" -vV | sed -n 's/^host: //p')
bin="$target_dir/$host/release"

# The targets run side by side (the whole stage then takes one run's time),
# each on its own scratch directory for new inputs, so the committed corpus
# stays as it is.
targets=$(cargo "${toolchain[@]}" fuzz list)
declare -A pids logs found
for target in $targets; do
  found[$target]=$(mktemp -d)
  logs[$target]=$(mktemp)
  mkdir -p "fuzz/artifacts/$target"
  # -max_total_time ends the run; timeout bounds it should libFuzzer hang.
  timeout $((seconds + 60)) "$bin/$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -dict=fuzz/jsonrpc.dict -artifact_prefix="fuzz/artifacts/$target/" -print_final_stats=1 \
    "${found[$target]}" "fuzz/corpus/$target" >"${logs[$target]}" 2>&1 &
  pids[$target]=$!
done
failed=()
for target in $targets; do
  log=${logs[$target]}
  if wait "${pids[$target]}"; then
    echo "$target: $(grep -a -m1 '^Done' "$log"), $(grep -a '#[0-9]' "$log" | tail -1 | grep -ao 'cov: [0-9]* ft: [0-9]*')"
  else
    echo "$target: FAILED (exit $?):"
    grep -a -A2 "panicked at" "$log" || true
    tail -n 12 "$log"
    failed+=("$target")
  fi
  rm -rf "${found[$target]}" "$log"
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz targets that failed: ${failed[*]} (inputs in fuzz/artifacts/)"
  exit 1
fi
