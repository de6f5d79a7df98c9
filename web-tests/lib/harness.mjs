// Test harness: starts the real Flick server on a free port with a fresh data
// directory, talks to its API for setup, makes test clips with ffmpeg and
// launches Debian's Chromium through playwright-core.

import { execFileSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
export const REPO = path.resolve(here, '..', '..');
export const ARTIFACTS = path.join(REPO, 'test-artifacts');
export const PASSWORD = 'correct-horse-battery';

const READY_TIMEOUT_MS = 30_000;

/**
 * Starts `FLICK_BIN serve --listen 127.0.0.1:0 --data-dir TMP` and waits for
 * its `listening on http://…` line. Returns {url, api, stop}.
 */
export async function startServer({ config, synthetic } = {}) {
  const bin = process.env.FLICK_BIN || path.join(REPO, 'target', 'debug', 'flick');
  if (!fs.existsSync(bin)) throw new Error(`Flick server binary not found at ${bin} (set FLICK_BIN)`);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'flick-webtest-'));
  if (synthetic) {
    // `flick seed --synthetic` first: users s1… (password
    // flick-synthetic) with a watch history, and clips that play.
    const seeded = spawnSync(bin, ['seed', '--synthetic', '--data-dir', dataDir, ...synthetic], { encoding: 'utf8' });
    if (seeded.status !== 0) throw new Error(`flick seed --synthetic failed:\n${seeded.stderr}`);
  }
  const args = ['serve', '--listen', '127.0.0.1:0', '--data-dir', dataDir];
  if (config) {
    // Beside the data dir, so `stop` removes it with the rest.
    const file = path.join(dataDir, 'flick.toml');
    fs.writeFileSync(file, config);
    args.unshift('--config', file);
  }
  const child = spawn(bin, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, RUST_BACKTRACE: '1' },
  });
  let stderr = '';
  let stdout = '';
  child.stderr.on('data', (d) => {
    stderr += d;
    if (stderr.length > 200_000) stderr = stderr.slice(-100_000);
  });

  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`server did not print "listening on" within ${READY_TIMEOUT_MS / 1000}s\nstdout:\n${stdout}\nstderr:\n${stderr}`));
    }, READY_TIMEOUT_MS);
    child.stdout.on('data', (d) => {
      stdout += d;
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(stdout);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`server exited early (code ${code}, signal ${signal})\nstdout:\n${stdout}\nstderr:\n${stderr}`));
    });
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
  child.removeAllListeners('exit');
  child.stdout.resume();

  async function stop() {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    }
    fs.rmSync(dataDir, { recursive: true, force: true });
  }

  /** Grants a role through the operator CLI, on the live data dir. */
  function setRole(handle, role) {
    const cli = ['admin', 'set-role', '--data-dir', dataDir, '--handle', handle, '--role', role];
    if (config) cli.unshift('--config', path.join(dataDir, 'flick.toml'));
    execFileSync(bin, cli, { stdio: ['ignore', 'ignore', 'pipe'] });
  }

  return { url, api: new Api(url), stop, stderr: () => stderr, dataDir, setRole };
}

/** A thin client of the HTTP API for test setup and checks. */
export class Api {
  constructor(base) {
    this.base = base;
  }

  async call(method, p, { token, body, form, expect } = {}) {
    const headers = {};
    if (token) headers.authorization = `Bearer ${token}`;
    let payload;
    if (form) payload = form;
    else if (body !== undefined) {
      headers['content-type'] = 'application/json';
      payload = JSON.stringify(body);
    }
    const res = await fetch(this.base + '/api/v1' + p, { method, headers, body: payload });
    const text = await res.text();
    let data = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch {
      data = text;
    }
    if (expect !== undefined ? res.status !== expect : !res.ok) {
      throw new Error(`${method} ${p} → ${res.status} ${text.slice(0, 500)}`);
    }
    return { status: res.status, data };
  }

  async signup(handle, password = PASSWORD) {
    await this.call('POST', '/accounts', { body: { handle, password }, expect: 201 });
    return this.login(handle, password);
  }

  async login(handle, password = PASSWORD) {
    const { data } = await this.call('POST', '/sessions', { body: { handle, password } });
    return { token: data.token, user: data.user, handle };
  }

  async follow(token, handle) {
    return (await this.call('PUT', `/users/${encodeURIComponent(handle)}/follow`, { token })).data;
  }

  async video(id, token) {
    return (await this.call('GET', `/videos/${id}`, { token })).data;
  }

  /** Raw upload; returns {status, data} without throwing. */
  async uploadRaw(token, filePath, caption = '', { name, type = 'video/mp4' } = {}) {
    const form = new FormData();
    form.append('caption', caption);
    form.append('file', new Blob([fs.readFileSync(filePath)], { type }), name || path.basename(filePath));
    const res = await fetch(this.base + '/api/v1/videos', { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: form });
    const text = await res.text();
    let data = null;
    try {
      data = JSON.parse(text);
    } catch {
      data = text;
    }
    return { status: res.status, data };
  }

  async upload(token, filePath, caption = '') {
    const r = await this.uploadRaw(token, filePath, caption);
    if (r.status !== 202) throw new Error(`upload → ${r.status} ${JSON.stringify(r.data)}`);
    return r.data.id;
  }

  async waitReady(id, token, timeoutMs = 60_000) {
    const end = Date.now() + timeoutMs;
    let v;
    while (Date.now() < end) {
      v = await this.video(id, token);
      if (v.status === 'ready') return v;
      if (v.status === 'failed') throw new Error(`video ${id} failed: ${v.failure_reason}`);
      await sleep(400);
    }
    throw new Error(`video ${id} not ready after ${timeoutMs} ms (status ${v && v.status})`);
  }
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls `fn` until it returns a truthy value. */
export async function eventually(fn, { timeout = 10_000, interval = 250, message = 'condition' } = {}) {
  const end = Date.now() + timeout;
  let last;
  let lastErr;
  while (Date.now() < end) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      lastErr = e;
    }
    await sleep(interval);
  }
  throw new Error(`timed out waiting for ${message}${lastErr ? `: ${lastErr.message}` : ''}${last !== undefined ? ` (last: ${JSON.stringify(last)})` : ''}`);
}

let clipSeq = 0;

/** A short H.264/AAC clip made by ffmpeg (never committed). */
export function makeClip(dir, { seconds = 3, freq = 440 + 110 * clipSeq, pattern = 'testsrc2' } = {}) {
  clipSeq += 1;
  const out = path.join(dir, `clip-${clipSeq}.mp4`);
  const r = spawnSync('ffmpeg', [
    '-loglevel', 'error', '-y',
    '-f', 'lavfi', '-i', `${pattern}=size=360x640:rate=30:duration=${seconds}`,
    '-f', 'lavfi', '-i', `sine=frequency=${freq}:duration=${seconds}`,
    '-c:v', 'libx264', '-preset', 'veryfast', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-shortest', out,
  ], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ffmpeg failed: ${r.stderr}`);
  return out;
}

export function tmpDir(prefix = 'flick-webtest-media-') {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export async function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--autoplay-policy=no-user-gesture-required'],
  });
}

/**
 * A page in a fresh context (a phone-sized viewport), optionally already
 * logged in. `errors` collects console errors and uncaught page errors.
 */
export async function openPage(browser, baseUrl, { session, viewport = { width: 412, height: 860 } } = {}) {
  const context = await browser.newContext({ viewport, deviceScaleFactor: 1, baseURL: baseUrl });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: baseUrl }).catch(() => {});
  if (session) {
    // As a login through the app leaves it: the session in an HttpOnly
    // cookie, only who is logged in in localStorage.
    await context.addCookies([{ name: 'flick_session', value: session.token, url: baseUrl, httpOnly: true, sameSite: 'Strict' }]);
    await context.addInitScript((user) => {
      if (!sessionStorage.getItem('flick.test.init')) {
        localStorage.setItem('flick.user', JSON.stringify(user));
        sessionStorage.setItem('flick.test.init', '1');
      }
    }, { id: session.user.id, handle: session.user.handle });
  }
  const page = await context.newPage();
  const errors = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error') errors.push(`console: ${msg.text()} @ ${JSON.stringify(msg.location())}`);
  });
  page.on('pageerror', (err) => errors.push(`pageerror: ${err.stack || err.message}`));
  return { context, page, errors };
}

/** The session token the app's login left in its HttpOnly cookie. */
export async function sessionCookie(context) {
  const cookie = (await context.cookies()).find((c) => c.name === 'flick_session');
  return cookie ? cookie.value : null;
}

/** The data-video-id of the clip that is playing now. */
export async function activeClipId(page) {
  return page.evaluate(() => {
    const el = document.querySelector('.clip[data-active="true"]');
    return el ? el.dataset.videoId : null;
  });
}

export function ensureArtifacts() {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  return ARTIFACTS;
}
