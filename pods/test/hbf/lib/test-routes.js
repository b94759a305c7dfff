// The /t/ routes: one per runtime feature an integration test needs.
// pods/test/README.md lists each route and what a test expects from it.
//
// hbf:db is synchronous, as SPEC 4 gives it: query() returns rows, execute()
// returns { changes, lastInsertRowid }, transaction(fn) returns fn's result
// (and rolls back if fn throws). hbf:fs calls are awaited, so they may return
// either a value or a promise.

import { query, execute, transaction } from 'hbf:db'
import * as fs from 'hbf:fs'
import { log } from 'hbf:console'
import { routeWithFindMyWay } from './router-demo.js'

// Module state: a fresh module instance per request means this is always 1.
let moduleCounter = 0

// `name=a&b=c+d` -> { name: 'a', b: 'c d' }; the last repeated key wins.
export const parseQuery = (raw = '') =>
  Object.fromEntries(
    raw.split('&').filter(Boolean).map((pair) => {
      const [key, value = ''] = pair.split(/=(.*)/s)
      const decode = (text) => {
        try { return decodeURIComponent(text.replace(/\+/g, ' ')) } catch { return text }
      }
      return [decode(key), decode(value)]
    }),
  )

// JSON that survives bigint (as a string) and Uint8Array (as { bytes: [...] }).
const toJSON = (value) => JSON.stringify(value, (key, v) => {
  if (typeof v === 'bigint') return v.toString()
  if (v instanceof Uint8Array) return { bytes: Array.from(v) }
  return v
})

const sendJSON = (res, value, status = 200) =>
  res.status(status).set('Content-Type', 'application/json').send(toJSON(value))

const bytesEqual = (a, b) =>
  a instanceof Uint8Array && b instanceof Uint8Array &&
  a.length === b.length && a.every((byte, i) => byte === b[i])

const utf8Length = (text) => [...text].reduce((n, ch) => {
  const c = ch.codePointAt(0)
  return n + (c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4)
}, 0)

const allBytes = () => Uint8Array.from({ length: 256 }, (_, i) => i)

const requireParam = (params, name, res) => {
  if (params[name] === undefined || params[name] === '') {
    sendJSON(res, { error: `missing query parameter: ${name}` }, 400)
    return null
  }
  return params[name]
}

// t_items comes from the pod's migrations (hbf/migrations/0001_items.sql).
const countItems = () => Number(query('SELECT count(*) AS n FROM t_items', [])[0].n)

export const registerTestRoutes = (router) => {
  // ---- hbf:db --------------------------------------------------------------

  router.all('/t/db', (req, res) => {
    const { name = 'item' } = parseQuery(req.query)
    const blob = allBytes()
    const inserted = transaction(() =>
      execute('INSERT INTO t_items (name, data) VALUES (?, ?)', [name, blob]))
    const id = inserted.lastInsertRowid
    const [stored] = query('SELECT data FROM t_items WHERE id = :id', { id })
    const rows = query('SELECT id, name FROM t_items ORDER BY id DESC LIMIT 10', [])
    sendJSON(res, {
      inserted: { changes: inserted.changes, lastInsertRowid: id },
      count: countItems(),
      rows,
      blob: {
        isUint8Array: stored?.data instanceof Uint8Array,
        length: stored?.data?.length ?? null,
        equal: bytesEqual(stored?.data, blob),
      },
    })
  }, 'insert in a transaction into the migrations\' table, query; BLOB round trip')

  router.get('/t/db/types', (req, res) => {
    const big = 2n ** 62n + 1n
    const [row] = query(
      'SELECT ? AS anInt, ? AS aReal, ? AS aText, ? AS aTrue, ? AS aFalse, ? AS aNull, ? AS aBigint, ? AS aBlob, ' +
      'typeof(?) AS bigintType',
      [42, 1.5, 'héllo ✓', true, false, null, big, new Uint8Array([1, 2, 3]), big],
    )
    const types = Object.fromEntries(Object.entries(row).map(([key, v]) =>
      [key, v instanceof Uint8Array ? 'Uint8Array' : v === null ? 'null' : typeof v]))
    sendJSON(res, { row, types, bigintEqual: BigInt(row.aBigint) === big })
  }, 'bind number, string, boolean, null, bigint, Uint8Array; see what comes back')

  router.all('/t/db/rollback', (req, res) => {
    let error = null
    try {
      transaction(() => {
        execute('INSERT INTO t_items (name) VALUES (?)', ['doomed'])
        throw new Error('roll back, please')
      })
    } catch (e) {
      error = e.message
    }
    const doomed = Number(query('SELECT count(*) AS n FROM t_items WHERE name = ?', ['doomed'])[0].n)
    sendJSON(res, { doomed, rolledBack: doomed === 0, error })
  }, 'a transaction whose callback throws leaves no row')

  router.post('/t/db/sql', (req, res) => {
    try {
      const { sql, params = [] } = JSON.parse(req.body || '{}')
      const isQuery = /^\s*(select|with|pragma|values)\b/i.test(sql) || /\breturning\b/i.test(sql)
      const result = isQuery ? query(sql, params) : execute(sql, params)
      sendJSON(res, { ok: true, result })
    } catch (e) {
      sendJSON(res, { ok: false, error: String(e?.message ?? e) }, 400)
    }
  }, 'POST {"sql", "params"}: run any SQL; 400 with the error if it fails')

  // ---- hbf:fs --------------------------------------------------------------

  router.get('/t/fs/read', async (req, res) => {
    const params = parseQuery(req.query)
    const path = requireParam(params, 'path', res)
    if (path === null) return
    let content
    try {
      content = await fs.read(path)
    } catch (e) {
      return sendJSON(res, { path, exists: false, error: String(e?.message ?? e) }, 404)
    }
    if (content === null || content === undefined) return sendJSON(res, { path, exists: false }, 404)
    if (params.raw) {
      const type = typeof content === 'string' ? 'text/plain; charset=utf-8' : 'application/octet-stream'
      return res.set('Content-Type', type).send(content)
    }
    const isText = typeof content === 'string'
    sendJSON(res, {
      path,
      exists: true,
      type: isText ? 'string' : 'Uint8Array',
      size: isText ? utf8Length(content) : content.length,
      content: isText ? content : Array.from(content),
    })
  }, '?path=P[&raw=1]: read the latest version (JSON, or the raw bytes)')

  router.post('/t/fs/write', async (req, res) => {
    const params = parseQuery(req.query)
    const path = requireParam(params, 'path', res)
    if (path === null) return
    const data = params.as === 'text' ? req.body : req.bodyBytes
    try {
      const result = await fs.write(path, data)
      sendJSON(res, { path, written: data.length, result: result ?? null })
    } catch (e) {
      sendJSON(res, { path, error: String(e?.message ?? e) }, 400)
    }
  }, '?path=P[&as=text]: write the request body as a new version')

  router.get('/t/fs/list', async (req, res) => {
    const { prefix = '' } = parseQuery(req.query)
    sendJSON(res, { prefix, entries: await fs.list(prefix) })
  }, '?prefix=P: list files under a prefix')

  router.get('/t/fs/history', async (req, res) => {
    const params = parseQuery(req.query)
    const path = requireParam(params, 'path', res)
    if (path === null) return
    try {
      sendJSON(res, { path, versions: await fs.history(path) })
    } catch (e) {
      sendJSON(res, { path, error: String(e?.message ?? e) }, 404)
    }
  }, '?path=P: all versions of a file')

  router.post('/t/fs/revert', async (req, res) => {
    const params = parseQuery(req.query)
    const path = requireParam(params, 'path', res)
    const version = requireParam(params, 'version', res)
    if (path === null || version === null) return
    try {
      const result = await fs.revert(path, Number(version))
      sendJSON(res, { path, version: Number(version), result: result ?? null })
    } catch (e) {
      sendJSON(res, { path, error: String(e?.message ?? e) }, 400)
    }
  }, '?path=P&version=N: write version N again as the latest')

  // ---- errors and limits ---------------------------------------------------

  router.get('/t/throw', (req) => {
    throw new Error(parseQuery(req.query).message ?? 'thrown by /t/throw')
  }, 'throws synchronously (?message= its text): expect 500')

  router.get('/t/reject', async () => {
    await null
    await new Promise((resolve) => resolve())
    throw new Error('rejected by /t/reject after an await')
  }, 'async handler rejects after awaits: expect 500')

  router.get('/t/reject-chain', () =>
    Promise.resolve().then(() => Promise.reject(new Error('rejected by /t/reject-chain'))),
  'returns a promise chain that rejects: expect 500')

  router.get('/t/loop', async (req, res) => {
    if (parseQuery(req.query).async) await null
    for (;;) { /* spin until the runtime's deadline interrupts */ }
  }, 'infinite loop ([?async=1]: after an await): expect 504/500 near the timeout')

  router.get('/t/alloc', (req, res) => {
    const { mb = '200', kind = 'bytes' } = parseQuery(req.query)
    const size = Number(mb)
    if (kind === 'single') {
      const block = new Uint8Array(size * (1 << 20))
      return sendJSON(res, { allocatedMB: block.length >> 20 })
    }
    const chunks = []
    for (let i = 0; i < size; i++) {
      chunks.push(kind === 'string'
        ? `${i}:`.padEnd(1 << 20, String.fromCharCode(97 + (i % 26)))
        : new Uint8Array(1 << 20).fill(i & 0xff))
    }
    sendJSON(res, { allocatedMB: chunks.length })
  }, '[?mb=200&kind=bytes|string|single]: allocate that much (1 MB chunks, or one block): expect 500 over the memory limit')

  router.get('/t/recurse', (req, res) => {
    const dive = (depth) => dive(depth + 1) + 1
    sendJSON(res, { depth: dive(0) })
  }, 'unbounded recursion: expect 500')

  // ---- request and response ------------------------------------------------

  router.all('/t/headers', (req, res) => {
    const { name, value = '' } = parseQuery(req.query)
    res
      .set('X-Test-One', '1')
      .set('X-Test-Two', 'two')
      .set('Cache-Control', 'no-store')
      .set('Content-Language', 'en')
    if (name) res.set(name, value)
    sendJSON(res, { headers: req.headers })
  }, 'sets X-Test-One, X-Test-Two, Cache-Control, Content-Language and ?name=&value=; echoes request headers')

  router.get('/t/many-headers', (req, res) => {
    const n = Number(parseQuery(req.query).n || 0)
    for (let i = 0; i < n; i++) res.append('X-Many', String(i))
    sendJSON(res, { headers: n })
  }, 'appends ?n= X-Many headers: a few hundred pass, tens of thousands are a 500 from the runtime')

  router.get('/t/binary', (req, res) =>
    res.set('Content-Type', 'application/octet-stream').send(allBytes()),
  'the 256 byte values 0..255')

  router.post('/t/binary', (req, res) =>
    res.set('Content-Type', 'application/octet-stream').send(req.bodyBytes),
  'echoes req.bodyBytes')

  router.all('/t/status', (req, res) => {
    const code = Number(parseQuery(req.query).code ?? 200)
    if (code === 204 || code === 304) return res.status(code).send('')
    sendJSON(res, { status: code }, code)
  }, '?code=N: responds with status N')

  router.get('/t/first-send', (req, res) => {
    res.status(201).json({ first: true })
    res.status(500).json({ first: false })
    res.set('X-Too-Late', 'yes').send('ignored')
  }, 'sends twice: expect 201 {"first":true}')

  router.get('/t/async', async (req, res) => {
    const steps = []
    await null
    steps.push('await')
    await Promise.resolve().then(() => steps.push('then'))
    steps.push(await new Promise((resolve) => resolve('promise')))
    sendJSON(res, { ok: true, steps })
  }, 'async handler that succeeds after several awaits')

  router.get('/t/unicode', (req, res) =>
    sendJSON(res, { text: 'héllo wörld ✓ 🚀 日本語' }),
  'non-ASCII JSON')

  // ---- isolation -----------------------------------------------------------

  router.get('/t/global', (req, res) => {
    moduleCounter += 1
    globalThis.hbfTestCounter = (globalThis.hbfTestCounter ?? 0) + 1
    const polluted = 'hbfPolluted' in Array.prototype
    let builtins = 'writable'
    try {
      Array.prototype.hbfPolluted = true
    } catch (e) {
      if (!(e instanceof TypeError)) throw e
      builtins = 'frozen'
    }
    sendJSON(res, { module: moduleCounter, global: globalThis.hbfTestCounter, polluted, builtins })
  }, 'mutates module, global and prototype state: expect {"module":1,"global":1,"polluted":false}')

  // ---- console -------------------------------------------------------------

  router.get('/t/console', (req, res) => {
    const { marker = 'hbf-console-test' } = parseQuery(req.query)
    console.log(`${marker} console.log`, { n: 1 })
    console.info(`${marker} console.info`)
    console.warn(`${marker} console.warn`)
    console.error(`${marker} console.error`)
    console.debug(`${marker} console.debug`)
    log(`${marker} hbf:console log`)
    sendJSON(res, { logged: 6, marker })
  }, '[?marker=M]: logs M through console.* and hbf:console')

  // ---- modules -------------------------------------------------------------

  router.get('/t/import-bare', async (req, res) => {
    const { greet } = await import('greeting')
    const { value } = await import('lib/esm-test.js')
    const { default: Router } = await import('find-my-way')
    sendJSON(res, { greeting: greet('importmap'), value, findMyWay: typeof Router })
  }, 'bare specifiers mapped by static/importmap.json')

  router.get('/t/import-absolute', async (req, res) => {
    const { message, value } = await import('/hbf/lib/esm-test.js')
    sendJSON(res, { message, value })
  }, 'import() of an absolute pod path')

  router.get('/t/import-relative', async (req, res) => {
    const { fromParent } = await import('./nested/relative.js')
    sendJSON(res, { fromParent })
  }, 'import() of ./nested/relative.js, which imports ../esm-static.js')

  // ---- third-party router --------------------------------------------------

  router.all('/t/router', routeWithFindMyWay, 'find-my-way: its route tree')
  router.all('/t/router/*', routeWithFindMyWay, 'find-my-way: users/:id, items/:id(^\\d+), POST items, range/:from-:to, files/*, versioned')

  return router
}
