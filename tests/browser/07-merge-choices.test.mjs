// The merge view's other ways out (issue 13: "keep mine", "take theirs" and a
// hand merge), and a change made behind the editor's back marking the tab.
import assert from 'node:assert/strict'
import { browserTest, editorText, openFile, replaceText, save, tab, textOf, waitEditorText, waitFor } from './harness.mjs'

const JS = 'hbf/server.js'

/** Edits the editor's copy to `mine` and the server's to `theirs`, then saves: the merge view opens. */
async function conflict(t, page, mine, theirs) {
  const base = await t.server.api.read(JS)
  await openFile(page, JS)
  await replaceText(page, mine(base.text))
  await page.waitForSelector(`${tab(JS)}.dirty`)
  const put = await t.server.api.put(JS, theirs(base.text), { ifMatch: base.version })
  assert.equal(put.status, 200, JSON.stringify(put.json))
  // The event stream marks the tab as changed on the server.
  await page.waitForSelector(`${tab(JS)}.stale`)
  assert.match(await textOf(page, '#remote-banner'), new RegExp(`v${put.json.version}`))
  await save(page)
  await page.locator('#merge').waitFor({ state: 'visible' })
  return { base, theirsVersion: put.json.version }
}

browserTest('editor: take theirs drops my edit and stores nothing', async (t) => {
  t.allowConsole(/status of 412/)
  const page = await t.openEditor()
  const theirs = (s) => s.replace('Hello, World!', 'Hello, theirs!')
  const { base, theirsVersion } = await conflict(t, page, (s) => s.replace('Hello, World!', 'Hello, mine!'), theirs)
  await page.click('#merge-take-theirs')
  await page.locator('#merge').waitFor({ state: 'hidden' })
  await waitEditorText(page, theirs(base.text), "the server's text")
  await page.waitForSelector(`${tab(JS)}:not(.dirty):not(.stale)`)
  await page.waitForTimeout(500) // nothing more may be sent
  const stored = await t.server.api.read(JS)
  assert.equal(stored.version, theirsVersion, 'take theirs writes no version')
  assert.equal(stored.text, theirs(base.text))
})

browserTest('editor: changes to different lines merge without conflict and save as one version', async (t) => {
  t.allowConsole(/status of 412/)
  const page = await t.openEditor()
  const mine = (s) => s.replace('Hello, World!', 'Hello, mine!')
  const theirs = (s) => s.replace("userId: req.params.id", "userId: req.params.id, by: 'theirs'")
  const { base, theirsVersion } = await conflict(t, page, mine, theirs)
  assert.ok(base.text.includes('userId: req.params.id'), 'the base pod has the /user/:id route')
  assert.match(await textOf(page, '#merge-result-label'), /without conflicts/)
  await page.click('#merge-save')
  const merged = mine(theirs(base.text))
  const stored = await waitFor('the merged version', async () => {
    const f = await t.server.api.read(JS)
    return f.version > theirsVersion && f
  })
  assert.equal(stored.version, theirsVersion + 1)
  assert.equal(stored.text, merged, 'both changes, once each')
  await waitEditorText(page, merged)
  assert.deepEqual((await t.server.get('/hello')).json(), { message: 'Hello, mine!' })
})

browserTest('editor: a conflict settled by hand in the result is what is stored', async (t) => {
  t.allowConsole(/status of 412/)
  const page = await t.openEditor()
  const { base, theirsVersion } = await conflict(
    t, page,
    (s) => s.replace('Hello, World!', 'Hello, mine!'),
    (s) => s.replace('Hello, World!', 'Hello, theirs!'),
  )
  assert.match(await textOf(page, '#merge-result-label'), /conflict markers/)
  const result = page.locator('#merge-result .cm-content')
  await result.click()
  await page.keyboard.press('Control+A')
  const byHand = base.text.replace('Hello, World!', 'Hello, both of us!')
  await page.keyboard.insertText(byHand)
  await waitFor('the markers gone from the label', async () => !/markers/.test(await textOf(page, '#merge-result-label')))
  await page.click('#merge-save')
  const stored = await waitFor('the hand merge', async () => {
    const f = await t.server.api.read(JS)
    return f.version > theirsVersion && f
  })
  assert.equal(stored.text, byHand)
  assert.equal(await editorText(page), byHand)
  assert.deepEqual((await t.server.get('/hello')).json(), { message: 'Hello, both of us!' })
})
