// Issue 13, scenario 6: a PNG dropped on the tree is stored as static/<name>
// with its exact bytes, served by the pod and shown in the tree.
import assert from 'node:assert/strict'
import { browserTest, makePng, sha256, treeFile, waitFor } from './harness.mjs'

browserTest('editor: a PNG dropped on the tree is stored and served byte for byte', async (t) => {
  const { server } = t
  const page = await t.openEditor()
  const png = await makePng(16, 16)
  const name = 'dropped-by-test.png'

  await page.evaluate(({ bytes, name }) => {
    const file = new File([new Uint8Array(bytes)], name, { type: 'image/png' })
    const dataTransfer = new DataTransfer()
    dataTransfer.items.add(file)
    const tree = document.querySelector('#tree')
    for (const type of ['dragenter', 'dragover', 'drop']) {
      tree.dispatchEvent(new DragEvent(type, { dataTransfer, bubbles: true, cancelable: true, composed: true }))
    }
  }, { bytes: [...png], name })

  const served = await waitFor(`GET /static/${name}`, async () => {
    const r = await server.get(`/static/${name}`)
    return r.status === 200 && r
  })
  assert.equal(sha256(served.bytes), sha256(png), 'the served bytes are the dropped ones')
  assert.equal(served.bytes.length, png.length)
  const stored = await server.api.read(`static/${name}`)
  assert.equal(sha256(stored.bytes), sha256(png))
  await page.locator(treeFile(`static/${name}`)).first().waitFor({ state: 'attached' })
})
