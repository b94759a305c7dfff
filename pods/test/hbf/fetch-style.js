// Fetch-style handler (like Workers, Deno, Bun), for tests of the second
// handler style of SPEC 4.
//
// A pod selects the fetch style by having hbf/server.js `export default` an
// object with a `fetch(request)` method that returns a Response (or a promise
// of one); a pod whose server.js sets `globalThis.app` instead uses the HBF
// style. This file is not loaded by the test pod's own server.js: a test packs
// a pod whose hbf/server.js is a copy of this file (it imports nothing but
// ./lib/esm-test.js, which the test pod has, so it works from either name).
//
// Uses the standard Request, Response, Headers and URL globals.

const json = (value, init = {}) =>
  new Response(JSON.stringify(value), {
    ...init,
    headers: { 'Content-Type': 'application/json', 'X-Powered-By': 'HBF', ...init.headers },
  })

const routes = {
  'GET /hello': () => json({ message: 'Hello, World!' }),

  'GET /headers': (request, url) =>
    json(
      { headers: Object.fromEntries(request.headers) },
      {
        headers: {
          'X-Test-One': '1',
          'X-Test-Two': 'two',
          'Cache-Control': 'no-store',
          ...(url.searchParams.has('name') && { [url.searchParams.get('name')]: url.searchParams.get('value') ?? '' }),
        },
      },
    ),

  'GET /binary': () =>
    new Response(Uint8Array.from({ length: 256 }, (_, i) => i), {
      headers: { 'Content-Type': 'application/octet-stream', 'X-Powered-By': 'HBF' },
    }),

  'GET /esm-test': async () => {
    const { message, value } = await import('./lib/esm-test.js')
    return json({ message, value })
  },

  'GET /reject': async () => {
    await null
    throw new Error('rejected by fetch-style /reject after an await')
  },
}

export default {
  async fetch(request) {
    const url = new URL(request.url)

    // /echo answers any method and reads the body as text.
    if (url.pathname === '/echo') {
      return json({
        method: request.method,
        path: url.pathname,
        query: url.search.slice(1),
        headers: Object.fromEntries(request.headers),
        body: await request.text(),
      })
    }

    const user = /^\/user\/([^/]+)$/.exec(url.pathname)
    if (user && request.method === 'GET') return json({ userId: decodeURIComponent(user[1]) })

    const route = routes[`${request.method} ${url.pathname}`]
    if (route) return route(request, url)

    return json({ error: 'Not Found', path: url.pathname }, { status: 404 })
  },
}
