// Web APIs for fetch-style handlers: Headers, Request, Response, URL,
// URLSearchParams, TextEncoder, TextDecoder, and (from js/forms.js) Blob, File,
// FormData. Loaded by the prelude on first use; `make(native)` receives the
// native bindings (codecs, URL parser, multipart parser).
//
// URL is the WHATWG URL Standard's, parsed natively (host/url.rs).

export const make = (native, streams, outbound) => {
  const utf8 = (s) => native.utf8Encode(String(s));
  // UTF-8 decode, malformed bytes as U+FFFD: the Encoding Standard's decoder.
  const fromUtf8 = (bytes) => native.decode('utf-8', bytes, false);

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

  // URL: the WHATWG URL Standard's parser, getters and setters are native
  // (the `url` crate, host/url.rs); this object keeps the parts it returns:
  // href, origin, protocol, username, password, host, hostname, port,
  // pathname, search, hash.
  const HREF = 0, ORIGIN = 1, PROTOCOL = 2, USERNAME = 3, PASSWORD = 4, HOST = 5, HOSTNAME = 6;
  const PORT = 7, PATHNAME = 8, SEARCH = 9, HASH = 10;
  // A USVString: lone surrogates become U+FFFD, as WebIDL converts them.
  const usv = (value) => {
    const s = String(value);
    return typeof s.toWellFormed === 'function' ? s.toWellFormed() : s;
  };
  const parseURL = (input, base) =>
    base === undefined ? native.urlParse(usv(input)) : native.urlParse(usv(input), usv(base));

  class URL {
    #parts;
    #searchParams = null;

    constructor(input, base = undefined) {
      if (arguments.length === 0) throw new TypeError("URL: the 'url' argument is required");
      const parts = parseURL(input, base);
      if (!parts) {
        throw new TypeError(base === undefined ? `Invalid URL: ${String(input)}` : `Invalid URL: ${String(input)} against ${String(base)}`);
      }
      this.#parts = parts;
    }

    #set(setter, value) {
      const parts = native.urlSet(this.#parts[HREF], setter, usv(value));
      if (parts) this.#parts = parts;
    }

    // The searchParams object follows the query (the standard's "update").
    #queryChanged() {
      if (this.#searchParams) URLSearchParams._bind(this.#searchParams, this.#parts[SEARCH], this.#paramsChanged);
    }

    // An empty serialization leaves no query at all (set_search('')).
    #paramsChanged = (serialized) => this.#set('search', serialized);

    get href() { return this.#parts[HREF]; }
    set href(value) {
      const parts = parseURL(value);
      if (!parts) throw new TypeError(`Invalid URL: ${String(value)}`);
      this.#parts = parts;
      this.#queryChanged();
    }
    get origin() { return this.#parts[ORIGIN]; }
    get protocol() { return this.#parts[PROTOCOL]; }
    set protocol(value) { this.#set('protocol', value); }
    get username() { return this.#parts[USERNAME]; }
    set username(value) { this.#set('username', value); }
    get password() { return this.#parts[PASSWORD]; }
    set password(value) { this.#set('password', value); }
    get host() { return this.#parts[HOST]; }
    set host(value) { this.#set('host', value); }
    get hostname() { return this.#parts[HOSTNAME]; }
    set hostname(value) { this.#set('hostname', value); }
    get port() { return this.#parts[PORT]; }
    set port(value) { this.#set('port', value); }
    get pathname() { return this.#parts[PATHNAME]; }
    set pathname(value) { this.#set('pathname', value); }
    get search() { return this.#parts[SEARCH]; }
    set search(value) {
      this.#set('search', value);
      this.#queryChanged();
    }
    get searchParams() {
      this.#searchParams ??= URLSearchParams._bind(new URLSearchParams(), this.#parts[SEARCH], this.#paramsChanged);
      return this.#searchParams;
    }
    get hash() { return this.#parts[HASH]; }
    set hash(value) { this.#set('hash', value); }
    toString() { return this.#parts[HREF]; }
    toJSON() { return this.#parts[HREF]; }
    static canParse(input, base = undefined) { return Boolean(parseURL(input, base)); }
    static parse(input, base = undefined) {
      try {
        return new URL(input, base);
      } catch {
        return null;
      }
    }
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

  // TextDecoder: the Encoding Standard's labels and decoders (encoding_rs,
  // host/encoding.rs, without state); streaming is kept here: the bytes of a
  // character not yet complete wait for the next call, and a BOM is removed
  // once, at the start of the stream.
  const BOMS = { 'utf-8': [0xef, 0xbb, 0xbf], 'utf-16le': [0xff, 0xfe], 'utf-16be': [0xfe, 0xff] };
  // Where the complete characters of `bytes` end, for a stream.
  const completeEnd = (encoding, bytes) => {
    const n = bytes.length;
    if (encoding === 'utf-8') {
      for (let back = 1; back <= Math.min(3, n); back++) {
        const b = bytes[n - back];
        if ((b & 0xc0) === 0x80) continue; // a continuation byte
        const need = b >= 0xf0 && b <= 0xf4 ? 4 : b >= 0xe0 ? 3 : b >= 0xc2 && b < 0xe0 ? 2 : 1;
        return need > back ? n - back : n;
      }
      return n;
    }
    if (encoding === 'utf-16le' || encoding === 'utf-16be') {
      let end = n - (n % 2);
      if (end >= 2) {
        const high = encoding === 'utf-16le' ? bytes[end - 1] : bytes[end - 2];
        if (high >= 0xd8 && high <= 0xdb) end -= 2; // a lead surrogate waits for its pair
      }
      return end;
    }
    return null;
  };
  // Multi-byte legacy encodings: their decoders' state is not kept here.
  const LEGACY_MULTIBYTE = new Set(['gbk', 'gb18030', 'big5', 'euc-jp', 'iso-2022-jp', 'shift_jis', 'euc-kr']);

  class TextDecoder {
    #encoding;
    #fatal;
    #ignoreBOM;
    #pending = null;
    #started = false;
    constructor(label = 'utf-8', options = {}) {
      const encoding = native.encodingFor(String(label));
      if (!encoding || encoding === 'replacement') {
        throw new RangeError(`TextDecoder: '${String(label)}' is not an encoding label`);
      }
      this.#encoding = encoding;
      this.#fatal = Boolean(options?.fatal);
      this.#ignoreBOM = Boolean(options?.ignoreBOM);
    }
    get encoding() { return this.#encoding; }
    get fatal() { return this.#fatal; }
    get ignoreBOM() { return this.#ignoreBOM; }
    decode(input = undefined, options = {}) {
      const stream = Boolean(options?.stream);
      let bytes = input === undefined ? new Uint8Array(0) : toBytes(input);
      if (!(bytes instanceof Uint8Array)) throw new TypeError('TextDecoder.decode: the input must be an ArrayBuffer or a view of one');
      if (this.#pending !== null) {
        const joined = new Uint8Array(this.#pending.length + bytes.length);
        joined.set(this.#pending);
        joined.set(bytes, this.#pending.length);
        bytes = joined;
        this.#pending = null;
      }
      let end = bytes.length;
      if (stream) {
        const complete = completeEnd(this.#encoding, bytes);
        if (complete === null && LEGACY_MULTIBYTE.has(this.#encoding)) {
          throw new TypeError(`TextDecoder: streaming ${this.#encoding} is not supported here`);
        }
        end = complete ?? end;
      }
      let start = 0;
      const bom = BOMS[this.#encoding];
      if (!this.#started && bom) {
        const has = bom.every((b, i) => i >= end || bytes[i] === b);
        if (stream && end < bom.length && has) {
          // Not yet known whether these bytes are the BOM.
          this.#pending = bytes.slice(0);
          return '';
        }
        if (!this.#ignoreBOM && end >= bom.length && has) start = bom.length;
      }
      if (end < bytes.length) this.#pending = bytes.slice(end);
      if (end > 0) this.#started = true;
      const text = native.decode(this.#encoding, bytes.subarray(start, end), this.#fatal);
      if (!stream) {
        this.#started = false;
        this.#pending = null;
      }
      return text;
    }
  }

  const forms = native.formsModule().make(native, URLSearchParams, streams.load);
  const { Blob, File, FormData } = forms;

  // A ReadableStream, if `value` is one (a stream cannot exist before the
  // streams are loaded, so this never loads them).
  const isStream = (value) => streams.loaded() && value instanceof streams.load().ReadableStream;

  // A body: its bytes, or the stream it comes from (then `bytes` is null);
  // `disturbed` once it is read or cancelled. No body at all is null.
  const bodyState = (bytes, stream) => ({ bytes, stream, disturbed: false });

  // Fetch's "extract a body": its state (or null) and the Content-Type it
  // implies (or null).
  const extract = (body) => {
    if (body === undefined || body === null) return [null, null];
    if (isStream(body)) {
      if (body.locked) throw new TypeError('the body stream is locked by a reader');
      return [bodyState(null, body), null];
    }
    if (body instanceof Blob) return [bodyState(forms.blobBytes(body), null), body.type || null];
    if (body instanceof FormData) {
      const [blob, type] = forms.encodeMultipart(body);
      return [bodyState(forms.blobBytes(blob), null), type];
    }
    if (body instanceof URLSearchParams) {
      return [bodyState(utf8(body.toString()), null), 'application/x-www-form-urlencoded;charset=UTF-8'];
    }
    if (body instanceof ArrayBuffer || ArrayBuffer.isView(body)) return [bodyState(toBytes(body).slice(0), null), null];
    return [bodyState(utf8(String(body)), null), 'text/plain;charset=UTF-8'];
  };

  // A byte stream over `bytes`, which marks `state` disturbed when read.
  const streamOver = (state, bytes) =>
    new (streams.load().ReadableStream)({
      type: 'bytes',
      pull(controller) {
        state.disturbed = true;
        if (bytes.length > 0) controller.enqueue(bytes.slice(0));
        controller.close();
      },
      cancel() {
        state.disturbed = true;
      },
    });

  // Every chunk of `stream`, which must be Uint8Arrays, joined.
  const readAll = async (stream) => {
    const reader = stream.getReader();
    const chunks = [];
    let size = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (!(value instanceof Uint8Array)) {
        const error = new TypeError('a body stream must give Uint8Array chunks');
        reader.cancel(error).catch(() => {});
        throw error;
      }
      chunks.push(value);
      size += value.length;
    }
    const all = new Uint8Array(size);
    let at = 0;
    for (const c of chunks) {
      all.set(c, at);
      at += c.length;
    }
    return all;
  };

  // The body shared by Request and Response, read once.
  const bodyOf = new WeakMap();
  const takeBody = async (self) => {
    const state = bodyOf.get(self);
    if (!state) return new Uint8Array(0);
    if (state.disturbed) throw new TypeError('body has already been read');
    if (state.stream?.locked) throw new TypeError('the body stream is locked by a reader');
    state.disturbed = true;
    return state.stream ? readAll(state.stream) : state.bytes;
  };
  // The stream of a response to send as it is produced (prelude.js), taken
  // (the response's body is used from then on); null for a body in memory.
  const takeStream = (response) => {
    const state = bodyOf.get(response);
    if (!state?.stream || state.bytes !== null || state.disturbed || state.stream.locked) return null;
    state.disturbed = true;
    return state.stream;
  };

  // A body for a clone: bytes are copied, a stream is teed.
  const cloneBody = (self) => {
    const state = bodyOf.get(self);
    if (!state) return null;
    if (state.disturbed || state.stream?.locked) throw new TypeError('a body that has been read cannot be cloned');
    if (!state.stream) return bodyState(state.bytes.slice(0), null);
    const [mine, theirs] = state.stream.tee();
    state.stream = mine;
    return bodyState(null, theirs);
  };
  const Body = (Base) =>
    class extends Base {
      get bodyUsed() { return bodyOf.get(this)?.disturbed ?? false; }
      get body() {
        const state = bodyOf.get(this);
        if (!state) return null;
        if (!state.stream) {
          state.stream = streamOver(state, state.bytes);
          state.bytes = null;
        }
        return state.stream;
      }
      async bytes() { return takeBody(this); }
      async arrayBuffer() {
        const b = await takeBody(this);
        return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength);
      }
      async text() { return fromUtf8(await takeBody(this)); }
      async json() { return JSON.parse(await this.text()); }
      async blob() {
        const bytes = await takeBody(this);
        const blob = new Blob([bytes], { type: this.headers.get('content-type') ?? '' });
        return blob;
      }
      async formData() { return forms.decodeForm(this.headers.get('content-type'), await takeBody(this)); }
    };

  let withSignal;
  let fromNetwork;
  class Request extends Body(Object) {
    #url;
    #method;
    #headers;
    #signal;
    #signalSource;
    #redirect;
    constructor(input, init = {}) {
      super();
      const from = input instanceof Request ? input : null;
      this.#url = new URL(from ? from.url : String(input)).href;
      const method = String(init.method ?? from?.method ?? 'GET').toUpperCase();
      if (!/^[!#$%&'*+\-.^_`|~0-9A-Z]+$/.test(method)) throw new TypeError(`invalid method: ${method}`);
      this.#method = method;
      this.#headers = new Headers(init.headers ?? from?.headers);
      let state;
      let type = null;
      if (init.body !== undefined) {
        [state, type] = extract(init.body);
        if (state?.stream && init.duplex !== 'half') {
          throw new TypeError("a request with a stream body needs duplex: 'half'");
        }
      } else {
        // The body of the Request it is made from, taken from it (Fetch).
        state = from ? bodyOf.get(from) ?? null : null;
        if (state?.disturbed || state?.stream?.locked) throw new TypeError('the Request body has already been read');
        if (state && from) bodyOf.set(from, { ...state, disturbed: true });
      }
      if (state && (method === 'GET' || method === 'HEAD')) {
        throw new TypeError('a GET or HEAD request cannot have a body');
      }
      if (type && !this.#headers.has('content-type')) this.#headers.set('content-type', type);
      bodyOf.set(this, state);
      // The request's own signal follows the one given (Fetch: a dependent
      // signal), or the input Request's; otherwise it never aborts. It is
      // made when first read: most handlers never look.
      let signal = from ? from.signal : null;
      if (init.signal !== undefined) signal = init.signal;
      if (signal !== null && !(signal instanceof AbortSignal)) {
        throw new TypeError("a Request's 'signal' must be an AbortSignal");
      }
      this.#signalSource = signal;
      const redirect = init.redirect === undefined ? from?.redirect ?? 'follow' : String(init.redirect);
      if (redirect !== 'follow' && redirect !== 'manual' && redirect !== 'error') {
        throw new TypeError(`'${redirect}' is not a redirect mode (follow, manual, error)`);
      }
      this.#redirect = redirect;
    }
    get redirect() { return this.#redirect; }
    static {
      // The platform's incoming request: its signal comes from `make()` when
      // first read (the prelude's AbortController for the request).
      withSignal = (request, make) => {
        request.#signalSource = make;
        return request;
      };
    }
    get url() { return this.#url; }
    get method() { return this.#method; }
    get headers() { return this.#headers; }
    get duplex() { return 'half'; }
    get signal() {
      if (this.#signal === undefined) {
        const source = this.#signalSource;
        if (typeof source === 'function') this.#signal = source();
        else this.#signal = source === null ? new AbortController().signal : AbortSignal.any([source]);
      }
      return this.#signal;
    }
    clone() {
      const body = cloneBody(this);
      const copy = new Request(this.#url, { method: this.#method, headers: this.#headers, signal: this.#signal, redirect: this.#redirect });
      bodyOf.set(copy, body);
      return copy;
    }
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
      const [state, type] = extract(body);
      if (type && !this.#headers.has('content-type')) this.#headers.set('content-type', type);
      if (state !== null && (status === 204 || status === 205 || status === 304)) {
        throw new TypeError(`a ${status} response cannot have a body`);
      }
      bodyOf.set(this, state);
    }
    get status() { return this.#status; }
    get statusText() { return this.#statusText; }
    get ok() { return this.#status >= 200 && this.#status < 300; }
    get headers() { return this.#headers; }
    #type = 'default';
    #url = '';
    #redirected = false;
    get type() { return this.#type; }
    get url() { return this.#url; }
    get redirected() { return this.#redirected; }
    static {
      // A response that came from the network (fetch): its URL and whether
      // a redirect led there.
      fromNetwork = (response, url, redirected) => {
        response.#type = 'basic';
        response.#url = url;
        response.#redirected = redirected;
        return response;
      };
    }
    clone() {
      if (this.#type === 'error') return Response.error();
      const body = cloneBody(this);
      const copy = new Response(null, { status: this.#status, statusText: this.#statusText, headers: this.#headers });
      bodyOf.set(copy, body);
      return copy;
    }
    // A network error (Fetch's Response.error()): status 0, type 'error'. A
    // handler that answers with one gets the 500 of an invalid status.
    static error() {
      const response = new Response(null);
      response.#status = 0;
      response.#statusText = '';
      response.#type = 'error';
      return response;
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

  // fetch(): the Fetch standard's, over the native client (`host/fetch.rs`,
  // hbf_net): deny by default (--allow-net), the request's body read whole,
  // the response's too (bounded by the request's memory limit); `signal`
  // aborts it; `redirect` is followed, returned or an error.
  const fetch = async (input, init = undefined) => {
    const request = new Request(input, init);
    const { signal } = request;
    signal.throwIfAborted();
    const body = bodyOf.get(request) ? await request.bytes() : null;
    const headers = [];
    for (const [name, value] of request.headers) headers.push(name, value);
    const id = native.fetchStart(request.method, request.url, headers, body, request.redirect);
    let onAbort;
    const aborted = new Promise((_, reject) => {
      onAbort = () => {
        native.fetchAbort(id);
        outbound.forget(id);
        reject(signal.reason);
      };
      signal.addEventListener('abort', onAbort, { once: true });
    });
    let answer;
    try {
      answer = await Promise.race([outbound.wait(id), aborted]);
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
    const [status, statusText, list, bytes, url, redirected] = answer;
    const pairs = [];
    for (let i = 0; i < list.length; i += 2) pairs.push([list[i], list[i + 1]]);
    const nullBody = status === 204 || status === 205 || status === 304 || request.method === 'HEAD';
    let response;
    try {
      response = new Response(nullBody ? null : bytes, { status, statusText, headers: pairs });
    } catch (error) {
      throw new TypeError(`fetch: the response from ${url} is not usable: ${error.message}`);
    }
    return fromNetwork(response, url, redirected);
  };

  return { Headers, Request, Response, URL, URLSearchParams, TextEncoder, TextDecoder, Blob, File, FormData, takeStream, withSignal, fetch };
};
