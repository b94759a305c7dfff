// The harness itself, independent of the editor: the server starts, answers
// the dev API and plain routes, stops and starts again on the same port and
// database; Chromium loads a pod page and leaves a screenshot.
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import { artifactsDir, artifactName, browserTest, makePng, sha256 } from './harness.mjs'

browserTest('harness: server, dev API, restart on the same port, Chromium', async (t) => {
  const { server } = t
  assert.equal(server.token.length, 32)

  const hello = await server.get('/hello')
  assert.equal(hello.status, 200)
  assert.deepEqual(hello.json(), { message: 'Hello, World!' })

  const files = await server.api.files()
  const paths = files.map((f) => f.path)
  assert.ok(paths.includes('hbf/server.js'), paths.join(' '))
  assert.ok(paths.includes('static/style.css'), paths.join(' '))

  // The token is required.
  const { httpRequest } = await import('./harness.mjs')
  const refused = await httpRequest(server.url('/__dev/api/files'), { headers: { authorization: 'Bearer wrong-token-0123456789' } })
  assert.equal(refused.status, 401)

  // A write with a precondition, a stale one, history.
  const png = await makePng(4, 4)
  const created = await server.api.put('static/harness.png', png, { ifNoneMatch: '*' })
  assert.equal(created.status, 201, JSON.stringify(created.json))
  const served = await server.get('/static/harness.png')
  assert.equal(served.status, 200)
  assert.equal(sha256(served.bytes), sha256(png))
  const css = await server.api.read('static/style.css')
  const stale = await server.api.put('static/style.css', 'x', { ifMatch: css.version + 1 })
  assert.equal(stale.status, 412)
  const ok = await server.api.put('static/style.css', css.text + '\n/* harness */\n', { ifMatch: css.version })
  assert.equal(ok.status, 200, JSON.stringify(ok.json))
  assert.equal(ok.json.version, css.version + 1)
  assert.deepEqual((await server.api.history('static/style.css')).map((h) => h.version), [1, 2].slice(0, css.version + 1))

  // Stop: nothing answers; start on the same port and database: the write is there.
  const port = server.port
  await server.stop()
  await assert.rejects(server.get('/hello'))
  await server.start()
  assert.equal(server.port, port)
  const again = await server.api.read('static/style.css')
  assert.equal(again.version, css.version + 1)
  assert.ok(again.text.endsWith('/* harness */\n'))

  // Chromium loads a pod page.
  await t.page.goto(server.url('/hello'))
  assert.match(await t.page.textContent('body'), /Hello, World!/)
  await t.page.goto(server.url('/'))
  assert.equal(await t.page.title(), 'HBF')

  // Relaunch on the same profile keeps storage.
  await t.page.evaluate(() => localStorage.setItem('harness', 'kept'))
  await t.relaunch()
  await t.page.goto(server.url('/hello'))
  assert.equal(await t.page.evaluate(() => localStorage.getItem('harness')), 'kept')
})

browserTest('harness: a console error fails the test', async (t) => {
  await t.page.goto(t.server.url('/hello'))
  await t.page.evaluate(() => console.error('deliberate'))
  await new Promise((r) => setTimeout(r, 200))
  assert.equal(t.problems.length, 1, t.problems.join('\n'))
  assert.match(t.problems[0], /console error.*deliberate/)
  t.problems.length = 0 // expected here
  assert.ok(fs.existsSync(path.dirname(artifactsDir)))
  assert.equal(artifactName('A b/c: d'), 'a-b-c-d')
})
