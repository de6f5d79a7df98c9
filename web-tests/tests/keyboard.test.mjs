// Keyboard only: arrows move between clips, Space pauses, M toggles sound,
// Tab reaches the clip's buttons with a visible focus ring, and the page does
// not shift while clips load. A visitor watches For You without an account
// and is sent to log in when pressing like.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { startServer, launchBrowser, openPage, makeClip, tmpDir, activeClipId } from '../lib/harness.mjs';

let server;
let browser;
let media;
let viewer;
const ids = [];

before(async () => {
  media = tmpDir();
  server = await startServer();
  browser = await launchBrowser();
  const dan = await server.api.signup('dan_keys');
  const patterns = ['testsrc2', 'smptehdbars', 'rgbtestsrc'];
  for (let i = 0; i < 3; i++) {
    const clip = makeClip(media, { seconds: 2, freq: 300 + 200 * i, pattern: patterns[i] });
    ids.push(String(await server.api.upload(dan.token, clip, `Clip ${i + 1} #keys`)));
  }
  for (const id of ids) await server.api.waitReady(id, dan.token);
  viewer = await server.api.signup('kim_keys');
  await server.api.follow(viewer.token, 'dan_keys');
});

after(async () => {
  await browser?.close();
  await server?.stop();
  if (media) fs.rmSync(media, { recursive: true, force: true });
});

const activeIndex = (page) => page.evaluate(() => {
  const el = document.querySelector('.clip[data-active="true"]');
  return el ? Number(el.dataset.index) : -1;
});

test('arrow keys, space and m drive the feed; Tab reaches the rail', { timeout: 90_000 }, async () => {
  const { page, errors, context } = await openPage(browser, server.url, { session: viewer });
  await page.addInitScript(() => {
    window.__cls = 0;
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) if (!e.hadRecentInput) window.__cls += e.value;
    }).observe({ type: 'layout-shift', buffered: true });
  });
  await page.goto('/#/following');
  await page.waitForSelector('.clip[data-active="true"] video');
  await page.waitForFunction(() => document.querySelectorAll('.clip').length >= 3);
  assert.equal(await activeIndex(page), 0);
  const seen = [await activeClipId(page)];
  await page.waitForFunction(() => document.querySelector('.clip[data-active="true"] video').currentTime > 0.2, null, { timeout: 15_000 });

  // ArrowDown thrice: clip 2, clip 3, then the end of the feed.
  for (const want of [1, 2]) {
    await page.keyboard.press('ArrowDown');
    await page.waitForFunction((i) => {
      const el = document.querySelector('.clip[data-active="true"]');
      return el && Number(el.dataset.index) === i;
    }, want, { timeout: 5000 });
    seen.push(await activeClipId(page));
    await page.waitForFunction(() => {
      const v = document.querySelector('.clip[data-active="true"] video');
      return v && v.currentTime > 0.2;
    }, null, { timeout: 15_000 });
  }
  assert.equal(new Set(seen).size, 3, `three different clips were shown: ${seen}`);
  assert.deepEqual([...seen].sort(), [...ids].sort());
  await page.keyboard.press('ArrowDown');
  await page.waitForFunction(() => !document.querySelector('.clip[data-active="true"]'), null, { timeout: 5000 });
  assert.match(await page.textContent('.feed-tail'), /caught up/i);

  // Back up to clip 3; only one clip is ever playing.
  await page.keyboard.press('ArrowUp');
  await page.waitForFunction(() => Number(document.querySelector('.clip[data-active="true"]')?.dataset.index) === 2, null, { timeout: 5000 });
  assert.equal(await page.evaluate(() => [...document.querySelectorAll('.clip video')].filter((v) => !v.paused).length), 1);

  // Space pauses and resumes; m toggles the sound.
  await page.keyboard.press(' ');
  await page.waitForFunction(() => document.querySelector('.clip[data-active="true"] video').paused);
  await page.keyboard.press(' ');
  await page.waitForFunction(() => !document.querySelector('.clip[data-active="true"] video').paused);
  assert.equal(await page.evaluate(() => document.querySelector('.clip[data-active="true"] video').muted), true, 'autoplay starts muted');
  await page.keyboard.press('m');
  await page.waitForFunction(() => !document.querySelector('.clip[data-active="true"] video').muted);
  await page.keyboard.press('m');
  await page.waitForFunction(() => document.querySelector('.clip[data-active="true"] video').muted);

  // Tab reaches the like button of the clip on screen, with a visible focus ring.
  let reached = null;
  for (let i = 0; i < 25 && !reached; i++) {
    await page.keyboard.press('Tab');
    reached = await page.evaluate(() => {
      const el = document.activeElement;
      if (!el || !el.matches('.clip[data-active="true"] .like-btn')) return null;
      const cs = getComputedStyle(el);
      return { visible: el.matches(':focus-visible') && cs.outlineStyle !== 'none' && parseFloat(cs.outlineWidth) > 0 };
    });
  }
  assert.ok(reached, 'Tab reaches the like button');
  assert.equal(reached.visible, true, 'the focused button shows a focus ring');

  // Arrow keys keep focus on the same control of the next clip.
  await page.keyboard.press('ArrowUp');
  await page.waitForFunction(() => Number(document.querySelector('.clip[data-active="true"]')?.dataset.index) === 1, null, { timeout: 5000 });
  assert.equal(await page.evaluate(() => document.activeElement.matches('.clip[data-active="true"] .like-btn')), true);
  const liked = await activeClipId(page);
  await page.keyboard.press('Enter');
  await page.waitForSelector('.clip[data-active="true"] .like-btn[aria-pressed="true"]');
  assert.equal((await server.api.video(liked, viewer.token)).liked_by_me, true, 'Enter on the focused like button likes the clip');

  const cls = await page.evaluate(() => window.__cls);
  assert.ok(cls < 0.02, `no layout shift while clips load (CLS ${cls})`);
  assert.deepEqual(errors, []);
  await context.close();
});

test('a visitor watches For You and is sent to log in to like', { timeout: 60_000 }, async () => {
  const { page, errors, context } = await openPage(browser, server.url);
  await page.goto('/');
  await page.waitForSelector('.clip[data-active="true"] video', { timeout: 15_000 });
  await page.waitForFunction(() => {
    const v = document.querySelector('.clip[data-active="true"] video');
    return v && !v.paused && v.currentTime > 0.3;
  }, null, { timeout: 15_000 });

  // Keyboard only: Tab to the like button, Enter → the login page.
  let reached = false;
  for (let i = 0; i < 25 && !reached; i++) {
    await page.keyboard.press('Tab');
    reached = await page.evaluate(() => document.activeElement.matches('.clip[data-active="true"] .like-btn'));
  }
  assert.ok(reached, 'Tab reaches the like button');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => location.hash.startsWith('#/login'));
  await page.waitForSelector('#login-handle');
  assert.deepEqual(errors, []);
  await context.close();
});
