// Issue 13, scenario 1 (and the login form): /__dev/#token=... shows every
// file of the pod in the tree and takes the token out of the address bar into
// sessionStorage; a wrong token shows the login form.
import assert from 'node:assert/strict'
import { browserTest, treeFile, waitReady } from './harness.mjs'

browserTest('editor: the tree lists every file and the token leaves the address bar', async (t) => {
  const page = await t.openEditor()
  const files = (await t.server.api.files()).filter((f) => !f.deleted)
  assert.ok(files.length >= 5, `the pod has ${files.length} files`)
  const missing = []
  for (const f of files) {
    if ((await page.locator(treeFile(f.path)).count()) === 0) missing.push(f.path)
  }
  assert.deepEqual(missing, [], 'files of GET files that are not in #tree')

  const { hash, href, stored } = await page.evaluate(() => ({
    hash: location.hash,
    href: location.href,
    stored: Object.values(sessionStorage),
  }))
  assert.equal(hash, '', 'location.hash after load')
  assert.ok(!href.includes(t.server.token), `the token is still in the address bar: ${href}`)
  assert.ok(stored.some((v) => v.includes(t.server.token)), 'the token is not in sessionStorage')
  assert.equal(await page.locator('#login').isVisible(), false, '#login is shown with a valid token')

  // The page ran under a Content Security Policy (any violation would have
  // failed this test through the console).
  const shell = await t.server.get('/__dev/')
  assert.equal(shell.status, 200)
  assert.match(shell.headers['content-security-policy'] ?? '', /script-src/, 'the editor is served without a CSP')
})

browserTest('editor: a wrong token (401) shows the login form', async (t) => {
  t.allowConsole(/status of 401/) // the refused API requests
  const page = await t.openEditor({ token: 'wrong-token-' + 'x'.repeat(20), ready: false })
  await page.locator('#login').waitFor({ state: 'visible' })
  assert.ok(await page.locator('#login-token').isVisible(), '#login-token')
  assert.ok(await page.locator('#login-submit').isVisible(), '#login-submit')
  assert.equal(await page.evaluate(() => document.body.dataset.ready), undefined, 'ready with a refused token')
})

browserTest('editor: after a 401 the login form takes the right token and opens the editor', async (t) => {
  t.allowConsole(/status of 401/)
  const page = await t.openEditor({ token: 'wrong-token-' + 'x'.repeat(20), ready: false })
  await page.locator('#login').waitFor({ state: 'visible' })
  await page.fill('#login-token', t.server.token)
  await page.click('#login-submit')
  await page.locator('#login').waitFor({ state: 'hidden' })
  await page.locator(treeFile('hbf/server.js')).first().waitFor({ state: 'attached' })
  await waitReady(page, 5000, 'the tree is shown after the login')
  const stored = await page.evaluate(() => Object.values(sessionStorage))
  assert.ok(stored.some((v) => v.includes(t.server.token)), 'the token is not in sessionStorage')
})
