#!/usr/bin/env bash
# Cold start of a release build: from exec to the first 200 on /healthz, on a fresh data dir
# and again on the store it made. Usage: bash tests/bench/coldstart.sh [BINARY] (port 18222).
set -u
B=${1:-target/x86_64-unknown-linux-gnu/release/parley}
measure() {
  local dir=$1
  local start end
  start=$(date +%s%N)
  "$B" serve --config "$dir/p.toml" > "$dir/log" 2>&1 &
  local pid=$!
  for _ in $(seq 1 2000); do
    if curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:18222/healthz 2>/dev/null | grep -q 200; then break; fi
    sleep 0.002
  done
  end=$(date +%s%N)
  kill -TERM $pid; wait $pid 2>/dev/null
  echo $(( (end - start) / 1000000 ))
}
fresh=(); again=()
for i in 1 2 3 4 5; do
  d=$(mktemp -d); printf '[server]\nlisten = "127.0.0.1:18222"\n[storage]\ndata_dir = "%s/data"\n[log]\nlevel = "warn"\n[backup]\ndaily = false\n' "$d" > "$d/p.toml"
  fresh+=($(measure "$d"))
  again+=($(measure "$d"))
  rm -rf "$d"
done
echo "fresh data dir (ms): ${fresh[*]}"
echo "existing store (ms): ${again[*]}"
ls -l "$B" | awk '{print "size (bytes):", $5}'
