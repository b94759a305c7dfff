// Saving: the queue of saved texts (kept in the browser-side store), sent
// in order when the server answers, and what a refusal or a conflict (the
// three-way merge) does. Methods of the editor (mixed into it by main.js).

import { ApiError, Conflict, Offline, Unauthorized } from './api.js'
import { $, showLogin, token } from './page.js'

export class Saving {

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
}

/** The text of `bytes` if they are UTF-8 without NULs, else null (a binary file). */
export function decodeText(bytes) {
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(bytes)
    return text.includes('\0') ? null : text
  } catch {
    return null
  }
}
