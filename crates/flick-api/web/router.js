// Hash routing: `#/path?query`. The server serves only `/`, so every view
// lives behind the hash.

import { session } from './api.js';
import { toast } from './dom.js';

let inAppSteps = 0;

export function noteNavigation() {
  inAppSteps += 1;
}

export function currentRoute() {
  // Path segments are decoded one by one by the views; the query by URLSearchParams.
  const raw = location.hash.replace(/^#/, '') || '/';
  const q = raw.indexOf('?');
  const path = (q === -1 ? raw : raw.slice(0, q)) || '/';
  const query = new URLSearchParams(q === -1 ? '' : raw.slice(q + 1));
  return { raw: raw.startsWith('/') ? raw : `/${raw}`, path: path.startsWith('/') ? path : `/${path}`, query };
}

/** Goes to an in-app path such as `/u/ana`. Re-renders when already there. */
export function go(path, { replace = false } = {}) {
  const target = `#${path}`;
  if (location.hash === target) {
    window.dispatchEvent(new HashChangeEvent('hashchange'));
  } else if (replace) {
    location.replace(target);
  } else {
    location.hash = target;
  }
}

/** Back within the app, or to `fallback` when the app was opened here. */
export function back(fallback = '/') {
  if (inAppSteps > 1) history.back();
  else go(fallback, { replace: true });
}

export function loginPath(next) {
  const n = next ?? currentRoute().raw;
  return n && n !== '/' && !n.startsWith('/login') && !n.startsWith('/signup')
    ? `/login?next=${encodeURIComponent(n)}`
    : '/login';
}

/** True when logged in; otherwise sends the visitor to the login page. */
export function requireLogin(message) {
  if (session.loggedIn) return true;
  if (message) toast(message);
  go(loginPath());
  return false;
}
