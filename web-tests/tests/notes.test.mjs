// Context notes in the web app: a note raters from both sides found
// helpful shows on the clip with its source, the notes sheet rates it, and
// a reader with a watch history writes a new one from the ⋯ sheet.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, openPage, eventually } from '../lib/harness.mjs';

const GENEROUS = `
[rate_limits]
login = { burst = 1000, per_secs = 1 }
note = { burst = 1000, per_secs = 1 }
note_rating = { burst = 1000, per_secs = 1 }
`;
const PASSWORD = 'flick-synthetic';

let server;
let browser;
const clips = [];

before(async () => {
  server = await startServer({ config: GENEROUS, synthetic: ['--videos', '80', '--users', '30', '--events-per-user', '20'] });
  browser = await launchBrowser();
  // Synthetic creators are the first tenth of the users (s1–s3 here);
  // the notes' authors and readers are others.
  const authors = ['s4', 's5', 's6'];
  // Synthetic ids are random: found through their creators' profiles.
  for (let i = 1; clips.length < 5 && i <= 3; i += 1) {
    const res = await fetch(`${server.url}/api/v1/users/s${i}/videos`);
    if (res.status !== 200) continue;
    for (const v of (await res.json()).items) if (clips.length < 5) clips.push(v.id);
  }
  assert.equal(clips.length, 5);
  const [a1, a2, a3] = await Promise.all(authors.map((a) => server.api.login(a, PASSWORD)));
  const write = async (author, clip, text) => (await server.api.call('POST', `/videos/${clip}/notes`, {
    token: author.token,
    body: { text, source_url: `https://example.org/${clip}/${author.handle}` },
    expect: 201,
  })).data.id;
  // Six partisan notes two sides disagree on, and one both find helpful.
  const partisan = [];
  for (const author of [a1, a2]) {
    for (const clip of clips.slice(1, 4)) partisan.push(await write(author, clip, `One side's reading of clip ${clip}.`));
  }
  const shared = await write(a3, clips[0], 'The footage is from 2019, not from this week’s storm.');
  const raters = [];
  for (let i = 10; i < 22; i += 1) raters.push({ side: i < 16 ? 0 : 1, ...(await server.api.login(`s${i}`, PASSWORD)) });
  for (const r of raters) {
    for (const [k, note] of partisan.entries()) {
      await server.api.call('POST', `/notes/${note}/ratings`, { token: r.token, body: { helpful: (k % 2 === 0) === (r.side === 0) } });
    }
    await server.api.call('POST', `/notes/${shared}/ratings`, { token: r.token, body: { helpful: true } });
  }
  await eventually(async () => (await server.api.video(clips[0])).context_note?.id === shared,
    { message: 'the shared note to be scored helpful and shown' });
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test('a note both sides found helpful shows on the clip and is rated from the notes sheet', { timeout: 90_000 }, async () => {
  const reader = await server.api.login('s25', PASSWORD);
  const { page, errors, context } = await openPage(browser, server.url, { session: reader });
  await page.goto(`/#/v/${clips[0]}`);
  const box = '.clip[data-active="true"] .context-note';
  await page.waitForSelector(box);
  assert.match(await page.textContent(box), /Readers added context/);
  assert.match(await page.textContent(box), /from 2019/);
  assert.equal(await page.getAttribute(`${box} a.note-source`, 'href'), `https://example.org/${clips[0]}/s6`);
  assert.equal(await page.textContent(`${box} a.note-source`), 'example.org');

  await page.click(`${box} button:has-text("Rate it")`);
  const helpfulCard = 'dialog[open] .note-card[data-status="helpful"]';
  await page.waitForSelector(helpfulCard);
  // After the rating the sheet reloads, and the scorer (every second) may
  // have counted it by then and moved the note's status: find the card by
  // its note, not by its status.
  const noteId = await page.getAttribute(helpfulCard, 'data-note-id');
  const card = `dialog[open] .note-card[data-note-id="${noteId}"]`;
  const rated = page.waitForResponse((r) => /\/api\/v1\/notes\/\d+\/ratings$/.test(r.url()));
  await page.click(`${card} button:has-text("Not helpful")`);
  assert.equal((await rated).status(), 200);
  await page.waitForSelector(`${card} button[data-helpful="false"][aria-pressed="true"]`);
  assert.deepEqual(errors, []);
  await context.close();
});

test('a reader with a watch history writes a note from the ⋯ sheet; a newcomer is told why not', { timeout: 90_000 }, async () => {
  const writer = await server.api.login('s7', PASSWORD);
  const { page, errors, context } = await openPage(browser, server.url, { session: writer });
  await page.goto(`/#/v/${clips[4]}`);
  await page.waitForSelector('.clip[data-active="true"] video');
  await page.click('.clip[data-active="true"] .more-btn');
  await page.click('dialog[open] .menu-item:has-text("Context notes")');
  await page.waitForSelector('dialog[open] .note-form');
  await page.fill('dialog[open] textarea[name="text"]', 'The voice-over is dubbed; the original says otherwise.');
  await page.fill('dialog[open] input[name="source_url"]', 'https://example.org/original');
  const sent = page.waitForResponse((r) => r.url().endsWith(`/api/v1/videos/${clips[4]}/notes`) && r.request().method() === 'POST');
  await page.click('dialog[open] button:has-text("Add note")');
  assert.equal((await sent).status(), 201);
  await page.waitForSelector('dialog[open] .note-card[data-status="needs_more_ratings"] >> text=Your note: others rate it.');
  assert.equal(await page.$('dialog[open] .note-form'), null);
  assert.deepEqual(errors, []);
  await context.close();

  const newcomer = await server.api.signup('nina_new');
  const fresh = await openPage(browser, server.url, { session: newcomer });
  await fresh.page.goto(`/#/v/${clips[4]}`);
  await fresh.page.waitForSelector('.clip[data-active="true"] video');
  await fresh.page.click('.clip[data-active="true"] .more-btn');
  await fresh.page.click('dialog[open] .menu-item:has-text("Context notes")');
  await fresh.page.waitForSelector('dialog[open] .note-why-not');
  assert.match(await fresh.page.textContent('dialog[open] .note-why-not'), /watch at least 5 clips/);
  assert.deepEqual(fresh.errors, []);
  await fresh.context.close();
});
