// Keyword filters and comment controls in the web app: filters are added
// and deleted in settings, a clip a filter warns about is covered until
// tapped and a filtered comment until shown; a creator turns comments off
// from the ⋯ sheet, holds words, and approves a held comment.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { startServer, launchBrowser, openPage, makeClip, tmpDir, eventually } from '../lib/harness.mjs';

let server;
let browser;
let media;
let creator;
let video;

before(async () => {
  media = tmpDir();
  server = await startServer();
  browser = await launchBrowser();
  creator = await server.api.signup('fay_films');
  const clip = makeClip(media, { seconds: 2, pattern: 'testsrc2' });
  video = String(await server.api.upload(creator.token, clip, 'Spoiler alert: the ending of the film #movies'));
  await server.api.waitReady(video, creator.token);
  for (const body of ['The spoiler alert was fair', 'buy my pills here', 'lovely light']) {
    await server.api.call('POST', `/videos/${video}/comments`, { token: creator.token, body: { body } });
  }
});

after(async () => {
  await browser?.close();
  await server?.stop();
  if (media) fs.rmSync(media, { recursive: true, force: true });
});

async function commentBodies(token) {
  const { data } = await server.api.call('GET', `/videos/${video}/comments`, { token });
  return data.items.map((c) => c.body);
}

test('keyword filters from settings cover a clip and a comment, hide another, and are deleted', { timeout: 90_000 }, async () => {
  const viewer = await server.api.signup('wes_warned');
  const { page, errors, context } = await openPage(browser, server.url, { session: viewer });
  await page.goto('/#/settings');
  await page.click('a.settings-item:has-text("Keyword filters")');
  await page.waitForSelector('.filters-page .filter-form');

  const add = async (words, action) => {
    await page.fill('.filter-form input[name="words"]', words);
    await page.selectOption('.filter-form select[name="action"]', action);
    const sent = page.waitForResponse((r) => r.url().endsWith('/api/v1/me/filters') && r.request().method() === 'POST');
    await page.click('.filter-form button:has-text("Add filter")');
    return (await sent).status();
  };
  // A word of 41 characters is refused with the server's reason.
  assert.equal(await add('x'.repeat(41), 'hide'), 422);
  await page.waitForSelector('.filter-form .form-error:not([hidden]) >> text=/1 to 40 characters/');
  assert.equal(await add('Spoiler alert', 'warn'), 201);
  await page.selectOption('.filter-form select[name="duration"]', { label: 'For 7 days' });
  assert.equal(await add('pills, scam', 'hide'), 201);
  await page.waitForSelector('.filter-row[data-action="hide"] >> text=pills, scam');
  assert.match(await page.textContent('.filter-row[data-action="hide"]'), /Hidden · until/);
  assert.match(await page.textContent('.filter-row[data-action="warn"]'), /Shown with a warning · no end/);

  // The clip is covered, naming the word, until tapped.
  await page.goto(`/#/v/${video}`);
  const media = '.clip[data-active="true"] .clip-media';
  await page.waitForSelector(`${media}.is-sensitive .filter-cover`);
  assert.match(await page.textContent(`${media} .filter-cover`), /Mentions “spoiler alert”/);
  // The caption, which holds the words, is out of sight too.
  const caption = '.clip[data-active="true"] .clip-caption';
  assert.equal(await page.isVisible(caption), false);
  await page.click(`${media} .filter-cover`);
  await page.waitForSelector(`${media}:not(.is-sensitive)`);
  assert.equal(await page.$(`${media} .filter-cover`), null);
  await page.waitForSelector(`${caption} >> text=/Spoiler alert/`);

  // Its hashtag's grid covers the tile.
  await page.goto('/#/tag/movies');
  await page.waitForSelector(`li[data-video-id="${video}"] .tile.is-filtered`);
  assert.match(await page.getAttribute(`li[data-video-id="${video}"] .tile`, 'aria-label'), /^Hidden by your keyword filter, /);
  await page.goto(`/#/v/${video}`);
  await page.waitForSelector(`${media} .filter-cover`);

  // Comments: the warned one behind "Show", the hidden one absent.
  await page.click('.clip[data-active="true"] .comment-btn');
  await page.waitForSelector('dialog[open] .comment >> text=lovely light');
  assert.equal(await page.$('dialog[open] .comment >> text=buy my pills here'), null);
  const warned = 'dialog[open] .comment:has(.comment-filtered)';
  assert.match(await page.textContent(`${warned} .comment-filtered`), /“spoiler alert”/);
  assert.equal(await page.isVisible(`${warned} .comment-body`), false);
  await page.click(`${warned} button:has-text("Show")`);
  await page.waitForSelector('dialog[open] .comment-body >> text=The spoiler alert was fair');
  assert.deepEqual(await commentBodies(viewer.token), ['lovely light', 'The spoiler alert was fair']);

  // Deleting the hide filter brings the comment back.
  await page.goto('/#/filters');
  const deleted = page.waitForResponse((r) => /\/api\/v1\/me\/filters\/\d+$/.test(r.url()) && r.request().method() === 'DELETE');
  await page.click('.filter-row[data-action="hide"] .filter-delete');
  assert.equal((await deleted).status(), 204);
  await page.waitForFunction(() => !document.querySelector('.filter-row[data-action="hide"]'));
  assert.equal((await commentBodies(viewer.token)).length, 3);
  // Only the refused filter's 422 may be in the console.
  const unexpected = errors.filter((e) => !(/status of 422/.test(e) && e.includes('/api/v1/me/filters')));
  assert.deepEqual(unexpected, []);
  await context.close();
});

test('a creator turns comments off and on from the ⋯ sheet, holds words, and approves a held comment', { timeout: 90_000 }, async () => {
  const fan = await server.api.signup('gil_guest');
  const owner = await openPage(browser, server.url, { session: creator });
  const choose = async (policy) => {
    await owner.page.goto(`/#/v/${video}`);
    await owner.page.waitForSelector('.clip[data-active="true"] video');
    await owner.page.click('.clip[data-active="true"] .more-btn');
    await owner.page.click('dialog[open] .menu-item:has-text("Who can comment")');
    const saved = owner.page.waitForResponse((r) => r.url().endsWith(`/api/v1/videos/${video}`) && r.request().method() === 'PATCH');
    await owner.page.check(`dialog[open] input[name="comment_policy"][value="${policy}"]`);
    assert.equal((await saved).status(), 204);
    await eventually(async () => (await server.api.video(video)).comment_policy === policy, { message: `comments ${policy}` });
  };
  await choose('off');

  const guest = await openPage(browser, server.url, { session: fan });
  await guest.page.goto(`/#/v/${video}`);
  await guest.page.waitForSelector('.clip[data-active="true"] video');
  await guest.page.click('.clip[data-active="true"] .comment-btn');
  await guest.page.waitForSelector('dialog[open] .comments-closed >> text=Comments are turned off');
  assert.equal(await guest.page.$('dialog[open] .comment-input'), null);
  await guest.page.keyboard.press('Escape');
  await guest.page.waitForSelector('dialog[open]', { state: 'detached' });

  await choose('everyone');
  // Held words, from settings.
  await owner.page.goto('/#/filters');
  await owner.page.waitForSelector('.held-words-form input[name="held_words"]:not([disabled])');
  await owner.page.fill('.held-words-form input[name="held_words"]', 'Refund, giveaway');
  const held = owner.page.waitForResponse((r) => r.url().endsWith('/api/v1/me/held-words') && r.request().method() === 'PUT');
  await owner.page.click('.held-words-form button:has-text("Save held words")');
  assert.equal((await held).status(), 200);
  assert.deepEqual((await server.api.call('GET', '/me/held-words', { token: creator.token })).data.words, ['refund', 'giveaway']);

  // The guest's comment with a held word waits; the creator approves it.
  // (A reload: the open page still holds the clip as it was, comments off.)
  await guest.page.reload();
  await guest.page.waitForSelector('.clip[data-active="true"] video');
  await guest.page.click('.clip[data-active="true"] .comment-btn');
  await guest.page.fill('dialog[open] .comment-input', 'Where is my refund?');
  const posted = guest.page.waitForResponse((r) => r.url().endsWith(`/api/v1/videos/${video}/comments`) && r.request().method() === 'POST');
  await guest.page.click('dialog[open] .comment-post');
  assert.equal((await posted).status(), 201);
  await guest.page.waitForSelector('dialog[open] .comment:has-text("Where is my refund?") .comment-held');
  assert.ok(!(await commentBodies()).includes('Where is my refund?'));

  await owner.page.goto(`/#/v/${video}`);
  await owner.page.waitForSelector('.clip[data-active="true"] video');
  await owner.page.click('.clip[data-active="true"] .comment-btn');
  const row = 'dialog[open] .held-comments .comment:has-text("Where is my refund?")';
  await owner.page.waitForSelector(row);
  const approved = owner.page.waitForResponse((r) => /\/api\/v1\/comments\/\d+\/approve$/.test(r.url()));
  await owner.page.click(`${row} .comment-approve`);
  assert.equal((await approved).status(), 204);
  await owner.page.waitForSelector('dialog[open] .held-comments', { state: 'hidden' });
  await owner.page.waitForSelector('dialog[open] .comment-list:not(.held-list) .comment >> text=Where is my refund?');
  assert.ok((await commentBodies()).includes('Where is my refund?'));
  assert.deepEqual(owner.errors, []);
  assert.deepEqual(guest.errors, []);
  await owner.context.close();
  await guest.context.close();
});
