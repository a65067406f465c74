// web_ui.mjs - browser tests of the web page (web/): Debian's chromium, driven by playwright-core,
// against real `vas serve` processes (the demo model, the real test clip, real workers).
//
// Run by tests/web/web_ui.sh (make test copies it to BUILD/tests/web_ui), which checks that node,
// chromium and playwright-core are there and skips, saying why, when one is missing. Environment:
//   VAS_BIN          the server binary (tests/run-tests sets it)
//   VAS_CHROMIUM     the browser (default /usr/bin/chromium)
//   VAS_TEST_OUTPUT  screenshots go to $VAS_TEST_OUTPUT/web/ (default BUILD/test-output/web/)
//   VAS_WEB_README   a folder: also writes the README's two screenshots there (web-page.png,
//                    web-view.png, 1280x800; docs/img/ has them reduced to 256 colours)
//   VAS_WEB_TESTS    only the tests whose names contain one of these words (space separated)
// Prints cmocka-style lines ([ RUN ], [ OK ], [ FAILED ], the summary) for tests/run-tests.

import { chromium } from 'playwright-core';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..');
const vasBin = path.resolve(process.env.VAS_BIN || path.join(root, 'build/test/vas'));
const browserBin = process.env.VAS_CHROMIUM || '/usr/bin/chromium';
const outDir = path.join(process.env.VAS_TEST_OUTPUT || path.join(path.dirname(vasBin), 'test-output'), 'web');
const readmeDir = process.env.VAS_WEB_README || '';
const clip = path.join(root, 'tests/fixtures/openfield/m3v1_clip.mp4');
const CLIP_FRAMES = 367;
const only = (process.env.VAS_WEB_TESTS || '').split(/\s+/).filter(Boolean);

// ---- small helpers ----

class TestFailure extends Error {}

function check(cond, message) {
  if (!cond) throw new TestFailure(message);
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Polls fn() (async) until it returns a truthy value; fails naming `what` after ms.
async function waitFor(what, fn, ms = 20000, every = 100) {
  const end = Date.now() + ms;
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (err) {
      last = err.message;
    }
    if (Date.now() > end) throw new TestFailure(`timed out after ${ms} ms waiting for ${what} (last: ${JSON.stringify(last)})`);
    await sleep(every);
  }
}

// ---- servers ----

const tmpRoot = mkdtempSync(path.join(tmpdir(), 'vas-web-ui-'));
const servers = [];

// A real `vas serve` on a free loopback port, with its own data folder and database.
async function startServer(name, extra = []) {
  const dir = path.join(tmpRoot, name);
  mkdirSync(dir, { recursive: true });
  const portFile = path.join(dir, 'port');
  const log = path.join(dir, 'server.log');
  const args = ['serve', '--port', '0', '--port-file', portFile, '--data', path.join(dir, 'data'), '--db', path.join(dir, 'vas.db'),
    '--models', path.join(root, 'models'), '--workers', '1', ...extra];
  const out = [];
  const proc = spawn(vasBin, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  proc.stdout.on('data', (b) => out.push(b));
  proc.stderr.on('data', (b) => out.push(b));
  const s = { name, dir, proc, log: () => Buffer.concat(out).toString(), url: '' };
  servers.push(s);
  const port = await waitFor(`${name} server's port file`, () => {
    if (proc.exitCode !== null) throw new Error(`vas serve exited with ${proc.exitCode}: ${s.log()}`);
    return existsSync(portFile) && readFileSync(portFile, 'utf8').trim();
  }, 15000, 50);
  s.url = `http://127.0.0.1:${port}`;
  s.logFile = log;
  return s;
}

async function stopServers() {
  for (const s of servers) {
    if (s.proc.exitCode === null) {
      s.proc.kill('SIGTERM');
      await Promise.race([new Promise((r) => s.proc.once('exit', r)), sleep(5000)]);
      if (s.proc.exitCode === null) s.proc.kill('SIGKILL');
    }
    writeFileSync(path.join(outDir, `${s.name}-server.log`), s.log());
  }
}

// GET path on server s as a plain API client (not the page), with its token if any.
async function apiGet(s, p, token) {
  const res = await fetch(s.url + p, { headers: token ? { Authorization: `Bearer ${token}` } : {} });
  return { status: res.status, body: await res.json().catch(() => null) };
}

// Uploads the test clip through the API (for tests that need it on the server, when run alone).
async function ensureClip(s) {
  const form = new FormData();
  form.append('file', new Blob([readFileSync(clip)], { type: 'video/mp4' }), 'm3v1_clip.mp4');
  const res = await fetch(`${s.url}/file`, { method: 'POST', body: form });
  check(res.status === 202, `uploading the clip through the API: ${res.status}`);
}

// ---- pages ----

let browser;
let shotNo = 0;

// A page in a fresh context, 1280x800, that records console errors, page errors and requests.
// allow(msg) says which console errors are expected (the browser logs every 4xx/5xx response).
async function openPage(allow = () => false, viewport = { width: 1280, height: 800 }) {
  const context = await browser.newContext({ viewport, acceptDownloads: true });
  const page = await context.newPage();
  page.problems = [];
  page.requests = [];
  page.on('console', (m) => {
    if (m.type() === 'error' && !allow(m)) page.problems.push(`console error: ${m.text()} (${m.location().url})`);
  });
  page.on('pageerror', (e) => page.problems.push(`page error: ${e.message}`));
  page.on('request', (r) => page.requests.push(r.url()));
  return page;
}

// The failed loads every test expects: HEAD /file/<sha1> answers 404 when the file is new (the
// upload checks), and a failed analysis's poll answers 500.
function expectedLoadError(m) {
  const t = m.text();
  const u = m.location().url || '';
  if (!t.startsWith('Failed to load resource: the server responded with a status of')) return false;
  if (/ 404 /.test(t) && /\/file\/[0-9a-f]{40}$/.test(u)) return true;
  if (/ 500 /.test(t) && /\/analysis\/[0-9a-f-]{36}$/.test(u)) return true;
  return false;
}

async function shot(page, name) {
  shotNo++;
  await page.screenshot({ path: path.join(outDir, `${String(shotNo).padStart(2, '0')}-${name}.png`), fullPage: true });
}

async function closePage(page) {
  const problems = page.problems;
  await page.context().close();
  check(problems.length === 0, `the browser reported:\n  ${problems.join('\n  ')}`);
}

// Picks files in the "Video file" control (by its visible label) and waits until each row says
// it is uploaded or already there. Returns the rows' texts.
async function pickFiles(page, files, expect = /Uploaded|Already on the server/) {
  await page.getByLabel('Video file', { exact: true }).setInputFiles(files);
  const rows = page.locator('#inputs .upload');
  await waitFor(`${files.length} upload row(s) to finish`, async () => {
    const texts = await rows.locator('.text').allTextContents();
    return texts.length >= files.length && texts.slice(-files.length).every((t) => expect.test(t)) && texts;
  }, 30000);
  return rows.locator('.text').allTextContents();
}

// Chooses analysis and model by their labels, fills arguments {label: value}, presses Start, and
// returns the new analysis id from the "Started ..." message.
async function startAnalysis(page, analysis, model, args = {}) {
  await page.getByLabel('Analysis', { exact: true }).selectOption(analysis);
  if (model) await page.getByLabel('Model', { exact: true }).selectOption(model);
  for (const [label, value] of Object.entries(args)) await page.getByLabel(label).fill(String(value));
  await page.getByRole('button', { name: 'Start', exact: true }).click();
  const msg = page.locator('#start-message');
  const href = await waitFor('the Started message', async () => {
    const t = await msg.textContent();
    if (/^(?!Started)./.test(t) && !/Waiting/.test(t)) throw new Error(`the page said: ${t}`);
    return t.startsWith('Started') && msg.locator('a').getAttribute('href');
  }, 30000);
  const id = href.replace('/view/', '');
  check(/^[0-9a-f-]{36}$/.test(id), `the message links to ${href}`);
  return id;
}

const jobRow = (page, id) => page.locator(`#jobs li[data-id="${id}"]`);

async function waitState(page, id, state, ms = 60000) {
  const row = jobRow(page, id);
  return waitFor(`analysis ${id} to show ${state}`, async () => (await row.getAttribute('data-state', { timeout: 1000 })) === state, ms);
}

// The checks on a finished `label` analysis's /view/ page: the video decodes and seeks, the four
// plots load, and every output has a download link that works without any header.
async function checkLabelView(page) {
  const videoLoads = [];
  page.on('response', (r) => {
    if (r.request().resourceType() === 'media') videoLoads.push(r.status());
  });
  await page.locator('#view-badge[data-state="SUCCESS"]').waitFor({ timeout: 20000 });
  await waitFor('the title naming the analysis and its video', async () => (await page.locator('#view-title').textContent()) === 'label of m3v1_clip.mp4', 10000);
  await page.waitForFunction(() => {
    const v = document.querySelector('#media video');
    return v && v.readyState >= 2;
  }, null, { timeout: 20000 });
  const plots = await page.waitForFunction(() => {
    const imgs = [...document.querySelectorAll('#plots img')];
    return imgs.length === 4 && imgs.every((i) => i.complete && i.naturalWidth > 0) && imgs.map((i) => i.naturalWidth);
  }, null, { timeout: 20000 });
  check((await plots.jsonValue()).every((w) => w > 100), 'the plots have a real width');
  // Seeking: the browser asks for the part of the file it needs (Range -> 206).
  const seek = await page.evaluate(async () => {
    const v = document.querySelector('#media video');
    const done = new Promise((resolve, reject) => {
      v.addEventListener('seeked', resolve, { once: true });
      setTimeout(() => reject(new Error('no seeked event in 10 s')), 10000);
    });
    v.currentTime = 9;
    await done;
    return { t: v.currentTime, ready: v.readyState, duration: v.duration, width: v.videoWidth };
  });
  check(Math.abs(seek.t - 9) < 0.1 && seek.ready >= 2, `the video seeked to ${seek.t} (readyState ${seek.ready})`);
  check(seek.duration > 12 && seek.duration < 12.5 && seek.width === 640, `the video is ${seek.duration} s, ${seek.width} px wide`);
  check(videoLoads.includes(206), `the video was loaded with Range requests (statuses ${videoLoads.join(', ')})`);
  // Downloads: a link per output, each working without the Authorization header.
  const links = await page.locator('#downloads a').evaluateAll((as) => as.map((a) => ({ href: a.getAttribute('href'), name: a.getAttribute('download') })));
  const names = links.map((l) => l.name).join(' ');
  for (const ext of ['.csv', '.h5', '.json', '_labeled.mp4', '_trajectory.png', '_plot-likelihood.png', '_hist.png', '_plot.png'])
    check(links.some((l) => l.name.endsWith(ext)), `a download ending ${ext} (have: ${names})`);
  check(links.length === 8, `8 downloads (have: ${names})`);
  const heads = await page.evaluate(async (hrefs) => Promise.all(hrefs.map(async (h) => (await fetch(h, { method: 'HEAD' })).status)), links.map((l) => l.href));
  check(heads.every((s) => s === 200), `every download answers 200 (got ${heads.join(', ')})`);
  // The person's way to the CSV: click its link, get the file.
  const csvLink = page.locator('#downloads a[download$=".csv"]');
  const [download] = await Promise.all([page.waitForEvent('download'), csvLink.click()]);
  const file = path.join(tmpRoot, 'download.csv');
  await download.saveAs(file);
  const csv = readFileSync(file, 'utf8');
  check(download.suggestedFilename().endsWith('.csv') && csv.startsWith('scorer,'), `the CSV download (${download.suggestedFilename()}): ${csv.slice(0, 40)}`);
  check(csv.trim().split('\n').length === 3 + CLIP_FRAMES, `the CSV has ${CLIP_FRAMES} frames`);
}

// ---- the tests ----

const shared = {}; // what one test leaves for the next: the server, the label analysis id

async function label_from_page() {
  const s = shared.a;
  const page = await openPage(expectedLoadError);
  await page.goto(s.url + '/');
  await page.getByLabel('Analysis', { exact: true }).locator('option[value="label"]').waitFor({ state: 'attached' });
  await shot(page, 'home-empty');
  const texts = await pickFiles(page, [clip]);
  check(/Uploaded/.test(texts[0]), `the upload row says "${texts[0]}"`);
  const id = await startAnalysis(page, 'label', 'openfield');
  shared.labelId = id;

  // Progress while it runs: "n of 367 frames · r frames/s · t left", n strictly between 0 and 367.
  const row = jobRow(page, id);
  const seen = new Set();
  let midShot = false;
  await waitFor('the label job to finish', async () => {
    const state = await row.getAttribute('data-state', { timeout: 1000 }).catch(() => null);
    const text = await row.locator('.progress-text').textContent({ timeout: 1000 }).catch(() => '');
    if (state === 'STARTED' && text) seen.add(text);
    if (!midShot && /frames\/s/.test(text)) {
      midShot = true;
      await shot(page, 'label-progress');
    }
    if (state === 'FAILURE') throw new TestFailure('the label analysis failed');
    return state === 'SUCCESS';
  }, 240000, 150);
  const mid = [...seen].filter((t) => {
    const m = /^(\d+) of (\d+) frames · [\d.]+ frames\/s · .+ left$/.exec(t);
    return m && +m[1] > 0 && +m[1] < CLIP_FRAMES && +m[2] === CLIP_FRAMES;
  });
  check(mid.length >= 1, `progress with frames/s and time left was shown during the job (saw: ${[...seen].join(' | ')})`);
  check(await row.locator('.badge').textContent() === 'Done', 'the row says Done');
  await shot(page, 'label-done');

  // The same file again: the page finds it by its SHA-1 and does not send it.
  const again = await pickFiles(page, [clip]);
  check(/Already on the server/.test(again[again.length - 1]), `the second pick says "${again[again.length - 1]}"`);
  if (readmeDir) {
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: path.join(readmeDir, 'web-page.png') });
  }

  // Its results page, from the list.
  await row.getByRole('link', { name: 'Results' }).click();
  await page.waitForURL(`**/view/${id}`);
  await checkLabelView(page);
  await shot(page, 'label-view');
  if (readmeDir) {
    await page.evaluate(async () => {
      const v = document.querySelector('#media video');
      const seeked = new Promise((resolve) => v.addEventListener('seeked', resolve, { once: true }));
      v.currentTime = 4;
      await seeked;
      window.scrollTo(0, 0);
    });
    await page.waitForFunction(() => document.querySelector('#media video').readyState >= 3);
    await page.waitForTimeout(500);
    await page.screenshot({ path: path.join(readmeDir, 'web-view.png') });
  }
  await closePage(page);

  // The page's address, opened in a fresh browser context (as a shared link would be).
  const fresh = await openPage(expectedLoadError);
  await fresh.goto(`${s.url}/view/${id}`);
  await checkLabelView(fresh);
  await shot(fresh, 'label-view-reopened');
  await closePage(fresh);
}

async function cancel_running_job() {
  const s = shared.a;
  await ensureClip(s);
  const page = await openPage(expectedLoadError);
  await page.goto(s.url + '/');
  // A file already on the server, chosen from the files list.
  const fileRow = page.locator('#files li', { hasText: 'm3v1_clip.mp4' }).first();
  await fileRow.getByRole('button', { name: /^Analyse/ }).click();
  await page.locator('#inputs .upload', { hasText: 'On the server' }).waitFor();
  const id = await startAnalysis(page, 'sleep', null, { 'time (required)': 30 });
  const row = jobRow(page, id);
  await waitFor('the sleep job to run and show progress', async () => /^\d+ of 30 s/.test(await row.locator('.progress-text').textContent()), 20000);
  await shot(page, 'sleep-running');
  // Its own page, open beside the list, shows the same job running and follows it.
  const view = await openPage(expectedLoadError);
  await view.goto(`${s.url}/view/${id}`);
  await waitFor('the running job on its page', async () => /^\d+ of 30 s/.test(await view.locator('#view-progress-text').textContent()), 10000);
  check(await view.locator('#view-cancel').isVisible(), 'its page offers Cancel');
  const t0 = Date.now();
  await row.getByRole('button', { name: /^Cancel/ }).click();
  await waitState(page, id, 'REVOKED', 10000);
  await view.locator('#view-badge[data-state="REVOKED"]').waitFor({ timeout: 10000 });
  check(/cancelled/.test(await view.locator('#view-message').textContent()), 'its page says it was cancelled');
  await shot(view, 'sleep-cancelled-view');
  await closePage(view);
  check(Date.now() - t0 < 10000, 'cancelled within 10 s');
  check(await row.locator('.badge').textContent() === 'Cancelled', 'the row says Cancelled');
  const api = await apiGet(s, `/analysis/${id}`);
  check(api.status === 200 && api.body.state === 'REVOKED', `the API says ${JSON.stringify(api.body)}`);
  await shot(page, 'sleep-cancelled');
  await closePage(page);
}

async function failed_analysis() {
  const s = shared.a;
  const notes = path.join(tmpRoot, 'notes.txt');
  writeFileSync(notes, 'These are notes, not a video.\n');
  const page = await openPage(expectedLoadError);
  await page.goto(s.url + '/');
  await page.getByLabel('Analysis', { exact: true }).locator('option[value="video"]').waitFor({ state: 'attached' });
  await pickFiles(page, [notes]);
  const id = await startAnalysis(page, 'video', 'openfield');
  await waitState(page, id, 'FAILURE', 30000);
  const api = await apiGet(s, `/analysis/${id}`);
  check(api.status === 500 && api.body.description, `the API answers ${api.status} ${JSON.stringify(api.body)}`);
  const row = jobRow(page, id);
  await waitFor('the description in the list', async () => (await row.locator('.row-error').textContent()) === api.body.description, 10000);
  await shot(page, 'failed-list');
  await row.getByRole('link', { name: 'Details' }).click();
  await page.waitForURL(`**/view/${id}`);
  const box = page.locator('#view-failure');
  await box.waitFor({ state: 'visible' });
  const text = await box.textContent();
  check(text.includes(api.body.description), `the page says "${text}", the API "${api.body.description}"`);
  await shot(page, 'failed-view');
  await closePage(page);
}

async function token_flow() {
  const token = `web-ui-${Math.random().toString(36).slice(2)}-token`;
  const s = await startServer('token', ['--token', token]);
  // Expected: the 401s before the token is given (and after a wrong one).
  const page = await openPage((m) => expectedLoadError(m) || / 401 /.test(m.text()));
  await page.goto(s.url + '/');
  const field = page.getByLabel('Access token');
  await field.waitFor();
  check(await page.locator('#home').isHidden(), 'the page hides its content until the token is given');
  await shot(page, 'token-asked');
  await field.fill('not-the-token');
  await page.getByRole('button', { name: 'Continue' }).click();
  await waitFor('the wrong-token message', async () => /not accepted/.test(await page.locator('#token-message').textContent()), 10000);
  await shot(page, 'token-refused');
  await field.fill(token);
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.getByLabel('Analysis', { exact: true }).locator('option[value="sleep"]').waitFor({ state: 'attached' });
  check(await page.evaluate(() => sessionStorage.getItem('vas.token')) === token, 'the token is kept in sessionStorage');

  // The API works with it: upload, run, see the result and download it through a signed link.
  const small = path.join(tmpRoot, 'small.txt');
  writeFileSync(small, 'a small file for the token test\n');
  await pickFiles(page, [small]);
  const id = await startAnalysis(page, 'sleep', null, { 'time (required)': 0.2 });
  await waitState(page, id, 'SUCCESS', 20000);

  // Reloaded, the page does not ask again (same tab: sessionStorage).
  await page.reload();
  await page.getByLabel('Analysis', { exact: true }).locator('option[value="sleep"]').waitFor({ state: 'attached' });
  check(await page.getByLabel('Access token').isHidden(), 'the token is not asked for again after a reload');
  await jobRow(page, id).getByRole('link', { name: 'Results' }).click();
  await page.waitForURL(`**/view/${id}`);
  const link = page.locator('#downloads a[download="sleep.csv"]');
  await link.waitFor();
  const href = await link.getAttribute('href');
  check(/^\/file\/[0-9a-f]{40}\?expires=\d+&signature=[0-9a-f]+$/.test(href), `the download link is signed: ${href}`);
  await shot(page, 'token-view');

  // The signed link works with no header at all (another client); the API without the token not.
  const plain = await fetch(s.url + href);
  check(plain.status === 200 && (await plain.text()).startsWith('sleep,0.2'), `the signed link answers ${plain.status}`);
  check((await apiGet(s, '/file')).status === 401, 'the API still needs the token');

  // Never in a URL, never in the server's log.
  const leaked = page.requests.filter((u) => u.includes(token));
  check(page.requests.length > 10 && leaked.length === 0, `the token appears in requested URLs: ${leaked.join(' ')}`);
  await closePage(page);
  check(!s.log().includes(token), "the token appears in the server's log");
}

// A large upload on a slow link (Chromium's network emulation): bytes sent, MB/s and time left
// while it runs; Cancel stops it and the server keeps nothing; sent again, the page hashes it
// while uploading, finds it on the server and stops sending.
async function upload_progress_cancel_duplicate() {
  const s = shared.a;
  const big = path.join(tmpRoot, 'big-recording.bin');
  const bytes = Buffer.alloc(24 << 20);
  for (let i = 0; i < bytes.length; i += 4) bytes.writeUInt32LE((Math.imul(i, 2654435761) ^ (i >>> 7)) >>> 0, i);
  writeFileSync(big, bytes);
  const sha = createHash('sha1').update(bytes).digest('hex');
  const page = await openPage(expectedLoadError);
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: 4e6 });
  await page.goto(s.url + '/');
  await page.getByLabel('Analysis', { exact: true }).locator('option[value="label"]').waitFor({ state: 'attached' });
  const input = page.getByLabel('Video file', { exact: true });
  const row = page.locator('#inputs .upload').last();

  await input.setInputFiles([big]);
  await waitFor('upload progress with MB/s and time left', async () => {
    const t = await row.locator('.text').textContent();
    return /^[\d.]+ [KM]B of 25 MB · [\d.]+ MB\/s · .+ left$/.test(t);
  }, 20000);
  await shot(page, 'upload-progress');
  await row.getByRole('button', { name: /^Cancel the upload/ }).click();
  check(await page.locator('#inputs .upload').count() === 0, 'the cancelled upload leaves the list');
  await sleep(500);
  check((await apiGet(s, `/file/${sha}`)).status === 404, 'the server keeps nothing of a cancelled upload');

  await input.setInputFiles([big]);
  await waitFor('the upload to finish', async () => /^Uploaded/.test(await row.locator('.text').textContent()), 60000);
  check((await apiGet(s, '/file?limit=5')).body.some((f) => f.file_id === sha && f.filename === 'big-recording.bin'), 'the server has the file');

  const t0 = Date.now();
  await input.setInputFiles([big]);
  const second = page.locator('#inputs .upload').last();
  await waitFor('"already on the server"', async () => /^Already on the server/.test(await second.locator('.text').textContent()), 20000);
  check(Date.now() - t0 < 4000, `found by its SHA-1 in ${Date.now() - t0} ms, before the upload could finish`);
  await closePage(page);
}

// The form by keyboard alone: Tab reaches the controls in order; Start with nothing chosen says
// what is missing in a sentence and puts the focus there.
async function keyboard_and_errors() {
  const s = shared.a;
  await ensureClip(s);
  const page = await openPage(expectedLoadError);
  await page.goto(s.url + '/');
  await page.getByLabel('Analysis', { exact: true }).locator('option[value="label"]').waitFor({ state: 'attached' });
  const order = [];
  for (let i = 0; i < 12 && !order.includes('start'); i++) {
    await page.keyboard.press('Tab');
    order.push(await page.evaluate(() => document.activeElement.id || document.activeElement.tagName));
  }
  const at = (id) => order.indexOf(id);
  check(at('file-input') >= 0 && at('file-input') < at('analysis') && at('analysis') < at('model') && at('model') < at('start'),
    `Tab goes through the form in order (went: ${order.join(' ')})`);
  await page.keyboard.press('Enter'); // on Start, with no file chosen
  const msg = page.locator('#start-message');
  await waitFor('the missing-file message', async () => /Choose a video file first/.test(await msg.textContent()), 5000);
  check(await page.evaluate(() => document.activeElement.id) === 'file-input', 'the focus goes to the Video file control');
  await shot(page, 'keyboard-missing-file');
  // sleep's required argument, left empty: a sentence naming it, no request sent.
  await page.getByLabel('Analysis', { exact: true }).selectOption('sleep');
  await page.locator('#file-input-server').selectOption({ index: 1 });
  await page.getByRole('button', { name: 'Start', exact: true }).click();
  await waitFor('the required-argument message', async () => /time is required/.test(await msg.textContent()), 5000);
  check(await page.evaluate(() => document.activeElement.id) === 'arg-time', 'the focus goes to time');
  // A value out of range: refused before it is sent.
  await page.getByLabel('time (required)').fill('-1');
  await page.getByRole('button', { name: 'Start', exact: true }).click();
  await waitFor('the range message', async () => /time must be from 0 to 604800/.test(await msg.textContent()), 5000);
  await closePage(page);
}

// A phone-sized page: one column, nothing wider than the screen.
async function phone_layout() {
  const s = shared.a;
  const page = await openPage(expectedLoadError, { width: 390, height: 844 });
  await page.goto(s.url + '/');
  await page.locator('#jobs li').first().waitFor();
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  check(overflow <= 0, `the page is ${overflow} px wider than a phone's screen`);
  await shot(page, 'phone-home');
  if (!shared.labelId) return closePage(page); // label_from_page did not run
  await page.goto(`${s.url}/view/${shared.labelId}`);
  await page.locator('#view-badge[data-state="SUCCESS"]').waitFor();
  await page.locator('#plots img').first().waitFor();
  const overflow2 = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  check(overflow2 <= 0, `the results page is ${overflow2} px wider than a phone's screen`);
  await shot(page, 'phone-view');
  await closePage(page);
}

// ---- runner ----

const tests = [label_from_page, cancel_running_job, failed_analysis, upload_progress_cancel_duplicate, keyboard_and_errors, token_flow, phone_layout].filter(
  (t) => !only.length || only.some((w) => t.name.includes(w)),
);

async function main() {
  rmSync(outDir, { recursive: true, force: true }); // this run's screenshots only
  mkdirSync(outDir, { recursive: true });
  if (readmeDir) mkdirSync(readmeDir, { recursive: true });
  const failed = [];
  const t0 = Date.now();
  console.log(`[==========] tests: Running ${tests.length} test(s).`);
  try {
    browser = await chromium.launch({ executablePath: browserBin });
    shared.a = await startServer('main');
    for (const t of tests) {
      console.log(`[ RUN      ] ${t.name}`);
      const t1 = Date.now();
      try {
        await t();
        console.log(`[       OK ] ${t.name} (${((Date.now() - t1) / 1000).toFixed(1)} s)`);
      } catch (err) {
        console.log(`${err instanceof TestFailure ? err.message : err.stack}`);
        console.log(`[  FAILED  ] ${t.name}`);
        failed.push(t.name);
        for (const ctx of browser.contexts())
          for (const p of ctx.pages()) await p.screenshot({ path: path.join(outDir, `FAILED-${t.name}.png`), fullPage: true }).catch(() => {});
        for (const ctx of browser.contexts()) await ctx.close().catch(() => {});
      }
    }
  } catch (err) {
    console.log(`the tests could not start: ${err.stack}`);
    for (const t of tests) if (!failed.includes(t.name)) failed.push(t.name);
  } finally {
    if (browser) await browser.close().catch(() => {});
    await stopServers();
    rmSync(tmpRoot, { recursive: true, force: true });
  }
  console.log(`[==========] tests: ${tests.length} test(s) run in ${((Date.now() - t0) / 1000).toFixed(1)} s; screenshots in ${outDir}`);
  const passed = tests.length - failed.length;
  if (passed) console.log(`[  PASSED  ] ${passed} test(s).`);
  if (failed.length) {
    console.log(`[  FAILED  ] ${failed.length} test(s), listed below:`);
    for (const f of failed) console.log(`[  FAILED  ] ${f}`);
  }
  process.exit(failed.length ? 1 : 0);
}

main();
