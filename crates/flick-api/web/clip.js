// One full-screen clip: its <video>, overlays, the action rail, playback and
// the watch accounting that becomes a view event when the user leaves it.

import { api, enc, session, sendViewEvent } from './api.js';
import { h, icon, iconButton, fmtCount, plural, richText, avatar, timeAgo, toast, toastError, copyText } from './dom.js';
import { follows, setFollowing } from './store.js';
import { requireLogin } from './router.js';
import { openComments, openWhy, openMore } from './sheets.js';
import { labelChips, blurIfSensitive, shareVideo, contextNoteBox } from './safety.js';

/** Native HLS where the browser says it can; otherwise hls.js; otherwise the MP4. */
export const CAN_HLS = (() => {
  try {
    return Boolean(document.createElement('video').canPlayType('application/vnd.apple.mpegurl'));
  } catch {
    return false;
  }
})();

/**
 * hls.js (served by Flick at /hls.mjs) for browsers without native HLS but
 * with Media Source Extensions. Loaded only where it is needed; if it is
 * missing or unsupported the clips play their MP4.
 */
export const Hls = CAN_HLS
  ? null
  : await import('/hls.mjs').then((m) => (m.default.isSupported() ? m.default : null), () => null);

/** Sound state shared by every clip: muted until the user asks for sound. */
export const playback = {
  muted: true,
  listeners: new Set(),
  setMuted(m) {
    this.muted = m;
    document.documentElement.dataset.muted = String(m);
    for (const fn of this.listeners) fn(m);
  },
};
document.documentElement.dataset.muted = 'true';

const DOUBLE_TAP_MS = 280;

/** Time actually played, completion and loops of one visit to a clip. */
class WatchTracker {
  constructor() {
    this.reset();
  }

  reset() {
    this.watched = 0;
    this.last = null;
    this.completed = false;
    this.loops = 0;
    this.since = null;
  }

  begin() {
    if (this.since === null) this.since = performance.now();
  }

  mark(t) {
    this.last = t;
  }

  tick(t, duration) {
    if (this.last !== null) {
      const d = t - this.last;
      if (d > 0 && d < 2) {
        this.watched += d;
      } else if (d < -0.5) {
        // Playback jumped back to the start: the clip ended and looped.
        const dur = Number.isFinite(duration) ? duration : this.last;
        this.watched += Math.max(0, dur - this.last) + Math.max(0, t);
        this.loops += 1;
        this.completed = true;
      }
    }
    if (Number.isFinite(duration) && duration > 0 && t >= duration - 0.3) this.completed = true;
    this.last = t;
  }

  /** The event to send, or null when the clip was barely on screen. */
  take() {
    const shownMs = this.since === null ? 0 : performance.now() - this.since;
    const ev = { watched_ms: Math.round(this.watched * 1000), completed: this.completed, loops: this.loops };
    const meaningful = ev.watched_ms > 0 || shownMs >= 1000;
    this.reset();
    return meaningful ? ev : null;
  }
}

export class Clip {
  constructor(video, feed) {
    this.video = video;
    this.feed = feed;
    this.tracker = new WatchTracker();
    this.active = false;
    this.usingHls = false;
    this.failedOver = false;
    this.userPaused = false;
    this.tapTimer = null;
    this.lastTap = 0;
    this.build();
  }

  get id() {
    return this.video.id;
  }

  build() {
    const v = this.video;
    const author = v.author || {};
    const landscape = v.width && v.height && v.width > v.height;

    this.videoEl = h('video', {
      class: `clip-video${landscape ? ' landscape' : ''}`,
      playsinline: true,
      'webkit-playsinline': true,
      loop: true,
      muted: true,
      defaultMuted: true,
      preload: 'none',
      disablepictureinpicture: true,
      disableremoteplayback: true,
      'aria-label': `Video by @${author.handle || 'unknown'}`,
      poster: v.poster_url || undefined,
    });
    this.videoEl.muted = true;

    this.progress = h('div', { class: 'clip-progress-fill' });
    this.playIndicator = h('div', { class: 'play-indicator', 'aria-hidden': 'true' }, icon('play', { size: 64 }));
    this.bufferIndicator = h('div', { class: 'buffer-indicator', 'aria-hidden': 'true' });
    this.errorBox = h('div', { class: 'clip-error', hidden: true });

    this.media = h('div', { class: 'clip-media' }, this.videoEl, this.playIndicator, this.bufferIndicator, this.errorBox);
    this.media.addEventListener('click', (e) => this.onTap(e));
    // Words a keyword filter warns about stay out of sight (the caption,
    // its note, the label read out) until the cover is tapped.
    const warned = Array.isArray(v.filter_warning) && v.filter_warning.length > 0;
    blurIfSensitive(this.media, v, {
      onReveal: () => {
        if (!warned) return;
        this.info.classList.remove('caption-filtered');
        this.el.setAttribute('aria-label', `@${author.handle}: ${(v.caption || '').slice(0, 80)}`);
      },
    });

    // --- action rail ---
    this.followBtn = h('button', {
      type: 'button',
      class: 'follow-badge',
      'aria-label': `Follow @${author.handle}`,
      hidden: true,
      onclick: () => this.follow(),
    }, icon('plus', { size: 14 }));
    const authorLink = h('a', { href: `#/u/${enc(author.handle || '')}`, class: 'rail-avatar', 'aria-label': `@${author.handle} profile` }, avatar(author, 46));

    this.likeCount = h('span', { class: 'rail-count' });
    this.likeBtn = h('button', { type: 'button', class: 'rail-btn like-btn', onclick: () => this.toggleLike() },
      h('span', { class: 'rail-icon' }, icon('heart', { size: 30, className: 'i-off' }), icon('heartFilled', { size: 30, className: 'i-on' })),
      this.likeCount);
    this.commentCount = h('span', { class: 'rail-count' });
    this.commentBtn = h('button', { type: 'button', class: 'rail-btn comment-btn', onclick: () => this.openComments() },
      h('span', { class: 'rail-icon' }, icon('comment', { size: 30 })), this.commentCount);
    this.shareCount = h('span', { class: 'rail-count' });
    this.shareBtn = h('button', { type: 'button', class: 'rail-btn share-btn', onclick: () => this.share() },
      h('span', { class: 'rail-icon' }, icon('share', { size: 30 })), this.shareCount);
    const moreBtn = h('button', { type: 'button', class: 'rail-btn more-btn', 'aria-label': 'More options: why this video, not interested', onclick: () => openMore(this) },
      h('span', { class: 'rail-icon' }, icon('more', { size: 28 })));

    const sound = v.sound;
    const disc = sound
      ? h('a', { class: 'sound-disc', href: `#/sound/${enc(sound.id)}`, 'aria-label': `Sound: ${sound.title || 'original sound'}` }, avatar(author, 26))
      : h('span', { class: 'sound-disc', 'aria-hidden': 'true' }, avatar(author, 26));

    this.rail = h('div', { class: 'clip-rail' },
      h('div', { class: 'rail-author' }, authorLink, this.followBtn),
      this.likeBtn, this.commentBtn, this.shareBtn, moreBtn, disc);

    // --- caption block ---
    const name = author.display_name && author.display_name.trim();
    const reasons = Array.isArray(v.reasons) ? v.reasons.filter(Boolean) : [];
    const caption = h('p', { class: 'clip-caption' }, richText(v.caption || ''));
    const long = (v.caption || '').length > 110 || (v.caption || '').split('\n').length > 3;
    const moreCaption = long
      ? h('button', {
          type: 'button',
          class: 'caption-more',
          text: 'more',
          'aria-expanded': 'false',
          onclick: (e) => {
            const open = caption.classList.toggle('expanded');
            e.currentTarget.textContent = open ? 'less' : 'more';
            e.currentTarget.setAttribute('aria-expanded', String(open));
          },
        })
      : null;
    const soundLine = sound
      ? h('a', { class: 'clip-sound', href: `#/sound/${enc(sound.id)}` }, icon('music', { size: 14 }),
          h('span', { class: 'marquee' }, h('span', { text: sound.title || `Original sound – @${author.handle}` })))
      : h('span', { class: 'clip-sound' }, icon('music', { size: 14 }), h('span', { class: 'marquee' }, h('span', { text: `Original sound – @${author.handle}` })));

    this.info = h('div', { class: 'clip-info' },
      reasons.length
        ? h('button', { type: 'button', class: 'reason-chip', 'aria-label': `Why this video: ${reasons[0]}`, onclick: () => openWhy(this) },
            icon('spark', { size: 12 }), h('span', { text: reasons[0] }))
        : null,
      h('div', { class: 'clip-byline' },
        h('a', { class: 'clip-author', href: `#/u/${enc(author.handle || '')}` },
          h('span', { class: 'clip-name', text: name || `@${author.handle}` }),
          name ? h('span', { class: 'clip-handle', text: `@${author.handle}` }) : null),
        v.created_at ? h('span', { class: 'clip-time', text: `· ${timeAgo(v.created_at)}` }) : null),
      labelChips(v), caption, moreCaption, contextNoteBox(v), soundLine);
    if (warned) this.info.classList.add('caption-filtered');

    this.unmuteBtn = h('button', { type: 'button', class: 'unmute-pill', onclick: (e) => { e.stopPropagation(); this.feed.setMuted(false); } },
      icon('mute', { size: 16 }), h('span', { text: 'Tap to unmute' }));
    this.muteBtn = h('button', { type: 'button', class: 'icon-btn mute-toggle', onclick: (e) => { e.stopPropagation(); this.feed.setMuted(!playback.muted); } },
      icon('mute', { size: 22, className: 'i-muted' }), icon('sound', { size: 22, className: 'i-sound' }));

    this.statusBox = null;
    if (v.status && v.status !== 'ready') {
      this.statusBox = h('div', { class: 'clip-status' },
        v.status === 'failed' ? icon('alert', { size: 36 }) : h('div', { class: 'spinner' }),
        h('p', { text: v.status === 'failed' ? `Processing failed${v.failure_reason ? `: ${v.failure_reason}` : ''}` : 'Processing… this clip will be ready soon.' }));
    }

    this.el = h('article', {
      class: 'clip',
      dataset: { videoId: String(v.id), author: author.handle || '' },
      'aria-roledescription': 'video',
      'aria-label': `@${author.handle}: ${warned ? 'caption hidden by your keyword filter' : (v.caption || '').slice(0, 80)}`,
    },
      this.media,
      h('div', { class: 'clip-shade', 'aria-hidden': 'true' }),
      this.statusBox,
      this.info, this.rail, this.unmuteBtn, this.muteBtn,
      h('div', { class: 'clip-progress', 'aria-hidden': 'true' }, this.progress));

    this.bindVideo();
    this.update();
  }

  bindVideo() {
    const el = this.videoEl;
    el.addEventListener('playing', () => {
      this.tracker.mark(el.currentTime);
      this.el.classList.remove('is-paused', 'is-buffering');
      this.errorBox.hidden = true;
    });
    el.addEventListener('timeupdate', () => {
      if (this.active && !el.paused) this.tracker.tick(el.currentTime, el.duration);
      const d = el.duration;
      if (Number.isFinite(d) && d > 0) this.progress.style.transform = `scaleX(${Math.min(1, el.currentTime / d)})`;
    });
    el.addEventListener('pause', () => {
      if (this.active) this.tracker.tick(el.currentTime, el.duration);
      this.tracker.last = null;
    });
    el.addEventListener('waiting', () => {
      if (this.active) this.el.classList.add('is-buffering');
    });
    el.addEventListener('canplay', () => this.el.classList.remove('is-buffering'));
    el.addEventListener('error', () => this.onError());
  }

  onError() {
    const el = this.videoEl;
    if (!el.getAttribute('src')) return;
    if (this.usingHls && this.video.mp4_url && !this.failedOver) {
      // The browser claimed HLS but couldn't play this stream: use the MP4.
      if (this.hls) {
        this.hls.destroy();
        this.hls = null;
      }
      this.failedOver = true;
      this.usingHls = false;
      el.src = this.video.mp4_url;
      el.load();
      if (this.active) this.play();
      return;
    }
    this.el.classList.remove('is-buffering');
    this.errorBox.replaceChildren(
      icon('alert', { size: 32 }),
      h('p', { text: 'This video can’t be played right now.' }),
      h('button', { type: 'button', class: 'btn btn-secondary btn-small', text: 'Retry', onclick: (e) => { e.stopPropagation(); this.retry(); } }));
    this.errorBox.hidden = false;
  }

  retry() {
    this.errorBox.hidden = true;
    this.failedOver = false;
    this.release();
    this.prime('auto');
    if (this.active) this.play();
  }

  sourceUrl() {
    const v = this.video;
    if (v.status && v.status !== 'ready') return null;
    if (CAN_HLS && v.hls_url && !this.failedOver) {
      this.usingHls = true;
      return v.hls_url;
    }
    this.usingHls = false;
    return v.mp4_url || null;
  }

  /** Gives the element its source so it can buffer (the next clip is primed this way). */
  prime(preload = 'metadata') {
    const el = this.videoEl;
    if (el.preload !== preload && !(el.preload === 'auto' && preload !== 'auto')) el.preload = preload;
    if (el.getAttribute('src') || this.hls) return;
    const v = this.video;
    if (Hls && v.hls_url && !this.failedOver && (!v.status || v.status === 'ready')) {
      this.attachHlsJs(v.hls_url);
      return;
    }
    const url = this.sourceUrl();
    if (url) el.src = url;
  }

  /** Adaptive playback through hls.js; a fatal error falls over to the MP4. */
  attachHlsJs(url) {
    const el = this.videoEl;
    this.usingHls = true;
    this.hls = new Hls({ capLevelToPlayerSize: true, maxBufferLength: 10 });
    this.hls.on(Hls.Events.ERROR, (_event, data) => {
      if (!data.fatal) return;
      this.hls.destroy();
      this.hls = null;
      this.failedOver = true;
      this.usingHls = false;
      if (this.video.mp4_url) {
        el.src = this.video.mp4_url;
        el.load();
        if (this.active) this.play();
      }
    });
    this.hls.loadSource(url);
    this.hls.attachMedia(el);
  }

  /** Frees the decoder of a clip far from the screen. */
  release() {
    const el = this.videoEl;
    if (this.hls) {
      this.hls.destroy();
      this.hls = null;
    }
    if (el.getAttribute('src')) {
      el.pause();
      el.removeAttribute('src');
      el.preload = 'none';
      el.load();
    }
  }

  activate() {
    if (this.active) return;
    this.active = true;
    this.el.dataset.active = 'true';
    this.el.setAttribute('aria-current', 'true');
    this.userPaused = false;
    this.el.classList.remove('is-paused');
    this.tracker.begin();
    this.prime('auto');
    this.videoEl.muted = playback.muted;
    try {
      if (this.videoEl.readyState > 0 && this.videoEl.currentTime > 0 && this.videoEl.ended) this.videoEl.currentTime = 0;
    } catch {
      /* not seekable yet */
    }
    this.play();
    this.loadFollowState();
  }

  /** Leaves the clip: pauses it and reports how it was watched. */
  deactivate() {
    if (!this.active) return;
    this.active = false;
    this.el.dataset.active = 'false';
    this.el.removeAttribute('aria-current');
    const el = this.videoEl;
    if (!el.paused) this.tracker.tick(el.currentTime, el.duration);
    el.pause();
    this.flushView();
  }

  flushView() {
    const ev = this.tracker.take();
    if (ev && this.video.status !== 'processing' && this.video.status !== 'failed') {
      sendViewEvent(this.video.id, ev);
    }
    if (this.active) this.tracker.begin();
  }

  play() {
    const el = this.videoEl;
    if (!el.getAttribute('src')) return;
    el.muted = playback.muted;
    const p = el.play();
    if (p && p.catch) {
      p.catch((err) => {
        if (err && err.name === 'NotAllowedError' && !el.muted) {
          // Sound needs a gesture first: fall back to muted autoplay.
          this.feed.setMuted(true);
          el.muted = true;
          el.play().catch(() => {});
        }
      });
    }
  }

  togglePlay() {
    const el = this.videoEl;
    if (el.paused) {
      this.userPaused = false;
      this.el.classList.remove('is-paused');
      this.play();
    } else {
      this.userPaused = true;
      el.pause();
      this.el.classList.add('is-paused');
    }
  }

  onTap(e) {
    if (e.target.closest('button, a')) return;
    const now = performance.now();
    if (now - this.lastTap < DOUBLE_TAP_MS) {
      clearTimeout(this.tapTimer);
      this.tapTimer = null;
      this.lastTap = 0;
      this.burst(e);
      if (!this.video.liked_by_me) this.toggleLike(true);
      return;
    }
    this.lastTap = now;
    clearTimeout(this.tapTimer);
    this.tapTimer = setTimeout(() => {
      this.tapTimer = null;
      if (playback.muted && !this.feed.soundChosen) this.feed.setMuted(false);
      else this.togglePlay();
    }, DOUBLE_TAP_MS);
  }

  burst(e) {
    const rect = this.media.getBoundingClientRect();
    const x = (e.clientX || rect.left + rect.width / 2) - rect.left;
    const y = (e.clientY || rect.top + rect.height / 2) - rect.top;
    const heart = h('div', { class: 'heart-burst', 'aria-hidden': 'true', style: { left: `${x}px`, top: `${y}px` } }, icon('heartFilled', { size: 96 }));
    this.media.append(heart);
    setTimeout(() => heart.remove(), 900);
  }

  setMutedUi(m) {
    this.videoEl.muted = m;
    this.muteBtn.setAttribute('aria-label', m ? 'Unmute' : 'Mute');
    this.muteBtn.setAttribute('aria-pressed', String(m));
  }

  /** Re-renders counts and states from the (shared) video object. */
  update() {
    const v = this.video;
    const c = v.counts || {};
    this.likeBtn.setAttribute('aria-pressed', String(Boolean(v.liked_by_me)));
    this.likeBtn.setAttribute('aria-label', `Like, ${plural(c.likes || 0, 'like')}`);
    this.likeBtn.classList.toggle('on', Boolean(v.liked_by_me));
    this.likeCount.textContent = fmtCount(c.likes || 0);
    this.commentBtn.setAttribute('aria-label', `Comments, ${plural(c.comments || 0, 'comment')}`);
    this.commentCount.textContent = fmtCount(c.comments || 0);
    this.shareBtn.setAttribute('aria-label', `Share, ${plural(c.shares || 0, 'share')}`);
    this.shareCount.textContent = fmtCount(c.shares || 0);
    this.setMutedUi(playback.muted);
    this.updateFollow();
  }

  updateFollow() {
    const handle = this.video.author && this.video.author.handle;
    if (!handle || session.isMe(handle)) {
      this.followBtn.hidden = true;
      return;
    }
    const state = follows.get(handle);
    // Visitors see the badge (it leads to login); members once we know.
    this.followBtn.hidden = session.loggedIn ? state !== false : false;
  }

  async loadFollowState() {
    const handle = this.video.author && this.video.author.handle;
    if (!handle || !session.loggedIn || session.isMe(handle) || follows.has(handle)) return;
    if (this.feed.kind === 'following') {
      follows.set(handle, true);
      return;
    }
    follows.set(handle, null); // in flight
    try {
      const p = await api(`/users/${enc(handle)}`);
      follows.set(handle, Boolean(p && p.followed_by_me));
    } catch {
      follows.delete(handle);
    }
    this.feed.updateAuthor(handle);
  }

  async follow() {
    const handle = this.video.author.handle;
    if (!requireLogin(`Log in to follow @${handle}`)) return;
    this.followBtn.disabled = true;
    try {
      const res = await api(`/users/${enc(handle)}/follow`, { method: 'PUT' });
      setFollowing(handle, res ? Boolean(res.following) : true);
      this.followBtn.classList.add('done');
      toast(`Following @${handle}`, { kind: 'success' });
    } catch (e) {
      toastError(e);
    } finally {
      this.followBtn.disabled = false;
      this.feed.updateAuthor(handle);
    }
  }

  async toggleLike(forceOn = false) {
    if (!requireLogin('Log in to like videos')) return;
    const v = this.video;
    if (this.likeBusy) return;
    const want = forceOn ? true : !v.liked_by_me;
    if (want === Boolean(v.liked_by_me)) return;
    this.likeBusy = true;
    const before = { liked: v.liked_by_me, likes: (v.counts && v.counts.likes) || 0 };
    v.liked_by_me = want;
    v.counts = { ...v.counts, likes: Math.max(0, before.likes + (want ? 1 : -1)) };
    this.feed.updateVideo(v.id);
    if (want) {
      this.likeBtn.classList.remove('pop');
      void this.likeBtn.offsetWidth;
      this.likeBtn.classList.add('pop');
    }
    try {
      const res = await api(`/videos/${enc(v.id)}/like`, { method: want ? 'PUT' : 'DELETE' });
      if (res && typeof res.liked === 'boolean') v.liked_by_me = res.liked;
      if (res && typeof res.likes === 'number') v.counts = { ...v.counts, likes: res.likes };
    } catch (e) {
      v.liked_by_me = before.liked;
      v.counts = { ...v.counts, likes: before.likes };
      toastError(e);
    } finally {
      this.likeBusy = false;
      this.feed.updateVideo(v.id);
    }
  }

  openComments() {
    openComments(this.video, () => this.feed.updateVideo(this.video.id));
  }

  async share() {
    const v = this.video;
    this.shareBtn.disabled = true;
    try {
      const res = await shareVideo(v);
      if (!res) return;
      const url = (res && res.url) || `${location.origin}/#/v/${v.id}`;
      if (res && typeof res.shares === 'number') v.counts = { ...v.counts, shares: res.shares };
      this.feed.updateVideo(v.id);
      const ok = await copyText(url);
      toast(ok ? 'Link copied to clipboard' : `Link: ${url}`, { kind: ok ? 'success' : 'info', duration: ok ? 2500 : 6000 });
    } catch (e) {
      toastError(e);
    } finally {
      this.shareBtn.disabled = false;
    }
  }

  destroy() {
    clearTimeout(this.tapTimer);
    this.deactivate();
    this.release();
  }
}
