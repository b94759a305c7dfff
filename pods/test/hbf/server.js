// The test pod's server: the base pod's routes (same bodies) plus the /t/
// routes of lib/test-routes.js that the integration tests use. HBF-style
// handler (`globalThis.app.handle(req, res)`); hbf/fetch-style.js shows the
// other style.
//
// req: method, path (decoded, no query), query (raw), url, headers (lower-case),
//      params, body (string), bodyBytes (Uint8Array)
// res: status(code), set(name, value), send(string | Uint8Array), json(value);
//      chainable, the first send wins.

import { Router } from './lib/router.js'
import { renderHome } from './lib/home.js'
import { greeting } from './lib/esm-static.js'
import { registerTestRoutes } from './lib/test-routes.js'

const router = new Router()

router.get('/', (req, res) => {
  const html = renderHome({
    title: 'HBF test pod',
    intro: 'The base routes plus one route per runtime feature under /t/, for the integration tests.',
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

registerTestRoutes(router)

// The TypeScript and TSX routes (lib/ts/routes.ts, also served by
// hbf/fetch-style.ts), imported when one is asked for: the other routes'
// requests do not load those modules.
for (const path of ['/t/ts', '/t/tsx', '/t/tsx-preact', '/t/ts-throw']) {
  router.get(path, async (req, res) => {
    const { tsRoutes } = await import('./lib/ts/routes.ts')
    const reply = await tsRoutes[path](new URLSearchParams(req.query))
    res.status(reply.status).set('Content-Type', reply.type).send(reply.body)
  }, 'TypeScript: lib/ts/routes.ts')
}

globalThis.app = {
  handle(req, res) {
    res.set('X-Powered-By', 'HBF')
    return router.handle(req, res)
  },
}
