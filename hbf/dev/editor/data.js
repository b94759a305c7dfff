// The Data panel: the pod's tables with their columns and row counts, a paged
// grid of one table's rows (sorted by a column, filtered by text), a
// read-only SQL box, and the migrations with their status and an Apply
// button for the pending ones. Everything goes through the dev API's db/
// routes, which run pod SQL under the pod's authorizer, read-only, with a
// row limit and a time limit per query; an error is shown beside what
// caused it (and in the log).

import { $ } from './page.js'

/** Rows in one page of the grid. */
const PAGE = 50
/** Rows in one page of the SQL box's result. */
const QUERY_PAGE = 100
/** Characters of a value shown in a cell (all of it, up to 2,000, on hover). */
const CELL_CHARS = 200

/** `name` as an SQL identifier. */
export const ident = (name) => `"${String(name).replace(/"/g, '""')}"`

/** A LIKE pattern (with `ESCAPE '\'`) matching `text` anywhere. */
export const containsPattern = (text) => `%${text.replace(/[\\%_]/g, (c) => '\\' + c)}%`

/**
 * The grid's statements for `table` ({name, columns}) with a `filter` text
 * (matched anywhere in any column, as text, ASCII case-insensitively) and a
 * `sort` ({column, desc} or null): `{sql, count, params}`.
 */
export function tableQuery(table, filter, sort) {
  const params = []
  let where = ''
  if (filter) {
    params.push(containsPattern(filter))
    where = ` WHERE ${table.columns.map((c) => `CAST(${ident(c.name)} AS TEXT) LIKE ?1 ESCAPE '\\'`).join(' OR ')}`
  }
  const from = `FROM ${ident(table.name)}${where}`
  const order = sort ? ` ORDER BY ${ident(sort.column)} ${sort.desc ? 'DESC' : 'ASC'}` : ''
  return { sql: `SELECT * ${from}${order}`, count: `SELECT count(*) ${from}`, params }
}

function element(tag, className, text) {
  const el = document.createElement(tag)
  if (className) el.className = className
  if (text !== undefined) el.textContent = text
  return el
}

/** One value of a row, as the dev API sends it (a blob is `{$blob, size}`). */
function cell(value) {
  if (value === null) return element('td', 'null', 'NULL')
  if (typeof value === 'object' && value && '$blob' in value) return element('td', 'blob', `blob, ${value.size} bytes`)
  const text = String(value)
  const td = element('td', typeof value === 'number' ? 'num' : '', text.length > CELL_CHARS ? `${text.slice(0, CELL_CHARS)}\u2026` : text)
  if (text.length > CELL_CHARS) td.title = text.slice(0, 2000)
  return td
}

/** Fills `table` with `columns` and `rows`; headers sort when `onSort` is given. */
function renderGrid(table, columns, rows, { sort = null, onSort = null } = {}) {
  const head = element('tr')
  for (const name of columns) {
    const th = element('th', '', name)
    th.dataset.column = name
    if (onSort) {
      th.classList.add('sortable')
      th.title = `Sort by ${name}`
      const state = sort?.column === name ? (sort.desc ? 'descending' : 'ascending') : 'none'
      th.setAttribute('aria-sort', state)
      th.addEventListener('click', () => onSort(name))
    }
    head.append(th)
  }
  const body = element('tbody')
  for (const row of rows) {
    const tr = element('tr')
    tr.append(...row.map(cell))
    body.append(tr)
  }
  const thead = element('thead')
  thead.append(head)
  table.replaceChildren(thead, body)
}

function showError(id, message) {
  const el = $(id)
  el.textContent = message ?? ''
  el.hidden = !message
}

const when = (ms) => new Date(ms).toLocaleString()

export class DataPanel {
  /** `openFile(path)` shows a migration's file in the Files panel. */
  constructor(api, log, { openFile }) {
    this.api = api
    this.log = log
    this.openFile = openFile
    this.shown = false
    this.tables = []
    this.table = null // the table in the grid: {name, type, columns, rows}
    this.sort = null // {column, desc}
    this.filter = ''
    this.offset = 0
    this.rowsSeq = 0 // a newer load of the grid wins over an older one still under way
    this.query = null // the SQL box's statement and page: {sql, offset}
    this.applyError = null
    this.filterTimer = 0
    this.wire()
  }

  wire() {
    $('data-refresh').addEventListener('click', () => this.refresh())
    $('data-apply').addEventListener('click', () => this.apply())
    $('data-prev').addEventListener('click', () => this.page(-PAGE))
    $('data-next').addEventListener('click', () => this.page(PAGE))
    $('data-filter').addEventListener('input', () => {
      clearTimeout(this.filterTimer)
      this.filterTimer = setTimeout(() => {
        this.filter = $('data-filter').value.trim()
        this.offset = 0
        this.loadRows()
      }, 250)
    })
    $('data-query-form').addEventListener('submit', (e) => {
      e.preventDefault()
      this.runQuery($('data-sql').value.trim(), 0)
    })
    $('data-sql').addEventListener('keydown', (e) => {
      if ((e.ctrlKey || e.metaKey) && e.key === 'Enter') {
        e.preventDefault()
        this.runQuery($('data-sql').value.trim(), 0)
      }
    })
    $('data-query-prev').addEventListener('click', () => this.query && this.runQuery(this.query.sql, Math.max(0, this.query.offset - QUERY_PAGE)))
    $('data-query-next').addEventListener('click', () => this.query && this.runQuery(this.query.sql, this.query.offset + QUERY_PAGE))
  }

  show() {
    this.shown = true
    return this.refresh()
  }

  hide() {
    this.shown = false
  }

  /** Reloads the tables, the migrations and the grid. */
  async refresh() {
    await Promise.all([this.loadTables(), this.loadMigrations()])
    if (this.table) await this.loadRows()
    document.body.dataset.dataReady = '1'
  }

  // ---- the tables

  async loadTables() {
    const list = $('data-tables')
    try {
      this.tables = await this.api.tables()
    } catch (e) {
      list.replaceChildren(element('li', 'data-note data-error', `cannot list the tables: ${e.message}`))
      return
    }
    if (this.table) {
      this.table = this.tables.find((t) => t.name === this.table.name) ?? null
      if (!this.table) this.clearGrid()
    }
    if (this.tables.length === 0) {
      list.replaceChildren(element('li', 'data-note muted', 'No tables yet. A migration creates them: hbf/migrations/0001_name.sql'))
      return
    }
    list.replaceChildren(
      ...this.tables.map((t) => {
        const li = element('li', 'data-table')
        li.dataset.table = t.name
        li.classList.toggle('active', t.name === this.table?.name)
        li.setAttribute('role', 'button')
        li.tabIndex = 0
        const head = element('div', 'data-table-head')
        head.append(element('span', 'data-table-name', t.name))
        const count = t.type === 'view' ? 'view' : `${t.rows} row${t.rows === 1 ? '' : 's'}`
        head.append(element('span', 'data-table-rows muted', count))
        const columns = element('div', 'data-columns muted')
        columns.textContent = t.columns.map((c) => `${c.name}${c.type ? ` ${c.type.toLowerCase()}` : ''}${c.pk ? ' pk' : ''}`).join(', ')
        li.append(head, columns)
        li.addEventListener('click', () => this.select(t.name))
        li.addEventListener('keydown', (e) => e.key === 'Enter' && this.select(t.name))
        return li
      }),
    )
  }

  select(name) {
    this.table = this.tables.find((t) => t.name === name) ?? null
    this.sort = null
    this.filter = ''
    this.offset = 0
    $('data-filter').value = ''
    for (const li of $('data-tables').children) li.classList.toggle('active', li.dataset.table === name)
    return this.loadRows()
  }

  clearGrid() {
    $('data-title').textContent = 'Pick a table'
    $('data-grid').replaceChildren()
    $('data-page').textContent = ''
    $('data-prev').disabled = true
    $('data-next').disabled = true
    $('data-filter').disabled = true
    showError('data-grid-error', null)
  }

  page(delta) {
    if (!this.table) return
    this.offset = Math.max(0, this.offset + delta)
    this.loadRows()
  }

  sortBy(column) {
    this.sort = this.sort?.column === column ? { column, desc: !this.sort.desc } : { column, desc: false }
    this.offset = 0
    this.loadRows()
  }

  async loadRows() {
    const table = this.table
    if (!table) return this.clearGrid()
    const seq = ++this.rowsSeq
    const { sql, count, params } = tableQuery(table, this.filter, this.sort)
    $('data-title').textContent = table.name
    $('data-filter').disabled = false
    $('data-grid').setAttribute('aria-busy', 'true')
    try {
      const [page, counted] = await Promise.all([
        this.api.query(sql, params, this.offset, PAGE),
        this.api.query(count, params, 0, 1),
      ])
      if (seq !== this.rowsSeq) return
      const total = counted.rows[0][0]
      renderGrid($('data-grid'), page.columns, page.rows, { sort: this.sort, onSort: (c) => this.sortBy(c) })
      const filtered = this.filter ? ' matching the filter' : ''
      $('data-page').textContent = page.rows.length
        ? `rows ${this.offset + 1}\u2013${this.offset + page.rows.length} of ${total}${filtered}`
        : this.offset > 0 ? `no rows past ${this.offset}` : `no rows${filtered}`
      $('data-prev').disabled = this.offset === 0
      $('data-next').disabled = !page.more
      showError('data-grid-error', null)
    } catch (e) {
      if (seq !== this.rowsSeq) return
      $('data-grid').replaceChildren()
      $('data-page').textContent = ''
      showError('data-grid-error', `cannot read ${table.name}: ${e.message}`)
    } finally {
      if (seq === this.rowsSeq) $('data-grid').removeAttribute('aria-busy')
    }
  }

  // ---- the SQL box

  async runQuery(sql, offset) {
    if (!sql) return
    this.query = { sql, offset }
    $('data-run').disabled = true
    try {
      const page = await this.api.query(sql, [], offset, QUERY_PAGE)
      renderGrid($('data-result'), page.columns, page.rows)
      $('data-query-info').textContent = page.rows.length
        ? `rows ${offset + 1}\u2013${offset + page.rows.length}${page.more ? ', more after' : ''}`
        : page.columns.length ? 'no rows' : 'done: no result columns'
      $('data-query-prev').disabled = offset === 0
      $('data-query-next').disabled = !page.more
      showError('data-query-error', null)
    } catch (e) {
      $('data-result').replaceChildren()
      $('data-query-info').textContent = ''
      $('data-query-prev').disabled = true
      $('data-query-next').disabled = true
      showError('data-query-error', e.message)
    } finally {
      $('data-run').disabled = false
    }
  }

  // ---- the migrations

  async loadMigrations() {
    const list = $('data-migrations')
    let status
    try {
      status = await this.api.migrations()
    } catch (e) {
      list.replaceChildren(element('li', 'data-note data-error', `cannot list the migrations: ${e.message}`))
      $('data-apply').disabled = true
      return
    }
    $('data-pending').textContent = status.pending ? `${status.pending} pending` : ''
    $('data-pending').hidden = !status.pending
    $('data-apply').disabled = !status.pending
    if (status.migrations.length === 0) {
      list.replaceChildren(element('li', 'data-note muted', 'None yet: SQL files in hbf/migrations/, applied in name order'))
    } else {
      list.replaceChildren(
        ...status.migrations.map((m) => {
          const li = element('li', `data-migration status-${m.status}`)
          li.dataset.migration = m.name
          li.dataset.status = m.status
          const head = element('div', 'data-migration-head')
          const name = element('button', 'link', m.name)
          name.type = 'button'
          name.title = `Open ${m.path}`
          name.disabled = m.status === 'missing'
          name.addEventListener('click', () => this.openFile(m.path))
          head.append(name, element('span', `badge badge-${m.status}`, m.status))
          const detail = element('div', 'data-migration-detail muted')
          if (m.status === 'applied') detail.textContent = `applied ${when(m.applied_at)} in ${m.duration_ms} ms`
          else if (m.status === 'pending') detail.textContent = 'not applied yet'
          else if (m.status === 'changed') {
            detail.textContent = `its file changed after it was applied (applied ${m.applied_sha256.slice(0, 12)}\u2026, now ${m.sha256.slice(0, 12)}\u2026): restore it and add a new migration`
          } else detail.textContent = `applied ${when(m.applied_at)}; its file is deleted`
          li.append(head, detail)
          return li
        }),
      )
    }
    const last = status.last_error
    const message = this.applyError ?? (last ? `${last.name} failed at ${when(last.at)}: ${last.message}` : null)
    showError('data-migration-error', message)
  }

  async apply() {
    $('data-apply').disabled = true
    this.applyError = null
    try {
      const { applied } = await this.api.migrate()
      for (const m of applied) this.log.add('info', `applied the migration ${m.name} in ${m.duration_ms} ms`)
    } catch (e) {
      this.applyError = `not applied: ${e.message}`
      this.log.add('error', `the pending migrations were not applied: ${e.message}`)
    }
    await this.refresh()
  }
}
