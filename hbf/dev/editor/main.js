// The HBF browser editor (/__dev/): the pod's files over the dev API, with
// tabs, history, three-way merge on conflicts, preview, logs, and offline
// editing. The order of truth for a file's text: what was typed (a draft,
// kept in the browser-side store as it is typed), then what was saved but is
// not on the server yet (the queue, sent in order when the server answers),
// then the server's version.

import { EditorState, EditorView, basicSetup, indentWithTab, keymap } from './codemirror.mjs'
import { Api, ApiError, Conflict, Offline, Unauthorized } from './api.js'
import { Store } from './store.js'
import { FileTree } from './tree.js'
import { HistoryPanel, LogPane, MergePanel, languageFor } from './panels.js'

const TOKEN_KEY = 'hbf-dev-token'
const DRAFT_DELAY_MS = 120
const UNLOAD_DRAFT = 'hbf-editor-unload-draft:'
const $ = (id) => document.getElementById(id)

// ---- the token: from the URL fragment (never sent to the server) or the form

function takeTokenFromFragment() {
  const params = new URLSearchParams(location.hash.slice(1))
  const token = params.get('token')
  if (token !== null) {
    sessionStorage.setItem(TOKEN_KEY, token)
    // Out of the address bar, the history and any bookmark.
    history.replaceState(null, '', location.pathname + location.search)
  }
}

const token = () => sessionStorage.getItem(TOKEN_KEY) ?? ''

function showLogin(message = '') {
  $('app').hidden = true
  $('login').hidden = false
  $('login-error').textContent = message
  $('login-token').value = ''
  $('login-token').focus()
}

$('login').addEventListener('submit', (e) => {
  e.preventDefault()
  sessionStorage.setItem(TOKEN_KEY, $('login-token').value.trim())
  $('login').hidden = true
  if (app) app.resume()
  else start()
})

// ---- one open file

class Tab {
  constructor(path) {
    this.path = path
    this.base = 0 // the server version the text started from (0: new file)
    this.baseText = '' // the text of that version
    this.queuedText = null // saved while offline, not on the server yet
    this.remoteVersion = 0 // the latest version announced by the server
    this.binary = null // {bytes, type} for files that are not UTF-8 text
    this.state = null // the CodeMirror state (text, selection, undo history)
    this.draftTimer = 0
  }

  get text() {
    return this.state ? this.state.doc.toString() : ''
  }
  /** The text the server has or will have once the queue drains. */
  get savedText() {
    return this.queuedText ?? this.baseText
  }
  get dirty() {
    // A new file is unsaved until its first save, even empty.
    return !this.binary && (this.text !== this.savedText || (this.base === 0 && this.queuedText === null))
  }
  get stale() {
    return this.remoteVersion > this.base
  }
}

// ---- the editor

class Editor {
  constructor() {
    this.store = new Store()
    this.api = new Api(token, (online) => this.setOnline(online))
    this.files = new Map() // path -> {path, version, size, sha256}
    this.tabs = []
    this.active = null
    this.online = null
    this.queueLength = 0
    this.draining = null
    this.log = new LogPane()
    this.merge = new MergePanel()
    this.historyPanel = new HistoryPanel(this.api, (path, version, latest) => this.revert(path, version, latest))
    this.tree = new FileTree($('tree'), {
      open: (path) => this.open(path),
      rename: (from, to) => this.rename(from, to),
      remove: (path) => this.remove(path),
      upload: (files, folder) => this.upload(files, folder),
    })
    this.view = new EditorView({ parent: $('editor') })
    this.wire()
  }

  wire() {
    document.addEventListener(
      'keydown',
      (e) => {
        if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === 's') {
          e.preventDefault()
          if (this.active) this.save(this.active)
        }
      },
      true,
    )
    $('save-button').addEventListener('click', () => this.active && this.save(this.active))
    $('sync-button').addEventListener('click', () => this.sync())
    $('history-button').addEventListener('click', () => {
      if (this.active && !this.binary) this.historyPanel.show(this.active.path, this.active.text)
    })
    $('refresh-tree').addEventListener('click', () => this.refreshListing())
    $('new-file').addEventListener('click', () => {
      $('new-file-form').hidden = false
      $('new-file-path').value = this.active ? this.active.path.replace(/[^/]*$/, '') : 'hbf/'
      $('new-file-path').focus()
    })
    $('new-file-path').addEventListener('keydown', (e) => {
      if (e.key === 'Escape') $('new-file-form').hidden = true
    })
    $('new-file-form').addEventListener('submit', (e) => {
      e.preventDefault()
      const path = $('new-file-path').value.trim().replace(/^\/+/, '')
      $('new-file-form').hidden = true
      if (path) this.create(path)
    })
    $('preview-path').value = localStorage.getItem('hbf-editor-preview') ?? '/'
    $('preview-form').addEventListener('submit', (e) => {
      e.preventDefault()
      this.preview(true)
    })
    addEventListener('pagehide', () => this.flushDrafts())
    document.addEventListener('visibilitychange', () => document.hidden && this.flushDrafts())
    this.store.channel.onmessage = ({ data }) => this.fromOtherTab(data)
  }

  // ---- start-up

  async start() {
    $('app').hidden = false
    $('pod-host').textContent = location.host
    if ('serviceWorker' in navigator) {
      navigator.serviceWorker
        .register('sw.js', { scope: './' })
        .then(() => navigator.serviceWorker.ready)
        .then(() => (document.body.dataset.offlineReady = '1'))
        .catch((e) => this.log.add('warn', `offline copy of the editor unavailable: ${e.message}`))
    }
    this.store.kind().then((k) => ($('status-store').textContent = `local copy: ${k === 'opfs' ? 'OPFS' : 'IndexedDB'}`))
    await this.adoptUnloadDrafts()
    await this.refreshQueue()
    const listed = await this.refreshListing()
    if (listed === 'unauthorized') return
    await this.restoreTabs()
    this.booted = true
    document.body.dataset.ready = '1'
    this.preview(true)
    this.events()
    this.sync()
  }

  /** After a new token was given. */
  resume() {
    if (!this.booted) return this.start()
    $('app').hidden = false
    this.refreshListing().then((r) => {
      if (r === 'unauthorized') return
      if (!this.eventsRunning) this.events()
      this.sync()
    })
  }

  async restoreTabs() {
    const saved = (await this.store.get('tabs')) ?? { open: [], active: null }
    const drafts = (await this.store.keys('draft:')).map((k) => k.slice('draft:'.length))
    const queued = (await this.store.queue()).map((e) => e.path)
    const paths = [...new Set([...saved.open, ...drafts, ...queued])]
    for (const path of paths) await this.open(path, { activate: false, quiet: true })
    const active = this.tabs.find((t) => t.path === saved.active) ?? this.tabs[0]
    if (active) this.activate(active)
    this.renderTabs()
  }

  // ---- the listing and the tree

  async refreshListing() {
    try {
      const list = await this.api.list()
      this.files = new Map(list.filter((f) => !f.deleted).map((f) => [f.path, f]))
      await this.store.put('listing', [...this.files.values()])
    } catch (e) {
      if (e instanceof Unauthorized) {
        showLogin('The server refused this token. Paste the current one.')
        return 'unauthorized'
      }
      if (!(e instanceof Offline)) this.log.add('error', `cannot list the files: ${e.message}`)
      const cached = (await this.store.get('listing')) ?? []
      if (this.files.size === 0) this.files = new Map(cached.map((f) => [f.path, f]))
    }
    // New files, queued or still drafts, show before they are on the server.
    const unsent = [...(await this.store.queue()).map((e) => e.path)]
    for (const key of await this.store.keys('draft:')) unsent.push(key.slice('draft:'.length))
    for (const path of unsent) {
      if (!this.files.has(path)) this.files.set(path, { path, version: 0, size: 0 })
    }
    this.renderTree()
    return 'ok'
  }

  renderTree() {
    const marks = {
      active: this.active?.path ?? null,
      dirty: new Set(this.tabs.filter((t) => t.dirty).map((t) => t.path)),
      queued: new Set(this.tabs.filter((t) => t.queuedText !== null).map((t) => t.path)),
      remote: new Set(this.tabs.filter((t) => t.stale).map((t) => t.path)),
    }
    this.tree.render([...this.files.values()], marks)
  }

  // ---- tabs

  /** Opens `path` in a tab (or shows its tab). */
  async open(path, { activate = true, quiet = false } = {}) {
    let tab = this.tabs.find((t) => t.path === path)
    if (tab) {
      if (activate) this.activate(tab)
      return tab
    }
    tab = new Tab(path)
    const loaded = await this.load(tab)
    if (!loaded) {
      if (!quiet) this.log.add('error', `${path} is not available: the server is unreachable and there is no local copy`)
      return null
    }
    if (this.tabs.some((t) => t.path === path)) return this.open(path, { activate }) // opened meanwhile
    this.tabs.push(tab)
    if (activate) this.activate(tab)
    else this.renderTabs()
    this.saveTabs()
    return tab
  }

  /** Fills `tab` from the store and the server; false if neither has the file. */
  async load(tab) {
    const path = tab.path
    const meta = this.files.get(path)
    let server = await this.store.get(`file:${path}`)
    if (meta && meta.version > 0 && (!server || server.version !== meta.version)) {
      try {
        const r = await this.api.read(path)
        const text = decodeText(r.bytes)
        if (text === null) {
          tab.binary = { bytes: r.bytes, type: r.type }
          tab.base = r.version
          return true
        }
        server = { version: r.version, text }
        await this.store.put(`file:${path}`, server)
      } catch (e) {
        if (!(e instanceof Offline)) this.log.add('error', `cannot read ${path}: ${e.message}`)
      }
    }
    const queued = (await this.store.queue()).find((e) => e.path === path)
    const draft = await this.store.get(`draft:${path}`)
    if (!server && !queued && !draft) {
      if (meta && meta.version === 0) server = { version: 0, text: '' }
      else return false
    }
    tab.base = server?.version ?? 0
    tab.baseText = server?.text ?? ''
    let text = tab.baseText
    if (queued) {
      tab.base = queued.base
      tab.baseText = queued.baseText
      tab.queuedText = queued.text
      text = queued.text
    }
    if (draft) {
      tab.base = draft.base
      tab.baseText = draft.baseText
      text = draft.text
    }
    tab.remoteVersion = meta?.version ?? 0
    tab.state = this.newState(tab, text)
    return true
  }

  newState(tab, text) {
    return EditorState.create({
      doc: text,
      extensions: [
        basicSetup,
        keymap.of([indentWithTab]),
        languageFor(tab.path),
        EditorView.updateListener.of((u) => {
          if (u.docChanged && this.active === tab) {
            tab.state = u.state
            this.edited(tab)
          }
        }),
      ],
    })
  }

  activate(tab) {
    if (this.active && this.active !== tab && this.active.state) this.active.state = this.view.state
    this.active = tab
    const binary = !!tab.binary
    $('editor').hidden = binary
    $('binary').hidden = !binary
    $('welcome').hidden = true
    if (binary) this.showBinary(tab)
    else {
      this.view.setState(tab.state)
      this.view.focus()
    }
    this.renderTabs()
    this.saveTabs()
  }

  close(tab) {
    if (tab.dirty && !confirm(`${tab.path} has unsaved changes. Close it and discard them?`)) return
    if (tab.dirty) this.store.delete(`draft:${tab.path}`)
    const i = this.tabs.indexOf(tab)
    this.tabs.splice(i, 1)
    if (this.active === tab) {
      this.active = null
      const next = this.tabs[i] ?? this.tabs[i - 1]
      if (next) this.activate(next)
      else {
        $('editor').hidden = true
        $('binary').hidden = true
        $('welcome').hidden = false
      }
    }
    this.renderTabs()
    this.saveTabs()
  }

  saveTabs() {
    this.store.put('tabs', { open: this.tabs.map((t) => t.path), active: this.active?.path ?? null })
  }

  renderTabs() {
    const items = this.tabs.map((tab) => {
      const el = document.createElement('div')
      el.className = 'tab'
      el.dataset.path = tab.path
      el.setAttribute('role', 'tab')
      el.classList.toggle('active', tab === this.active)
      el.classList.toggle('dirty', tab.dirty)
      el.classList.toggle('queued', tab.queuedText !== null && !tab.dirty)
      el.classList.toggle('stale', tab.stale)
      el.title = `${tab.path}${tab.dirty ? ' (unsaved)' : ''}${tab.queuedText !== null ? ' (queued for the server)' : ''}${tab.stale ? ` (v${tab.remoteVersion} on the server)` : ''}`
      const name = document.createElement('span')
      name.className = 'tab-name'
      name.textContent = tab.path.split('/').pop()
      const close = document.createElement('button')
      close.type = 'button'
      close.className = 'icon tab-close'
      close.title = `Close ${tab.path}`
      close.textContent = '\u2715'
      el.append(name, close)
      el.addEventListener('mousedown', (e) => {
        if (e.button === 1) {
          e.preventDefault()
          this.close(tab)
        }
      })
      el.addEventListener('click', (e) => (e.target.closest('.tab-close') ? this.close(tab) : this.activate(tab)))
      return el
    })
    $('tabs').replaceChildren(...items)
    this.renderStatus()
    this.renderBanner()
    this.renderTree()
  }

  renderBanner() {
    const tab = this.active
    const banner = $('remote-banner')
    if (!tab || !tab.stale) {
      banner.hidden = true
      return
    }
    banner.hidden = false
    banner.replaceChildren()
    const text = document.createElement('span')
    text.textContent = `${tab.path} changed on the server (v${tab.remoteVersion}; you are editing v${tab.base}). Saving opens the merge view.`
    const reload = document.createElement('button')
    reload.type = 'button'
    reload.textContent = tab.dirty ? 'Discard mine and reload' : 'Reload'
    reload.addEventListener('click', () => this.reload(tab))
    banner.append(text, reload)
  }

  renderStatus() {
    const tab = this.active
    $('status-queue').textContent = String(this.queueLength)
    $('sync-button').disabled = this.queueLength === 0
    $('status-file').textContent = tab ? tab.path : ''
    $('status-version').textContent = tab ? (tab.base > 0 ? `v${tab.base}` : 'new') + (tab.dirty ? ' · unsaved' : tab.queuedText !== null ? ' · queued' : '') : ''
  }

  showBinary(tab) {
    const box = $('binary')
    box.replaceChildren()
    const info = document.createElement('p')
    info.textContent = `${tab.path}: ${tab.binary.type || 'binary'}, ${tab.binary.bytes.length} bytes (not text: not editable here)`
    box.append(info)
    if ((tab.binary.type || '').startsWith('image/')) {
      const img = document.createElement('img')
      img.alt = tab.path
      img.src = URL.createObjectURL(new Blob([tab.binary.bytes], { type: tab.binary.type }))
      box.append(img)
    }
  }

  // ---- typing: drafts

  edited(tab) {
    clearTimeout(tab.draftTimer)
    tab.draftTimer = setTimeout(() => this.writeDraft(tab), DRAFT_DELAY_MS)
    this.renderTabs()
  }

  writeDraft(tab) {
    clearTimeout(tab.draftTimer)
    tab.draftTimer = 0
    if (!this.tabs.includes(tab)) return Promise.resolve()
    if (tab.dirty) return this.store.put(`draft:${tab.path}`, this.draftOf(tab))
    return this.store.delete(`draft:${tab.path}`)
  }

  draftOf(tab) {
    return { base: tab.base, baseText: tab.baseText, text: tab.text, time: Date.now() }
  }

  /**
   * The page is going away (reload, closed tab): drafts not yet in the store
   * go to localStorage too, which is written before the page ends (the
   * worker's write may not finish); the next start takes them over.
   */
  flushDrafts() {
    if (this.active?.state) this.active.state = this.view.state
    for (const tab of this.tabs) {
      if (!tab.draftTimer) continue
      const draft = tab.dirty ? this.draftOf(tab) : { cleared: true, time: Date.now() }
      localStorage.setItem(`${UNLOAD_DRAFT}${tab.path}`, JSON.stringify(draft))
      this.writeDraft(tab)
    }
  }

  /** Takes over the drafts `flushDrafts` left in localStorage, where newer than the store's. */
  async adoptUnloadDrafts() {
    for (const key of Object.keys(localStorage)) {
      if (!key.startsWith(UNLOAD_DRAFT)) continue
      const path = key.slice(UNLOAD_DRAFT.length)
      let draft = null
      try {
        draft = JSON.parse(localStorage.getItem(key))
      } catch {
        // unreadable: dropped below
      }
      const stored = await this.store.get(`draft:${path}`)
      if (draft && (!stored || (stored.time ?? 0) <= draft.time)) {
        if (draft.cleared) await this.store.delete(`draft:${path}`)
        else await this.store.put(`draft:${path}`, draft)
      }
      localStorage.removeItem(key)
    }
  }

  // ---- saving and the queue

  /** Saves `tab`: into the queue (kept in the store), then to the server if it answers. */
  async save(tab) {
    if (tab.binary || !tab.dirty) return
    const text = tab.text
    await this.store.enqueue({ path: tab.path, base: tab.base, baseText: tab.baseText, text })
    tab.queuedText = text
    await this.writeDraft(tab)
    await this.refreshQueue()
    this.renderTabs()
    await this.sync()
  }

  async refreshQueue() {
    this.queueLength = (await this.store.queue()).length
    this.renderStatus()
  }

  /** Sends the queue in order; one tab of the editor at a time (a Web Lock). */
  sync() {
    if (this.draining) {
      this.drainAgain = true
      return this.draining
    }
    this.draining = navigator.locks
      .request('hbf-editor-sync', () => this.drain())
      .catch((e) => this.log.add('error', `sync failed: ${e.message}`))
      .finally(() => {
        this.draining = null
        if (this.drainAgain) {
          this.drainAgain = false
          this.sync()
        }
      })
    return this.draining
  }

  async drain() {
    for (;;) {
      const queue = await this.store.queue()
      this.queueLength = queue.length
      this.renderStatus()
      if (queue.length === 0) return
      const entry = queue[0]
      let result
      try {
        result = await this.api.write(entry.path, entry.text, entry.base)
      } catch (e) {
        if (e instanceof Offline) return
        if (e instanceof Unauthorized) {
          showLogin('The server refused this token. Paste the current one; your queued edits are kept.')
          return
        }
        await this.store.dequeue(entry.id)
        await this.refreshQueue()
        if (e instanceof Conflict) await this.conflict(entry, e.current)
        else await this.refused(entry, e)
        continue
      }
      // The new version is in the file cache before the entry leaves the
      // queue: a browser killed in between sends it again and gets a 412
      // whose merge shows the same text on both sides, never a lost edit.
      await this.store.put(`file:${entry.path}`, { version: result.version, text: entry.text })
      await this.store.dequeue(entry.id)
      this.saved(entry.path, result.version, entry.text)
      this.store.announce({ type: 'saved', path: entry.path, version: result.version, text: entry.text })
      if (result.warnings?.length) {
        for (const w of result.warnings) this.log.add('warn', `${w.path}${w.line ? `:${w.line}:${w.column}` : ''}: ${w.message}`)
      }
    }
  }

  saved(path, version, text) {
    const meta = this.files.get(path) ?? { path }
    this.files.set(path, { ...meta, version, size: new TextEncoder().encode(text).length })
    const tab = this.tabs.find((t) => t.path === path)
    if (tab) {
      tab.base = version
      tab.baseText = text
      if (tab.queuedText === text) tab.queuedText = null
      if (tab.remoteVersion < version) tab.remoteVersion = version
      if (!tab.dirty) this.store.delete(`draft:${path}`)
    }
    $('status-save').textContent = `saved ${path} v${version} at ${new Date().toLocaleTimeString()}`
    this.renderTabs()
    this.preview(false)
  }

  /** A save the server refused for good (not 412): its text stays as a draft. */
  async refused(entry, error) {
    this.log.add('error', `${entry.path} was not saved: ${error.message}`)
    const tab = this.tabs.find((t) => t.path === entry.path)
    if (tab) {
      tab.queuedText = null
      if (!tab.dirty) {
        tab.state = tab.state.update({ changes: { from: 0, to: tab.state.doc.length, insert: entry.text } }).state
        if (tab === this.active) this.view.setState(tab.state)
      }
      await this.writeDraft(tab)
    } else {
      await this.store.put(`draft:${entry.path}`, { base: entry.base, baseText: entry.baseText, text: entry.text, time: Date.now() })
    }
    $('status-save').textContent = `not saved: ${entry.path} (${error.status ?? ''} ${error.message})`
    this.renderTabs()
  }

  /** A 412: the three-way merge view, then the chosen text saved on the server's latest version. */
  async conflict(entry, current) {
    let theirs = ''
    let theirsVersion = current ?? 0
    let theirsDeleted = false
    try {
      const r = await this.api.read(entry.path)
      theirs = decodeText(r.bytes) ?? ''
      theirsVersion = r.version
    } catch (e) {
      if (!(e instanceof ApiError && e.status === 404)) {
        // Offline again: back into the queue, as it was.
        await this.store.enqueue(entry)
        throw e
      }
      theirsDeleted = true
    }
    const tab = (await this.open(entry.path)) ?? null
    const mine = tab && tab.dirty ? tab.text : entry.text
    const choice = await this.merge.show({
      path: entry.path,
      base: entry.baseText,
      baseVersion: entry.base,
      theirs,
      theirsVersion,
      theirsDeleted,
      mine,
    })
    if (choice.action === 'cancel') {
      // Still mine, still on the old base: a later save opens the merge again.
      if (tab) {
        tab.queuedText = null
        tab.remoteVersion = Math.max(tab.remoteVersion, theirsVersion)
        this.setText(tab, mine)
        await this.writeDraft(tab)
      }
      this.renderTabs()
      return
    }
    await this.store.put(`file:${entry.path}`, { version: theirsVersion, text: theirs })
    if (tab) {
      tab.base = theirsVersion
      tab.baseText = theirs
      tab.queuedText = null
      tab.remoteVersion = Math.max(tab.remoteVersion, theirsVersion)
      this.setText(tab, choice.text)
      await this.writeDraft(tab)
    }
    if (choice.action !== 'theirs') {
      await this.store.enqueue({ path: entry.path, base: theirsVersion, baseText: theirs, text: choice.text })
      if (tab) tab.queuedText = choice.text
      await this.store.delete(`draft:${entry.path}`)
    }
    this.renderTabs()
  }

  setText(tab, text) {
    if (tab === this.active) tab.state = this.view.state
    if (tab.state.doc.toString() !== text) {
      tab.state = tab.state.update({ changes: { from: 0, to: tab.state.doc.length, insert: text } }).state
    }
    if (tab === this.active) this.view.setState(tab.state)
  }

  /** Drops local changes of `tab` and takes the server's latest text. */
  async reload(tab) {
    if (tab.dirty && !confirm(`Discard your changes to ${tab.path}?`)) return
    try {
      const r = await this.api.read(tab.path)
      const text = decodeText(r.bytes)
      if (text === null) return
      await this.store.put(`file:${tab.path}`, { version: r.version, text })
      tab.base = r.version
      tab.baseText = text
      tab.remoteVersion = r.version
      tab.queuedText = null
      this.setText(tab, text)
      await this.store.delete(`draft:${tab.path}`)
    } catch (e) {
      this.log.add('error', `cannot reload ${tab.path}: ${e.message}`)
    }
    this.renderTabs()
  }

  // ---- history, files

  async revert(path, version, latest) {
    const tab = this.tabs.find((t) => t.path === path)
    if (tab?.dirty && !confirm(`Revert ${path} to v${version}? Your unsaved changes are discarded.`)) return
    try {
      const r = await this.api.revert(path, version, latest)
      this.log.add('info', `${path} reverted to v${version}: now v${r.version}`)
      if (tab) {
        tab.remoteVersion = r.version
        tab.base = latest // reload() reads the new version
        tab.queuedText = null
        this.setText(tab, tab.savedText)
        await this.reload(tab)
      }
      $('status-save').textContent = `reverted ${path} to v${version} (now v${r.version})`
      this.preview(false)
    } catch (e) {
      this.log.add('error', `cannot revert ${path}: ${e.message}`)
    }
  }

  async create(path) {
    if (this.files.has(path)) {
      this.open(path)
      return
    }
    // On the server at its first save; until then a draft, like any edit.
    this.files.set(path, { path, version: 0, size: 0 })
    const tab = await this.open(path)
    if (tab) await this.writeDraft(tab)
    this.renderTabs()
  }

  async rename(from, to) {
    const meta = this.files.get(from)
    try {
      const r = await this.api.read(from)
      await this.api.write(to, r.bytes, 0)
      await this.api.remove(from, r.version)
    } catch (e) {
      this.log.add('error', `cannot rename ${from} to ${to}: ${e instanceof Conflict ? `${to} exists` : e.message}`)
      return
    }
    const tab = this.tabs.find((t) => t.path === from)
    if (tab) this.close(tab)
    this.store.delete(`file:${from}`)
    this.files.delete(from)
    this.log.add('info', `renamed ${from} (v${meta?.version}) to ${to}`)
    await this.refreshListing()
    this.open(to)
  }

  async remove(path) {
    const meta = this.files.get(path)
    try {
      await this.api.remove(path, meta?.version ?? 0)
    } catch (e) {
      this.log.add('error', `cannot delete ${path}: ${e.message}`)
      return
    }
    const tab = this.tabs.find((t) => t.path === path)
    if (tab) {
      tab.queuedText = null
      this.store.delete(`draft:${path}`)
      this.tabs.splice(this.tabs.indexOf(tab), 1)
      if (this.active === tab) {
        this.active = null
        if (this.tabs[0]) this.activate(this.tabs[0])
        else $('welcome').hidden = false
      }
    }
    this.store.delete(`file:${path}`)
    this.files.delete(path)
    this.renderTabs()
    this.saveTabs()
  }

  /** Files dropped on the tree: stored under `folder`, bytes as they are. */
  async upload(files, folder) {
    for (const file of files) {
      const path = `${folder}/${file.name}`
      const bytes = new Uint8Array(await file.arrayBuffer())
      try {
        let result
        try {
          result = await this.api.write(path, bytes, this.files.get(path)?.version ?? 0)
        } catch (e) {
          if (!(e instanceof Conflict)) throw e
          result = await this.api.write(path, bytes, e.current)
        }
        this.files.set(path, { path, version: result.version, size: bytes.length })
        this.log.add('info', `uploaded ${path} (${bytes.length} bytes, v${result.version})`)
        $('status-save').textContent = `uploaded ${path} v${result.version}`
      } catch (e) {
        this.log.add('error', `cannot upload ${path}: ${e instanceof Offline ? 'the server is not reachable' : e.message}`)
      }
    }
    this.renderTree()
  }

  // ---- the server: reachability, events, preview

  setOnline(online) {
    if (online === this.online) return
    const before = this.online
    this.online = online
    $('status-connection').textContent = online ? 'online' : 'offline'
    $('status').classList.toggle('offline', !online)
    $('preview-offline').hidden = online
    if (!online) this.log.add('warn', 'the server is not reachable: edits are kept here and saves are queued')
    else if (before === false) this.log.add('info', 'the server is back')
    // Back after an outage: what changed meanwhile, and the queue. (The
    // first answer at start-up is start()'s own listing, which goes on to
    // sync: nothing to do twice.)
    if (online && before === false) {
      this.refreshListing()
      this.sync()
      this.preview(false)
    }
  }

  /** Follows the event stream; reconnects while the server is away. */
  async events() {
    this.eventsRunning = true
    let wait = 250
    for (;;) {
      try {
        await this.api.events((type, data) => {
          wait = 250
          this.event(type, data)
        })
      } catch (e) {
        if (e instanceof Unauthorized) {
          this.eventsRunning = false
          showLogin('The server refused this token. Paste the current one.')
          return
        }
      }
      await new Promise((r) => setTimeout(r, wait))
      // A stream that ended is a server that went away: probe it.
      wait = Math.min(wait * 2, 2000)
    }
  }

  event(type, data) {
    if (type === 'log') {
      this.log.add(data.level, data.message, data.request)
      return
    }
    if (type !== 'file') return
    if (data.deleted) this.files.delete(data.path)
    else {
      const meta = this.files.get(data.path) ?? { path: data.path, size: 0 }
      this.files.set(data.path, { ...meta, version: Math.max(meta.version ?? 0, data.version) })
    }
    this.log.add('file', `${data.path} v${data.version}${data.deleted ? ' deleted' : ''} (${data.source})`)
    const tab = this.tabs.find((t) => t.path === data.path)
    if (tab && data.version > tab.remoteVersion) {
      tab.remoteVersion = data.version
      // A tab with nothing of its own follows the server.
      if (tab.stale && !tab.dirty && tab.queuedText === null && !tab.binary && !data.deleted) this.reload(tab)
    }
    this.renderTabs()
  }

  preview(navigate) {
    const frame = $('preview')
    const path = '/' + $('preview-path').value.trim().replace(/^\/+/, '')
    localStorage.setItem('hbf-editor-preview', path)
    if (this.online === false) return
    if (navigate || !frame.getAttribute('src')) frame.setAttribute('src', path)
    else {
      try {
        frame.contentWindow.location.reload()
      } catch {
        frame.setAttribute('src', path)
      }
    }
  }

  fromOtherTab(message) {
    if (message.type === 'queue') this.refreshQueue()
    if (message.type === 'saved') {
      const tab = this.tabs.find((t) => t.path === message.path)
      if (tab && !tab.dirty && message.version > tab.base) {
        tab.base = message.version
        tab.baseText = message.text
        tab.queuedText = null
        this.setText(tab, message.text)
      }
      this.saved(message.path, message.version, message.text)
    }
  }
}

/** The text of `bytes` if they are UTF-8 without NULs, else null (a binary file). */
function decodeText(bytes) {
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(bytes)
    return text.includes('\0') ? null : text
  } catch {
    return null
  }
}

let app = null

function start() {
  app = new Editor()
  app.start().catch((e) => {
    console.error(e)
    app.log.add('error', `the editor failed to start: ${e.message}`)
  })
}

takeTokenFromFragment()
if (token()) start()
else showLogin()
