// Browsers without native HLS (Firefox, most desktop Chrome builds) play the
// adaptive stream through hls.js, which Flick serves at /hls.mjs. Chromium
// here has native HLS, so the test hides it: canPlayType says no to HLS.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { startServer, launchBrowser, openPage, makeClip, tmpDir } from '../lib/harness.mjs';

let server;
let browser;
let media;

before(async () => {
  media = tmpDir();
  server = await startServer();
  browser = await launchBrowser();
  const eve = await server.api.signup('eve_hlsjs');
  const id = await server.api.upload(eve.token, makeClip(media, { seconds: 4 }), 'adaptive #hlsjs');
  await server.api.waitReady(String(id), eve.token);
});

after(async () => {
  await browser?.close();
  await server?.stop();
  if (media) fs.rmSync(media, { recursive: true, force: true });
});

test('without native HLS the clip plays adaptively through hls.js', { timeout: 90_000 }, async () => {
  const { page, errors } = await openPage(browser, server.url);
  await page.addInitScript(() => {
    const native = HTMLMediaElement.prototype.canPlayType;
    HTMLMediaElement.prototype.canPlayType = function (type) {
      return /mpegurl/i.test(type) ? '' : native.call(this, type);
    };
  });
  const requested = [];
  page.on('request', (r) => requested.push(new URL(r.url()).pathname));
  await page.goto('/#/');
  await page.waitForSelector('.clip[data-active="true"] video');
  await page.waitForFunction(() => document.querySelector('.clip[data-active="true"] video').currentTime > 0.5, null, { timeout: 30_000 });
  const src = await page.evaluate(() => document.querySelector('.clip[data-active="true"] video').src);
  assert.match(src, /^blob:/, 'the video is fed through Media Source Extensions');
  assert.ok(requested.includes('/hls.mjs'), 'hls.js was loaded');
  assert.ok(requested.some((p) => p.endsWith('/master.m3u8')), 'the master playlist was fetched');
  assert.ok(requested.some((p) => p.endsWith('.ts')), 'segments were fetched');
  assert.ok(!requested.some((p) => p.endsWith('/video.mp4')), 'no fallback to the MP4 was needed');
  assert.deepEqual(errors, []);
});
