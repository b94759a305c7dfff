#!/usr/bin/env bash
# Runs every test of the workspace. This is README's test command.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash tools/setup.sh
cargo test --workspace --locked
