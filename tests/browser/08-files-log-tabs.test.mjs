// The rest of the editor a person uses every day: new file, rename and delete
// from the tree; the log pane with the pod's console lines and request ids;
// two browser tabs of the editor sharing one queue (sent once); the IndexedDB
// copy where OPFS is not used.
import assert from 'node:assert/strict'
import {
  browserTest, openFile, replaceText, save, tab, textOf, treeFile, waitEditorText, waitFor, waitReady,
  withHelloMessage,
} from './harness.mjs'

browserTest('editor: new file, rename and delete from the tree', async (t) => {
  const page = await t.openEditor()
  await page.click('#new-file')
  await page.fill('#new-file-path', 'hbf/lib/greet.ts')
  await page.keyboard.press('Enter')
  await page.waitForSelector(`${tab('hbf/lib/greet.ts')}.active.dirty`)
  assert.equal((await t.server.api.file('hbf/lib/greet.ts')).status, 404, 'not on the server before its first save')
  const text = 'export const greet = (name: string): string => `Hello, ${name}`\n'
  await page.locator('#editor .cm-content').click()
  await page.keyboard.insertText(text)
  await save(page)
  const created = await waitFor('the new file on the server', async () => {
    const f = await t.server.api.file('hbf/lib/greet.ts')
    return f.status === 200 && f
  })
  assert.equal(created.text, text)
  assert.equal((await t.server.api.read('hbf/lib/greet.ts')).version, 1, 'one version: no empty first one')

  const row = page.locator(treeFile('hbf/lib/greet.ts'))
  await row.hover()
  await row.locator('.rename').click()
  await page.fill('.rename-input', 'hbf/lib/greeting.ts')
  await page.keyboard.press('Enter')
  await page.waitForSelector(treeFile('hbf/lib/greeting.ts'))
  await page.waitForSelector(`${tab('hbf/lib/greeting.ts')}.active`)
  assert.equal((await t.server.api.read('hbf/lib/greeting.ts')).text, text)
  assert.equal((await t.server.api.file('hbf/lib/greet.ts')).status, 404, 'the old name is deleted')
  assert.equal(await page.locator(treeFile('hbf/lib/greet.ts')).count(), 0)

  const renamed = page.locator(treeFile('hbf/lib/greeting.ts'))
  await renamed.hover()
  await renamed.locator('.remove').click() // the confirm() is accepted by the harness
  await waitFor('the file gone from the tree', async () => (await page.locator(treeFile('hbf/lib/greeting.ts')).count()) === 0)
  assert.equal((await t.server.api.file('hbf/lib/greeting.ts')).status, 404)
  // The event stream may take the row away before the delete's answer closes the tab.
  await waitFor('its tab closed', async () => (await page.locator(tab('hbf/lib/greeting.ts')).count()) === 0)
  const history = await t.server.api.history('hbf/lib/greeting.ts')
  assert.ok(history.some((v) => v.deleted), 'a tombstone: the history stays')
})

browserTest('editor: the log shows the pod console lines with their request ids', async (t) => {
  const page = await t.openEditor()
  const base = await t.server.api.read('hbf/server.js')
  const logged = base.text.replace(
    "router.get('/hello', (req, res) => res.json(",
    "router.get('/hello', (req, res) => console.log('hello was asked for ' + req.path) || res.json(",
  )
  assert.notEqual(logged, base.text, 'the /hello route as the test expects it')
  await openFile(page, 'hbf/server.js')
  await replaceText(page, logged)
  await save(page)
  await waitFor('the saved version', async () => (await t.server.api.read('hbf/server.js')).text === logged)
  assert.equal((await t.server.get('/hello')).status, 200)
  const line = page.locator('#log .log-line', { hasText: 'hello was asked for /hello' })
  await line.first().waitFor()
  assert.match(await textOf(line.first(), '.log-request'), /^#\d+$/, 'the request id')
  // A JavaScript error of the pod, with its request id too.
  await replaceText(page, withHelloMessage(base.text, 'x').replace("res.json({ message: \"x\" })", "res.json(undefinedThing)"))
  await save(page)
  await waitFor('the broken version', async () => (await t.server.api.read('hbf/server.js')).text.includes('undefinedThing'))
  assert.equal((await t.server.get('/hello')).status, 500)
  await page.locator('#log .log-line.log-error', { hasText: 'undefinedThing' }).first().waitFor()
  t.allowConsole(/status of 500/) // the preview of /hello
})

browserTest('editor: two tabs share one queue, and it is sent once', async (t) => {
  t.allowConsole(/net::ERR_|status of 50\d/)
  const a = await t.openEditor()
  const b = await t.context.newPage()
  await b.goto(t.editorUrl())
  await waitReady(b)
  await openFile(a, 'static/style.css')
  const before = await t.server.api.read('static/style.css')
  await t.server.stop()
  const edited = before.text + '\n/* from tab A, offline */\n'
  await replaceText(a, edited)
  await save(a)
  await waitFor('tab A to queue it', async () => (await textOf(a, '#status-queue')) === '1')
  await waitFor('tab B to see the same queue', async () => (await textOf(b, '#status-queue')) === '1')
  await t.server.start()
  await waitFor('both tabs to see it sent', async () =>
    (await textOf(a, '#status-queue')) === '0' && (await textOf(b, '#status-queue')) === '0', { timeout: 20000 })
  const after = await t.server.api.read('static/style.css')
  assert.equal(after.text, edited)
  assert.equal(after.version, before.version + 1, 'one new version: the queue was sent once, not by each tab')
})

browserTest('editor: with the IndexedDB copy, an offline edit survives a reload', async (t) => {
  t.allowConsole(/net::ERR_/)
  const page = await t.openEditor()
  await page.evaluate(() => localStorage.setItem('hbf-editor-store', 'indexeddb'))
  await page.reload()
  await waitReady(page)
  assert.match(await textOf(page, '#status-store'), /IndexedDB/)
  await openFile(page, 'hbf/lib/home.js')
  await t.server.stop()
  const text = '// edited offline, kept in IndexedDB\n'
  await replaceText(page, text)
  await page.waitForTimeout(400) // past the draft delay
  await page.reload()
  await waitReady(page)
  await page.waitForSelector(`${tab('hbf/lib/home.js')}.dirty`)
  await page.locator(tab('hbf/lib/home.js')).click()
  await waitEditorText(page, text, 'the draft from IndexedDB')
  const kept = await page.evaluate(() => new Promise((resolve, reject) => {
    const r = indexedDB.open('hbf-editor', 1)
    r.onsuccess = () => {
      const get = r.result.transaction('records').objectStore('records').get('draft:hbf/lib/home.js')
      get.onsuccess = () => resolve(get.result?.text ?? null)
      get.onerror = () => reject(get.error)
    }
    r.onerror = () => reject(r.error)
  }))
  assert.equal(kept, text, 'the draft record is in IndexedDB')
})
