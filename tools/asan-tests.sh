#!/usr/bin/env bash
# The snapshot isolation's tests under AddressSanitizer (Rust, QuickJS and
# SQLite all instrumented): the heap's unit tests, hbf/qjs's isolation,
# snapshot, shared-objects and response tests. Not part of tools/test.sh (its
# build takes 10-25 minutes here); the fuzz smoke there runs js_bridge under
# ASan in the same mode on every CI run. Needs Rust's nightly toolchain
# (tools/fuzz.sh installs it).
#
#   bash tools/asan-tests.sh
set -euo pipefail
cd "$(dirname "$0")/.."
# SQLite's amalgamation has two file-static arrays of one name: not a bug.
export ASAN_OPTIONS=detect_odr_violation=0
# Deadlines in these tests are 10x longer: instrumented code is that much slower.
export HBF_TEST_SLOWDOWN=10
RUSTFLAGS="-Zsanitizer=address" cargo +nightly test -p hbf-qjs --locked \
  --target x86_64-unknown-linux-gnu --target-dir target/asan \
  --lib --test isolation --test snapshot --test snapshot_rust_heap --test shared_objects --test response
