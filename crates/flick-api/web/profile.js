// A profile: header with counts and follow button, a grid of videos and, for
// the owner, the analytics tab.

import { api, enc, withQuery, session } from './api.js';
import { h, icon, avatar, fmtCount, stateBox, spinner, toast, toastError, openSheet } from './dom.js';
import { topBar, page } from './chrome.js';
import { videoGrid } from './grid.js';
import { analyticsPanel } from './analytics.js';
import { follows, setFollowing } from './store.js';
import { requireLogin } from './router.js';
import { openReport, setBlocked, setMuted } from './safety.js';

export function profileView(container, { params }) {
  const handle = String(params.handle || '').toLowerCase();
  const mine = session.isMe(handle);
  const cleanups = [];
  const body = h('div', { class: 'profile' }, h('div', { class: 'page-loading' }, spinner('Loading profile')));
  const bar = topBar(`@${handle}`, {
    actions: mine ? [h('a', { class: 'icon-btn', href: '#/settings', 'aria-label': 'Settings' }, icon('settings', { size: 22 }))] : [],
  });
  container.append(page('profile-page', bar, body));

  (async () => {
    let profile;
    try {
      profile = await api(`/users/${enc(handle)}`);
    } catch (e) {
      body.replaceChildren(stateBox({
        iconName: e.status === 404 ? 'user' : 'alert',
        title: e.status === 404 ? 'This account doesn’t exist' : 'Couldn’t load this profile',
        text: e.status === 404 ? `There’s nobody called @${handle} here.` : e.message,
        actions: [h('a', { class: 'btn btn-primary', href: '#/', text: 'Go to For You' }),
          h('a', { class: 'btn btn-ghost', href: '#/search', text: 'Search' })],
      }));
      if (e.status !== 404) toastError(e);
      return;
    }
    renderProfile(profile);
  })();

  function renderProfile(p) {
    if (!session.isMe(p.handle)) follows.set(p.handle, Boolean(p.followed_by_me));
    const counts = p.counts || {};
    const nameEl = h('h2', { class: 'profile-name', text: (p.display_name && p.display_name.trim()) || `@${p.handle}` });
    const bioEl = h('p', { class: 'profile-bio', text: p.bio || '' });
    bioEl.hidden = !p.bio;
    const followersEl = h('strong', { text: fmtCount(counts.followers || 0) });
    const stat = (valueEl, label) => h('li', {}, valueEl, h('span', { text: label }));

    let actions;
    if (mine) {
      actions = [
        h('button', { type: 'button', class: 'btn btn-secondary', onclick: () => editProfile(p, nameEl, bioEl) }, icon('edit', { size: 18 }), h('span', { text: 'Edit profile' })),
        h('a', { class: 'btn btn-secondary', href: '#/upload' }, icon('plus', { size: 18 }), h('span', { text: 'Upload' })),
      ];
    } else {
      const btn = h('button', { type: 'button', class: 'btn follow-btn' });
      const paint = (on) => {
        btn.classList.toggle('btn-primary', !on);
        btn.classList.toggle('btn-secondary', on);
        btn.setAttribute('aria-pressed', String(on));
        btn.replaceChildren(icon(on ? 'check' : 'plus', { size: 18 }), h('span', { text: on ? 'Following' : 'Follow' }));
        btn.setAttribute('aria-label', on ? `Following @${p.handle} (unfollow)` : `Follow @${p.handle}`);
      };
      paint(Boolean(p.followed_by_me));
      btn.addEventListener('click', async () => {
        if (!requireLogin(`Log in to follow @${p.handle}`)) return;
        const want = !p.followed_by_me;
        btn.disabled = true;
        try {
          const res = await api(`/users/${enc(p.handle)}/follow`, { method: want ? 'PUT' : 'DELETE' });
          p.followed_by_me = res && typeof res.following === 'boolean' ? res.following : want;
          if (res && typeof res.followers === 'number') counts.followers = res.followers;
          else counts.followers = Math.max(0, (counts.followers || 0) + (want ? 1 : -1));
          setFollowing(p.handle, p.followed_by_me);
          followersEl.textContent = fmtCount(counts.followers);
          paint(p.followed_by_me);
        } catch (e) {
          toastError(e);
        } finally {
          btn.disabled = false;
        }
      });
      actions = [btn];
      // Safety: report, mute, block (signed in only: the server needs a
      // person to hold the block).
      if (session.loggedIn) {
        const toggle = (cls, labelOn, labelOff, key, set) => {
          const b = h('button', { type: 'button', class: `btn btn-ghost btn-small ${cls}` });
          const paintToggle = () => {
            b.textContent = p[key] ? labelOn : labelOff;
            b.setAttribute('aria-pressed', String(Boolean(p[key])));
          };
          paintToggle();
          b.addEventListener('click', async () => {
            b.disabled = true;
            p[key] = await set(p.handle, !p[key]);
            paintToggle();
            b.disabled = false;
          });
          return b;
        };
        actions.push(h('div', { class: 'profile-safety' },
          toggle('mute-btn', 'Unmute', 'Mute', 'muted_by_me', setMuted),
          toggle('block-btn', 'Unblock', 'Block', 'blocked_by_me', setBlocked),
          h('button', {
            type: 'button',
            class: 'btn btn-ghost btn-small report-btn',
            onclick: () => openReport({ subjectType: 'account', subjectId: p.id, what: `@${p.handle}` }),
          }, icon('flag', { size: 16 }), h('span', { text: 'Report' }))));
      }
    }

    const head = h('section', { class: 'profile-head', 'aria-label': 'Profile' },
      avatar(p, 96),
      nameEl,
      h('p', { class: 'profile-handle', text: `@${p.handle}` }),
      h('ul', { class: 'profile-stats' },
        stat(h('strong', { text: fmtCount(counts.following || 0) }), 'Following'),
        stat(followersEl, Number(counts.followers) === 1 ? 'Follower' : 'Followers'),
        stat(h('strong', { text: fmtCount(counts.likes || 0) }), 'Likes')),
      h('div', { class: 'profile-actions' }, actions),
      bioEl);

    // Tabs: videos, and analytics for the owner.
    const tabs = [{ id: 'videos', label: `Videos ${counts.videos !== undefined ? `(${fmtCount(counts.videos)})` : ''}`.trim(), icon: 'grid' }];
    if (mine) tabs.push({ id: 'analytics', label: 'Analytics', icon: 'chart' });
    const tablist = h('div', { class: 'tabs', role: 'tablist', 'aria-label': 'Profile sections' });
    const panels = h('div', { class: 'tab-panels' });
    let current = null;
    let currentCleanup = null;
    const tabEls = tabs.map((t) => h('button', {
      type: 'button',
      role: 'tab',
      id: `tab-${t.id}`,
      class: 'tab',
      'aria-controls': `panel-${t.id}`,
      'aria-selected': 'false',
      tabindex: '-1',
      onclick: () => select(t.id),
    }, icon(t.icon, { size: 18 }), h('span', { text: t.label })));
    tablist.append(...tabEls);
    tablist.addEventListener('keydown', (e) => {
      if (e.key !== 'ArrowRight' && e.key !== 'ArrowLeft') return;
      const i = tabs.findIndex((t) => t.id === current);
      const n = (i + (e.key === 'ArrowRight' ? 1 : -1) + tabs.length) % tabs.length;
      select(tabs[n].id);
      tabEls[n].focus();
    });

    function select(id) {
      if (current === id) return;
      current = id;
      tabs.forEach((t, i) => {
        tabEls[i].setAttribute('aria-selected', String(t.id === id));
        tabEls[i].tabIndex = t.id === id ? 0 : -1;
      });
      if (currentCleanup) currentCleanup();
      const panel = h('div', { class: 'tab-panel', role: 'tabpanel', id: `panel-${id}`, 'aria-labelledby': `tab-${id}` });
      if (id === 'videos') {
        const grid = videoGrid({
          load: (cursor) => api(withQuery(`/users/${enc(p.handle)}/videos`, { cursor })),
          owner: mine,
          label: `Videos by @${p.handle}`,
          empty: () => stateBox({
            iconName: 'grid',
            title: mine ? 'Share your first video' : 'No videos yet',
            text: mine ? 'Your videos will appear here.' : `@${p.handle} hasn’t posted anything yet.`,
            actions: mine ? [h('a', { class: 'btn btn-primary', href: '#/upload', text: 'Upload a video' })] : [],
          }),
        });
        panel.append(grid.el);
        currentCleanup = grid.destroy;
      } else {
        const an = analyticsPanel();
        panel.append(an.el);
        currentCleanup = an.destroy;
      }
      panels.replaceChildren(panel);
      const qs = new URLSearchParams(location.hash.split('?')[1] || '');
      if ((qs.get('tab') || 'videos') !== id) {
        history.replaceState(null, '', `#/u/${enc(p.handle)}${id === 'videos' ? '' : `?tab=${id}`}`);
      }
    }
    cleanups.push(() => currentCleanup && currentCleanup());

    body.replaceChildren(head, tablist, panels);
    const wanted = new URLSearchParams(location.hash.split('?')[1] || '').get('tab');
    select(mine && wanted === 'analytics' ? 'analytics' : 'videos');
    document.title = `${(p.display_name && p.display_name.trim()) || `@${p.handle}`} (@${p.handle}) · Flick`;
  }

  return {
    title: `@${handle}`,
    destroy() {
      cleanups.forEach((fn) => fn());
    },
  };
}

/** The edit-profile sheet (display name and bio). */
export function editProfile(p, nameEl, bioEl, onSaved) {
  openSheet({
    title: 'Edit profile',
    className: 'sheet-form',
    build(body, close) {
      const name = h('input', { id: 'edit-name', type: 'text', maxlength: '50', autocomplete: 'nickname', value: p.display_name || '' });
      const bio = h('textarea', { id: 'edit-bio', rows: '4', maxlength: '300' });
      bio.value = p.bio || '';
      const counter = h('span', { class: 'field-hint', id: 'edit-bio-count', text: `${bio.value.length}/300` });
      bio.setAttribute('aria-describedby', 'edit-bio-count');
      bio.addEventListener('input', () => { counter.textContent = `${bio.value.length}/300`; });
      const err = h('p', { class: 'form-error', role: 'alert', hidden: true });
      const save = h('button', { type: 'submit', class: 'btn btn-primary btn-block', text: 'Save' });
      body.append(h('form', {
        class: 'form',
        onsubmit: async (e) => {
          e.preventDefault();
          save.disabled = true;
          err.hidden = true;
          try {
            const updated = await api('/me', { method: 'PATCH', body: { display_name: name.value.trim(), bio: bio.value } });
            Object.assign(p, updated || { display_name: name.value.trim(), bio: bio.value });
            if (nameEl) nameEl.textContent = (p.display_name && p.display_name.trim()) || `@${p.handle}`;
            if (bioEl) {
              bioEl.textContent = p.bio || '';
              bioEl.hidden = !p.bio;
            }
            if (onSaved) onSaved(p);
            toast('Profile saved', { kind: 'success' });
            close();
          } catch (ex) {
            err.textContent = ex.message;
            err.hidden = false;
          } finally {
            save.disabled = false;
          }
        },
      },
        h('label', { class: 'field' }, h('span', { class: 'field-label', text: 'Display name' }), name),
        h('label', { class: 'field' }, h('span', { class: 'field-label', text: 'Bio' }), bio, counter),
        err, save));
      setTimeout(() => name.focus(), 30);
    },
  });
}
