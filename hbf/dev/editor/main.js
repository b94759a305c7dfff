// The HBF browser editor (/__dev/): the pod's files over the dev API, with
// tabs, history, three-way merge on conflicts, preview, logs, and offline
// editing. The order of truth for a file's text: what was typed (a draft,
// kept in the browser-side store as it is typed), then what was saved but is
// not on the server yet (the queue, sent in order when the server answers),
// then the server's version.

import { EditorState, EditorView, basicSetup, indentWithTab, keymap } from './codemirror.mjs'
import { Api, Offline, Unauthorized } from './api.js'
import { Store } from './store.js'
import { FileTree } from './tree.js'
import { HistoryPanel, LogPane, MergePanel, languageFor } from './panels.js'
import { $, TOKEN_KEY, showLogin, takeTokenFromFragment, token } from './page.js'
import { Drafts } from './drafts.js'
import { Saving, decodeText } from './saving.js'
import { FileOps } from './files.js'
import { Server } from './server.js'
import { DataPanel } from './data.js'

// ---- the login form

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
    this.data = new DataPanel(this.api, this.log, {
      openFile: (path) => {
        this.showPanel('files')
        this.open(path)
      },
    })
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
    $('show-files').addEventListener('click', () => this.showPanel('files'))
    $('show-data').addEventListener('click', () => this.showPanel('data'))
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

  /** Shows the Files panel (the tree and the open files) or the Data panel. */
  showPanel(name) {
    const data = name === 'data'
    $('app').classList.toggle('data-mode', data)
    for (const [id, on] of [['show-files', !data], ['show-data', data]]) {
      $(id).classList.toggle('active', on)
      $(id).setAttribute('aria-selected', String(on))
    }
    if (data) this.data.show()
    else {
      this.data.hide()
      if (this.active && !this.active.binary) this.view.focus()
    }
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
}

// The editor's other jobs, one module each, as methods of the one editor.
for (const part of [Drafts, Saving, FileOps, Server]) {
  for (const name of Object.getOwnPropertyNames(part.prototype)) {
    if (name === 'constructor') continue
    Object.defineProperty(Editor.prototype, name, Object.getOwnPropertyDescriptor(part.prototype, name))
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
