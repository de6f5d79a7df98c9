// Talking to the Flick HTTP API: JSON requests, uploads with progress and
// authenticated downloads.
//
// The session itself is the HttpOnly `flick_session` cookie the server sets
// at login: no script, ours or an injected one, can read the token, and the
// browser sends it with every same-origin request. localStorage keeps only
// who is logged in (id and handle), to draw the UI before the first answer.

const USER_KEY = 'flick.user';
// Written by sessions from before the cookie-only change; removed on sight.
const OLD_TOKEN_KEY = 'flick.token';
localStorage.removeItem(OLD_TOKEN_KEY);
const BASE = '/api/v1';

/** An error answered by the API (`{code, message}`), or a network failure (status 0). */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
  }
}

const listeners = new Set();

function readUser() {
  try {
    const raw = localStorage.getItem(USER_KEY);
    return raw ? JSON.parse(raw) : null;
  } catch {
    return null;
  }
}

/** The logged-in user, if any. `reason` tells listeners why it changed. */
export const session = {
  get user() {
    return readUser();
  },
  get loggedIn() {
    return Boolean(readUser());
  },
  isMe(handle) {
    const u = this.user;
    return Boolean(u && handle && u.handle === handle);
  },
  set(user) {
    localStorage.setItem(USER_KEY, JSON.stringify({ id: user.id, handle: user.handle }));
    emit('login');
  },
  clear(reason = 'logout') {
    const had = this.loggedIn;
    localStorage.removeItem(USER_KEY);
    if (had) emit(reason);
  },
  onChange(fn) {
    listeners.add(fn);
    return () => listeners.delete(fn);
  },
};

function emit(reason) {
  for (const fn of listeners) {
    try {
      fn(reason);
    } catch (e) {
      console.warn(e);
    }
  }
}

// Another tab logging in or out changes what this one may do.
window.addEventListener('storage', (e) => {
  if (e.key === USER_KEY) emit(e.newValue ? 'login' : 'logout');
});

function fallbackMessage(status) {
  if (status === 404) return 'That isn’t available on this server.';
  if (status === 401) return 'Please log in again.';
  if (status === 403) return 'You’re not allowed to do that.';
  if (status === 413) return 'That file is too large.';
  if (status === 429) return 'Slow down a little and try again.';
  if (status >= 500) return 'The server had a problem. Try again in a moment.';
  return `Request failed (${status}).`;
}


async function parseError(res) {
  let data = null;
  try {
    data = await res.json();
  } catch {
    /* not JSON */
  }
  return errorFrom(res.status, data);
}

function errorFrom(status, data) {
  const code = (data && typeof data.code === 'string' && data.code) || `http_${status}`;
  const message = (data && typeof data.message === 'string' && data.message) || fallbackMessage(status);
  if (status === 401 && session.loggedIn && code !== 'invalid_credentials') {
    session.clear('expired');
  }
  return new ApiError(status, code, message);
}

/**
 * Calls `BASE + path`. Resolves to the parsed JSON body (null for 204);
 * rejects with ApiError.
 */
export async function api(path, { method = 'GET', body, signal, keepalive = false } = {}) {
  const headers = {};
  let payload;
  if (body !== undefined) {
    headers['content-type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(BASE + path, { method, headers, body: payload, signal, keepalive });
  } catch (e) {
    if (e && e.name === 'AbortError') throw e;
    throw new ApiError(0, 'network', 'Can’t reach the server. Check your connection.');
  }
  if (!res.ok) throw await parseError(res);
  if (res.status === 204) return null;
  const text = await res.text();
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    throw new ApiError(res.status, 'bad_response', 'The server sent an unexpected answer.');
  }
}

export const enc = encodeURIComponent;

/** Adds `cursor` (and other params) to a path when present. */
export function withQuery(path, params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) {
    if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `${path}${path.includes('?') ? '&' : '?'}${s}` : path;
}

/** Logs in and remembers the session. */
export async function login(handle, password) {
  const res = await api('/sessions', { method: 'POST', body: { handle, password } });
  if (!res || !res.user) throw new ApiError(500, 'bad_response', 'The server sent an unexpected answer.');
  session.set(res.user);
  return res;
}

/**
 * Ends the session on the server, which also drops the HttpOnly cookie.
 * Only then is it forgotten here: a page that said "logged out" while the
 * browser still held a valid cookie would mislead on a shared computer.
 * A 401 means the session had already ended.
 */
export async function logout() {
  try {
    if (session.loggedIn) await api('/sessions/current', { method: 'DELETE' });
  } catch (e) {
    if (!(e instanceof ApiError && e.status === 401)) throw e;
  }
  session.clear('logout');
}

/**
 * Uploads a clip with XMLHttpRequest so the progress can be shown.
 * Returns {promise, abort}; the promise resolves to `{id, status}`.
 */
export function uploadVideo({ file, caption, soundOf }, onProgress) {
  const xhr = new XMLHttpRequest();
  const promise = new Promise((resolve, reject) => {
    const form = new FormData();
    form.append('caption', caption || '');
    if (soundOf) form.append('sound_of', String(soundOf));
    form.append('file', file, file.name || 'video.mp4');
    xhr.open('POST', `${BASE}/videos`);
    xhr.responseType = 'text';
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable && onProgress) onProgress(e.loaded / e.total);
    };
    xhr.onload = () => {
      let data = null;
      try {
        data = xhr.responseText ? JSON.parse(xhr.responseText) : null;
      } catch {
        /* not JSON */
      }
      if (xhr.status >= 200 && xhr.status < 300) {
        if (onProgress) onProgress(1);
        resolve(data || {});
      } else {
        reject(errorFrom(xhr.status, data));
      }
    };
    xhr.onerror = () => reject(new ApiError(0, 'network', 'The upload was interrupted. Check your connection and try again.'));
    xhr.onabort = () => reject(new ApiError(0, 'aborted', 'Upload cancelled.'));
    xhr.send(form);
  });
  return { promise, abort: () => xhr.abort() };
}

/** Downloads an authenticated file (e.g. the data export) and saves it. */
export async function download(path, fallbackName) {
  let res;
  try {
    res = await fetch(BASE + path);
  } catch {
    throw new ApiError(0, 'network', 'Can’t reach the server. Check your connection.');
  }
  if (!res.ok) throw await parseError(res);
  const blob = await res.blob();
  const cd = res.headers.get('content-disposition') || '';
  const m = /filename\*?=(?:UTF-8'')?"?([^";]+)"?/i.exec(cd);
  const name = m ? decodeURIComponent(m[1]) : fallbackName;
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.hidden = true;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
  return name;
}

/**
 * Reports how a clip was watched. Uses a keepalive fetch so it survives the
 * page being closed.
 */
export function sendViewEvent(videoId, { watched_ms, completed, loops }) {
  const headers = { 'content-type': 'application/json' };
  try {
    fetch(`${BASE}/videos/${enc(videoId)}/views`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ watched_ms, completed, loops }),
      keepalive: true,
    }).catch(() => {});
  } catch {
    /* keepalive quota exceeded or similar: the event is best effort */
  }
}
