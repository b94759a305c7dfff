// The editor's browser-side store: a key-value store of JSON records (the
// files as last seen on the server, the drafts being typed, the queue of
// saves not yet on the server), in the Origin Private File System, one file
// per record, or in IndexedDB where OPFS is missing. A dedicated Worker so
// the page never waits on storage, and one copy for every tab of the editor
// (each tab's worker opens the same origin storage).
//
// Messages: {id, op: 'get'|'put'|'delete'|'keys', key, value, prefix}
// -> {id, ok: true, value} or {id, ok: false, error}.

async function opfsBackend() {
  const root = await navigator.storage.getDirectory()
  const dir = await root.getDirectoryHandle('hbf-editor', { create: true })
  // Record keys hold '/' and ':'; file names may not.
  const name = (key) => encodeURIComponent(key)
  return {
    kind: 'opfs',
    async get(key) {
      try {
        const file = await (await dir.getFileHandle(name(key))).getFile()
        const text = await file.text()
        // getFileHandle({create}) makes an empty file before the first
        // write of a record lands: a page that ended in between left no
        // record, not a broken one.
        if (text === '') return undefined
        return JSON.parse(text)
      } catch (e) {
        if (e.name === 'NotFoundError') return undefined
        throw e
      }
    },
    async put(key, value) {
      // createWritable writes a swap file that replaces the record on
      // close(): a browser killed mid-write leaves the old record whole.
      const handle = await dir.getFileHandle(name(key), { create: true })
      const writable = await handle.createWritable()
      await writable.write(JSON.stringify(value))
      await writable.close()
    },
    async delete(key) {
      try {
        await dir.removeEntry(name(key))
      } catch (e) {
        if (e.name !== 'NotFoundError') throw e
      }
    },
    async keys(prefix) {
      const out = []
      for await (const entry of dir.keys()) {
        const key = decodeURIComponent(entry)
        if (key.startsWith(prefix)) out.push(key)
      }
      return out
    },
  }
}

function idbBackend() {
  const opened = new Promise((resolve, reject) => {
    const request = indexedDB.open('hbf-editor', 1)
    request.onupgradeneeded = () => request.result.createObjectStore('records')
    request.onsuccess = () => resolve(request.result)
    request.onerror = () => reject(request.error)
  })
  const run = async (mode, work) => {
    const db = await opened
    return new Promise((resolve, reject) => {
      const tx = db.transaction('records', mode)
      const request = work(tx.objectStore('records'))
      tx.oncomplete = () => resolve(request?.result)
      tx.onerror = () => reject(tx.error)
      tx.onabort = () => reject(tx.error)
    })
  }
  return {
    kind: 'indexeddb',
    get: (key) => run('readonly', (s) => s.get(key)),
    put: (key, value) => run('readwrite', (s) => s.put(value, key)).then(() => undefined),
    delete: (key) => run('readwrite', (s) => s.delete(key)).then(() => undefined),
    keys: async (prefix) =>
      (await run('readonly', (s) => s.getAllKeys())).filter((k) => k.startsWith(prefix)),
  }
}

async function open(choice) {
  if (choice === 'indexeddb') return idbBackend()
  try {
    const b = await opfsBackend()
    // Probe a write: some browsers expose OPFS but refuse writable streams.
    await b.put('probe', 1)
    return b
  } catch (e) {
    console.warn(`hbf editor: OPFS unavailable (${e.message}); using IndexedDB`)
    return idbBackend()
  }
}

// Operations on one record run one after the other, in the order they came:
// OPFS refuses to remove a file while a writable stream on it is open, and a
// later write must not be overtaken by an earlier one.
const chains = new Map()
function serially(key, work) {
  const next = (chains.get(key) ?? Promise.resolve()).catch(() => {}).then(work)
  chains.set(key, next)
  next.finally(() => chains.get(key) === next && chains.delete(key)).catch(() => {})
  return next
}

// Another tab's worker may hold the same record's file for a moment.
async function retried(work) {
  for (let attempt = 0; ; attempt++) {
    try {
      return await work()
    } catch (e) {
      if (e.name !== 'NoModificationAllowedError' || attempt >= 20) throw e
      await new Promise((resolve) => setTimeout(resolve, 10 + attempt * 10))
    }
  }
}

// The page's first message ({op: 'open', backend}) chooses the backend.
let backend = null

self.onmessage = async ({ data }) => {
  const { id, op, key, value, prefix } = data
  if (op === 'open') {
    backend = open(data.backend)
    return
  }
  try {
    const b = await (backend ?? (backend = open('opfs')))
    let result
    if (op === 'get') result = await serially(key, () => b.get(key))
    else if (op === 'put') result = await serially(key, () => retried(() => b.put(key, value)))
    else if (op === 'delete') result = await serially(key, () => retried(() => b.delete(key)))
    else if (op === 'keys') result = await b.keys(prefix ?? '')
    else if (op === 'kind') result = b.kind
    else throw new Error(`unknown store operation ${op}`)
    self.postMessage({ id, ok: true, value: result })
  } catch (e) {
    self.postMessage({ id, ok: false, error: `${e.name}: ${e.message}` })
  }
}
