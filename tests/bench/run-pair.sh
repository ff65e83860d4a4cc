#!/bin/bash
# BENCHMARKS.md, "Files": run from the benchmark directory (/tmp/bench: parley.toml, org-500.json)
# with the release server running there. ./run-pair.sh N writes base-N, up-N and ups-N.
# One baseline window and one window with back-to-back 10 MiB uploads, same load.
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
L=$REPO/target/x86_64-unknown-linux-gnu/release/parley-load
PID=$(pgrep -f "release/parley serve")
ulimit -n 20000
run() { timeout 300 $L --base http://127.0.0.1:18080 --org org-500.json --server-pid $PID --json $1.json steady --chats 2000 --agents 500 --rate 2000 --duration-secs 10 --warmup-secs 5 --start-rate 250 > $1.txt 2>&1; }
run base-$1
sleep 5
run up-$1 &
sleep 12.5
# UPLOADERS visitors (default 1), each a 10 MiB upload every EVERY ms (default 1000) in the window.
for i in $(seq 1 ${UPLOADERS:-1}); do node $REPO/tests/bench/uploads.mjs http://127.0.0.1:18080 1 $((10000 / ${EVERY:-1000})) 10485760 ${EVERY:-1000} >> ups-$1-$i.txt 2>&1 & done
wait
cat ups-$1-*.txt > ups-$1.txt
for f in base-$1 up-$1; do echo "$f: $(grep -E 'durable ack \(both\)' $f.txt)"; done
grep -c "^upload" ups-$1.txt
grep "uploads of" ups-$1.txt | head -3
