// URLPattern, as the WHATWG URL Pattern standard defines it. Parsing and
// matching are native (the `urlpattern` crate, host/urlpattern.rs, whose
// regular expressions are the `regex` crate's: linear time); this object
// keeps the pattern's input and the component strings the parser returned,
// and gives the input back with every match (nothing compiled lives here).
// Loaded by the prelude on first use (a snapshot loads it before it is
// taken); `make(native)` receives the native bindings.

export const make = (native) => {
  // A USVString: lone surrogates become U+FFFD, as WebIDL converts them.
  const usv = (value) => {
    const s = String(value);
    return typeof s.toWellFormed === 'function' ? s.toWellFormed() : s;
  };
  // WebIDL's URLPatternInit, its members read in lexicographic order; what
  // is undefined stays absent.
  const INIT_MEMBERS = ['baseURL', 'hash', 'hostname', 'password', 'pathname', 'port', 'protocol', 'search', 'username'];
  const toInit = (value) => {
    const init = {};
    if (value === undefined || value === null) return init;
    for (const member of INIT_MEMBERS) {
      const v = value[member];
      if (v !== undefined) init[member] = usv(v);
    }
    return init;
  };
  // A URLPatternInput: a string, or (undefined, null, any object) a dictionary.
  const toInput = (value) => (value === undefined || value === null || typeof value === 'object' || typeof value === 'function'
    ? toInit(value)
    : usv(value));
  const COMPONENTS = ['protocol', 'username', 'password', 'hostname', 'port', 'pathname', 'search', 'hash'];

  class URLPattern {
    #input;
    #base;
    #ignoreCase;
    #parts;

    // (input, baseURL, options) or (input, options): a second argument that
    // is a dictionary (an object, undefined, null) is the options.
    constructor(input = undefined, baseURL = undefined, options = undefined) {
      let base;
      if (arguments.length >= 3 || (baseURL !== undefined && baseURL !== null && typeof baseURL !== 'object' && typeof baseURL !== 'function')) {
        base = usv(baseURL);
      } else {
        options = baseURL;
      }
      const ignoreCase = options === undefined || options === null ? false : Boolean(options.ignoreCase);
      this.#input = toInput(input);
      this.#base = base;
      this.#ignoreCase = ignoreCase;
      this.#parts = native.urlPatternCompile(this.#input, ignoreCase, base);
    }

    #match(input, baseURL, exec) {
      const target = toInput(input);
      const base = baseURL === undefined ? undefined : usv(baseURL);
      const found = native.urlPatternMatch(this.#input, this.#ignoreCase, this.#base, target, base, exec);
      if (!exec || found === null) return found !== null;
      const result = { inputs: base === undefined ? [target] : [target, base] };
      for (let i = 0; i < COMPONENTS.length; i++) {
        result[COMPONENTS[i]] = { input: found[i][0], groups: found[i][1] };
      }
      return result;
    }

    test(input = undefined, baseURL = undefined) {
      return this.#match(input, baseURL, false);
    }

    exec(input = undefined, baseURL = undefined) {
      return this.#match(input, baseURL, true) || null;
    }

    get protocol() { return this.#parts[0]; }
    get username() { return this.#parts[1]; }
    get password() { return this.#parts[2]; }
    get hostname() { return this.#parts[3]; }
    get port() { return this.#parts[4]; }
    get pathname() { return this.#parts[5]; }
    get search() { return this.#parts[6]; }
    get hash() { return this.#parts[7]; }
    get hasRegExpGroups() { return this.#parts[8]; }
    get [Symbol.toStringTag]() { return 'URLPattern'; }
  }

  return { URLPattern };
};
