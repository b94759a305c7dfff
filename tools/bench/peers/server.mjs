// The peers' side of hbf-bench: the routes HBF's base pod serves, written the
// way a Node developer would (node:http, static files cached in memory with the
// same validators HBF sends), so that every server does the same work. Node.js,
// Bun and Deno all run this one file (their node:http), so the runtimes, not
// three different servers, are compared.
//
//   node tools/bench/peers/server.mjs PORT POD_STATIC_DIR NOTES_DIR
//   tools/bench/peers/node_modules/bun/bin/bun.exe tools/bench/peers/server.mjs ...
//   tools/bench/peers/node_modules/deno/deno run --allow-all tools/bench/peers/server.mjs ...
import http from 'node:http'
import fs from 'node:fs'
import path from 'node:path'
import crypto from 'node:crypto'

const [port = '5310', staticDir = 'pods/base/static', notesDir = '/tmp/hbf-bench-notes'] = process.argv.slice(2)
fs.mkdirSync(notesDir, { recursive: true })

const TYPES = { '.css': 'text/css; charset=utf-8', '.ico': 'image/x-icon', '.json': 'application/json' }
const files = new Map()
for (const name of fs.readdirSync(staticDir)) {
  const data = fs.readFileSync(path.join(staticDir, name))
  files.set(`/static/${name}`, {
    data,
    etag: `"${crypto.createHash('sha256').update(data).digest('hex')}"`,
    lastModified: fs.statSync(path.join(staticDir, name)).mtime.toUTCString(),
    type: TYPES[path.extname(name)] ?? 'application/octet-stream',
  })
}

const json = (res, status, value) => {
  res.writeHead(status, { 'Content-Type': 'application/json', 'X-Powered-By': 'HBF' })
  res.end(JSON.stringify(value))
}

const server = http.createServer((req, res) => {
  const [pathname, query = ''] = req.url.split('?')
  const file = files.get(pathname)
  if (file) {
    if (req.headers['if-none-match'] === file.etag) {
      res.writeHead(304, { ETag: file.etag })
      return res.end()
    }
    res.writeHead(200, {
      'Content-Type': file.type,
      ETag: file.etag,
      'Last-Modified': file.lastModified,
      'Cache-Control': 'no-cache',
    })
    return res.end(file.data)
  }
  if (pathname === '/hello') return json(res, 200, { message: 'Hello, World!' })
  const user = /^\/user\/([^/]+)$/.exec(pathname)
  if (user) return json(res, 200, { userId: decodeURIComponent(user[1]) })
  const chunks = []
  req.on('data', (c) => chunks.push(c))
  req.on('end', () => {
    const body = Buffer.concat(chunks).toString('utf8')
    if (pathname === '/echo') {
      return json(res, 200, { method: req.method, path: pathname, query, headers: req.headers, body })
    }
    const note = /^\/notes\/([\w-]{1,64})$/.exec(pathname)
    if (note && req.method === 'PUT') {
      const file = path.join(notesDir, `${note[1]}.txt`)
      fs.writeFileSync(file, body)
      return json(res, 201, { note: note[1], size: Buffer.byteLength(body) })
    }
    json(res, 404, { error: 'Not Found', path: pathname })
  })
})
server.keepAliveTimeout = 60_000
server.listen(Number(port), '127.0.0.1')
