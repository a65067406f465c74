// jobs.js - the two lists of the home page, polled: the analyses (with progress, Cancel, a failure's
// description) and the files (download, Analyse, Delete). Owns the states `jobs` and `files`;
// progressText and updateRate serve the analysis page too.

import { $, el, fmtBytes, fmtDuration, fmtWhen, shortId, say } from './util.js';
import { api, banner, fileLink, request } from './api.js';
import { Entry } from './upload.js';
import { form, currentType, onAnalysisChange } from './form.js';

// ---------------------------------------------------------------------------------------------
// The analyses list (home), polled: every second while one runs, else every 4 s
// ---------------------------------------------------------------------------------------------

const STATE_WORDS = { PENDING: 'Waiting', STARTED: 'Running', SUCCESS: 'Done', FAILURE: 'Failed', REVOKED: 'Cancelled' };
const active = (s) => s === 'PENDING' || s === 'STARTED';

const jobs = { limit: 50, rows: new Map(), rates: new Map(), failures: new Map(), timer: 0 };

// frames/s from successive polls of progress.done (smoothed), per analysis.
function updateRate(id, p) {
  const now = performance.now();
  const r = jobs.rates.get(id);
  if (!r || p.done < r.done) {
    jobs.rates.set(id, { done: p.done, t: now, rate: 0 });
    return 0;
  }
  if (p.done > r.done && now > r.t) {
    const inst = ((p.done - r.done) * 1000) / (now - r.t);
    r.rate = r.rate ? 0.6 * r.rate + 0.4 * inst : inst;
    r.done = p.done;
    r.t = now;
  }
  return r.rate;
}

// "120 of 367 frames · 35 frames/s · 7 s left" (ms: in seconds).
function progressText(state, p, rate) {
  if (state === 'PENDING') return 'Waiting for a worker';
  if (!p || !p.total) return state === 'STARTED' ? 'Starting…' : '';
  const ms = p.unit === 'ms';
  const n = (x) => (ms ? Math.round(x / 1000) : x);
  const unit = ms ? 's' : p.unit;
  let text = `${n(p.done)} of ${n(p.total)} ${unit}`;
  if (state === 'STARTED' && rate > 0) {
    if (!ms) text += ` · ${rate.toFixed(rate < 10 ? 1 : 0)} ${p.unit}/s`;
    text += ` · ${fmtDuration((p.total - p.done) / rate)} left`;
  }
  return text;
}

function jobRow(a) {
  const r = {};
  r.link = el('a', { href: `/view/${a.analysis_id}` });
  r.badge = el('span', { class: 'badge' });
  r.sub = el('div', { class: 'sub' });
  r.bar = el('progress', { max: 1, value: 0, 'aria-label': `Progress of ${a.analysis_name}` });
  r.text = el('span', { class: 'progress-text' });
  r.error = el('p', { class: 'row-error wide', hidden: true });
  r.cancel = el('button', { type: 'button', text: 'Cancel', onclick: () => cancelJob(a.analysis_id, r) });
  r.results = el('a', { class: 'button', href: `/view/${a.analysis_id}`, text: 'Results' });
  r.node = el(
    'li',
    { class: 'row job', 'data-id': a.analysis_id },
    el('div', {}, el('div', { class: 'title' }, r.link, r.badge), r.sub),
    el('div', { class: 'buttons' }, r.cancel, r.results),
    el('div', { class: 'progress-line wide' }, r.bar, r.text),
    r.error,
  );
  return r;
}

function updateJobRow(r, a) {
  const st = a.state;
  r.node.dataset.state = st;
  r.link.textContent = a.analysis_name;
  r.badge.textContent = STATE_WORDS[st] || st;
  const inputs = [a.file_id, a.file2_id].filter(Boolean).map(fileName).join(', ');
  const more = a.file2_id ? ' …' : '';
  r.sub.textContent = `${inputs}${more}${a.model ? ` · ${a.model}` : ''} · ${fmtWhen(a.created)}`;
  const p = a.progress || { done: 0, total: 0 };
  const rate = active(st) ? updateRate(a.analysis_id, p) : 0;
  r.bar.hidden = !active(st);
  r.bar.max = p.total || 1;
  r.bar.value = p.total ? p.done : 0;
  r.text.textContent = active(st) ? progressText(st, p, rate) : '';
  r.cancel.hidden = !active(st);
  r.cancel.setAttribute('aria-label', `Cancel ${a.analysis_name} ${shortId(a.analysis_id)}`);
  r.results.hidden = st !== 'SUCCESS' && st !== 'FAILURE';
  r.results.textContent = st === 'FAILURE' ? 'Details' : 'Results';
  if (st === 'FAILURE') showFailure(r, a.analysis_id);
}

// A failed analysis's description, fetched once.
async function showFailure(r, id) {
  if (!jobs.failures.has(id)) {
    jobs.failures.set(id, '');
    const x = await request('GET', `/analysis/${id}`).catch(() => null);
    jobs.failures.set(id, (x && x.data && x.data.description) || '');
  }
  const d = jobs.failures.get(id);
  r.error.textContent = d;
  r.error.hidden = !d;
}

async function cancelJob(id, r) {
  r.cancel.disabled = true;
  try {
    await api('DELETE', `/analysis/${id}`);
    r.text.textContent = 'Cancelled';
  } catch (err) {
    r.error.textContent = err.message;
    r.error.hidden = false;
  } finally {
    r.cancel.disabled = false;
    refreshJobs();
  }
}

function renderJobs(list) {
  const ul = $('jobs');
  const seen = new Set();
  let prev = null;
  for (const a of list) {
    seen.add(a.analysis_id);
    let r = jobs.rows.get(a.analysis_id);
    if (!r) {
      r = jobRow(a);
      jobs.rows.set(a.analysis_id, r);
    }
    updateJobRow(r, a);
    const want = prev ? prev.nextSibling : ul.firstChild;
    if (want !== r.node) ul.insertBefore(r.node, want);
    prev = r.node;
  }
  for (const [id, r] of jobs.rows)
    if (!seen.has(id)) {
      r.node.remove();
      jobs.rows.delete(id);
    }
  $('jobs-empty').hidden = list.length > 0;
  $('jobs-more').hidden = list.length < jobs.limit;
}

let jobsBusy = false;
async function refreshJobs() {
  if (jobsBusy) return;
  jobsBusy = true;
  clearTimeout(jobs.timer);
  let delay = 4000;
  try {
    const list = await api('GET', `/analysis?limit=${jobs.limit}`);
    renderJobs(list);
    if (list.some((a) => active(a.state))) delay = 1000;
  } catch (err) {
    if (err.status) banner(`The list of analyses could not be read: ${err.message}`);
  } finally {
    jobsBusy = false;
    jobs.timer = setTimeout(refreshJobs, document.hidden ? Math.max(delay, 10000) : delay);
  }
}

// ---------------------------------------------------------------------------------------------
// The files list (home), polled every 5 s and after each upload or delete
// ---------------------------------------------------------------------------------------------

const files = { limit: 100, list: [], byId: new Map(), rows: new Map(), timer: 0 };

function fileName(id) {
  const f = files.byId.get(id);
  return f ? f.filename : `file ${shortId(id)}`;
}

// Downloads through a signed link (no header needed), fetched when clicked.
async function download(id, name, msgNode) {
  try {
    const url = await fileLink(id);
    const a = el('a', { href: url, download: name });
    document.body.append(a);
    a.click();
    a.remove();
  } catch (err) {
    say(msgNode, err.message, true);
    msgNode.hidden = false;
  }
}

function fileRow(f) {
  const r = {};
  r.msg = el('p', { class: 'row-error wide', hidden: true });
  r.link = el('a', { href: `/file/${f.file_id}`, text: f.filename, download: f.filename });
  r.link.addEventListener('click', (ev) => {
    ev.preventDefault();
    download(f.file_id, f.filename, r.msg);
  });
  r.use = el('button', { type: 'button', text: 'Analyse', onclick: () => useFile(f) });
  r.use.setAttribute('aria-label', `Analyse ${f.filename}`);
  r.del = el('button', { type: 'button', class: 'danger', text: 'Delete', onclick: () => deleteFile(f, r) });
  r.del.setAttribute('aria-label', `Delete ${f.filename}`);
  r.node = el(
    'li',
    { class: 'row file', 'data-id': f.file_id },
    el('div', {}, el('div', { class: 'title' }, r.link), el('div', { class: 'sub', text: `${fmtBytes(f.size)} · ${f.content_type} · ${fmtWhen(f.created)}` })),
    el('div', { class: 'buttons' }, r.use, r.del),
    r.msg,
  );
  return r;
}

// Adds a file to the "Video file" slot and brings the form into view.
function useFile(f) {
  if (currentType().model === '3d') {
    $('analysis').value = form.types.some((t) => t.name === 'label') ? 'label' : form.types[0].name;
    onAnalysisChange();
  }
  form.main.add(Entry.fromServer(f));
  form.main.input.scrollIntoView({ block: 'center' });
  $('analysis').focus();
}

// Two clicks: the first asks, the second deletes (no browser dialog).
async function deleteFile(f, r) {
  if (!r.confirming) {
    r.confirming = true;
    r.del.textContent = 'Click again to delete';
    setTimeout(() => {
      r.confirming = false;
      r.del.textContent = 'Delete';
    }, 4000);
    return;
  }
  r.del.disabled = true;
  try {
    await api('DELETE', `/file/${f.file_id}`);
    r.node.remove();
    files.rows.delete(f.file_id);
  } catch (err) {
    say(r.msg, err.message, true);
    r.msg.hidden = false;
  } finally {
    r.del.disabled = false;
    refreshFiles();
  }
}

function renderFiles() {
  const ul = $('files');
  const seen = new Set();
  let prev = null;
  for (const f of files.list) {
    seen.add(f.file_id);
    let r = files.rows.get(f.file_id);
    if (!r) {
      r = fileRow(f);
      files.rows.set(f.file_id, r);
    }
    const want = prev ? prev.nextSibling : ul.firstChild;
    if (want !== r.node) ul.insertBefore(r.node, want);
    prev = r.node;
  }
  for (const [id, r] of files.rows)
    if (!seen.has(id)) {
      r.node.remove();
      files.rows.delete(id);
    }
  $('files-empty').hidden = files.list.length > 0;
  $('files-more').hidden = files.list.length < files.limit;
  for (const s of [form.main, ...form.cameras]) if (s) s.fillServer();
}

let filesBusy = false;
async function refreshFiles() {
  if (filesBusy) return;
  filesBusy = true;
  clearTimeout(files.timer);
  try {
    files.list = await api('GET', `/file?limit=${files.limit}`);
    files.byId = new Map(files.list.map((f) => [f.file_id, f]));
    renderFiles();
  } catch (err) {
    if (err.status) banner(`The list of files could not be read: ${err.message}`);
  } finally {
    filesBusy = false;
    files.timer = setTimeout(refreshFiles, document.hidden ? 15000 : 5000);
  }
}

export { STATE_WORDS, jobs, updateRate, progressText, refreshJobs, files, refreshFiles };
