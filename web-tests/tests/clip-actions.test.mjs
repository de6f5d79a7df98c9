// The actions on a clip in For You: follow from the rail, double-tap like,
// share (copies the link), "why this video", "not interested", and the links
// of the caption (hashtag) and sound.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { startServer, launchBrowser, openPage, makeClip, tmpDir, eventually, activeClipId } from '../lib/harness.mjs';

let server;
let browser;
let media;
let maker;
const ids = [];

before(async () => {
  media = tmpDir();
  server = await startServer();
  browser = await launchBrowser();
  maker = await server.api.signup('maya_clips');
  const patterns = ['testsrc2', 'gradients', 'smptehdbars'];
  for (let i = 0; i < 3; i++) {
    const clip = makeClip(media, { seconds: 2, freq: 350 + 150 * i, pattern: patterns[i] });
    ids.push(String(await server.api.upload(maker.token, clip, `Clip ${i + 1} #actions`)));
  }
  for (const id of ids) await server.api.waitReady(id, maker.token);
});

after(async () => {
  await browser?.close();
  await server?.stop();
  if (media) fs.rmSync(media, { recursive: true, force: true });
});

test('follow, double-tap like, share, why, not interested, caption and sound links', { timeout: 90_000 }, async () => {
  const viewer = await server.api.signup('vic_actions');
  const { page, errors, context } = await openPage(browser, server.url, { session: viewer });
  await page.goto('/');
  await page.waitForSelector('.clip[data-active="true"] video');
  const first = await activeClipId(page);
  assert.ok(ids.includes(first));

  // Follow from the rail: the "+" badge appears once the state is known.
  await page.waitForSelector('.clip[data-active="true"] .follow-badge:not([hidden])', { timeout: 10_000 });
  await page.click('.clip[data-active="true"] .follow-badge');
  await page.waitForSelector('.clip[data-active="true"] .follow-badge[hidden]', { state: 'attached' });
  await eventually(async () => (await server.api.call('GET', '/users/maya_clips', { token: viewer.token })).data.followed_by_me === true,
    { message: 'the follow to reach the server' });

  // Double-tap the video to like it.
  const media0 = page.locator('.clip[data-active="true"] .clip-media');
  await media0.dblclick({ position: { x: 150, y: 300 } });
  await page.waitForSelector('.clip[data-active="true"] .like-btn[aria-pressed="true"]');
  await eventually(async () => (await server.api.video(first, viewer.token)).liked_by_me === true, { message: 'the double-tap like' });
  assert.equal(await page.evaluate(() => document.querySelector('.clip[data-active="true"] video').paused), false, 'a double tap does not pause');

  // Share: the server's link goes to the clipboard and the count goes up.
  const share = page.waitForResponse((r) => r.url().endsWith(`/videos/${first}/share`));
  await page.click('.clip[data-active="true"] .share-btn');
  const shared = await (await share).json();
  await page.waitForSelector('.toast');
  const clip = await page.evaluate(() => navigator.clipboard.readText().catch(() => null));
  if (clip !== null) assert.equal(clip, shared.url);
  assert.equal(await page.textContent('.clip[data-active="true"] .share-btn .rail-count'), String(shared.shares));

  // Why this video: the reasons of the feed item (or of /why).
  await page.click('.clip[data-active="true"] .more-btn');
  await page.click('dialog[open] .menu-item:has-text("Why this video")');
  await page.waitForSelector('dialog[open] .reason');
  const reasons = await page.$$eval('dialog[open] .reason', (els) => els.map((e) => e.textContent.trim()));
  assert.ok(reasons.length >= 1 && reasons.every(Boolean), `reasons are listed: ${reasons}`);
  await page.click('dialog[open] .sheet-close');
  await page.waitForFunction(() => !document.querySelector('dialog'));

  // Not interested: the clip leaves the feed and the next one plays.
  const count = await page.$$eval('.clip', (els) => els.length);
  await page.click('.clip[data-active="true"] .more-btn');
  const ni = page.waitForResponse((r) => r.url().endsWith(`/videos/${first}/not-interested`));
  await page.click('dialog[open] .menu-item:has-text("Not interested")');
  assert.equal((await ni).status(), 204);
  await page.waitForFunction((id) => !document.querySelector(`.clip[data-video-id="${id}"]`), first);
  assert.equal(await page.$$eval('.clip', (els) => els.length), count - 1);
  await page.waitForFunction((id) => {
    const el = document.querySelector('.clip[data-active="true"]');
    return el && el.dataset.videoId !== id && el.querySelector('video').currentTime > 0.1;
  }, first, { timeout: 10_000 });

  // The hashtag in the caption opens the hashtag page with its grid.
  await page.click('.clip[data-active="true"] a.tag-link');
  await page.waitForFunction(() => location.hash === '#/tag/actions');
  await page.waitForSelector('.video-grid .tile');
  assert.ok((await page.$$('.video-grid .tile')).length >= 1);

  // A tile opens the player on that clip; its sound line opens the sound page.
  await page.click('.video-grid .tile');
  await page.waitForSelector('.clip[data-active="true"] video');
  await page.click('.clip[data-active="true"] a.clip-sound');
  await page.waitForFunction(() => location.hash.startsWith('#/sound/'));
  await page.waitForSelector('.video-grid .tile');
  await page.waitForSelector('.use-sound:not([aria-disabled])');

  assert.deepEqual(errors, []);
  await context.close();
});
