// A grid of video posters (profile, hashtag and sound pages), paged with a
// cursor. Opening a tile plays that list in the full-screen player.

import { api, enc } from './api.js';
import { h, icon, fmtCount, spinner, stateBox } from './dom.js';
import { canon, setListContext } from './store.js';
import { isSensitive, viewingSettings } from './safety.js';

/**
 * load(cursor) → Page of Video. `owner` shows processing/failed clips and
 * polls them until they settle. Returns {el, destroy, items}.
 */
export function videoGrid({ load, owner = false, empty, label = 'Videos', onItems }) {
  const list = h('ul', { class: 'video-grid', 'aria-label': label });
  const status = h('div', { class: 'grid-status' });
  const sentinel = h('div', { class: 'grid-sentinel', 'aria-hidden': 'true' });
  const moreBtn = h('button', { type: 'button', class: 'btn btn-ghost btn-small load-more', text: 'Load more', hidden: true, onclick: () => next() });
  const el = h('div', { class: 'grid-wrap' }, list, status, moreBtn, sentinel);

  const state = { items: [], cursor: null, done: false, loading: false, dead: false };
  const polls = new Map();

  function tile(v) {
    const ready = !v.status || v.status === 'ready';
    const views = (v.counts && v.counts.views) || 0;
    const badge = v.status === 'processing' ? h('span', { class: 'tile-badge', text: 'Processing' })
      : v.status === 'failed' ? h('span', { class: 'tile-badge tile-badge-failed', text: 'Failed', title: v.failure_reason || '' })
        : null;
    // A caption a keyword filter warns about is not read out either.
    const warned = Array.isArray(v.filter_warning) && v.filter_warning.length > 0;
    const captionText = warned ? 'Hidden by your keyword filter' : (v.caption || '').trim();
    const a = h('a', {
      class: `tile${ready ? '' : ' tile-pending'}`,
      href: `#/v/${enc(v.id)}`,
      'aria-label': `${captionText ? captionText.slice(0, 60) : 'Video'}${ready ? `, ${fmtCount(views)} views` : `, ${v.status}`}`,
      onclick: () => {
        setListContext({ items: state.items.filter((x) => !x.status || x.status === 'ready' || x.id === v.id), cursor: state.cursor, done: state.done, load, label });
      },
    },
      v.poster_url
        ? h('img', { src: v.poster_url, alt: '', loading: 'lazy', decoding: 'async', width: '180', height: '320' })
        : h('span', { class: 'tile-placeholder', 'aria-hidden': 'true' }, v.status === 'failed' ? icon('alert', { size: 28 }) : v.status === 'processing' ? h('span', { class: 'spinner spinner-small' }) : icon('play', { size: 28 })),
      ready ? h('span', { class: 'tile-views', 'aria-hidden': 'true' }, icon('views', { size: 14 }), h('span', { text: fmtCount(views) })) : null,
      badge);
    // Sensitive clips are blurred here too (posters included), unless the
    // viewer chose to see them; the player asks before showing one.
    if (isSensitive(v)) {
      a.classList.add('is-sensitive');
      a.append(h('span', { class: 'tile-badge tile-badge-sensitive', text: 'Sensitive' }));
      viewingSettings().then((s) => {
        if (s.sensitive === 'show') a.classList.remove('is-sensitive');
      });
    }
    if (warned) {
      a.classList.add('is-sensitive', 'is-filtered');
      a.append(h('span', { class: 'tile-badge tile-badge-sensitive', text: 'Filtered' }));
    }
    const li = h('li', { dataset: { videoId: String(v.id) } }, a);
    return li;
  }

  function watch(v) {
    if (!owner || v.status !== 'processing' || polls.has(String(v.id))) return;
    const tick = async () => {
      if (state.dead) return;
      try {
        const fresh = canon(await api(`/videos/${enc(v.id)}`));
        if (fresh.status !== 'processing') {
          polls.delete(String(v.id));
          const i = state.items.findIndex((x) => String(x.id) === String(v.id));
          if (i !== -1) state.items[i] = fresh;
          const old = list.querySelector(`li[data-video-id="${CSS.escape(String(v.id))}"]`);
          if (old) old.replaceWith(tile(fresh));
          return;
        }
      } catch {
        /* try again */
      }
      polls.set(String(v.id), setTimeout(tick, 3000));
    };
    polls.set(String(v.id), setTimeout(tick, 3000));
  }

  async function next() {
    if (state.loading || state.done || state.dead) return;
    state.loading = true;
    moreBtn.hidden = true;
    status.replaceChildren(spinner('Loading videos'));
    try {
      const page = await load(state.cursor);
      const items = ((page && page.items) || []).map(canon);
      for (const v of items) {
        if (state.items.some((x) => String(x.id) === String(v.id))) continue;
        state.items.push(v);
        list.append(tile(v));
        watch(v);
      }
      state.cursor = (page && page.next_cursor) || null;
      state.done = !state.cursor;
      status.replaceChildren();
      if (!state.items.length) status.append(empty ? empty() : stateBox({ iconName: 'grid', title: 'No videos yet' }));
      if (onItems) onItems(state.items);
    } catch (e) {
      status.replaceChildren(h('div', { class: 'inline-error', role: 'alert' },
        h('span', { text: e.message }),
        h('button', { type: 'button', class: 'btn btn-ghost btn-small', text: 'Retry', onclick: () => next() })));
    } finally {
      state.loading = false;
      moreBtn.hidden = state.done || Boolean(status.querySelector('.inline-error'));
    }
  }

  const io = new IntersectionObserver((entries) => {
    if (entries.some((e) => e.isIntersecting)) next();
  }, { rootMargin: '400px' });
  io.observe(sentinel);
  next();

  return {
    el,
    items: state.items,
    destroy() {
      state.dead = true;
      io.disconnect();
      for (const t of polls.values()) clearTimeout(t);
    },
  };
}
