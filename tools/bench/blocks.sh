#!/usr/bin/env bash
# The block service's load test (issue 14): 4 KiB PUT /block (every body new,
# every PUT durable), GET /block over known hashes, and 512 KiB PUT/GET, with
# wrk (50 keep-alive connections, 1 thread) against `hbf --blocks` on a file
# database, the server pinned to one core and wrk to another.
#
#   tools/bench/blocks.sh [DURATION_SECONDS]     (default 10; needs wrk, taskset, curl)
#
# HBF is built in release mode first unless HBF_BIN names a binary.
set -euo pipefail
cd "$(dirname "$0")/../.."
DURATION="${1:-10}"
PORT="${BLOCKS_PORT:-5409}"
BIN="${HBF_BIN:-}"
if [ -z "$BIN" ]; then
  cargo build --release -p hbf >/dev/null
  BIN=target/release/hbf
fi
WORK="$(mktemp -d)"
SERVER=""
cleanup() {
  if [ -n "$SERVER" ]; then kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
taskset -c 1 "$BIN" --blocks --db "$WORK/hbf.db" --port "$PORT" --workers 1 --log-level warn &
SERVER=$!
for _ in $(seq 100); do
  curl -sf "http://127.0.0.1:$PORT/blocks/status" >/dev/null && break
  sleep 0.1
done
URL="http://127.0.0.1:$PORT"
LUA="tools/bench/blocks.lua"
# The server's CPU time so far (user + system, in clock ticks).
cpu_ticks() { awk '{print $14 + $15}' "/proc/$SERVER/stat"; }
# Bytes and calls of its read- and write-type system calls (sockets included).
io_counts() { awk '/^(rchar|wchar|syscr|syscw):/ {printf "%s ", $2}' "/proc/$SERVER/io"; }
run() { # label, then the environment of blocks.lua
  local label="$1"; shift
  echo "== $label"
  local before after out io_before io_after
  before=$(cpu_ticks)
  io_before=$(io_counts)
  out=$(env "$@" taskset -c 0 wrk -t1 -c50 -d"${DURATION}s" --latency -s "$LUA" "$URL")
  after=$(cpu_ticks)
  io_after=$(io_counts)
  echo "$out" | grep -E "Requests/sec|Transfer/sec|Latency|99%|non-200"
  # Requests per second of server CPU: what the server could do on a core of
  # its own, whatever else the machine runs (a client starved of CPU leaves
  # the server idle).
  local rps ticks hz
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  ticks=$((after - before))
  hz=$(getconf CLK_TCK)
  awk -v rps="$rps" -v d="$DURATION" -v t="$ticks" -v hz="$hz" 'BEGIN {
    cpu = t / hz
    printf "server CPU: %.2f s of %d s (%.0f%%), %.0f requests per CPU-second\n", cpu, d, 100 * cpu / d, (cpu > 0 ? rps * d / cpu : 0)
  }'
  awk -v rps="$rps" -v d="$DURATION" -v a="$io_before" -v b="$io_after" 'BEGIN {
    split(a, x, " "); split(b, y, " "); n = rps * d
    if (n > 0) printf "per request: read %.1f KB in %.1f calls, wrote %.1f KB in %.1f calls\n", (y[1] - x[1]) / n / 1000, (y[3] - x[3]) / n, (y[2] - x[2]) / n / 1000, (y[4] - x[4]) / n
  }'
}
run "4 KiB PUT /block (new content each, durable)" BLOCKS_MODE=put BLOCKS_SIZE=4096
# Hashes to read: 2,000 4 KiB blocks PUT with curl.
for i in $(seq 2000); do printf "read block %08d" "$i"; head -c 4076 /dev/zero; echo; done \
  | split -b 4096 --filter="curl -s -X PUT --data-binary @- $URL/block; echo" >"$WORK/hashes" 2>/dev/null || true
grep -c . "$WORK/hashes" | sed 's/^/hashes to read: /'
run "4 KiB GET /block" BLOCKS_MODE=get BLOCKS_HASHES="$WORK/hashes"
run "512 KiB PUT /block" BLOCKS_MODE=put BLOCKS_SIZE=524288
for i in $(seq 200); do printf 'large block %08d' "$i"; head -c 524267 /dev/zero; echo; done \
  | split -b 524288 --filter="curl -s -X PUT --data-binary @- $URL/block; echo" >"$WORK/large" 2>/dev/null || true
run "512 KiB GET /block" BLOCKS_MODE=get BLOCKS_HASHES="$WORK/large"
curl -s "$URL/blocks/status"; echo
