// The platform's small globals, as WinterTC (and so Workers, Deno, Bun) give
// them: DOMException, Event, EventTarget, CustomEvent, AbortController,
// AbortSignal, reportError, structuredClone, atob, btoa, crypto
// (getRandomValues, randomUUID; `subtle` from js/crypto.js), navigator, self. Loaded by the prelude on
// first use (a snapshot loads them before it is taken); `make(native)`
// receives the native bindings (randomness, the log).

export const make = (native) => {
  // ---- DOMException (WebIDL) -------------------------------------------------
  const LEGACY_CODES = {
    IndexSizeError: 1, HierarchyRequestError: 3, WrongDocumentError: 4, InvalidCharacterError: 5,
    NoModificationAllowedError: 7, NotFoundError: 8, NotSupportedError: 9, InvalidStateError: 11,
    SyntaxError: 12, InvalidModificationError: 13, NamespaceError: 14, InvalidAccessError: 15,
    TypeMismatchError: 17, SecurityError: 18, NetworkError: 19, AbortError: 20, URLMismatchError: 21,
    QuotaExceededError: 22, TimeoutError: 23, InvalidNodeTypeError: 24, DataCloneError: 25,
  };
  class DOMException extends Error {
    #name;
    #message;
    constructor(message = '', options = 'Error') {
      super();
      this.#message = String(message);
      if (options !== null && typeof options === 'object') {
        this.#name = 'name' in options ? String(options.name) : 'Error';
        if ('cause' in options) {
          Object.defineProperty(this, 'cause', { value: options.cause, writable: true, configurable: true });
        }
      } else {
        this.#name = String(options);
      }
    }
    get name() { return this.#name; }
    get message() { return this.#message; }
    get code() { return LEGACY_CODES[this.#name] ?? 0; }
  }
  // A `stack` own property from Error's constructor is fine; the name and
  // message live in the accessors above (WebIDL attributes).
  const legacyConstants = [
    ['INDEX_SIZE_ERR', 1], ['DOMSTRING_SIZE_ERR', 2], ['HIERARCHY_REQUEST_ERR', 3], ['WRONG_DOCUMENT_ERR', 4],
    ['INVALID_CHARACTER_ERR', 5], ['NO_DATA_ALLOWED_ERR', 6], ['NO_MODIFICATION_ALLOWED_ERR', 7],
    ['NOT_FOUND_ERR', 8], ['NOT_SUPPORTED_ERR', 9], ['INUSE_ATTRIBUTE_ERR', 10], ['INVALID_STATE_ERR', 11],
    ['SYNTAX_ERR', 12], ['INVALID_MODIFICATION_ERR', 13], ['NAMESPACE_ERR', 14], ['INVALID_ACCESS_ERR', 15],
    ['VALIDATION_ERR', 16], ['TYPE_MISMATCH_ERR', 17], ['SECURITY_ERR', 18], ['NETWORK_ERR', 19],
    ['ABORT_ERR', 20], ['URL_MISMATCH_ERR', 21], ['QUOTA_EXCEEDED_ERR', 22], ['TIMEOUT_ERR', 23],
    ['INVALID_NODE_TYPE_ERR', 24], ['DATA_CLONE_ERR', 25],
  ];
  for (const [key, value] of legacyConstants) {
    Object.defineProperty(DOMException, key, { value, enumerable: true });
    Object.defineProperty(DOMException.prototype, key, { value, enumerable: true });
  }

  // ---- reportError -------------------------------------------------------------
  const describe = (error) => {
    if (error instanceof Error) return `${error.name}: ${error.message}${error.stack ? `\n${error.stack}` : ''}`;
    try {
      return String(error);
    } catch {
      return 'an error that cannot be shown';
    }
  };
  const reportError = function reportError(error) {
    native.log('error', `Uncaught ${describe(error)}`);
  };

  // ---- Event, EventTarget, CustomEvent (DOM standard) ---------------------
  const NONE = 0;
  const AT_TARGET = 2;
  class Event {
    #type;
    #bubbles;
    #cancelable;
    #composed;
    #canceled = false;
    #stop = false;
    #stopNow = false;
    #dispatching = false;
    #target = null;
    #currentTarget = null;
    #phase = NONE;
    #timeStamp = Date.now();
    #passive = false;
    constructor(type, init = {}) {
      if (arguments.length === 0) throw new TypeError("Event: the 'type' argument is required");
      this.#type = String(type);
      this.#bubbles = Boolean(init?.bubbles);
      this.#cancelable = Boolean(init?.cancelable);
      this.#composed = Boolean(init?.composed);
    }
    get type() { return this.#type; }
    get bubbles() { return this.#bubbles; }
    get cancelable() { return this.#cancelable; }
    get composed() { return this.#composed; }
    get defaultPrevented() { return this.#canceled; }
    get target() { return this.#target; }
    get srcElement() { return this.#target; }
    get currentTarget() { return this.#currentTarget; }
    get eventPhase() { return this.#phase; }
    get timeStamp() { return this.#timeStamp; }
    get isTrusted() { return false; }
    get cancelBubble() { return this.#stop; }
    set cancelBubble(value) { if (value) this.#stop = true; }
    get returnValue() { return !this.#canceled; }
    set returnValue(value) { if (!value) this.preventDefault(); }
    composedPath() { return this.#dispatching && this.#currentTarget ? [this.#currentTarget] : []; }
    preventDefault() { if (this.#cancelable && !this.#passive) this.#canceled = true; }
    stopPropagation() { this.#stop = true; }
    stopImmediatePropagation() { this.#stop = true; this.#stopNow = true; }
    // Dispatch state, for EventTarget only (a closure-private channel below).
    static #begin(event, target) {
      if (event.#dispatching) throw new DOMException('The event is already being dispatched', 'InvalidStateError');
      event.#dispatching = true;
      event.#target = target;
      event.#currentTarget = target;
      event.#phase = AT_TARGET;
      event.#stop = false;
      event.#stopNow = false;
    }
    static #end(event) {
      event.#dispatching = false;
      event.#currentTarget = null;
      event.#phase = NONE;
      event.#stopNow = false;
    }
    static #stoppedNow(event) { return event.#stopNow; }
    static #setPassive(event, passive) { event.#passive = passive; }
    static {
      dispatchHooks = {
        begin: (e, t) => Event.#begin(e, t),
        end: (e) => Event.#end(e),
        stoppedNow: (e) => Event.#stoppedNow(e),
        passive: (e, p) => Event.#setPassive(e, p),
      };
    }
  }
  for (const [key, value] of [['NONE', 0], ['CAPTURING_PHASE', 1], ['AT_TARGET', 2], ['BUBBLING_PHASE', 3]]) {
    Object.defineProperty(Event, key, { value, enumerable: true });
    Object.defineProperty(Event.prototype, key, { value, enumerable: true });
  }

  class CustomEvent extends Event {
    #detail;
    constructor(type, init = {}) {
      super(type, init);
      this.#detail = init?.detail ?? null;
    }
    get detail() { return this.#detail; }
  }

  const flatten = (options) =>
    typeof options === 'boolean' ? { capture: options } : { capture: Boolean(options?.capture) };
  class EventTarget {
    #listeners = new Map(); // type -> [{ callback, capture, once, passive, removed }]
    addEventListener(type, callback, options = {}) {
      if (callback === null || callback === undefined) return;
      if (typeof callback !== 'function' && (typeof callback !== 'object')) {
        throw new TypeError('addEventListener: the listener must be a function or an object');
      }
      const { capture } = flatten(options);
      const once = typeof options === 'object' && Boolean(options?.once);
      const passive = typeof options === 'object' && Boolean(options?.passive);
      const signal = typeof options === 'object' ? options?.signal : undefined;
      if (signal !== undefined && !(signal instanceof AbortSignal)) {
        throw new TypeError("addEventListener: 'signal' must be an AbortSignal");
      }
      if (signal?.aborted) return;
      type = String(type);
      let list = this.#listeners.get(type);
      if (!list) this.#listeners.set(type, (list = []));
      if (list.some((l) => l.callback === callback && l.capture === capture)) return;
      const listener = { callback, capture, once, passive, removed: false };
      list.push(listener);
      signal?.addEventListener('abort', () => this.removeEventListener(type, callback, { capture }));
    }
    removeEventListener(type, callback, options = {}) {
      const { capture } = flatten(options);
      const list = this.#listeners.get(String(type));
      if (!list) return;
      const at = list.findIndex((l) => l.callback === callback && l.capture === capture);
      if (at !== -1) {
        list[at].removed = true;
        list.splice(at, 1);
      }
    }
    dispatchEvent(event) {
      if (!(event instanceof Event)) throw new TypeError('dispatchEvent: the argument must be an Event');
      dispatchHooks.begin(event, this);
      try {
        const list = this.#listeners.get(event.type);
        for (const listener of list ? [...list] : []) {
          if (listener.removed) continue;
          if (listener.once) this.removeEventListener(event.type, listener.callback, { capture: listener.capture });
          dispatchHooks.passive(event, listener.passive);
          try {
            const { callback } = listener;
            if (typeof callback === 'function') callback.call(this, event);
            else if (typeof callback?.handleEvent === 'function') callback.handleEvent(event);
          } catch (error) {
            reportError(error);
          }
          dispatchHooks.passive(event, false);
          if (dispatchHooks.stoppedNow(event)) break;
        }
      } finally {
        dispatchHooks.end(event);
      }
      return !event.defaultPrevented;
    }
  }

  // ---- AbortController, AbortSignal (DOM standard) ---------------------------
  let signalHooks;
  class AbortSignal extends EventTarget {
    #aborted = false;
    #reason = undefined;
    #onabort = null;
    constructor(key) {
      if (key !== signalHooks) throw new TypeError('Illegal constructor');
      super();
    }
    get aborted() { return this.#aborted; }
    get reason() { return this.#reason; }
    get onabort() { return this.#onabort; }
    set onabort(handler) {
      if (this.#onabort) this.removeEventListener('abort', this.#onabort);
      this.#onabort = typeof handler === 'function' ? handler : null;
      if (this.#onabort) this.addEventListener('abort', this.#onabort);
    }
    throwIfAborted() {
      if (this.#aborted) throw this.#reason;
    }
    static abort(reason) {
      const signal = new AbortSignal(signalHooks);
      signalHooks.abort(signal, reason);
      return signal;
    }
    // A signal that aborts with a TimeoutError after `milliseconds` (WebIDL
    // `[EnforceRange] unsigned long long`); its timer is the request's, so it
    // never fires after the request ends.
    static timeout(milliseconds) {
      const ms = Number(milliseconds);
      if (!Number.isFinite(ms) || Math.trunc(ms) < 0 || Math.trunc(ms) > Number.MAX_SAFE_INTEGER) {
        throw new TypeError(`AbortSignal.timeout: ${String(milliseconds)} is not a number of milliseconds from 0 to 2^53 - 1`);
      }
      const signal = new AbortSignal(signalHooks);
      setTimeout(() => signalHooks.abort(signal, new DOMException('The operation timed out.', 'TimeoutError')), Math.trunc(ms));
      return signal;
    }
    static any(signals) {
      const list = [...signals];
      for (const s of list) {
        if (!(s instanceof AbortSignal)) throw new TypeError('AbortSignal.any: every item must be an AbortSignal');
      }
      const signal = new AbortSignal(signalHooks);
      const aborted = list.find((s) => s.aborted);
      if (aborted) {
        signalHooks.abort(signal, aborted.reason);
        return signal;
      }
      for (const s of list) s.addEventListener('abort', () => signalHooks.abort(signal, s.reason), { once: true });
      return signal;
    }
    static #abort(signal, reason) {
      if (signal.#aborted) return;
      signal.#aborted = true;
      signal.#reason = reason === undefined ? new DOMException('This operation was aborted', 'AbortError') : reason;
      signal.dispatchEvent(new Event('abort'));
    }
    static {
      signalHooks = { abort: (signal, reason) => AbortSignal.#abort(signal, reason) };
    }
  }
  class AbortController {
    #signal = new AbortSignal(signalHooks);
    get signal() { return this.#signal; }
    abort(reason) { signalHooks.abort(this.#signal, reason); }
  }

  // ---- structuredClone (HTML's structured clone, without transfer) ---------
  const dataCloneError = (what) => new DOMException(`${what} could not be cloned`, 'DataCloneError');
  const ERRORS = { Error, EvalError, RangeError, ReferenceError, SyntaxError, TypeError, URIError };
  const TYPED = [
    Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array,
    Float32Array, Float64Array, BigInt64Array, BigUint64Array,
  ];
  if (typeof Float16Array === 'function') TYPED.push(Float16Array);
  const tag = (value) => Object.prototype.toString.call(value).slice(8, -1);
  const structuredClone = function structuredClone(value, options = undefined) {
    if (options?.transfer !== undefined && [...options.transfer].length > 0) {
      throw dataCloneError('a transfer list (transferring is not supported here)');
    }
    const memory = new Map();
    const clone = (v) => {
      if (v === null || (typeof v !== 'object' && typeof v !== 'function')) {
        if (typeof v === 'symbol') throw dataCloneError(String(v));
        return v;
      }
      if (typeof v === 'function') throw dataCloneError(`function ${v.name || '(anonymous)'}`);
      if (memory.has(v)) return memory.get(v);
      const keep = (copy) => (memory.set(v, copy), copy);
      const t = tag(v);
      switch (t) {
        case 'Boolean': return keep(Object(Boolean.prototype.valueOf.call(v)));
        case 'Number': return keep(Object(Number.prototype.valueOf.call(v)));
        case 'String': return keep(Object(String.prototype.valueOf.call(v)));
        case 'BigInt': return keep(Object(BigInt.prototype.valueOf.call(v)));
        case 'Date': return keep(new Date(Date.prototype.getTime.call(v)));
        case 'RegExp': return keep(new RegExp(v.source, v.flags));
        case 'ArrayBuffer': {
          if (v.detached) throw dataCloneError('a detached ArrayBuffer');
          return keep(v.slice(0));
        }
        case 'SharedArrayBuffer': throw dataCloneError('a SharedArrayBuffer');
        case 'DataView': {
          const buffer = clone(v.buffer);
          return keep(new DataView(buffer, v.byteOffset, v.byteLength));
        }
        case 'Map': {
          const copy = keep(new Map());
          for (const [k, item] of Map.prototype.entries.call(v)) copy.set(clone(k), clone(item));
          return copy;
        }
        case 'Set': {
          const copy = keep(new Set());
          for (const item of Set.prototype.values.call(v)) copy.add(clone(item));
          return copy;
        }
        case 'Error': {
          const name = ERRORS[v.name] ? v.name : 'Error';
          const copy = keep(new ERRORS[name]());
          const message = Object.getOwnPropertyDescriptor(v, 'message');
          if (message && 'value' in message) copy.message = String(message.value);
          else delete copy.message;
          if ('stack' in v) Object.defineProperty(copy, 'stack', { value: String(v.stack), writable: true, configurable: true });
          if (Object.hasOwn(v, 'cause')) copy.cause = clone(v.cause);
          return copy;
        }
        case 'Array': {
          const copy = keep(new Array(v.length));
          for (const key of Object.keys(v)) copy[key] = clone(v[key]);
          return copy;
        }
        case 'Object': {
          const copy = keep({});
          for (const key of Object.keys(v)) copy[key] = clone(v[key]);
          return copy;
        }
        default: {
          const typed = TYPED.find((T) => v instanceof T);
          if (typed && ArrayBuffer.isView(v)) {
            const buffer = clone(v.buffer);
            return keep(new typed(buffer, v.byteOffset, v.length));
          }
          throw dataCloneError(t === 'Object' ? 'an object' : `a ${t}`);
        }
      }
    };
    if (arguments.length === 0) throw new TypeError("structuredClone: the 'value' argument is required");
    return clone(value);
  };

  // ---- atob, btoa (HTML's forgiving-base64) --------------------------------
  const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  const btoa = function btoa(data) {
    if (arguments.length === 0) throw new TypeError("btoa: the 'data' argument is required");
    const s = String(data);
    let out = '';
    for (let i = 0; i < s.length; i += 3) {
      const a = s.charCodeAt(i);
      const b = i + 1 < s.length ? s.charCodeAt(i + 1) : 0;
      const c = i + 2 < s.length ? s.charCodeAt(i + 2) : 0;
      if (a > 255 || b > 255 || c > 255) {
        throw new DOMException('btoa: the string has characters outside of Latin1', 'InvalidCharacterError');
      }
      const n = (a << 16) | (b << 8) | c;
      out += ALPHABET[n >> 18] + ALPHABET[(n >> 12) & 63];
      out += i + 1 < s.length ? ALPHABET[(n >> 6) & 63] : '=';
      out += i + 2 < s.length ? ALPHABET[n & 63] : '=';
    }
    return out;
  };
  const atob = function atob(data) {
    if (arguments.length === 0) throw new TypeError("atob: the 'data' argument is required");
    let s = String(data).replace(/[\t\n\f\r ]/g, '');
    if (s.length % 4 === 0) s = s.replace(/==?$/, '');
    if (s.length % 4 === 1 || /[^A-Za-z0-9+/]/.test(s)) {
      throw new DOMException('atob: the string is not correctly encoded', 'InvalidCharacterError');
    }
    let out = '';
    let buffer = 0;
    let bits = 0;
    for (let i = 0; i < s.length; i++) {
      buffer = (buffer << 6) | ALPHABET.indexOf(s[i]);
      bits += 6;
      if (bits >= 8) {
        bits -= 8;
        out += String.fromCharCode((buffer >> bits) & 255);
      }
    }
    return out;
  };

  // ---- crypto (randomness here; crypto.subtle is js/crypto.js) -------------
  const INTEGER_ARRAYS = [
    Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array,
    BigInt64Array, BigUint64Array,
  ];
  const CRYPTO = Symbol('crypto');
  class Crypto {
    constructor(key) {
      if (key !== CRYPTO) throw new TypeError('Illegal constructor');
    }
    // The same SubtleCrypto every time, loaded on first use (the prelude).
    get subtle() {
      return native.subtle();
    }
    getRandomValues(array) {
      if (!INTEGER_ARRAYS.some((T) => array instanceof T)) {
        throw new DOMException('getRandomValues: the argument must be an integer typed array', 'TypeMismatchError');
      }
      if (array.byteLength > 65536) {
        throw new DOMException(
          `getRandomValues: ${array.byteLength} bytes asked for, at most 65536 at once`,
          'QuotaExceededError',
        );
      }
      new Uint8Array(array.buffer, array.byteOffset, array.byteLength).set(native.randomBytes(array.byteLength));
      return array;
    }
    randomUUID() {
      const b = native.randomBytes(16);
      b[6] = (b[6] & 0x0f) | 0x40; // version 4
      b[8] = (b[8] & 0x3f) | 0x80; // variant 10
      const hex = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
      return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
    }
  }
  const crypto = new Crypto(CRYPTO);

  const navigator = Object.freeze({ userAgent: `HBF/${native.version}` });

  return {
    DOMException, Event, EventTarget, CustomEvent, AbortController, AbortSignal, reportError,
    structuredClone, atob, btoa, Crypto, crypto, navigator,
  };
};

// Set by Event's static block: the dispatch state EventTarget may change.
let dispatchHooks;
