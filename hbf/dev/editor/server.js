// The server: whether it answers, its event stream, the preview, and news
// from the editor's other browser tabs. Methods of the editor (mixed into it
// by main.js).

import { Unauthorized } from './api.js'
import { $, showLogin, token } from './page.js'

export class Server {

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
      if (this.data.shown) this.data.refresh()
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
    // A migration saved or reverted: its status (and maybe the tables) changed.
    if (this.data.shown && data.path.startsWith('hbf/migrations/')) this.data.refresh()
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
