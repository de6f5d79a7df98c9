// Flick web app: the shell (bottom navigation, toasts), the hash router and
// the feed views. Plain ES modules, no build step.

import { api, enc, withQuery, session, ApiError } from './api.js';
import { h, icon, clear, toast, toastError, stateBox } from './dom.js';
import { Feed } from './feed.js';
import { currentRoute, go, back, noteNavigation, loginPath } from './router.js';
import { listContextFor, resetStore } from './store.js';
import { profileView } from './profile.js';
import { uploadView } from './upload.js';
import { loginView, signupView, settingsView, searchView, tagView, soundView } from './pages.js';
import { noticesView, moderationQueueView, moderationCaseView, filtersView } from './safety.js';

const main = document.getElementById('view');
const nav = document.getElementById('nav');

// ---------- feeds ----------

const feeds = new Map(); // 'foryou' | 'following' → Feed, kept while browsing

function homeHeader(active) {
  const tab = (kind, href, label) => h('a', {
    href,
    class: 'feed-tab',
    'aria-current': active === kind ? 'page' : undefined,
    text: label,
  });
  return h('header', { class: 'feed-header' },
    h('a', { class: 'feed-brand', href: '#/', 'aria-label': 'Flick home' }, h('img', { src: '/icon.svg', alt: '', width: '28', height: '28' })),
    h('nav', { class: 'feed-tabs', 'aria-label': 'Feeds' },
      tab('following', '#/following', 'Following'),
      tab('foryou', '#/', 'For You')),
    h('a', { href: '#/search', class: 'icon-btn feed-search', 'aria-label': 'Search' }, icon('search', { size: 24 })));
}

function feedFor(kind) {
  let feed = feeds.get(kind);
  if (feed) return feed;
  const forYou = kind === 'foryou';
  feed = new Feed({
    kind,
    label: forYou ? 'For You videos' : 'Videos from people you follow',
    header: homeHeader(kind),
    endless: forYou,
    load: forYou
      ? () => api('/feed/for-you?limit=10')
      : (cursor) => api(withQuery('/feed/following', { cursor })),
    empty: () => (forYou
      ? stateBox({
          iconName: 'spark',
          title: 'Nothing new right now',
          text: 'There are no videos for you yet. Check back soon, or post a clip yourself.',
          actions: [h('a', { class: 'btn btn-primary', href: '#/upload' }, icon('plus', { size: 18 }), h('span', { text: 'Upload a video' })),
            h('button', { type: 'button', class: 'btn btn-ghost', onclick: () => feed.reload() }, icon('refresh', { size: 18 }), h('span', { text: 'Try again' }))],
        })
      : stateBox({
          iconName: 'following',
          title: 'Follow creators to see their videos here',
          text: 'Videos from the people you follow show up in this tab.',
          actions: [h('a', { class: 'btn btn-primary', href: '#/', text: 'Discover on For You' }),
            h('a', { class: 'btn btn-ghost', href: '#/search', text: 'Search creators' })],
        })),
    end: forYou
      ? () => stateBox({
          iconName: 'check',
          title: 'You’re all caught up',
          text: 'You’ve seen everything new. Check back soon, or post something yourself.',
          actions: [h('button', { type: 'button', class: 'btn btn-secondary', onclick: () => feed.reload() }, icon('refresh', { size: 18 }), h('span', { text: 'Check for new videos' })),
            h('a', { class: 'btn btn-ghost', href: '#/upload', text: 'Upload' })],
        })
      : () => stateBox({
          iconName: 'check',
          title: 'You’re all caught up',
          text: 'That’s everything from the people you follow.',
          actions: [h('a', { class: 'btn btn-primary', href: '#/', text: 'Discover more on For You' })],
        }),
  });
  feeds.set(kind, feed);
  return feed;
}

function feedView(kind) {
  return (container) => {
    const feed = feedFor(kind);
    feed.mount(container);
    return { title: kind === 'foryou' ? 'For You' : 'Following', isFeed: true, destroy: () => feed.unmount() };
  };
}

/** One video (`#/v/ID`), or the grid it was opened from, in the player. */
function videoView(container, { params }) {
  const id = params.id;
  const ctx = listContextFor(id);
  const header = h('header', { class: 'feed-header feed-header-back' },
    h('button', { type: 'button', class: 'icon-btn', 'aria-label': 'Back', onclick: () => back('/') }, icon('back', { size: 26 })),
    h('span', { class: 'feed-header-title', text: ctx && ctx.label ? ctx.label : '' }),
    h('a', { href: '#/search', class: 'icon-btn', 'aria-label': 'Search' }, icon('search', { size: 24 })));
  const feed = new Feed({
    kind: 'list',
    label: ctx && ctx.label ? ctx.label : 'Video',
    header,
    items: ctx ? ctx.items : [],
    cursor: ctx ? ctx.cursor : null,
    done: ctx ? ctx.done : false,
    startId: id,
    load: ctx ? ctx.load : async () => ({ items: [await api(`/videos/${enc(id)}`)], next_cursor: null }),
    end: () => stateBox({
      iconName: 'check',
      title: 'That’s all',
      actions: [h('a', { class: 'btn btn-primary', href: '#/', text: 'Back to For You' })],
    }),
  });
  feed.mount(container);
  return { title: 'Video', isFeed: true, destroy: () => feed.destroy() };
}

function refreshForYou() {
  const f = feeds.get('foryou');
  if (f) {
    f.destroy();
    feeds.delete('foryou');
  }
}

// ---------- routes ----------

const routes = [
  { re: /^\/$/, view: feedView('foryou'), nav: 'home' },
  { re: /^\/following$/, view: feedView('following'), nav: 'following', auth: 'Log in to see videos from people you follow' },
  { re: /^\/v\/([^/]+)$/, keys: ['id'], view: videoView },
  { re: /^\/u\/([^/]+)$/, keys: ['handle'], view: profileView, nav: 'profile' },
  { re: /^\/tag\/([^/]+)$/, keys: ['tag'], view: tagView },
  { re: /^\/sound\/([^/]+)$/, keys: ['id'], view: soundView },
  { re: /^\/upload$/, view: uploadView, nav: 'upload', auth: 'Log in to upload videos' },
  { re: /^\/login$/, view: loginView, nav: 'profile' },
  { re: /^\/signup$/, view: signupView, nav: 'profile' },
  { re: /^\/settings$/, view: settingsView, nav: 'profile', auth: 'Log in to see your settings' },
  { re: /^\/search$/, view: searchView },
  { re: /^\/filters$/, view: filtersView, nav: 'profile', auth: 'Log in to filter words' },
  { re: /^\/notices$/, view: noticesView, nav: 'profile', auth: 'Log in to see your notices' },
  { re: /^\/moderation$/, view: moderationQueueView, nav: 'profile', auth: 'Log in to moderate' },
  { re: /^\/moderation\/([^/]+)$/, keys: ['id'], view: moderationCaseView, nav: 'profile', auth: 'Log in to moderate' },
];

function notFound(container) {
  container.append(h('div', { class: 'page' }, stateBox({
    iconName: 'alert',
    title: 'Page not found',
    text: 'This link doesn’t lead anywhere.',
    actions: [h('a', { class: 'btn btn-primary', href: '#/', text: 'Go to For You' })],
  })));
  return { title: 'Not found' };
}

let current = null;
let firstRender = true;

function render() {
  noteNavigation();
  const route = currentRoute();
  let match = null;
  let params = {};
  for (const r of routes) {
    const m = r.re.exec(route.path);
    if (m) {
      match = r;
      params = Object.fromEntries((r.keys || []).map((k, i) => [k, safeDecode(m[i + 1])]));
      break;
    }
  }
  if (match && match.auth && !session.loggedIn) {
    toast(match.auth);
    go(loginPath(route.raw), { replace: true });
    return;
  }
  document.querySelectorAll('dialog[open]').forEach((d) => d.close());
  if (current && current.destroy) {
    try {
      current.destroy();
    } catch (e) {
      console.warn(e);
    }
  }
  current = null;
  clear(main);
  const view = match ? match.view : notFound;
  let result;
  try {
    result = view(main, { params, query: route.query, refreshForYou }) || {};
  } catch (e) {
    console.warn(e);
    clear(main);
    result = notFound(main);
  }
  current = result;
  main.dataset.view = result.isFeed ? 'feed' : 'page';
  document.title = result.title ? `${result.title} · Flick` : 'Flick';
  updateNav(match ? match.nav : null, params);
  if (!result.isFeed) main.scrollTop = 0;
  if (!firstRender && !result.isFeed && !result.focusSelf) {
    const heading = main.querySelector('h1');
    if (heading) heading.focus({ preventScroll: true });
  }
  firstRender = false;
}

function safeDecode(s) {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

// ---------- bottom navigation ----------

function buildNav() {
  const item = (key, href, iconName, label, extra = '') => h('a', { href, class: `nav-item ${extra}`.trim(), dataset: { nav: key } },
    key === 'upload' ? h('span', { class: 'nav-upload-pill' }, icon('plus', { size: 22 })) : icon(iconName, { size: 26 }),
    h('span', { class: key === 'upload' ? 'visually-hidden' : 'nav-label', text: label }));
  nav.replaceChildren(
    item('home', '#/', 'home', 'Home'),
    item('following', '#/following', 'following', 'Following'),
    item('upload', '#/upload', 'plus', 'Upload', 'nav-upload'),
    item('profile', '#/login', 'user', 'Profile'));
}

function updateNav(active, params) {
  const me = session.user;
  const profileLink = nav.querySelector('[data-nav="profile"]');
  profileLink.href = me ? `#/u/${enc(me.handle)}` : '#/login';
  let key = active;
  if (key === 'profile' && params && params.handle && (!me || params.handle.toLowerCase() !== me.handle)) key = null;
  for (const a of nav.querySelectorAll('.nav-item')) {
    if (a.dataset.nav === key) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
}

// ---------- boot ----------

session.onChange((reason) => {
  for (const f of feeds.values()) f.destroy();
  feeds.clear();
  resetStore();
  if (reason === 'expired') toast('Your session has expired. Please log in again.', { kind: 'error' });
  if (reason === 'deleted' || reason === 'logout') return; // the caller navigates
  if (current && current.isFeed) render();
  else updateNav(null, {});
});

// Following someone new changes the Following feed: load it afresh next time.
window.addEventListener('flick:follows-changed', () => {
  const f = feeds.get('following');
  if (f && !f.mounted) {
    f.destroy();
    feeds.delete('following');
  }
});

window.addEventListener('unhandledrejection', (e) => {
  if (e.reason instanceof ApiError) {
    e.preventDefault();
    toastError(e.reason);
  }
});

document.getElementById('skip').addEventListener('click', () => {
  const target = main.querySelector('h1, .feed') || main;
  if (!target.hasAttribute('tabindex')) target.setAttribute('tabindex', '-1');
  target.focus();
});

buildNav();
window.addEventListener('hashchange', render);
if (!location.hash) history.replaceState(null, '', '#/');
render();
