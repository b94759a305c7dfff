#!/usr/bin/env bash
# Runs every test of HBF. This is README's test command, and what CI runs.
#
#   1. cargo test --workspace (unit, integration, property tests; fuzz corpora
#      and regressions replayed);
#   2. the browser tests: the dev editor (/__dev/) in real Chromium against
#      the debug binary, tests/browser (DOCS/TESTING.md);
#   3. the fuzz smoke: every fuzz target for $HBF_FUZZ_SECONDS (default 30) s
#      (tools/fuzz.sh installs nightly Rust and cargo-fuzz if missing);
#   4. Bazel: the static binaries //:hbf and //:hbf_test, every test again under
#      Bazel, and the check that Bazel's graph has every Cargo dependency
#      (tools/bazel sets up its Debian sid chroot on first use; needs root);
#   5. Bazel as a client of HBF: //... built twice in clean output bases with
#      `hbf --blocks` as the remote cache, the second from the cache
#      (tools/bazel-remote-cache.sh, about 7 minutes).
#
# HBF_TEST_SKIP="browser fuzz bazel remote-cache replication" skips steps (for a quick
# local run).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
skip=" ${HBF_TEST_SKIP:-} "

# Each step also prints the free disk: a full run needs about 30 GB besides the
# checkout (cargo's target, the fuzz builds, Bazel's output base, disk cache and
# the remote-cache check's clean output bases).
step() {
  printf '\n== %s: %s (disk free: %s)\n' "$(date +%T)" "$*" "$(df -h --output=avail . | tail -n 1 | tr -d ' ')"
}

bash tools/setup.sh

step "cargo test --workspace"
# tools/setup.sh installed Litestream and moto: the replication tests must run,
# not skip (unless HBF_TEST_SKIP names replication).
require=0
[[ $skip == *" replication "* ]] || require=1
HBF_REQUIRE_REPLICATION_TOOLS=$require cargo test --workspace --locked

if [[ $skip != *" browser "* ]]; then
  step "browser tests (Chromium), and the editor's merge in Node"
  node --test hbf/dev/tests/
  bash tests/browser/run.sh
fi

if [[ $skip != *" fuzz "* ]]; then
  step "fuzz smoke: every target for ${HBF_FUZZ_SECONDS:-30} s"
  bash tools/fuzz.sh "${HBF_FUZZ_SECONDS:-30}"
fi

if [[ $skip != *" bazel "* ]]; then
  step "Bazel: static binaries, every test, dependency check"
  tools/bazel build //:hbf //:hbf_test
  tools/bazel test //...
  python3 tools/check-bazel-deps.py
  tools/bazel shutdown # frees the server's memory and unmounts the checkout
fi

if [[ $skip != *" bazel "* && $skip != *" remote-cache "* ]]; then
  step "Bazel with hbf --blocks as its remote cache"
  bash tools/bazel-remote-cache.sh
fi
