// The editor's panels beside the file editor: the three-way merge view
// (opened by a 412), the history of a file, the log fed by the event stream,
// and the language of each file type.

import {
  EditorState, EditorView, MergeView, basicSetup, css, html, javascript, json, markdown,
  unifiedMergeView, lineNumbers, highlightSpecialChars, syntaxHighlighting, defaultHighlightStyle, diff,
} from './codemirror.mjs'
import { merge3, hasConflictMarkers } from './merge3.js'

/** The CodeMirror language support for `path`, by extension (none: plain text). */
export function languageFor(path) {
  const ext = path.includes('.') ? path.split('.').pop().toLowerCase() : ''
  switch (ext) {
    case 'js':
    case 'mjs':
    case 'cjs':
      return javascript()
    case 'jsx':
      return javascript({ jsx: true })
    case 'ts':
    case 'mts':
      return javascript({ typescript: true })
    case 'tsx':
      return javascript({ typescript: true, jsx: true })
    case 'css':
      return css()
    case 'html':
    case 'htm':
      return html()
    case 'json':
    case 'webmanifest':
      return json()
    case 'md':
    case 'markdown':
      return markdown()
    default:
      return []
  }
}

const readOnly = [EditorState.readOnly.of(true), EditorView.editable.of(false)]
const viewerSetup = [lineNumbers(), highlightSpecialChars(), syntaxHighlighting(defaultHighlightStyle, { fallback: true })]

function viewer(parent, doc, path, extra = []) {
  return new EditorView({
    parent,
    state: EditorState.create({ doc, extensions: [viewerSetup, readOnly, EditorView.lineWrapping, languageFor(path), extra] }),
  })
}

/** Puts the cursor of `view` on the first conflict marker, in sight. */
function showFirstConflict(view) {
  const at = view.state.doc.toString().search(/^<<<<<<< /m)
  if (at >= 0) view.dispatch({ selection: { anchor: at }, effects: EditorView.scrollIntoView(at, { y: 'center' }) })
}

const $ = (id) => document.getElementById(id)

/**
 * The three-way merge view: base (the version the edit started from), theirs
 * (the server's latest) and mine (the editor's text), each of the last two
 * with its changes against the base marked, and an editable result that
 * starts as the automatic merge (conflict markers where both sides changed
 * the same lines).
 */
export class MergePanel {
  constructor() {
    this.views = []
    this.resolve = null
    const finish = (action) => () => this.finish(action)
    $('merge-keep-mine').addEventListener('click', finish('mine'))
    $('merge-take-theirs').addEventListener('click', finish('theirs'))
    $('merge-save').addEventListener('click', () => {
      const text = this.result.state.doc.toString()
      if (hasConflictMarkers(text) && !confirm('The result still has conflict markers. Save it anyway?')) return
      this.finish('merge')
    })
    $('merge-cancel').addEventListener('click', finish('cancel'))
    document.addEventListener('keydown', (e) => {
      if (e.key === 'Escape' && !$('merge').hidden) this.finish('cancel')
    })
  }

  get open() {
    return !$('merge').hidden
  }

  /**
   * Shows the conflict on `path`; resolves to {action, text}: action is
   * 'mine', 'theirs', 'merge' (text: the result) or 'cancel'.
   */
  show({ path, base, baseVersion, theirs, theirsVersion, theirsDeleted, mine }) {
    this.close()
    this.texts = { mine, theirs }
    $('merge-title').textContent = `${path}: saved on the server as v${theirsVersion}${theirsDeleted ? ' (deleted)' : ''} while you edited v${baseVersion}`
    $('merge-base-label').textContent = baseVersion > 0 ? `v${baseVersion}` : '(new file)'
    $('merge-theirs-label').textContent = `v${theirsVersion}${theirsDeleted ? ', deleted' : ''}`
    // Each side shows its changes against the base, the unchanged stretches
    // folded away so the changes are what one sees.
    const against = () =>
      unifiedMergeView({ original: base, mergeControls: false, gutter: true, collapseUnchanged: { margin: 3, minSize: 6 } })
    this.views.push(viewer($('merge-base'), base, path))
    this.views.push(viewer($('merge-theirs'), theirs, path, against()))
    this.views.push(viewer($('merge-mine'), mine, path, against()))
    const merged = merge3(base, theirs, mine, diff, { mine: 'mine', theirs: `theirs (v${theirsVersion})` })
    const label = $('merge-result-label')
    const describe = (text) => {
      label.textContent = hasConflictMarkers(text)
        ? 'conflict markers left: edit them away, or keep one side'
        : merged.conflicts
          ? 'conflicts settled'
          : 'merged without conflicts'
      label.className = hasConflictMarkers(text) ? 'warn' : 'ok'
    }
    this.result = new EditorView({
      parent: $('merge-result'),
      state: EditorState.create({
        doc: merged.text,
        extensions: [
          basicSetup,
          languageFor(path),
          EditorView.updateListener.of((u) => u.docChanged && describe(u.state.doc.toString())),
        ],
      }),
    })
    this.views.push(this.result)
    describe(merged.text)
    showFirstConflict(this.result)
    $('merge').hidden = false
    return new Promise((resolve) => {
      this.resolve = resolve
    })
  }

  finish(action) {
    if (!this.resolve) return
    const text =
      action === 'mine' ? this.texts.mine : action === 'theirs' ? this.texts.theirs : this.result.state.doc.toString()
    const resolve = this.resolve
    this.resolve = null
    this.close()
    resolve({ action, text })
  }

  close() {
    for (const v of this.views) v.destroy()
    this.views = []
    $('merge').hidden = true
  }
}

/** The history of one file: every version, to view, diff against the editor's text, or revert to. */
export class HistoryPanel {
  constructor(api, onRevert) {
    this.api = api
    this.onRevert = onRevert
    this.views = []
    $('history-close').addEventListener('click', () => this.close())
    document.addEventListener('keydown', (e) => {
      if (e.key === 'Escape' && !$('history').hidden) this.close()
    })
    $('history-list').addEventListener('click', (e) => this.click(e))
  }

  async show(path, currentText) {
    this.path = path
    this.currentText = currentText
    $('history-title').textContent = path
    $('history-list').replaceChildren(note('loading…'))
    this.clearViewer()
    $('history').hidden = false
    let versions
    try {
      versions = await this.api.history(path)
    } catch (e) {
      $('history-list').replaceChildren(note(`cannot read the history: ${e.message}`))
      return
    }
    this.latest = versions.length ? versions[versions.length - 1].version : 0
    const items = versions
      .slice()
      .reverse()
      .map((v) => {
        const li = document.createElement('li')
        li.className = 'history-item'
        li.dataset.version = v.version
        const when = v.mtime ? new Date(v.mtime).toLocaleString() : 'as packed'
        const head = document.createElement('div')
        head.className = 'history-head'
        head.innerHTML = '<b></b> <span class="muted"></span>'
        head.querySelector('b').textContent = `v${v.version}${v.version === this.latest ? ' (latest)' : ''}`
        head.querySelector('span').textContent = v.deleted ? `deleted · ${when}` : `${v.size} B · ${when}`
        const actions = document.createElement('div')
        actions.className = 'history-actions'
        for (const [cls, text] of [['history-view', 'View'], ['history-diff', 'Diff'], ['history-revert', 'Revert']]) {
          const b = document.createElement('button')
          b.type = 'button'
          b.className = cls
          b.textContent = text
          if (v.deleted && cls !== 'history-revert') b.disabled = true
          if (cls === 'history-revert' && v.version === this.latest) b.disabled = true
          actions.append(b)
        }
        li.append(head, actions)
        return li
      })
    $('history-list').replaceChildren(...items)
  }

  async click(e) {
    const item = e.target.closest('.history-item')
    const b = e.target.closest('button')
    if (!item || !b) return
    const version = Number(item.dataset.version)
    for (const li of $('history-list').children) li.classList.toggle('selected', li === item)
    if (b.classList.contains('history-revert')) {
      b.disabled = true
      await this.onRevert(this.path, version, this.latest)
      this.close()
      return
    }
    let text
    try {
      text = new TextDecoder().decode((await this.api.read(this.path, version)).bytes)
    } catch (err) {
      $('history-view-title').textContent = `cannot read v${version}: ${err.message}`
      return
    }
    this.clearViewer()
    if (b.classList.contains('history-view')) {
      $('history-view-title').textContent = `v${version}`
      this.views.push(viewer($('history-viewer'), text, this.path))
    } else {
      $('history-view-title').textContent = `v${version} (left) against the editor's text (right)`
      const extensions = [viewerSetup, readOnly, languageFor(this.path)]
      this.views.push(
        new MergeView({
          parent: $('history-viewer'),
          a: { doc: text, extensions },
          b: { doc: this.currentText, extensions },
          collapseUnchanged: { margin: 3, minSize: 6 },
        }),
      )
    }
  }

  clearViewer() {
    for (const v of this.views) v.destroy()
    this.views = []
    $('history-viewer').replaceChildren()
    $('history-view-title').textContent = 'Pick a version'
  }

  close() {
    this.clearViewer()
    $('history').hidden = true
  }
}

function note(text) {
  const li = document.createElement('li')
  li.className = 'muted note'
  li.textContent = text
  return li
}

/** The log pane: console lines and errors of the pod's JavaScript, file changes. */
export class LogPane {
  constructor(max = 500) {
    this.max = max
    this.list = $('log')
    $('log-clear').addEventListener('click', () => this.list.replaceChildren())
  }

  add(kind, text, request) {
    const li = document.createElement('li')
    li.className = `log-line log-${kind}`
    const time = document.createElement('time')
    time.textContent = new Date().toLocaleTimeString()
    const tag = document.createElement('span')
    tag.className = 'log-kind'
    tag.textContent = kind
    li.append(time, tag)
    if (request) {
      const id = document.createElement('span')
      id.className = 'log-request'
      id.textContent = `#${request}`
      li.append(id)
    }
    const msg = document.createElement('span')
    msg.className = 'log-message'
    msg.textContent = text
    li.append(msg)
    const atBottom = this.list.scrollTop + this.list.clientHeight >= this.list.scrollHeight - 4
    this.list.append(li)
    while (this.list.children.length > this.max) this.list.firstChild.remove()
    if (atBottom) this.list.scrollTop = this.list.scrollHeight
  }
}
