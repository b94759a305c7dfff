#!/usr/bin/env bash
# Installs everything HBF's build and tests need on a fresh Debian machine
# (idempotent: a warm machine skips every step).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

apt_packages=()
command -v sqlite3 >/dev/null || apt_packages+=(sqlite3)   # the sqlar round-trip tests
command -v cc >/dev/null || apt_packages+=(build-essential) # bundled SQLite and QuickJS are C
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
