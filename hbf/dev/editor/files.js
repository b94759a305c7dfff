// File operations: revert, create, rename, delete, and files dropped on the
// tree. Methods of the editor (mixed into it by main.js).

import { Conflict, Offline } from './api.js'
import { $ } from './page.js'

export class FileOps {

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
}
