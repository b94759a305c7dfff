// Issue 13, scenario 2: edit the /hello handler, Control+S; the tab is clean
// again, the preview and a plain GET /hello show the new message.
import assert from 'node:assert/strict'
import { browserTest, editorText, openFile, replaceText, save, tab, textOf, waitFor, withHelloMessage } from './harness.mjs'

browserTest('editor: edit server.js, save, the preview and GET /hello show it', async (t) => {
  const { server } = t
  const page = await t.openEditor()
  const before = await server.api.read('hbf/server.js')
  await openFile(page, 'hbf/server.js')
  assert.equal(await editorText(page), before.text, 'the editor shows the stored hbf/server.js')

  const message = 'Hello from the browser test'
  const edited = withHelloMessage(before.text, message)
  await replaceText(page, edited)
  await page.waitForSelector(`${tab('hbf/server.js')}.dirty`)
  assert.equal(await editorText(page), edited)
  await save(page)
  await page.waitForSelector(`${tab('hbf/server.js')}.active:not(.dirty)`)

  // The tab is clean once the save is queued; the server has it a moment later.
  const after = await waitFor('the save to reach the server', async () => {
    const f = await server.api.read('hbf/server.js')
    return f.version > before.version && f
  })
  assert.equal(after.text, edited, 'the stored file is the editor text')
  assert.equal(after.version, before.version + 1)
  await waitFor(`#status-version to say v${after.version}`, async () => (await textOf(page, '#status-version')) === `v${after.version}`)
  await waitFor('a #log line of the events stream naming hbf/server.js', async () =>
    (await page.locator('#log .log-line', { hasText: 'hbf/server.js' }).count()) > 0)

  await page.fill('#preview-path', '/hello')
  await page.locator('#preview-path').press('Enter')
  const frame = page.frameLocator('#preview')
  await waitFor('the preview to show the new message', async () =>
    ((await frame.locator('body').textContent({ timeout: 2000 })) ?? '').includes(message))

  const hello = await server.get('/hello')
  assert.equal(hello.status, 200)
  assert.deepEqual(hello.json(), { message })
})
