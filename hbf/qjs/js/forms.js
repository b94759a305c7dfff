// Blob, File and FormData (the File API and the XMLHttpRequest standard's
// FormData), and the two form encodings a body can have: multipart/form-data
// (parsed natively by multer, host/multipart.rs; written here) and
// application/x-www-form-urlencoded (through URLSearchParams, given by
// js/web.js). Loaded by js/web.js, which makes bodies of them.
//
// A Blob's bytes are private (a #field), never handed out: every read is a
// copy, so a Blob is immutable as the standard says, and `slice` can share.

export const make = (native, URLSearchParams, loadStreams) => {
  const usv = (value) => {
    const s = String(value);
    return typeof s.toWellFormed === 'function' ? s.toWellFormed() : s;
  };
  const utf8 = (s) => native.utf8Encode(s);
  const copy = (bytes) => bytes.slice(0);

  // A view's or buffer's bytes, as a Uint8Array over the same memory.
  const viewOf = (part) => {
    if (part instanceof ArrayBuffer) return new Uint8Array(part);
    if (ArrayBuffer.isView(part)) return new Uint8Array(part.buffer, part.byteOffset, part.byteLength);
    return null;
  };

  // A type is kept only if it is printable ASCII, lower-cased (File API).
  const normalizeType = (type) => {
    const t = type === undefined ? '' : String(type);
    return /^[\x20-\x7e]*$/.test(t) ? t.toLowerCase() : '';
  };

  // Relative slice bounds (File API's slice): negative counts from the end.
  const bound = (value, size, fallback) => {
    if (value === undefined) return fallback;
    const n = Math.trunc(Number(value)) || 0;
    return n < 0 ? Math.max(size + n, 0) : Math.min(n, size);
  };

  const bytesOf = new WeakMap(); // Blob -> its private Uint8Array

  class Blob {
    constructor(blobParts = undefined, options = undefined) {
      const type = normalizeType(options?.type);
      const endings = options?.endings === undefined ? 'transparent' : String(options.endings);
      if (endings !== 'transparent' && endings !== 'native') {
        throw new TypeError(`Blob: endings must be 'transparent' or 'native', got '${endings}'`);
      }
      const chunks = [];
      if (blobParts !== undefined) {
        if (blobParts === null || typeof blobParts !== 'object' || typeof blobParts[Symbol.iterator] !== 'function') {
          throw new TypeError('Blob: the parts must be a sequence (an array or another iterable)');
        }
        for (const part of blobParts) {
          const view = viewOf(part);
          if (view) chunks.push(copy(view));
          else if (part instanceof Blob) chunks.push(bytesOf.get(part));
          else {
            let text = usv(part);
            if (endings === 'native') text = text.replace(/\r\n|\r/g, '\n');
            chunks.push(utf8(text));
          }
        }
      }
      let size = 0;
      for (const c of chunks) size += c.length;
      const bytes = new Uint8Array(size);
      let at = 0;
      for (const c of chunks) {
        bytes.set(c, at);
        at += c.length;
      }
      bytesOf.set(this, bytes);
      this.#type = type;
    }
    #type;
    get size() { return bytesOf.get(this).length; }
    get type() { return this.#type; }
    slice(start = undefined, end = undefined, contentType = undefined) {
      const bytes = bytesOf.get(this);
      const from = bound(start, bytes.length, 0);
      const to = bound(end, bytes.length, bytes.length);
      const blob = new Blob([], { type: contentType });
      bytesOf.set(blob, bytes.subarray(from, Math.max(from, to)));
      return blob;
    }
    async bytes() { return copy(bytesOf.get(this)); }
    async arrayBuffer() { return copy(bytesOf.get(this)).buffer; }
    async text() { return native.decode('utf-8', bytesOf.get(this), false); }
    stream() {
      const bytes = bytesOf.get(this);
      return new (loadStreams().ReadableStream)({
        type: 'bytes',
        pull(controller) {
          if (bytes.length > 0) controller.enqueue(copy(bytes));
          controller.close();
        },
      });
    }
    get [Symbol.toStringTag]() { return 'Blob'; }
  }

  class File extends Blob {
    #name;
    #lastModified;
    constructor(fileBits, fileName, options = undefined) {
      if (arguments.length < 2) throw new TypeError('File: a file needs its bits and a name');
      super(fileBits, options);
      this.#name = usv(fileName);
      const modified = options?.lastModified;
      this.#lastModified = modified === undefined ? Date.now() : Math.trunc(Number(modified)) || 0;
    }
    get name() { return this.#name; }
    get lastModified() { return this.#lastModified; }
    get webkitRelativePath() { return ''; }
    get [Symbol.toStringTag]() { return 'File'; }
  }

  // The bytes of a Blob, for bodies (the Blob keeps its own).
  const blobBytes = (blob) => bytesOf.get(blob);

  // XMLHttpRequest's "create an entry": a Blob becomes a File, named by
  // `filename`, its own name, or 'blob'.
  const entry = (name, value, filename, args) => {
    if (value instanceof Blob) {
      const named = args > 2 ? usv(filename) : value instanceof File ? value.name : 'blob';
      if (!(value instanceof File) || args > 2) {
        const file = new File([], named, {
          type: value.type,
          lastModified: value instanceof File ? value.lastModified : undefined,
        });
        bytesOf.set(file, bytesOf.get(value));
        value = file;
      }
      return [usv(name), value];
    }
    if (args > 2) throw new TypeError('FormData: a file name is only for a Blob value');
    return [usv(name), usv(value)];
  };

  class FormData {
    #list = [];
    constructor(form = undefined) {
      if (form !== undefined) throw new TypeError('FormData: there are no HTML forms here; construct it empty');
    }
    append(name, value, filename) {
      if (arguments.length < 2) throw new TypeError('FormData.append needs a name and a value');
      this.#list.push(entry(name, value, filename, arguments.length));
    }
    set(name, value, filename) {
      if (arguments.length < 2) throw new TypeError('FormData.set needs a name and a value');
      const item = entry(name, value, filename, arguments.length);
      const first = this.#list.findIndex(([n]) => n === item[0]);
      if (first === -1) this.#list.push(item);
      else {
        this.#list[first] = item;
        this.#list = this.#list.filter(([n], i) => i <= first || n !== item[0]);
      }
    }
    delete(name) {
      const n = usv(name);
      this.#list = this.#list.filter(([k]) => k !== n);
    }
    get(name) {
      const n = usv(name);
      const found = this.#list.find(([k]) => k === n);
      return found ? found[1] : null;
    }
    getAll(name) {
      const n = usv(name);
      return this.#list.filter(([k]) => k === n).map(([, v]) => v);
    }
    has(name) {
      const n = usv(name);
      return this.#list.some(([k]) => k === n);
    }
    forEach(fn, thisArg = undefined) {
      if (typeof fn !== 'function') throw new TypeError('FormData.forEach needs a function');
      for (const [k, v] of this) fn.call(thisArg, v, k, this);
    }
    *entries() {
      for (let i = 0; i < this.#list.length; i++) yield [this.#list[i][0], this.#list[i][1]];
    }
    *keys() { for (const [k] of this.entries()) yield k; }
    *values() { for (const [, v] of this.entries()) yield v; }
    [Symbol.iterator]() { return this.entries(); }
    get [Symbol.toStringTag]() { return 'FormData'; }
  }

  // ---- the multipart/form-data encoding (HTML's algorithm) ------------------
  const crlf = (s) => s.replace(/\r\n|\r|\n/g, '\r\n');
  const escapeName = (s) => s.replace(/\n/g, '%0A').replace(/\r/g, '%0D').replace(/"/g, '%22');
  const hex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');

  // The body and Content-Type of `form`, with a new random boundary.
  const encodeMultipart = (form) => {
    const boundary = `----hbf-form-${hex(native.randomBytes(16))}`;
    const chunks = [];
    for (const [name, value] of form) {
      let head = `--${boundary}\r\nContent-Disposition: form-data; name="${escapeName(crlf(name))}"`;
      if (value instanceof File) {
        head += `; filename="${escapeName(value.name)}"\r\nContent-Type: ${value.type || 'application/octet-stream'}\r\n\r\n`;
        chunks.push(utf8(head), bytesOf.get(value), utf8('\r\n'));
      } else {
        chunks.push(utf8(`${head}\r\n\r\n${crlf(value)}\r\n`));
      }
    }
    chunks.push(utf8(`--${boundary}--\r\n`));
    return [new Blob(chunks), `multipart/form-data; boundary=${boundary}`];
  };

  // The boundary parameter of a multipart/form-data Content-Type, or null.
  const boundaryOf = (contentType) => {
    const match = /;\s*boundary\s*=\s*(?:"([^"]*)"|([^;\s]+))/i.exec(contentType);
    return match ? (match[1] ?? match[2]) : null;
  };

  // Fetch's "package data" for FormData: a body's bytes as a FormData, by
  // its Content-Type. A body that does not parse is a TypeError.
  const decodeForm = (contentType, bytes) => {
    const essence = String(contentType ?? '').split(';')[0].trim().toLowerCase();
    const form = new FormData();
    if (essence === 'multipart/form-data') {
      const boundary = boundaryOf(contentType);
      if (!boundary) throw new TypeError('formData(): the multipart/form-data Content-Type has no boundary');
      const parts = native.parseMultipart(bytes, boundary);
      for (let i = 0; i < parts.length; i += 4) {
        const [name, filename, type, data] = [parts[i], parts[i + 1], parts[i + 2], parts[i + 3]];
        if (filename === null || filename === undefined) {
          form.append(name, native.decode('utf-8', data, false));
        } else {
          const file = new File([], filename, { type: type ?? '' });
          bytesOf.set(file, data);
          form.append(name, file);
        }
      }
      return form;
    }
    if (essence === 'application/x-www-form-urlencoded') {
      const params = new URLSearchParams(native.decode('utf-8', bytes, false));
      for (const [name, value] of params) form.append(name, value);
      return form;
    }
    throw new TypeError(
      `formData(): the body's Content-Type must be multipart/form-data or application/x-www-form-urlencoded, not '${essence}'`,
    );
  };

  return { Blob, File, FormData, blobBytes, encodeMultipart, decodeForm };
};
