// Small DOM helpers. User text only ever reaches the page through text nodes
// (textContent / createTextNode), never through markup.

import { icon } from './icons.js';

export { icon };

const PROPS = new Set(['value', 'checked', 'disabled', 'hidden', 'muted', 'loop', 'autoplay', 'playsInline', 'selected', 'indeterminate', 'defaultMuted']);

/**
 * h('button', {class: 'x', onclick: fn, 'aria-label': 'Like'}, child, 'text')
 * `text` sets textContent; `on*` functions become listeners; `dataset` and
 * `style` take objects; booleans toggle attributes.
 */
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  if (props) {
    for (const [key, value] of Object.entries(props)) {
      if (value === undefined || value === null || value === false) {
        if (PROPS.has(key) && value === false) el[key] = false;
        continue;
      }
      if (key === 'class') el.className = value;
      else if (key === 'text') el.textContent = String(value);
      else if (key === 'dataset') Object.assign(el.dataset, value);
      else if (key === 'style' && typeof value === 'object') Object.assign(el.style, value);
      else if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
      else if (PROPS.has(key)) el[key] = value;
      else if (value === true) el.setAttribute(key, '');
      else el.setAttribute(key, String(value));
    }
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

/** A button with an icon and an accessible name (visible label optional). */
export function iconButton(name, label, { onclick, className = 'icon-btn', showLabel = false, size = 24, ...rest } = {}) {
  return h(
    'button',
    { type: 'button', class: className, 'aria-label': showLabel ? undefined : label, onclick, ...rest },
    icon(name, { size }),
    showLabel ? h('span', { text: label }) : null,
  );
}

export function clear(el) {
  while (el.firstChild) el.firstChild.remove();
}

// ---------- formatting ----------

export function fmtCount(n) {
  const v = Number(n) || 0;
  if (v < 1000) return String(v);
  if (v < 10_000) return `${(v / 1000).toFixed(1).replace(/\.0$/, '')}K`;
  if (v < 1_000_000) return `${Math.floor(v / 1000)}K`;
  if (v < 10_000_000) return `${(v / 1e6).toFixed(1).replace(/\.0$/, '')}M`;
  return `${Math.floor(v / 1e6)}M`;
}

export function plural(n, one, many = `${one}s`) {
  return `${fmtCount(n)} ${Number(n) === 1 ? one : many}`;
}

export function timeAgo(ms) {
  const t = Number(ms);
  if (!t) return '';
  const s = Math.max(0, (Date.now() - t) / 1000);
  if (s < 60) return 'just now';
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ago`;
  if (s < 7 * 86400) return `${Math.floor(s / 86400)}d ago`;
  return new Date(t).toLocaleDateString(undefined, { month: 'short', day: 'numeric', year: s > 300 * 86400 ? 'numeric' : undefined });
}

export function fmtDuration(ms) {
  const s = Math.round((Number(ms) || 0) / 1000);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

export function fmtBytes(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(0)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

// ---------- rich text: #hashtags and @mentions as links ----------

const TAG_CHAR = /[\p{L}\p{N}_]/u;
const HANDLE_CHAR = /[A-Za-z0-9_.]/;
const WORD_CHAR = /[\p{L}\p{N}_]/u;
const HANDLE_RE = /^[a-z0-9][a-z0-9_.]{1,29}$/;

/**
 * Splits text into text nodes and links for `#tag` and `@handle`, the same
 * way the server finds them (a sigil only counts at the start of a word).
 */
export function richText(text) {
  const frag = document.createDocumentFragment();
  const s = String(text || '');
  const chars = Array.from(s);
  let plain = '';
  let i = 0;
  const flush = () => {
    if (plain) frag.append(document.createTextNode(plain));
    plain = '';
  };
  while (i < chars.length) {
    const c = chars[i];
    const prev = i > 0 ? chars[i - 1] : '';
    if ((c === '#' || c === '@') && !(prev && WORD_CHAR.test(prev))) {
      const isTag = c === '#';
      let j = i + 1;
      while (j < chars.length && (isTag ? TAG_CHAR.test(chars[j]) : HANDLE_CHAR.test(chars[j]))) j++;
      let token = chars.slice(i + 1, j).join('');
      if (!isTag) {
        const trimmed = token.replace(/\.+$/, '');
        j -= token.length - trimmed.length;
        token = trimmed;
      }
      const valid = isTag ? token.length > 0 : HANDLE_RE.test(token.toLowerCase());
      if (valid) {
        flush();
        const href = isTag ? `#/tag/${encodeURIComponent(token.toLowerCase())}` : `#/u/${encodeURIComponent(token.toLowerCase())}`;
        frag.append(h('a', { href, class: isTag ? 'tag-link' : 'mention-link', text: c + token }));
        i = j;
        continue;
      }
    }
    plain += c;
    i++;
  }
  flush();
  return frag;
}

// ---------- avatars ----------

function hue(str) {
  let x = 0;
  for (const ch of String(str)) x = (x * 31 + ch.codePointAt(0)) % 360;
  return x;
}

/** A round avatar with the first letter of the name on a colour of the handle. */
export function avatar(user, size = 48) {
  const handle = (user && user.handle) || '?';
  const name = (user && (user.display_name || user.handle)) || '?';
  const letter = Array.from(name.trim() || '?')[0].toUpperCase();
  const hh = hue(handle);
  return h('span', {
    class: 'avatar',
    'aria-hidden': 'true',
    text: letter,
    style: {
      width: `${size}px`,
      height: `${size}px`,
      fontSize: `${Math.round(size * 0.42)}px`,
      background: `linear-gradient(135deg, hsl(${hh} 70% 55%), hsl(${(hh + 40) % 360} 75% 40%))`,
    },
  });
}

// ---------- toasts ----------

let toastRegion = null;

export function toast(message, { kind = 'info', duration = 3200 } = {}) {
  if (!toastRegion) {
    toastRegion = document.getElementById('toasts');
    if (!toastRegion) return;
  }
  const el = h('div', { class: `toast toast-${kind}`, role: kind === 'error' ? 'alert' : 'status' },
    icon(kind === 'error' ? 'alert' : kind === 'success' ? 'check' : 'info', { size: 18 }),
    h('span', { text: message }));
  toastRegion.append(el);
  while (toastRegion.children.length > 3) toastRegion.firstElementChild.remove();
  requestAnimationFrame(() => el.classList.add('show'));
  setTimeout(() => {
    el.classList.remove('show');
    setTimeout(() => el.remove(), 300);
  }, duration);
}

export function toastError(err) {
  const msg = (err && err.message) || 'Something went wrong.';
  toast(msg, { kind: 'error', duration: 4500 });
}

// ---------- modal sheets and dialogs ----------

export function dialogOpen() {
  return Boolean(document.querySelector('dialog[open]'));
}

/**
 * A modal bottom sheet. `build(body, close)` fills it. Escape, the close
 * button and a tap outside close it; `close()` resolves once it is gone.
 */
export function openSheet({ title, className = '', build, onClose, labelId }) {
  const titleId = labelId || `sheet-title-${Math.random().toString(36).slice(2, 8)}`;
  const heading = h('h2', { id: titleId, class: 'sheet-title', text: title });
  const body = h('div', { class: 'sheet-body' });
  const dialog = h('dialog', { class: `sheet ${className}`.trim(), 'aria-labelledby': titleId },
    h('div', { class: 'sheet-panel' },
      h('div', { class: 'sheet-grip', 'aria-hidden': 'true' }),
      h('header', { class: 'sheet-header' }, heading,
        iconButton('close', 'Close', { className: 'icon-btn sheet-close', onclick: () => close() })),
      body));
  let closed = false;
  let resolveClosed;
  const closedPromise = new Promise((r) => (resolveClosed = r));
  function close() {
    if (closed) return closedPromise;
    closed = true;
    dialog.classList.add('closing');
    setTimeout(() => {
      if (dialog.open) dialog.close();
      dialog.remove();
      if (onClose) onClose();
      resolveClosed();
    }, 160);
    return closedPromise;
  }
  dialog.addEventListener('cancel', (e) => {
    e.preventDefault();
    close();
  });
  dialog.addEventListener('click', (e) => {
    if (e.target === dialog) close();
  });
  document.body.append(dialog);
  build(body, close, { heading });
  dialog.showModal();
  return { close, dialog, body, heading, closed: closedPromise };
}

/** A confirmation dialog; resolves true when confirmed. */
export function confirmDialog({ title, message, confirmLabel = 'Confirm', danger = false }) {
  return new Promise((resolve) => {
    let result = false;
    openSheet({
      title,
      className: 'sheet-dialog',
      onClose: () => resolve(result),
      build(body, close) {
        body.append(
          h('p', { class: 'dialog-message', text: message }),
          h('div', { class: 'dialog-actions' },
            h('button', { type: 'button', class: 'btn btn-secondary', text: 'Cancel', onclick: () => close() }),
            h('button', {
              type: 'button',
              class: `btn ${danger ? 'btn-danger' : 'btn-primary'}`,
              text: confirmLabel,
              onclick: () => {
                result = true;
                close();
              },
            })));
        setTimeout(() => body.querySelector('.btn-secondary').focus(), 0);
      },
    });
  });
}

/** Copies text; falls back to a hidden textarea. Resolves whether it worked. */
export async function copyText(text) {
  try {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(text);
      return true;
    }
  } catch {
    /* fall through */
  }
  const ta = h('textarea', { class: 'visually-hidden', readonly: true, 'aria-hidden': 'true', tabindex: '-1' });
  ta.value = text;
  document.body.append(ta);
  ta.select();
  let ok = false;
  try {
    ok = document.execCommand('copy');
  } catch {
    ok = false;
  }
  ta.remove();
  return ok;
}

export function spinner(label = 'Loading') {
  return h('div', { class: 'spinner', role: 'status', 'aria-label': label });
}

/** A centered empty / error state with optional actions. */
export function stateBox({ iconName = 'info', title, text, actions = [] }) {
  return h('div', { class: 'state-box' },
    h('div', { class: 'state-icon' }, icon(iconName, { size: 36 })),
    title ? h('h2', { class: 'state-title', text: title }) : null,
    text ? h('p', { class: 'state-text', text }) : null,
    actions.length ? h('div', { class: 'state-actions' }, actions) : null);
}
