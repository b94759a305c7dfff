#!/usr/bin/env bash
# Runs HBF's fuzz targets (fuzz/, see DOCS/FUZZING.md) with cargo-fuzz.
#
#   tools/fuzz.sh [SECONDS] [TARGET...]
#       every target (or those named) for SECONDS each (default 60); exits
#       non-zero if any target crashed. CI runs `tools/fuzz.sh 30`.
#   tools/fuzz.sh --continuous [SECONDS] [TARGET...]
#       loops over the targets, SECONDS per turn (default 600), until stopped
#       (Ctrl-C); exits non-zero at the end if any turn crashed.
#
# New corpus entries go to fuzz/corpus-local/<target>/ (gitignored) and are kept
# between runs; the checked-in seeds in fuzz/corpus/<target>/ are read, never
# written. Crashes land in fuzz/artifacts/<target>/: keep each one (after fixing
# it) in fuzz/regressions/<target>/, where `cargo test` replays it. Logs are in
# fuzz/target/fuzz-logs/.
#
# Installs what it needs on a fresh machine: Rust's nightly toolchain (cargo-fuzz
# needs it for the sanitizer and coverage flags) and cargo-fuzz.
#
# Environment: FUZZ_SANITIZER (address, the default, or none: about twice as
# fast, catches only panics), FUZZ_NICE (the nice level, default 10), and
# FUZZ_ARGS (more libFuzzer flags).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$(pwd)

all_targets=(vfs_ops vfs_concurrent http_request js_bridge sqlar_import pod_sql block_routes)
continuous=0
if [[ ${1:-} == --continuous ]]; then
  continuous=1
  shift
fi
if [[ ${1:-} == -h || ${1:-} == --help ]]; then
  sed -n '2,24p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
  exit 0
fi
seconds=$((continuous ? 600 : 60))
if [[ ${1:-} =~ ^[0-9]+$ ]]; then
  seconds=$1
  shift
fi
targets=("$@")
((${#targets[@]})) || targets=("${all_targets[@]}")
for t in "${targets[@]}"; do
  [[ " ${all_targets[*]} " == *" $t "* ]] || {
    echo "fuzz.sh: unknown target $t (targets: ${all_targets[*]})" >&2
    exit 2
  }
done
sanitizer=${FUZZ_SANITIZER:-address}
nice_level=${FUZZ_NICE:-10}

log() { printf '\n== fuzz %s: %s\n' "$(date +%T)" "$*"; }

# ---- install what is missing ------------------------------------------------
if ! command -v rustup >/dev/null; then
  if [[ -x $HOME/.cargo/bin/rustup ]]; then
    export PATH="$HOME/.cargo/bin:$PATH"
  else
    log "installing rustup"
    curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs |
      sh -s -- -y --profile minimal --default-toolchain stable
    export PATH="$HOME/.cargo/bin:$PATH"
  fi
fi
if ! rustup run nightly rustc --version >/dev/null 2>&1; then
  log "installing the nightly toolchain"
  rustup toolchain install nightly --profile minimal
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  log "installing cargo-fuzz"
  cargo install cargo-fuzz --locked
fi
command -v cc >/dev/null || {
  echo "fuzz.sh: a C compiler is needed (bundled SQLite and QuickJS): run tools/setup.sh" >&2
  exit 1
}

# ---- build -------------------------------------------------------------------
log "building ${targets[*]} (sanitizer: $sanitizer, debug assertions on)"
build_target=()
((${#targets[@]} == 1)) && build_target=("${targets[0]}") # else build them all
(cd fuzz && nice -n "$nice_level" cargo +nightly fuzz build --sanitizer "$sanitizer" \
  --debug-assertions "${build_target[@]}")

# ---- run ---------------------------------------------------------------------
logs=$root/fuzz/target/fuzz-logs
mkdir -p "$logs"
failed=()
summary=()

# Runs one target for $seconds; returns non-zero on a crash.
run_one() {
  local t=$1 log_file=$logs/$1.log
  mkdir -p "fuzz/corpus-local/$t" "fuzz/corpus/$t" "fuzz/artifacts/$t"
  local dict=()
  [[ -f fuzz/dict/$t.dict ]] && dict=("-dict=$root/fuzz/dict/$t.dict")
  # The targets that run JavaScript keep each QuickJS heap in a region of its
  # own (snapshot isolation, hbf/qjs/src/heap/), which LeakSanitizer does not
  # scan: what only the heap points to (rquickjs's runtime data, host
  # functions) would be reported as leaked. Rust-heap leaks of the snapshot
  # mode are tested by hbf/qjs/tests/snapshot_rust_heap.rs instead.
  case $t in
    http_request | js_bridge | block_routes) dict+=("-detect_leaks=0") ;;
  esac
  log "$t for ${seconds}s (log: ${log_file#"$root"/})"
  local status=0
  # The first corpus directory receives new entries; the seeds are only read.
  # shellcheck disable=SC2086
  (cd fuzz && nice -n "$nice_level" cargo +nightly fuzz run --sanitizer "$sanitizer" \
    --debug-assertions "$t" "corpus-local/$t" "corpus/$t" -- \
    -max_total_time="$seconds" -timeout=60 -rss_limit_mb=4096 -print_final_stats=1 \
    "${dict[@]}" ${FUZZ_ARGS:-}) >"$log_file" 2>&1 || status=$?
  local inited done_line execs
  inited=$(grep -m1 'INITED' "$log_file" | grep -o 'cov: [0-9]*' || true)
  done_line=$(grep -E '#[0-9]+[[:space:]]+DONE' "$log_file" | tail -n1 | grep -o 'cov: [0-9]*' || true)
  execs=$(grep -o 'average_exec_per_sec: *[0-9]*' "$log_file" | grep -o '[0-9]*$' || true)
  summary+=("$(printf '%-15s start %-9s -> end %-9s %s execs/s%s' "$t" "${inited:-?}" \
    "${done_line:-?}" "${execs:-?}" "$( ((status)) && echo '  CRASH' )")")
  if ((status)); then
    echo "fuzz.sh: $t FAILED (exit $status); the end of its log:" >&2
    tail -n 40 "$log_file" >&2
    ls -1t "fuzz/artifacts/$t" 2>/dev/null | head -n 3 | sed "s|^|  artifact: fuzz/artifacts/$t/|" >&2
    failed+=("$t")
    return 1
  fi
  tail -n 12 "$log_file" | grep -E 'DONE|stat::' || true
}

report() {
  log "summary"
  printf '%s\n' "${summary[@]}"
  if ((${#failed[@]})); then
    echo "fuzz.sh: crashed: ${failed[*]} (reproduce: cd fuzz && cargo +nightly fuzz run TARGET fuzz/artifacts/TARGET/FILE)" >&2
    exit 1
  fi
}

if ((continuous)); then
  trap 'report; exit 0' INT TERM
  round=0
  while :; do
    round=$((round + 1))
    log "round $round"
    for t in "${targets[@]}"; do run_one "$t" || true; done
  done
else
  for t in "${targets[@]}"; do run_one "$t" || true; done
  report
fi
