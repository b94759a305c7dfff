#!/usr/bin/env bash
# Bazel as a real client of `hbf --blocks` (issue 14): HBF's block service is
# Bazel's HTTP remote cache for HBF's own build.
#
#   bash tools/bazel-remote-cache.sh          # what tools/test.sh runs
#
# Starts `hbf --blocks` on a free port with a fresh database, then builds
# //... twice, each time in a clean output base (a new Bazel server: nothing
# analysed, nothing built) with --remote_cache=http://127.0.0.1:PORT and the
# shared disk cache off: the first build runs every action and uploads its
# results (PUT /cas/<sha256>, PUT /ac/<sha256>), the second must take (nearly)
# every action from HBF. Fails unless at least $HBF_MIN_HIT_PERCENT (default
# 95) percent of the second build's non-internal processes were remote cache
# hits. Prints both builds' timings and process lines, and HBF's
# /blocks/status (DOCS/BUILD.md has the numbers).
#
# Needs root (tools/bazel). HBF_BIN names the hbf binary (default: cargo's
# debug build, built if missing).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

HBF=${HBF_BIN:-target/debug/hbf}
[[ -x $HBF ]] || cargo build -p hbf --locked
MIN_HIT_PERCENT=${HBF_MIN_HIT_PERCENT:-95}
BASES=${HBF_BAZEL_HOME:-/var/lib/hbf-bazel}/cache/remote-cache-check

work=$(mktemp -d "${TMPDIR:-/tmp}/hbf-remote-cache.XXXXXX")
hbf_pid=
cleanup() {
  local round
  for round in 1 2; do
    [[ -d $BASES/$round ]] && tools/bazel --output_base="$BASES/$round" shutdown >/dev/null 2>&1 || true
  done
  [[ -n $hbf_pid ]] && kill "$hbf_pid" 2>/dev/null && wait "$hbf_pid" 2>/dev/null || true
  # Output bases hold symlinks into the checkout, never mounts: rm does not follow them.
  rm -rf "$BASES" "$work"
}
trap cleanup EXIT

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$HBF" --blocks --db "$work/cache.db" --port "$port" >"$work/hbf.log" 2>&1 &
hbf_pid=$!
for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$port/blocks/status" >/dev/null 2>&1 && break
  kill -0 "$hbf_pid" 2>/dev/null || { cat "$work/hbf.log"; echo "error: hbf --blocks did not start" >&2; exit 1; }
  sleep 0.1
done
echo "hbf --blocks on 127.0.0.1:$port ($HBF)"

declare -A seconds processes
for round in 1 2; do
  rm -rf "${BASES:?}/$round"
  mkdir -p "$BASES"
  # The checkout's bazel-* links point into the shared output base: for a
  # build in another output base they are ordinary directories, and //...
  # would load the external repositories under them. tools/bazel makes them
  # again after the next build.
  for link in bazel-*; do [[ -L $link ]] && rm -f "$link"; done
  start=$SECONDS
  # --max_idle_secs: a server this script fails to shut down goes away by itself.
  if ! tools/bazel --output_base="$BASES/$round" --max_idle_secs=300 build //... \
    --remote_cache="http://127.0.0.1:$port" --disk_cache= >"$work/build-$round.log" 2>&1; then
    tail -n 40 "$work/build-$round.log"
    echo "error: build $round with the remote cache failed (hbf log: $(tail -n 5 "$work/hbf.log"))" >&2
    exit 1
  fi
  seconds[$round]=$((SECONDS - start))
  processes[$round]=$(grep -E '^INFO: [0-9,]+ process(es)?:' "$work/build-$round.log" | tail -n 1 || true)
  tools/bazel --output_base="$BASES/$round" shutdown >/dev/null 2>&1 || true
  # Its results are in HBF now: the next round needs the disk, not this base.
  rm -rf "${BASES:?}/$round"
  echo "build $round: ${seconds[$round]} s; ${processes[$round]:-no process line}"
done

line=${processes[2]//,/}
total=$(sed -nE 's/^INFO: ([0-9]+) process.*/\1/p' <<<"$line")
hits=$(grep -oE '[0-9]+ remote cache hit' <<<"$line" | grep -oE '^[0-9]+' || echo 0)
internal=$(grep -oE '[0-9]+ internal' <<<"$line" | grep -oE '^[0-9]+' || echo 0)
[[ -n $total ]] || { echo "error: no process count in build 2's output" >&2; exit 1; }
real=$((total - internal))
status=$(curl -fsS "http://127.0.0.1:$port/blocks/status")
echo "hbf /blocks/status after both builds: $status"
if ((real == 0)); then
  echo "error: build 2 ran no action at all; nothing was checked" >&2
  exit 1
fi
percent=$((100 * hits / real))
echo "build 2: $hits of $real actions from hbf's remote cache ($percent%); build 1 ${seconds[1]} s, build 2 ${seconds[2]} s"
if ((percent < MIN_HIT_PERCENT)); then
  echo "error: fewer than $MIN_HIT_PERCENT% remote cache hits" >&2
  exit 1
fi
