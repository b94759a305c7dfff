// Web APIs for fetch-style handlers: Headers, Request, Response, URL,
// URLSearchParams, TextEncoder, TextDecoder. Loaded by the prelude on first use;
// `make(native)` receives the native UTF-8 codec.
//
// URL implements the parts of the WHATWG URL standard that server code uses:
// absolute URLs with a scheme, optional userinfo, host, port, path, query and
// fragment, relative references against a base, percent-encoding of the path and
// query, and the searchParams view.

export const make = (native) => {
  const utf8 = (s) => native.utf8Encode(String(s));
  const fromUtf8 = (bytes, fatal = false) => native.utf8Decode(bytes, fatal);

  const toBytes = (body) => {
    if (body === undefined || body === null) return null;
    if (body instanceof Uint8Array) return body;
    if (body instanceof ArrayBuffer) return new Uint8Array(body);
    if (ArrayBuffer.isView(body)) return new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
    if (body instanceof URLSearchParams) return utf8(body.toString());
    return utf8(String(body));
  };

  const normalizeName = (name) => {
    const n = String(name).toLowerCase();
    if (!/^[!#$%&'*+\-.^_`|~0-9a-z]+$/.test(n)) throw new TypeError(`invalid header name: ${name}`);
    return n;
  };
  const normalizeValue = (value) => String(value).replace(/^[\t\n\r ]+|[\t\n\r ]+$/g, '');

  class Headers {
    #map = new Map(); // lower-case name -> [values]
    constructor(init) {
      if (init instanceof Headers) init.forEach((v, k) => this.append(k, v));
      else if (Array.isArray(init) || (init && typeof init[Symbol.iterator] === 'function')) {
        for (const pair of init) {
          if (pair.length !== 2) throw new TypeError('each header must be a [name, value] pair');
          this.append(pair[0], pair[1]);
        }
      } else if (init && typeof init === 'object') {
        for (const key of Object.keys(init)) this.append(key, init[key]);
      }
    }
    append(name, value) {
      const key = normalizeName(name);
      const list = this.#map.get(key);
      if (list) list.push(normalizeValue(value));
      else this.#map.set(key, [normalizeValue(value)]);
    }
    set(name, value) { this.#map.set(normalizeName(name), [normalizeValue(value)]); }
    get(name) {
      const list = this.#map.get(normalizeName(name));
      return list ? list.join(', ') : null;
    }
    getSetCookie() { return [...(this.#map.get('set-cookie') ?? [])]; }
    has(name) { return this.#map.has(normalizeName(name)); }
    delete(name) { this.#map.delete(normalizeName(name)); }
    forEach(fn, thisArg) { for (const [k, v] of this) fn.call(thisArg, v, k, this); }
    *entries() {
      for (const key of [...this.#map.keys()].sort()) {
        if (key === 'set-cookie') for (const v of this.#map.get(key)) yield [key, v];
        else yield [key, this.#map.get(key).join(', ')];
      }
    }
    *keys() { for (const [k] of this.entries()) yield k; }
    *values() { for (const [, v] of this.entries()) yield v; }
    [Symbol.iterator]() { return this.entries(); }
    get [Symbol.toStringTag]() { return 'Headers'; }
  }

  const encodeQuery = (s) =>
    encodeURIComponent(s).replace(/%20/g, '+').replace(/[!'()~]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  const decodeQuery = (s) => {
    const t = s.replace(/\+/g, ' ');
    try {
      return decodeURIComponent(t);
    } catch {
      return t.replace(/%([0-9a-fA-F]{2})/g, (m, h) => String.fromCharCode(parseInt(h, 16)));
    }
  };

  class URLSearchParams {
    #list = [];
    #onChange = null;
    constructor(init = '') {
      if (typeof init === 'string') this.#parse(init);
      else if (init instanceof URLSearchParams) this.#list = init.#list.map(([k, v]) => [k, v]);
      else if (Array.isArray(init) || (init && typeof init[Symbol.iterator] === 'function')) {
        for (const [k, v] of init) this.#list.push([String(k), String(v)]);
      } else if (init && typeof init === 'object') {
        for (const k of Object.keys(init)) this.#list.push([k, String(init[k])]);
      }
    }
    #parse(text) {
      this.#list = [];
      const s = text.startsWith('?') ? text.slice(1) : text;
      if (s === '') return;
      for (const part of s.split('&')) {
        if (part === '') continue;
        const eq = part.indexOf('=');
        const k = eq < 0 ? part : part.slice(0, eq);
        const v = eq < 0 ? '' : part.slice(eq + 1);
        this.#list.push([decodeQuery(k), decodeQuery(v)]);
      }
    }
    static _bind(params, text, onChange) {
      params.#parse(text);
      params.#onChange = onChange;
      return params;
    }
    #changed() { if (this.#onChange) this.#onChange(this.toString()); }
    get size() { return this.#list.length; }
    append(k, v) { this.#list.push([String(k), String(v)]); this.#changed(); }
    delete(k) { this.#list = this.#list.filter(([n]) => n !== String(k)); this.#changed(); }
    get(k) { const f = this.#list.find(([n]) => n === String(k)); return f ? f[1] : null; }
    getAll(k) { return this.#list.filter(([n]) => n === String(k)).map(([, v]) => v); }
    has(k) { return this.#list.some(([n]) => n === String(k)); }
    set(k, v) {
      const key = String(k);
      const i = this.#list.findIndex(([n]) => n === key);
      if (i < 0) this.#list.push([key, String(v)]);
      else {
        this.#list[i] = [key, String(v)];
        this.#list = this.#list.filter(([n], j) => n !== key || j === i);
      }
      this.#changed();
    }
    sort() { this.#list.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)); this.#changed(); }
    forEach(fn, thisArg) { for (const [k, v] of this.#list) fn.call(thisArg, v, k, this); }
    *entries() { yield* this.#list.map(([k, v]) => [k, v]); }
    *keys() { for (const [k] of this.#list) yield k; }
    *values() { for (const [, v] of this.#list) yield v; }
    [Symbol.iterator]() { return this.entries(); }
    toString() { return this.#list.map(([k, v]) => `${encodeQuery(k)}=${encodeQuery(v)}`).join('&'); }
    get [Symbol.toStringTag]() { return 'URLSearchParams'; }
  }

  const DEFAULT_PORTS = { 'http:': '80', 'https:': '443', 'ws:': '80', 'wss:': '443', 'ftp:': '21' };
  const SPECIAL = new Set(Object.keys(DEFAULT_PORTS).concat(['file:']));
  const encodePath = (s) => s.replace(/[^A-Za-z0-9\-._~!$&'()*+,;=:@/%]/g, (c) => encodeURIComponent(c));
  const encodeQueryPart = (s) => s.replace(/[^A-Za-z0-9\-._~!$&'()*+,;=:@/?%]/g, (c) => encodeURIComponent(c));
  const normalizePath = (path) => {
    const out = [];
    const segments = path.split('/');
    for (let i = 0; i < segments.length; i++) {
      const seg = segments[i];
      if (seg === '..' || seg.toLowerCase() === '%2e%2e') {
        if (out.length > 1) out.pop();
        if (i === segments.length - 1) out.push('');
      } else if (seg === '.' || seg.toLowerCase() === '%2e') {
        if (i === segments.length - 1) out.push('');
      } else out.push(seg);
    }
    const joined = out.join('/');
    return joined.startsWith('/') ? joined : `/${joined}`;
  };
  const ABSOLUTE = /^([a-zA-Z][a-zA-Z0-9+\-.]*):(.*)$/s;

  class URL {
    #protocol = '';
    #username = '';
    #password = '';
    #hostname = '';
    #port = '';
    #pathname = '/';
    #search = '';
    #hash = '';
    #searchParams = null;

    constructor(input, base) {
      const text = String(input).replace(/^[\u0000-\u0020]+|[\u0000-\u0020]+$/g, '').replace(/[\t\n\r]/g, '');
      const m = ABSOLUTE.exec(text);
      if (m) this.#parseAbsolute(m[1].toLowerCase() + ':', m[2]);
      else {
        if (base === undefined) throw new TypeError(`Invalid URL: ${input}`);
        const b = base instanceof URL ? base : new URL(base);
        this.#resolve(text, b);
      }
    }

    #parseAbsolute(protocol, rest) {
      this.#protocol = protocol;
      if (!SPECIAL.has(protocol) && !rest.startsWith('//')) {
        // An opaque URL (mailto:, data:): keep the path as it is.
        this.#splitTail(rest, false);
        return;
      }
      rest = rest.replace(/\\/g, '/').replace(/^\/*/, '');
      const end = rest.search(/[/?#]/);
      const authority = end < 0 ? rest : rest.slice(0, end);
      this.#setAuthority(authority);
      this.#splitTail(end < 0 ? '' : rest.slice(end), true);
    }

    #setAuthority(authority) {
      const at = authority.lastIndexOf('@');
      if (at >= 0) {
        const userinfo = authority.slice(0, at);
        const colon = userinfo.indexOf(':');
        this.#username = colon < 0 ? userinfo : userinfo.slice(0, colon);
        this.#password = colon < 0 ? '' : userinfo.slice(colon + 1);
        authority = authority.slice(at + 1);
      }
      let host = authority;
      let port = '';
      const portMatch = /^(.*?)(?::(\d*))?$/.exec(authority);
      if (portMatch && !authority.endsWith(']')) {
        host = portMatch[1];
        port = portMatch[2] ?? '';
      }
      if (host === '' && SPECIAL.has(this.#protocol) && this.#protocol !== 'file:') {
        throw new TypeError('Invalid URL: empty host');
      }
      if (/[\s<>^|%]/.test(host)) throw new TypeError(`Invalid URL: bad host ${host}`);
      if (port !== '' && Number(port) > 65535) throw new TypeError(`Invalid URL: bad port ${port}`);
      this.#hostname = host.toLowerCase();
      this.#port = port === DEFAULT_PORTS[this.#protocol] ? '' : port.replace(/^0+(?=\d)/, '');
    }

    #splitTail(tail, hierarchical) {
      const hashAt = tail.indexOf('#');
      if (hashAt >= 0) {
        this.#hash = hashAt === tail.length - 1 ? '' : `#${encodeQueryPart(tail.slice(hashAt + 1))}`;
        tail = tail.slice(0, hashAt);
      }
      const queryAt = tail.indexOf('?');
      if (queryAt >= 0) {
        this.#search = queryAt === tail.length - 1 ? '' : encodeQueryPart(tail.slice(queryAt));
        tail = tail.slice(0, queryAt);
      }
      this.#pathname = hierarchical ? normalizePath(encodePath(tail)) : tail;
    }

    #resolve(ref, base) {
      this.#protocol = base.protocol;
      if (ref.startsWith('//')) {
        this.#parseAbsolute(base.protocol, ref);
        return;
      }
      this.#username = base.username;
      this.#password = base.password;
      this.#hostname = base.hostname;
      this.#port = base.port;
      if (ref === '') {
        this.#pathname = base.pathname;
        this.#search = base.search;
        return;
      }
      if (ref.startsWith('#')) {
        this.#pathname = base.pathname;
        this.#search = base.search;
        this.#splitTail(ref, true);
        this.#pathname = base.pathname;
        return;
      }
      if (ref.startsWith('?')) {
        this.#splitTail(ref, true);
        this.#pathname = base.pathname;
        return;
      }
      if (ref.startsWith('/')) {
        this.#splitTail(ref, true);
        return;
      }
      const dir = base.pathname.slice(0, base.pathname.lastIndexOf('/') + 1);
      this.#splitTail(dir + ref, true);
    }

    get protocol() { return this.#protocol; }
    set protocol(v) { const p = String(v).replace(/:?$/, ':').toLowerCase(); if (/^[a-z][a-z0-9+\-.]*:$/.test(p)) this.#protocol = p; }
    get username() { return this.#username; }
    set username(v) { this.#username = encodeURIComponent(String(v)); }
    get password() { return this.#password; }
    set password(v) { this.#password = encodeURIComponent(String(v)); }
    get hostname() { return this.#hostname; }
    set hostname(v) { this.#hostname = String(v).toLowerCase(); }
    get port() { return this.#port; }
    set port(v) {
      const p = String(v);
      if (p === '') this.#port = '';
      else if (/^\d+$/.test(p) && Number(p) <= 65535) this.#port = p === DEFAULT_PORTS[this.#protocol] ? '' : String(Number(p));
    }
    get host() { return this.#port ? `${this.#hostname}:${this.#port}` : this.#hostname; }
    set host(v) { this.#setAuthority(String(v)); }
    get origin() { return SPECIAL.has(this.#protocol) && this.#protocol !== 'file:' ? `${this.#protocol}//${this.host}` : 'null'; }
    get pathname() { return this.#pathname; }
    set pathname(v) { this.#pathname = normalizePath(encodePath(String(v))); }
    get search() { return this.#search; }
    set search(v) {
      const s = String(v);
      this.#search = s === '' || s === '?' ? '' : encodeQueryPart(s.startsWith('?') ? s : `?${s}`);
      if (this.#searchParams) URLSearchParams._bind(this.#searchParams, this.#search, (q) => { this.#search = q ? `?${q}` : ''; });
    }
    get searchParams() {
      if (!this.#searchParams) {
        this.#searchParams = URLSearchParams._bind(new URLSearchParams(), this.#search, (q) => {
          this.#search = q ? `?${q}` : '';
        });
      }
      return this.#searchParams;
    }
    get hash() { return this.#hash; }
    set hash(v) { const s = String(v).replace(/^#/, ''); this.#hash = s === '' ? '' : `#${encodeQueryPart(s)}`; }
    get href() {
      const hierarchical = SPECIAL.has(this.#protocol) || this.#hostname !== '';
      if (!hierarchical) return `${this.#protocol}${this.#pathname}${this.#search}${this.#hash}`;
      const userinfo = this.#username || this.#password
        ? `${this.#username}${this.#password ? `:${this.#password}` : ''}@`
        : '';
      return `${this.#protocol}//${userinfo}${this.host}${this.#pathname}${this.#search}${this.#hash}`;
    }
    set href(v) { this.#copy(new URL(v)); }
    #copy(u) {
      this.#protocol = u.protocol; this.#username = u.username; this.#password = u.password;
      this.#hostname = u.hostname; this.#port = u.port; this.#pathname = u.pathname;
      this.#search = u.search; this.#hash = u.hash; this.#searchParams = null;
    }
    toString() { return this.href; }
    toJSON() { return this.href; }
    static canParse(input, base) { try { new URL(input, base); return true; } catch { return false; } }
    get [Symbol.toStringTag]() { return 'URL'; }
  }

  class TextEncoder {
    get encoding() { return 'utf-8'; }
    encode(input = '') { return utf8(input); }
    encodeInto(input, dest) {
      const bytes = utf8(input);
      const n = Math.min(bytes.length, dest.length);
      dest.set(bytes.subarray(0, n));
      return { read: String(input).length, written: n };
    }
  }

  class TextDecoder {
    #fatal;
    constructor(label = 'utf-8', options = {}) {
      const l = String(label).toLowerCase();
      if (l !== 'utf-8' && l !== 'utf8' && l !== 'unicode-1-1-utf-8') {
        throw new RangeError(`TextDecoder: unsupported encoding ${label} (only utf-8)`);
      }
      this.#fatal = Boolean(options.fatal);
    }
    get encoding() { return 'utf-8'; }
    get fatal() { return this.#fatal; }
    decode(input) {
      if (input === undefined) return '';
      const bytes = toBytes(input);
      let start = 0;
      if (bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) start = 3;
      return fromUtf8(start ? bytes.subarray(start) : bytes, this.#fatal);
    }
  }

  // The body shared by Request and Response: bytes (or null), read once.
  const bodyOf = new WeakMap();
  const usedOf = new WeakSet();
  const takeBody = (self) => {
    if (usedOf.has(self)) return Promise.reject(new TypeError('body has already been read'));
    usedOf.add(self);
    return Promise.resolve(bodyOf.get(self) ?? new Uint8Array(0));
  };
  const Body = (Base) =>
    class extends Base {
      get bodyUsed() { return usedOf.has(this); }
      get body() { return bodyOf.get(this) ?? null; }
      async bytes() { return takeBody(this); }
      async arrayBuffer() {
        const b = await takeBody(this);
        return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength);
      }
      async text() { return fromUtf8(await takeBody(this)); }
      async json() { return JSON.parse(await this.text()); }
    };

  const contentTypeFor = (body) => {
    if (typeof body === 'string') return 'text/plain;charset=UTF-8';
    if (body instanceof URLSearchParams) return 'application/x-www-form-urlencoded;charset=UTF-8';
    return null;
  };

  class Request extends Body(Object) {
    #url;
    #method;
    #headers;
    constructor(input, init = {}) {
      super();
      const from = input instanceof Request ? input : null;
      this.#url = new URL(from ? from.url : String(input)).href;
      const method = String(init.method ?? from?.method ?? 'GET').toUpperCase();
      if (!/^[!#$%&'*+\-.^_`|~0-9A-Z]+$/.test(method)) throw new TypeError(`invalid method: ${method}`);
      this.#method = method;
      this.#headers = new Headers(init.headers ?? from?.headers);
      const body = init.body !== undefined ? init.body : from ? bodyOf.get(from) : null;
      if (body !== null && body !== undefined && (method === 'GET' || method === 'HEAD')) {
        throw new TypeError('a GET or HEAD request cannot have a body');
      }
      const type = contentTypeFor(body);
      if (type && !this.#headers.has('content-type')) this.#headers.set('content-type', type);
      bodyOf.set(this, toBytes(body));
    }
    get url() { return this.#url; }
    get method() { return this.#method; }
    get headers() { return this.#headers; }
    clone() { return new Request(this); }
    get [Symbol.toStringTag]() { return 'Request'; }
  }

  // WebIDL's `unsigned short` (the type of a status in the Fetch standard):
  // ToNumber, then NaN and infinities are 0, the rest truncated modulo 2^16.
  const unsignedShort = (value) => {
    const n = Number(value);
    if (!Number.isFinite(n)) return 0;
    const m = Math.trunc(n) % 65536;
    return m < 0 ? m + 65536 : m + 0;
  };

  const REASONS = { 200: 'OK', 201: 'Created', 204: 'No Content', 301: 'Moved Permanently', 302: 'Found', 303: 'See Other', 304: 'Not Modified', 307: 'Temporary Redirect', 308: 'Permanent Redirect', 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 500: 'Internal Server Error' };

  class Response extends Body(Object) {
    #status;
    #statusText;
    #headers;
    constructor(body = null, init = {}) {
      super();
      // A dictionary member: only `undefined` means the default.
      const status = init.status === undefined ? 200 : unsignedShort(init.status);
      if (status < 200 || status > 599) {
        throw new RangeError(`Response status must be from 200 to 599, got ${String(init.status)}`);
      }
      this.#status = status;
      this.#statusText = String(init.statusText ?? REASONS[status] ?? '');
      this.#headers = new Headers(init.headers);
      const type = contentTypeFor(body);
      if (type && !this.#headers.has('content-type')) this.#headers.set('content-type', type);
      if (body !== null && (status === 204 || status === 205 || status === 304)) {
        throw new TypeError(`a ${status} response cannot have a body`);
      }
      bodyOf.set(this, toBytes(body));
    }
    get status() { return this.#status; }
    get statusText() { return this.#statusText; }
    get ok() { return this.#status >= 200 && this.#status < 300; }
    get headers() { return this.#headers; }
    get type() { return 'default'; }
    get redirected() { return false; }
    clone() {
      return new Response(bodyOf.get(this), { status: this.#status, statusText: this.#statusText, headers: this.#headers });
    }
    static json(data, init = {}) {
      const headers = new Headers(init.headers);
      if (!headers.has('content-type')) headers.set('content-type', 'application/json');
      return new Response(JSON.stringify(data), { ...init, headers });
    }
    static redirect(url, status = 302) {
      const code = unsignedShort(status);
      if (![301, 302, 303, 307, 308].includes(code)) throw new RangeError(`invalid redirect status ${String(status)}`);
      return new Response(null, { status: code, headers: { location: new URL(url).href } });
    }
    get [Symbol.toStringTag]() { return 'Response'; }
  }

  return { Headers, Request, Response, URL, URLSearchParams, TextEncoder, TextDecoder };
};
