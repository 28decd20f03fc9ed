#!/usr/bin/env bash
# Instructions the server spends per member of one group send: the raw
# anchor (one loop writing a precomputed frame) against channels-rpc's
# in-process layer, each server run under callgrind by `fanout`
# (FANOUT_SERVER_PREFIX), over SENDS sends minus a run of one, so start-up
# and the joins cancel out. User space only: the kernel's share (the writes
# themselves, the same for both) is not counted; callgrind's cache
# simulation adds data-cache misses (D1mr + D1mw: first-level read and write
# misses), which matter as much here: every member's state is cold.
# Usage: bench/instructions-fanout.sh [MEMBERS] [SENDS]. Needs valgrind; takes minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
members=${1:-1000}
sends=${2:-5}
cargo build --quiet --release -p rpc-bench --bin fanout
bin=${CARGO_TARGET_DIR:-target}/release/fanout
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
count() { # target sends -> "instructions D1-misses" of the server's whole life
    FANOUT_SERVER_PREFIX="valgrind --tool=callgrind --cache-sim=yes --callgrind-out-file=$work/$1-$2.out" \
        "$bin" --members "$members" --targets "$1" --sends "$2" --join-seconds 600 --no-report >/dev/null 2>&1
    # Events: Ir Dr Dw I1mr D1mr D1mw ILmr DLmr DLmw.
    callgrind_annotate "$work/$1-$2.out" | grep "PROGRAM TOTALS" | tr -d , |
        awk '{ print $1, $6 + $7 }'
}
declare -A ir miss
for target in raw in-process; do
    read -r many_ir many_miss < <(count "$target" "$sends")
    read -r one_ir one_miss < <(count "$target" 1)
    per=$(( (sends - 1) * members ))
    ir[$target]=$(awk -v a="$many_ir" -v b="$one_ir" -v n="$per" 'BEGIN { printf "%.0f", (a - b) / n }')
    miss[$target]=$(awk -v a="$many_miss" -v b="$one_miss" -v n="$per" 'BEGIN { printf "%.1f", (a - b) / n }')
    echo "$target: ${ir[$target]} instructions, ${miss[$target]} D1 misses per member per send ($members members)"
done
awk -v a="${ir[in-process]}" -v b="${ir[raw]}" 'BEGIN { printf "in-process/raw: instructions %.1f\n", a / b }'
