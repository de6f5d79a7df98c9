// Online safety in the web app: reporting (clip sheet, comment, profile)
// with the offer to block, block and mute on profiles, blurred sensitive
// clips, the misinformation label and its share prompt, notices and
// appeals in settings, and the moderators' console.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { startServer, launchBrowser, openPage, makeClip, tmpDir, eventually } from '../lib/harness.mjs';

let server;
let browser;
let media;
let creator;
let moderator;
let video;
let comment;

before(async () => {
  media = tmpDir();
  server = await startServer();
  browser = await launchBrowser();
  creator = await server.api.signup('cara_creator');
  moderator = await server.api.signup('mo_moderator');
  server.setRole('mo_moderator', 'moderator');
  const clip = makeClip(media, { seconds: 2, pattern: 'testsrc2' });
  video = String(await server.api.upload(creator.token, clip, 'Sea water cures the flu #health'));
  await server.api.waitReady(video, creator.token);
  comment = (await server.api.call('POST', `/videos/${video}/comments`, { token: creator.token, body: { body: 'buy my pills' } })).data;
});

after(async () => {
  await browser?.close();
  await server?.stop();
  if (media) fs.rmSync(media, { recursive: true, force: true });
});

async function queue() {
  return (await server.api.call('GET', '/moderation/queue', { token: moderator.token })).data.cases;
}

test('report a clip from its sheet and block its creator, report a comment and a profile, mute', { timeout: 90_000 }, async () => {
  const viewer = await server.api.signup('rita_reports');
  const { page, errors, context } = await openPage(browser, server.url, { session: viewer });
  await page.goto(`/#/v/${video}`);
  await page.waitForSelector('.clip[data-active="true"] video');

  // The ⋯ sheet → Report → a category → Send; then the offer to block.
  await page.click('.clip[data-active="true"] .more-btn');
  await page.click('dialog[open] .menu-item:has-text("Report")');
  await page.waitForSelector('dialog[open] .report-form');
  assert.equal(await page.$$eval('dialog[open] input[name="category"]', (els) => els.length), 13);
  await page.check('dialog[open] input[value="misinformation"]');
  await page.fill('dialog[open] textarea[name="note"]', 'a health claim with no source');
  const sent = page.waitForResponse((r) => r.url().endsWith('/api/v1/reports'));
  await page.click('dialog[open] button:has-text("Send report")');
  assert.equal((await sent).status(), 201);
  await page.waitForSelector('dialog[open] button:has-text("Block @cara_creator")');
  await page.click('dialog[open] button:has-text("Block @cara_creator")');
  await eventually(async () => (await server.api.call('GET', '/users/cara_creator', { token: viewer.token })).data.blocked_by_me === true,
    { message: 'the block to reach the server' });
  await page.waitForFunction(() => !document.querySelector('dialog'));
  await eventually(async () => (await queue()).some((c) => c.subject_type === 'video' && c.categories.misinformation === 1),
    { message: 'the report in the queue' });

  // Unblock from the profile, then report a comment from the comments sheet.
  await page.goto('/#/u/cara_creator');
  await page.waitForSelector('.block-btn[aria-pressed="true"]');
  await page.click('.block-btn');
  await page.waitForSelector('.block-btn[aria-pressed="false"]');
  await page.goto(`/#/v/${video}`);
  await page.waitForSelector('.clip[data-active="true"] video');
  await page.click('.clip[data-active="true"] .comment-btn');
  await page.waitForSelector(`dialog[open] .comment[data-comment-id="${comment.id}"] .comment-report`);
  await page.click(`dialog[open] .comment[data-comment-id="${comment.id}"] .comment-report`);
  await page.waitForSelector('dialog[open] .report-form');
  await page.check('dialog[open] input[value="illegal"]');
  await page.fill('dialog[open] textarea[name="note"]', 'sale of unlicensed medicines');
  const commentReport = page.waitForResponse((r) => r.url().endsWith('/api/v1/reports'));
  await page.click('dialog[open] button:has-text("Send report")');
  assert.equal((await commentReport).status(), 201);
  // Declining the block offer leaves things as they were.
  await page.click('dialog[open] button:has-text("Cancel")');
  await eventually(async () => (await queue())[0]?.subject_type === 'comment', { message: 'the urgent comment case first' });

  // A profile: mute, and report the account.
  await page.goto('/#/u/cara_creator');
  await page.click('.mute-btn');
  await page.waitForSelector('.mute-btn[aria-pressed="true"]');
  assert.equal((await server.api.call('GET', '/users/cara_creator', { token: viewer.token })).data.muted_by_me, true);
  await page.click('.report-btn');
  await page.check('dialog[open] input[value="spam"]');
  await page.click('dialog[open] button:has-text("Send report")');
  await page.waitForSelector('dialog[open] button:has-text("Cancel")');
  await page.click('dialog[open] button:has-text("Cancel")');
  await eventually(async () => (await queue()).some((c) => c.subject_type === 'account'), { message: 'the account report' });
  await page.click('.mute-btn');
  await page.waitForSelector('.mute-btn[aria-pressed="false"]');

  assert.deepEqual(errors, []);
  await context.close();
});

test('moderators decide in the console; the label shows, sharing asks first, the creator appeals in settings', { timeout: 90_000 }, async () => {
  // The moderator's console: settings → queue → case → label it.
  const mod = await openPage(browser, server.url, { session: moderator });
  await mod.page.goto('/#/settings');
  await mod.page.click('a:has-text("Moderation queue")');
  await mod.page.waitForSelector(`.case-row[data-case-id]`);
  const videoCase = (await queue()).find((c) => c.subject_type === 'video');
  await mod.page.click(`.case-row[data-case-id="${videoCase.id}"]`);
  await mod.page.waitForSelector('.decision-form');
  assert.match(await mod.page.textContent('.case-subject blockquote'), /Sea water/);
  assert.match(await mod.page.textContent('.case-reports'), /reporter-\d+: misinformation/);
  await mod.page.selectOption('.decision-form select[name="action"]', 'label');
  await mod.page.check('.decision-form input[value="misinformation"]');
  await mod.page.selectOption('.decision-form select[name="ground"]', 'terms');
  await mod.page.fill('.decision-form input[name="rule_or_law"]', 'Community rules §4: health claims');
  await mod.page.fill('.decision-form textarea[name="facts"]', 'The clip says sea water cures the flu, with no source.');
  const decided = mod.page.waitForResponse((r) => r.url().endsWith('/api/v1/moderation/actions'));
  await mod.page.click('.decision-form button:has-text("Decide")');
  assert.equal((await decided).status(), 201);
  await mod.page.waitForFunction(() => location.hash === '#/moderation');
  assert.deepEqual(mod.errors, []);
  await mod.context.close();

  // A viewer sees the label, and sharing asks before it goes.
  const viewer = await server.api.signup('sam_shares');
  const { page, errors, context } = await openPage(browser, server.url, { session: viewer });
  await page.goto(`/#/v/${video}`);
  await page.waitForSelector('.clip[data-active="true"] .label-chip.label-misinformation');
  await page.click('.clip[data-active="true"] .share-btn');
  await page.waitForSelector('dialog[open] .dialog-message');
  assert.match(await page.textContent('dialog[open] .dialog-message'), /unverified content\. Share anyway\?/);
  const share = page.waitForResponse((r) => r.url().includes(`/videos/${video}/share`));
  await page.click('dialog[open] button:has-text("Share anyway")');
  const res = await share;
  assert.equal(res.status(), 200);
  assert.ok(res.url().endsWith('confirmed=true'), res.url());
  assert.deepEqual(errors, []);
  await context.close();

  // The creator reads the statement of reasons in settings and appeals.
  const own = await openPage(browser, server.url, { session: creator });
  await own.page.goto('/#/settings');
  await own.page.click('a:has-text("Notices and appeals")');
  await own.page.waitForSelector('.notice[data-kind="decision"]');
  const text = await own.page.textContent('.notice[data-kind="decision"]');
  assert.match(text, /A label was added/);
  assert.match(text, /Community rules §4/);
  assert.match(text, /sea water cures the flu/);
  await own.page.fill('.appeal-form textarea', 'The clip is satire; the caption says so in the first line.');
  const appealed = own.page.waitForResponse((r) => r.url().includes('/appeal'));
  await own.page.click('.appeal-form button:has-text("Appeal")');
  assert.equal((await appealed).status(), 202);
  await own.page.waitForSelector('.notice-appeal');
  assert.equal(await own.page.$$eval('.appeal-form', (els) => els.length), 0);
  assert.deepEqual(own.errors, []);
  await own.context.close();
});

test('a sensitive clip is blurred until tapped, in the player and in the grid, unless the viewer chose to see it', { timeout: 90_000 }, async () => {
  const clip = makeClip(media, { seconds: 2, pattern: 'gradients' });
  const id = String(await server.api.upload(creator.token, clip, 'A hard scene'));
  await server.api.waitReady(id, creator.token);
  const res = await server.api.call('POST', '/moderation/actions', {
    token: moderator.token,
    body: { subject_type: 'video', subject_id: Number(id), action: 'label', labels: ['sensitive'], ground: 'terms', rule_or_law: 'Community rules §6', facts: 'Graphic injury shown in close-up.' },
  });
  assert.equal(res.status, 201);

  const viewer = await server.api.signup('bea_blur');
  const { page, errors, context } = await openPage(browser, server.url, { session: viewer });
  await page.goto(`/#/v/${id}`);
  await page.waitForSelector('.clip[data-active="true"] .clip-media.is-sensitive .sensitive-cover');
  const filter = await page.$eval('.clip[data-active="true"] video', (v) => getComputedStyle(v).filter);
  assert.match(filter, /blur/);
  await page.click('.clip[data-active="true"] .sensitive-cover');
  await page.waitForSelector('.clip[data-active="true"] .clip-media:not(.is-sensitive)');
  assert.equal(await page.$eval('.clip[data-active="true"] video', (v) => getComputedStyle(v).filter), 'none');

  // The profile grid blurs the poster itself.
  await page.goto('/#/u/cara_creator');
  await page.waitForSelector(`li[data-video-id="${id}"] .tile.is-sensitive img`);
  assert.match(await page.$eval(`li[data-video-id="${id}"] .tile img`, (i) => getComputedStyle(i).filter), /blur/);

  // "Show them" in settings: no blur anywhere.
  await page.goto('/#/settings');
  await page.waitForSelector('#setting-sensitive:not([disabled])');
  const saved = page.waitForResponse((r) => r.url().endsWith('/api/v1/me') && r.request().method() === 'PATCH');
  await page.selectOption('#setting-sensitive', 'show');
  assert.equal((await saved).status(), 200);
  await page.goto('/#/u/cara_creator');
  await page.waitForSelector(`li[data-video-id="${id}"] .tile:not(.is-sensitive) img`);
  assert.deepEqual(errors, []);
  await context.close();
});

test('a moderator lists a removed clip as known-bad media from its case; a copy is refused at upload', { timeout: 120_000 }, async () => {
  const clip = makeClip(media, { seconds: 3, pattern: 'testsrc2', freq: 997 });
  const id = String(await server.api.upload(creator.token, clip, 'A leaked clip'));
  await server.api.waitReady(id, creator.token);
  const reporter = await server.api.signup('kim_known');
  await server.api.call('POST', '/reports', {
    token: reporter.token,
    body: { subject_type: 'video', subject_id: id, category: 'intellectual_property', note: 'my film, uploaded without leave' },
    expect: 201,
  });
  const theCase = (await queue()).find((c) => c.subject_type === 'video' && c.subject_id === id);
  assert.ok(theCase, 'the case of the reported clip');
  await server.api.call('POST', '/moderation/actions', {
    token: moderator.token,
    body: { subject_type: 'video', subject_id: Number(id), action: 'remove', ground: 'illegal', rule_or_law: 'Copyright Act §106', facts: 'The rights holder showed the original.' },
    expect: 201,
  });

  const mod = await openPage(browser, server.url, { session: moderator });
  await mod.page.goto(`/#/moderation/${theCase.id}`);
  await mod.page.waitForSelector('.case-blocklist');
  const listed = mod.page.waitForResponse((r) => r.url().endsWith('/api/v1/moderation/media-blocklist'));
  await mod.page.click('.case-blocklist button:has-text("Refuse copies of this clip")');
  assert.equal((await listed).status(), 201);
  await mod.page.waitForSelector('.blocklist-result >> text=/Listed as known-bad media \\(\\d+ frames\\)/');
  assert.deepEqual(mod.errors, []);
  await mod.context.close();

  const copy = await server.api.uploadRaw(reporter.token, clip, 'reposting this');
  assert.equal(copy.status, 422);
  assert.equal(copy.data.code, 'blocked_media');
});
