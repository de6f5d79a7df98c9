// The vertical feed: one clip per screen with scroll-snap, keyboard and
// wheel navigation, the next clip preloaded, more loaded near the end.

import { h, icon, iconButton, spinner, stateBox, dialogOpen, toastError } from './dom.js';
import { Clip, playback } from './clip.js';
import { canon } from './store.js';

const reducedMotion = () => window.matchMedia('(prefers-reduced-motion: reduce)').matches;

/**
 * options:
 *   kind      'foryou' | 'following' | 'list'
 *   label     accessible name of the feed
 *   header    element laid over the top of the feed (tabs or a back bar)
 *   load      async (cursor) => {items, next_cursor}; for an endless source
 *             (For You) the feed ends when a call brings nothing new
 *   endless   true for For You
 *   items, cursor, done   a list to start from (a grid's context)
 *   startId   the video to open at
 *   empty     () => element shown when there is nothing at all
 */
export class Feed {
  constructor(options) {
    this.opts = options;
    this.kind = options.kind;
    this.clips = [];
    this.ids = new Set();
    this.active = -1;
    this.pending = null;
    this.cursor = options.cursor ?? null;
    this.done = Boolean(options.done);
    this.loading = false;
    this.error = null;
    this.mounted = false;
    this.soundChosen = false;
    this.resumeOnVisible = false;
    this.wheelLockUntil = 0;

    this.tail = h('div', { class: 'feed-tail' });
    this.scroller = h('div', {
      class: 'feed',
      role: 'feed',
      'aria-label': options.label || 'Videos',
      'aria-busy': 'false',
      tabindex: '-1',
    }, this.tail);
    this.prevBtn = iconButton('up', 'Previous video', { className: 'icon-btn desk-nav-btn', onclick: () => this.step(-1) });
    this.nextBtn = iconButton('down', 'Next video', { className: 'icon-btn desk-nav-btn', onclick: () => this.step(1) });
    // The first load shows a spinner laid over the feed (not in its flow), so
    // the clips that arrive take its place without shifting anything.
    this.loader = h('div', { class: 'feed-loader', hidden: true }, spinner('Loading videos'));
    this.el = h('section', { class: `feed-view feed-${this.kind}`, 'aria-label': options.label || 'Videos' },
      options.header || null,
      this.scroller,
      this.loader,
      h('div', { class: 'desk-nav' }, this.prevBtn, this.nextBtn,
        h('p', { class: 'desk-hint' },
          h('kbd', { text: '↑' }), ' ', h('kbd', { text: '↓' }), ' browse', h('br'),
          h('kbd', { text: 'Space' }), ' pause', h('br'),
          h('kbd', { text: 'M' }), ' sound')));

    this.onScroll = this.onScroll.bind(this);
    this.onKey = this.onKey.bind(this);
    this.onWheel = this.onWheel.bind(this);
    this.onVisibility = this.onVisibility.bind(this);
    this.onPageHide = this.onPageHide.bind(this);
    this.onMuteChange = (m) => this.clips.forEach((c) => c.setMutedUi(m));

    this.scroller.addEventListener('scroll', this.onScroll, { passive: true });
    this.scroller.addEventListener('scrollend', () => this.syncFromScroll());
    this.scroller.addEventListener('wheel', this.onWheel, { passive: false });
    this.resizeObs = new ResizeObserver(() => this.realign());
    this.resizeObs.observe(this.scroller);

    if (options.items && options.items.length) this.append(options.items);
    this.renderTail();
  }

  // ---------- lifecycle ----------

  mount(container) {
    container.append(this.el);
    this.mounted = true;
    document.addEventListener('keydown', this.onKey);
    document.addEventListener('visibilitychange', this.onVisibility);
    window.addEventListener('pagehide', this.onPageHide);
    playback.listeners.add(this.onMuteChange);
    this.clips.forEach((c) => c.update());

    if (this.active >= 0) {
      // Coming back: the scroll position was lost while detached.
      const i = this.active;
      this.active = -1;
      this.scroller.scrollTop = i * this.scroller.clientHeight;
      this.setActive(i);
    } else if (this.clips.length) {
      const start = this.opts.startId !== undefined ? this.indexOf(this.opts.startId) : 0;
      this.jump(Math.max(0, start));
    } else if (!this.done) {
      this.loadMore();
    }
  }

  unmount() {
    if (!this.mounted) return;
    this.mounted = false;
    document.removeEventListener('keydown', this.onKey);
    document.removeEventListener('visibilitychange', this.onVisibility);
    window.removeEventListener('pagehide', this.onPageHide);
    playback.listeners.delete(this.onMuteChange);
    const cur = this.clips[this.active];
    if (cur) cur.deactivate();
    this.el.remove();
  }

  destroy() {
    this.unmount();
    this.resizeObs.disconnect();
    this.clips.forEach((c) => c.destroy());
  }

  // ---------- data ----------

  indexOf(id) {
    return this.clips.findIndex((c) => String(c.id) === String(id));
  }

  append(items) {
    let added = 0;
    for (const raw of items) {
      if (!raw || raw.id === undefined || this.ids.has(String(raw.id))) continue;
      const video = canon(raw);
      this.ids.add(String(video.id));
      const clip = new Clip(video, this);
      clip.el.dataset.index = String(this.clips.length);
      clip.el.inert = true;
      this.clips.push(clip);
      this.scroller.insertBefore(clip.el, this.tail);
      added += 1;
    }
    this.updateSetSize();
    return added;
  }

  updateSetSize() {
    this.clips.forEach((c, i) => {
      c.el.dataset.index = String(i);
      c.el.setAttribute('aria-posinset', String(i + 1));
      c.el.setAttribute('aria-setsize', this.done ? String(this.clips.length) : '-1');
    });
  }

  async loadMore() {
    if (this.loading || this.done) return;
    this.loading = true;
    this.error = null;
    this.scroller.setAttribute('aria-busy', 'true');
    this.renderTail();
    try {
      const page = await this.opts.load(this.cursor);
      const items = (page && Array.isArray(page.items)) ? page.items : [];
      const added = this.append(items);
      if (this.opts.endless) {
        // For You has no cursor: each call brings what the server picks next.
        // A call may repeat clips already shown, so only a few calls in a
        // row with nothing new mean the end.
        this.barren = added === 0 ? (this.barren || 0) + 1 : 0;
        if (items.length === 0 || this.barren >= 3) this.done = true;
      } else {
        this.cursor = (page && page.next_cursor) || null;
        if (!this.cursor) this.done = true;
      }
    } catch (e) {
      this.error = e;
      if (e && e.name !== 'AbortError') toastError(e);
    } finally {
      this.loading = false;
      this.scroller.setAttribute('aria-busy', 'false');
      this.updateSetSize();
      this.renderTail();
    }
    if (!this.mounted) return;
    if (this.active === -1 && this.clips.length) {
      const start = this.opts.startId !== undefined ? Math.max(0, this.indexOf(this.opts.startId)) : 0;
      this.jump(start);
    } else {
      // The user may be waiting on the tail, which is now a new clip.
      this.syncFromScroll(true);
    }
  }

  renderTail() {
    const t = this.tail;
    t.replaceChildren();
    const empty = this.clips.length === 0;
    const firstLoad = this.loading && empty;
    t.hidden = firstLoad;
    this.loader.hidden = !firstLoad;
    if (this.loading) {
      t.append(h('div', { class: 'tail-loading' }, spinner('Loading videos')));
    } else if (this.error) {
      t.append(stateBox({
        iconName: 'alert',
        title: 'Couldn’t load videos',
        text: this.error.message,
        actions: [h('button', { type: 'button', class: 'btn btn-primary', text: 'Try again', onclick: () => this.loadMore() }),
          h('a', { class: 'btn btn-ghost', href: '#/search', text: 'Search instead' })],
      }));
    } else if (this.done && empty) {
      t.append(this.opts.empty ? this.opts.empty() : stateBox({ title: 'Nothing here yet' }));
    } else if (this.done) {
      t.append(this.opts.end ? this.opts.end() : stateBox({
        iconName: 'check',
        title: 'You’re all caught up',
        text: 'Check back later for new videos.',
        actions: [h('button', { type: 'button', class: 'btn btn-secondary', onclick: () => this.jump(0, true) }, icon('up', { size: 18 }), h('span', { text: 'Back to top' }))],
      }));
    } else {
      t.append(h('div', { class: 'tail-loading' }, spinner('Loading videos')));
    }
    t.classList.toggle('feed-tail-full', empty || this.done || Boolean(this.error));
  }

  /** Starts over (e.g. after the For You model was reset). */
  reload() {
    const cur = this.clips[this.active];
    if (cur) cur.deactivate();
    this.clips.forEach((c) => {
      c.destroy();
      c.el.remove();
    });
    this.clips = [];
    this.ids.clear();
    this.active = -1;
    this.cursor = null;
    this.done = false;
    this.barren = 0;
    this.error = null;
    this.scroller.scrollTop = 0;
    this.renderTail();
    this.loadMore();
  }

  updateVideo(id) {
    for (const c of this.clips) if (String(c.id) === String(id)) c.update();
  }

  updateAuthor(handle) {
    for (const c of this.clips) if (c.video.author && c.video.author.handle === handle) c.updateFollow();
  }

  /** Takes a clip out (not interested, deleted) and shows the next one. */
  removeVideo(id) {
    const i = this.indexOf(id);
    if (i === -1) return;
    const clip = this.clips[i];
    const wasActive = i === this.active;
    clip.destroy();
    clip.el.remove();
    this.clips.splice(i, 1);
    this.ids.delete(String(id));
    this.updateSetSize();
    if (wasActive) {
      this.active = -1;
      const h = this.scroller.clientHeight;
      this.scroller.scrollTop = i * h;
      this.setActive(Math.min(i, this.clips.length));
    } else if (i < this.active) {
      this.active -= 1;
      this.scroller.scrollTop = this.active * this.scroller.clientHeight;
    }
    if (!this.clips.length) this.renderTail();
  }

  // ---------- navigation ----------

  get lastIndex() {
    return this.clips.length; // the tail counts as a stop
  }

  setActive(i, force = false) {
    const idx = Math.max(0, Math.min(i, this.lastIndex));
    if (idx === this.active && !force) return;
    const prev = this.clips[this.active];
    const prevStop = this.active === this.clips.length ? this.tail : prev && prev.el;
    const focusWasIn = prevStop && prevStop.contains(document.activeElement) ? document.activeElement : null;
    if (prev && this.active !== idx) prev.deactivate();
    this.active = idx;
    if (this.pending === idx) this.pending = null;
    // Only the clip on screen takes part in Tab order; arrows move between clips.
    this.tail.inert = idx !== this.clips.length;
    this.clips.forEach((c, j) => {
      c.el.inert = j !== idx;
      const d = j - idx;
      if (d === 0) {
        if (this.mounted && document.visibilityState !== 'hidden') c.activate();
      } else if (d === 1) {
        c.prime('auto'); // the next clip buffers ahead
      } else if (d === -1 || d === 2) {
        c.prime('metadata');
      } else {
        c.release();
      }
    });
    if (focusWasIn) this.carryFocus(focusWasIn);
    this.prevBtn.disabled = idx <= 0;
    this.nextBtn.disabled = idx >= this.lastIndex;
    if (!this.done && !this.loading && !this.error && idx >= this.clips.length - 3) this.loadMore();
  }

  /** Keeps keyboard focus on the same control of the clip now on screen. */
  carryFocus(el) {
    const stop = this.active === this.clips.length ? this.tail : this.clips[this.active] && this.clips[this.active].el;
    if (!stop) return;
    const cls = [...el.classList].find((c) => stop.querySelector(`.${CSS.escape(c)}`));
    const target = (cls && stop.querySelector(`.${CSS.escape(cls)}`)) || stop.querySelector('button, a[href]');
    if (target && !target.hidden) target.focus({ preventScroll: true });
    else this.scroller.focus({ preventScroll: true });
  }

  /** Scrolls to stop `i` (a clip, or the tail). */
  jump(i, smooth = false) {
    const idx = Math.max(0, Math.min(i, this.lastIndex));
    const top = idx * this.scroller.clientHeight;
    this.pending = idx;
    if (smooth && !reducedMotion()) {
      this.scroller.scrollTo({ top, behavior: 'smooth' });
      if (Math.abs(this.scroller.scrollTop - top) < 2) this.setActive(idx);
    } else {
      this.scroller.scrollTop = top;
      this.setActive(idx);
    }
  }

  step(delta) {
    const base = this.pending ?? this.active;
    const target = Math.max(0, Math.min((base < 0 ? 0 : base) + delta, this.lastIndex));
    if (target === base) return;
    this.jump(target, true);
  }

  onScroll() {
    clearTimeout(this.scrollTimer);
    this.scrollTimer = setTimeout(() => this.syncFromScroll(), 140);
  }

  syncFromScroll(force = false) {
    const hgt = this.scroller.clientHeight;
    if (!hgt || !this.mounted) return;
    const idx = Math.round(this.scroller.scrollTop / hgt);
    if (this.pending !== null && idx !== this.pending && Math.abs(this.scroller.scrollTop - this.pending * hgt) > 2) {
      // Still travelling towards a keyboard/wheel target.
      if (!force) return;
    }
    this.pending = null;
    if (idx !== this.active || force) this.setActive(idx, force);
  }

  realign() {
    if (this.active < 0 || !this.mounted) return;
    const hgt = this.scroller.clientHeight;
    if (hgt) this.scroller.scrollTop = this.active * hgt;
  }

  onWheel(e) {
    if (e.ctrlKey || dialogOpen()) return;
    if (Math.abs(e.deltaY) < Math.abs(e.deltaX)) return;
    e.preventDefault();
    const now = performance.now();
    if (Math.abs(e.deltaY) < 4) return;
    if (now < this.wheelLockUntil) {
      // A trackpad keeps sending momentum: one gesture moves one clip.
      this.wheelLockUntil = Math.max(this.wheelLockUntil, now + 200);
      return;
    }
    this.wheelLockUntil = now + 550;
    this.step(e.deltaY > 0 ? 1 : -1);
  }

  onKey(e) {
    if (!this.mounted || e.defaultPrevented || e.altKey || e.ctrlKey || e.metaKey) return;
    if (dialogOpen()) return;
    const t = e.target;
    if (t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName))) return;
    const onControl = t && t.closest && t.closest('button, a, summary, [role="button"]');
    switch (e.key) {
      case 'ArrowDown':
      case 'PageDown':
      case 'j':
        e.preventDefault();
        this.step(1);
        break;
      case 'ArrowUp':
      case 'PageUp':
      case 'k':
        e.preventDefault();
        this.step(-1);
        break;
      case ' ':
      case 'Spacebar':
        if (onControl) return; // Space presses the focused button
        e.preventDefault();
        if (this.clips[this.active]) {
          this.soundChosen = true;
          this.clips[this.active].togglePlay();
        }
        break;
      case 'm':
      case 'M':
        e.preventDefault();
        this.setMuted(!playback.muted);
        break;
      default:
    }
  }

  setMuted(m) {
    this.soundChosen = true;
    playback.setMuted(m);
    const cur = this.clips[this.active];
    if (cur) {
      cur.videoEl.muted = m;
      if (!m && cur.videoEl.paused && !cur.userPaused) cur.play();
    }
  }

  onVisibility() {
    const cur = this.clips[this.active];
    if (!cur) return;
    if (document.visibilityState === 'hidden') {
      this.resumeOnVisible = cur.active && !cur.userPaused;
      cur.deactivate();
    } else if (this.mounted && !cur.active) {
      const stayPaused = !this.resumeOnVisible;
      cur.activate();
      if (stayPaused) cur.togglePlay();
    }
  }

  onPageHide() {
    const cur = this.clips[this.active];
    if (cur) cur.deactivate();
  }
}
