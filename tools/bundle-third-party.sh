#!/usr/bin/env bash
# Bundle third-party npm packages into single ES module files that run inside
# an HBF pod (plain QuickJS: no Node built-ins, no require, no process, no Buffer).
#
# Today: find-my-way (the HTTP router used by pods/test for its /t/router/ routes).
#
# Outputs (all committed):
#   pods/test/hbf/vendor/find-my-way.js       the bundle, the one copy (where the test pod imports it)
#   third_party/find-my-way/LICENSE           the package's license
#   third_party/find-my-way/LICENSE.dependencies  licenses of the bundled dependencies
#   third_party/find-my-way/README.md         version, source, how to rebuild
#
# Re-run with:  bash tools/bundle-third-party.sh
# Needs node and npm. Everything npm writes stays in a temporary directory
# (no node_modules or package-lock.json in the repository).
set -euo pipefail

FIND_MY_WAY_VERSION=9.10.1
ESBUILD_VERSION=0.28.2
# find-my-way's own dependencies, pinned too (npm "overrides") so that a re-run
# bundles exactly the same code.
PINNED_DEPENDENCIES='
  "fast-decode-uri-component": "1.0.1",
  "fast-deep-equal": "3.1.3",
  "fast-querystring": "1.1.2",
  "ret": "0.5.1",
  "safe-regex2": "5.1.2"'

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT_DIR="$ROOT/third_party/find-my-way"
POD_VENDOR_DIR="$ROOT/pods/test/hbf/vendor"

for tool in node npm; do
  command -v "$tool" >/dev/null || { echo "error: $tool is required" >&2; exit 1; }
done

WORK="$(mktemp -d "${TMPDIR:-/tmp}/hbf-bundle.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"

cat > package.json <<EOF
{
  "name": "hbf-third-party-bundle",
  "private": true,
  "dependencies": {
    "esbuild": "$ESBUILD_VERSION",
    "find-my-way": "$FIND_MY_WAY_VERSION"
  },
  "overrides": {$PINNED_DEPENDENCIES
  }
}
EOF

# --ignore-scripts: esbuild's postinstall only double-checks its binary, which
# npm already installs from the @esbuild/<platform> optional dependency.
npm install --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null

installed="$(node -p "require('./node_modules/find-my-way/package.json').version")"
[ "$installed" = "$FIND_MY_WAY_VERSION" ] || {
  echo "error: got find-my-way $installed, wanted $FIND_MY_WAY_VERSION" >&2; exit 1; }

mkdir -p shims

# Shim 1: find-my-way does `require('node:assert')` and only ever calls
# `assert(value, message)` to validate options and route definitions. QuickJS
# has no `assert` module, so `node:assert` is aliased to this CommonJS stub
# (CommonJS so that `require()` inside the bundle returns the function itself).
cat > shims/assert.cjs <<'EOF'
'use strict'
// Stand-in for Node's `assert` (bundled by tools/bundle-third-party.sh).
class AssertionError extends Error {
  constructor (message) {
    super(message === undefined ? 'Assertion failed' : String(message))
    this.name = 'AssertionError'
  }
}
function assert (value, message) {
  if (!value) throw message instanceof Error ? message : new AssertionError(message)
}
assert.ok = assert
assert.AssertionError = AssertionError
module.exports = assert
EOF

# Shim 2: find-my-way reads the global `URL` when its module is evaluated
# (`typeof URL.parse`) and uses it only to parse absolute-form request targets
# ("http://host/path"). Plain QuickJS has no `URL`, so that load-time read would
# throw. esbuild's --inject replaces the free `URL` identifier with this object:
# it delegates to the host's URL when the runtime provides one, else falls back
# to a tiny parser that yields the only two fields find-my-way reads.
cat > shims/url.mjs <<'EOF'
// Stand-in for the global URL as find-my-way uses it (bundled by tools/bundle-third-party.sh).
const minimalParse = (input) => {
  const m = /^([a-zA-Z][a-zA-Z0-9+.-]*:)\/\/(?:[^/?#@]*@)?([^/?#]*)/.exec(String(input))
  return m ? { protocol: m[1].toLowerCase(), host: m[2].toLowerCase() } : null
}
const hostParse = (input) => {
  const HostURL = globalThis.URL
  if (typeof HostURL !== 'function') return minimalParse(input)
  if (typeof HostURL.parse === 'function') return HostURL.parse(input)
  try { return new HostURL(input) } catch { return null }
}
const URLShim = { parse: hostParse }
export { URLShim as URL }
EOF

cat > entry.mjs <<'EOF'
import Router from 'find-my-way'
export { Router }
export default Router
EOF

BANNER="/*! find-my-way $FIND_MY_WAY_VERSION (MIT License, see LICENSE) bundled as one ES module by tools/bundle-third-party.sh with esbuild $ESBUILD_VERSION. Generated file: do not edit. */"

# --platform=neutral: no Node built-ins are assumed; --main-fields=main because
# the neutral platform resolves no package entry points by default and these
# packages are CommonJS with only "main".
./node_modules/.bin/esbuild entry.mjs \
  --bundle \
  --format=esm \
  --platform=neutral \
  --main-fields=main,module \
  --alias:node:assert=./shims/assert.cjs \
  --alias:assert=./shims/assert.cjs \
  --inject:./shims/url.mjs \
  --legal-comments=inline \
  --charset=utf8 \
  "--banner:js=$BANNER" \
  --log-level=warning \
  --metafile=meta.json \
  --outfile=find-my-way.mjs

# The npm packages that ended up in the bundle (from esbuild's metafile), and
# their licenses: find-my-way's own goes to LICENSE, the others to
# LICENSE.dependencies.
node > packages.txt <<'EOF_NODE'
const inputs = Object.keys(require('./meta.json').inputs)
const dirs = new Set(inputs.map((f) => f.match(/^node_modules\/((?:@[^/]+\/)?[^/]+)\//)?.[1]).filter(Boolean))
for (const dir of [...dirs].sort()) {
  const { name, version, license } = require(`./node_modules/${dir}/package.json`)
  console.log(`${name} ${version} ${license}`)
}
EOF_NODE
{
  echo "Licenses of the packages bundled into find-my-way.mjs besides find-my-way itself"
  echo "(generated by tools/bundle-third-party.sh)."
  while read -r name version license; do
    [ "$name" = find-my-way ] && continue
    echo
    echo "================================================================================"
    echo "$name $version ($license)"
    echo "================================================================================"
    echo
    licfile="$(ls node_modules/"$name" | grep -iE '^licen[cs]e' | head -n1)"
    [ -n "$licfile" ] || { echo "error: no license file in $name" >&2; exit 1; }
    cat "node_modules/$name/$licfile"
  done < packages.txt
} > LICENSE.dependencies
BUNDLED="$(grep -v '^find-my-way ' packages.txt | awk '{printf "  - %s %s (%s)\n", $1, $2, $3}')"

# The bundle must not reach for anything Node-only. (esbuild's own wrapper
# names, `__require` and `require_<module>`, are dropped first; so are comments.)
if sed -E 's/(__require|require_[A-Za-z0-9_]+)//g' find-my-way.mjs \
    | grep -nE '\b(require|process|Buffer|__dirname|__filename|setImmediate)\b' \
    | grep -vE '^[0-9]+:\s*(//|/?\*)'; then
  echo "error: the bundle references a Node-only identifier (lines above)" >&2
  exit 1
fi

# Smoke test in Node with the Node-only globals removed.
cat > smoke.mjs <<'EOF'
for (const name of ['require', 'process', 'Buffer', 'URL']) {
  try { delete globalThis[name] } catch {}
  Object.defineProperty(globalThis, name, { get () { throw new Error(`bundle touched ${name}`) }, configurable: true })
}
const { default: Router } = await import('./find-my-way.mjs')
const router = Router({ ignoreTrailingSlash: true })
router.on('GET', '/t/router/users/:id', () => 'user')
router.on('GET', '/t/router/files/*', () => 'files')
const m = router.find('GET', '/t/router/users/42/')
if (!m || m.handler() !== 'user' || m.params.id !== '42') throw new Error('param route failed')
const w = router.find('GET', '/t/router/files/a/b.txt')
if (!w || w.params['*'] !== 'a/b.txt') throw new Error('wildcard route failed')
if (router.find('POST', '/t/router/users/42') !== null) throw new Error('method mismatch matched')
EOF
node smoke.mjs

mkdir -p "$OUT_DIR" "$POD_VENDOR_DIR"
cp node_modules/find-my-way/LICENSE "$OUT_DIR/LICENSE"
cp LICENSE.dependencies "$OUT_DIR/LICENSE.dependencies"
cp find-my-way.mjs "$POD_VENDOR_DIR/find-my-way.js"

cat > "$OUT_DIR/README.md" <<EOF
# find-my-way $FIND_MY_WAY_VERSION, bundled as one ES module

- Source: the \`find-my-way\` package, version $FIND_MY_WAY_VERSION, from the npm registry
  (<https://github.com/delvedor/find-my-way>), with the dependencies bundled into it
  (versions pinned by the script):
$BUNDLED
- License: MIT, see [LICENSE](LICENSE) (copied from the package); the bundled
  dependencies' licenses are in [LICENSE.dependencies](LICENSE.dependencies).
- Built by \`tools/bundle-third-party.sh\` with esbuild $ESBUILD_VERSION:
  \`esbuild --bundle --format=esm --platform=neutral --main-fields=main,module\`,
  with two small shims so it runs in plain QuickJS with no Node built-ins:
  - \`node:assert\` is aliased to a stub that throws on a falsy value (the only way
    find-my-way uses it);
  - the global \`URL\` (read when the module loads, used only for absolute-form
    request targets) is injected as an object that uses the host's \`URL\` when there
    is one and a minimal scheme/host parser otherwise.
- The script fails if the bundle mentions \`require\`, \`process\` or \`Buffer\`, and
  smoke-tests it in Node with those globals (and \`URL\`) removed.
- The bundle itself is the test pod's \`pods/test/hbf/vendor/find-my-way.js\` (one
  copy, where it is imported).

Note: find-my-way compiles its matchers with \`new Function\`, so the JavaScript
context must allow eval (QuickJS does by default).

Usage in a pod:

\`\`\`js
import Router from './vendor/find-my-way.js'
const router = Router()
router.on('GET', '/users/:id', (params) => params.id)
const match = router.find('GET', '/users/42') // { handler, params: { id: '42' }, store, searchParams }
\`\`\`

Rebuild (needs node and npm; writes nothing else to the repository):

\`\`\`sh
bash tools/bundle-third-party.sh
\`\`\`
EOF

echo "bundled find-my-way $FIND_MY_WAY_VERSION with esbuild $ESBUILD_VERSION:" \
  "$(wc -c < "$POD_VENDOR_DIR/find-my-way.js") bytes -> pods/test/hbf/vendor/find-my-way.js"
