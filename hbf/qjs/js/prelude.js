// HBF's JavaScript prelude: evaluated in every new context before the pod's
// code. It takes the native bindings from `globalThis.__hbf` (and removes that
// global, so pod code cannot reach them directly), defines `console`, the lazily
// loaded Web APIs, and the dispatcher the Rust side calls for each request.
//
// The dispatcher returns {status, headers: [[name, value, ...]...], body} (the
// Rust side reads the first two entries of each header), where body is a
// string, a Uint8Array or null, or a promise of that.

const native = globalThis.__hbf;
delete globalThis.__hbf;

// QuickJS-NG's `Error.stackTraceLimit` setter never releases the value it
// replaces: an object stored there outlives the runtime, and freeing the
// runtime (a worker's rebuild after a timeout, or shutdown) then fails an
// assertion and aborts the process. So only numbers reach it; anything else
// is stored as NaN (no stack frames, what V8 does for a non-number limit),
// and no pod function runs when an error is made (QuickJS would call an
// object's valueOf).

{
  const desc = Object.getOwnPropertyDescriptor(Error, 'stackTraceLimit');
  if (desc?.get && desc.set) {
    const { get, set } = desc;
    const { apply } = Reflect;
    Object.defineProperty(Error, 'stackTraceLimit', {
      get: function stackTraceLimit() {
        return apply(get, Error, []);
      },
      set: function stackTraceLimit(value) {
        apply(set, Error, [typeof value === 'number' ? value : NaN]);
      },
      enumerable: desc.enumerable,
      configurable: desc.configurable,
    });
  }
}

const format = (args) =>
  args
    .map((a) => {
      if (typeof a === 'string') return a;
      if (a instanceof Error) return `${a.name}: ${a.message}${a.stack ? `\n${a.stack}` : ''}`;
      try {
        const s = JSON.stringify(a, (k, v) => (typeof v === 'bigint' ? `${v}n` : v));
        return s === undefined ? String(a) : s;
      } catch {
        return String(a);
      }
    })
    .join(' ');

// The console of WHATWG's Console standard, every line into HBF's log.
// Counters, timers and the group depth are the context's (a snapshot puts
// them back after each request; `worker` mode keeps them, as a shared isolate
// does).
const makeConsole = () => {
  let indent = '';
  const counts = new Map();
  const timers = new Map();
  const at = (level) => (...args) => native.log(level, indent + format(args));
  const log = at('info');
  const label = (value) => (value === undefined ? 'default' : String(value));
  const elapsed = (name, verb) => {
    const started = timers.get(name);
    if (started === undefined) {
      native.log('warn', `${indent}Timer '${name}' does not exist`);
      return undefined;
    }
    return `${name}: ${(performance.now() - started).toFixed(3)}ms${verb}`;
  };
  const group = (...args) => {
    if (args.length > 0) log(...args);
    indent += '  ';
  };
  return {
    log,
    info: log,
    warn: at('warn'),
    error: at('error'),
    debug: at('debug'),
    trace: (...args) => native.log('trace', indent + format(['Trace:', ...args, new Error().stack ?? ''])),
    dir: (value) => log(value),
    dirxml: log,
    table: (data) => log(data),
    assert: (condition, ...args) => {
      if (!condition) native.log('error', indent + format(['Assertion failed' + (args.length ? ':' : ''), ...args]));
    },
    count: (name) => {
      const key = label(name);
      const n = (counts.get(key) ?? 0) + 1;
      counts.set(key, n);
      log(`${key}: ${n}`);
    },
    countReset: (name) => {
      const key = label(name);
      if (counts.has(key)) counts.set(key, 0);
      else native.log('warn', `${indent}Count for '${key}' does not exist`);
    },
    time: (name) => {
      const key = label(name);
      if (timers.has(key)) native.log('warn', `${indent}Timer '${key}' already exists`);
      else timers.set(key, performance.now());
    },
    timeLog: (name, ...args) => {
      const text = elapsed(label(name), '');
      if (text !== undefined) log(text, ...args);
    },
    timeEnd: (name) => {
      const key = label(name);
      const text = elapsed(key, '');
      if (text !== undefined) {
        timers.delete(key);
        log(text);
      }
    },
    group,
    groupCollapsed: group,
    groupEnd: () => {
      indent = indent.slice(2);
    },
  };
};

// `performance.timeOrigin` is the Unix time (ms) `performance.now()` counts
// from (HR-Time); QuickJS-NG's counts from an arbitrary clock's zero, in a
// property that cannot be changed, so `performance` is made anew over the
// engine's `now`.
//
// User Timing's `mark` and `measure` keep their entries here, in the
// request's heap; they are dropped with its timers when it ends
// (`timers.clear`), so no request sees another's marks.
const performanceEntries = [];
if (typeof performance === 'object' && performance !== null && typeof performance.now === 'function') {
  const engineNow = performance.now;
  const timeOrigin = Date.now() - engineNow();
  class PerformanceEntry {
    #name;
    #type;
    #start;
    #duration;
    #detail;
    constructor(key, name, type, start, duration, detail) {
      if (key !== performanceEntries) throw new TypeError('Illegal constructor');
      [this.#name, this.#type, this.#start, this.#duration, this.#detail] = [name, type, start, duration, detail];
    }
    get name() { return this.#name; }
    get entryType() { return this.#type; }
    get startTime() { return this.#start; }
    get duration() { return this.#duration; }
    get detail() { return this.#detail; }
    toJSON() {
      return { name: this.#name, entryType: this.#type, startTime: this.#start, duration: this.#duration, detail: this.#detail };
    }
  }
  const time = (value, what) => {
    const n = Number(value);
    if (!Number.isFinite(n) || n < 0) throw new TypeError(`performance: ${what} must be a time from 0 on, got ${String(value)}`);
    return n;
  };
  // A mark's name or a time, as measure() takes them.
  const timeOf = (mark, what) => {
    if (typeof mark === 'number') return time(mark, what);
    const name = String(mark);
    for (let i = performanceEntries.length - 1; i >= 0; i--) {
      const e = performanceEntries[i];
      if (e.entryType === 'mark' && e.name === name) return e.startTime;
    }
    throw new DOMException(`performance.measure: there is no mark named '${name}'`, 'SyntaxError');
  };
  const remove = (type, name) => {
    for (let i = performanceEntries.length - 1; i >= 0; i--) {
      const e = performanceEntries[i];
      if (e.entryType === type && (name === undefined || e.name === String(name))) performanceEntries.splice(i, 1);
    }
  };
  const clone = (detail) => (detail === undefined || detail === null ? null : structuredClone(detail));
  Object.defineProperty(globalThis, 'performance', {
    value: Object.freeze({
      now: function now() {
        return engineNow();
      },
      timeOrigin,
      toJSON: function toJSON() {
        return { timeOrigin };
      },
      mark: function mark(name, options = undefined) {
        if (arguments.length < 1) throw new TypeError('performance.mark needs a name');
        const start = options?.startTime === undefined ? engineNow() : time(options.startTime, 'startTime');
        const entry = new PerformanceEntry(performanceEntries, String(name), 'mark', start, 0, clone(options?.detail));
        performanceEntries.push(entry);
        return entry;
      },
      measure: function measure(name, startOrOptions = undefined, endMark = undefined) {
        if (arguments.length < 1) throw new TypeError('performance.measure needs a name');
        const options = startOrOptions !== null && typeof startOrOptions === 'object' ? startOrOptions : null;
        let start;
        let end;
        if (options) {
          if (endMark !== undefined) throw new TypeError('performance.measure: give an end mark or an options object, not both');
          end = options.end !== undefined ? timeOf(options.end, 'end') : undefined;
          start = options.start !== undefined ? timeOf(options.start, 'start') : undefined;
          if (options.duration !== undefined) {
            const duration = time(options.duration, 'duration');
            if (start === undefined && end === undefined) throw new TypeError('performance.measure: a duration needs a start or an end');
            if (start !== undefined && end !== undefined) throw new TypeError('performance.measure: give two of start, end and duration');
            if (start === undefined) start = end - duration;
            else end = start + duration;
          }
        } else if (startOrOptions !== undefined) {
          start = timeOf(startOrOptions, 'start');
        }
        end ??= endMark !== undefined ? timeOf(endMark, 'end') : engineNow();
        start ??= 0;
        const entry = new PerformanceEntry(performanceEntries, String(name), 'measure', start, end - start, clone(options?.detail));
        performanceEntries.push(entry);
        return entry;
      },
      getEntries: function getEntries() {
        return [...performanceEntries].sort((a, b) => a.startTime - b.startTime);
      },
      getEntriesByType: function getEntriesByType(type) {
        return this.getEntries().filter((e) => e.entryType === String(type));
      },
      getEntriesByName: function getEntriesByName(name, type = undefined) {
        return this.getEntries().filter((e) => e.name === String(name) && (type === undefined || e.entryType === String(type)));
      },
      clearMarks: function clearMarks(name = undefined) {
        remove('mark', name);
      },
      clearMeasures: function clearMeasures(name = undefined) {
        remove('measure', name);
      },
    }),
    writable: true,
    configurable: true,
    enumerable: false,
  });
}

Object.defineProperty(globalThis, 'console', {
  value: makeConsole(),
  writable: true,
  configurable: true,
  enumerable: false,
});

// Web APIs (Request, Response, Headers, URL, URLSearchParams, TextEncoder,
// TextDecoder: js/web.js; Blob, File, FormData: js/forms.js through web.js) and the platform's small globals (events, abort,
// structuredClone, base64, crypto, navigator: js/platform.js; the streams:
// js/streams.js; SubtleCrypto, CryptoKey: js/crypto.js) are defined on
// first use: a `worker` context that never needs them does not pay for them
// (a snapshot loads them all before it is taken).
const WEB_APIS = [
  'Headers', 'Request', 'Response', 'URL', 'URLSearchParams', 'TextEncoder', 'TextDecoder', 'Blob', 'File', 'FormData',
  'fetch',
];
const PLATFORM_APIS = [
  'DOMException', 'Event', 'EventTarget', 'CustomEvent', 'AbortController', 'AbortSignal', 'reportError',
  'structuredClone', 'atob', 'btoa', 'Crypto', 'crypto', 'navigator',
];
const CRYPTO_APIS = ['SubtleCrypto', 'CryptoKey'];
const STREAM_APIS = [
  'ReadableStream', 'ReadableStreamDefaultReader', 'ReadableStreamBYOBReader', 'ReadableStreamDefaultController',
  'ReadableByteStreamController', 'ReadableStreamBYOBRequest', 'WritableStream', 'WritableStreamDefaultWriter',
  'WritableStreamDefaultController', 'TransformStream', 'TransformStreamDefaultController',
  'ByteLengthQueuingStrategy', 'CountQueuingStrategy', 'TextEncoderStream', 'TextDecoderStream',
  'CompressionStream', 'DecompressionStream',
];
// js/web.js makes bodies of streams, so it gets them through `streams`
// (never through the globals, which a pod may replace); loaded on first use.
const streams = { load: () => loadApis(LAZY[2]), loaded: () => LAZY[2].api !== null };
const LAZY = [
  { names: WEB_APIS, make: () => native.webModule().make(native, streams, outbound), api: null },
  { names: PLATFORM_APIS, make: () => native.platformModule().make(native), api: null },
  { names: STREAM_APIS, make: () => native.streamsModule().make(native, loadWeb()), api: null },
  {
    names: CRYPTO_APIS,
    make: () => native.cryptoModule().make(native, loadApis(LAZY[1]).DOMException),
    api: null,
  },
  { names: ['URLPattern'], make: () => native.urlPatternModule().make(native), api: null },
];
// `crypto.subtle` (js/platform.js) is js/crypto.js's, made on first use.
native.subtle = () => loadApis(LAZY[3]).subtle;
const define = (name, value) =>
  Object.defineProperty(globalThis, name, { value, writable: true, configurable: true, enumerable: false });
const loadApis = (lazy) => {
  if (lazy.api === null) {
    lazy.api = lazy.make();
    for (const name of lazy.names) define(name, lazy.api[name]);
  }
  return lazy.api;
};
const loadWeb = () => loadApis(LAZY[0]);
for (const lazy of LAZY) {
  for (const name of lazy.names) {
    Object.defineProperty(globalThis, name, {
      get() {
        return loadApis(lazy)[name];
      },
      set(value) {
        define(name, value);
      },
      configurable: true,
      enumerable: false,
    });
  }
}
define('self', globalThis);

// ---- timers (HTML's setTimeout and friends) --------------------------------
//
// The queue lives here; the engine drives it (engine/jobs.rs): when a
// request's promise jobs run dry it asks `timers.next()` how long until the
// earliest timer, waits that long (never past the request's deadline) and
// calls `timers.fire()`, which runs one due timer; its promise jobs run before
// the next. What a request leaves queued is dropped when it ends (`clear`, or
// the snapshot's restore); a callback never runs in another request. Strings
// are not evaluated as code.
const clock = performance.now;
const timerQueue = new Map(); // id -> { due, delay, callback, args, repeat }
let nextTimerId = 1;
const MAX_DELAY = 2 ** 31 - 1;
const addTimer = (name, callback, ms, args, repeat) => {
  if (typeof callback !== 'function') {
    throw new TypeError(`${name}: the callback must be a function (a string is not run as code)`);
  }
  const n = Number(ms);
  const delay = Number.isFinite(n) && n > 0 ? Math.min(n, MAX_DELAY) : 0;
  const id = nextTimerId++;
  timerQueue.set(id, { due: clock() + delay, delay, callback, args, repeat });
  return id;
};
const clearTimer = (id) => {
  timerQueue.delete(Number(id));
};
for (const [name, repeat] of [['setTimeout', false], ['setInterval', true]]) {
  define(name, {
    [name](callback, ms = 0, ...args) {
      return addTimer(name, callback, ms, args, repeat);
    },
  }[name]);
}
define('clearTimeout', function clearTimeout(id) {
  clearTimer(id);
});
define('clearInterval', function clearInterval(id) {
  clearTimer(id);
});

// The request's outbound fetches waiting for their answers: id -> [resolve,
// reject]. The engine hands each answer to `timers.fetchDone` (a network
// error's message becomes the TypeError `fetch()` rejects with).
const fetchWaiters = new Map();
const outbound = {
  wait: (id) => new Promise((resolve, reject) => fetchWaiters.set(id, [resolve, reject])),
  forget: (id) => fetchWaiters.delete(id),
};

// The incoming request's AbortController (fetch handlers), made when the
// handler first reads `request.signal`; aborted when the client goes away.
let requestAbort = null;
const requestSignal = () => {
  requestAbort ??= new AbortController();
  return requestAbort.signal;
};
// The body stream being sent to the client, cancelled when it goes away.
let sending = null;
// Aborts `request.signal` and cancels the body being sent. True if there was
// either to stop (what they queue runs next); false if there was none, or
// they were stopped already (nothing more can come of the request).
const abortRequest = () => {
  let stopped = false;
  const reason = new DOMException('The client went away', 'AbortError');
  if (requestAbort !== null && !requestAbort.signal.aborted) {
    requestAbort.abort(reason);
    stopped = true;
  }
  if (sending !== null) {
    sending.cancel(reason).catch(() => {});
    sending = null;
    stopped = true;
  }
  return stopped;
};

export const timers = {
  // Milliseconds until the earliest timer is due (0: now), or -1 if none.
  next() {
    let earliest = Infinity;
    for (const timer of timerQueue.values()) if (timer.due < earliest) earliest = timer.due;
    return earliest === Infinity ? -1 : Math.max(0, earliest - clock());
  },
  // Runs the earliest due timer (ties: the older first); false if none is due.
  fire() {
    const now = clock();
    let found = null;
    for (const [id, timer] of timerQueue) {
      if (timer.due <= now && (found === null || timer.due < found[1].due)) found = [id, timer];
    }
    if (found === null) return false;
    const [id, timer] = found;
    if (timer.repeat) timer.due = now + Math.max(timer.delay, 1);
    else timerQueue.delete(id);
    try {
      timer.callback(...timer.args);
    } catch (error) {
      native.log('error', `Uncaught ${format([error])}`);
    }
    return true;
  },
  // The answer of outbound fetch `id`: the response's parts, or an error.
  fetchDone(id, ok, value) {
    const waiter = fetchWaiters.get(id);
    if (waiter === undefined) return;
    fetchWaiters.delete(id);
    if (ok) waiter[0](value);
    else waiter[1](new TypeError(value));
  },
  // The engine saw the client go away while the request waited: aborts
  // `request.signal` (true: run what that queued), or false (end it now).
  clientGone() {
    return abortRequest();
  },
  // Drops what the request leaves: its timers and its performance entries.
  clear() {
    fetchWaiters.clear();
    requestAbort = null;
    sending = null;
    timerQueue.clear();
    performanceEntries.length = 0;
  },
};

const lower = (name) => String(name).toLowerCase();

// `res` of an HBF-style handler: chainable, and the first send wins.
//
// Every request's `res` is a plain object whose methods are the same frozen
// functions, working on the request's state through `this` (as Express's do):
// no closures to create, and no reference cycle for the collector, per request.
// They are frozen because they are shared by every request a context serves
// (in `worker` mode, the state of one request would otherwise reach the next). Headers are kept as [name, value, lower-case name].
const STATE = Symbol('hbf response state');
const findHeader = (headers, key) => {
  for (let i = 0; i < headers.length; i++) if (headers[i][2] === key) return i;
  return -1;
};
// An HTTP status for `res.status(code)`: an integer from 100 to 999, or a
// string of three digits (`'404'`, as from a query string or a config file);
// anything else is a RangeError naming what was passed.
const DIGITS = /^\s*[1-9][0-9]{2}\s*$/;
const httpStatus = (code) => {
  if (Number.isInteger(code) && code >= 100 && code <= 999) return code;
  if (typeof code === 'string' && DIGITS.test(code)) return Number(code);
  let shown;
  try {
    shown = typeof code === 'string' ? JSON.stringify(code) : String(code);
  } catch {
    shown = `a ${typeof code}`;
  }
  throw new RangeError(`res.status: ${shown} is not an HTTP status (an integer from 100 to 999, or a string of its digits)`);
};
const resMethods = {
  status(code) {
    const state = this[STATE];
    const status = httpStatus(code);
    if (!state.sent) {
      state.status = status;
      state.statusSet = true;
    }
    return this;
  },
  set(name, value) {
    const state = this[STATE];
    if (!state.sent) {
      const key = lower(name);
      const { headers } = state;
      for (let i = headers.length - 1; i >= 0; i--) if (headers[i][2] === key) headers.splice(i, 1);
      headers.push([String(name), String(value), key]);
    }
    return this;
  },
  append(name, value) {
    const state = this[STATE];
    if (!state.sent) state.headers.push([String(name), String(value), lower(name)]);
    return this;
  },
  get(name) {
    const { headers } = this[STATE];
    const at = findHeader(headers, lower(name));
    return at === -1 ? undefined : headers[at][1];
  },
  send(body) {
    const state = this[STATE];
    if (state.sent) return this;
    if (body instanceof ArrayBuffer) body = new Uint8Array(body);
    else if (ArrayBuffer.isView(body) && !(body instanceof Uint8Array)) {
      body = new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
    }
    if (body === undefined || body === null) body = '';
    if (!(body instanceof Uint8Array) && typeof body !== 'string') {
      if (typeof body === 'object') return this.json(body);
      body = String(body);
    }
    if (findHeader(state.headers, 'content-type') === -1) {
      state.headers.push([
        'Content-Type',
        typeof body === 'string' ? 'text/plain; charset=utf-8' : 'application/octet-stream',
        'content-type',
      ]);
    }
    state.body = body;
    state.sent = true;
    return this;
  },
  json(value) {
    const state = this[STATE];
    if (state.sent) return this;
    const text = JSON.stringify(value);
    if (findHeader(state.headers, 'content-type') === -1) {
      state.headers.push(['Content-Type', 'application/json', 'content-type']);
    }
    return this.send(text === undefined ? 'null' : text);
  },
  end(body) {
    return this.send(body);
  },
};
const RES_PROTO = Object.freeze(
  Object.defineProperties(Object.create(Object.prototype), {
    statusCode: {
      get() {
        return this[STATE].status;
      },
      set(code) {
        this.status(code);
      },
    },
    headersSent: {
      get() {
        return this[STATE].sent;
      },
    },
  }),
);
for (const key of Reflect.ownKeys(RES_PROTO)) {
  const { get, set } = Object.getOwnPropertyDescriptor(RES_PROTO, key);
  if (get) Object.freeze(get);
  if (set) Object.freeze(set);
}
const { status, set, append, get, send, json, end } = resMethods;
for (const method of [status, set, append, get, send, json, end]) Object.freeze(method);

const makeRes = (state) => {
  const res = Object.create(RES_PROTO);
  res.status = status;
  res.set = set;
  res.append = append;
  res.get = get;
  res.send = send;
  res.json = json;
  res.end = end;
  res[STATE] = state;
  return res;
};

// The dispatcher's result once the handler is done.
const finished = (state) => {
  if (!state.sent) {
    if (!state.statusSet) {
      throw new Error('the handler finished without sending a response (call res.send, res.json or res.status)');
    }
    state.body = '';
  }
  return state; // what the Rust side reads: status, headers, body
};

const isThenable = (value) =>
  value !== null && (typeof value === 'object' || typeof value === 'function') && typeof value.then === 'function';

const newState = () => ({ status: 200, statusSet: false, headers: [], body: null, sent: false });

// A handler that returns without a promise is answered at once; one that
// returns a promise (an async handler) is awaited.
const hbfStyle = (app, req) => {
  const state = newState();
  const result = app.handle(req, makeRes(state));
  if (isThenable(result)) return Promise.resolve(result).then(() => finished(state));
  return finished(state);
};

const fetchStyle = async (handler, req, headerList) => {
  const { Request, Response, takeStream, withSignal } = loadWeb();
  const pairs = [];
  for (let i = 0; i < headerList.length; i += 2) pairs.push([headerList[i], headerList[i + 1]]);
  requestAbort = null;
  const init = { method: req.method, headers: pairs };
  if (req.method !== 'GET' && req.method !== 'HEAD') init.body = req.bodyBytes;
  const request = withSignal(new Request(req.url, init), requestSignal);
  const later = [];
  const response = await handler.fetch(request, {}, makeCtx(later));
  if (!(response instanceof Response)) {
    throw new TypeError('fetch() must return a Response (or a promise of one)');
  }
  const headers = [...response.headers];
  const canStream = native.canStream();
  const stream = canStream ? takeStream(response) : null;
  if (stream !== null) {
    const sent = await sendStream(response.status, headers, stream);
    native.streamClose();
    await afterResponse(later);
    return sent;
  }
  const body = await response.bytes();
  if (later.length === 0) return { status: response.status, headers, body };
  // Work after the response (ctx.waitUntil): the client has its whole
  // answer first, then the work runs, still under the request's deadline.
  if (canStream) {
    native.streamHead(response.status, headers);
    if (body.length > 0) native.streamChunk(body);
    native.streamClose();
  }
  await afterResponse(later);
  return { status: response.status, headers, body };
};

// A fetch handler's `ctx` (as on Workers): `waitUntil(promise)` keeps the
// request running after its response, until the promise settles (never past
// the deadline); `passThroughOnException()` has nothing to pass through to.
const makeCtx = (later) => ({
    waitUntil(promise) {
      later.push(Promise.resolve(promise));
    },
    passThroughOnException() {},
  });

// Waits for the work of ctx.waitUntil, including work it adds meanwhile; a
// rejection is logged as the request's uncaught error, not its failure.
const afterResponse = async (later) => {
  for (let done = 0; done < later.length; done++) {
    try {
      await later[done];
    } catch (error) {
      native.log('error', `Uncaught (in ctx.waitUntil) ${format([error])}`);
    }
  }
};

// A stream body goes to the client chunk by chunk (engine/streaming.rs):
// the head first, then each chunk as the stream gives it, waiting while the
// client is slow; a client that went away cancels the stream.
const sendStream = async (status, headers, stream) => {
  native.streamHead(status, headers);
  const reader = stream.getReader();
  sending = reader;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (!(value instanceof Uint8Array)) {
      const error = new TypeError('a body stream must give Uint8Array chunks');
      reader.cancel(error).catch(() => {});
      throw error;
    }
    if (!native.streamChunk(value)) {
      abortRequest();
      break;
    }
  }
  sending = null;
  return { status, headers, body: new Uint8Array(0) };
};

// The `req` object of SPEC 4.
const makeReq = (id, method, url, path, query, headers, body, bodyBytes) => ({
  id,
  method,
  url,
  path,
  query,
  headers,
  params: {},
  body,
  bodyBytes,
});

// QuickJS gives an object its shape one property at a time, through a shape for
// each prefix of its keys, and frees a shape with the last object that has it:
// the objects made for every request (req, res, its state) would build all of
// those shapes again each time. In a context kept for many requests the Rust
// side calls this once: one object per prefix is kept (in this module, so as
// long as the context lives), and each step becomes a lookup.
let keptShapes = null;
const prefixes = (template) => {
  const keys = Reflect.ownKeys(template);
  const kept = [];
  for (let n = 0; n <= keys.length; n++) {
    const object = Object.create(Object.getPrototypeOf(template));
    for (let i = 0; i < n; i++) object[keys[i]] = template[keys[i]];
    kept.push(object);
  }
  return kept;
};
export const keepShapes = () => {
  keptShapes ??= [makeReq(0, '', '', '', '', {}, '', null), makeRes(newState()), newState()].flatMap(prefixes);
};

// A snapshot (engine/snapshot.rs) is taken once and put back after every
// request, so what a request would load on first use is loaded before it:
// the Web APIs, and the shapes of the objects a fetch-style request makes.
export const warmWebApis = () => {
  for (const lazy of LAZY) loadApis(lazy);
  const { Request, Response, Headers, URL } = loadWeb();
  const headers = new Headers([['content-type', 'text/plain']]);
  keptShapes.push(
    headers,
    new Request('http://localhost/?q=1', { headers }),
    Response.json({}),
    new Response(''),
    new URL('http://localhost/?q=1'),
  );
};

// Called by the Rust side with the module namespace of hbf/server.js and the
// parts of the request (see makeReq; `headerList` is every header in arrival
// order, `[name, value, ...]`, for the fetch style).
export const dispatch = (namespace, id, method, url, path, query, headers, headerList, body, bodyBytes) => {
  const req = makeReq(id, method, url, path, query, headers, body, bodyBytes);
  const fetchHandler = namespace.default;
  if (fetchHandler && typeof fetchHandler.fetch === 'function') return fetchStyle(fetchHandler, req, headerList);
  const app = globalThis.app;
  if (app && typeof app.handle === 'function') return hbfStyle(app, req);
  throw new TypeError(
    'hbf/server.js must set globalThis.app = { handle(req, res) } or export default { fetch(request) }',
  );
};
