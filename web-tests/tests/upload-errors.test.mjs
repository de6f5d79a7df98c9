// A file that is not a video is refused by the server, and the upload page
// shows the server's own message.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startServer, launchBrowser, openPage, tmpDir } from '../lib/harness.mjs';

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

test('uploading a text file named x.mp4 shows the API error message', { timeout: 90_000 }, async () => {
  const bad = path.join(media, 'x.mp4');
  fs.writeFileSync(bad, 'This is a plain text file pretending to be a video.\n'.repeat(20));
  const user = await server.api.signup('carol_up');

  // What the server says about this file, asked directly.
  const direct = await server.api.uploadRaw(user.token, bad, 'direct', { name: 'x.mp4' });
  assert.ok(direct.status >= 400 && direct.status < 500,
    `the server should refuse a non-video with a 4xx {code, message}; got ${direct.status} ${JSON.stringify(direct.data)}`);
  assert.equal(typeof direct.data?.message, 'string', 'the refusal carries a message');
  const expected = direct.data.message;

  const { page, errors, context } = await openPage(browser, server.url, { session: user });
  await page.goto('/#/upload');
  await page.waitForSelector('#upload-file', { state: 'attached' });
  await page.setInputFiles('#upload-file', bad);
  await page.fill('#upload-caption', 'this should not work');
  await page.click('.post-btn');
  const alert = page.locator('.upload-error');
  await alert.waitFor({ state: 'visible', timeout: 20_000 });
  assert.equal((await alert.textContent()).trim(), expected);
  assert.equal(await alert.getAttribute('role'), 'alert');
  // The form stays usable: the user can pick another file.
  assert.equal(await page.isEnabled('.post-btn'), true);
  assert.equal(await page.inputValue('#upload-caption'), 'this should not work');

  // The refused request itself is logged by Chromium as a failed resource;
  // anything else is a bug.
  const unexpected = errors.filter((e) => !(/Failed to load resource: the server responded with a status of 4\d\d/.test(e) && e.includes('/api/v1/videos')));
  assert.deepEqual(unexpected, []);
  await context.close();
});
