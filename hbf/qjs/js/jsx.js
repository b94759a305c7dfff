// hbf:jsx — HBF's built-in JSX runtime, for server-side rendering.
//
// A pod's .tsx/.jsx modules compile to calls of `jsx`/`jsxs` (and `Fragment`)
// imported from `hbf:jsx/jsx-runtime` (the automatic runtime), unless
// hbf/tsconfig.json names another jsxImportSource. `renderToString(element)`
// turns an element tree into HTML: components (functions) are called with their
// props, text and attribute values are HTML-escaped, void elements have no
// closing tag, `dangerouslySetInnerHTML: { __html }` inserts HTML as is.
// Elements are plain frozen objects, so they can be built in one module and
// rendered in another, and `String(element)` renders too.

const ELEMENT = Symbol.for('hbf.jsx.element');

/** The fragment: renders only its children. */
export const Fragment = Symbol.for('hbf.jsx.fragment');

const VOID = new Set([
  'area', 'base', 'br', 'col', 'embed', 'hr', 'img', 'input', 'link', 'meta',
  'source', 'track', 'wbr',
]);

// Attribute names as React spells them -> as HTML does.
const RENAMED = { className: 'class', htmlFor: 'for', httpEquiv: 'http-equiv', acceptCharset: 'accept-charset' };

const VALID_NAME = /^[a-zA-Z_:][a-zA-Z0-9_.:-]*$/;

function toString() {
  return renderToString(this);
}

/** An element: `type` is a tag name, a component function or `Fragment`. */
export function jsx(type, props, key) {
  return Object.freeze({ $$typeof: ELEMENT, type, props: props ?? {}, key: key ?? null, toString });
}

/** The same as `jsx`; the compiler uses it when the children are a static array. */
export const jsxs = jsx;
/** The development runtime's entry point, for pods that compile with it. */
export const jsxDEV = jsx;

/** `h(type, props, ...children)`: the classic call, for code without JSX. */
export function h(type, props, ...children) {
  const all = { ...(props ?? {}) };
  if (children.length === 1) all.children = children[0];
  else if (children.length > 1) all.children = children;
  return jsx(type, all, all.key);
}

/** True for what `jsx` returns. */
export function isValidElement(value) {
  return value !== null && typeof value === 'object' && value.$$typeof === ELEMENT;
}

const ESCAPES = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** `text` with `& < > " '` escaped: safe as HTML text and as a quoted attribute value. */
export function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

function styleText(style) {
  if (typeof style !== 'object' || style === null) return String(style);
  let out = '';
  for (const [name, value] of Object.entries(style)) {
    if (value === null || value === undefined || value === false || value === '') continue;
    const prop = name.startsWith('--') ? name : name.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());
    out += (out ? ';' : '') + prop + ':' + value;
  }
  return out;
}

function attributes(props) {
  let out = '';
  for (const [name, value] of Object.entries(props)) {
    if (name === 'children' || name === 'key' || name === 'ref' || name === 'dangerouslySetInnerHTML') continue;
    if (value === null || value === undefined || value === false || typeof value === 'function') continue;
    const attr = RENAMED[name] ?? name;
    if (!VALID_NAME.test(attr)) throw new TypeError(`hbf:jsx: invalid attribute name ${JSON.stringify(name)}`);
    if (value === true) out += ' ' + attr;
    else out += ' ' + attr + '="' + escapeHtml(attr === 'style' ? styleText(value) : value) + '"';
  }
  return out;
}

function render(node, out) {
  if (node === null || node === undefined || typeof node === 'boolean') return;
  if (Array.isArray(node)) {
    for (const child of node) render(child, out);
    return;
  }
  if (!isValidElement(node)) {
    out.push(escapeHtml(node));
    return;
  }
  const { type, props } = node;
  if (type === Fragment) {
    render(props.children, out);
    return;
  }
  if (typeof type === 'function') {
    render(type(props), out);
    return;
  }
  if (typeof type !== 'string' || !VALID_NAME.test(type)) {
    throw new TypeError(`hbf:jsx: cannot render an element of type ${String(type)}`);
  }
  out.push('<' + type + attributes(props) + '>');
  if (VOID.has(type)) return;
  const inner = props.dangerouslySetInnerHTML;
  if (inner !== null && inner !== undefined) out.push(String(inner.__html ?? ''));
  else render(props.children, out);
  out.push('</' + type + '>');
}

/** The HTML of an element tree (or of any child value: text, numbers, arrays). */
export function renderToString(node) {
  const out = [];
  render(node, out);
  return out.join('');
}

export default { jsx, jsxs, jsxDEV, h, Fragment, renderToString, escapeHtml, isValidElement };
