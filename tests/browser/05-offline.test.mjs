// Issue 13, scenario 5: offline editing. Two files are edited and saved with
// the server down (queued); the editor reloads from its Service Worker with
// the server still down, and again after the browser is closed and relaunched
// on the same profile (the token then comes from the login form: sessionStorage
// does not survive a closed browser); when the server is back on the same port
// and database the queue drains and both files have their edited text.
import assert from 'node:assert/strict'
import {
  browserTest, editorText, openFile, replaceText, save, showTab, tab, textOf, waitEditorText,
  waitFor, waitReady, withHelloMessage,
} from './harness.mjs'

const JS = 'hbf/server.js'
const CSS = 'static/style.css'

async function waitStatus(page, selector, expected, timeout = 15000) {
  let last
  try {
    await waitFor(`${selector} to say ${expected}`, async () => (last = await textOf(page, selector)) === expected, { timeout })
  } catch (e) {
    assert.equal(last, expected, e.message)
  }
}

/** After a load with the server down: the tree, both tabs, each with its edited text. */
async function checkRestored(page, edits) {
  await page.locator('#tree [data-path="hbf/server.js"]').first().waitFor({ state: 'attached' })
  for (const [p, text] of Object.entries(edits)) {
    await page.locator(tab(p)).first().waitFor({ state: 'attached' })
    await showTab(page, p)
    await waitEditorText(page, text, `${p}'s edited text`)
  }
  await waitStatus(page, '#status-connection', 'offline')
  await waitStatus(page, '#status-queue', '2')
}

browserTest('editor: offline edits are queued, survive a reload and a browser restart, and sync', async (t) => {
  // With the server down every request of the editor fails.
  t.allowConsole(/net::ERR_(CONNECTION_REFUSED|CONNECTION_RESET|CONNECTION_CLOSED|EMPTY_RESPONSE|FAILED|INTERNET_DISCONNECTED)/)
  const { server } = t
  let page = await t.openEditor()
  const sw = await page.evaluate(() => Promise.race([
    navigator.serviceWorker.ready.then((r) => (r.active ? 'active' : 'none')),
    new Promise((resolve) => setTimeout(() => resolve('no service worker after 10 s'), 10000)),
  ]))
  assert.equal(sw, 'active', 'the editor\'s Service Worker')

  const before = { [JS]: await server.api.read(JS), [CSS]: await server.api.read(CSS) }
  await openFile(page, JS)
  await openFile(page, CSS)
  await waitStatus(page, '#status-connection', 'online')
  await waitStatus(page, '#status-queue', '0')

  await server.stop()
  const edits = {
    [JS]: withHelloMessage(before[JS].text, 'edited offline'),
    [CSS]: before[CSS].text + '\n/* edited offline */\n',
  }
  for (const p of [JS, CSS]) {
    await showTab(page, p)
    await replaceText(page, edits[p])
    await save(page)
  }
  await waitStatus(page, '#status-connection', 'offline')
  await waitStatus(page, '#status-queue', '2')

  // A reload with the server down comes from the Service Worker's cache.
  await page.reload()
  await waitReady(page)
  await checkRestored(page, edits)

  // A closed browser forgets sessionStorage: the login form asks for the token.
  page = await t.relaunch()
  await page.goto(t.editorUrl(null))
  await page.locator('#login').waitFor({ state: 'visible' })
  await page.fill('#login-token', server.token)
  await page.click('#login-submit')
  await waitReady(page)
  await checkRestored(page, edits)

  // The server is back (same port, same database): the queue drains.
  await server.start()
  try {
    await waitStatus(page, '#status-queue', '0', 10000)
    t.note('the queue drained on its own')
  } catch {
    t.note('the queue did not drain in 10 s on its own: #sync-button clicked')
    await page.click('#sync-button')
    await waitStatus(page, '#status-queue', '0', 15000)
  }
  await waitStatus(page, '#status-connection', 'online')
  for (const p of [JS, CSS]) {
    const now = await server.api.read(p)
    assert.equal(now.text, edits[p], `${p} as stored after the sync`)
    assert.equal(now.version, before[p].version + 1, `${p}'s version after the sync`)
    assert.equal(await page.locator(`${tab(p)}.dirty`).count(), 0, `${p}'s tab is still dirty`)
  }
  assert.deepEqual((await server.get('/hello')).json(), { message: 'edited offline' })
  assert.equal(await editorText(page), edits[CSS]) // the tab shown last
}, { timeout: 90000 })
