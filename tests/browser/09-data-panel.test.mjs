// The Data panel (issue 27): the pod's tables with columns and row counts, a
// paged grid with sorting and a filter, the read-only SQL box, and the
// migrations: a pending one applied with the Apply button, a failing one's
// error shown in the panel and the log with nothing changed, and a failing
// migration saved from the editor refused where it was saved.
import assert from 'node:assert/strict'
import { browserTest, openFile, replaceText, save, tab, textOf, waitFor } from './harness.mjs'

const PEOPLE = `-- 120 people, ages 20 to 69
CREATE TABLE people (id INTEGER PRIMARY KEY, name TEXT NOT NULL, age INTEGER);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 120)
INSERT INTO people (name, age) SELECT 'person ' || i, 20 + i % 50 FROM n;
`

/** The first column's values of the grid (or of the SQL box's result). */
function column(page, table, index = 0) {
  return page.$$eval(`#${table} tbody tr`, (rows, i) => rows.map((r) => r.children[i].textContent), index)
}

async function openData(page) {
  await page.click('#show-data')
  await page.waitForSelector('#data:not([hidden])')
  await waitFor('the Data panel loaded', () => page.evaluate(() => document.body.dataset.dataReady === '1'))
}

/** A query through the dev API, behind the editor's back. */
async function query(t, sql) {
  const r = await t.server.api.request('POST', 'db/query', {}, {
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ sql }),
  })
  assert.equal(r.status, 200, `db/query ${sql}: ${r.text()}`)
  return r.json().rows
}

browserTest('data: tables with row counts, a paged grid sorted and filtered, the read-only SQL box', async (t) => {
  const put = await t.server.api.put('hbf/migrations/0001_people.sql', PEOPLE)
  assert.equal(put.status, 201, JSON.stringify(put.json))
  const page = await t.openEditor()
  await openData(page)

  const people = page.locator('#data-tables [data-table="people"]')
  await people.waitFor()
  assert.equal(await textOf(people, '.data-table-rows'), '120 rows')
  assert.match(await textOf(people, '.data-columns'), /id integer pk, name text, age integer/)
  await page.waitForSelector('#data-migrations [data-migration="0001_people.sql"][data-status="applied"]')
  assert.equal(await page.isDisabled('#data-apply'), true, 'nothing pending: Apply is off')

  // Paging: 50 rows a page.
  await people.click()
  await waitFor('the first page', async () => (await textOf(page, '#data-page')) === 'rows 1\u201350 of 120')
  assert.deepEqual(await page.$$eval('#data-grid th', (ths) => ths.map((th) => th.dataset.column)), ['id', 'name', 'age'])
  assert.equal((await column(page, 'data-grid')).length, 50)
  assert.equal(await page.isDisabled('#data-prev'), true)
  await page.click('#data-next')
  await waitFor('the second page', async () => (await textOf(page, '#data-page')) === 'rows 51\u2013100 of 120')
  assert.equal((await column(page, 'data-grid'))[0], '51')
  await page.click('#data-next')
  await waitFor('the last page', async () => (await textOf(page, '#data-page')) === 'rows 101\u2013120 of 120')
  assert.equal(await page.isDisabled('#data-next'), true, 'no page after the last')
  await page.click('#data-prev')
  await waitFor('back to the second page', async () => (await textOf(page, '#data-page')) === 'rows 51\u2013100 of 120')

  // Sorting by a column: ascending, then descending, from the first page.
  await page.click('#data-grid th[data-column="age"]')
  await waitFor('sorted by age', async () =>
    (await page.getAttribute('#data-grid th[data-column="age"]', 'aria-sort')) === 'ascending' &&
    (await textOf(page, '#data-page')) === 'rows 1\u201350 of 120')
  const ascending = (await column(page, 'data-grid', 2)).map(Number)
  assert.equal(ascending[0], 20)
  assert.deepEqual(ascending, [...ascending].sort((a, b) => a - b))
  await page.click('#data-grid th[data-column="age"]')
  await waitFor('sorted by age, descending', async () =>
    (await page.getAttribute('#data-grid th[data-column="age"]', 'aria-sort')) === 'descending')
  assert.equal((await column(page, 'data-grid', 2))[0], '69')

  // The filter: any column, as text.
  await page.fill('#data-filter', 'person 7')
  await waitFor('the filtered rows', async () => /^rows 1\u201311 of 11 matching/.test(await textOf(page, '#data-page')))
  const names = (await column(page, 'data-grid', 1)).sort()
  assert.deepEqual(names, ['person 7', ...Array.from({ length: 10 }, (_, i) => `person 7${i}`)].sort())
  await t.screenshot('-grid')
  await page.fill('#data-filter', '100%')
  await waitFor('no match for a literal %', async () => /^no rows matching/.test(await textOf(page, '#data-page')))

  // The SQL box: a read-only query's rows; a write and a platform table refused where they were typed.
  t.allowConsole(/status of 400/) // the two refusals below
  await page.fill('#data-sql', 'SELECT name, age FROM people WHERE id IN (3, 4) ORDER BY id')
  await page.click('#data-run')
  await waitFor('the result', async () => (await column(page, 'data-result')).join() === 'person 3,person 4')
  assert.equal(await textOf(page, '#data-query-info'), 'rows 1\u20132')
  assert.equal(await page.isHidden('#data-query-error'), true)
  await page.fill('#data-sql', 'DELETE FROM people')
  await page.locator('#data-sql').press('Control+Enter')
  await page.waitForSelector('#data-query-error:not([hidden])')
  assert.match(await textOf(page, '#data-query-error'), /read-only|not authorized|readonly/i)
  assert.equal(await page.locator('#data-result tr').count(), 0, 'no stale result beside the error')
  assert.deepEqual(await query(t, 'SELECT count(*) FROM people'), [[120]], 'nothing was deleted')
  await page.fill('#data-sql', 'SELECT * FROM hbf_files')
  await page.click('#data-run')
  await waitFor('the platform table refused', async () => /not authorized|hbf_files|platform/i.test(await textOf(page, '#data-query-error')))
  await t.screenshot('-sql')
})

// A route of the pod that stores a file through hbf:fs: how a migration
// arrives pending (the dev API and `hbf fs put` apply it as they store it).
const WRITER_ROUTE = `router.post('/store-file', (req, res) => {
  const { path, text } = JSON.parse(req.body)
  res.json(fs.write(path, text))
})

router.get('/hello'`

async function storeByPod(t, path, text) {
  const r = await t.server.get('/store-file', { method: 'POST', body: JSON.stringify({ path, text }) })
  assert.equal(r.status, 200, `POST /store-file: ${r.text()}`)
}

browserTest('data: a pending migration applied from the panel; failing ones leave everything as it was', async (t) => {
  const server = await t.server.api.read('hbf/server.js')
  assert.ok(server.text.includes("router.get('/hello'"), 'the base pod has its /hello route')
  const put = await t.server.api.put('hbf/server.js', server.text.replace("router.get('/hello'", WRITER_ROUTE), { ifMatch: server.version })
  assert.equal(put.status, 200, JSON.stringify(put.json))
  assert.equal((await t.server.api.put('hbf/migrations/0001_people.sql', PEOPLE)).status, 201)
  await storeByPod(t, 'hbf/migrations/0002_tags.sql', 'CREATE TABLE tags (tag TEXT PRIMARY KEY);\nINSERT INTO tags VALUES (\'new\'), (\'old\');\n')

  const page = await t.openEditor()
  await openData(page)
  await page.waitForSelector('#data-migrations [data-migration="0002_tags.sql"][data-status="pending"]')
  assert.equal(await textOf(page, '#data-pending'), '1 pending')
  assert.equal(await page.locator('#data-tables [data-table="tags"]').count(), 0, 'not applied yet')
  await t.screenshot('-pending')
  await page.click('#data-apply')
  await page.waitForSelector('#data-migrations [data-migration="0002_tags.sql"][data-status="applied"]')
  await page.waitForSelector('#data-tables [data-table="tags"]')
  assert.equal(await textOf(page, '#data-tables [data-table="tags"] .data-table-rows'), '2 rows')
  assert.equal(await page.isDisabled('#data-apply'), true)
  assert.equal(await page.isHidden('#data-pending'), true)
  await page.locator('#log .log-line', { hasText: 'applied the migration 0002_tags' }).first().waitFor()

  // A failing pending migration: its first statement would succeed, its second fails; nothing of it stays.
  t.allowConsole(/status of 422/)
  await storeByPod(t, 'hbf/migrations/0003_bad.sql', 'CREATE TABLE extra (x);\nINSERT INTO no_such_table VALUES (1);\n')
  await page.click('#data-refresh')
  await page.waitForSelector('#data-migrations [data-migration="0003_bad.sql"][data-status="pending"]')
  await page.click('#data-apply')
  await page.waitForSelector('#data-migration-error:not([hidden])')
  const error = await textOf(page, '#data-migration-error')
  assert.match(error, /0003_bad/)
  assert.match(error, /no_such_table/)
  await page.waitForSelector('#data-migrations [data-migration="0003_bad.sql"][data-status="pending"]')
  await page.locator('#log .log-line.log-error', { hasText: 'no_such_table' }).first().waitFor()
  assert.equal(await page.locator('#data-tables [data-table="extra"]').count(), 0, 'the failed migration left no table')
  assert.deepEqual(await query(t, "SELECT count(*) FROM sqlite_schema WHERE name = 'extra'"), [[0]])
  assert.equal((await t.server.get('/hello')).status, 200, 'the pod keeps serving')
  await t.screenshot('-failed')

  // Saved from the editor, a failing migration is refused where it was saved: not stored, the text kept.
  await page.click('#show-files')
  await page.click('#new-file')
  await page.fill('#new-file-path', 'hbf/migrations/0004_oops.sql')
  await page.keyboard.press('Enter')
  await page.waitForSelector(`${tab('hbf/migrations/0004_oops.sql')}.active`)
  await replaceText(page, 'CREATE TABLE oops (')
  await save(page)
  await waitFor('the refusal in the status bar', async () => /not saved: hbf\/migrations\/0004_oops\.sql \(422/.test(await textOf(page, '#status-save')))
  await page.locator('#log .log-line.log-error', { hasText: '0004_oops' }).first().waitFor()
  assert.equal((await t.server.api.file('hbf/migrations/0004_oops.sql')).status, 404, 'nothing stored')
  await page.waitForSelector(`${tab('hbf/migrations/0004_oops.sql')}.dirty`)

  // Fixed and saved again: applied, and the panel shows it applied.
  await replaceText(page, 'CREATE TABLE oops (id INTEGER PRIMARY KEY);\n')
  await save(page)
  await waitFor('the migration stored', async () => (await t.server.api.file('hbf/migrations/0004_oops.sql')).status === 200)
  await page.click('#show-data')
  await page.waitForSelector('#data-migrations [data-migration="0004_oops.sql"][data-status="applied"]')
  await page.waitForSelector('#data-tables [data-table="oops"]')
  // A migration's name opens its file.
  await page.click('#data-migrations [data-migration="0002_tags.sql"] button.link')
  await page.waitForSelector(`${tab('hbf/migrations/0002_tags.sql')}.active`)
  await openFile(page, 'hbf/migrations/0001_people.sql')
})
