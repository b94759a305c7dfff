// Issue 13, scenario 3: a save against a version changed behind the editor's
// back (412) opens the three-way merge; "keep mine" stores the editor's text
// as the next version.
import assert from 'node:assert/strict'
import { browserTest, editorText, openFile, replaceText, save, tab, waitFor, withHelloMessage } from './harness.mjs'

browserTest('editor: a 412 opens the merge view, keep mine stores the editor text', async (t) => {
  t.allowConsole(/status of 412/) // the refused save
  const { server } = t
  const page = await t.openEditor()
  const base = await server.api.read('hbf/server.js')
  await openFile(page, 'hbf/server.js')

  const mine = withHelloMessage(base.text, 'mine')
  await replaceText(page, mine)
  await page.waitForSelector(`${tab('hbf/server.js')}.dirty`)

  const theirs = withHelloMessage(base.text, 'theirs')
  const put = await server.api.put('hbf/server.js', theirs, { ifMatch: base.version })
  assert.equal(put.status, 200, JSON.stringify(put.json))
  const theirsVersion = put.json.version
  assert.equal(theirsVersion, base.version + 1)

  await save(page)
  await page.locator('#merge').waitFor({ state: 'visible' })
  assert.ok(await page.locator('#merge-take-theirs').isVisible(), '#merge-take-theirs')
  await page.click('#merge-keep-mine')
  // "Keep mine" may store at once or fill the result for #merge-save.
  await page.waitForTimeout(300)
  if ((await page.locator('#merge').isVisible()) && (await page.locator('#merge-save').isVisible())) {
    await page.click('#merge-save')
  }

  const stored = await waitFor('the merged save', async () => {
    const f = await server.api.read('hbf/server.js')
    return f.version > theirsVersion && f
  })
  assert.equal(stored.version, theirsVersion + 1)
  assert.equal(stored.text, mine, "the stored file is the editor's text")
  await page.locator('#merge').waitFor({ state: 'hidden' })
  await page.waitForSelector(`${tab('hbf/server.js')}.active:not(.dirty)`)
  assert.equal(await editorText(page), mine)
  assert.deepEqual((await server.get('/hello')).json(), { message: 'mine' })
})
