#!/usr/bin/env bash
# Instructions per answer in process (no sockets): channels-rpc's `App::handle`
# against the baseline's scanner, for a request of the load benchmark
# (batch100 = http_batch's body of 100 `add` calls, ping, echo16k), counted by
# callgrind over ITERATIONS answers minus a run of one, so start-up cancels
# out. Usage: bench/instructions-dispatch.sh [batch100|ping|echo16k] [ITERATIONS]
# Needs valgrind. `--annotate` prints ours' top functions too.
set -euo pipefail
cd "$(dirname "$0")/.."
scenario=${1:-batch100}
iterations=${2:-2000}
cargo build --quiet --release -p rpc-bench --bin dispatch-instructions
bin=${CARGO_TARGET_DIR:-target}/release/dispatch-instructions
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
count() { # server iterations -> total instructions
    valgrind --tool=callgrind --callgrind-out-file="$work/$1-$2.out" "$bin" "$1" "$scenario" "$2" >/dev/null 2>&1
    callgrind_annotate "$work/$1-$2.out" | grep "PROGRAM TOTALS" | grep -oE "^[0-9,]+" | tr -d ,
}
declare -A per
for server in ours baseline; do
    many=$(count "$server" "$iterations")
    one=$(count "$server" 1)
    per[$server]=$(( (many - one) / (iterations - 1) ))
    echo "$server: ${per[$server]} instructions per $scenario answer"
done
awk -v o="${per[ours]}" -v b="${per[baseline]}" 'BEGIN { printf "ours/baseline %.2f\n", o / b }'
if [ "${3:-}" = "--annotate" ]; then
    callgrind_annotate --inclusive=no "$work/ours-$iterations.out" | head -45
fi
