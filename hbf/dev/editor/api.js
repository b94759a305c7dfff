// The dev API client (/__dev/api/**, SPEC 6): every call sends the token as a
// Bearer header, never in a URL, and fails with one of the errors below so
// the editor can tell "the server is down" from "the token is wrong" from
// "someone saved first".

/** The server could not be reached (down, restarting, no network). */
export class Offline extends Error {}
/** The token was refused (401): back to the login form. */
export class Unauthorized extends Error {}
/** A precondition failed (412): `current` is the server's latest version. */
export class Conflict extends Error {
  constructor(message, current) {
    super(message)
    this.current = current
  }
}
/** Any other refusal, with the server's message and HTTP status. */
export class ApiError extends Error {
  constructor(message, status) {
    super(message)
    this.status = status
  }
}

const BASE = new URL('api/', document.baseURI)

function url(endpoint, params = {}) {
  const u = new URL(endpoint, BASE)
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null) u.searchParams.set(k, String(v))
  }
  return u.pathname + u.search
}

export class Api {
  /** `token()` returns the current token; `onStatus(online)` hears of reachability. */
  constructor(token, onStatus = () => {}) {
    this.token = token
    this.onStatus = onStatus
  }

  async request(method, endpoint, params, { body, headers = {}, signal } = {}) {
    let response
    try {
      response = await fetch(url(endpoint, params), {
        method,
        body,
        signal,
        cache: 'no-store',
        headers: { ...headers, Authorization: `Bearer ${this.token()}` },
      })
    } catch (e) {
      if (e.name === 'AbortError') throw e
      this.onStatus(false)
      throw new Offline(`the server is not reachable (${e.message})`)
    }
    // 502-504 come from a proxy in front of a stopped server; any other
    // answer is from a server that is up, whatever it says.
    const gateway = response.status >= 502 && response.status <= 504
    this.onStatus(!gateway)
    if (response.ok) return response
    let detail = {}
    try {
      detail = await response.json()
    } catch {
      // not JSON: keep the status line
    }
    const message = detail.message || `${response.status} ${response.statusText}`
    if (response.status === 401) throw new Unauthorized(message)
    if (response.status === 412) throw new Conflict(message, detail.current_version ?? null)
    if (gateway) throw new Offline(message)
    throw new ApiError(message, response.status)
  }

  /** Every live file: `[{path, version, size, sha256, mtime, deleted}]`. */
  async list() {
    return (await this.request('GET', 'files', { prefix: '' })).json()
  }

  /** One file's bytes and version (the latest, or `version`). */
  async read(path, version) {
    const r = await this.request('GET', 'file', { path, version })
    const bytes = new Uint8Array(await r.arrayBuffer())
    return { bytes, version: Number(r.headers.get('X-HBF-Version')), type: r.headers.get('Content-Type') }
  }

  /**
   * Stores `body` as the next version of `path`. `base` is the version the
   * edit started from (`If-Match`); 0 means the file must not exist yet.
   */
  async write(path, body, base) {
    const headers = base > 0 ? { 'If-Match': `"${base}"` } : { 'If-None-Match': '*' }
    return (await this.request('PUT', 'file', { path }, { body, headers })).json()
  }

  async remove(path, base) {
    const headers = base > 0 ? { 'If-Match': `"${base}"` } : {}
    return (await this.request('DELETE', 'file', { path }, { headers })).json()
  }

  /** Every version of `path`, oldest first. */
  async history(path) {
    return (await this.request('GET', 'history', { path })).json()
  }

  async revert(path, version, base) {
    const headers = base > 0 ? { 'If-Match': `"${base}"` } : {}
    return (await this.request('POST', 'revert', { path, version }, { headers })).json()
  }

  // ---- the pod's data (the Data panel)

  /** The pod's tables and views: `[{name, type, columns: [{name, type, notnull, pk}], rows}]`. */
  async tables() {
    return (await this.request('GET', 'db/tables')).json()
  }

  /** One page of a read-only statement: `{columns, rows, offset, more}`. */
  async query(sql, params = [], offset = 0, limit = 100) {
    const body = JSON.stringify({ sql, params, offset, limit })
    const headers = { 'Content-Type': 'application/json' }
    return (await this.request('POST', 'db/query', {}, { body, headers })).json()
  }

  /** The migrations with their status: `{migrations, pending, last_error}`. */
  async migrations() {
    return (await this.request('GET', 'db/migrations')).json()
  }

  /** Applies the pending migrations in order: `{applied: [{name, duration_ms}]}`. */
  async migrate() {
    return (await this.request('POST', 'db/migrate')).json()
  }

  /**
   * Reads the event stream until it ends or `signal` aborts, calling
   * `onEvent(type, data)`. A fetch stream rather than EventSource, which
   * cannot send the Authorization header.
   */
  async events(onEvent, signal) {
    const response = await this.request('GET', 'events', {}, { signal, headers: { Accept: 'text/event-stream' } })
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader()
    let buffer = ''
    for (;;) {
      const { value, done } = await reader.read()
      if (done) return
      buffer += value
      let end
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end)
        buffer = buffer.slice(end + 2)
        let type = 'message'
        const data = []
        for (const line of block.split('\n')) {
          if (line.startsWith('event:')) type = line.slice(6).trim()
          else if (line.startsWith('data:')) data.push(line.slice(5).trimStart())
        }
        if (data.length === 0) continue // a heartbeat comment
        try {
          onEvent(type, JSON.parse(data.join('\n')))
        } catch (e) {
          console.warn('hbf editor: an event the editor cannot read', e)
        }
      }
    }
  }
}
