// A small route table for HBF-style handlers.
//
//   const router = new Router()
//   router.get('/user/:id', (req, res) => res.json({ userId: req.params.id }))
//   globalThis.app = { handle: (req, res) => router.handle(req, res) }
//
// Patterns are matched against `req.path` (already decoded, no query string):
//   /hello        a literal path
//   /user/:id     `:name` matches one non-empty segment -> req.params.name
//   /files/*      a trailing `*` matches the rest of the path -> req.params['*']
// A GET route also answers HEAD. A path that matches with another method gets
// 405 with an `Allow` header; no match at all gets 404. Both have JSON bodies.

// Characters a literal segment must escape in a RegExp (most have none).
const SPECIAL = /[.*+?^${}()|[\]\\]/
const SPECIALS = /[.*+?^${}()|[\]\\]/g

const compile = (pattern) => {
  const names = []
  const source = pattern
    .split('/')
    .map((segment, i, all) => {
      if (segment === '*' && i === all.length - 1) {
        names.push('*')
        return '(.*)'
      }
      if (segment.startsWith(':')) {
        names.push(segment.slice(1))
        return '([^/]+)'
      }
      return SPECIAL.test(segment) ? segment.replace(SPECIALS, '\\$&') : segment
    })
    .join('/')
  return { regex: new RegExp(`^${source}$`), names }
}

export const notFound = (req, res) =>
  res.status(404).json({ error: 'Not Found', path: req.path })

export class Router {
  #routes = []

  on(method, pattern, handler, description = '') {
    this.#routes.push({ method: method.toUpperCase(), pattern, handler, description, ...compile(pattern) })
    return this
  }

  get(pattern, handler, description) { return this.on('GET', pattern, handler, description) }
  post(pattern, handler, description) { return this.on('POST', pattern, handler, description) }
  put(pattern, handler, description) { return this.on('PUT', pattern, handler, description) }
  delete(pattern, handler, description) { return this.on('DELETE', pattern, handler, description) }
  all(pattern, handler, description) { return this.on('*', pattern, handler, description) }

  // The registered routes, for listing (method, pattern, description).
  get routes() {
    return this.#routes.map(({ method, pattern, description }) => ({ method, pattern, description }))
  }

  match(method, path) {
    const routes = this.#routes
    let allowed = null
    for (let r = 0; r < routes.length; r++) {
      const route = routes[r]
      const found = route.regex.exec(path)
      if (!found) continue
      const methodMatches = route.method === '*' || route.method === method ||
        (route.method === 'GET' && method === 'HEAD')
      if (!methodMatches) {
        allowed ??= new Set()
        allowed.add(route.method)
        continue
      }
      const params = {}
      for (let i = 0; i < route.names.length; i++) params[route.names[i]] = found[i + 1]
      return { route, params }
    }
    return allowed ? { allowed: [...allowed] } : null
  }

  // Dispatch one request. Returns whatever the handler returns (maybe a promise),
  // so async handlers and their rejections reach the runtime.
  handle(req, res, fallback = notFound) {
    const found = this.match(req.method, req.path)
    if (found?.route) {
      req.params = Object.assign({}, req.params, found.params)
      return found.route.handler(req, res)
    }
    if (found?.allowed) {
      const allow = found.allowed.includes('GET') ? [...found.allowed, 'HEAD'] : found.allowed
      return res.status(405).set('Allow', allow.join(', ')).json({ error: 'Method Not Allowed', method: req.method, path: req.path })
    }
    return fallback(req, res)
  }
}
