// The page's side of the browser-side store (store-worker.js): the records
// the editor keeps so that nothing typed is lost and the pod can be edited
// with the server down.
//
//   file:<path>   {version, text}            the server's text as last seen
//   draft:<path>  {base, baseText, text}     typed, not saved
//   queue         [{id, path, base, baseText, text}]  saved while offline, in order
//   listing       the last file listing
//   tabs          {open: [paths], active}
//
// Read-modify-write of a record runs under a Web Lock, so two tabs of the
// editor never lose each other's queue entries; other tabs hear of every
// change on a BroadcastChannel.

export class Store {
  constructor() {
    // `localStorage['hbf-editor-store'] = 'indexeddb'` keeps the copy in
    // IndexedDB even where OPFS exists (to look at it in the browser's tools,
    // or to test the fallback).
    // (A message, not the worker's URL: a worker loaded from the Service
    // Worker's cache has the cached response's URL, without a query.)
    this.worker = new Worker(new URL('store-worker.js', import.meta.url))
    this.worker.postMessage({ op: 'open', backend: localStorage.getItem('hbf-editor-store') ?? 'opfs' })
    this.pending = new Map()
    this.next = 1
    this.worker.onmessage = ({ data }) => {
      const p = this.pending.get(data.id)
      if (!p) return
      this.pending.delete(data.id)
      data.ok ? p.resolve(data.value) : p.reject(new Error(data.error))
    }
    this.channel = new BroadcastChannel('hbf-editor')
  }

  call(op, fields) {
    const id = this.next++
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject })
      this.worker.postMessage({ id, op, ...fields })
    })
  }

  get(key) {
    return this.call('get', { key })
  }
  put(key, value) {
    return this.call('put', { key, value })
  }
  delete(key) {
    return this.call('delete', { key })
  }
  keys(prefix) {
    return this.call('keys', { prefix })
  }
  kind() {
    return this.call('kind', {})
  }

  /** Tells the editor's other tabs that `what` changed. */
  announce(message) {
    this.channel.postMessage(message)
  }

  /** Runs `work(value) -> new value` on record `key` under a lock. */
  async update(key, work) {
    return navigator.locks.request(`hbf-editor:${key}`, async () => {
      const value = await this.get(key)
      const next = await work(value)
      await this.put(key, next)
      return next
    })
  }

  // The save queue.
  async queue() {
    return (await this.get('queue')) ?? []
  }

  /**
   * Queues a save. A path already queued keeps its place and its base (the
   * version the first offline edit started from) and takes the newer text:
   * the server gets one new version with what was typed last.
   */
  async enqueue(entry) {
    const q = await this.update('queue', (q = []) => {
      const same = q.find((e) => e.path === entry.path)
      if (same) same.text = entry.text
      else q.push({ ...entry, id: `${Date.now()}-${Math.random().toString(36).slice(2)}` })
      return q
    })
    this.announce({ type: 'queue' })
    return q
  }

  /** Takes entry `id` off the queue (sent, or moved to the merge view). */
  async dequeue(id) {
    const q = await this.update('queue', (q = []) => q.filter((e) => e.id !== id))
    this.announce({ type: 'queue' })
    return q
  }
}
