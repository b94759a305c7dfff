#!/bin/sh
# Checks a pod_binary output (bin/<name>): a fully static executable that starts
# with an empty environment, holds its embedded pod, and (once the server is part
# of the build) answers /health and /hello.
set -eu
bin=$1
fail() { echo "FAIL: $*" >&2; exit 1; }

desc=$(file -L "$bin")
echo "$desc"
case "$desc" in
*"statically linked"* | *"static-pie linked"*) ;;
*) fail "$bin is not statically linked" ;;
esac

tmp=${TEST_TMPDIR:-$(mktemp -d)}
env -i "$bin" --version >"$tmp/version" || fail "--version failed"
cat "$tmp/version"
grep -q '^hbf ' "$tmp/version" || fail "unexpected --version output"

# The embedded pod: a new in-memory database holds its files.
env -i "$bin" --inmem fs ls >"$tmp/ls" || fail "hbf --inmem fs ls failed"
grep -q 'hbf/server.js' "$tmp/ls" || fail "the embedded pod has no hbf/server.js: $(cat "$tmp/ls")"
echo "embedded pod: $(wc -l <"$tmp/ls") files"

# The server, started with an empty environment on a free-looking port.
port=$((20000 + $$ % 20000))
env -i "$bin" --inmem --port "$port" >"$tmp/server.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
i=0
while :; do
  if ! kill -0 "$pid" 2>/dev/null; then
    wait "$pid" || true
    if grep -q 'HTTP server is not part of this build yet' "$tmp/server.log"; then
      echo "server: not in this build yet (hbf/http), /health not checked"
      exit 0
    fi
    fail "the server exited: $(cat "$tmp/server.log")"
  fi
  if curl -fsS "http://127.0.0.1:$port/health" >"$tmp/health" 2>/dev/null; then break; fi
  i=$((i + 1))
  [ "$i" -lt 100 ] || fail "no answer on /health after 10 s: $(cat "$tmp/server.log")"
  sleep 0.1
done
echo "/health: $(cat "$tmp/health")"
body=$(curl -fsS "http://127.0.0.1:$port/hello") || fail "/hello failed"
echo "/hello: $body"
[ "$body" = '{"message":"Hello, World!"}' ] || fail "/hello answered $body"
