// Online safety in the web app: reporting, blocking and muting, labels and
// blurred sensitive clips, the share prompt for unverified content, notices
// with appeals, and the moderators' console. The rules are the server's
// (SAFETY.md); this module only asks and shows.

import { api, enc, withQuery, session } from './api.js';
import { h, icon, openSheet, toast, toastError, confirmDialog, spinner, stateBox, timeAgo } from './dom.js';
import { topBar, page } from './chrome.js';
import { go, requireLogin } from './router.js';

const CATEGORIES = [
  ['spam', 'Spam or scam'],
  ['harassment', 'Harassment or bullying'],
  ['hate', 'Hate speech'],
  ['violence', 'Violence or threats'],
  ['sexual', 'Sexual content'],
  ['child_safety', 'Harm to a child'],
  ['self_harm', 'Self-harm or suicide'],
  ['misinformation', 'False or misleading information'],
  ['illegal', 'Illegal content (name the law)'],
  ['intellectual_property', 'Copyright or trademark'],
  ['privacy', 'Private information'],
  ['undisclosed_ai', 'AI-generated without a label'],
  ['other', 'Something else'],
];

const LABEL_TEXT = {
  misinformation: 'Unverified: this video’s claims were found misleading',
  sensitive: 'Sensitive content',
  sexual: 'Sexual content',
  ai_generated: 'AI-generated',
  promotional: 'Promotional',
};

const SENSITIVE = ['sensitive', 'sexual'];

// ---------- viewing settings ----------

let settingsCache = null;

/** The signed-in person's viewing settings (visitors: blur), cached. */
export async function viewingSettings() {
  if (!session.loggedIn) return { hide_ai_generated: false, sensitive: 'blur' };
  if (!settingsCache) {
    settingsCache = api('/me')
      .then((me) => me.settings || { hide_ai_generated: false, sensitive: 'blur' })
      .catch(() => ({ hide_ai_generated: false, sensitive: 'blur' }));
  }
  return settingsCache;
}

session.onChange(() => {
  settingsCache = null;
});

export async function saveViewingSettings(change) {
  const me = await api('/me', { method: 'PATCH', body: change });
  settingsCache = Promise.resolve(me.settings);
  return me.settings;
}

// ---------- labels ----------

/** The label chips of a clip, for its caption block. */
export function labelChips(video) {
  const labels = Array.isArray(video.labels) ? video.labels : [];
  if (!labels.length) return null;
  return h('ul', { class: 'label-list', 'aria-label': 'Labels' },
    labels.map((l) => h('li', { class: `label-chip label-${l}`, dataset: { label: l } },
      icon(l === 'misinformation' ? 'alert' : 'info', { size: 12 }), h('span', { text: LABEL_TEXT[l] || l }))));
}

export function isSensitive(video) {
  return Array.isArray(video.labels) && video.labels.some((l) => SENSITIVE.includes(l));
}

function coverButton(container, { compact, title, text, label, onReveal }) {
  container.classList.add('is-sensitive');
  const cover = h('button', {
    type: 'button',
    class: `sensitive-cover${compact ? ' compact' : ''}`,
    'aria-label': label,
    onclick: (e) => {
      e.preventDefault();
      e.stopPropagation();
      container.classList.remove('is-sensitive');
      cover.remove();
      if (onReveal) onReveal();
    },
  }, icon('alert', { size: compact ? 18 : 32 }),
  compact ? null : h('strong', { text: title }),
  compact ? null : h('span', { class: 'cover-text', text }));
  container.append(cover);
  return cover;
}

/**
 * Blurs `container` (a clip's media or a grid tile) when the clip is
 * sensitive and the viewer chose blur, or when its caption has a word of
 * the viewer's `warn` keyword filters, with a button that reveals it.
 * `onReveal` runs once it is revealed.
 */
export function blurIfSensitive(container, video, { compact = false, onReveal } = {}) {
  const warned = Array.isArray(video.filter_warning) ? video.filter_warning : [];
  if (!isSensitive(video)) {
    if (warned.length) {
      coverButton(container, {
        compact,
        onReveal,
        title: 'Hidden by your keyword filter',
        text: `Mentions “${warned.join('”, “')}” · Tap to view`,
        label: 'Hidden by your keyword filter: show it',
      }).classList.add('filter-cover');
    }
    return;
  }
  const cover = coverButton(container, {
    compact,
    onReveal,
    title: 'Sensitive content',
    text: warned.length ? `Mentions “${warned.join('”, “')}” · Tap to view` : 'Tap to view',
    label: 'Sensitive content: show it',
  });
  viewingSettings().then((s) => {
    // A keyword warning stands whatever the sensitive-content setting.
    if (s.sensitive === 'show' && !warned.length) {
      container.classList.remove('is-sensitive');
      cover.remove();
    }
  });
}

// ---------- sharing ----------

/**
 * Shares a clip. One labelled misinformation first asks "This video has
 * unverified content. Share anyway?" and the share says it went through
 * the prompt. Resolves the server's answer, or null when the person
 * chose not to share.
 */
export async function shareVideo(video) {
  const unverified = Array.isArray(video.labels) && video.labels.includes('misinformation');
  if (unverified) {
    const ok = await confirmDialog({
      title: 'Share this video?',
      message: 'This video has unverified content. Share anyway?',
      confirmLabel: 'Share anyway',
    });
    if (!ok) return null;
  }
  const path = `/videos/${enc(video.id)}/share`;
  return api(unverified ? withQuery(path, { confirmed: 'true' }) : path, { method: 'POST' });
}

// ---------- reporting, blocking, muting ----------

/**
 * The report sheet: a category, an optional note. Afterwards, offers to
 * block the account behind what was reported.
 */
export function openReport({ subjectType, subjectId, what }) {
  if (!requireLogin('Log in to report')) return;
  openSheet({
    title: `Report ${what}`,
    className: 'sheet-report',
    build(body, close) {
      const err = h('div', { class: 'form-error', role: 'alert', hidden: true });
      const note = h('textarea', { name: 'note', class: 'report-note', maxlength: '1000', rows: '3', placeholder: 'Anything the moderators should know (optional)', 'aria-label': 'Note for the moderators' });
      const submit = h('button', { type: 'submit', class: 'btn btn-primary btn-block', text: 'Send report', disabled: true });
      const choices = h('fieldset', { class: 'report-categories' },
        h('legend', { text: 'Why are you reporting this?' }),
        CATEGORIES.map(([value, label]) => h('label', { class: 'report-category' },
          h('input', { type: 'radio', name: 'category', value, onchange: () => { submit.disabled = false; } }),
          h('span', { text: label }))));
      const form = h('form', {
        class: 'form report-form',
        onsubmit: async (e) => {
          e.preventDefault();
          const picked = form.querySelector('input[name="category"]:checked');
          if (!picked) return;
          submit.disabled = true;
          err.hidden = true;
          try {
            const res = await api('/reports', {
              method: 'POST',
              body: { subject_type: subjectType, subject_id: subjectId, category: picked.value, note: note.value.trim() },
            });
            await close();
            toast(res.merged ? 'Your earlier report was updated' : 'Thanks: your report was sent to the moderators', { kind: 'success' });
            if (res.offer_block) offerBlock(res.offer_block);
          } catch (ex) {
            err.replaceChildren(icon('alert', { size: 18 }), h('span', { text: ex.message }));
            err.hidden = false;
            submit.disabled = false;
          }
        },
      }, choices, note, err, submit);
      body.append(form);
    },
  });
}

async function offerBlock(handle) {
  const ok = await confirmDialog({
    title: `Block @${handle}?`,
    message: `You won’t see each other’s videos or comments, and @${handle} can’t follow you, comment on your videos or see your profile.`,
    confirmLabel: `Block @${handle}`,
    danger: true,
  });
  if (ok) await setBlocked(handle, true);
}

/** Blocks or unblocks; resolves the new state (or the old one on error). */
export async function setBlocked(handle, on) {
  try {
    const res = await api(`/users/${enc(handle)}/block`, { method: on ? 'PUT' : 'DELETE' });
    toast(on ? `@${handle} is blocked` : `@${handle} is unblocked`, { kind: 'success' });
    return res.blocked;
  } catch (e) {
    toastError(e);
    return !on;
  }
}

export async function setMuted(handle, on) {
  try {
    const res = await api(`/users/${enc(handle)}/mute`, { method: on ? 'PUT' : 'DELETE' });
    toast(on ? `@${handle} is muted: their videos leave your feeds` : `@${handle} is unmuted`, { kind: 'success' });
    return res.muted;
  } catch (e) {
    toastError(e);
    return !on;
  }
}

// ---------- notices and appeals ----------

const DECISION_TEXT = {
  dismiss: 'No action was taken',
  label: 'A label was added',
  demote: 'Kept out of For You and trending',
  remove: 'Removed',
  restrict: 'Account restricted: no uploads or comments',
  suspend: 'Account suspended',
};

function subjectText(n) {
  return n.subject_type === 'hashtag' ? `#${n.subject_id}` : `${n.subject_type} ${n.subject_id}`;
}

function noticeCard(n, reload) {
  const own = n.kind === 'decision';
  const rows = [
    ['Decision', DECISION_TEXT[n.decision] || n.decision],
    n.labels.length ? ['Labels', n.labels.map((l) => LABEL_TEXT[l] || l).join(', ')] : null,
    ['Ground', n.ground === 'illegal' ? `The law: ${n.rule_or_law}` : `Our rules: ${n.rule_or_law}`],
    n.facts ? ['Facts', n.facts] : null,
    n.ends_at ? ['Until', new Date(n.ends_at).toLocaleString()] : null,
    ['Automated', `Detection: ${n.automated_detection ? 'yes' : 'no'} · Decision: ${n.automated_decision ? 'yes' : 'no'}`],
    ['Where', n.territorial_scope],
  ].filter(Boolean);
  const card = h('article', { class: 'notice', dataset: { noticeId: String(n.id), kind: n.kind } },
    h('header', { class: 'notice-head' },
      h('strong', { text: own ? (n.appeal_outcome ? 'Outcome of your appeal' : `A decision about your ${n.subject_type}`) : `Outcome of your report (${subjectText(n)})` }),
      h('span', { class: 'muted', text: timeAgo(n.created_at) })),
    h('dl', { class: 'notice-fields' }, rows.flatMap(([k, v]) => [h('dt', { text: k }), h('dd', { text: v })])),
    h('p', { class: 'muted notice-redress', text: n.redress }));
  if (n.appeal) {
    card.append(h('p', { class: 'notice-appeal' }, h('strong', { text: 'Your appeal: ' }), h('span', { text: n.appeal.text }),
      h('span', { class: 'muted', text: ' (a moderator other than the one who decided will review it)' })));
  }
  if (n.appealable) {
    const text = h('textarea', { name: 'appeal', rows: '3', maxlength: '2000', placeholder: 'Why should this decision change?', 'aria-label': 'Your appeal' });
    const err = h('div', { class: 'form-error', role: 'alert', hidden: true });
    const send = h('button', { type: 'submit', class: 'btn btn-primary btn-small', text: 'Appeal' });
    card.append(h('form', {
      class: 'form appeal-form',
      onsubmit: async (e) => {
        e.preventDefault();
        send.disabled = true;
        err.hidden = true;
        try {
          await api(`/notices/${enc(n.id)}/appeal`, { method: 'POST', body: { text: text.value.trim() } });
          toast('Your appeal was sent', { kind: 'success' });
          reload();
        } catch (ex) {
          err.replaceChildren(h('span', { text: ex.message }));
          err.hidden = false;
          send.disabled = false;
        }
      },
    }, text, err, send));
  }
  return card;
}

export function noticesView(container) {
  const list = h('div', { class: 'notice-list' }, spinner('Loading notices'));
  container.append(page('notices-page', topBar('Notices', { backTo: '/settings' }), list));
  const load = () => api('/me/notices').then((res) => {
    list.replaceChildren();
    if (!res.notices.length) {
      list.append(stateBox({ iconName: 'check', title: 'No notices', text: 'Decisions about your videos or account, and the outcomes of your reports, appear here.' }));
    }
    for (const n of res.notices) list.append(noticeCard(n, load));
  }).catch((e) => list.replaceChildren(h('p', { class: 'inline-error', role: 'alert', text: e.message })));
  load();
  return { title: 'Notices' };
}

// ---------- the moderators' console ----------

function caseSummary(c) {
  const cats = Object.entries(c.categories).map(([k, n]) => `${k} ×${n}`).join(', ');
  return h('a', { class: `case-row${c.urgent ? ' urgent' : ''}`, href: `#/moderation/${enc(c.id)}`, dataset: { caseId: String(c.id) } },
    h('strong', { text: `${c.subject_type} ${c.subject_type === 'hashtag' ? '#' : ''}${c.subject_id}` }),
    c.status === 'escalated' ? h('span', { class: 'case-badge', text: 'appeal' }) : null,
    c.urgent ? h('span', { class: 'case-badge urgent', text: 'urgent' }) : null,
    h('span', { class: 'case-preview', text: c.preview }),
    h('span', { class: 'muted', text: `${c.report_count} report${c.report_count === 1 ? '' : 's'}${cats ? `: ${cats}` : ''} · opened ${timeAgo(c.opened_at)}` }));
}

export function moderationQueueView(container) {
  const list = h('div', { class: 'case-list' }, spinner('Loading the queue'));
  container.append(page('moderation-page', topBar('Moderation', { backTo: '/settings' }), list));
  api('/moderation/queue?limit=50').then((res) => {
    list.replaceChildren();
    if (!res.cases.length) list.append(stateBox({ iconName: 'check', title: 'The queue is empty', text: 'New reports and appeals appear here.' }));
    for (const c of res.cases) list.append(caseSummary(c));
  }).catch((e) => list.replaceChildren(h('p', { class: 'inline-error', role: 'alert', text: e.message })));
  return { title: 'Moderation' };
}

const ACTIONS_FOR = {
  video: ['dismiss', 'label', 'demote', 'remove', 'restrict', 'suspend'],
  comment: ['dismiss', 'remove', 'restrict', 'suspend'],
  account: ['dismiss', 'restrict', 'suspend'],
  sound: ['dismiss', 'restrict', 'suspend'],
  hashtag: ['dismiss'],
};

function decisionForm(c, onDone) {
  const err = h('div', { class: 'form-error', role: 'alert', hidden: true });
  const action = h('select', { name: 'action', 'aria-label': 'Action' },
    (ACTIONS_FOR[c.subject_type] || ['dismiss']).map((a) => h('option', { value: a, text: a })));
  const labels = h('fieldset', { class: 'decision-labels', hidden: true }, h('legend', { text: 'Labels' }),
    Object.keys(LABEL_TEXT).map((l) => h('label', {}, h('input', { type: 'checkbox', name: 'labels', value: l }), h('span', { text: l }))));
  const days = h('input', { type: 'number', name: 'duration_days', min: '1', max: '3650', value: '7', 'aria-label': 'Days' });
  const daysField = h('label', { class: 'field', hidden: true }, h('span', { class: 'field-label', text: 'For how many days' }), days);
  const ground = h('select', { name: 'ground', 'aria-label': 'Ground' },
    h('option', { value: 'terms', text: 'Our rules (terms)' }), h('option', { value: 'illegal', text: 'The law (illegal)' }));
  const rule = h('input', { type: 'text', name: 'rule_or_law', maxlength: '200', placeholder: 'The rule or the law', 'aria-label': 'Rule or law' });
  const facts = h('textarea', { name: 'facts', rows: '3', maxlength: '2000', placeholder: 'The facts this decision relies on', 'aria-label': 'Facts' });
  const sync = () => {
    labels.hidden = action.value !== 'label';
    daysField.hidden = !['restrict', 'suspend'].includes(action.value);
  };
  action.addEventListener('change', sync);
  const submit = h('button', { type: 'submit', class: 'btn btn-primary', text: 'Decide' });
  return h('form', {
    class: 'form decision-form',
    onsubmit: async (e) => {
      e.preventDefault();
      submit.disabled = true;
      err.hidden = true;
      const body = {
        subject_type: c.subject_type,
        subject_id: c.subject_id,
        action: action.value,
        ground: ground.value,
        rule_or_law: rule.value.trim(),
        facts: facts.value.trim(),
      };
      if (action.value === 'label') body.labels = [...labels.querySelectorAll('input:checked')].map((i) => i.value);
      if (!daysField.hidden) body.duration_days = Number(days.value);
      try {
        await api('/moderation/actions', { method: 'POST', body });
        toast('Decision recorded, and the people concerned notified', { kind: 'success' });
        onDone();
      } catch (ex) {
        err.replaceChildren(icon('alert', { size: 18 }), h('span', { text: ex.message }));
        err.hidden = false;
        submit.disabled = false;
      }
    },
  }, h('label', { class: 'field' }, h('span', { class: 'field-label', text: 'Action' }), action), labels, daysField,
  h('label', { class: 'field' }, h('span', { class: 'field-label', text: 'Ground' }), ground),
  h('label', { class: 'field' }, h('span', { class: 'field-label', text: 'Rule or law' }), rule),
  h('label', { class: 'field' }, h('span', { class: 'field-label', text: 'Facts' }), facts), err, submit);
}

/**
 * For a removed clip: list it as known-bad media, so that copies of it
 * (re-encoded, rescaled, trimmed, watermarked) are refused at upload.
 */
function blocklistBox(videoId) {
  const result = h('p', { class: 'muted blocklist-result', role: 'status' });
  const button = h('button', {
    type: 'button',
    class: 'btn btn-secondary',
    text: 'Refuse copies of this clip',
    onclick: async () => {
      button.disabled = true;
      try {
        const entry = await api('/moderation/media-blocklist', { method: 'POST', body: { video_id: Number(videoId) } });
        result.textContent = `Listed as known-bad media (${entry.frames} frames): uploads of copies are refused.`;
      } catch (e) {
        result.textContent = e.message;
        button.disabled = false;
      }
    },
  });
  return h('section', { class: 'case-blocklist' }, h('h2', { text: 'Known-bad media' }),
    h('p', { class: 'muted', text: 'Frame fingerprints of this clip are kept; the clip itself stays removed.' }), button, result);
}

export function moderationCaseView(container, { params }) {
  const body = h('div', { class: 'case-view' }, spinner('Loading the case'));
  container.append(page('moderation-case-page', topBar('Case', { backTo: '/moderation' }), body));
  api(`/moderation/cases/${enc(params.id)}`).then((c) => {
    const subjectLink = c.subject_type === 'video' ? h('a', { href: `#/v/${enc(c.subject_id)}`, text: 'Open the video' })
      : c.owner ? h('a', { href: `#/u/${enc(c.owner)}`, text: `@${c.owner}` }) : null;
    body.replaceChildren(
      caseSummary(c),
      h('section', { class: 'case-subject' }, h('h2', { text: 'What was reported' }), h('blockquote', { text: c.preview }), subjectLink),
      h('section', { class: 'case-reports' }, h('h2', { text: 'Reports' }),
        h('ul', {}, c.reports.map((r) => h('li', { class: 'case-report' },
          h('strong', { text: `${r.reporter}: ${r.category}` }), r.note ? h('p', { text: r.note }) : null)))),
      c.decisions.length
        ? h('section', { class: 'case-decisions' }, h('h2', { text: 'Decisions' }),
            h('ul', {}, c.decisions.map((d) => h('li', {},
              h('strong', { text: `${d.action} (${d.ground}: ${d.rule_or_law})` }), h('p', { text: d.facts }),
              d.appeal ? h('p', { class: 'case-appeal' }, h('strong', { text: 'Appeal: ' }), h('span', { text: d.appeal.text })) : null))))
        : null,
      // Only while the clip stays removed: an appeal may have undone it.
      c.subject_type === 'video' && c.decisions.length && c.decisions[c.decisions.length - 1].action === 'remove'
        ? blocklistBox(c.subject_id) : null,
      c.status === 'closed' ? h('p', { class: 'muted', text: 'This case is decided.' })
        : h('section', { class: 'case-decide' }, h('h2', { text: c.status === 'escalated' ? 'Decide the appeal' : 'Decide' }),
            decisionForm(c, () => go('/moderation'))));
  }).catch((e) => body.replaceChildren(h('p', { class: 'inline-error', role: 'alert', text: e.message })));
  return { title: 'Case' };
}

/** Whether the signed-in person may moderate (from `/me`). */
export async function canModerate() {
  if (!session.loggedIn) return false;
  try {
    return Boolean((await api('/me')).can_moderate);
  } catch {
    return false;
  }
}

// ---------- context notes ----------

const NOTE_STATUS = {
  helpful: 'Shown: rated helpful by people who usually disagree',
  needs_more_ratings: 'Needs more ratings',
  not_helpful: 'Rated not helpful',
};

/** The host of a note's source, for its link text (the server checked it). */
function sourceHost(url) {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}

function sourceLink(url) {
  return h('a', { class: 'note-source', href: url, target: '_blank', rel: 'noopener noreferrer nofollow ugc', text: sourceHost(url) });
}

/**
 * The note a clip shows, under its caption: "Readers added context", the
 * text, its source, and a way to the notes and their ratings.
 */
export function contextNoteBox(video) {
  const n = video.context_note;
  if (!n) return null;
  return h('aside', { class: 'context-note', 'aria-label': 'Readers added context' },
    h('strong', { class: 'context-note-title' }, icon('info', { size: 14 }), h('span', { text: 'Readers added context' })),
    h('p', { class: 'context-note-text', text: n.text }),
    h('div', { class: 'context-note-foot' },
      sourceLink(n.source_url),
      h('button', { type: 'button', class: 'link-btn', text: 'Rate it', onclick: (e) => { e.stopPropagation(); openNotes(video); } })));
}

function noteCard(n, reload) {
  const rate = async (helpful) => {
    if (!requireLogin('Log in to rate notes')) return;
    try {
      await api(`/notes/${enc(n.id)}/ratings`, { method: 'POST', body: { helpful } });
      toast('Thanks: your rating counts within seconds', { kind: 'success' });
      reload();
    } catch (e) {
      toastError(e);
    }
  };
  const button = (helpful, label) => h('button', {
    type: 'button',
    class: 'btn btn-small note-rate',
    'aria-pressed': String(n.my_rating === helpful),
    dataset: { helpful: String(helpful) },
    text: label,
    onclick: () => rate(helpful),
  });
  return h('li', { class: `note-card note-${n.status}`, dataset: { noteId: String(n.id), status: n.status } },
    h('span', { class: 'note-status', text: NOTE_STATUS[n.status] || n.status }),
    h('p', { class: 'note-text', text: n.text }),
    h('div', { class: 'note-meta' }, sourceLink(n.source_url),
      h('span', { text: `${n.ratings} rating${n.ratings === 1 ? '' : 's'}` }),
      n.score === null || n.score === undefined ? null : h('span', { text: `score ${n.score.toFixed(2)}` })),
    n.mine
      ? h('p', { class: 'muted', text: 'Your note: others rate it.' })
      : h('div', { class: 'note-actions', role: 'group', 'aria-label': 'Is this note helpful?' },
        button(true, 'Helpful'), button(false, 'Not helpful')));
}

function noteForm(video, reload) {
  const err = h('div', { class: 'form-error', role: 'alert', hidden: true });
  const text = h('textarea', { name: 'text', rows: '3', minlength: '10', maxlength: '500', required: true, 'aria-label': 'Context for other readers', placeholder: 'Context other readers should know (10–500 characters)' });
  const url = h('input', { name: 'source_url', type: 'url', required: true, 'aria-label': 'Source link', placeholder: 'https://… a source readers can check' });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary btn-block', text: 'Add note' });
  const form = h('form', {
    class: 'form note-form',
    onsubmit: async (e) => {
      e.preventDefault();
      submit.disabled = true;
      err.hidden = true;
      try {
        await api(`/videos/${enc(video.id)}/notes`, { method: 'POST', body: { text: text.value.trim(), source_url: url.value.trim() } });
        toast('Note added: it shows once raters who usually disagree find it helpful', { kind: 'success' });
        reload();
      } catch (ex) {
        err.replaceChildren(icon('alert', { size: 18 }), h('span', { text: ex.message }));
        err.hidden = false;
        submit.disabled = false;
      }
    },
  }, h('h3', { text: 'Add context' }), text, url, err, submit);
  return form;
}

/**
 * The notes sheet: every note on a clip with its status, rating buttons,
 * and the form for a new one when the viewer may write one.
 */
export function openNotes(video) {
  openSheet({
    title: 'Context notes',
    className: 'sheet-notes',
    build(body) {
      const load = async () => {
        body.replaceChildren(spinner());
        try {
          const list = await api(`/videos/${enc(video.id)}/notes`);
          const items = list.items.length
            ? h('ul', { class: 'note-list' }, list.items.map((n) => noteCard(n, load)))
            : stateBox({ iconName: 'info', title: 'No notes yet', text: 'Notes add context with a source. One is shown on the clip once people who usually disagree both rate it helpful.' });
          body.replaceChildren(items,
            list.can_write ? noteForm(video, load) : h('p', { class: 'muted note-why-not', text: list.why_not || '' }));
        } catch (e) {
          body.replaceChildren(stateBox({ iconName: 'alert', title: 'Couldn’t load the notes', text: e.message }));
        }
      };
      load();
    },
  });
}

// ---------- keyword filters and held words ----------

const FILTER_DURATIONS = [
  ['', 'Forever'],
  [String(24 * 3600 * 1000), 'For 24 hours'],
  [String(7 * 24 * 3600 * 1000), 'For 7 days'],
  [String(30 * 24 * 3600 * 1000), 'For 30 days'],
];

/** "a, b c, d" → ["a", "b c", "d"]: words and phrases as typed, commas between. */
function splitWords(text) {
  return text.split(',').map((w) => w.trim()).filter(Boolean);
}

function filterRow(f, reload) {
  const when = f.expires_at ? (f.active ? `until ${new Date(f.expires_at).toLocaleString()}` : 'expired') : 'no end';
  return h('li', { class: `filter-row${f.active ? '' : ' inactive'}`, dataset: { filterId: String(f.id), action: f.action } },
    h('div', { class: 'filter-main' },
      h('strong', { class: 'filter-words', text: f.words.join(', ') }),
      h('span', { class: 'muted', text: `${f.action === 'hide' ? 'Hidden' : 'Shown with a warning'} · ${when}` })),
    h('button', {
      type: 'button',
      class: 'icon-btn filter-delete',
      'aria-label': `Delete the filter ${f.words.join(', ')}`,
      onclick: async () => {
        try {
          await api(`/me/filters/${enc(f.id)}`, { method: 'DELETE' });
          toast('Filter deleted', { kind: 'success' });
          reload();
        } catch (e) {
          toastError(e);
        }
      },
    }, icon('trash', { size: 18 })));
}

function filterForm(reload) {
  const err = h('div', { class: 'form-error', role: 'alert', hidden: true });
  const words = h('input', { type: 'text', name: 'words', required: true, maxlength: '900', autocomplete: 'off', placeholder: 'spoiler, final score', 'aria-label': 'Words or phrases, separated by commas' });
  const action = h('select', { name: 'action', 'aria-label': 'What to do' },
    h('option', { value: 'hide', text: 'Hide them' }), h('option', { value: 'warn', text: 'Show them behind a warning' }));
  const duration = h('select', { name: 'duration', 'aria-label': 'For how long' },
    FILTER_DURATIONS.map(([v, label]) => h('option', { value: v, text: label })));
  const submit = h('button', { type: 'submit', class: 'btn btn-primary btn-block', text: 'Add filter' });
  const form = h('form', {
    class: 'form filter-form',
    onsubmit: async (e) => {
      e.preventDefault();
      submit.disabled = true;
      err.hidden = true;
      const body = { words: splitWords(words.value), action: action.value };
      if (duration.value) body.expires_at = Date.now() + Number(duration.value);
      try {
        await api('/me/filters', { method: 'POST', body });
        toast('Filter added: it applies to captions and comments', { kind: 'success' });
        words.value = '';
        reload();
      } catch (ex) {
        err.replaceChildren(icon('alert', { size: 18 }), h('span', { text: ex.message }));
        err.hidden = false;
      } finally {
        submit.disabled = false;
      }
    },
  }, h('h2', { class: 'settings-heading', text: 'Add a filter' }),
  h('label', { class: 'field' }, h('span', { class: 'field-label', text: 'Words or phrases, separated by commas' }), words),
  h('label', { class: 'field' }, h('span', { class: 'field-label', text: 'Videos and comments that mention them' }), action),
  h('label', { class: 'field' }, h('span', { class: 'field-label', text: 'For how long' }), duration), err, submit);
  return form;
}

function heldWordsForm() {
  const err = h('div', { class: 'form-error', role: 'alert', hidden: true });
  const words = h('input', { type: 'text', name: 'held_words', maxlength: '900', autocomplete: 'off', placeholder: 'none', 'aria-label': 'Held words, separated by commas', disabled: true });
  const submit = h('button', { type: 'submit', class: 'btn btn-secondary btn-block', text: 'Save held words', disabled: true });
  api('/me/held-words').then((res) => {
    words.value = res.words.join(', ');
    words.disabled = false;
    submit.disabled = false;
  }).catch((e) => {
    err.replaceChildren(h('span', { text: e.message }));
    err.hidden = false;
  });
  return h('form', {
    class: 'form held-words-form',
    onsubmit: async (e) => {
      e.preventDefault();
      submit.disabled = true;
      err.hidden = true;
      try {
        const res = await api('/me/held-words', { method: 'PUT', body: { words: splitWords(words.value) } });
        words.value = res.words.join(', ');
        toast(res.words.length ? 'Saved: comments with these words wait for your approval' : 'Saved: no comments are held', { kind: 'success' });
      } catch (ex) {
        err.replaceChildren(icon('alert', { size: 18 }), h('span', { text: ex.message }));
        err.hidden = false;
      } finally {
        submit.disabled = false;
      }
    },
  }, h('h2', { class: 'settings-heading', text: 'Comments on your videos' }),
  h('p', { class: 'muted', text: 'Comments that contain one of these words wait for your approval before anyone else sees them. Who may comment at all is set on each video, from its ⋯ menu.' }),
  h('label', { class: 'field' }, h('span', { class: 'field-label', text: 'Held words, separated by commas' }), words), err, submit);
}

/** Settings → Keyword filters: my filters, a form for a new one, my held words. */
export function filtersView(container) {
  const list = h('ul', { class: 'filter-list', 'aria-label': 'Your keyword filters' });
  const status = h('div', {}, spinner('Loading filters'));
  const load = () => api('/me/filters').then((res) => {
    status.replaceChildren();
    list.replaceChildren(...res.items.map((f) => filterRow(f, load)));
    if (!res.items.length) {
      status.append(stateBox({ iconName: 'check', title: 'No filters', text: 'Words you filter are left out of captions and comments, or shown behind a warning.' }));
    }
  }).catch((e) => status.replaceChildren(h('p', { class: 'inline-error', role: 'alert', text: e.message })));
  container.append(page('filters-page', topBar('Keyword filters', { backTo: '/settings' }),
    h('div', { class: 'settings' }, list, status, filterForm(load), heldWordsForm())));
  load();
  return { title: 'Keyword filters' };
}

// ---------- comment controls ----------

const COMMENT_POLICIES = [
  ['everyone', 'Everyone'],
  ['followers', 'People who follow you'],
  ['off', 'No one (comments off)'],
];

/** The ⋯ sheet's "Who can comment" for the clip's creator. */
export function openCommentControls(video) {
  openSheet({
    title: 'Who can comment',
    className: 'sheet-comment-controls',
    build(body, close) {
      const current = video.comment_policy || 'everyone';
      body.append(h('fieldset', { class: 'report-categories comment-policy' },
        h('legend', { text: 'Who can comment on this video?' }),
        COMMENT_POLICIES.map(([value, label]) => h('label', { class: 'report-category' },
          h('input', {
            type: 'radio',
            name: 'comment_policy',
            value,
            checked: value === current,
            onchange: async () => {
              try {
                await api(`/videos/${enc(video.id)}`, { method: 'PATCH', body: { comments: value } });
                video.comment_policy = value;
                toast('Saved', { kind: 'success' });
                await close();
              } catch (e) {
                toastError(e);
                // Back to what is saved.
                const saved = body.querySelector(`input[name="comment_policy"][value="${video.comment_policy || 'everyone'}"]`);
                if (saved) saved.checked = true;
              }
            },
          }),
          h('span', { text: label })))),
      h('p', { class: 'muted', text: 'Comments with your held words (Settings → Keyword filters) wait for your approval whoever writes them.' }));
    },
  });
}

/** Why the viewer may not comment on `video`, or null when they may try. */
export function commentsClosedReason(video) {
  if (session.isMe(video.author && video.author.handle)) return null;
  if (video.comment_policy === 'off') return 'Comments are turned off for this video.';
  return null;
}
