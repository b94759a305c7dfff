// The Streams standard's globals and the platform's own streams: the stream
// classes are web-streams-polyfill's port of the standard's reference
// implementation (js/vendor, tools/vendor-streams.sh); on top of them here,
// TextEncoderStream and TextDecoderStream (the Encoding standard) and
// CompressionStream and DecompressionStream (the Compression standard; the
// codecs are flate2's, host/compression.rs, dropped when the request ends).
// Loaded by the prelude on first use; `make(native, web)` gets the natives
// and js/web.js's API (TextDecoder).

export const make = (native, web) => {
  const ponyfill = native.streamsPonyfill();
  const { TransformStream } = ponyfill;

  const isBufferSource = (chunk) => chunk instanceof ArrayBuffer || ArrayBuffer.isView(chunk);

  // TextEncoderStream: strings in, UTF-8 out; a lead surrogate at the end of
  // a chunk waits for the next (Encoding standard, "encode and enqueue").
  class TextEncoderStream {
    #transform;
    constructor() {
      let pending = '';
      this.#transform = new TransformStream({
        transform(chunk, controller) {
          let text = pending + String(chunk);
          pending = '';
          const last = text.charCodeAt(text.length - 1);
          if (last >= 0xd800 && last <= 0xdbff) {
            pending = text.slice(-1);
            text = text.slice(0, -1);
          }
          if (text.length > 0) controller.enqueue(native.utf8Encode(text.toWellFormed()));
        },
        flush(controller) {
          if (pending) controller.enqueue(new Uint8Array([0xef, 0xbf, 0xbd]));
        },
      });
    }
    get encoding() { return 'utf-8'; }
    get readable() { return this.#transform.readable; }
    get writable() { return this.#transform.writable; }
    get [Symbol.toStringTag]() { return 'TextEncoderStream'; }
  }

  // TextDecoderStream: bytes in, text out, through one streaming TextDecoder.
  class TextDecoderStream {
    #decoder;
    #transform;
    constructor(label = 'utf-8', options = {}) {
      const decoder = new web.TextDecoder(label, options);
      this.#decoder = decoder;
      this.#transform = new TransformStream({
        transform(chunk, controller) {
          if (!isBufferSource(chunk)) throw new TypeError('TextDecoderStream: a chunk must be an ArrayBuffer or a view of one');
          const text = decoder.decode(chunk, { stream: true });
          if (text) controller.enqueue(text);
        },
        flush(controller) {
          const text = decoder.decode();
          if (text) controller.enqueue(text);
        },
      });
    }
    get encoding() { return this.#decoder.encoding; }
    get fatal() { return this.#decoder.fatal; }
    get ignoreBOM() { return this.#decoder.ignoreBOM; }
    get readable() { return this.#transform.readable; }
    get writable() { return this.#transform.writable; }
    get [Symbol.toStringTag]() { return 'TextDecoderStream'; }
  }

  const FORMATS = ['gzip', 'deflate', 'deflate-raw'];
  // A TransformStream over a native codec; its output comes in pieces of at
  // most 64 KiB, so inflating a small chunk never makes one huge allocation.
  const codecStream = (name, format, decompress) => {
    const f = String(format);
    if (!FORMATS.includes(f)) throw new TypeError(`${name}: '${f}' is not a supported format (gzip, deflate, deflate-raw)`);
    const id = native.zOpen(f, decompress);
    const drain = (controller) => {
      // zPull gives undefined when the input is used up.
      for (let out = native.zPull(id); out !== undefined; out = native.zPull(id)) controller.enqueue(out);
    };
    return new TransformStream({
      transform(chunk, controller) {
        if (!isBufferSource(chunk)) {
          native.zClose(id);
          throw new TypeError(`${name}: a chunk must be an ArrayBuffer or a view of one`);
        }
        native.zWrite(id, chunk);
        drain(controller);
      },
      flush(controller) {
        drain(controller);
        const last = native.zFinish(id);
        if (last.length > 0) controller.enqueue(last);
      },
      cancel() {
        native.zClose(id);
      },
    });
  };

  class CompressionStream {
    #transform;
    constructor(format) {
      if (arguments.length < 1) throw new TypeError('CompressionStream needs a format');
      this.#transform = codecStream('CompressionStream', format, false);
    }
    get readable() { return this.#transform.readable; }
    get writable() { return this.#transform.writable; }
    get [Symbol.toStringTag]() { return 'CompressionStream'; }
  }

  class DecompressionStream {
    #transform;
    constructor(format) {
      if (arguments.length < 1) throw new TypeError('DecompressionStream needs a format');
      this.#transform = codecStream('DecompressionStream', format, true);
    }
    get readable() { return this.#transform.readable; }
    get writable() { return this.#transform.writable; }
    get [Symbol.toStringTag]() { return 'DecompressionStream'; }
  }

  return { ...ponyfill, TextEncoderStream, TextDecoderStream, CompressionStream, DecompressionStream };
};
