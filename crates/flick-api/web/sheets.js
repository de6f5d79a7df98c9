// Bottom sheets opened from a clip: comments, "why this video" and more options.

import { api, enc, withQuery, session } from './api.js';
import { h, icon, openSheet, avatar, timeAgo, toast, toastError, spinner, copyText, plural, confirmDialog, richText } from './dom.js';
import { go, loginPath, requireLogin } from './router.js';
import { forgetVideo } from './store.js';
import { openReport, openNotes, openCommentControls, commentsClosedReason } from './safety.js';

/** The comments of a video: the list (paged) and a form to post one. */
export function openComments(video, onChange) {
  const counts = () => (video.counts && video.counts.comments) || 0;
  openSheet({
    title: plural(counts(), 'comment'),
    className: 'sheet-comments',
    build(body, close, { heading }) {
      const list = h('ul', { class: 'comment-list', 'aria-label': 'Comments' });
      const status = h('div', { class: 'comment-status' });
      const moreBtn = h('button', { type: 'button', class: 'btn btn-ghost btn-small load-more', text: 'Load more comments', hidden: true });
      let cursor = null;

      const setCount = (n) => {
        video.counts = { ...video.counts, comments: Math.max(0, n) };
        heading.textContent = plural(video.counts.comments, 'comment');
        if (onChange) onChange();
      };

      const me = session.user;
      const canDelete = (c) => Boolean(me && ((c.author && c.author.handle === me.handle) || (video.author && video.author.handle === me.handle)));

      const row = (c, reviewing = false) => {
        const author = c.author || {};
        const li = h('li', { class: 'comment', dataset: { commentId: String(c.id) } },
          h('a', { href: `#/u/${enc(author.handle || '')}`, class: 'comment-avatar', 'aria-label': `@${author.handle} profile`, onclick: () => close() }, avatar(author, 36)),
          h('div', { class: 'comment-main' },
            h('div', { class: 'comment-meta' },
              h('a', { href: `#/u/${enc(author.handle || '')}`, class: 'comment-author', text: `@${author.handle}`, onclick: () => close() }),
              h('span', { class: 'comment-time', text: timeAgo(c.created_at) })),
            commentBody(c),
            c.held && !reviewing ? h('span', { class: 'comment-held', text: 'Waiting for the creator’s approval' }) : null,
            reviewing ? h('div', { class: 'comment-review' },
              h('button', {
                type: 'button',
                class: 'btn btn-primary btn-small comment-approve',
                text: 'Approve',
                onclick: async () => {
                  try {
                    await api(`/comments/${enc(c.id)}/approve`, { method: 'POST' });
                    li.remove();
                    list.prepend(row({ ...c, held: false }));
                    setCount(counts() + 1);
                    status.replaceChildren();
                    toast('Comment approved: everyone sees it now', { kind: 'success' });
                    if (!heldList.children.length && heldMore.hidden) heldBox.hidden = true;
                  } catch (e) {
                    toastError(e);
                  }
                },
              })) : null),
          me && !canDelete(c) && c.author && c.author.handle !== me.handle
            ? h('button', {
                type: 'button',
                class: 'icon-btn comment-report',
                'aria-label': `Report comment by @${author.handle}`,
                onclick: () => openReport({ subjectType: 'comment', subjectId: c.id, what: 'comment' }),
              }, icon('flag', { size: 16 }))
            : null,
          canDelete(c)
            ? h('button', {
                type: 'button',
                class: 'icon-btn comment-delete',
                'aria-label': 'Delete comment',
                onclick: async () => {
                  try {
                    await api(`/comments/${enc(c.id)}`, { method: 'DELETE' });
                    li.remove();
                    // Held comments were never counted.
                    if (!c.held) setCount(counts() - 1);
                    if (!heldList.children.length && heldMore.hidden) heldBox.hidden = true;
                    if (!list.children.length) showEmpty();
                    toast('Comment deleted');
                  } catch (e) {
                    toastError(e);
                  }
                },
              }, icon('trash', { size: 18 }))
            : null);
        return li;
      };

      // The creator reviews comments held for their held words first.
      const heldList = h('ul', { class: 'comment-list held-list', 'aria-label': 'Comments waiting for your approval' });
      const heldMore = h('button', { type: 'button', class: 'btn btn-ghost btn-small load-more', text: 'More waiting comments', hidden: true });
      const heldError = h('p', { class: 'inline-error', role: 'alert', hidden: true });
      const heldBox = h('section', { class: 'held-comments', hidden: true },
        h('h3', { class: 'held-heading', text: 'Waiting for your approval' }), heldList, heldMore, heldError);
      const mine = Boolean(me && video.author && video.author.handle === me.handle);
      let heldCursor = null;
      const loadHeld = async () => {
        heldMore.hidden = true;
        heldError.hidden = true;
        try {
          const page = await api(withQuery(`/videos/${enc(video.id)}/comments/held`, { cursor: heldCursor }));
          for (const c of page.items || []) heldList.append(row(c, true));
          heldCursor = page.next_cursor || null;
          heldMore.hidden = !heldCursor;
          heldBox.hidden = !heldList.children.length;
        } catch (e) {
          heldError.textContent = `Couldn’t load the comments waiting for you: ${e.message}`;
          heldError.hidden = false;
          heldBox.hidden = false;
        }
      };
      heldMore.addEventListener('click', loadHeld);
      if (mine) loadHeld();

      const showEmpty = () => {
        status.replaceChildren(h('p', { class: 'muted center', text: 'No comments yet. Start the conversation.' }));
      };

      async function load() {
        moreBtn.hidden = true;
        status.replaceChildren(spinner('Loading comments'));
        try {
          const page = await api(withQuery(`/videos/${enc(video.id)}/comments`, { cursor }));
          const items = (page && page.items) || [];
          status.replaceChildren();
          for (const c of items) list.append(row(c));
          cursor = (page && page.next_cursor) || null;
          moreBtn.hidden = !cursor;
          if (!list.children.length) showEmpty();
        } catch (e) {
          status.replaceChildren(h('div', { class: 'inline-error', role: 'alert' },
            h('span', { text: e.message }),
            h('button', { type: 'button', class: 'btn btn-ghost btn-small', text: 'Retry', onclick: load })));
        }
      }
      moreBtn.addEventListener('click', load);

      let footer;
      const closed = commentsClosedReason(video);
      if (closed) {
        footer = h('div', { class: 'comment-form comments-closed' }, h('p', { class: 'muted', text: closed }));
      } else if (session.loggedIn) {
        const input = h('input', { type: 'text', class: 'comment-input', name: 'body', maxlength: '500', autocomplete: 'off', placeholder: 'Add a comment…', 'aria-label': 'Add a comment' });
        const post = h('button', { type: 'submit', class: 'btn btn-primary btn-small comment-post', text: 'Post', disabled: true });
        input.addEventListener('input', () => {
          post.disabled = !input.value.trim();
        });
        footer = h('form', {
          class: 'comment-form',
          onsubmit: async (e) => {
            e.preventDefault();
            const text = input.value.trim();
            if (!text) return;
            post.disabled = true;
            input.disabled = true;
            try {
              const c = await api(`/videos/${enc(video.id)}/comments`, { method: 'POST', body: { body: text } });
              input.value = '';
              status.replaceChildren();
              const comment = c && c.id !== undefined ? c : { id: `local-${Date.now()}`, body: text, author: session.user, created_at: Date.now() };
              if (!comment.author) comment.author = session.user;
              list.prepend(row(comment));
              list.scrollTop = 0;
              if (comment.held) toast('Your comment waits for the creator’s approval');
              else setCount(counts() + 1);
            } catch (err) {
              toastError(err);
            } finally {
              input.disabled = false;
              post.disabled = !input.value.trim();
              input.focus();
            }
          },
        }, avatar(session.user, 32), input, post,
        video.comment_policy === 'followers' && !mine ? h('p', { class: 'muted comment-policy-hint', text: 'Only people who follow the creator can comment.' }) : null);
      } else {
        footer = h('div', { class: 'comment-form' },
          h('a', { class: 'btn btn-primary btn-block', href: `#${loginPath()}`, text: 'Log in to comment', onclick: () => close() }));
      }

      body.append(h('div', { class: 'comment-scroll' }, heldBox, list, status, moreBtn), footer);
      load();
      const input = body.querySelector('.comment-input');
      if (input) setTimeout(() => input.focus(), 50);
    },
  });
}

/**
 * A comment's text, or, when it has a word of the viewer's `warn`
 * filters, a line naming the words with a button that shows it.
 */
function commentBody(c) {
  const text = h('p', { class: 'comment-body' }, richText(c.body));
  const warned = Array.isArray(c.filter_warning) ? c.filter_warning : [];
  if (!warned.length) return text;
  text.hidden = true;
  const notice = h('p', { class: 'comment-filtered muted' },
    h('span', { text: `Hidden by your keyword filter: “${warned.join('”, “')}”. ` }),
    h('button', {
      type: 'button',
      class: 'link-btn',
      text: 'Show',
      onclick: () => {
        notice.remove();
        text.hidden = false;
      },
    }));
  return h('div', {}, notice, text);
}

/** Why the recommender picked this clip. */
export function openWhy(clip) {
  const video = clip.video;
  openSheet({
    title: 'Why you’re seeing this video',
    className: 'sheet-why',
    build(body, close) {
      const list = h('ul', { class: 'reason-list' });
      const render = (reasons) => {
        list.replaceChildren();
        if (!reasons.length) {
          list.append(h('li', { class: 'reason' }, icon('spark', { size: 16 }), h('span', { text: 'It’s new or popular on this server.' })));
        }
        for (const r of reasons) list.append(h('li', { class: 'reason' }, icon('spark', { size: 16 }), h('span', { text: r })));
      };
      const holder = h('div', { class: 'why-content' }, spinner('Loading reasons'));
      body.append(holder,
        h('div', { class: 'sheet-actions' },
          h('button', { type: 'button', class: 'btn btn-secondary', onclick: () => close().then(() => notInterested(clip)) }, icon('ban', { size: 18 }), h('span', { text: 'Not interested' })),
          session.loggedIn
            ? h('a', { class: 'btn btn-ghost', href: '#/settings', onclick: () => close() }, icon('refresh', { size: 18 }), h('span', { text: 'Refresh my For You' }))
            : null));
      const known = Array.isArray(video.reasons) ? video.reasons.filter(Boolean) : [];
      if (known.length) {
        holder.replaceChildren(list);
        render(known);
        return;
      }
      api(`/videos/${enc(video.id)}/why`)
        .then((res) => {
          holder.replaceChildren(list);
          render((res && Array.isArray(res.reasons) ? res.reasons : []).filter(Boolean));
        })
        .catch((e) => {
          holder.replaceChildren(h('p', { class: 'inline-error', role: 'alert', text: e.message }));
        });
    },
  });
}

export async function notInterested(clip) {
  if (!requireLogin('Log in to tune your feed')) return;
  try {
    await api(`/videos/${enc(clip.video.id)}/not-interested`, { method: 'POST' });
    clip.feed.removeVideo(clip.video.id);
    toast('Got it — you’ll see fewer videos like this', { kind: 'success' });
  } catch (e) {
    toastError(e);
  }
}

/** Everything else one can do with a clip. */
export function openMore(clip) {
  const video = clip.video;
  const mine = session.isMe(video.author && video.author.handle);
  openSheet({
    title: 'Options',
    className: 'sheet-more',
    build(body, close) {
      const item = (iconName, label, action, extra = '') =>
        h('li', {}, h('button', { type: 'button', class: `menu-item ${extra}`.trim(), onclick: () => close().then(action) },
          icon(iconName, { size: 20 }), h('span', { text: label })));
      body.append(h('ul', { class: 'menu' },
        item('info', 'Why this video', () => openWhy(clip)),
        mine ? null : item('ban', 'Not interested', () => notInterested(clip)),
        item('link', 'Copy link', async () => {
          const ok = await copyText(`${location.origin}/#/v/${video.id}`);
          toast(ok ? 'Link copied to clipboard' : 'Couldn’t copy the link', { kind: ok ? 'success' : 'error' });
        }),
        item('info', 'Context notes', () => openNotes(video)),
        mine ? item('comment', 'Who can comment', () => openCommentControls(video)) : null,
        video.sound ? item('music', 'Use this sound', () => go(`/upload?sound=${enc(video.id)}`)) : null,
        item('user', `View @${video.author && video.author.handle}`, () => go(`/u/${enc(video.author.handle)}`)),
        mine ? null : item('flag', 'Report', () => openReport({ subjectType: 'video', subjectId: video.id, what: 'video' })),
        mine ? item('trash', 'Delete video', () => deleteVideo(clip), 'danger') : null));
    },
  });
}

async function deleteVideo(clip) {
  const ok = await confirmDialog({
    title: 'Delete this video?',
    message: 'It will be removed for everyone, with its likes and comments. This can’t be undone.',
    confirmLabel: 'Delete',
    danger: true,
  });
  if (!ok) return;
  try {
    await api(`/videos/${enc(clip.video.id)}`, { method: 'DELETE' });
    forgetVideo(clip.video.id);
    clip.feed.removeVideo(clip.video.id);
    toast('Video deleted', { kind: 'success' });
  } catch (e) {
    toastError(e);
  }
}
