// Upload: pick a file, preview it, caption it, watch the progress, then the
// processing status until the clip is ready (or failed).

import { api, enc, uploadVideo } from './api.js';
import { h, icon, fmtBytes, fmtDuration, toast, spinner } from './dom.js';
import { topBar, page } from './chrome.js';
import { canon } from './store.js';

const MAX_CAPTION = 300;

export function uploadView(container, { query }) {
  let soundOf = query.get('sound') || null;
  let file = null;
  let previewUrl = null;
  let upload = null;
  let alive = true;

  // --- the preview box (a picker until a file is chosen) ---
  const fileInput = h('input', { id: 'upload-file', type: 'file', accept: 'video/*,.mp4,.mov,.webm,.mkv', class: 'visually-hidden', name: 'file' });
  const pickCopy = h('span', { class: 'dropzone-copy' },
    h('span', { class: 'dropzone-icon' }, icon('upload', { size: 32 })),
    h('strong', { text: 'Select a video' }),
    h('span', { class: 'muted', text: 'or drag and drop it here' }),
    h('span', { class: 'muted small', text: 'Vertical 9:16 looks best' }));
  const dropzone = h('label', { class: 'dropzone', for: 'upload-file' }, pickCopy, fileInput);
  const previewVideo = h('video', { class: 'preview-video', muted: true, loop: true, playsinline: true, autoplay: true, 'aria-label': 'Preview of the selected video' });
  previewVideo.muted = true;
  const previewNote = h('p', { class: 'preview-note', hidden: true });
  const fileMeta = h('p', { class: 'file-meta' });
  const changeBtn = h('button', { type: 'button', class: 'btn btn-secondary btn-small', onclick: () => fileInput.click() }, icon('refresh', { size: 16 }), h('span', { text: 'Change video' }));
  const previewBox = h('div', { class: 'preview', hidden: true }, previewVideo, previewNote);
  const mediaCol = h('div', { class: 'upload-media' }, dropzone, previewBox, h('div', { class: 'file-row', hidden: true }, fileMeta, changeBtn));

  // --- the form ---
  const caption = h('textarea', { id: 'upload-caption', name: 'caption', rows: '3', maxlength: String(MAX_CAPTION), placeholder: 'Describe your video… #hashtags @mentions', 'aria-describedby': 'caption-count' });
  const counter = h('span', { id: 'caption-count', class: 'field-hint', text: `0/${MAX_CAPTION}` });
  caption.addEventListener('input', () => {
    counter.textContent = `${Array.from(caption.value).length}/${MAX_CAPTION}`;
  });
  const soundRow = h('div', { class: 'sound-chip-row' });
  const errorBox = h('div', { class: 'form-error upload-error', role: 'alert', hidden: true });
  const postBtn = h('button', { type: 'submit', class: 'btn btn-primary btn-block post-btn', disabled: true }, icon('upload', { size: 18 }), h('span', { text: 'Post' }));
  const bar = h('progress', { class: 'upload-progress', max: '100', value: '0', 'aria-label': 'Upload progress' });
  const barText = h('span', { class: 'progress-text', 'aria-live': 'polite', text: 'Uploading… 0%' });
  const cancelBtn = h('button', { type: 'button', class: 'btn btn-ghost btn-small', text: 'Cancel upload', onclick: () => upload && upload.abort() });
  const progressBox = h('div', { class: 'progress-box', hidden: true }, h('div', { class: 'progress-line' }, barText, cancelBtn), bar);
  const statusBox = h('div', { class: 'status-box', hidden: true, 'aria-live': 'polite' });

  const form = h('form', { class: 'form upload-form', novalidate: true },
    h('label', { class: 'field' }, h('span', { class: 'field-label', text: 'Caption' }), caption, counter),
    soundRow, errorBox, progressBox, postBtn);

  const layout = h('div', { class: 'upload-layout' }, mediaCol, h('div', { class: 'upload-fields' }, form, statusBox));
  container.append(page('upload-page', topBar(soundOf ? 'Use this sound' : 'Upload'), layout));

  function renderSound() {
    soundRow.replaceChildren();
    if (!soundOf) return;
    const label = h('span', { text: 'Using a sound from another video' });
    soundRow.append(h('div', { class: 'sound-chip' }, icon('music', { size: 16 }), label,
      h('button', { type: 'button', class: 'icon-btn chip-remove', 'aria-label': 'Don’t use this sound', onclick: () => { soundOf = null; renderSound(); } }, icon('close', { size: 16 }))));
    api(`/videos/${enc(soundOf)}`).then((v) => {
      if (!v) return;
      const title = (v.sound && v.sound.title) || 'Original sound';
      label.textContent = `Using “${title}” · from @${v.author ? v.author.handle : 'unknown'}`;
    }).catch((e) => {
      label.textContent = `Sound unavailable: ${e.message}`;
    });
  }
  renderSound();

  function choose(f) {
    if (!f) return;
    file = f;
    if (previewUrl) URL.revokeObjectURL(previewUrl);
    previewUrl = URL.createObjectURL(f);
    errorBox.hidden = true;
    previewNote.hidden = true;
    previewVideo.src = previewUrl;
    previewVideo.play().catch(() => {});
    dropzone.hidden = true;
    previewBox.hidden = false;
    mediaCol.querySelector('.file-row').hidden = false;
    fileMeta.textContent = `${f.name} · ${fmtBytes(f.size)}`;
    postBtn.disabled = false;
    if (!caption.value) caption.focus();
  }

  previewVideo.addEventListener('loadedmetadata', () => {
    if (file && Number.isFinite(previewVideo.duration)) fileMeta.textContent = `${file.name} · ${fmtDuration(previewVideo.duration * 1000)} · ${fmtBytes(file.size)}`;
  });
  previewVideo.addEventListener('error', () => {
    if (!previewVideo.getAttribute('src')) return;
    previewNote.textContent = 'This browser can’t preview this file. You can still try to post it.';
    previewNote.hidden = false;
  });
  fileInput.addEventListener('change', () => choose(fileInput.files && fileInput.files[0]));
  for (const ev of ['dragenter', 'dragover']) {
    mediaCol.addEventListener(ev, (e) => {
      e.preventDefault();
      dropzone.classList.add('dragging');
    });
  }
  for (const ev of ['dragleave', 'drop']) mediaCol.addEventListener(ev, () => dropzone.classList.remove('dragging'));
  mediaCol.addEventListener('drop', (e) => {
    e.preventDefault();
    const f = e.dataTransfer && e.dataTransfer.files && e.dataTransfer.files[0];
    if (f) choose(f);
  });

  function setBusy(busy) {
    caption.disabled = busy;
    postBtn.disabled = busy || !file;
    changeBtn.disabled = busy;
    fileInput.disabled = busy;
    soundRow.querySelectorAll('button').forEach((b) => { b.disabled = busy; });
  }

  function showError(message) {
    errorBox.replaceChildren(icon('alert', { size: 18 }), h('span', { class: 'upload-error-text', text: message }));
    errorBox.hidden = false;
  }

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (!file) {
      showError('Choose a video first.');
      return;
    }
    errorBox.hidden = true;
    setBusy(true);
    progressBox.hidden = false;
    bar.value = 0;
    barText.textContent = 'Uploading… 0%';
    upload = uploadVideo({ file, caption: caption.value, soundOf }, (f) => {
      const p = Math.round(f * 100);
      bar.value = p;
      barText.textContent = p >= 100 ? 'Upload complete, finishing…' : `Uploading… ${p}%`;
    });
    let res;
    try {
      res = await upload.promise;
    } catch (err) {
      upload = null;
      progressBox.hidden = true;
      setBusy(false);
      if (err.code === 'aborted') {
        toast('Upload cancelled');
        return;
      }
      showError(err.message);
      if (!alive) toast(err.message, { kind: 'error' });
      return;
    }
    upload = null;
    progressBox.hidden = true;
    if (!res || res.id === undefined) {
      setBusy(false);
      showError('The server accepted the upload but didn’t say which video it is.');
      return;
    }
    processing(res.id);
  });

  function processing(id) {
    form.hidden = true;
    mediaCol.querySelector('.file-row').hidden = true;
    statusBox.hidden = false;
    statusBox.replaceChildren(h('div', { class: 'status-card processing' },
      spinner('Processing'),
      h('div', {},
        h('h2', { text: 'Processing your video…' }),
        h('p', { class: 'muted', text: 'This usually takes a few seconds. You can keep browsing — we’ll let you know.' }))));
    let delay = 800;
    const started = Date.now();
    const tick = async () => {
      let v = null;
      try {
        v = await api(`/videos/${enc(id)}`);
      } catch (err) {
        if (err.status === 404 && Date.now() - started > 5000) {
          failed(err.message);
          return;
        }
      }
      if (v && v.status === 'ready') {
        ready(canon(v));
        return;
      }
      if (v && v.status === 'failed') {
        failed(v.failure_reason || 'The video couldn’t be processed.');
        return;
      }
      if (Date.now() - started > 15 * 60 * 1000) {
        failed('Processing is taking unusually long. Check your profile later.');
        return;
      }
      delay = Math.min(3000, delay * 1.25);
      setTimeout(tick, delay);
    };
    setTimeout(tick, delay);
  }

  function ready(v) {
    if (!alive) {
      toast('Your video is ready', { kind: 'success', duration: 5000 });
      return;
    }
    statusBox.replaceChildren(h('div', { class: 'status-card upload-ready' },
      v.poster_url ? h('img', { class: 'ready-poster', src: v.poster_url, alt: '', width: '72', height: '128' }) : null,
      h('div', { class: 'ready-copy' },
        h('h2', {}, icon('check', { size: 20 }), h('span', { text: 'Your video is ready' })),
        h('p', { class: 'muted', text: (v.caption || '').slice(0, 120) }),
        h('div', { class: 'state-actions' },
          h('a', { class: 'btn btn-primary view-video', href: `#/v/${enc(v.id)}`, text: 'View video' }),
          h('button', { type: 'button', class: 'btn btn-secondary', text: 'Upload another', onclick: resetForm })))));
    statusBox.querySelector('.view-video').focus();
  }

  function failed(reason) {
    if (!alive) {
      toast(`Processing failed: ${reason}`, { kind: 'error', duration: 6000 });
      return;
    }
    statusBox.replaceChildren(h('div', { class: 'status-card failed', role: 'alert' },
      icon('alert', { size: 28 }),
      h('div', {},
        h('h2', { text: 'Processing failed' }),
        h('p', { class: 'failure-reason', text: reason }),
        h('button', { type: 'button', class: 'btn btn-secondary', text: 'Try another file', onclick: resetForm }))));
  }

  function resetForm() {
    file = null;
    if (previewUrl) URL.revokeObjectURL(previewUrl);
    previewUrl = null;
    previewVideo.removeAttribute('src');
    previewVideo.load();
    fileInput.value = '';
    caption.value = '';
    counter.textContent = `0/${MAX_CAPTION}`;
    dropzone.hidden = false;
    previewBox.hidden = true;
    mediaCol.querySelector('.file-row').hidden = true;
    statusBox.hidden = true;
    form.hidden = false;
    setBusy(false);
    fileInput.focus();
  }

  return {
    title: 'Upload',
    destroy() {
      alive = false;
      previewVideo.pause();
      if (previewUrl) {
        const u = previewUrl;
        setTimeout(() => URL.revokeObjectURL(u), 1000);
      }
    },
  };
}
