#!/usr/bin/env bash
# Vendor the WHATWG Streams implementation HBF's JavaScript uses (issue 24
# point 5): web-streams-polyfill's ES module "ponyfill" build, which exports
# ReadableStream, WritableStream, TransformStream, their readers, writers and
# controllers and both queuing strategies without touching globals. It is
# Mattias Buelens's port of the Streams standard's reference implementation
# and runs the standard's web-platform-tests; Node's and Deno's streams are
# JavaScript too. js/streams.js puts the globals and the platform's own
# streams (TextEncoderStream, CompressionStream...) on top of it.
#
# Outputs (committed), in hbf/qjs/js/vendor/:
#   web-streams-polyfill.mjs      dist/ponyfill.mjs, unchanged
#   web-streams-polyfill.LICENSE  the package's LICENSE (MIT)
#   README.md                     version, integrity, how to rebuild
#
# Re-run with:  bash tools/vendor-streams.sh
# Needs npm (for `npm pack`, which checks the registry's integrity hash).
set -euo pipefail

VERSION=4.3.0

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="$ROOT/hbf/qjs/js/vendor"
command -v npm >/dev/null || { echo "error: npm is required" >&2; exit 1; }

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
cd "$TMP"
integrity="$(npm pack --json "web-streams-polyfill@$VERSION" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["integrity"])')"
mkdir package
tar -xzf "web-streams-polyfill-$VERSION.tgz" -C package --strip-components=1

mkdir -p "$OUT"
if grep -q 'sourceMappingURL' package/dist/ponyfill.mjs; then
  echo "error: ponyfill.mjs names a source map; strip it" >&2
  exit 1
fi
cp package/dist/ponyfill.mjs "$OUT/web-streams-polyfill.mjs"
cp package/LICENSE "$OUT/web-streams-polyfill.LICENSE"

cat > "$OUT/README.md" <<README
# web-streams-polyfill $VERSION

Made by \`tools/vendor-streams.sh\` (do not edit): \`dist/ponyfill.mjs\` of the
npm package \`web-streams-polyfill@$VERSION\` (integrity \`$integrity\`),
unchanged, as \`web-streams-polyfill.mjs\`; its license (MIT) as
\`web-streams-polyfill.LICENSE\`. Embedded in the binary and evaluated by
\`js/streams.js\` (see DOCS/PLATFORM.md).
README
echo "vendored web-streams-polyfill $VERSION ($(wc -c < "$OUT/web-streams-polyfill.mjs") bytes) into $OUT"
