// /t/router/** is dispatched by find-my-way, a third-party router from the npm
// registry, bundled to one ES module by tools/bundle-third-party.sh
// (see third_party/find-my-way/README.md). It proves a real npm package runs
// inside a pod.
//
// find-my-way's lookup(req, res) reads req.method, req.url and req.headers,
// which an HBF request has, and calls handler(req, res, params, store, searchParams).

import Router from '../vendor/find-my-way.js'

const json = (res, status, value) =>
  res.status(status).set('Content-Type', 'application/json').send(JSON.stringify(value))

const router = Router({
  ignoreTrailingSlash: true,
  defaultRoute: (req, res) =>
    json(res, 404, { error: 'Not Found', router: 'find-my-way', path: req.path }),
  onBadUrl: (path, req, res) =>
    json(res, 400, { error: 'Bad URL', router: 'find-my-way', path }),
})

router.get('/t/router', (req, res) =>
  json(res, 200, { router: 'find-my-way', routes: router.prettyPrint() }))

router.get('/t/router/users/:id', (req, res, params, store, searchParams) =>
  json(res, 200, { router: 'find-my-way', route: '/t/router/users/:id', params, query: { ...searchParams } }))

// A regular-expression parameter: digits only, anything else falls to defaultRoute.
router.get('/t/router/items/:id(^\\d+)', (req, res, params) =>
  json(res, 200, { router: 'find-my-way', route: '/t/router/items/:id(^\\d+)', id: Number(params.id) }))

router.post('/t/router/items', (req, res) =>
  json(res, 201, { router: 'find-my-way', created: true, body: req.body }))

// Two parameters in one segment.
router.get('/t/router/range/:from-:to', (req, res, params) =>
  json(res, 200, { router: 'find-my-way', from: params.from, to: params.to }))

router.get('/t/router/files/*', (req, res, params) =>
  json(res, 200, { router: 'find-my-way', path: params['*'] }))

// Constraint on the Accept-Version request header (find-my-way's semver store).
router.get('/t/router/versioned', (req, res) =>
  json(res, 200, { router: 'find-my-way', version: null }))
router.on('GET', '/t/router/versioned', { constraints: { version: '1.2.0' } }, (req, res) =>
  json(res, 200, { router: 'find-my-way', version: '1.2.0' }))

export const routeWithFindMyWay = (req, res) => router.lookup(req, res)
