// Three-way merge of text by lines, as `git merge-file` does it: the changes
// each side made to the base are applied together; where both changed the
// same lines differently, the result holds both, between conflict markers,
// for a person to settle in the merge view.
//
// The line diff is CodeMirror's `diff` (Myers, from @codemirror/merge) run on
// strings in which every distinct line is one character, so no diff is
// written here; `diff` is passed in so this module also runs in Node's tests.

/** Splits text into lines that keep their "\n" (the last may lack one). */
export function splitLines(text) {
  if (text === '') return []
  return text.split(/(?<=\n)/)
}

// One character per distinct line: Basic Multilingual Plane code points
// outside the surrogate range, so every line is exactly one UTF-16 unit.
function codeFor(index) {
  const code = 0x100 + index
  return code < 0xd800 ? code : code + 0x800
}
const MAX_DISTINCT_LINES = 0xffff - 0x100 - 0x800

/**
 * The line changes from `a` to `b` (arrays of lines), as
 * `{fromA, toA, fromB, toB}` in line indexes, or null when the texts have
 * more distinct lines than can be encoded (the caller then treats the whole
 * text as one change).
 */
export function lineChanges(a, b, diff, codes = new Map()) {
  const encode = (lines) => {
    let out = ''
    for (const line of lines) {
      let code = codes.get(line)
      if (code === undefined) {
        if (codes.size >= MAX_DISTINCT_LINES) return null
        code = codeFor(codes.size)
        codes.set(line, code)
      }
      out += String.fromCharCode(code)
    }
    return out
  }
  const ea = encode(a)
  const eb = encode(b)
  if (ea === null || eb === null) return null
  return diff(ea, eb).map((c) => ({ fromA: c.fromA, toA: c.toA, fromB: c.fromB, toB: c.toB }))
}

/**
 * Merges `theirs` and `mine`, both edits of `base`. Returns
 * `{text, conflicts}`: the merged text and how many conflict blocks it holds
 * (0: a clean merge).
 */
export function merge3(base, theirs, mine, diff, labels = {}) {
  const mineLabel = labels.mine ?? 'mine'
  const theirsLabel = labels.theirs ?? 'theirs'
  const B = splitLines(base)
  const T = splitLines(theirs)
  const M = splitLines(mine)
  const codes = new Map()
  const ct = lineChanges(B, T, diff, codes)
  const cm = lineChanges(B, M, diff, codes)
  if (ct === null || cm === null) {
    return conflictOrSame(theirs, mine, mineLabel, theirsLabel)
  }
  const changes = [
    ...ct.map((c) => ({ ...c, side: 'theirs' })),
    ...cm.map((c) => ({ ...c, side: 'mine' })),
  ].sort((x, y) => x.fromA - y.fromA || x.toA - y.toA)

  const out = []
  let conflicts = 0
  let pos = 0 // next base line to copy
  let i = 0
  while (i < changes.length) {
    // A cluster: changes whose base ranges overlap or touch.
    const start = changes[i].fromA
    let end = changes[i].toA
    const cluster = [changes[i++]]
    while (i < changes.length && changes[i].fromA <= end) {
      end = Math.max(end, changes[i].toA)
      cluster.push(changes[i++])
    }
    out.push(...B.slice(pos, start))
    pos = end
    const sideText = (side, lines) => {
      const own = cluster.filter((c) => c.side === side)
      if (own.length === 0) return null
      const result = []
      let at = start
      for (const c of own) {
        result.push(...B.slice(at, c.fromA), ...lines.slice(c.fromB, c.toB))
        at = c.toA
      }
      result.push(...B.slice(at, end))
      return result
    }
    const t = sideText('theirs', T)
    const m = sideText('mine', M)
    if (t === null) out.push(...m)
    else if (m === null || t.join('') === m.join('')) out.push(...t)
    else {
      conflicts++
      out.push(...conflictBlock(m, t, mineLabel, theirsLabel))
    }
  }
  out.push(...B.slice(pos))
  return { text: out.join(''), conflicts }
}

function withNewline(lines) {
  if (lines.length && !lines[lines.length - 1].endsWith('\n')) {
    return [...lines.slice(0, -1), lines[lines.length - 1] + '\n']
  }
  return lines
}

function conflictBlock(mine, theirs, mineLabel, theirsLabel) {
  return [
    `<<<<<<< ${mineLabel}\n`,
    ...withNewline(mine),
    '=======\n',
    ...withNewline(theirs),
    `>>>>>>> ${theirsLabel}\n`,
  ]
}

function conflictOrSame(theirs, mine, mineLabel, theirsLabel) {
  if (theirs === mine) return { text: mine, conflicts: 0 }
  const text = conflictBlock(splitLines(mine), splitLines(theirs), mineLabel, theirsLabel).join('')
  return { text, conflicts: 1 }
}

/** True if `text` still holds a conflict marker line of merge3's. */
export function hasConflictMarkers(text) {
  return /^(<<<<<<< |=======$|>>>>>>> )/m.test(text)
}
