// The base pod's server: HBF-style handler (`globalThis.app.handle(req, res)`).
//
// req: method, path (decoded, no query), query (raw), url, headers (lower-case),
//      params, body (string), bodyBytes (Uint8Array)
// res: status(code), set(name, value), send(string | Uint8Array), json(value);
//      chainable, the first send wins.

// This pod keeps nothing of its own between requests (the router is built once,
// the handlers only read it, notes live in hbf:fs), so it opts into sharing one
// context per worker: the fastest isolation (DOCS/PERF.md). A pod that keeps
// per-request state in modules or globals leaves this out and gets `snapshot`:
// every request starts from the warm heap as it was after loading. `hbf
// --isolation ...` overrides it.
export const isolation = 'worker'

import { Router } from './lib/router.js'
import { renderHome } from './lib/home.js'
import { greeting } from './lib/esm-static.js'
import { aboutPage } from './lib/about.tsx'
import * as fs from 'hbf:fs'

const router = new Router()

router.get('/', (req, res) => {
  const html = renderHome({
    title: 'HBF',
    intro: 'A web runtime in one binary: hyper serves HTTP, QuickJS runs this pod, SQLite stores it.',
    routes: router.routes,
  })
  res.set('Content-Type', 'text/html; charset=utf-8').send(html)
}, 'this page')

router.get('/hello', (req, res) => res.json({ message: 'Hello, World!' }), 'a JSON greeting')

router.get('/user/:id', (req, res) => res.json({ userId: req.params.id }), 'a path parameter')

router.all('/echo', (req, res) => {
  const { method, path, query, headers, body } = req
  res.json({ method, path, query, headers, body })
}, 'the request as JSON: method, path, query, headers, body')

router.get('/esm-test', async (req, res) => {
  const { message, value } = await import('./lib/esm-test.js')
  res.json({ message, value })
}, 'a dynamic import()')

router.get('/esm-test-static', (req, res) => res.json(greeting), 'a static import')

router.get('/about', (req, res) => {
  res.set('Content-Type', 'text/html; charset=utf-8').send(aboutPage())
}, 'a page in TSX (lib/about.tsx)')

// Notes: a small versioned store on hbf:fs. Every PUT is a new version of
// static/notes/<name>.txt (also served at /static/notes/<name>.txt).
const notePath = (name) => `static/notes/${name}.txt`
const validName = (name) => /^[\w-]{1,64}$/.test(name)

router.get('/notes/:name', (req, res) => {
  const { name } = req.params
  const text = validName(name) ? fs.read(notePath(name)) : null
  if (text === null) return res.status(404).json({ error: 'Not Found', note: name })
  res.json({ note: name, text, versions: fs.history(notePath(name)).length })
}, 'read a note')

router.put('/notes/:name', (req, res) => {
  const { name } = req.params
  if (!validName(name)) return res.status(400).json({ error: 'note names are 1-64 letters, digits, _ or -' })
  const { version, size } = fs.write(notePath(name), req.body)
  res.status(201).json({ note: name, version, size })
}, 'write a note (a new version each time)')

globalThis.app = {
  handle(req, res) {
    res.set('X-Powered-By', 'HBF')
    return router.handle(req, res)
  },
}
