// Drafts: what was typed, kept in the browser-side store as it is typed
// (and in localStorage while the page goes away), before it is saved.
// Methods of the editor (mixed into it by main.js).

const DRAFT_DELAY_MS = 120
const UNLOAD_DRAFT = 'hbf-editor-unload-draft:'

export class Drafts {

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
}
