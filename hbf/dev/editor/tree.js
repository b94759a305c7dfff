// The file tree: folders and files of the pod, from the listing. Each file is
// `[data-path]` (click opens it), each folder `[data-folder]` (click folds
// it); a file's row has rename and delete buttons; files dropped anywhere on
// the tree are uploaded (to `static/`, or to the `static/` folder they were
// dropped on).

const ICONS = {
  js: 'JS', mjs: 'JS', ts: 'TS', mts: 'TS', tsx: 'TS', jsx: 'JS', css: '#', html: '<>', json: '{}', md: 'M',
  png: 'IMG', jpg: 'IMG', jpeg: 'IMG', gif: 'IMG', webp: 'IMG', svg: 'SVG', ico: 'ICO',
}

export class FileTree {
  /**
   * `actions`: open(path), rename(from, to), remove(path), upload(files, folder).
   */
  constructor(root, actions) {
    this.root = root
    this.actions = actions
    this.folded = new Set(JSON.parse(localStorage.getItem('hbf-editor-folded') || '[]'))
    this.files = []
    this.marks = { active: null, dirty: new Set(), queued: new Set(), remote: new Set() }
    root.addEventListener('click', (e) => this.click(e))
    root.addEventListener('keydown', (e) => {
      const row = e.target.closest('[data-path]')
      if (row && e.key === 'Enter') this.actions.open(row.dataset.path)
    })
    for (const type of ['dragenter', 'dragover']) {
      root.addEventListener(type, (e) => {
        if (!e.dataTransfer || ![...e.dataTransfer.types].includes('Files')) return
        e.preventDefault()
        e.dataTransfer.dropEffect = 'copy'
        root.classList.add('dropping')
      })
    }
    root.addEventListener('dragleave', (e) => {
      if (!root.contains(e.relatedTarget)) root.classList.remove('dropping')
    })
    root.addEventListener('drop', (e) => {
      e.preventDefault()
      root.classList.remove('dropping')
      const files = [...(e.dataTransfer?.files ?? [])]
      if (files.length === 0) return
      const folder = e.target.closest('[data-folder]')?.dataset.folder
      const into = folder && (folder === 'static' || folder.startsWith('static/')) ? folder : 'static'
      this.actions.upload(files, into)
    })
  }

  /** Shows `files` ([{path, version, size}], live files only). */
  render(files = this.files, marks = this.marks) {
    this.files = files
    this.marks = marks
    const top = { folders: new Map(), files: [] }
    for (const f of files) {
      const parts = f.path.split('/')
      let node = top
      for (const part of parts.slice(0, -1)) {
        if (!node.folders.has(part)) node.folders.set(part, { folders: new Map(), files: [] })
        node = node.folders.get(part)
      }
      node.files.push({ ...f, name: parts[parts.length - 1] })
    }
    const list = this.list(top, '', 0)
    list.setAttribute('role', 'group')
    this.root.replaceChildren(list)
  }

  list(node, prefix, depth) {
    const ul = document.createElement('ul')
    const folders = [...node.folders.keys()].sort()
    for (const name of folders) {
      const path = prefix + name
      const li = document.createElement('li')
      const row = document.createElement('div')
      row.className = 'row folder'
      row.dataset.folder = path
      row.style.paddingLeft = `${8 + depth * 14}px`
      row.setAttribute('role', 'treeitem')
      row.setAttribute('aria-expanded', String(!this.folded.has(path)))
      row.append(span('twisty', this.folded.has(path) ? '\u25b8' : '\u25be'), span('name', name))
      li.append(row)
      if (!this.folded.has(path)) li.append(this.list(node.folders.get(name), `${path}/`, depth + 1))
      ul.append(li)
    }
    for (const f of node.files.sort((a, b) => a.name.localeCompare(b.name))) {
      const li = document.createElement('li')
      const row = document.createElement('div')
      row.className = 'row file'
      row.dataset.path = f.path
      row.tabIndex = 0
      row.title = `${f.path}\nversion ${f.version}, ${f.size} bytes`
      row.style.paddingLeft = `${22 + depth * 14}px`
      row.setAttribute('role', 'treeitem')
      const m = this.marks
      row.classList.toggle('active', m.active === f.path)
      row.classList.toggle('dirty', m.dirty.has(f.path))
      row.classList.toggle('queued', m.queued.has(f.path))
      row.classList.toggle('remote', m.remote.has(f.path))
      const ext = f.name.includes('.') ? f.name.split('.').pop().toLowerCase() : ''
      const rename = button('rename', '\u270e', `Rename ${f.path}`)
      const remove = button('remove', '\u2715', `Delete ${f.path}`)
      row.append(span(`ftype ftype-${ext}`, ICONS[ext] ?? '\u00b7'), span('name', f.name), span('mark'), rename, remove)
      li.append(row)
      ul.append(li)
    }
    return ul
  }

  click(e) {
    const folder = e.target.closest('[data-folder]')
    if (folder) {
      const path = folder.dataset.folder
      this.folded.has(path) ? this.folded.delete(path) : this.folded.add(path)
      localStorage.setItem('hbf-editor-folded', JSON.stringify([...this.folded]))
      this.render()
      return
    }
    const row = e.target.closest('[data-path]')
    if (!row) return
    const path = row.dataset.path
    if (e.target.closest('.rename')) this.startRename(row, path)
    else if (e.target.closest('.remove')) {
      if (confirm(`Delete ${path}? Its history stays; a new version can bring it back.`)) this.actions.remove(path)
    } else if (!e.target.closest('input')) this.actions.open(path)
  }

  startRename(row, path) {
    const input = document.createElement('input')
    input.className = 'rename-input'
    input.value = path
    input.spellcheck = false
    const name = row.querySelector('.name')
    name.replaceWith(input)
    input.focus()
    input.setSelectionRange(path.lastIndexOf('/') + 1, path.length)
    let done = false
    const finish = (commit) => {
      if (done) return
      done = true
      const to = input.value.trim()
      if (commit && to && to !== path) this.actions.rename(path, to)
      else this.render()
    }
    input.addEventListener('keydown', (e) => {
      if (e.key === 'Enter') finish(true)
      if (e.key === 'Escape') finish(false)
    })
    input.addEventListener('blur', () => finish(false))
  }
}

function span(className, text = '') {
  const s = document.createElement('span')
  s.className = className
  s.textContent = text
  return s
}

function button(className, text, title) {
  const b = document.createElement('button')
  b.type = 'button'
  b.className = `icon ${className}`
  b.textContent = text
  b.title = title
  b.setAttribute('aria-label', title)
  return b
}
