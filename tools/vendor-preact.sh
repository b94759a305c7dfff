#!/usr/bin/env bash
# Vendor preact and preact-render-to-string as ES modules into the test pod
# (issue 17): the .tsx route that renders with preact through the import map,
# on the server, from the same files a browser page of the pod could import.
#
# Outputs (all committed), in pods/test/static/vendor/preact/:
#   preact.mjs, hooks.mjs, jsx-runtime.mjs   preact's own ES module builds
#   render-to-string.mjs                     preact-render-to-string's
#   LICENSE.preact, LICENSE.preact-render-to-string
#   README.md                                versions and how to rebuild
#
# The files are the packages' published `.mjs` builds, unchanged but for their
# `//# sourceMappingURL` line (the maps are not vendored). They import each
# other by bare name ("preact", "preact/hooks"), which pods/test/static/
# importmap.json maps, as a browser's import map would.
#
# Re-run with:  bash tools/vendor-preact.sh
# Needs npm (for `npm pack`); everything it writes stays in a temporary directory.
set -euo pipefail

PREACT_VERSION=11.2.0
RENDER_TO_STRING_VERSION=6.8.2

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="$ROOT/pods/test/static/vendor/preact"
command -v npm >/dev/null || { echo "error: npm is required" >&2; exit 1; }

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
cd "$TMP"
npm pack --silent "preact@$PREACT_VERSION" "preact-render-to-string@$RENDER_TO_STRING_VERSION" >/dev/null
mkdir preact rts
tar -xzf "preact-$PREACT_VERSION.tgz" -C preact --strip-components=1
tar -xzf "preact-render-to-string-$RENDER_TO_STRING_VERSION.tgz" -C rts --strip-components=1

mkdir -p "$OUT"
copy() { grep -v '^//# sourceMappingURL=' "$1" > "$OUT/$2"; }
copy preact/dist/preact.mjs preact.mjs
copy preact/hooks/dist/hooks.mjs hooks.mjs
copy preact/jsx-runtime/dist/jsxRuntime.mjs jsx-runtime.mjs
copy rts/dist/index.mjs render-to-string.mjs
cp preact/LICENSE "$OUT/LICENSE.preact"
cp rts/LICENSE "$OUT/LICENSE.preact-render-to-string"

# Every bare import must be one the import map maps.
imports="$(grep -ohE 'from *"[^"./][^"]*"' "$OUT"/*.mjs | sort -u | tr '\n' ' ')"
echo "bare imports: $imports"

cat > "$OUT/README.md" <<README
# preact $PREACT_VERSION and preact-render-to-string $RENDER_TO_STRING_VERSION

Made by \`tools/vendor-preact.sh\` (do not edit): the packages' published ES
module builds, without their \`sourceMappingURL\` lines. Licenses:
\`LICENSE.preact\`, \`LICENSE.preact-render-to-string\` (both MIT).

| file | from |
|---|---|
| \`preact.mjs\` | \`preact/dist/preact.mjs\` |
| \`hooks.mjs\` | \`preact/hooks/dist/hooks.mjs\` |
| \`jsx-runtime.mjs\` | \`preact/jsx-runtime/dist/jsxRuntime.mjs\` |
| \`render-to-string.mjs\` | \`preact-render-to-string/dist/index.mjs\` |

Bare imports between them: $imports
README
wc -c "$OUT"/*
