// The whole journey, against the real server: sign up and upload through the
// UI, a follower watches it in the Following tab, likes and comments through
// the UI, swipes on, and the view event shows up in the uploader's analytics.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {
  startServer, launchBrowser, openPage, makeClip, tmpDir, eventually, activeClipId, ensureArtifacts, PASSWORD, sessionCookie,
} from '../lib/harness.mjs';

let server;
let browser;
let media;

before(async () => {
  media = tmpDir();
  server = await startServer();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
  if (media) fs.rmSync(media, { recursive: true, force: true });
});

test('sign up, upload, follow, play, like, comment, swipe, view counted', { timeout: 120_000 }, async () => {
  const clipA = makeClip(media, { seconds: 3, freq: 440 });
  const clipB = makeClip(media, { seconds: 3, freq: 660, pattern: 'gradients' });
  const api = server.api;

  // --- the uploader signs up through the UI ---
  const up = await openPage(browser, server.url);
  await up.page.goto('/#/signup');
  await up.page.fill('#signup-handle', 'ana_e2e');
  await up.page.fill('#signup-password', PASSWORD);
  await up.page.click('.auth-form button[type="submit"]');
  await up.page.waitForFunction(() => localStorage.getItem('flick.user'), null, { timeout: 10_000 });
  await up.page.waitForFunction(() => location.hash === '#/');
  const anaToken = await sessionCookie(up.context);

  // --- and uploads a clip through the UI ---
  await up.page.click('.bottom-nav [data-nav="upload"]');
  await up.page.waitForSelector('#upload-file', { state: 'attached' });
  await up.page.setInputFiles('#upload-file', clipA);
  await up.page.waitForFunction(() => {
    const v = document.querySelector('.preview-video');
    return v && v.src.startsWith('blob:') && v.readyState >= 1;
  }, null, { timeout: 10_000 });
  const caption = 'Golden hour run #flicktest with @bob_e2e';
  await up.page.fill('#upload-caption', caption);
  await up.page.click('.post-btn');
  await up.page.waitForSelector('.progress-box:not([hidden]), .status-box:not([hidden])', { timeout: 10_000 });

  // A second clip (through the API) so there is a next clip to swipe to.
  const idB = await api.upload(anaToken, clipB, 'Evening colours over the lake #flicktest #sunset with @bob_e2e');

  await up.page.waitForSelector('.upload-ready', { timeout: 60_000 });
  const readyHref = await up.page.getAttribute('.upload-ready a.view-video', 'href');
  const idA = /#\/v\/(.+)$/.exec(readyHref)[1];
  await api.waitReady(idB, anaToken);

  assert.match(readyHref, /^#\/v\/\w+$/, 'the ready status links to the clip');
  const shownA = await api.video(idA, anaToken);
  assert.equal(shownA.status, 'ready');
  assert.equal(shownA.caption, caption);

  // --- a follower watches the Following tab ---
  const bob = await api.signup('bob_e2e');
  await api.follow(bob.token, 'ana_e2e');
  const viewer = await openPage(browser, server.url, { session: bob });
  const { page } = viewer;
  await page.goto('/#/following');
  await page.waitForSelector('.clip[data-active="true"] video', { timeout: 15_000 });
  const first = await activeClipId(page);
  assert.ok([String(idA), String(idB)].includes(first), `the first clip is one of ana's (${first})`);

  // It plays: currentTime advances.
  const t0 = await page.evaluate(() => document.querySelector('.clip[data-active="true"] video').currentTime);
  await page.waitForFunction((start) => {
    const v = document.querySelector('.clip[data-active="true"] video');
    return v && !v.paused && v.currentTime > start + 0.5;
  }, t0, { timeout: 15_000 });

  // The caption, with the hashtag and the mention as links.
  const cap = await page.evaluate((id) => {
    const el = document.querySelector(`.clip[data-video-id="${id}"] .clip-caption`);
    return el && {
      text: el.textContent,
      tag: el.querySelector('a.tag-link')?.getAttribute('href'),
      mention: el.querySelector('a.mention-link')?.getAttribute('href'),
    };
  }, idA);
  assert.ok(cap, 'clip A is in the feed');
  assert.equal(cap.text, caption);
  assert.equal(cap.tag, '#/tag/flicktest');
  assert.equal(cap.mention, '#/u/bob_e2e');

  // --- like through the UI ---
  await page.click('.clip[data-active="true"] .like-btn');
  await page.waitForSelector('.clip[data-active="true"] .like-btn[aria-pressed="true"]');
  await eventually(async () => {
    const v = await api.video(first, bob.token);
    return v.counts.likes === 1 && v.liked_by_me === true;
  }, { message: 'the like to reach the server' });
  assert.equal(await page.textContent('.clip[data-active="true"] .like-btn .rail-count'), '1');

  // --- comment through the UI ---
  const comment = 'Love this! <img src=x onerror="window.__xss=1">';
  await page.click('.clip[data-active="true"] .comment-btn');
  await page.waitForSelector('dialog[open] .comment-input');
  await page.fill('dialog[open] .comment-input', comment);
  await page.click('dialog[open] .comment-post');
  await page.waitForFunction((body) => [...document.querySelectorAll('dialog[open] .comment-body')].some((p) => p.textContent === body), comment);
  await eventually(async () => {
    const { data } = await api.call('GET', `/videos/${first}/comments`, { token: bob.token });
    const v = await api.video(first, bob.token);
    return data.items.some((c) => c.body === comment) && v.counts.comments === 1;
  }, { message: 'the comment to reach the server' });
  await page.keyboard.press('Escape');
  await page.waitForFunction(() => !document.querySelector('dialog'));
  assert.equal(await page.textContent('.clip[data-active="true"] .comment-btn .rail-count'), '1');
  assert.equal(await page.evaluate(() => window.__xss), undefined, 'comment HTML never runs');

  // --- a screenshot of the feed ---
  await page.waitForFunction(() => {
    const v = document.querySelector('.clip[data-active="true"] video');
    return v && v.currentTime > 0.3 && !v.paused;
  });
  await page.evaluate(() => document.activeElement && document.activeElement.blur());
  await page.mouse.move(5, 5);
  const shot = path.join(ensureArtifacts(), 'feed.png');
  await page.screenshot({ path: shot });
  assert.ok(fs.statSync(shot).size > 10_000, 'the screenshot was written');

  // --- swipe (wheel) to the next clip ---
  const box = await page.locator('.feed').boundingBox();
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await page.mouse.wheel(0, 600);
  await page.waitForFunction((prev) => {
    const el = document.querySelector('.clip[data-active="true"]');
    return el && el.dataset.videoId !== prev;
  }, first, { timeout: 10_000 });
  const second = await activeClipId(page);
  assert.notEqual(second, first);
  await page.waitForFunction(() => {
    const v = document.querySelector('.clip[data-active="true"] video');
    return v && v.currentTime > 0.3;
  }, null, { timeout: 15_000 });

  // --- the view event of the first clip reached the server ---
  await eventually(async () => {
    const { data } = await api.call('GET', '/me/analytics', { token: anaToken });
    const row = data.videos.find((v) => String(v.id) === String(first));
    return row && row.views >= 1;
  }, { timeout: 15_000, message: 'analytics to count the view of the first clip' });

  assert.deepEqual(up.errors, [], 'no console errors for the uploader');
  assert.deepEqual(viewer.errors, [], 'no console errors for the viewer');
  await up.context.close();
  await viewer.context.close();
});
