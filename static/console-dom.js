// Small DOM helpers for the console. Everything a visitor or colleague wrote is put into the
// page with textContent (through h()), never as HTML: a "<script>" in a name stays text.

/** document.getElementById, failing loudly when the template and the code disagree. */
export function $(id) {
  const el = document.getElementById(id);
  if (!el) throw new Error(`console: no element #${id}`);
  return el;
}

/**
 * Create an element. `props`: attributes (strings; `class`, `aria-*`, `data-*`, …), event
 * handlers as `on<event>` functions, and booleans for boolean attributes (`hidden`,
 * `disabled`). Children: nodes or strings (as text), nested arrays; null/false are skipped.
 */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** Replace an element's children. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** "0:42", "12:05", "1:02:03" for a duration in ms. */
export function duration(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  const hh = Math.floor(s / 3600);
  const mm = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return hh ? `${hh}:${String(mm).padStart(2, '0')}:${ss}` : `${mm}:${ss}`;
}

const timeFmt = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const dateFmt = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

/** Clock time of a Unix ms instant. */
export const clock = (ms) => timeFmt.format(new Date(ms));
/** Date and time of a Unix ms instant. */
export const dateTime = (ms) => dateFmt.format(new Date(ms));

/** A URL safe to put in an href: http(s) only (a visitor's page could be "javascript:…"). */
export function safeHref(url) {
  try {
    const u = new URL(url);
    return u.protocol === 'http:' || u.protocol === 'https:' ? u.href : null;
  } catch {
    return null;
  }
}

/** A random id for exactly-once sending (crypto.randomUUID needs a secure context). */
export function randomId() {
  const b = crypto.getRandomValues(new Uint8Array(12));
  return 'c-' + Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

/** Show a short notice at the bottom of the page for a few seconds. */
let toastTimer = null;
export function toast(text) {
  const el = $('toast');
  el.textContent = text;
  el.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => (el.hidden = true), 6000);
}
