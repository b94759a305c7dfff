/** @jsxImportSource hono/jsx */
// An HBF pod made of real npm packages, installed with `npm install` in this
// directory (node_modules/ at the pod's root) and imported by bare specifiers,
// without an import map. The same file runs under Deno (`deno serve`) and Bun
// (`bun run`), whose answers tools/npm-pod-peers.sh compares with HBF's.
import { Hono } from 'hono'
import { etag } from 'hono/etag'
import { basicAuth } from 'hono/basic-auth'
import { cors } from 'hono/cors'
import { streamSSE } from 'hono/streaming'
import type { FC } from 'hono/jsx'
import { nanoid, customAlphabet } from 'nanoid'
import { v4 as uuidv4, v7 as uuidv7, validate, version } from 'uuid'
import * as jose from 'jose'
import { z } from 'zod'

const app = new Hono()

app.get('/', (c) => c.text('npm pod'))

// Routing: parameters, a wildcard, a method and a group.
app.get('/hello/:name', (c) => c.json({ hello: c.req.param('name'), q: c.req.query('q') ?? null }))
app.get('/files/*', (c) => c.text(`file ${c.req.path.slice('/files/'.length)}`))
const api = new Hono()
api.post('/echo', async (c) => c.json({ method: c.req.method, body: await c.req.json() }))
app.route('/api', api)

// etag: a SHA-1 of the body through crypto.subtle.digest.
app.use('/etag', etag())
app.get('/etag', (c) => c.text('the same body, the same tag'))

// basicAuth: compares credentials through crypto.subtle (SHA-256).
app.use('/auth', basicAuth({ username: 'user', password: 'secret pass' }))
app.get('/auth', (c) => c.text('welcome, user'))

app.use('/cors', cors({ origin: 'https://example.com', allowMethods: ['GET', 'POST'], maxAge: 600 }))
app.get('/cors', (c) => c.text('cors ok'))

// parseBody: urlencoded and multipart forms.
app.post('/form', async (c) => {
  const body = await c.req.parseBody({ all: true })
  const out: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(body)) {
    const one = async (v: unknown) =>
      v instanceof File ? { name: v.name, type: v.type, text: await v.text() } : v
    out[key] = Array.isArray(value) ? await Promise.all(value.map(one)) : await one(value)
  }
  return c.json(out)
})

app.get('/sse', (c) =>
  streamSSE(c, async (stream) => {
    for (let i = 1; i <= 3; i++) {
      await stream.writeSSE({ event: 'tick', id: String(i), data: `message ${i}` })
    }
  }),
)

const Layout: FC = (props) => (
  <html>
    <body>{props.children}</body>
  </html>
)
const List: FC<{ items: string[] }> = ({ items }) => (
  <ul>
    {items.map((item) => (
      <li class={item === 'b' ? 'on' : undefined}>{item}</li>
    ))}
  </ul>
)
app.get('/jsx', (c) =>
  c.html(
    <Layout>
      <h1>Hello &amp; {'<escaped>'}</h1>
      <List items={['a', 'b', 'c']} />
    </Layout>,
  ),
)

app.get('/nanoid', (c) => {
  const id = nanoid()
  const short = customAlphabet('abc', 8)()
  return c.json({
    length: id.length,
    urlSafe: /^[A-Za-z0-9_-]{21}$/.test(id),
    distinct: nanoid() !== id,
    custom: /^[abc]{8}$/.test(short),
  })
})

app.get('/uuid', (c) => {
  const a = uuidv4()
  const [x, y] = [uuidv7(), uuidv7()]
  return c.json({
    v4: validate(a) && version(a) === 4,
    v7: validate(x) && version(x) === 7,
    v7Ordered: x < y,
    distinct: a !== uuidv4(),
  })
})

const hsKey = new TextEncoder().encode('a shared secret of at least 32 bytes!')
const claims = { sub: 'user-1', role: 'admin' }

app.get('/jose/hs256', async (c) => {
  const token = await new jose.SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuedAt(1700000000)
    .setIssuer('hbf')
    .sign(hsKey)
  const { payload, protectedHeader } = await jose.jwtVerify(token, hsKey, { issuer: 'hbf', currentDate: new Date(1700000100000) })
  const tampered = token.slice(0, -2) + (token.endsWith('A') ? 'BB' : 'AA')
  const rejected = await jose.jwtVerify(tampered, hsKey).then(() => false, (e) => e.code)
  return c.json({ token, payload, alg: protectedHeader.alg, rejected })
})

app.get('/jose/es256', async (c) => {
  const { publicKey, privateKey } = await jose.generateKeyPair('ES256')
  const token = await new jose.SignJWT(claims).setProtectedHeader({ alg: 'ES256' }).sign(privateKey)
  const { payload, protectedHeader } = await jose.jwtVerify(token, publicKey)
  const other = await jose.generateKeyPair('ES256')
  const rejected = await jose.jwtVerify(token, other.publicKey).then(() => false, (e) => e.code)
  const jwk = await jose.exportJWK(publicKey)
  return c.json({ payload, alg: protectedHeader.alg, rejected, jwk: { kty: jwk.kty, crv: jwk.crv } })
})

// RS256 is deterministic: with a fixed key (made by Node's WebCrypto) and a
// fixed iat, the token is the same on every runtime. PS256 is randomized.
const rsaPrivate = '-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQCw71yLwppi/43y\n7ffeF5d5amVodUPymfnaY5nC5JA+6zvKteBXyDKYeG7dDeQdOl47ceRaWyZ+6X3E\nEujP9bV+cdDxsEXREEUZazVlZ43Fucdfr/Gh0fd8OB3yXg/G8DFRbWkdoNEPpaOf\nTdDKyv1D06mmKgTGU5Bu55mDv6JWlh/wqccsvYGD9gdmfNW4Xw1yZcWg4HLY49OS\nLEl8XU/OLTVmeAuvjmNpKhSBQsq1QcPLEAk6FStJolR5bqYY7TFNSAiRlcEQL9nY\n3R8S+/QT5GgEWvGOaoMalW97Hd5aWgO6nRelZfLS9D/T4P7yeB6R9+qiEcoB9ea6\nl1eukuPvAgMBAAECggEAEKO8x7AE0Ovzr4r4VTymvtZmCbgtgbKVWsJ52BL4CygY\nNsIlV7FjgLn4GHXmpBEJ16aoW7mtbyC09oGeFMtTcZFxSFQph2BzqdD5STtp4SnN\njuQpt0GFzXrW5iTjxZ5vz5aYh3QeSnhrYN9H6X/EPbgO1lT79KLbNx2KGb0l8+Ur\nvMUOyA0K5jE6jEgCE++IuBUPzhFWh9yn4A47N7S3eibSaJnKPZbQqPp/ntufK+Vv\nUWtyvKZJbFVhsLOafEMBxwcVEXK+3z8wkawGCuZ4ds8c+6MeN9KX8k9IQc3GJRmA\nz+a6L9KaoHIRif3g/3DCdzSsran8Q0L2r7JqNX2vYQKBgQDW/GiuSHbhTVgITehX\nujHO0xqmgIZaH0C+fM/MvD5rdA6rDNkU+6Zla+XeZxbK6lYycTbaGsRr4r97naCW\nDj0MrfAeA+iSEAI5W0oQ3lAy9x8UnFyCU44nzwLb12gjptFusQlPcchGI/4W3dVC\nAFwcd2CEK9vY7U4kW/ICALzsOQKBgQDSsJnIBEQRB3Rm7bgyu2csh0t1ZCWDz3af\nQgWYuHsUlKwut9D3OhtK5RJ0PTROHy9xRwO88yJOs/GFrCamrzghU2hcSNhlOCNx\nxK/kr9FNM5r+1eTTn/QKrYvhNhTSM7pmvFbqEncOHGTP/RNlHJG5nHfyz8Mqw43J\nn/pLIgChZwKBgQChBGlu501Kj8A4cAlt80Gs04XpYOe/hhra0OZeRDtIBaOaz0Oj\nqJtG6RpAiduTXRH0M8FOd6/X0ftynWuSF9X3siregDTneOABj3MY0TkmAtqfeED9\nR5F4FV7hwyL3WNERY71CaEkE554+CCXaiiRzGaILPEIr5giZyNeoUl8tWQKBgGpJ\nBrr9U+0XSqRmBccp/OlcszdcNwSgkyHSJ4qcfhKq0ZWby0H8wSnuF3omKg3C86b8\ngSk/qi3z3sJlTvZFbFZ7gikT4n5lbJQG+giunTKJ9wXZl18e0PjWBbuuEaDc0Yrk\nNiBNAlxO/Jhj/fXDDMyK34PRRY58Kjnth1GBrLm/AoGAGdEuS65BTCeN3OoAkktu\n8f6la1V9WVmDggc/dGot07Shv3QGbBtae4zTrw+Y3EDMaqVhcjJdS1Ac88mFpxEB\n0zK8qtbyABOk3BS8qhc8Ri/kDxjMLh9emBwDmq00lDRdpC5F2TRx5fYa3ENSZ/gQ\nyT4/u5fS9hk0/pqdPZeBTdo=\n-----END PRIVATE KEY-----'
const rsaPublic = '-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAsO9ci8KaYv+N8u333heX\neWplaHVD8pn52mOZwuSQPus7yrXgV8gymHhu3Q3kHTpeO3HkWlsmful9xBLoz/W1\nfnHQ8bBF0RBFGWs1ZWeNxbnHX6/xodH3fDgd8l4PxvAxUW1pHaDRD6Wjn03Qysr9\nQ9OppioExlOQbueZg7+iVpYf8KnHLL2Bg/YHZnzVuF8NcmXFoOBy2OPTkixJfF1P\nzi01ZngLr45jaSoUgULKtUHDyxAJOhUrSaJUeW6mGO0xTUgIkZXBEC/Z2N0fEvv0\nE+RoBFrxjmqDGpVvex3eWloDup0XpWXy0vQ/0+D+8ngekffqohHKAfXmupdXrpLj\n7wIDAQAB\n-----END PUBLIC KEY-----'

app.get('/jose/rs256', async (c) => {
  const privateKey = await jose.importPKCS8(rsaPrivate, 'RS256')
  const publicKey = await jose.importSPKI(rsaPublic, 'RS256')
  const token = await new jose.SignJWT(claims).setProtectedHeader({ alg: 'RS256' }).setIssuedAt(1700000000).sign(privateKey)
  const { payload } = await jose.jwtVerify(token, publicKey)
  const psPrivate = await jose.importPKCS8(rsaPrivate, 'PS256')
  const psPublic = await jose.importSPKI(rsaPublic, 'PS256')
  const ps = await new jose.SignJWT(claims).setProtectedHeader({ alg: 'PS256' }).sign(psPrivate)
  const psVerified = (await jose.jwtVerify(ps, psPublic)).protectedHeader.alg
  const tampered = token.slice(0, -2) + (token.endsWith('A') ? 'BB' : 'AA')
  const rejected = await jose.jwtVerify(tampered, publicKey).then(() => false, (e) => e.code)
  const jwk = await jose.exportJWK(publicKey)
  return c.json({ token, payload, psVerified, rejected, e: jwk.e })
})

const User = z.object({
  name: z.string().min(2),
  age: z.number().int().nonnegative(),
  email: z.string().email().optional(),
  tags: z.array(z.enum(['a', 'b'])).default([]),
})

app.post('/zod', async (c) => {
  const parsed = User.safeParse(await c.req.json())
  if (!parsed.success) {
    return c.json({ ok: false, issues: parsed.error.issues.map((i) => ({ path: i.path, code: i.code })) }, 400)
  }
  return c.json({ ok: true, user: parsed.data })
})

app.notFound((c) => c.json({ error: 'not found', path: c.req.path }, 404))

export default app
