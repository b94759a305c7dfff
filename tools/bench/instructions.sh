#!/usr/bin/env bash
# Instructions per request, counted by callgrind: repeatable on a busy machine,
# where req/s is not (DOCS/PERF.md).
#
#   tools/bench/instructions.sh [ROUTE] [hbf flags...]
#   tools/bench/instructions.sh /hello --isolation worker
#
# Runs target/release/hbf (build it first: cargo build --release -p hbf), or
# $HBF_BIN to compare two builds, under valgrind --tool=callgrind on an
# in-memory database, warms ROUTE up with wrk (4 connections, 3 s), zeroes the
# counters, loads it for 8 s more, and prints the instructions the whole server
# process (every thread, user space only) executed per request. Needs valgrind
# and wrk (Debian packages).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
route=${1:-/hello}
shift || true
bin=${HBF_BIN:-$root/target/release/hbf}
[[ -x $bin ]] || { echo "instructions.sh: build $bin first (cargo build --release -p hbf)" >&2; exit 2; }
for tool in valgrind callgrind_control wrk; do
  command -v "$tool" >/dev/null || { echo "instructions.sh: $tool is missing (apt-get install valgrind wrk)" >&2; exit 2; }
done
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
out=$(mktemp -d)
# Snapshot mode's page guard resumes stores that faulted into its SIGSEGV
# handler; valgrind does not resume them faithfully (the server crashes), so
# under valgrind every restore copies the whole saved heap instead (an upper
# bound on the copy; callgrind counts each byte a `rep movsb` moves as one
# instruction).
export HBF_SNAPSHOT_PAGE_GUARD=0
valgrind --tool=callgrind --callgrind-out-file="$out/cg.out" "$bin" --port "$port" --inmem --log-level warn "$@" \
  >"$out/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true; rm -rf "$out"' EXIT
for _ in $(seq 120); do
  curl -fs -o /dev/null "http://127.0.0.1:$port/health" && break
  sleep 0.5
done
wrk -t1 -c4 -d3s "http://127.0.0.1:$port$route" >/dev/null
callgrind_control -z "$server" >/dev/null 2>&1
requests=$(wrk -t1 -c4 -d8s "http://127.0.0.1:$port$route" | awk '/requests in/ {print $1}')
callgrind_control -d "$server" >/dev/null 2>&1
dump=$(ls -t "$out"/cg.out.* | head -1)
total=$(awk '/^(summary|totals):/ {print $2; exit}' "$dump")
echo "$route $*: $requests requests, $((total / requests)) instructions per request"
