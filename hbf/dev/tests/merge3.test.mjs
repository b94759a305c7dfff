// Unit tests of the editor's three-way merge (node --test hbf/dev/tests/).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { diff } from '../../../third_party/codemirror/codemirror.mjs'
import { merge3, splitLines, hasConflictMarkers } from '../editor/merge3.js'

const m = (base, theirs, mine) => merge3(base, theirs, mine, diff, { theirs: 'server v3' })

test('lines keep their newlines', () => {
  assert.deepEqual(splitLines(''), [])
  assert.deepEqual(splitLines('a\nb'), ['a\n', 'b'])
  assert.deepEqual(splitLines('a\n\n'), ['a\n', '\n'])
})

test('changes to different lines merge cleanly', () => {
  const base = 'one\ntwo\nthree\nfour\nfive\n'
  const theirs = 'ONE\ntwo\nthree\nfour\nfive\n'
  const mine = 'one\ntwo\nthree\nfour\nFIVE\n'
  assert.deepEqual(m(base, theirs, mine), { text: 'ONE\ntwo\nthree\nfour\nFIVE\n', conflicts: 0 })
})

test('one side unchanged takes the other', () => {
  const base = 'a\nb\n'
  assert.deepEqual(m(base, base, 'a\nB\nc\n'), { text: 'a\nB\nc\n', conflicts: 0 })
  assert.deepEqual(m(base, 'x\n', base), { text: 'x\n', conflicts: 0 })
})

test('the same change on both sides is not a conflict', () => {
  assert.deepEqual(m('a\nb\nc\n', 'a\nX\nc\n', 'a\nX\nc\n'), { text: 'a\nX\nc\n', conflicts: 0 })
})

test('different changes to the same line conflict, with both texts', () => {
  const r = m('a\nb\nc\n', 'a\ntheirs\nc\n', 'a\nmine\nc\n')
  assert.equal(r.conflicts, 1)
  assert.equal(r.text, 'a\n<<<<<<< mine\nmine\n=======\ntheirs\n>>>>>>> server v3\nc\n')
  assert.ok(hasConflictMarkers(r.text))
})

test('a last line without a newline stays a line inside a conflict', () => {
  const r = m('x', 'y', 'z')
  assert.equal(r.text, '<<<<<<< mine\nz\n=======\ny\n>>>>>>> server v3\n')
})

test('insertions at the end from both sides conflict; deletions merge', () => {
  const base = 'keep\ndrop\n'
  assert.deepEqual(m(base, 'keep\n', 'keep\ndrop\nadded\n').conflicts, 1)
  assert.deepEqual(m('a\nb\nc\nd\n', 'b\nc\nd\n', 'a\nb\nc\n'), { text: 'b\nc\n', conflicts: 0 })
})

test('empty texts', () => {
  assert.deepEqual(m('', '', ''), { text: '', conflicts: 0 })
  assert.deepEqual(m('', 'new\n', ''), { text: 'new\n', conflicts: 0 })
  assert.equal(hasConflictMarkers('a\n==\n'), false)
})
