// The harness of the browser tests: the real hbf binary with --dev on a fresh
// database, a small client of its dev API, and Chromium (/usr/bin/chromium)
// driven by playwright-core on a fresh profile, for one test at a time.
//
//   import { browserTest } from './harness.mjs'
//   browserTest('the tree lists the files', async (t) => {
//     const page = await t.openEditor()             // /__dev/#token=..., waits for body[data-ready=1]
//     const files = await t.server.api.files()      // behind the editor's back
//     ...
//   })
//
// Each test gets its own server (a free port, <tmp>/hbf.db, a random 32-char
// HBF_DEV_TOKEN) and its own Chromium profile, which survives t.relaunch() (so
// do the Service Worker's cache, OPFS and IndexedDB). Page errors, console
// errors and any "Content Security Policy" message fail the test at its end
// (t.allowConsole(regex) accepts expected ones, e.g. a 412 the test provokes).
// A screenshot of every test (passed or failed) goes to
// target/browser-artifacts/<test-name>.png, with the server's log and the
// page's HTML next to it when the test failed.
//
// Environment: HBF_BIN (default target/debug/hbf), HBF_CHROMIUM (default
// /usr/bin/chromium), HBF_BROWSER_TIMEOUT_MS (per test, default 60000),
// HBF_BROWSER_HBF_ARGS (more hbf flags, split on spaces: e.g.
// "--editor-dir hbf/dev/editor" to test the editor's files as they are now).

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import fs from 'node:fs'
import http from 'node:http'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium } from 'playwright-core'

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
export const artifactsDir = path.join(repoRoot, 'target', 'browser-artifacts')
export const chromiumPath = process.env.HBF_CHROMIUM || '/usr/bin/chromium'
export const defaultTimeout = Number(process.env.HBF_BROWSER_TIMEOUT_MS || 60000)

export const chromiumArgs = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]

export function hbfBinary() {
  const bin = path.resolve(repoRoot, process.env.HBF_BIN || 'target/debug/hbf')
  if (!fs.existsSync(bin)) {
    throw new Error(`no hbf binary at ${bin}: run \`cargo build -p hbf\` first (or set HBF_BIN)`)
  }
  return bin
}

export const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex')
export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

/** Polls `fn` until it returns a truthy value (returned) or `timeout` ms pass (throws, naming `what` and the last value or error). */
export async function waitFor(what, fn, { timeout = 15000, interval = 100 } = {}) {
  const deadline = Date.now() + timeout
  let last
  for (;;) {
    try {
      const value = await fn()
      if (value) return value
      last = value
    } catch (e) {
      last = e
    }
    if (Date.now() > deadline) {
      const detail = last instanceof Error ? last.message : JSON.stringify(last)
      throw new Error(`timed out after ${timeout} ms waiting for ${what} (last: ${detail})`)
    }
    await sleep(interval)
  }
}

// Every process started here, killed when this test process exits however it
// exits (a failed assertion, a timeout, the runner's SIGTERM).
const live = new Set()
function killAll() {
  for (const child of live) {
    try { child.kill('SIGKILL') } catch {}
  }
}
process.on('exit', killAll)
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => { killAll(); process.exit(130) })
}

/** A free TCP port on 127.0.0.1 (bound and released: a later start may race another process, so starts retry). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const probe = net.createServer()
    probe.unref()
    probe.on('error', reject)
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address()
      probe.close(() => resolve(port))
    })
  })
}

/** One HTTP request on a fresh connection (none is reused across a server restart). */
export function httpRequest(url, { method = 'GET', headers = {}, body } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers, agent: false }, (res) => {
      const chunks = []
      res.on('data', (c) => chunks.push(c))
      res.on('end', () => {
        const bytes = Buffer.concat(chunks)
        resolve({
          status: res.statusCode,
          headers: res.headers,
          bytes,
          text: () => bytes.toString('utf8'),
          json: () => JSON.parse(bytes.toString('utf8')),
        })
      })
      res.on('error', reject)
    })
    req.setTimeout(30000, () => req.destroy(new Error(`${method} ${url}: no answer in 30 s`)))
    req.on('error', reject)
    if (body !== undefined) req.write(body)
    req.end()
  })
}

/** The dev API (/__dev/api/**) with the server's token. */
export class DevApi {
  constructor(server) {
    this.server = server
  }

  request(method, endpoint, query = {}, { headers = {}, body } = {}) {
    const q = new URLSearchParams()
    for (const [k, v] of Object.entries(query)) q.set(k, String(v))
    const url = this.server.url(`/__dev/api/${endpoint}?${q.toString().replace(/\+/g, '%20')}`)
    return httpRequest(url, {
      method,
      headers: { authorization: `Bearer ${this.server.token}`, ...headers },
      body,
    })
  }

  /** GET files?prefix=: [{path, version, size, sha256, mtime, deleted}] */
  async files(prefix = '') {
    const r = await this.request('GET', 'files', { prefix })
    assert.equal(r.status, 200, `GET files: ${r.text()}`)
    return r.json()
  }

  /** GET file?path=: {status, bytes, text, version} (version from the ETag). */
  async file(filePath) {
    const r = await this.request('GET', 'file', { path: filePath })
    const etag = r.headers.etag
    return {
      status: r.status,
      bytes: r.bytes,
      text: r.text(),
      version: etag ? Number(JSON.parse(etag)) : null,
    }
  }

  /** GET file, which must exist: {text, bytes, version}. */
  async read(filePath) {
    const f = await this.file(filePath)
    assert.equal(f.status, 200, `GET file ${filePath}: ${f.text}`)
    return f
  }

  /** PUT file?path= (ifMatch: a version number): {status, json}. */
  async put(filePath, body, { ifMatch, ifNoneMatch } = {}) {
    const headers = {}
    if (ifMatch !== undefined) headers['if-match'] = `"${ifMatch}"`
    if (ifNoneMatch !== undefined) headers['if-none-match'] = ifNoneMatch
    const r = await this.request('PUT', 'file', { path: filePath }, { headers, body })
    return { status: r.status, json: safeJson(r) }
  }

  async delete(filePath, { ifMatch } = {}) {
    const headers = ifMatch !== undefined ? { 'if-match': `"${ifMatch}"` } : {}
    const r = await this.request('DELETE', 'file', { path: filePath }, { headers })
    return { status: r.status, json: safeJson(r) }
  }

  /** GET history?path=: [{version, size, sha256, mtime, deleted}], oldest first. */
  async history(filePath) {
    const r = await this.request('GET', 'history', { path: filePath })
    assert.equal(r.status, 200, `GET history ${filePath}: ${r.text()}`)
    return r.json()
  }

  async revert(filePath, version, { ifMatch } = {}) {
    const headers = ifMatch !== undefined ? { 'if-match': `"${ifMatch}"` } : {}
    const r = await this.request('POST', 'revert', { path: filePath, version }, { headers })
    return { status: r.status, json: safeJson(r) }
  }
}

function safeJson(r) {
  try { return r.json() } catch { return r.text() }
}

function envArgs() {
  return (process.env.HBF_BROWSER_HBF_ARGS || '').split(/\s+/).filter(Boolean)
}

/**
 * `hbf --dev --port P --db DIR/hbf.db` with HBF_DEV_TOKEN: start(), stop()
 * (SIGTERM, waits for the exit) and start() again on the same port and database.
 */
export class HbfServer {
  constructor({ dir, token = randomBytes(16).toString('hex'), extraArgs = envArgs() } = {}) {
    this.dir = dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'hbf-browser-'))
    this.db = path.join(this.dir, 'hbf.db')
    this.token = token
    this.extraArgs = extraArgs
    this.port = null
    this.child = null
    this.disposed = false
    this.log = [] // every line of every run, for a failure's artifacts
    this.api = new DevApi(this)
  }

  get origin() {
    return `http://127.0.0.1:${this.port}`
  }

  url(p = '/') {
    return this.origin + p
  }

  get running() {
    return this.child !== null
  }

  /** Starts the server (the first time on a free port, later on the same one) and waits for its listening line. */
  async start({ timeout = 30000 } = {}) {
    assert.ok(!this.disposed, 'the test is over (timed out?): no server is started')
    assert.equal(this.child, null, 'the server is already running')
    const samePort = this.port !== null
    const deadline = Date.now() + timeout
    for (let attempt = 1; ; attempt++) {
      if (!samePort) this.port = await freePort()
      try {
        await this.#spawn(deadline)
        return this
      } catch (e) {
        // Only a port taken meanwhile is worth another try: a fresh port the
        // first time, the same port (freed by a process that is still exiting)
        // on a restart.
        const inUse = /in use|AddrInUse|os error 98/i.test(e.message)
        if (!inUse || Date.now() > deadline || attempt >= 20) throw e
        await sleep(samePort ? 250 : 0)
      }
    }
  }

  #spawn(deadline) {
    const env = { ...process.env, HBF_DEV_TOKEN: this.token, NO_COLOR: '1' }
    for (const name of ['HBF_PORT', 'HBF_HOST', 'HBF_DB', 'HBF_POD_DIR', 'HBF_LOG']) delete env[name]
    const args = ['--dev', '--port', String(this.port), '--db', this.db, '--log-level', 'info', ...this.extraArgs]
    this.log.push(`-- ${new Date().toISOString()} hbf ${args.join(' ')}`)
    const child = spawn(hbfBinary(), args, { env, stdio: ['ignore', 'pipe', 'pipe'] })
    live.add(child)
    this.child = child
    const runLog = []
    return new Promise((resolve, reject) => {
      let listening = false
      const fail = (message) => {
        clearTimeout(timer)
        if (this.child === child) this.child = null
        try { child.kill('SIGKILL') } catch {}
        reject(new Error(`${message}\n${runLog.join('\n')}`))
      }
      const timer = setTimeout(() => fail(`hbf did not log "listening on" in time`), Math.max(1000, deadline - Date.now()))
      const onLine = (line) => {
        runLog.push(line)
        this.log.push(line)
        if (!listening && line.includes(`listening on http://127.0.0.1:${this.port}`)) {
          listening = true
          clearTimeout(timer)
          resolve()
        }
      }
      for (const stream of [child.stdout, child.stderr]) {
        let buffered = ''
        stream.setEncoding('utf8')
        stream.on('data', (chunk) => {
          buffered += chunk
          let nl
          while ((nl = buffered.indexOf('\n')) >= 0) {
            onLine(buffered.slice(0, nl))
            buffered = buffered.slice(nl + 1)
          }
        })
      }
      child.on('error', (e) => fail(`cannot start hbf: ${e.message}`))
      child.on('exit', (code, signal) => {
        live.delete(child)
        this.log.push(`-- hbf exited (code ${code}, signal ${signal})`)
        if (this.child === child) this.child = null
        if (!listening) fail(`hbf exited (code ${code}, signal ${signal}) before listening`)
      })
    })
  }

  /** SIGTERM, then waits for the exit (SIGKILL after `timeout` ms). */
  async stop({ timeout = 10000 } = {}) {
    const child = this.child
    if (!child) return
    const exited = new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve()
      else child.once('exit', resolve)
    })
    child.kill('SIGTERM')
    const timer = setTimeout(() => {
      this.log.push(`-- hbf did not stop in ${timeout} ms after SIGTERM: SIGKILL`)
      try { child.kill('SIGKILL') } catch {}
    }, timeout)
    await exited
    clearTimeout(timer)
    this.child = null
  }

  async restart() {
    await this.stop()
    await this.start()
  }

  /** A plain request to the pod (not the dev API). */
  get(p, options) {
    return httpRequest(this.url(p), options)
  }

  async dispose() {
    this.disposed = true
    await this.stop()
    fs.rmSync(this.dir, { recursive: true, force: true })
  }
}

/** Chromium on `profileDir` (a persistent context: close and launch again on the same profile). */
export async function launchChromium(profileDir, options = {}) {
  if (!fs.existsSync(chromiumPath)) {
    throw new Error(`no Chromium at ${chromiumPath}: run tools/setup.sh (apt-get install chromium chromium-driver)`)
  }
  return chromium.launchPersistentContext(profileDir, {
    executablePath: chromiumPath,
    headless: true,
    args: chromiumArgs,
    viewport: { width: 1400, height: 900 },
    ...options,
  })
}

export function artifactName(name) {
  return name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 100)
}

/** What one test works with: its server, its browser and the problems seen in it. */
export class BrowserTestContext {
  constructor(name) {
    this.name = name
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hbf-browser-'))
    this.profileDir = path.join(this.dir, 'profile')
    fs.mkdirSync(this.profileDir)
    this.server = new HbfServer({ dir: path.join(this.dir, 'server') })
    fs.mkdirSync(this.server.dir)
    this.context = null
    this.page = null
    this.problems = []
    this.allowed = []
    this.disposed = false
    // A previous run's artifacts of this test would be mistaken for this run's.
    const base = path.join(artifactsDir, artifactName(name))
    for (const ext of ['.png', '.html', '.server.log']) fs.rmSync(base + ext, { force: true })
  }

  /** A line in the test's report (set by browserTest). */
  note(message) {
    console.log(`# ${message}`)
  }

  /** Accept console errors matching `regex` (never a Content Security Policy message). */
  allowConsole(regex) {
    this.allowed.push(regex)
  }

  #problem(kind, text, where) {
    this.problems.push(`${kind}${where ? ` (${where})` : ''}: ${text}`)
  }

  #watch(context) {
    context.on('console', (msg) => {
      const text = msg.text()
      const where = msg.location()?.url || msg.page()?.url() || ''
      if (/Content Security Policy/i.test(text)) {
        this.#problem('CSP', text, where)
      } else if (msg.type() === 'error' && !this.allowed.some((re) => re.test(text))) {
        // A pod page without a /favicon.ico: the browser's own request, not the page's.
        if (/\/favicon\.ico$/.test(where) && /status of 404/.test(text)) return
        this.#problem('console error', text, where)
      }
    })
    context.on('weberror', (e) => {
      const err = e.error()
      this.#problem('page error', err?.stack || err?.message || String(err), e.page()?.url())
    })
    // Confirmations (e.g. "revert to version 1?") are accepted.
    const onPage = (page) => page.on('dialog', (d) => d.accept().catch(() => {}))
    context.pages().forEach(onPage)
    context.on('page', onPage)
  }

  /** Launches Chromium on this test's profile; `t.page` is its first page. */
  async launch() {
    assert.ok(!this.disposed, 'the test is over (timed out?): no browser is launched')
    assert.equal(this.context, null, 'the browser is already running')
    this.context = await launchChromium(this.profileDir)
    this.#watch(this.context)
    this.page = this.context.pages()[0] ?? (await this.context.newPage())
    this.page.setDefaultTimeout(15000)
    return this.page
  }

  /** Closes the browser (the profile stays). */
  async closeBrowser() {
    const context = this.context
    this.context = null
    this.page = null
    if (context) await context.close().catch(() => {})
  }

  /** Closes Chromium and launches it again on the same profile. */
  async relaunch() {
    await this.closeBrowser()
    return this.launch()
  }

  editorUrl(token = this.server.token) {
    return this.server.url(token === null ? '/__dev/' : `/__dev/#token=${encodeURIComponent(token)}`)
  }

  /** Opens the editor (with the token in the fragment unless `token` is null) and waits until it is ready. */
  async openEditor({ token = this.server.token, ready = true } = {}) {
    const page = this.page ?? (await this.launch())
    await page.goto(this.editorUrl(token))
    if (ready) await waitReady(page)
    return page
  }

  async screenshot(suffix = '') {
    if (!this.page) return null
    fs.mkdirSync(artifactsDir, { recursive: true })
    const file = path.join(artifactsDir, `${artifactName(this.name)}${suffix}.png`)
    try {
      await this.page.screenshot({ path: file, fullPage: true, timeout: 10000 })
      return file
    } catch {
      return null
    }
  }

  async saveFailureArtifacts() {
    fs.mkdirSync(artifactsDir, { recursive: true })
    const base = path.join(artifactsDir, artifactName(this.name))
    fs.writeFileSync(`${base}.server.log`, this.server.log.join('\n') + '\n')
    if (this.page) {
      try { fs.writeFileSync(`${base}.html`, await this.page.content()) } catch {}
    }
  }

  async dispose() {
    this.disposed = true
    this.server.disposed = true
    await this.closeBrowser()
    await this.server.stop().catch(() => {})
    fs.rmSync(this.dir, { recursive: true, force: true })
  }
}

/**
 * A node:test test with its own server (started) and browser (launched):
 * `fn(t)` gets a BrowserTestContext. Fails on an error, a timeout or a problem
 * seen in the browser; always leaves a screenshot and stops what it started.
 */
export function browserTest(name, fn, { timeout = defaultTimeout, startServer = true } = {}) {
  test(name, { timeout: timeout + 30000 }, async (nodeTest) => {
    const t = new BrowserTestContext(name)
    t.note = (message) => nodeTest.diagnostic(message)
    let timer
    let failure = null
    try {
      if (startServer) await t.server.start()
      await t.launch()
      await Promise.race([
        fn(t),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`the test timed out after ${timeout} ms`)), timeout)
        }),
      ])
    } catch (e) {
      failure = e
    } finally {
      clearTimeout(timer)
      const shot = await t.screenshot()
      if (failure || t.problems.length) await t.saveFailureArtifacts()
      await t.dispose()
      const where = shot ? `\nscreenshot: ${path.relative(repoRoot, shot)}` : ''
      if (failure) {
        failure.message += where
        if (t.problems.length) failure.message += `\nalso seen in the browser:\n  ${t.problems.join('\n  ')}`
      } else if (t.problems.length) {
        failure = new Error(`problems seen in the browser:\n  ${t.problems.join('\n  ')}${where}`)
      }
    }
    if (failure) throw failure
  })
}

// ---- the editor's UI contract (hbf/dev/editor), as the scenarios use it ----

/** Waits for body[data-ready="1"] (the tree has been shown). */
export async function waitReady(page, timeout = 20000, after = 'the page was opened') {
  try {
    await page.waitForFunction(() => document.body?.dataset.ready === '1', null, { timeout })
  } catch (e) {
    const state = await page.evaluate(() => ({
      ready: document.body?.dataset.ready ?? null,
      login: !!document.querySelector('#login') && !document.querySelector('#login').hidden,
      tree: document.querySelectorAll('#tree [data-path]').length,
    })).catch(() => null)
    throw new Error(`body[data-ready="1"] not set ${timeout} ms after ${after} (${JSON.stringify(state)}): ${e.message.split('\n')[0]}`)
  }
}

export const cssString = (s) => JSON.stringify(s) // a quoted CSS attribute value

export const treeFile = (p) => `#tree [data-path=${cssString(p)}]`
export const tab = (p) => `#tabs .tab[data-path=${cssString(p)}]`

/** Opens `filePath` from the tree (expanding its folders as needed) and waits until it is the active tab. */
export async function openFile(page, filePath) {
  const parts = filePath.split('/')
  const chain = []
  for (let i = 1; i < parts.length; i++) chain.push(`#tree [data-folder=${cssString(parts.slice(0, i).join('/'))}]`)
  chain.push(treeFile(filePath))
  // Top down: a folder whose next item is not visible is collapsed: open it.
  for (let i = 0; i < chain.length - 1; i++) {
    const next = page.locator(chain[i + 1]).first()
    const folder = page.locator(chain[i]).first()
    if (!(await next.isVisible()) && (await folder.count())) await folder.click()
  }
  await page.locator(treeFile(filePath)).first().click()
  await page.waitForSelector(`${tab(filePath)}.active`)
  await page.waitForSelector('#editor .cm-content')
}

/** Switches to an open tab. */
export async function showTab(page, filePath) {
  await page.locator(tab(filePath)).first().click()
  await page.waitForSelector(`${tab(filePath)}.active`)
}

/** The active CodeMirror view's document. */
export function editorText(page) {
  return page.evaluate(() => {
    const views = document.querySelectorAll('#editor .cm-content')
    if (views.length !== 1) return { error: `${views.length} .cm-content in #editor` }
    const content = views[0]
    const view = content.cmTile?.root?.view ?? content.cmView?.rootView?.view ?? content.cmView?.view
    if (view?.state?.doc) return { text: view.state.doc.toString() }
    return { text: [...content.querySelectorAll('.cm-line')].map((l) => l.textContent).join('\n') }
  }).then((r) => {
    if (r.error) throw new Error(r.error)
    return r.text
  })
}

/** Replaces the active editor's whole text (insertText: no auto-closed brackets, no auto-indent). */
export async function replaceText(page, text) {
  await page.locator('#editor .cm-content').click()
  await page.keyboard.press('Control+A')
  await page.keyboard.insertText(text)
}

export async function save(page) {
  await page.locator('#editor .cm-content').focus()
  await page.keyboard.press('Control+S')
}

export async function textOf(page, selector) {
  return ((await page.locator(selector).first().textContent()) ?? '').trim()
}

/** Waits until the active editor shows `expected` exactly. */
export async function waitEditorText(page, expected, what = 'the editor text', timeout = 15000) {
  let last
  try {
    await waitFor(what, async () => (last = await editorText(page)) === expected, { timeout })
  } catch (e) {
    assert.equal(last, expected, e.message)
  }
}

/** The base pod's server.js with the /hello message replaced. */
export function withHelloMessage(serverJs, message) {
  const original = "res.json({ message: 'Hello, World!' })"
  assert.ok(serverJs.includes(original), `hbf/server.js has no ${original}`)
  return serverJs.replace(original, `res.json({ message: ${JSON.stringify(message)} })`)
}

/** A valid RGBA PNG of w x h pixels (zlib-compressed scanlines, CRC'd chunks). */
export async function makePng(w = 8, h = 8, seed = 7) {
  const { deflateSync } = await import('node:zlib')
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
    return c >>> 0
  })
  const crc32 = (buf) => {
    let c = 0xffffffff
    for (const b of buf) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8)
    return (c ^ 0xffffffff) >>> 0
  }
  const chunk = (type, data) => {
    const len = Buffer.alloc(4)
    len.writeUInt32BE(data.length)
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data])
    const crc = Buffer.alloc(4)
    crc.writeUInt32BE(crc32(body))
    return Buffer.concat([len, body, crc])
  }
  const ihdr = Buffer.alloc(13)
  ihdr.writeUInt32BE(w, 0)
  ihdr.writeUInt32BE(h, 4)
  ihdr[8] = 8 // bit depth
  ihdr[9] = 6 // RGBA
  const raw = Buffer.alloc((w * 4 + 1) * h)
  for (let y = 0; y < h; y++) {
    raw[y * (w * 4 + 1)] = 0 // filter: none
    for (let x = 0; x < w; x++) {
      const o = y * (w * 4 + 1) + 1 + x * 4
      raw[o] = (x * 32 + seed) & 0xff
      raw[o + 1] = (y * 32 + seed * 3) & 0xff
      raw[o + 2] = ((x ^ y) * 16) & 0xff
      raw[o + 3] = 0xff
    }
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ])
}
