// The editor's Service Worker: keeps a copy of the editor's own files so that
// /__dev/ opens with the server down. Network first (a new binary's editor is
// used as soon as it answers), the cached copy when the server cannot be
// reached. The dev API is never cached: its answers belong to the store.

const CACHE = 'hbf-editor-v1'
const SHELL = [
  './',
  'index.html',
  'editor.css',
  'icon.svg',
  'main.js',
  'page.js',
  'drafts.js',
  'saving.js',
  'files.js',
  'server.js',
  'api.js',
  'store.js',
  'store-worker.js',
  'merge3.js',
  'tree.js',
  'panels.js',
  'data.js',
  'codemirror.mjs',
]

self.addEventListener('install', (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      .then((cache) => cache.addAll(SHELL))
      .then(() => self.skipWaiting()),
  )
})

self.addEventListener('activate', (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((names) => Promise.all(names.filter((n) => n !== CACHE).map((n) => caches.delete(n))))
      .then(() => self.clients.claim()),
  )
})

self.addEventListener('fetch', (event) => {
  const request = event.request
  const url = new URL(request.url)
  const scope = new URL(self.registration.scope)
  if (request.method !== 'GET' || url.origin !== scope.origin) return
  if (!url.pathname.startsWith(scope.pathname) || url.pathname.startsWith(`${scope.pathname}api/`)) return
  event.respondWith(
    (async () => {
      const cache = await caches.open(CACHE)
      // The page's address may carry ?query; the shell is one document.
      const key = url.pathname === scope.pathname || url.pathname.endsWith('/index.html') ? scope.pathname : request
      try {
        const response = await fetch(request)
        if (response.ok) await cache.put(key, response.clone())
        return response
      } catch (e) {
        const cached = await cache.match(key, { ignoreSearch: true })
        if (cached) return cached
        throw e
      }
    })(),
  )
})
