// crypto.subtle (W3C Web Cryptography API): SubtleCrypto and CryptoKey. The
// cryptography is native (src/host/crypto.rs, `native.cryptoOps`); this is the
// standard's glue: algorithm names, parameters, usages, formats and errors.
//
// A CryptoKey keeps its material (bytes, an ArrayBuffer or Uint8Array) in a
// private field: pod code cannot read it, and a CryptoKey cannot be made from
// a plain object (the constructor wants a token only this module has; every
// method checks the private field). Material is only ever handed to native
// functions, never to a JavaScript method (`slice`, `byteLength`, spread,
// destructuring, JSON.parse) that pod code could have replaced to see it.
// Every method is async, so every failure is a rejected promise.

export const make = (native, DOMException) => {
  const ops = native.cryptoOps;
  const U8 = Uint8Array;
  const DOM_NAMES = ['NotSupportedError', 'DataError', 'InvalidAccessError', 'OperationError', 'SyntaxError'];
  const dom = (message, name) => new DOMException(message, name);
  // Runs a native call; its named errors become DOMExceptions.
  const run = (thunk) => {
    try {
      return thunk();
    } catch (error) {
      if (error instanceof Error && has(DOM_NAMES, error.name)) throw dom(error.message, error.name);
      throw error;
    }
  };

  // Membership without Array.prototype.includes, which pod code may have
  // replaced to pass a usage check.
  const has = (list, item) => {
    for (let i = 0; i < list.length; i++) if (list[i] === item) return true;
    return false;
  };

  const HASHES = ['SHA-1', 'SHA-256', 'SHA-384', 'SHA-512'];
  const SECRET = ['HMAC', 'AES-GCM', 'AES-CBC', 'AES-CTR', 'AES-KW', 'PBKDF2', 'HKDF'];
  const CURVE_ALGS = ['ECDSA', 'ECDH', 'Ed25519', 'X25519'];
  const AES = ['AES-GCM', 'AES-CBC', 'AES-CTR', 'AES-KW'];
  const RSA = ['RSASSA-PKCS1-v1_5', 'RSA-PSS', 'RSA-OAEP'];
  const SUPPORTED = {
    digest: HASHES,
    sign: ['HMAC', 'ECDSA', 'Ed25519', 'RSASSA-PKCS1-v1_5', 'RSA-PSS'],
    verify: ['HMAC', 'ECDSA', 'Ed25519', 'RSASSA-PKCS1-v1_5', 'RSA-PSS'],
    encrypt: ['AES-GCM', 'AES-CBC', 'AES-CTR', 'RSA-OAEP'],
    decrypt: ['AES-GCM', 'AES-CBC', 'AES-CTR', 'RSA-OAEP'],
    generateKey: ['HMAC', ...AES, ...CURVE_ALGS, ...RSA],
    importKey: [...SECRET, ...CURVE_ALGS, ...RSA],
    deriveBits: ['PBKDF2', 'HKDF', 'ECDH', 'X25519'],
    wrapKey: ['AES-KW'],
    unwrapKey: ['AES-KW'],
    keyLength: ['HMAC', ...AES],
  };
  const CANONICAL = new Map([...HASHES, ...SECRET, ...CURVE_ALGS, ...RSA].map((n) => [n.toUpperCase(), n]));
  // What each kind of key may be used for.
  const USAGES = {
    HMAC: { secret: ['sign', 'verify'] },
    'AES-KW': { secret: ['wrapKey', 'unwrapKey'] },
    PBKDF2: { secret: ['deriveKey', 'deriveBits'] },
    HKDF: { secret: ['deriveKey', 'deriveBits'] },
    ECDSA: { private: ['sign'], public: ['verify'] },
    Ed25519: { private: ['sign'], public: ['verify'] },
    ECDH: { private: ['deriveKey', 'deriveBits'], public: [] },
    X25519: { private: ['deriveKey', 'deriveBits'], public: [] },
    'RSASSA-PKCS1-v1_5': { private: ['sign'], public: ['verify'] },
    'RSA-PSS': { private: ['sign'], public: ['verify'] },
    'RSA-OAEP': { private: ['decrypt', 'unwrapKey'], public: ['encrypt', 'wrapKey'] },
  };
  for (const name of ['AES-GCM', 'AES-CBC', 'AES-CTR']) {
    USAGES[name] = { secret: ['encrypt', 'decrypt', 'wrapKey', 'unwrapKey'] };
  }
  const BLOCK_BITS = { 'SHA-1': 512, 'SHA-256': 512, 'SHA-384': 1024, 'SHA-512': 1024 };
  const FORMATS = ['raw', 'spki', 'pkcs8', 'jwk'];
  const ALL_USAGES = ['encrypt', 'decrypt', 'sign', 'verify', 'deriveKey', 'deriveBits', 'wrapKey', 'unwrapKey'];

  // The algorithm, as the standard's "normalize an algorithm": a name (any
  // case) or an object with one; NotSupportedError if `op` has no such one.
  const normalize = (op, algorithm) => {
    const alg = typeof algorithm === 'string' ? { name: algorithm } : algorithm;
    if (alg === null || typeof alg !== 'object') {
      throw new TypeError('an algorithm is a name or an object with a name');
    }
    if (alg.name === undefined) throw new TypeError("the algorithm has no 'name'");
    const given = String(alg.name);
    const name = CANONICAL.get(given.toUpperCase());
    if (name === undefined || !has(SUPPORTED[op], name)) {
      throw dom(`${given} is not supported for ${op === 'keyLength' ? 'deriveKey' : op}`, 'NotSupportedError');
    }
    return { name, params: alg };
  };
  const hashOf = (alg) => {
    if (alg.params.hash === undefined) throw new TypeError(`${alg.name} needs a 'hash'`);
    return normalize('digest', alg.params.hash).name;
  };
  const isBuffer = (value) => value instanceof ArrayBuffer || ArrayBuffer.isView(value);
  const bufferSource = (value, what) => {
    if (!isBuffer(value)) throw new TypeError(`${what} must be an ArrayBuffer, a typed array or a DataView`);
    return value;
  };
  const member = (alg, key, what = `${alg.name}'s '${key}'`) => {
    const value = alg.params[key];
    if (value === undefined) throw new TypeError(`${alg.name} needs '${key}'`);
    return bufferSource(value, what);
  };
  const integer = (value, what, max) => {
    const n = Number(value);
    if (!Number.isFinite(n)) throw new TypeError(`${what} must be a number`);
    const i = Math.trunc(n);
    if (i < 0 || i > max) throw new TypeError(`${what} must be from 0 to ${max}`);
    return i;
  };

  // ---- CryptoKey -------------------------------------------------------------
  const TOKEN = Symbol('CryptoKey');
  let keys;
  class CryptoKey {
    #type;
    #extractable;
    #algorithm;
    #usages;
    #material;
    constructor(token, type, extractable, algorithm, usages, material) {
      if (token !== TOKEN) throw new TypeError('Illegal constructor');
      if (algorithm.hash) Object.freeze(algorithm.hash);
      this.#type = type;
      this.#extractable = extractable;
      this.#algorithm = Object.freeze(algorithm);
      this.#usages = Object.freeze(usages);
      this.#material = material;
    }
    get type() { return keys.check(this).#type; }
    get extractable() { return keys.check(this).#extractable; }
    get algorithm() { return keys.check(this).#algorithm; }
    get usages() { return keys.check(this).#usages; }
    static {
      keys = {
        check(key) {
          if (key === null || typeof key !== 'object' || !(#material in key)) {
            throw new TypeError('expected a CryptoKey');
          }
          return key;
        },
        material: (key) => key.#material,
        type: (key) => key.#type,
        extractable: (key) => key.#extractable,
        algorithm: (key) => key.#algorithm,
        usages: (key) => key.#usages,
      };
    }
  }
  Object.defineProperty(CryptoKey.prototype, Symbol.toStringTag, { value: 'CryptoKey', configurable: true });

  const usageList = (usages) => {
    if (usages === null || typeof usages !== 'object' || typeof usages[Symbol.iterator] !== 'function') {
      throw new TypeError('keyUsages must be a sequence of strings');
    }
    const list = [];
    for (const usage of usages) {
      const u = String(usage);
      if (!has(ALL_USAGES, u)) throw new TypeError(`${u} is not a key usage`);
      if (!has(list, u)) list.push(u);
    }
    return list;
  };
  // A new key, its usages checked against what its kind allows.
  const newKey = (type, extractable, algorithm, usages, material) => {
    const allowed = USAGES[algorithm.name][type];
    for (const usage of usages) {
      if (!has(allowed, usage)) throw dom(`a ${algorithm.name} ${type} key cannot be used to ${usage}`, 'SyntaxError');
    }
    if (type !== 'public' && usages.length === 0) {
      throw dom(`a ${type} key needs at least one usage`, 'SyntaxError');
    }
    return new CryptoKey(TOKEN, type, Boolean(extractable), algorithm, usages, material);
  };
  // The key, checked to be a CryptoKey of `alg`'s algorithm allowing `usage`.
  const usable = (key, alg, usage) => {
    keys.check(key);
    if (keys.algorithm(key).name !== alg.name) {
      throw dom(`the key is a ${keys.algorithm(key).name} key, not ${alg.name}`, 'InvalidAccessError');
    }
    if (!has(keys.usages(key), usage)) throw dom(`the key's usages do not include ${usage}`, 'InvalidAccessError');
    return key;
  };

  // ---- import ------------------------------------------------------------------
  const JWK_ALG = {
    HMAC: (hash) => `HS${hash === 'SHA-1' ? 1 : hash.slice(4)}`,
    ECDSA: (curve) => ({ 'P-256': 'ES256', 'P-384': 'ES384' })[curve],
    'RSASSA-PKCS1-v1_5': (hash) => `RS${hash === 'SHA-1' ? 1 : hash.slice(4)}`,
    'RSA-PSS': (hash) => `PS${hash === 'SHA-1' ? 1 : hash.slice(4)}`,
    'RSA-OAEP': (hash) => (hash === 'SHA-1' ? 'RSA-OAEP' : `RSA-OAEP-${hash.slice(4)}`),
  };
  const aesJwkAlg = (name, bits) => `A${bits}${name === 'AES-KW' ? 'KW' : name.slice(4)}`;
  const checkJwk = (jwk, kty, extractable, usages, use) => {
    if (jwk.kty !== kty) throw dom(`the JWK's kty must be ${kty}`, 'DataError');
    if (jwk.use !== undefined && usages.length > 0 && jwk.use !== use) {
      throw dom(`the JWK's use must be ${use}`, 'DataError');
    }
    if (jwk.key_ops !== undefined) {
      if (!Array.isArray(jwk.key_ops)) throw dom("the JWK's key_ops must be an array", 'DataError');
      for (const usage of usages) {
        if (!has(jwk.key_ops, usage)) throw dom(`the JWK's key_ops do not allow ${usage}`, 'DataError');
      }
    }
    if (jwk.ext === false && extractable) throw dom('the JWK is not extractable (ext: false)', 'DataError');
  };
  const importSecret = (format, data, alg, extractable, usages) => {
    const { name } = alg;
    let material;
    if (format === 'raw') material = run(() => ops.copy(data));
    else if (format === 'jwk' && name !== 'PBKDF2' && name !== 'HKDF') {
      checkJwk(data, 'oct', extractable, usages, name === 'HMAC' ? 'sig' : 'enc');
      if (typeof data.k !== 'string') throw dom("the JWK has no 'k'", 'DataError');
      material = run(() => ops.fromBase64Url(data.k));
    } else {
      throw dom(`${name} keys cannot be imported as ${format}`, 'NotSupportedError');
    }
    const bits = run(() => ops.size(material)) * 8;
    let algorithm;
    if (name === 'HMAC') {
      const hash = hashOf(alg);
      if (bits === 0) throw dom('an HMAC key cannot be empty', 'DataError');
      if (alg.params.length !== undefined && integer(alg.params.length, 'length', 2 ** 32) !== bits) {
        throw dom(`the key has ${bits} bits, not the ${alg.params.length} given as length`, 'DataError');
      }
      if (format === 'jwk' && data.alg !== undefined && data.alg !== JWK_ALG.HMAC(hash)) {
        throw dom(`the JWK's alg ${data.alg} is not ${JWK_ALG.HMAC(hash)}`, 'DataError');
      }
      algorithm = { name, hash: { name: hash }, length: bits };
    } else if (has(AES, name)) {
      if (bits !== 128 && bits !== 192 && bits !== 256) {
        throw dom(`an AES key is 128, 192 or 256 bits, not ${bits}`, 'DataError');
      }
      if (format === 'jwk' && data.alg !== undefined && data.alg !== aesJwkAlg(name, bits)) {
        throw dom(`the JWK's alg ${data.alg} is not ${aesJwkAlg(name, bits)}`, 'DataError');
      }
      algorithm = { name, length: bits };
    } else {
      if (extractable) throw dom(`${name} keys cannot be extractable`, 'SyntaxError');
      algorithm = { name };
    }
    return newKey('secret', extractable, algorithm, usages, material);
  };
  const curveOf = (alg) => {
    if (alg.name === 'Ed25519' || alg.name === 'X25519') return alg.name;
    const curve = alg.params.namedCurve;
    if (curve === undefined) throw new TypeError(`${alg.name} needs a 'namedCurve'`);
    if (curve !== 'P-256' && curve !== 'P-384') {
      throw dom(`the curve ${String(curve)} is not supported (P-256, P-384)`, 'NotSupportedError');
    }
    return curve;
  };
  const curveAlgorithm = (name, curve) => (name === curve ? { name } : { name, namedCurve: curve });
  const importCurve = (format, data, alg, extractable, usages) => {
    const curve = curveOf(alg);
    let type;
    if (format === 'jwk') {
      checkJwk(data, curve.startsWith('P-') ? 'EC' : 'OKP', extractable, usages, alg.name === 'ECDSA' || alg.name === 'Ed25519' ? 'sig' : 'enc');
      type = data.d === undefined ? 'public' : 'private';
      if (alg.name === 'ECDSA' && data.alg !== undefined && data.alg !== JWK_ALG.ECDSA(curve)) {
        throw dom(`the JWK's alg ${data.alg} is not ${JWK_ALG.ECDSA(curve)}`, 'DataError');
      }
      if (alg.name === 'Ed25519' && data.alg !== undefined && data.alg !== 'Ed25519' && data.alg !== 'EdDSA') {
        throw dom(`the JWK's alg ${data.alg} is not Ed25519`, 'DataError');
      }
    } else {
      type = format === 'pkcs8' ? 'private' : 'public';
    }
    const material = run(() => ops.curveImport(curve, format, data, type === 'private'));
    return newKey(type, extractable, curveAlgorithm(alg.name, curve), usages, material);
  };
  // An RSA key's algorithm: its name and hash, and the modulus length and
  // public exponent read from the key itself.
  const rsaAlgorithm = (name, hash, type, material) => {
    const shape = run(() => ops.rsaShape(type, material));
    return { name, modulusLength: shape[0], publicExponent: new U8(shape[1]), hash: { name: hash } };
  };
  const importRsa = (format, data, alg, extractable, usages) => {
    const hash = hashOf(alg);
    let type;
    if (format === 'jwk') {
      checkJwk(data, 'RSA', extractable, usages, alg.name === 'RSA-OAEP' ? 'enc' : 'sig');
      if (data.alg !== undefined && data.alg !== JWK_ALG[alg.name](hash)) {
        throw dom(`the JWK's alg ${data.alg} is not ${JWK_ALG[alg.name](hash)}`, 'DataError');
      }
      type = data.d === undefined ? 'public' : 'private';
    } else if (format === 'spki' || format === 'pkcs8') {
      type = format === 'pkcs8' ? 'private' : 'public';
    } else {
      throw dom(`${alg.name} keys cannot be imported as ${format}`, 'NotSupportedError');
    }
    const material = run(() => ops.rsaImport(format, data, type === 'private'));
    return newKey(type, extractable, rsaAlgorithm(alg.name, hash, type, material), usages, material);
  };
  const importAny = (format, data, alg, extractable, usages) => {
    if (has(SECRET, alg.name)) return importSecret(format, data, alg, extractable, usages);
    if (has(RSA, alg.name)) return importRsa(format, data, alg, extractable, usages);
    return importCurve(format, data, alg, extractable, usages);
  };
  const formatOf = (format) => {
    const f = String(format);
    if (!has(FORMATS, f)) throw new TypeError(`${f} is not a key format (raw, spki, pkcs8, jwk)`);
    return f;
  };

  // ---- export -------------------------------------------------------------------
  const exportAny = (format, key) => {
    keys.check(key);
    if (!keys.extractable(key)) throw dom('the key is not extractable', 'InvalidAccessError');
    const algorithm = keys.algorithm(key);
    const material = keys.material(key);
    const { name } = algorithm;
    let jwk;
    if (keys.type(key) === 'secret') {
      if (format === 'raw') return run(() => ops.copy(material));
      if (format !== 'jwk') throw dom(`${name} keys cannot be exported as ${format}`, 'NotSupportedError');
      jwk = { kty: 'oct', k: run(() => ops.toBase64Url(material)) };
      jwk.alg = name === 'HMAC' ? JWK_ALG.HMAC(algorithm.hash.name) : aesJwkAlg(name, algorithm.length);
    } else if (has(RSA, name)) {
      const result = run(() => ops.rsaExport(format, keys.type(key), material));
      if (format !== 'jwk') return result;
      jwk = { kty: 'RSA' };
      for (const member of ['n', 'e', 'd', 'p', 'q', 'dp', 'dq', 'qi']) {
        if (result[member] !== undefined) jwk[member] = result[member];
      }
      jwk.alg = JWK_ALG[name](algorithm.hash.name);
    } else {
      const curve = algorithm.namedCurve ?? name;
      const result = run(() => ops.curveExport(curve, format, keys.type(key), material));
      if (format !== 'jwk') return result;
      jwk = { kty: result.kty, crv: result.crv, x: result.x };
      if (result.y !== undefined) jwk.y = result.y;
      if (result.d !== undefined) jwk.d = result.d;
      if (name === 'ECDSA') jwk.alg = JWK_ALG.ECDSA(curve);
    }
    jwk.key_ops = [...keys.usages(key)];
    jwk.ext = true;
    return jwk;
  };

  // ---- generate -------------------------------------------------------------------
  const hmacLength = (alg, hash) => {
    if (alg.params.length === undefined) return BLOCK_BITS[hash];
    const bits = integer(alg.params.length, 'length', 2 ** 19);
    if (bits === 0 || bits % 8 !== 0) throw dom('an HMAC key length is a positive multiple of 8 bits', 'OperationError');
    return bits;
  };
  const aesLength = (alg) => {
    const bits = alg.params.length;
    if (bits !== 128 && bits !== 192 && bits !== 256) {
      throw dom(`an AES key length is 128, 192 or 256, not ${String(bits)}`, 'OperationError');
    }
    return bits;
  };
  const randomBytes = (n) => {
    // native.randomBytes makes at most 64 KiB at once.
    if (n > 65536) throw dom('the key is too long', 'OperationError');
    return native.randomBytes(n);
  };

  // ---- the operations ---------------------------------------------------------------
  const signOrVerify = (alg, key, data, signature) => {
    const material = keys.material(key);
    if (has(RSA, alg.name)) {
      const hash = keys.algorithm(key).hash.name;
      let salt = 0;
      if (alg.name === 'RSA-PSS') {
        if (alg.params.saltLength === undefined) throw new TypeError("RSA-PSS needs 'saltLength'");
        salt = integer(alg.params.saltLength, 'saltLength', 2 ** 32 - 1);
      }
      return signature === undefined
        ? run(() => ops.rsaSign(alg.name, hash, material, data, salt))
        : run(() => ops.rsaVerify(alg.name, hash, material, data, signature, salt));
    }
    if (alg.name === 'HMAC') {
      const hash = keys.algorithm(key).hash.name;
      return signature === undefined
        ? run(() => ops.hmacSign(hash, material, data))
        : run(() => ops.hmacVerify(hash, material, data, signature));
    }
    const curve = keys.algorithm(key).namedCurve ?? alg.name;
    const hash = alg.name === 'ECDSA' ? hashOf(alg) : '';
    return signature === undefined
      ? run(() => ops.curveSign(curve, hash, material, data))
      : run(() => ops.curveVerify(curve, hash, material, data, signature));
  };
  const crypt = (encrypt, alg, key, data) => {
    const material = keys.material(key);
    switch (alg.name) {
      case 'AES-GCM': {
        const iv = member(alg, 'iv');
        const aad = alg.params.additionalData === undefined ? new Uint8Array(0) : member(alg, 'additionalData');
        const tag = alg.params.tagLength === undefined ? 128 : integer(alg.params.tagLength, 'tagLength', 255);
        if (!has([32, 64, 96, 104, 112, 120, 128], tag)) throw dom(`${tag} is not an AES-GCM tag length`, 'OperationError');
        return run(() => ops.aesGcm(encrypt, material, iv, aad, tag, data));
      }
      case 'AES-CBC':
        return run(() => ops.aesCbc(encrypt, material, member(alg, 'iv'), data));
      case 'RSA-OAEP': {
        const label = alg.params.label === undefined ? new U8(0) : member(alg, 'label');
        return run(() => ops.rsaOaep(encrypt, keys.algorithm(key).hash.name, material, label, data));
      }
      case 'AES-CTR': {
        const counter = member(alg, 'counter');
        if (alg.params.length === undefined) throw new TypeError("AES-CTR needs 'length'");
        const length = integer(alg.params.length, 'length', 255);
        return run(() => ops.aesCtr(material, counter, length, data));
      }
      default:
        return run(() => ops.aesKw(encrypt, material, data));
    }
  };
  const deriveBitsOf = (alg, key, length) => {
    const material = keys.material(key);
    switch (alg.name) {
      case 'PBKDF2':
      case 'HKDF': {
        if (length === null || length === undefined) throw dom(`${alg.name} needs a length`, 'OperationError');
        const bits = integer(length, 'length', 2 ** 32 - 1);
        const hash = hashOf(alg);
        const salt = member(alg, 'salt');
        if (alg.name === 'HKDF') return run(() => ops.hkdf(hash, material, salt, member(alg, 'info'), bits));
        if (alg.params.iterations === undefined) throw new TypeError("PBKDF2 needs 'iterations'");
        const iterations = integer(alg.params.iterations, 'iterations', 2 ** 32 - 1);
        if (iterations === 0) throw dom('PBKDF2 needs at least one iteration', 'OperationError');
        return run(() => ops.pbkdf2(hash, material, salt, iterations, bits));
      }
      default: {
        const other = alg.params.public;
        keys.check(other);
        if (keys.type(other) !== 'public') throw dom("'public' must be a public key", 'InvalidAccessError');
        const mine = keys.algorithm(key);
        const theirs = keys.algorithm(other);
        if (theirs.name !== mine.name || theirs.namedCurve !== mine.namedCurve) {
          throw dom("'public' is not a key of the same algorithm and curve", 'InvalidAccessError');
        }
        const bits = length === null || length === undefined ? null : integer(length, 'length', 2 ** 32 - 1);
        const curve = mine.namedCurve ?? mine.name;
        return run(() => ops.curveAgree(curve, material, keys.material(other), bits));
      }
    }
  };
  const keyLength = (alg) => {
    if (alg.name === 'HMAC') return hmacLength(alg, hashOf(alg));
    return aesLength(alg);
  };

  // AES-KW wraps through wrapKey's algorithms; the others through encrypt's.
  const isKw = (algorithm) => {
    const name = typeof algorithm === 'string' ? algorithm : algorithm?.name;
    return name !== undefined && String(name).toUpperCase() === 'AES-KW';
  };

  const SUBTLE = Symbol('SubtleCrypto');
  let subtle;
  const self = (that) => {
    if (that !== subtle) throw new TypeError('Illegal invocation');
  };
  class SubtleCrypto {
    constructor(token) {
      if (token !== SUBTLE) throw new TypeError('Illegal constructor');
    }
    async digest(algorithm, data) {
      self(this);
      const alg = normalize('digest', algorithm);
      return run(() => ops.digest(alg.name, bufferSource(data, 'data')));
    }
    async generateKey(algorithm, extractable, keyUsages) {
      self(this);
      const alg = normalize('generateKey', algorithm);
      const usages = usageList(keyUsages);
      if (alg.name === 'HMAC') {
        const hash = hashOf(alg);
        const bits = hmacLength(alg, hash);
        return newKey('secret', extractable, { name: 'HMAC', hash: { name: hash }, length: bits }, usages, randomBytes(bits / 8));
      }
      if (has(AES, alg.name)) {
        const bits = aesLength(alg);
        return newKey('secret', extractable, { name: alg.name, length: bits }, usages, randomBytes(bits / 8));
      }
      if (has(RSA, alg.name)) {
        const hash = hashOf(alg);
        if (alg.params.modulusLength === undefined) throw new TypeError(`${alg.name} needs 'modulusLength'`);
        const bits = integer(alg.params.modulusLength, 'modulusLength', 2 ** 32 - 1);
        const exponent = alg.params.publicExponent;
        if (!(exponent instanceof U8)) throw new TypeError(`${alg.name}'s 'publicExponent' must be a Uint8Array`);
        const material = run(() => ops.rsaGenerate(bits, exponent));
        const publicMaterial = run(() => ops.rsaPublic(material));
        const { private: privateUses, public: publicUses } = USAGES[alg.name];
        const privateKey = newKey('private', extractable, rsaAlgorithm(alg.name, hash, 'private', material), usages.filter((u) => has(privateUses, u) || !has(publicUses, u)), material);
        const publicKey = newKey('public', true, rsaAlgorithm(alg.name, hash, 'public', publicMaterial), usages.filter((u) => has(publicUses, u)), publicMaterial);
        return { publicKey, privateKey };
      }
      const curve = curveOf(alg);
      const algorithm2 = curveAlgorithm(alg.name, curve);
      const { private: privateUses, public: publicUses } = USAGES[alg.name];
      const material = run(() => ops.curveGenerate(curve));
      const privateKey = newKey('private', extractable, algorithm2, usages.filter((u) => has(privateUses, u) || !has(publicUses, u)), material);
      const publicKey = newKey('public', true, { ...algorithm2 }, usages.filter((u) => has(publicUses, u)), run(() => ops.curvePublic(curve, material)));
      return { publicKey, privateKey };
    }
    async importKey(format, keyData, algorithm, extractable, keyUsages) {
      self(this);
      const f = formatOf(format);
      if (f === 'jwk' ? keyData === null || typeof keyData !== 'object' || isBuffer(keyData) : !isBuffer(keyData)) {
        throw new TypeError(f === 'jwk' ? 'a JWK is an object' : 'the key data must be an ArrayBuffer, a typed array or a DataView');
      }
      const alg = normalize('importKey', algorithm);
      return importAny(f, keyData, alg, extractable, usageList(keyUsages));
    }
    async exportKey(format, key) {
      self(this);
      return exportAny(formatOf(format), key);
    }
    async sign(algorithm, key, data) {
      self(this);
      const alg = normalize('sign', algorithm);
      bufferSource(data, 'data');
      return signOrVerify(alg, usable(key, alg, 'sign'), data, undefined);
    }
    async verify(algorithm, key, signature, data) {
      self(this);
      const alg = normalize('verify', algorithm);
      bufferSource(signature, 'signature');
      bufferSource(data, 'data');
      return signOrVerify(alg, usable(key, alg, 'verify'), data, signature);
    }
    async encrypt(algorithm, key, data) {
      self(this);
      const alg = normalize('encrypt', algorithm);
      bufferSource(data, 'data');
      return crypt(true, alg, usable(key, alg, 'encrypt'), data);
    }
    async decrypt(algorithm, key, data) {
      self(this);
      const alg = normalize('decrypt', algorithm);
      bufferSource(data, 'data');
      return crypt(false, alg, usable(key, alg, 'decrypt'), data);
    }
    async deriveBits(algorithm, baseKey, length = null) {
      self(this);
      const alg = normalize('deriveBits', algorithm);
      return deriveBitsOf(alg, usable(baseKey, alg, 'deriveBits'), length);
    }
    async deriveKey(algorithm, baseKey, derivedKeyType, extractable, keyUsages) {
      self(this);
      const alg = normalize('deriveBits', algorithm);
      const type = normalize('importKey', derivedKeyType);
      const length = keyLength(normalize('keyLength', derivedKeyType));
      const usages = usageList(keyUsages);
      const bits = deriveBitsOf(alg, usable(baseKey, alg, 'deriveKey'), length);
      return importSecret('raw', bits, type, extractable, usages);
    }
    async wrapKey(format, key, wrappingKey, wrapAlgorithm) {
      self(this);
      const f = formatOf(format);
      const alg = normalize(isKw(wrapAlgorithm) ? 'wrapKey' : 'encrypt', wrapAlgorithm);
      usable(wrappingKey, alg, 'wrapKey');
      const exported = exportAny(f, key);
      const bytes = f === 'jwk' ? native.utf8Encode(JSON.stringify(exported)) : exported;
      return crypt(true, alg, wrappingKey, bytes);
    }
    async unwrapKey(format, wrappedKey, unwrappingKey, unwrapAlgorithm, unwrappedKeyAlgorithm, extractable, keyUsages) {
      self(this);
      const f = formatOf(format);
      const alg = normalize(isKw(unwrapAlgorithm) ? 'unwrapKey' : 'decrypt', unwrapAlgorithm);
      const keyAlg = normalize('importKey', unwrappedKeyAlgorithm);
      const usages = usageList(keyUsages);
      bufferSource(wrappedKey, 'wrappedKey');
      const bytes = crypt(false, alg, usable(unwrappingKey, alg, 'unwrapKey'), wrappedKey);
      const data = f === 'jwk' ? run(() => ops.parseJson(bytes)) : bytes;
      if (f === 'jwk' && (data === null || typeof data !== 'object')) throw dom('the unwrapped key is not a JWK', 'DataError');
      return importAny(f, data, keyAlg, extractable, usages);
    }
  }
  subtle = new SubtleCrypto(SUBTLE);
  return { SubtleCrypto, CryptoKey, subtle };
};
