#!/usr/bin/env bash
# Vendor CodeMirror 6 for the /__dev/ browser editor (issue 13): bundle the
# packages the editor uses into ONE browser ES module.
#
# Outputs (all committed):
#   third_party/codemirror/codemirror.mjs          the bundle (minified ESM, es2020)
#   third_party/codemirror/LICENSE.dependencies    the license of every bundled package
#   third_party/codemirror/README.md               versions, exports, size, how to rebuild
#
# The entry (what the bundle re-exports) is kept in the repository:
#   tools/editor-entry.js
#
# Re-run with:  bash tools/vendor-editor.sh
# Needs node and npm. Everything npm writes stays in a temporary directory
# (no node_modules or package-lock.json in the repository).
set -euo pipefail

ESBUILD_VERSION=0.28.2
# The packages the entry imports (versions from `npm view <pkg> version`).
DIRECT_DEPENDENCIES='
    "codemirror": "6.0.2",
    "@codemirror/state": "6.7.6",
    "@codemirror/view": "6.43.15",
    "@codemirror/commands": "6.11.1",
    "@codemirror/language": "6.13.1",
    "@codemirror/merge": "6.12.3",
    "@codemirror/lang-javascript": "6.2.5",
    "@codemirror/lang-css": "6.3.1",
    "@codemirror/lang-html": "6.4.12",
    "@codemirror/lang-json": "6.0.2",
    "@codemirror/lang-markdown": "6.5.2",
    "@codemirror/search": "6.7.2",
    "@codemirror/autocomplete": "6.20.4",
    "@codemirror/lint": "6.9.8"'
# Their own dependencies, pinned too (npm "overrides") so that a re-run bundles
# exactly the same code. The script fails if npm installs anything not listed
# here or above (esbuild's platform packages aside).
PINNED_DEPENDENCIES='
    "@codemirror/streamparser": "6.0.0",
    "@lezer/common": "1.5.5",
    "@lezer/css": "1.3.9",
    "@lezer/highlight": "1.2.5",
    "@lezer/html": "1.3.13",
    "@lezer/javascript": "1.5.6",
    "@lezer/json": "1.0.3",
    "@lezer/lr": "1.4.12",
    "@lezer/markdown": "1.8.1",
    "@marijn/find-cluster-break": "1.0.4",
    "crelt": "1.0.7",
    "style-mod": "4.1.5",
    "w3c-keyname": "2.2.8"'

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ENTRY="$ROOT/tools/editor-entry.js"
OUT_DIR="$ROOT/third_party/codemirror"

for tool in node npm gzip; do
  command -v "$tool" >/dev/null || { echo "error: $tool is required" >&2; exit 1; }
done

WORK="$(mktemp -d "${TMPDIR:-/tmp}/hbf-editor-vendor.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"

cat > package.json <<EOF
{
  "name": "hbf-editor-vendor",
  "private": true,
  "dependencies": {
    "esbuild": "$ESBUILD_VERSION",$DIRECT_DEPENDENCIES
  },
  "overrides": {$PINNED_DEPENDENCIES
  }
}
EOF
printf '{%s\n}\n' "$DIRECT_DEPENDENCIES,$PINNED_DEPENDENCIES" > pins.json

# --ignore-scripts: esbuild's postinstall only double-checks its binary, which
# npm already installs from the @esbuild/<platform> optional dependency.
npm install --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null

# Every installed package must be one of the pins, at the pinned version, and
# installed once (no nested second copy of a CodeMirror package).
node <<'EOF_NODE'
const pins = require('./pins.json')
const lock = require('./package-lock.json').packages
const bad = []
for (const [path, { version }] of Object.entries(lock)) {
  if (!path) continue
  const name = path.replace(/^.*node_modules\//, '')
  if (name === 'esbuild' || name.startsWith('@esbuild/')) continue
  if (path !== `node_modules/${name}`) bad.push(`nested copy: ${path}@${version}`)
  else if (pins[name] !== version) bad.push(`${name}@${version} is not pinned (pin: ${pins[name] ?? 'none'})`)
}
for (const name of Object.keys(pins)) if (!lock[`node_modules/${name}`]) bad.push(`${name} pinned but not installed`)
if (bad.length) { console.error('error: installed packages differ from the pins:\n  ' + bad.join('\n  ')); process.exit(1) }
EOF_NODE

cp "$ENTRY" entry.js

BANNER="/*! CodeMirror 6 (codemirror, @codemirror/*, @lezer/* and their dependencies; MIT License, see LICENSE.dependencies) bundled as one ES module from tools/editor-entry.js by tools/vendor-editor.sh with esbuild $ESBUILD_VERSION. Generated file: do not edit. */"

./node_modules/.bin/esbuild entry.js \
  --bundle \
  --format=esm \
  --platform=browser \
  --target=es2020 \
  --minify \
  --legal-comments=none \
  --charset=utf8 \
  "--banner:js=$BANNER" \
  --log-level=warning \
  --metafile=meta.json \
  --outfile=codemirror.mjs

# No dynamic loading: esbuild's metafile lists no import left in the output
# (static or dynamic), and the minified code has no `import(` call at all.
node -e '
const out = require("./meta.json").outputs["codemirror.mjs"]
if (out.imports.length) { console.error("error: the bundle imports", out.imports); process.exit(1) }'
if grep -noE '.{0,60}\bimport\(.{0,60}' codemirror.mjs; then
  echo "error: the bundle calls import() (lines above)" >&2; exit 1
fi

# The bundle's exports must be exactly the names the entry re-exports (read
# from esbuild's metafile and the entry's `export { ... }` lists).
node > exports.txt <<'EOF_NODE'
const fs = require('fs')
const meta = require('./meta.json')
const got = [...meta.outputs['codemirror.mjs'].exports].sort()
const src = fs.readFileSync('entry.js', 'utf8').replace(/\/\/.*$/gm, '')
const want = [...src.matchAll(/export\s*\{([^}]*)\}/g)]
  .flatMap((m) => m[1].split(',').map((s) => s.trim().split(/\s+as\s+/).pop()).filter(Boolean)).sort()
if (JSON.stringify(got) !== JSON.stringify(want)) {
  console.error('error: bundle exports', got, 'entry exports', want); process.exit(1)
}
console.log(got.join('\n'))
EOF_NODE

# Does it load as an ES module? Node has no DOM; CodeMirror only touches
# `document`/`navigator`/`window` when a view is created, so the import itself
# should succeed and list the same names.
cat > load.mjs <<'EOF'
const m = await import('./codemirror.mjs')
const names = Object.keys(m).sort()
const want = (await import('node:fs')).readFileSync('exports.txt', 'utf8').trim().split('\n')
if (JSON.stringify(names) !== JSON.stringify(want)) throw new Error('import() exports differ: ' + names)
// A state without a view needs no DOM: parse a little JavaScript with the TS mode.
const { EditorState, javascript, syntaxTree } = m
const state = EditorState.create({ doc: 'const x: number = 1', extensions: [javascript({ typescript: true })] })
const tree = syntaxTree(state)
if (tree.length !== state.doc.length) throw new Error('parse did not cover the document')
console.log(`node import ok: ${names.length} exports, TypeScript parse tree top=${tree.type.name}`)
EOF
LOAD_RESULT="$(node load.mjs)"
echo "$LOAD_RESULT"

# The npm packages that ended up in the bundle (from esbuild's metafile), and
# their licenses.
node > packages.txt <<'EOF_NODE'
const inputs = Object.keys(require('./meta.json').inputs)
const dirs = new Set(inputs.map((f) => f.match(/^node_modules\/((?:@[^/]+\/)?[^/]+)\//)?.[1]).filter(Boolean))
for (const dir of [...dirs].sort()) {
  const { name, version, license } = require(`./node_modules/${dir}/package.json`)
  console.log(`${name} ${version} ${license}`)
}
EOF_NODE
{
  echo "Licenses of the packages bundled into codemirror.mjs"
  echo "(generated by tools/vendor-editor.sh from each package's own license file)."
  while read -r name version license; do
    echo
    echo "================================================================================"
    echo "$name@$version ($license)"
    echo "================================================================================"
    echo
    licfile="$(ls node_modules/"$name" | grep -iE '^licen[cs]e' | head -n1)"
    [ -n "$licfile" ] || { echo "error: no license file in $name" >&2; exit 1; }
    cat "node_modules/$name/$licfile"
  done < packages.txt
} > LICENSE.dependencies
if awk '{print $3}' packages.txt | grep -vx MIT; then
  echo "error: a bundled package is not MIT-licensed (above); review before vendoring" >&2; exit 1
fi

RAW=$(wc -c < codemirror.mjs)
GZ=$(gzip -9 -c codemirror.mjs | wc -c)
LIMIT=$((300 * 1024))
if [ "$GZ" -le "$LIMIT" ]; then
  VERDICT="The bundle alone is within the issue's budget (at most 300 KB gzip for everything the editor loads): $((GZ * 100 / LIMIT))% of it, leaving $(( (LIMIT - GZ) / 1024 )) KB for the editor's own code."
else
  VERDICT="The bundle alone is OVER the issue's budget of 300 KB gzip for everything the editor loads."
fi
BUNDLED="$(awk '{printf "  - %s %s (%s)\n", $1, $2, $3}' packages.txt)"
EXPORTS="$(tr '\n' ' ' < exports.txt | sed -E 's/ $//; s/([^ ]+)/`\1`/g; s/` `/`, `/g')"

mkdir -p "$OUT_DIR"
cp codemirror.mjs "$OUT_DIR/codemirror.mjs"
cp LICENSE.dependencies "$OUT_DIR/LICENSE.dependencies"

cat > "$OUT_DIR/README.md" <<EOF
# CodeMirror 6, bundled as one browser ES module

The code editor of the \`/__dev/\` browser editor (issue 13). One file,
\`codemirror.mjs\`: minified, \`format=esm\`, \`target=es2020\`, no CDN, no
dynamic \`import()\`, no other module imported. Embedded in the binary by \`hbf/dev\`
(served as \`/__dev/codemirror.mjs\`, gzip-compressed when the browser takes it).

- Source: these packages from the npm registry, exact versions pinned by the
  script (the direct ones as dependencies, the transitive ones through npm
  "overrides"; the script fails if npm installs anything else):
$BUNDLED
- License: all MIT; every package's license text, as name@version, is in
  [LICENSE.dependencies](LICENSE.dependencies).
- Built by \`tools/vendor-editor.sh\` with esbuild $ESBUILD_VERSION from
  [\`tools/editor-entry.js\`](../../tools/editor-entry.js):
  \`esbuild --bundle --format=esm --platform=browser --target=es2020 --minify\`.

## Size

| | bytes |
|---|---|
| raw | $RAW |
| gzip -9 | $GZ |

$VERDICT

## Exports

Exactly the names \`tools/editor-entry.js\` re-exports (the script checks the
bundle's exports against the entry's):

$EXPORTS

What they come from: \`EditorState\` and the state core (\`@codemirror/state\`);
\`EditorView\`, \`keymap\` and the view pieces (\`@codemirror/view\`);
\`basicSetup\`/\`minimalSetup\` (\`codemirror\`) and their parts so a setup can be
assembled by hand; \`history\` and the keymaps (\`@codemirror/commands\`); language
support (\`@codemirror/language\`); the modes \`javascript\` (\`javascript({ typescript: true, jsx: true })\`
for TypeScript and JSX), \`css\`, \`html\`, \`json\` (with \`jsonParseLinter\`),
\`markdown\`; \`search\`; \`autocompletion\`; the lint hooks (\`linter\`,
\`lintGutter\`, \`setDiagnostics\`); \`MergeView\` (two documents \`a\` and \`b\`
side by side) and \`unifiedMergeView\` (one editor against an original) with
their chunk helpers (\`@codemirror/merge\`). @codemirror/merge has no three-way
view: the issue's merge view (base, theirs, mine) is to be built from these.

Checked by the script in Node (no DOM): \`import()\` of the bundle succeeds and
lists the same names, and an \`EditorState\` with the TypeScript mode parses a
line. ($LOAD_RESULT.) Creating an \`EditorView\` needs a DOM, so that is left to
the browser tests.

Usage from the editor's pages:

\`\`\`js
import { EditorView, EditorState, basicSetup, javascript } from './codemirror.mjs'
const view = new EditorView({
  parent: document.querySelector('#editor'),
  state: EditorState.create({ doc: 'export default 1\n', extensions: [basicSetup, javascript({ typescript: true })] })
})
\`\`\`

## Rebuild

Needs node and npm; npm works in a temporary directory and nothing else is
written to the repository:

\`\`\`sh
bash tools/vendor-editor.sh
\`\`\`

To upgrade, change the pinned versions at the top of the script (look them up
with \`npm view <package> version\`), re-run it, and commit the script and the
outputs together. To export more, add the names to \`tools/editor-entry.js\`.
EOF

echo "bundled CodeMirror with esbuild $ESBUILD_VERSION: $RAW bytes, $GZ gzip -> third_party/codemirror/codemirror.mjs"
