// Signing up on a deployment with several regions: the form offers the home
// region, the account is created there, and the settings page says so.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, openPage, sessionCookie } from '../lib/harness.mjs';

let server;
let browser;

before(async () => {
  server = await startServer({ config: 'regions = ["us", "eu"]\n' });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test('the signup form offers the regions and the account lives in the one chosen', async () => {
  const { page, errors, context } = await openPage(browser, server.url);
  await page.goto('/#/signup');
  await page.waitForSelector('#signup-region option[value="eu"]', { state: 'attached' });
  assert.ok(await page.isVisible('#signup-region'), 'the region choice is shown');
  await page.fill('#signup-handle', 'region_pick');
  await page.fill('#signup-password', 'long-enough-pw');
  await page.selectOption('#signup-region', 'eu');
  await page.click('.auth-form button[type="submit"]');
  await page.waitForFunction(() => localStorage.getItem('flick.user'), null, { timeout: 10_000 });
  const token = await sessionCookie(context);
  assert.ok(token.startsWith('eu.'), `a session of region eu: ${token.slice(0, 3)}`);

  await page.goto('/#/settings');
  await page.waitForSelector('.region-value');
  assert.equal((await page.textContent('.region-value')).trim(), 'eu');
  assert.deepEqual(errors, []);
});

test('with one region the form asks nothing', async () => {
  const single = await startServer();
  try {
    const { page, errors } = await openPage(browser, single.url);
    await page.goto('/#/signup');
    await page.waitForSelector('#signup-handle');
    // Give the regions request time to answer before looking.
    await page.waitForLoadState('networkidle');
    assert.equal(await page.isVisible('#signup-region'), false);
    assert.deepEqual(errors, []);
  } finally {
    await single.stop();
  }
});
