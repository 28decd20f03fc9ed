#!/usr/bin/env bash
# Instructions per HTTP `ping` for each server, counted by callgrind: unlike
# time, the count stays the same on a busy machine. Each server runs under
# valgrind; wrk (64 connections, bench/wrk/ping.lua, which checks every
# answer) warms it for 2 s, the counters are zeroed, wrk runs 10 s more, and
# the user-space instructions of that window are divided by the requests
# answered. Needs valgrind and wrk (Debian packages of those names).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --quiet --release -p rpc-bench
bin=target/release/rpc-bench
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
lua=bench/wrk/ping.lua
declare -A per_request
for server in ours jsonrpsee baseline; do
    valgrind --tool=callgrind --callgrind-out-file="$work/$server.out" \
        "$bin" serve "$server" --addr 127.0.0.1:0 > "$work/$server.log" 2>&1 &
    pid=$!
    addr=""
    for _ in $(seq 300); do
        addr=$(grep -oE "listening on [0-9.:]+" "$work/$server.log" | cut -d' ' -f3 || true)
        [ -n "$addr" ] && break
        sleep 0.1
    done
    [ -n "$addr" ] || { echo "$server did not start"; cat "$work/$server.log"; exit 1; }
    wrk -t1 -c64 -d2s -s "$lua" "http://$addr/rpc/" > /dev/null
    callgrind_control -z "$pid" > /dev/null 2>&1
    wrk -t1 -c64 -d10s -s "$lua" "http://$addr/rpc/" > "$work/$server.wrk"
    callgrind_control -d "$pid" > /dev/null 2>&1
    kill "$pid"
    wait "$pid" || true
    grep -q "wrong answers: 0" "$work/$server.wrk" || { echo "$server answered wrongly"; cat "$work/$server.wrk"; exit 1; }
    requests=$(grep -oE "^ +[0-9]+ requests" "$work/$server.wrk" | grep -oE "[0-9]+")
    instructions=$(callgrind_annotate "$work/$server.out.1" | grep "PROGRAM TOTALS" | grep -oE "^[0-9,]+" | tr -d ,)
    per_request[$server]=$((instructions / requests))
    echo "$server: $requests requests, $((instructions / requests)) instructions each"
done
awk -v o="${per_request[ours]}" -v j="${per_request[jsonrpsee]}" -v b="${per_request[baseline]}" \
    'BEGIN { printf "ours/jsonrpsee %.2f, ours/baseline %.2f\n", o / j, o / b }'
