#!/usr/bin/env bash
# Checks that every Bazel file is buildifier-formatted and lint-clean.
#   bash tools/lint-bazel.sh          check (CI)
#   bash tools/lint-bazel.sh --fix    rewrite the files in place
# Buildifier comes from the npm registry (@bazel/buildifier ships the binaries),
# installed once into a cache directory outside the checkout.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

VERSION=8.2.1
CACHE=${HBF_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/hbf-tools}/buildifier-$VERSION
BIN=$CACHE/node_modules/@bazel/buildifier/buildifier-linux_amd64
if [ ! -x "$BIN" ]; then
  command -v npm >/dev/null || { echo "npm is needed to install buildifier" >&2; exit 1; }
  mkdir -p "$CACHE"
  npm install --prefix "$CACHE" --no-save --no-audit --no-fund --loglevel=error \
    "@bazel/buildifier@$VERSION" >/dev/null
fi

# Every Bazel file of the checkout (not the bazel-* output links).
mapfile -t files < <(git ls-files --cached --others --exclude-standard \
  'MODULE.bazel' '*.bazel' '*.bzl' 'BUILD' 'WORKSPACE' | sort -u | while read -r f; do [ -e "$f" ] && echo "$f"; done)
if [ "${1:-}" = --fix ]; then
  "$BIN" --lint=fix --warnings=all "${files[@]}"
fi
"$BIN" --mode=check --lint=warn --warnings=all "${files[@]}"
echo "buildifier $VERSION: ${#files[@]} Bazel files formatted and lint-clean"
