//! `crypto.subtle` (`js/crypto.js`, `src/host/crypto.rs`) in both isolation
//! modes: known-answer vectors (FIPS 180 SHA, RFC 4231 HMAC, RFC 8032
//! Ed25519, RFC 7748 X25519, RFC 5869 HKDF, RFC 6070 PBKDF2), values made by
//! Node's WebCrypto (`SERVER`'s `F` and `R`: keys, ECDSA and RSA
//! signatures, an RSA-OAEP ciphertext, AES-GCM/CBC/CTR/KW outputs, an ECDH secret), round trips, and
//! bad input: unknown algorithms, wrong key lengths, tampered data,
//! non-extractable keys, forged keys.

mod common;

use common::json;
use hbf_qjs::{EngineConfig, Isolation};
use serde_json::json as j;

/// Each route runs its checks and answers what it found (a DOMException's
/// name for a rejection; other errors' name with "(not a DOMException)").
/// `F` holds what Node made from the same inputs.
const SERVER: &str = r##"const s = crypto.subtle
const enc = new TextEncoder()
const hex = (b) => Array.from(new Uint8Array(b), (x) => x.toString(16).padStart(2, '0')).join('')
const unhex = (h) => new Uint8Array(h.match(/../g).map((x) => parseInt(x, 16)))
const fails = async (p) => {
  try { await p; return 'resolved' } catch (e) { return e instanceof DOMException ? e.name : `${e.name} (not a DOMException)` }
}
const F = {"jwk": {"key_ops": ["sign"], "ext": true, "kty": "EC", "x": "eiT8wz96ivrrtegkzuRvJyYdV6Fkq9tLATtFdNEs9No", "y": "6N-Ktx5GgxN7oouccj8SeWljgENyNxk0Yon3aNCyVCA", "crv": "P-256", "d": "WomAfWk4n0OP93cK_3p1zl0LTNvuZn3RyKz5YS2t4pY"}, "sig": "fbb1f932df093b69b55810b8a4f08be327eecc725f5b4908742948631d0f3346db8696fcf65aa4605868f5239c74f8a9b9a53c06120a85c7274dc15a91d03e92", "spki": "3059301306072a8648ce3d020106082a8648ce3d030107034200047a24fcc33f7a8afaebb5e824cee46f27261d57a164abdb4b013b4574d12cf4dae8df8ab71e4683137ba28b9c723f127969638043723719346289f768d0b25420", "pkcs8": "308187020100301306072a8648ce3d020106082a8648ce3d030107046d306b02010104205a89807d69389f438ff7770aff7a75ce5d0b4cdbee667dd1c8acf9612dade296a144034200047a24fcc33f7a8afaebb5e824cee46f27261d57a164abdb4b013b4574d12cf4dae8df8ab71e4683137ba28b9c723f127969638043723719346289f768d0b25420", "gcm": "19daac97b3d50c302d257cb43014d3325568a8a48ce662b1134b", "cbc": "0c4e84dd24619de4b46e8510556e173a", "ctr": "3b431835c900852463d0a59e0957bc1497dbf77d759112bf547dadfc97bfeb844cee0cdd20fe281a", "kw": "191d22210dd8103aec0396ed6ba17097adb264877e58359f", "xb": "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742", "e2priv": {"key_ops": ["deriveBits"], "ext": true, "kty": "EC", "x": "DoMIj1QHjmqLVY7wDt6nQ_dSh69OUl-rIQ4sTolhfLgjvu8BAeRactkYiWABlf2D", "y": "gUcSR3jDKITiJzBkj6eplh2hfRDdQ_Ue401AtvTwvJ_HOWMCvcHOcSDcp6RCz04g", "crv": "P-384", "d": "RR1hcntNwruapcZk-jFelldyQ9R8KMGlA4JDnaI3NkBB4eDvzGzahAUI5x3b-XhF"}, "peerPub": "04e3a8a6da5688502295a3be819592d990e3b8ccf5c82cda9455d78b65d4e2c05d81fcbb6a237971887856900c019e7a4199ddd4d72dc206b9ad5a3be2f816177e9a2c61993db9bcbf414ba7b9589a900da358aab91f268eb7a03b71e1ad4d1815", "ecdh": "f0cc32dc4c17e538b09d35548b5e3820b06fb6d60f715f758edb3c14225b9d0b45a0c6940179e646e8e45ecd1a764234"}
const routes = {}
routes['/digest'] = async () => ({
  sha1: hex(await s.digest('SHA-1', enc.encode('abc'))),
  sha256: hex(await s.digest({ name: 'sha-256' }, enc.encode('abc'))),
  sha384: hex(await s.digest('SHA-384', enc.encode('abc'))),
  sha512: hex(await s.digest('SHA-512', enc.encode('abc').buffer)),
  unknown: await fails(s.digest('MD5', enc.encode('abc'))),
  notData: await fails(s.digest('SHA-256', 'abc')),
  isBuffer: (await s.digest('SHA-256', new Uint8Array(0))) instanceof ArrayBuffer,
})
routes['/hmac'] = async () => {
  const key1 = await s.importKey('raw', new Uint8Array(20).fill(0x0b), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify'])
  const key1b = await s.importKey('raw', new Uint8Array(20).fill(0x0b), { name: 'HMAC', hash: 'SHA-512' }, true, ['sign'])
  const jefe = await s.importKey('jwk', { kty: 'oct', k: 'SmVmZQ', alg: 'HS256' }, { name: 'HMAC', hash: 'SHA-256' }, true, ['sign', 'verify'])
  const data = enc.encode('Hi There')
  const sig = await s.sign('HMAC', key1, data)
  const bad = new Uint8Array(sig).slice(); bad[31] ^= 1
  const gen = await s.generateKey({ name: 'HMAC', hash: 'SHA-384' }, true, ['sign', 'verify'])
  const genSig = await s.sign('HMAC', gen, data)
  return {
    tc1: hex(sig),
    tc1sha512: hex(await s.sign('HMAC', key1b, data)),
    tc2: hex(await s.sign('HMAC', jefe, enc.encode('what do ya want for nothing?'))),
    verify: await s.verify('HMAC', key1, sig, data),
    tampered: await s.verify('HMAC', key1, bad, data),
    short: await s.verify('HMAC', key1, sig.slice(0, 16), data),
    jwk: await s.exportKey('jwk', jefe),
    raw: hex(await s.exportKey('raw', jefe)),
    key: [key1.type, key1.extractable, key1.algorithm, key1.usages, String(key1), key1 instanceof CryptoKey],
    gen: [gen.algorithm, (await s.exportKey('raw', gen)).byteLength, await s.verify('HMAC', gen, genSig, data)],
    nonExtractable: await fails(s.exportKey('raw', key1)),
    nonExtractableJwk: await fails(s.exportKey('jwk', key1)),
    emptyKey: await fails(s.importKey('raw', new Uint8Array(0), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign'])),
    wrongLength: await fails(s.importKey('raw', new Uint8Array(16), { name: 'HMAC', hash: 'SHA-256', length: 256 }, false, ['sign'])),
    noUsages: await fails(s.importKey('raw', new Uint8Array(16), { name: 'HMAC', hash: 'SHA-256' }, false, [])),
    badUsage: await fails(s.importKey('raw', new Uint8Array(16), { name: 'HMAC', hash: 'SHA-256' }, false, ['encrypt'])),
    wrongAlg: await fails(s.importKey('jwk', { kty: 'oct', k: 'SmVmZQ', alg: 'HS512' }, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign'])),
    noHash: await fails(s.importKey('raw', new Uint8Array(16), { name: 'HMAC' }, false, ['sign'])),
    unknown: await fails(s.importKey('raw', new Uint8Array(16), { name: 'HMAC-MD5' }, false, ['sign'])),
    usageMismatch: await fails(s.sign('HMAC', key1b, data).then(() => s.verify('HMAC', key1b, sig, data))),
    algMismatch: await fails(s.sign({ name: 'ECDSA', hash: 'SHA-256' }, key1, data)),
  }
}
routes['/forge'] = async () => {
  const real = await s.importKey('raw', new Uint8Array(16).fill(1), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign'])
  const fake = Object.create(CryptoKey.prototype)
  const plain = { type: 'secret', extractable: true, algorithm: { name: 'HMAC', hash: { name: 'SHA-256' } }, usages: ['sign'] }
  const seen = []
  // Pod code replacing built-ins sees no key material pass through them.
  const slice = ArrayBuffer.prototype.slice
  ArrayBuffer.prototype.slice = function (...a) { seen.push('slice'); return slice.apply(this, a) }
  Object.defineProperty(Object.prototype, 'material', { set(v) { seen.push('material') }, configurable: true })
  const gen = await s.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign'])
  delete Object.prototype.material
  ArrayBuffer.prototype.slice = slice
  let constructed
  try { new CryptoKey(); constructed = 'made' } catch (e) { constructed = e.name }
  // A usage check does not trust Array.prototype.includes; a key's algorithm
  // cannot be changed under it.
  const encryptOnly = await s.importKey('raw', new Uint8Array(16), 'AES-CBC', false, ['encrypt'])
  const includes = Array.prototype.includes
  Array.prototype.includes = () => true
  const usageBypass = await fails(s.decrypt({ name: 'AES-CBC', iv: new Uint8Array(16) }, encryptOnly, new Uint8Array(16)))
  Array.prototype.includes = includes
  const before = hex(await s.sign('HMAC', real, new Uint8Array(1)))
  try { real.algorithm.hash.name = 'SHA-1' } catch {}
  try { real.algorithm.name = 'AES-GCM' } catch {}
  const hashKept = before === hex(await s.sign('HMAC', real, new Uint8Array(1))) && real.algorithm.hash.name === 'SHA-256'
  return {
    fake: await fails(s.sign('HMAC', fake, new Uint8Array(1))),
    plain: await fails(s.sign('HMAC', plain, new Uint8Array(1))),
    exportFake: await fails(s.exportKey('raw', fake)),
    getter: (() => { try { return fake.type } catch (e) { return e.name } })(),
    constructed,
    ownKeys: Reflect.ownKeys(real),
    json: JSON.stringify(real),
    clone: (() => { try { return Object.keys(structuredClone(real)).length } catch (e) { return e.name } })(),
    privateExport: await fails(s.exportKey('pkcs8', gen.privateKey)),
    seen,
    subtleCtor: (() => { try { new SubtleCrypto(); return 'made' } catch (e) { return e.name } })(),
    unbound: await fails(SubtleCrypto.prototype.digest.call({}, 'SHA-256', new Uint8Array(1))),
    same: crypto.subtle === s && s instanceof SubtleCrypto,
    usageBypass,
    hashKept,
  }
}
routes['/ecdsa'] = async () => {
  const data = enc.encode('hello')
  const nodeKey = await s.importKey('jwk', F.jwk, { name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign'])
  const nodePub = await s.importKey('spki', unhex(F.spki), { name: 'ECDSA', namedCurve: 'P-256' }, true, ['verify'])
  const fromPkcs8 = await s.importKey('pkcs8', unhex(F.pkcs8), { name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign'])
  const alg = { name: 'ECDSA', hash: 'SHA-256' }
  const mine = await s.sign(alg, nodeKey, data)
  const tampered = unhex(F.sig); tampered[5] ^= 1
  const pair = await s.generateKey({ name: 'ECDSA', namedCurve: 'P-384' }, true, ['sign', 'verify'])
  const sig384 = await s.sign({ name: 'ECDSA', hash: 'SHA-384' }, pair.privateKey, data)
  const rawPub = await s.exportKey('raw', pair.publicKey)
  const again = await s.importKey('raw', rawPub, { name: 'ECDSA', namedCurve: 'P-384' }, true, ['verify'])
  return {
    nodeSig: await s.verify(alg, nodePub, unhex(F.sig), data),
    tampered: await s.verify(alg, nodePub, tampered, data),
    wrongLength: await s.verify(alg, nodePub, unhex(F.sig).slice(1), data),
    mine: await s.verify(alg, nodePub, mine, data),
    mineLength: mine.byteLength,
    mineHex: hex(mine),
    spki: hex(await s.exportKey('spki', nodePub)) === F.spki,
    pkcs8Jwk: await s.exportKey('jwk', fromPkcs8),
    pkcs8: hex(await s.exportKey('pkcs8', nodeKey)).length > 0,
    jwkPub: await s.exportKey('jwk', nodePub),
    p384: [sig384.byteLength, rawPub.byteLength, await s.verify({ name: 'ECDSA', hash: 'SHA-384' }, again, sig384, data)],
    pairKeys: [pair.publicKey.type, pair.privateKey.type, pair.publicKey.usages, pair.privateKey.usages, pair.privateKey.algorithm],
    badPoint: await fails(s.importKey('raw', new Uint8Array(65).fill(4), { name: 'ECDSA', namedCurve: 'P-256' }, true, ['verify'])),
    badSpki: await fails(s.importKey('spki', new Uint8Array(10), { name: 'ECDSA', namedCurve: 'P-256' }, true, ['verify'])),
    wrongCurve: await fails(s.importKey('spki', unhex(F.spki), { name: 'ECDSA', namedCurve: 'P-384' }, true, ['verify'])),
    p521: await fails(s.generateKey({ name: 'ECDSA', namedCurve: 'P-521' }, true, ['sign'])),
    jwkMismatch: await fails(s.importKey('jwk', { ...F.jwk, x: F.e2priv.x }, { name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign'])),
    publicSigns: await fails(s.sign(alg, nodePub, data)),
    privateVerifyUsage: await fails(s.importKey('pkcs8', unhex(F.pkcs8), { name: 'ECDSA', namedCurve: 'P-256' }, true, ['verify'])),
  }
}
routes['/ed25519'] = async () => {
  // RFC 8032, section 7.1, test 1 (empty message) and test 2.
  const seed = unhex('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60')
  const pkcs8 = new Uint8Array([...unhex('302e020100300506032b657004220420'), ...seed])
  const key = await s.importKey('pkcs8', pkcs8, 'Ed25519', true, ['sign'])
  const jwk = await s.exportKey('jwk', key)
  const pub = await s.importKey('jwk', { kty: 'OKP', crv: 'Ed25519', x: jwk.x }, 'Ed25519', true, ['verify'])
  const sig = await s.sign('Ed25519', key, new Uint8Array(0))
  const key2 = await s.importKey('jwk', { kty: 'OKP', crv: 'Ed25519', d: 'TM0Imyj_ltqdtsNG7BFOD1uKMZ81q6Yk2oz27U-4pvs', x: 'PUAXw-hDiVqStwqnTRt-vJyYLM8uxJaMwM1V8Sr0Zgw' }, 'Ed25519', false, ['sign'])
  const pair = await s.generateKey('Ed25519', false, ['sign', 'verify'])
  const msg = enc.encode('x')
  return {
    x: hex(await s.exportKey('raw', pub)),
    sig: hex(sig),
    verify: await s.verify('Ed25519', pub, sig, new Uint8Array(0)),
    other: await s.verify('Ed25519', pub, sig, new Uint8Array(1)),
    sig2: hex(await s.sign('Ed25519', key2, unhex('72'))),
    spki: hex(await s.exportKey('spki', pub)),
    pkcs8: hex(await s.exportKey('pkcs8', key)) === hex(pkcs8),
    pair: await s.verify('Ed25519', pair.publicKey, await s.sign('Ed25519', pair.privateKey, msg), msg),
    badLength: await fails(s.importKey('raw', new Uint8Array(31), 'Ed25519', true, ['verify'])),
    mismatch: await fails(s.importKey('jwk', { kty: 'OKP', crv: 'Ed25519', d: jwk.d, x: 'PUAXw-hDiVqStwqnTRt-vJyYLM8uxJaMwM1V8Sr0Zgw' }, 'Ed25519', false, ['sign'])),
  }
}
routes['/aes'] = async () => {
  const bytes = new Uint8Array(16).map((_, i) => i)
  const plain = enc.encode('plain text')
  const gcmKey = await s.importKey('raw', bytes, 'AES-GCM', true, ['encrypt', 'decrypt', 'wrapKey', 'unwrapKey'])
  const gcmAlg = { name: 'AES-GCM', iv: new Uint8Array(12).fill(1), additionalData: enc.encode('ad') }
  const gcm = await s.encrypt(gcmAlg, gcmKey, plain)
  const tampered = new Uint8Array(gcm).slice(); tampered[0] ^= 1
  const cbcKey = await s.importKey('raw', bytes, 'AES-CBC', false, ['encrypt', 'decrypt'])
  const cbc = await s.encrypt({ name: 'AES-CBC', iv: new Uint8Array(16).fill(2) }, cbcKey, plain)
  const ctrKey = await s.importKey('jwk', { kty: 'oct', k: 'AAECAwQFBgcICQoLDA0ODw', alg: 'A128CTR' }, 'AES-CTR', false, ['encrypt', 'decrypt'])
  const ctrAlg = { name: 'AES-CTR', counter: new Uint8Array(16).fill(255), length: 8 }
  const ctr = await s.encrypt(ctrAlg, ctrKey, new Uint8Array(40).fill(7))
  const kwKey = await s.importKey('raw', bytes, 'AES-KW', false, ['wrapKey', 'unwrapKey'])
  const hmacKey = await s.importKey('raw', new Uint8Array(16).fill(9), { name: 'HMAC', hash: 'SHA-256' }, true, ['sign'])
  const wrapped = await s.wrapKey('raw', hmacKey, kwKey, 'AES-KW')
  const unwrapped = await s.unwrapKey('raw', wrapped, kwKey, 'AES-KW', { name: 'HMAC', hash: 'SHA-256' }, false, ['sign'])
  const badWrapped = new Uint8Array(wrapped).slice(); badWrapped[3] ^= 1
  const gen = await s.generateKey({ name: 'AES-GCM', length: 256 }, true, ['encrypt', 'decrypt'])
  const jwkWrapped = await s.wrapKey('jwk', gen, gcmKey, gcmAlg)
  const back = await s.unwrapKey('jwk', jwkWrapped, gcmKey, gcmAlg, 'AES-GCM', true, ['encrypt'])
  return {
    gcm: hex(gcm),
    gcmBack: new TextDecoder().decode(await s.decrypt(gcmAlg, gcmKey, gcm)),
    gcmTampered: await fails(s.decrypt(gcmAlg, gcmKey, tampered)),
    gcmJwk: await s.exportKey('jwk', gcmKey),
    cbc: hex(cbc),
    cbcBack: new TextDecoder().decode(await s.decrypt({ name: 'AES-CBC', iv: new Uint8Array(16).fill(2) }, cbcKey, cbc)),
    cbcBadPadding: await fails(s.decrypt({ name: 'AES-CBC', iv: new Uint8Array(16).fill(3) }, cbcKey, cbc)),
    ctr: hex(ctr),
    ctrBack: hex(await s.decrypt(ctrAlg, ctrKey, ctr)),
    ctrTooLong: await fails(s.encrypt(ctrAlg, ctrKey, new Uint8Array(16 * 257))),
    kw: hex(wrapped),
    unwrapped: hex(await s.sign('HMAC', unwrapped, plain)) === hex(await s.sign('HMAC', hmacKey, plain)),
    unwrappedExtractable: unwrapped.extractable,
    kwTampered: await fails(s.unwrapKey('raw', badWrapped, kwKey, 'AES-KW', { name: 'HMAC', hash: 'SHA-256' }, false, ['sign'])),
    jwkRoundTrip: hex(await s.exportKey('raw', back)) === hex(await s.exportKey('raw', gen)),
    genLength: gen.algorithm,
    badKeyLength: await fails(s.importKey('raw', new Uint8Array(20), 'AES-GCM', false, ['encrypt'])),
    badGenLength: await fails(s.generateKey({ name: 'AES-CBC', length: 100 }, false, ['encrypt'])),
    wrongUsage: await fails(s.decrypt(gcmAlg, await s.importKey('raw', bytes, 'AES-GCM', false, ['encrypt']), gcm)),
    wrapNonExtractable: await fails(s.wrapKey('raw', cbcKey, kwKey, 'AES-KW')),
  }
}
routes['/derive'] = async () => {
  const pw = await s.importKey('raw', enc.encode('password'), 'PBKDF2', false, ['deriveBits', 'deriveKey'])
  const pbkdf2 = async (iterations) => hex(await s.deriveBits({ name: 'PBKDF2', hash: 'SHA-1', salt: enc.encode('salt'), iterations }, pw, 160))
  const ikm = await s.importKey('raw', new Uint8Array(22).fill(0x0b), 'HKDF', false, ['deriveBits'])
  const hkdf = await s.deriveBits({ name: 'HKDF', hash: 'SHA-256', salt: unhex('000102030405060708090a0b0c'), info: unhex('f0f1f2f3f4f5f6f7f8f9') }, ikm, 42 * 8)
  const aes = await s.deriveKey({ name: 'PBKDF2', hash: 'SHA-256', salt: enc.encode('salt'), iterations: 10 }, pw, { name: 'AES-GCM', length: 256 }, false, ['encrypt'])
  const x1 = await s.importKey('jwk', { kty: 'OKP', crv: 'X25519', d: 'dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCo', x: 'hSDwCYkwp1R0i33ctD73Wg2_Og0mOBr066SpjqqbTmo' }, 'X25519', false, ['deriveBits'])
  const x2 = await s.importKey('raw', unhex('de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f'), 'X25519', false, [])
  const ecdhPriv = await s.importKey('jwk', F.e2priv, { name: 'ECDH', namedCurve: 'P-384' }, false, ['deriveBits'])
  const ecdhPub = await s.importKey('raw', unhex(F.peerPub), { name: 'ECDH', namedCurve: 'P-384' }, true, [])
  const p256 = await s.generateKey({ name: 'ECDH', namedCurve: 'P-256' }, false, ['deriveBits'])
  return {
    pbkdf2: [await pbkdf2(1), await pbkdf2(2), await pbkdf2(4096)],
    hkdf: hex(hkdf),
    hkdfTooLong: await fails(s.deriveBits({ name: 'HKDF', hash: 'SHA-256', salt: new Uint8Array(0), info: new Uint8Array(0) }, ikm, 256 * 32 * 8)),
    derivedKey: [aes.type, aes.algorithm, aes.extractable, aes.usages],
    x25519: hex(await s.deriveBits({ name: 'X25519', public: x2 }, x1, 256)),
    ecdh: hex(await s.deriveBits({ name: 'ECDH', public: ecdhPub }, ecdhPriv, 384)),
    ecdhShort: hex(await s.deriveBits({ name: 'ECDH', public: ecdhPub }, ecdhPriv, 12)),
    ecdhTooLong: await fails(s.deriveBits({ name: 'ECDH', public: ecdhPub }, ecdhPriv, 392)),
    curveMismatch: await fails(s.deriveBits({ name: 'ECDH', public: ecdhPub }, p256.privateKey, 128)),
    smallOrder: await fails(s.deriveBits({ name: 'X25519', public: await s.importKey('raw', new Uint8Array(32), 'X25519', false, []) }, x1, 256)),
    zeroIterations: await fails(s.deriveBits({ name: 'PBKDF2', hash: 'SHA-1', salt: new Uint8Array(1), iterations: 0 }, pw, 160)),
    hugeLength: await fails(s.deriveBits({ name: 'PBKDF2', hash: 'SHA-1', salt: new Uint8Array(1), iterations: 1 }, pw, 2 ** 31)),
    hugeIterations: await fails(s.deriveBits({ name: 'PBKDF2', hash: 'SHA-1', salt: new Uint8Array(1), iterations: 1e12 }, pw, 160)),
    extractable: await fails(s.importKey('raw', enc.encode('pw'), 'PBKDF2', true, ['deriveBits'])),
    exportPbkdf2: await fails(s.exportKey('raw', pw)),
  }
}
const R = {"jwk": {"key_ops": ["sign"], "ext": true, "kty": "RSA", "n": "sO9ci8KaYv-N8u333heXeWplaHVD8pn52mOZwuSQPus7yrXgV8gymHhu3Q3kHTpeO3HkWlsmful9xBLoz_W1fnHQ8bBF0RBFGWs1ZWeNxbnHX6_xodH3fDgd8l4PxvAxUW1pHaDRD6Wjn03Qysr9Q9OppioExlOQbueZg7-iVpYf8KnHLL2Bg_YHZnzVuF8NcmXFoOBy2OPTkixJfF1Pzi01ZngLr45jaSoUgULKtUHDyxAJOhUrSaJUeW6mGO0xTUgIkZXBEC_Z2N0fEvv0E-RoBFrxjmqDGpVvex3eWloDup0XpWXy0vQ_0-D-8ngekffqohHKAfXmupdXrpLj7w", "e": "AQAB", "d": "EKO8x7AE0Ovzr4r4VTymvtZmCbgtgbKVWsJ52BL4CygYNsIlV7FjgLn4GHXmpBEJ16aoW7mtbyC09oGeFMtTcZFxSFQph2BzqdD5STtp4SnNjuQpt0GFzXrW5iTjxZ5vz5aYh3QeSnhrYN9H6X_EPbgO1lT79KLbNx2KGb0l8-UrvMUOyA0K5jE6jEgCE--IuBUPzhFWh9yn4A47N7S3eibSaJnKPZbQqPp_ntufK-VvUWtyvKZJbFVhsLOafEMBxwcVEXK-3z8wkawGCuZ4ds8c-6MeN9KX8k9IQc3GJRmAz-a6L9KaoHIRif3g_3DCdzSsran8Q0L2r7JqNX2vYQ", "p": "1vxorkh24U1YCE3oV7oxztMapoCGWh9AvnzPzLw-a3QOqwzZFPumZWvl3mcWyupWMnE22hrEa-K_e52glg49DK3wHgPokhACOVtKEN5QMvcfFJxcglOOJ88C29doI6bRbrEJT3HIRiP-Ft3VQgBcHHdghCvb2O1OJFvyAgC87Dk", "q": "0rCZyAREEQd0Zu24MrtnLIdLdWQlg892n0IFmLh7FJSsLrfQ9zobSuUSdD00Th8vcUcDvPMiTrPxhawmpq84IVNoXEjYZTgjccSv5K_RTTOa_tXk05_0Cq2L4TYU0jO6ZrxW6hJ3Dhxkz_0TZRyRuZx38s_DKsONyZ_6SyIAoWc", "dp": "oQRpbudNSo_AOHAJbfNBrNOF6WDnv4Ya2tDmXkQ7SAWjms9Do6ibRukaQInbk10R9DPBTnev19H7cp1rkhfV97Iq3oA053jgAY9zGNE5JgLan3hA_UeReBVe4cMi91jREWO9QmhJBOeePggl2ookcxmiCzxCK-YImcjXqFJfLVk", "dq": "akkGuv1T7RdKpGYFxyn86VyzN1w3BKCTIdInipx-EqrRlZvLQfzBKe4XeiYqDcLzpvyBKT-qLfPewmVO9kVsVnuCKRPifmVslAb6CK6dMon3BdmXXx7Q-NYFu64RoNzRiuQ2IE0CXE78mGP99cMMzIrfg9FFjnwqOe2HUYGsub8", "qi": "GdEuS65BTCeN3OoAkktu8f6la1V9WVmDggc_dGot07Shv3QGbBtae4zTrw-Y3EDMaqVhcjJdS1Ac88mFpxEB0zK8qtbyABOk3BS8qhc8Ri_kDxjMLh9emBwDmq00lDRdpC5F2TRx5fYa3ENSZ_gQyT4_u5fS9hk0_pqdPZeBTdo", "alg": "RS256"}, "pkcs8": "308204bd020100300d06092a864886f70d0101010500048204a7308204a30201000282010100b0ef5c8bc29a62ff8df2edf7de1797796a65687543f299f9da6399c2e4903eeb3bcab5e057c83298786edd0de41d3a5e3b71e45a5b267ee97dc412e8cff5b57e71d0f1b045d11045196b3565678dc5b9c75faff1a1d1f77c381df25e0fc6f031516d691da0d10fa5a39f4dd0cacafd43d3a9a62a04c653906ee79983bfa256961ff0a9c72cbd8183f607667cd5b85f0d7265c5a0e072d8e3d3922c497c5d4fce2d3566780baf8e63692a148142cab541c3cb10093a152b49a254796ea618ed314d48089195c1102fd9d8dd1f12fbf413e468045af18e6a831a956f7b1dde5a5a03ba9d17a565f2d2f43fd3e0fef2781e91f7eaa211ca01f5e6ba9757ae92e3ef02030100010282010010a3bcc7b004d0ebf3af8af8553ca6bed66609b82d81b2955ac279d812f80b281836c22557b16380b9f81875e6a41109d7a6a85bb9ad6f20b4f6819e14cb53719171485429876073a9d0f9493b69e129cd8ee429b74185cd7ad6e624e3c59e6fcf969887741e4a786b60df47e97fc43db80ed654fbf4a2db371d8a19bd25f3e52bbcc50ec80d0ae6313a8c480213ef88b8150fce115687dca7e00e3b37b4b77a26d26899ca3d96d0a8fa7f9edb9f2be56f516b72bca6496c5561b0b39a7c4301c707151172bedf3f3091ac060ae67876cf1cfba31e37d297f24f4841cdc6251980cfe6ba2fd29aa0721189fde0ff70c27734acada9fc4342f6afb26a357daf6102818100d6fc68ae4876e14d58084de857ba31ced31aa680865a1f40be7ccfccbc3e6b740eab0cd914fba6656be5de6716caea56327136da1ac46be2bf7b9da0960e3d0cadf01e03e8921002395b4a10de5032f71f149c5c82538e27cf02dbd76823a6d16eb1094f71c84623fe16ddd542005c1c7760842bdbd8ed4e245bf20200bcec3902818100d2b099c8044411077466edb832bb672c874b75642583cf769f420598b87b1494ac2eb7d0f73a1b4ae512743d344e1f2f714703bcf3224eb3f185ac26a6af382153685c48d865382371c4afe4afd14d339afed5e4d39ff40aad8be13614d233ba66bc56ea12770e1c64cffd13651c91b99c77f2cfc32ac38dc99ffa4b2200a16702818100a104696ee74d4a8fc03870096df341acd385e960e7bf861adad0e65e443b4805a39acf43a3a89b46e91a4089db935d11f433c14e77afd7d1fb729d6b9217d5f7b22ade8034e778e0018f7318d1392602da9f7840fd479178155ee1c322f758d11163bd42684904e79e3e0825da8a247319a20b3c422be60899c8d7a8525f2d590281806a4906bafd53ed174aa46605c729fce95cb3375c3704a09321d2278a9c7e12aad1959bcb41fcc129ee177a262a0dc2f3a6fc81293faa2df3dec2654ef6456c567b822913e27e656c9406fa08ae9d3289f705d9975f1ed0f8d605bbae11a0dcd18ae436204d025c4efc9863fdf5c30ccc8adf83d1458e7c2a39ed875181acb9bf02818019d12e4bae414c278ddcea00924b6ef1fea56b557d59598382073f746a2dd3b4a1bf74066c1b5a7b8cd3af0f98dc40cc6aa56172325d4b501cf3c985a71101d332bcaad6f20013a4dc14bcaa173c462fe40f18cc2e1f5e981c039aad3494345da42e45d93471e5f61adc435267f810c93e3fbb97d2f61934fe9a9d3d97814dda", "spki": "30820122300d06092a864886f70d01010105000382010f003082010a0282010100b0ef5c8bc29a62ff8df2edf7de1797796a65687543f299f9da6399c2e4903eeb3bcab5e057c83298786edd0de41d3a5e3b71e45a5b267ee97dc412e8cff5b57e71d0f1b045d11045196b3565678dc5b9c75faff1a1d1f77c381df25e0fc6f031516d691da0d10fa5a39f4dd0cacafd43d3a9a62a04c653906ee79983bfa256961ff0a9c72cbd8183f607667cd5b85f0d7265c5a0e072d8e3d3922c497c5d4fce2d3566780baf8e63692a148142cab541c3cb10093a152b49a254796ea618ed314d48089195c1102fd9d8dd1f12fbf413e468045af18e6a831a956f7b1dde5a5a03ba9d17a565f2d2f43fd3e0fef2781e91f7eaa211ca01f5e6ba9757ae92e3ef0203010001", "rs256": "5f43be75ad751de758397ad5f0c0d60217222992aba1dbc15eba42a91be4b5b1422ad51ec1e223d95a00f94701658adeba14fd1f1d9fdcaff21b084072f673a81cb9b1229f69f0fd6e5af538d710bef32fbadd62598d811d7bb915ed36c831487c3974786a5d20df43e7b754914525c39ee2bca0da7b6fdfb6594fc903a9dc02620ade6a6b51b4258c3cf611389190b489a51b23b70130f0da6d4a052e5d73f2034e49de66c1ac9bacc7210da9776b62f747288f9b2ededfdf78bb73abd517431f0aff03bfc95d53f2aeda47e7c1c0bdbd258921c5a97a512fc13321c2bf17ae78ddb0bdbe590313f9ae4aa49d88fe8e0702f89c10ac20a56cd4944785cfee50", "ps384": "71725150e51fd48169172896ceb026823e6a0fa47e9992f2c06b571ef3d3b510edafd2e456cc93c8bbda191d5b2db64762cd3578d6e4190c58386a5720ef319ca45a4f83e1c046d920a4a535b363dd84d740030be27d6a95d6e0cdd54838243ccdc28ba88dd7b40df78dade66afc8c8fa904140e234cbeb0418e67560214ff8f4bb2622339abaf38e05239d7e3ef9589e22aa6b518c003d943eeab8a351ee60db646a4b2944eba267f571b749fea02294c3f74fa81a01eeb9c17d02c31745d8efae96f812f621725d6d324d22c4a382cd6cda9c96698930d2a12d2fa73ae2a9cc4dbb63ad27f5f5d4fa0188395c089c85103a1b8677755faff4f9b53d60742c3", "oaep": "7dedc048d25f04965c06fc0224edb3dd504c49fe3fc11d30535c5b47efc82f0e8ad6dfb0e5a111549e3fb37db47967cffb02e6575c7b6f54bc289623059c655adbb01faf38ecce0177d7d6baa8f5e95b3c2b621c58e882083b9486e0ec54e0ae4407b09997c9848677911d9c4338b82ae784d5215788c290a1e52e9485b666aca2766813c8546a3bc755f017cb67c3b6b25fbce3865dd5b8b49bfda66cb8909110be33572474180e7ad8bfc44d4deaa14ec6824700cd5ea90835757840d98e63c3eebfe90793e312ba4742b2393a8ca1578bedc0b79e2f4cc7a19660ddb6547af22bdd640f22033e6764cb71a7dacf81d1799a427a1a7e10c9df6b8c5eab8387"}
routes['/rsa'] = async () => {
  const data = enc.encode('hello')
  const rs = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }
  const signer = await s.importKey('pkcs8', unhex(R.pkcs8), rs, true, ['sign'])
  const verifier = await s.importKey('spki', unhex(R.spki), rs, true, ['verify'])
  const fromJwk = await s.importKey('jwk', R.jwk, rs, true, ['sign'])
  const rs256 = await s.sign('RSASSA-PKCS1-v1_5', signer, data)
  const tampered = unhex(R.rs256); tampered[7] ^= 1
  const pssPub = await s.importKey('spki', unhex(R.spki), { name: 'RSA-PSS', hash: 'SHA-384' }, false, ['verify'])
  const pssKey = await s.importKey('jwk', { ...R.jwk, alg: 'PS384' }, { name: 'RSA-PSS', hash: 'SHA-384' }, false, ['sign'])
  const pss = await s.sign({ name: 'RSA-PSS', saltLength: 48 }, pssKey, data)
  const oaepKey = await s.importKey('pkcs8', unhex(R.pkcs8), { name: 'RSA-OAEP', hash: 'SHA-256' }, false, ['decrypt', 'unwrapKey'])
  const oaepPub = await s.importKey('jwk', { kty: 'RSA', n: R.jwk.n, e: R.jwk.e }, { name: 'RSA-OAEP', hash: 'SHA-256' }, true, ['encrypt', 'wrapKey'])
  const label = enc.encode('label')
  const mine = await s.encrypt({ name: 'RSA-OAEP', label }, oaepPub, enc.encode('mine'))
  const badOaep = unhex(R.oaep); badOaep[100] ^= 1
  const aes = await s.generateKey({ name: 'AES-GCM', length: 128 }, true, ['encrypt'])
  const wrapped = await s.wrapKey('raw', aes, oaepPub, { name: 'RSA-OAEP' })
  const unwrapped = await s.unwrapKey('raw', wrapped, oaepKey, { name: 'RSA-OAEP' }, 'AES-GCM', true, ['encrypt'])
  const pair = await s.generateKey({ name: 'RSA-PSS', modulusLength: 1024, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' }, true, ['sign', 'verify'])
  const pairSig = await s.sign({ name: 'RSA-PSS', saltLength: 32 }, pair.privateKey, data)
  const dec = new TextDecoder()
  return {
    nodeSig: hex(rs256) === R.rs256,
    nodeVerify: await s.verify(rs, verifier, unhex(R.rs256), data),
    jwkSig: hex(await s.sign(rs, fromJwk, data)) === R.rs256,
    tampered: await s.verify(rs, verifier, tampered, data),
    short: await s.verify(rs, verifier, unhex(R.rs256).slice(1), data),
    pkcs8: hex(await s.exportKey('pkcs8', fromJwk)) === R.pkcs8,
    spki: hex(await s.exportKey('spki', verifier)) === R.spki,
    jwk: await s.exportKey('jwk', signer),
    publicJwk: await s.exportKey('jwk', verifier),
    algorithm: [signer.algorithm.name, signer.algorithm.modulusLength, Array.from(signer.algorithm.publicExponent), signer.algorithm.hash, signer.type, verifier.type],
    nodePss: await s.verify({ name: 'RSA-PSS', saltLength: 48 }, pssPub, unhex(R.ps384), data),
    minePss: await s.verify({ name: 'RSA-PSS', saltLength: 48 }, pssPub, pss, data),
    wrongSalt: await s.verify({ name: 'RSA-PSS', saltLength: 20 }, pssPub, pss, data),
    pssRandom: hex(pss) !== hex(await s.sign({ name: 'RSA-PSS', saltLength: 48 }, pssKey, data)),
    nodeOaep: dec.decode(await s.decrypt({ name: 'RSA-OAEP', label }, oaepKey, unhex(R.oaep))),
    mineOaep: dec.decode(await s.decrypt({ name: 'RSA-OAEP', label }, oaepKey, mine)),
    wrongLabel: await fails(s.decrypt({ name: 'RSA-OAEP' }, oaepKey, mine)),
    tamperedOaep: await fails(s.decrypt({ name: 'RSA-OAEP', label }, oaepKey, badOaep)),
    tooLong: await fails(s.encrypt({ name: 'RSA-OAEP' }, oaepPub, new Uint8Array(300))),
    wrapped: hex(await s.exportKey('raw', unwrapped)) === hex(await s.exportKey('raw', aes)),
    generated: [pair.privateKey.algorithm.modulusLength, pair.publicKey.usages, pair.privateKey.usages, await s.verify({ name: 'RSA-PSS', saltLength: 32 }, pair.publicKey, pairSig, data)],
    raw: await fails(s.importKey('raw', unhex(R.spki), rs, true, ['verify'])),
    badSpki: await fails(s.importKey('spki', new Uint8Array(30), rs, true, ['verify'])),
    jwkWrongCrt: await fails(s.importKey('jwk', { ...R.jwk, dp: R.jwk.dq }, rs, true, ['sign'])),
    jwkWrongAlg: await fails(s.importKey('jwk', R.jwk, { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-512' }, true, ['sign'])),
    jwkNotBase64: await fails(s.importKey('jwk', { kty: 'RSA', n: '!!', e: 'AQAB' }, rs, true, ['verify'])),
    smallModulus: await fails(s.generateKey({ ...rs, modulusLength: 512, publicExponent: new Uint8Array([1, 0, 1]) }, true, ['sign'])),
    evenExponent: await fails(s.generateKey({ ...rs, modulusLength: 1024, publicExponent: new Uint8Array([2]) }, true, ['sign'])),
    noSalt: await fails(s.sign('RSA-PSS', pssKey, data)),
    publicSigns: await fails(s.sign(rs, verifier, data)),
    privateVerifyUsage: await fails(s.importKey('pkcs8', unhex(R.pkcs8), rs, true, ['verify'])),
    privateExportSpki: await fails(s.exportKey('spki', signer)),
  }
}
routes['/rsa-forever'] = async () => {
  const pair = await s.generateKey({ name: 'RSA-OAEP', modulusLength: 4096, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' }, true, ['encrypt', 'decrypt'])
  return pair.privateKey.algorithm.modulusLength
}
routes['/pbkdf2-forever'] = async () =>
  hex(await s.deriveBits({ name: 'PBKDF2', hash: 'SHA-512', salt: new Uint8Array(8), iterations: 2 ** 32 - 1 }, await s.importKey('raw', enc.encode('pw'), 'PBKDF2', false, ['deriveBits']), 512))
export default {
  async fetch(request) {
    return Response.json(await routes[new URL(request.url).pathname]())
  },
}
"##;

fn each_mode(check: impl Fn(&mut hbf_qjs::Engine)) {
    for isolation in [Isolation::Snapshot, Isolation::Worker] {
        let config = EngineConfig {
            isolation,
            ..EngineConfig::default()
        };
        let mut engine = common::engine(&[("hbf/server.js", SERVER)], config);
        check(&mut engine);
    }
}

/// Node's WebCrypto made these from the same inputs (`SERVER`).
const NODE_GCM: &str = "19daac97b3d50c302d257cb43014d3325568a8a48ce662b1134b";
const NODE_CBC: &str = "0c4e84dd24619de4b46e8510556e173a";
const NODE_CTR: &str =
    "3b431835c900852463d0a59e0957bc1497dbf77d759112bf547dadfc97bfeb844cee0cdd20fe281a";
const NODE_KW: &str = "191d22210dd8103aec0396ed6ba17097adb264877e58359f";
/// The private key Node generated for `R` (its JWK export).
const RSA_NODE_JWK: &str = r#"{"key_ops": ["sign"], "ext": true, "kty": "RSA", "n": "sO9ci8KaYv-N8u333heXeWplaHVD8pn52mOZwuSQPus7yrXgV8gymHhu3Q3kHTpeO3HkWlsmful9xBLoz_W1fnHQ8bBF0RBFGWs1ZWeNxbnHX6_xodH3fDgd8l4PxvAxUW1pHaDRD6Wjn03Qysr9Q9OppioExlOQbueZg7-iVpYf8KnHLL2Bg_YHZnzVuF8NcmXFoOBy2OPTkixJfF1Pzi01ZngLr45jaSoUgULKtUHDyxAJOhUrSaJUeW6mGO0xTUgIkZXBEC_Z2N0fEvv0E-RoBFrxjmqDGpVvex3eWloDup0XpWXy0vQ_0-D-8ngekffqohHKAfXmupdXrpLj7w", "e": "AQAB", "d": "EKO8x7AE0Ovzr4r4VTymvtZmCbgtgbKVWsJ52BL4CygYNsIlV7FjgLn4GHXmpBEJ16aoW7mtbyC09oGeFMtTcZFxSFQph2BzqdD5STtp4SnNjuQpt0GFzXrW5iTjxZ5vz5aYh3QeSnhrYN9H6X_EPbgO1lT79KLbNx2KGb0l8-UrvMUOyA0K5jE6jEgCE--IuBUPzhFWh9yn4A47N7S3eibSaJnKPZbQqPp_ntufK-VvUWtyvKZJbFVhsLOafEMBxwcVEXK-3z8wkawGCuZ4ds8c-6MeN9KX8k9IQc3GJRmAz-a6L9KaoHIRif3g_3DCdzSsran8Q0L2r7JqNX2vYQ", "p": "1vxorkh24U1YCE3oV7oxztMapoCGWh9AvnzPzLw-a3QOqwzZFPumZWvl3mcWyupWMnE22hrEa-K_e52glg49DK3wHgPokhACOVtKEN5QMvcfFJxcglOOJ88C29doI6bRbrEJT3HIRiP-Ft3VQgBcHHdghCvb2O1OJFvyAgC87Dk", "q": "0rCZyAREEQd0Zu24MrtnLIdLdWQlg892n0IFmLh7FJSsLrfQ9zobSuUSdD00Th8vcUcDvPMiTrPxhawmpq84IVNoXEjYZTgjccSv5K_RTTOa_tXk05_0Cq2L4TYU0jO6ZrxW6hJ3Dhxkz_0TZRyRuZx38s_DKsONyZ_6SyIAoWc", "dp": "oQRpbudNSo_AOHAJbfNBrNOF6WDnv4Ya2tDmXkQ7SAWjms9Do6ibRukaQInbk10R9DPBTnev19H7cp1rkhfV97Iq3oA053jgAY9zGNE5JgLan3hA_UeReBVe4cMi91jREWO9QmhJBOeePggl2ookcxmiCzxCK-YImcjXqFJfLVk", "dq": "akkGuv1T7RdKpGYFxyn86VyzN1w3BKCTIdInipx-EqrRlZvLQfzBKe4XeiYqDcLzpvyBKT-qLfPewmVO9kVsVnuCKRPifmVslAb6CK6dMon3BdmXXx7Q-NYFu64RoNzRiuQ2IE0CXE78mGP99cMMzIrfg9FFjnwqOe2HUYGsub8", "qi": "GdEuS65BTCeN3OoAkktu8f6la1V9WVmDggc_dGot07Shv3QGbBtae4zTrw-Y3EDMaqVhcjJdS1Ac88mFpxEB0zK8qtbyABOk3BS8qhc8Ri_kDxjMLh9emBwDmq00lDRdpC5F2TRx5fYa3ENSZ_gQyT4_u5fS9hk0_pqdPZeBTdo", "alg": "RS256"}"#;
const NODE_ECDH_P384: &str = "f0cc32dc4c17e538b09d35548b5e3820b06fb6d60f715f758edb3c14225b9d0b45a0c6940179e646e8e45ecd1a764234";

#[test]
fn digests_are_fips_180s() {
    each_mode(|e| {
        assert_eq!(
            json(e, "/digest"),
            j!({
                "sha1": "a9993e364706816aba3e25717850c26c9cd0d89d",
                "sha256": "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
                "sha384": "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7",
                "sha512": "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
                "unknown": "NotSupportedError",
                "notData": "TypeError (not a DOMException)",
                "isBuffer": true,
            })
        );
    });
}

#[test]
fn hmac_signs_as_rfc_4231_says_and_refuses_bad_keys() {
    each_mode(|e| {
        let found = json(e, "/hmac");
        assert_eq!(
            found["tc1"],
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
        );
        assert_eq!(found["tc1sha512"], "87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cdedaa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854");
        assert_eq!(
            found["tc2"],
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert_eq!(
            (&found["verify"], &found["tampered"], &found["short"]),
            (&j!(true), &j!(false), &j!(false))
        );
        assert_eq!(
            found["jwk"],
            j!({"kty": "oct", "k": "SmVmZQ", "alg": "HS256", "key_ops": ["sign", "verify"], "ext": true})
        );
        assert_eq!(found["raw"], "4a656665");
        assert_eq!(
            found["key"],
            j!(["secret", false, {"name": "HMAC", "hash": {"name": "SHA-256"}, "length": 160}, ["sign", "verify"], "[object CryptoKey]", true])
        );
        assert_eq!(
            found["gen"],
            j!([{"name": "HMAC", "hash": {"name": "SHA-384"}, "length": 1024}, 128, true])
        );
        for (case, name) in [
            ("nonExtractable", "InvalidAccessError"),
            ("nonExtractableJwk", "InvalidAccessError"),
            ("emptyKey", "DataError"),
            ("wrongLength", "DataError"),
            ("noUsages", "SyntaxError"),
            ("badUsage", "SyntaxError"),
            ("wrongAlg", "DataError"),
            ("noHash", "TypeError (not a DOMException)"),
            ("unknown", "NotSupportedError"),
            ("usageMismatch", "InvalidAccessError"),
            ("algMismatch", "InvalidAccessError"),
        ] {
            assert_eq!(found[case], name, "{case}");
        }
    });
}

#[test]
fn keys_cannot_be_forged_or_read() {
    each_mode(|e| {
        assert_eq!(
            json(e, "/forge"),
            j!({
                "fake": "TypeError (not a DOMException)",
                "plain": "TypeError (not a DOMException)",
                "exportFake": "TypeError (not a DOMException)",
                "getter": "TypeError",
                "constructed": "TypeError",
                "ownKeys": [],
                "json": "{}",
                "clone": "DataCloneError",
                "privateExport": "InvalidAccessError",
                "seen": [],
                "subtleCtor": "TypeError",
                "unbound": "TypeError (not a DOMException)",
                "same": true,
                "usageBypass": "InvalidAccessError",
                "hashKept": true,
            })
        );
    });
}

#[test]
fn ecdsa_interoperates_with_node() {
    each_mode(|e| {
        let found = json(e, "/ecdsa");
        for case in ["nodeSig", "mine", "spki", "pkcs8"] {
            assert_eq!(found[case], true, "{case}");
        }
        assert_eq!(
            (&found["tampered"], &found["wrongLength"]),
            (&j!(false), &j!(false))
        );
        assert_eq!(found["mineLength"], 64);
        // RFC 6979: the same key and message always give this signature
        // (and Node verified it).
        assert_eq!(found["mineHex"], "c6e45b5e9bef6884855c10bb548c0d2ec46146bc1093b76f2b865b23ec78719aa6705cf0ccac86ac329870ded202853f9a942c291c8c4baa6069f0f8289cac85");
        let mut jwk = j!({"key_ops": ["sign"], "ext": true, "kty": "EC", "x": "eiT8wz96ivrrtegkzuRvJyYdV6Fkq9tLATtFdNEs9No", "y": "6N-Ktx5GgxN7oouccj8SeWljgENyNxk0Yon3aNCyVCA", "crv": "P-256", "d": "WomAfWk4n0OP93cK_3p1zl0LTNvuZn3RyKz5YS2t4pY"});
        jwk["alg"] = j!("ES256");
        assert_eq!(found["pkcs8Jwk"], jwk);
        assert_eq!(found["jwkPub"]["y"], jwk["y"]);
        assert_eq!(found["jwkPub"].get("d"), None);
        assert_eq!(found["p384"], j!([96, 97, true]));
        assert_eq!(
            found["pairKeys"],
            j!(["public", "private", ["verify"], ["sign"], {"name": "ECDSA", "namedCurve": "P-384"}])
        );
        for (case, name) in [
            ("badPoint", "DataError"),
            ("badSpki", "DataError"),
            ("wrongCurve", "DataError"),
            ("p521", "NotSupportedError"),
            ("jwkMismatch", "DataError"),
            ("publicSigns", "InvalidAccessError"),
            ("privateVerifyUsage", "SyntaxError"),
        ] {
            assert_eq!(found[case], name, "{case}");
        }
    });
}

#[test]
fn ed25519_signs_as_rfc_8032_says() {
    each_mode(|e| {
        assert_eq!(
            json(e, "/ed25519"),
            j!({
                "x": "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
                "sig": "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
                "sig2": "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
                "verify": true,
                "other": false,
                "spki": "302a300506032b6570032100d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
                "pkcs8": true,
                "pair": true,
                "badLength": "DataError",
                "mismatch": "DataError",
            })
        );
    });
}

#[test]
fn aes_modes_match_node_and_refuse_tampering() {
    each_mode(|e| {
        let found = json(e, "/aes");
        assert_eq!(found["gcm"], NODE_GCM);
        assert_eq!(found["cbc"], NODE_CBC);
        assert_eq!(found["ctr"], NODE_CTR);
        assert_eq!(found["kw"], NODE_KW);
        assert_eq!(found["gcmBack"], "plain text");
        assert_eq!(found["cbcBack"], "plain text");
        assert_eq!(found["ctrBack"], "07".repeat(40));
        assert_eq!(found["gcmJwk"]["alg"], "A128GCM");
        assert_eq!(found["gcmJwk"]["k"], "AAECAwQFBgcICQoLDA0ODw");
        for case in ["unwrapped", "jwkRoundTrip"] {
            assert_eq!(found[case], true, "{case}");
        }
        assert_eq!(found["unwrappedExtractable"], false);
        assert_eq!(found["genLength"], j!({"name": "AES-GCM", "length": 256}));
        for (case, name) in [
            ("gcmTampered", "OperationError"),
            ("cbcBadPadding", "OperationError"),
            ("ctrTooLong", "OperationError"),
            ("kwTampered", "OperationError"),
            ("badKeyLength", "DataError"),
            ("badGenLength", "OperationError"),
            ("wrongUsage", "InvalidAccessError"),
            ("wrapNonExtractable", "InvalidAccessError"),
        ] {
            assert_eq!(found[case], name, "{case}");
        }
    });
}

#[test]
fn derivations_match_the_rfcs_and_node() {
    each_mode(|e| {
        let found = json(e, "/derive");
        // RFC 6070 (PBKDF2-HMAC-SHA1, 1, 2 and 4096 iterations).
        assert_eq!(
            found["pbkdf2"],
            j!([
                "0c60c80f961f0e71f3a9b524af6012062fe037a6",
                "ea6c014dc72d6f8ccd1ed92ace1d41f0d8de8957",
                "4b007901b765489abead49d926f721d065a429c1"
            ])
        );
        // RFC 5869, test case 1.
        assert_eq!(
            found["hkdf"],
            "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"
        );
        // RFC 7748, section 6.1.
        assert_eq!(
            found["x25519"],
            "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742"
        );
        assert_eq!(found["ecdh"], NODE_ECDH_P384);
        assert_eq!(found["ecdhShort"], "f0c0");
        assert_eq!(
            found["derivedKey"],
            j!(["secret", {"name": "AES-GCM", "length": 256}, false, ["encrypt"]])
        );
        for (case, name) in [
            ("hkdfTooLong", "OperationError"),
            ("ecdhTooLong", "OperationError"),
            ("curveMismatch", "InvalidAccessError"),
            ("smallOrder", "OperationError"),
            ("zeroIterations", "OperationError"),
            ("hugeIterations", "TypeError (not a DOMException)"),
            ("hugeLength", "OperationError"),
            ("extractable", "SyntaxError"),
            ("exportPbkdf2", "InvalidAccessError"),
        ] {
            assert_eq!(found[case], name, "{case}");
        }
    });
}

/// 2^32 - 1 PBKDF2 iterations would take hours: the loop stops at the
/// request's deadline, the worker answers the timeout and serves on.
#[test]
fn pbkdf2_stops_at_the_deadline() {
    stops_at_the_deadline("/pbkdf2-forever", 300, 1);
}

/// Runs `path` `times` times under a deadline of `millis`: each run ends in
/// a failure (the deadline's), all of them well before 5 s, and the worker
/// serves the next request; in both modes.
fn stops_at_the_deadline(path: &str, millis: u64, times: usize) {
    for isolation in [Isolation::Snapshot, Isolation::Worker] {
        let config = EngineConfig {
            isolation,
            timeout: common::deadline(millis),
            ..EngineConfig::default()
        };
        let mut e = common::engine(&[("hbf/server.js", SERVER)], config);
        let started = std::time::Instant::now();
        for _ in 0..times {
            let answer = e.handle(&common::get(path));
            assert!(
                answer.is_err() || answer.as_ref().is_ok_and(|r| r.status >= 500.0),
                "{isolation:?}"
            );
        }
        assert!(
            started.elapsed() < common::deadline(5000),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(
            json(&mut e, "/digest")["sha1"],
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
    }
}

#[test]
fn rsa_interoperates_with_node() {
    let node_jwk: serde_json::Value = serde_json::from_str(RSA_NODE_JWK).unwrap();
    each_mode(|e| {
        let found = json(e, "/rsa");
        for case in [
            "nodeSig",
            "nodeVerify",
            "jwkSig",
            "pkcs8",
            "spki",
            "nodePss",
            "minePss",
            "pssRandom",
            "wrapped",
        ] {
            assert_eq!(found[case], true, "{case}");
        }
        for case in ["tampered", "short", "wrongSalt"] {
            assert_eq!(found[case], false, "{case}");
        }
        let mut jwk = node_jwk.clone();
        jwk["key_ops"] = j!(["sign"]);
        assert_eq!(found["jwk"], jwk);
        assert_eq!(
            found["publicJwk"],
            j!({"kty": "RSA", "n": jwk["n"], "e": "AQAB", "alg": "RS256", "key_ops": ["verify"], "ext": true})
        );
        assert_eq!(
            found["algorithm"],
            j!(["RSASSA-PKCS1-v1_5", 2048, [1, 0, 1], {"name": "SHA-256"}, "private", "public"])
        );
        assert_eq!(found["nodeOaep"], "secret");
        assert_eq!(found["mineOaep"], "mine");
        assert_eq!(found["generated"], j!([1024, ["verify"], ["sign"], true]));
        for (case, name) in [
            ("wrongLabel", "OperationError"),
            ("tamperedOaep", "OperationError"),
            ("tooLong", "OperationError"),
            ("raw", "NotSupportedError"),
            ("badSpki", "DataError"),
            ("jwkWrongCrt", "DataError"),
            ("jwkWrongAlg", "DataError"),
            ("jwkNotBase64", "DataError"),
            ("smallModulus", "OperationError"),
            ("evenExponent", "OperationError"),
            ("noSalt", "TypeError (not a DOMException)"),
            ("publicSigns", "InvalidAccessError"),
            ("privateVerifyUsage", "SyntaxError"),
            ("privateExportSpki", "InvalidAccessError"),
        ] {
            assert_eq!(found[case], name, "{case}");
        }
    });
}

/// Generating a 4096-bit key can take seconds: its prime search stops at the
/// request's deadline, and the worker serves on.
#[test]
fn rsa_generation_stops_at_the_deadline() {
    stops_at_the_deadline("/rsa-forever", 50, 5);
}
