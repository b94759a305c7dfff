// Issue 13, scenario 4: the history panel lists version 1; reverting to it
// serves the original /hello again and the editor shows the reverted text.
import assert from 'node:assert/strict'
import { browserTest, openFile, replaceText, save, tab, waitEditorText, waitFor, withHelloMessage } from './harness.mjs'

browserTest('editor: history lists version 1, revert serves the original again', async (t) => {
  const { server } = t
  const page = await t.openEditor()
  const original = await server.api.read('hbf/server.js')
  assert.equal(original.version, 1)
  await openFile(page, 'hbf/server.js')

  const message = 'changed, then reverted'
  await replaceText(page, withHelloMessage(original.text, message))
  await save(page)
  await page.waitForSelector(`${tab('hbf/server.js')}.active:not(.dirty)`)
  await waitFor('GET /hello to serve the change', async () => (await server.get('/hello')).json().message === message)

  await page.click('#history-button')
  const item = page.locator('#history .history-item[data-version="1"]')
  await item.waitFor({ state: 'visible' })
  for (const action of ['.history-view', '.history-diff', '.history-revert']) {
    assert.equal(await item.locator(action).count(), 1, `version 1 has ${action}`)
  }
  await item.locator('.history-revert').click()

  await waitFor('GET /hello to serve the original message', async () => {
    const r = await server.get('/hello')
    return r.status === 200 && r.text() === '{"message":"Hello, World!"}'
  })
  const reverted = await server.api.read('hbf/server.js')
  assert.equal(reverted.text, original.text)
  assert.equal(reverted.version, 3)
  await waitEditorText(page, original.text, 'the editor to show the reverted text')
  assert.equal(await page.locator(`${tab('hbf/server.js')}.dirty`).count(), 0, 'the tab is dirty after the revert')
})
