#!/usr/bin/env bash
# The browser tests alone: builds the debug binary (unless HBF_BIN names one),
# then runs every tests/browser/*.test.mjs (or the files given) one at a time
# in real Chromium. tools/setup.sh installs Chromium and node_modules.
#
#   bash tests/browser/run.sh                               # all
#   bash tests/browser/run.sh tests/browser/05-offline.test.mjs
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
if [[ ! tests/browser/node_modules/.package-lock.json -nt tests/browser/package-lock.json ]]; then
  npm ci --prefix tests/browser --no-audit --no-fund
fi
[[ -n ${HBF_BIN:-} ]] || cargo build -p hbf --locked
if (($#)); then tests=("$@"); else tests=(tests/browser/); fi
exec node --test --test-concurrency=1 --test-reporter=spec "${tests[@]}"
