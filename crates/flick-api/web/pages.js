// Smaller views: log in, sign up, settings, search, hashtag and sound pages.

import { api, enc, withQuery, session, login, logout, download } from './api.js';
import { h, icon, avatar, plural, stateBox, spinner, toast, toastError, confirmDialog } from './dom.js';
import { topBar, page } from './chrome.js';
import { videoGrid } from './grid.js';
import { go } from './router.js';
import { editProfile } from './profile.js';
import { viewingSettings, saveViewingSettings, canModerate } from './safety.js';

function safeNext(query) {
  const n = query.get('next');
  return n && n.startsWith('/') && !n.startsWith('//') && !n.startsWith('/login') && !n.startsWith('/signup') ? n : '/';
}

// ---------- log in / sign up ----------

function authForm({ mode, query }) {
  const signup = mode === 'signup';
  const next = safeNext(query);
  const handle = h('input', {
    id: `${mode}-handle`, name: 'handle', type: 'text', required: true, minlength: '2', maxlength: '30',
    autocomplete: 'username', autocapitalize: 'none', spellcheck: 'false', inputmode: 'text',
    'aria-describedby': signup ? `${mode}-handle-hint` : undefined,
  });
  const password = h('input', {
    id: `${mode}-password`, name: 'password', type: 'password', required: true, minlength: signup ? '8' : undefined,
    autocomplete: signup ? 'new-password' : 'current-password', 'aria-describedby': signup ? `${mode}-password-hint` : undefined,
  });
  const err = h('div', { class: 'form-error', role: 'alert', hidden: true });
  // Where the account's data will live: shown only when the deployment has
  // more than one region. "Automatic" lets the server use the country.
  const region = h('select', { id: `${mode}-region`, name: 'region' },
    h('option', { value: '', text: 'Automatic (by your country)' }));
  const regionField = h('label', { class: 'field', hidden: true }, h('span', { class: 'field-label', text: 'Where your data lives' }), region,
    h('span', { class: 'field-hint', text: 'Your private data (watch history, likes, login) stays in this region.' }));
  if (signup) {
    api('/regions').then((info) => {
      if (info.regions.length < 2) return;
      region.append(...info.regions.map((r) => h('option', { value: r, text: r })));
      regionField.hidden = false;
    }).catch(() => {});
  }
  const submit = h('button', { type: 'submit', class: 'btn btn-primary btn-block', text: signup ? 'Create account' : 'Log in' });
  const showErr = (m) => {
    err.replaceChildren(icon('alert', { size: 18 }), h('span', { text: m }));
    err.hidden = false;
  };

  const form = h('form', {
    class: 'form auth-form',
    novalidate: true,
    onsubmit: async (e) => {
      e.preventDefault();
      err.hidden = true;
      // The server checks handles and passwords and says what is wrong.
      const hv = handle.value.trim().replace(/^@/, '').toLowerCase();
      const pv = password.value;
      if (!hv || !pv) return showErr('Enter your handle and password.');
      submit.disabled = true;
      try {
        if (signup) {
          const body = { handle: hv, password: pv };
          if (region.value) body.region = region.value;
          await api('/accounts', { method: 'POST', body });
        }
        await login(hv, pv);
        toast(signup ? `Welcome to Flick, @${hv}!` : `Welcome back, @${hv}`, { kind: 'success' });
        go(next, { replace: true });
      } catch (ex) {
        showErr(ex.message);
        submit.disabled = false;
        (ex.code === 'invalid_handle' || ex.code === 'handle_taken' ? handle : password).focus();
      }
    },
  },
    h('label', { class: 'field' }, h('span', { class: 'field-label', text: 'Handle' }),
      h('span', { class: 'input-prefix' }, h('span', { 'aria-hidden': 'true', text: '@' }), handle),
      signup ? h('span', { class: 'field-hint', id: `${mode}-handle-hint`, text: '2–30 characters: a–z, 0–9, _ and .' }) : null),
    h('label', { class: 'field' }, h('span', { class: 'field-label', text: 'Password' }), password,
      signup ? h('span', { class: 'field-hint', id: `${mode}-password-hint`, text: 'At least 8 characters.' }) : null),
    signup ? regionField : null,
    err, submit);

  const other = signup
    ? h('p', { class: 'auth-switch' }, 'Already have an account? ', h('a', { href: `#/login${next !== '/' ? `?next=${encodeURIComponent(next)}` : ''}`, text: 'Log in' }))
    : h('p', { class: 'auth-switch' }, 'New to Flick? ', h('a', { href: `#/signup${next !== '/' ? `?next=${encodeURIComponent(next)}` : ''}`, text: 'Sign up' }));

  const already = session.loggedIn
    ? h('p', { class: 'notice' }, `You’re logged in as @${session.user.handle}. `, h('a', { href: '#/', text: 'Go to your feed' }))
    : null;

  return h('div', { class: 'auth' },
    h('div', { class: 'brand-mark', 'aria-hidden': 'true' }, h('img', { src: '/icon.svg', alt: '', width: '56', height: '56' })),
    h('h2', { class: 'auth-title', text: signup ? 'Create your Flick account' : 'Log in to Flick' }),
    h('p', { class: 'muted center', text: signup ? 'Post clips, follow creators, like and comment.' : 'Like, comment, follow and post your own clips.' }),
    already, form, other);
}

export function loginView(container, { query }) {
  container.append(page('auth-page', topBar('Log in'), authForm({ mode: 'login', query })));
  setTimeout(() => container.querySelector('#login-handle')?.focus(), 0);
  return { title: 'Log in', focusSelf: true };
}

export function signupView(container, { query }) {
  container.append(page('auth-page', topBar('Sign up'), authForm({ mode: 'signup', query })));
  setTimeout(() => container.querySelector('#signup-handle')?.focus(), 0);
  return { title: 'Sign up', focusSelf: true };
}

// ---------- settings ----------

/** What the person chooses to see, their notices, and (for moderators) the console. */
function safetySection() {
  const hideAi = h('input', { type: 'checkbox', name: 'hide_ai_generated', id: 'setting-hide-ai' });
  const sensitive = h('select', { name: 'sensitive', id: 'setting-sensitive' },
    h('option', { value: 'blur', text: 'Blur them (tap to view)' }),
    h('option', { value: 'hide', text: 'Hide them' }),
    h('option', { value: 'show', text: 'Show them' }));
  hideAi.disabled = true;
  sensitive.disabled = true;
  viewingSettings().then((s) => {
    hideAi.checked = s.hide_ai_generated;
    sensitive.value = s.sensitive;
    hideAi.disabled = false;
    sensitive.disabled = false;
  });
  const save = async (change) => {
    try {
      await saveViewingSettings(change);
      toast('Saved', { kind: 'success' });
    } catch (e) {
      toastError(e);
    }
  };
  hideAi.addEventListener('change', () => save({ hide_ai_generated: hideAi.checked }));
  sensitive.addEventListener('change', () => save({ sensitive: sensitive.value }));
  const modRow = h('li', { hidden: true }, h('a', { class: 'settings-item', href: '#/moderation' }, icon('shield', { size: 20 }), h('span', { text: 'Moderation queue' })));
  canModerate().then((ok) => {
    modRow.hidden = !ok;
  });
  return h('section', { class: 'settings-section' },
    h('h2', { class: 'settings-heading', text: 'Safety' }),
    h('ul', { class: 'settings-list' },
      h('li', { class: 'settings-row' }, h('label', { for: 'setting-hide-ai', class: 'settings-row-label', text: 'Hide AI-generated videos' }), hideAi),
      h('li', { class: 'settings-row' }, h('label', { for: 'setting-sensitive', class: 'settings-row-label', text: 'Sensitive videos' }), sensitive),
      h('li', {}, h('a', { class: 'settings-item', href: '#/filters' }, icon('ban', { size: 20 }), h('span', { text: 'Keyword filters and held comments' }))),
      h('li', {}, h('a', { class: 'settings-item', href: '#/notices' }, icon('info', { size: 20 }), h('span', { text: 'Notices and appeals' }))),
      modRow));
}

export function settingsView(container, { refreshForYou }) {
  const user = session.user;
  const body = h('div', { class: 'settings' });
  container.append(page('settings-page', topBar('Settings', { backTo: `/u/${enc(user.handle)}` }), body));

  const accountInfo = h('div', { class: 'settings-account' }, avatar(user, 56),
    h('div', {}, h('strong', { class: 'settings-name', text: `@${user.handle}` }), h('p', { class: 'muted settings-region', text: '' })));
  const regionRow = h('li', { class: 'settings-row', hidden: true });
  let profile = null;
  const editBtn = h('button', { type: 'button', class: 'settings-item', disabled: true, onclick: () => profile && editProfile(profile, accountInfo.querySelector('.settings-name'), null) },
    icon('edit', { size: 20 }), h('span', { text: 'Edit profile' }));

  api('/me').then((p) => {
    profile = p;
    editBtn.disabled = false;
    const name = (p.display_name && p.display_name.trim()) || '';
    accountInfo.querySelector('.settings-name').textContent = name ? `${name} (@${p.handle})` : `@${p.handle}`;
    accountInfo.querySelector('.settings-region').textContent = `${plural(p.counts?.followers || 0, 'follower')} · ${plural(p.counts?.videos || 0, 'video')}`;
    if (p.region) {
      regionRow.replaceChildren(icon('globe', { size: 20 }), h('span', { class: 'settings-row-label', text: 'Home region' }), h('strong', { class: 'region-value', text: p.region }));
      regionRow.hidden = false;
    }
  }).catch((e) => toastError(e));

  const item = (iconName, label, onclick, extra = '') => h('li', {}, h('button', { type: 'button', class: `settings-item ${extra}`.trim(), onclick }, icon(iconName, { size: 20 }), h('span', { text: label })));

  const section = (title, ...items) => h('section', { class: 'settings-section' },
    h('h2', { class: 'settings-heading', text: title }), h('ul', { class: 'settings-list' }, items));

  body.append(
    accountInfo,
    section('Account',
      h('li', {}, editBtn),
      h('li', {}, h('a', { class: 'settings-item', href: `#/u/${enc(user.handle)}` }, icon('user', { size: 20 }), h('span', { text: 'View profile' }))),
      h('li', {}, h('a', { class: 'settings-item', href: `#/u/${enc(user.handle)}?tab=analytics` }, icon('chart', { size: 20 }), h('span', { text: 'Creator analytics' }))),
      regionRow),
    section('Your feed',
      item('refresh', 'Refresh my For You', async (e) => {
        const btn = e.currentTarget;
        btn.disabled = true;
        try {
          await api('/me/for-you/refresh', { method: 'POST' });
          refreshForYou();
          toast('Your For You feed starts fresh', { kind: 'success' });
        } catch (ex) {
          toastError(ex);
        } finally {
          btn.disabled = false;
        }
      })),
    safetySection(),
    section('Your data',
      item('download', 'Download my data', async (e) => {
        const btn = e.currentTarget;
        btn.disabled = true;
        toast('Preparing your data…');
        try {
          const name = await download('/me/export', `flick-${user.handle}-export.zip`);
          toast(`Downloaded ${name}`, { kind: 'success' });
        } catch (ex) {
          toastError(ex);
        } finally {
          btn.disabled = false;
        }
      }),
      item('logout', 'Log out', async () => {
        try {
          await logout();
        } catch (ex) {
          toastError(ex);
          return;
        }
        toast('Logged out');
        go('/', { replace: true });
      })),
    section('Danger zone',
      item('trash', 'Delete my account', async () => {
        const ok = await confirmDialog({
          title: 'Delete your account?',
          message: `This permanently deletes @${user.handle} with all your videos, comments, likes and follows. This can’t be undone.`,
          confirmLabel: 'Delete my account',
          danger: true,
        });
        if (!ok) return;
        try {
          await api('/me', { method: 'DELETE' });
          session.clear('deleted');
          toast('Your account was deleted', { kind: 'success' });
          go('/', { replace: true });
        } catch (ex) {
          toastError(ex);
        }
      }, 'danger')),
    h('p', { class: 'muted small center', text: 'Flick · self-hosted short video' }));
  return { title: 'Settings' };
}

// ---------- search ----------

export function searchView(container, { query }) {
  const input = h('input', { type: 'search', class: 'search-input', name: 'q', placeholder: 'Search people and hashtags', 'aria-label': 'Search people and hashtags', autocomplete: 'off', value: query.get('q') || '' });
  const results = h('div', { class: 'search-results', 'aria-live': 'polite' });
  const form = h('form', { class: 'search-form', role: 'search', onsubmit: (e) => { e.preventDefault(); run(true); } },
    icon('search', { size: 20 }), input);
  container.append(page('search-page', topBar('Search'), form, results));
  let timer = null;
  let seq = 0;

  async function run(now = false) {
    clearTimeout(timer);
    const q = input.value.trim();
    history.replaceState(null, '', q ? `#/search?q=${encodeURIComponent(q)}` : '#/search');
    if (!q) {
      results.replaceChildren(stateBox({ iconName: 'search', title: 'Find creators and hashtags', text: 'Try a handle like @ana or a tag like #dance.' }));
      return;
    }
    const go2 = async () => {
      const my = ++seq;
      results.replaceChildren(spinner('Searching'));
      try {
        const res = await api(withQuery('/search', { q: q.replace(/^[#@]/, '') }));
        if (my !== seq) return;
        const users = (res && res.users) || [];
        const tags = (res && res.hashtags) || [];
        if (!users.length && !tags.length) {
          results.replaceChildren(stateBox({ iconName: 'search', title: 'No results', text: `Nothing matches “${q}”.` }));
          return;
        }
        results.replaceChildren(
          users.length ? h('section', { class: 'result-section' }, h('h2', { text: 'People' }),
            h('ul', { class: 'result-list' }, users.map((u) => h('li', {},
              h('a', { class: 'result', href: `#/u/${enc(u.handle)}` }, avatar(u, 44),
                h('span', { class: 'result-text' },
                  h('strong', { text: (u.display_name && u.display_name.trim()) || `@${u.handle}` }),
                  h('span', { class: 'muted', text: `@${u.handle}` }))))))) : null,
          tags.length ? h('section', { class: 'result-section' }, h('h2', { text: 'Hashtags' }),
            h('ul', { class: 'result-list' }, tags.map((t) => h('li', {},
              h('a', { class: 'result', href: `#/tag/${enc(t.tag)}` },
                h('span', { class: 'tag-badge', 'aria-hidden': 'true' }, icon('hash', { size: 22 })),
                h('span', { class: 'result-text' },
                  h('strong', { text: `#${t.tag}` }),
                  h('span', { class: 'muted', text: plural(t.videos || 0, 'video') }))))))) : null);
      } catch (e) {
        if (my !== seq) return;
        results.replaceChildren(h('div', { class: 'inline-error', role: 'alert' }, h('span', { text: e.message })));
      }
    };
    if (now) go2();
    else timer = setTimeout(go2, 250);
  }
  input.addEventListener('input', () => run(false));
  run(true);
  setTimeout(() => input.focus(), 0);
  return { title: 'Search', destroy: () => clearTimeout(timer) };
}

// ---------- hashtag and sound pages ----------

export function tagView(container, { params }) {
  const tag = String(params.tag || '').replace(/^#/, '').toLowerCase();
  const count = h('p', { class: 'muted', text: '' });
  const load = (cursor) => api(withQuery(`/hashtags/${enc(tag)}/videos`, { cursor }));
  const grid = videoGrid({
    load,
    label: `Videos tagged #${tag}`,
    empty: () => stateBox({ iconName: 'hash', title: `No videos with #${tag} yet`, text: 'Be the first to use it.', actions: [h('a', { class: 'btn btn-primary', href: '#/upload', text: 'Upload a video' })] }),
    onItems: (items) => { count.textContent = items.length ? `${plural(items.length, 'video')}${items.length >= 12 ? '+' : ''}` : ''; },
  });
  container.append(page('tag-page', topBar(`#${tag}`),
    h('section', { class: 'collection-head' },
      h('span', { class: 'collection-art tag-art', 'aria-hidden': 'true' }, icon('hash', { size: 44 })),
      h('div', {}, h('h2', { text: `#${tag}` }), count)),
    grid.el));
  return { title: `#${tag}`, destroy: grid.destroy };
}

export function soundView(container, { params }) {
  const id = String(params.id || '');
  const title = h('h2', { text: 'Sound' });
  const sub = h('p', { class: 'muted', text: '' });
  const useBtn = h('a', { class: 'btn btn-primary use-sound', href: '#/upload', 'aria-disabled': 'true', tabindex: '-1' }, icon('plus', { size: 18 }), h('span', { text: 'Use this sound' }));
  useBtn.addEventListener('click', (e) => {
    if (useBtn.getAttribute('aria-disabled') === 'true') e.preventDefault();
  });
  const grid = videoGrid({
    load: (cursor) => api(withQuery(`/sounds/${enc(id)}/videos`, { cursor })),
    label: 'Videos with this sound',
    empty: () => stateBox({ iconName: 'music', title: 'No videos use this sound yet' }),
    onItems: (items) => {
      const first = items.find((v) => v.sound);
      if (first) {
        title.textContent = first.sound.title || 'Original sound';
        document.title = `${title.textContent} · Flick`;
        // The oldest video using the sound is the original.
        const original = [...items].sort((a, b) => (a.created_at || 0) - (b.created_at || 0))[0];
        sub.textContent = `${plural(items.length, 'video')} · original by @${original.author ? original.author.handle : 'unknown'}`;
        useBtn.href = `#/upload?sound=${enc(original.id)}`;
        useBtn.removeAttribute('aria-disabled');
        useBtn.removeAttribute('tabindex');
      }
    },
  });
  container.append(page('sound-page', topBar('Sound'),
    h('section', { class: 'collection-head' },
      h('span', { class: 'collection-art sound-art', 'aria-hidden': 'true' }, icon('music', { size: 40 })),
      h('div', { class: 'collection-text' }, title, sub, useBtn)),
    grid.el));
  return { title: 'Sound', destroy: grid.destroy };
}
