// app.js - the vas web page: upload files, start analyses, watch them, see and download results.
//
// One plain ES module, no framework, no build step. It uses only the public HTTP API (docs/api.md).
// The server answers index.html for both pages this script draws:
//   /            home: pick files (uploaded at once), choose analysis + model + options, Start;
//                the analyses and files, newest first, kept current by polling.
//   /view/<id>   one analysis: its state and progress while it runs, then its video, plots,
//                downloads and details, or its failure description.
// With an API token on the server, the first 401 asks for it; it is kept in sessionStorage and sent
// only as the Authorization header (never in a URL, never logged). Media and download links come
// from GET /file/<id>/link, signed URLs that need no header.
//
// Sections: helpers · API and token · SHA-1 · uploads · picking files · the start form ·
// analyses list · files list · analysis page · start-up.

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

const $ = (id) => document.getElementById(id);

// el('a', {href: '/', class: 'x', text: 'Home', onclick: f}, child, ...): a new element.
// Properties the element has are set as properties, others (for, aria-*, data-*) as attributes.
function el(tag, props = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (k in e && !k.includes('-')) e[k] = v;
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) e.append(c);
  return e;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// 1234567 -> "1.2 MB" (decimal units, as MB/s is).
function fmtBytes(n) {
  if (!Number.isFinite(n)) return '';
  if (n < 1000) return `${n} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let i = -1;
  do {
    n /= 1000;
    i++;
  } while (n >= 1000 && i < units.length - 1);
  return `${n < 10 ? n.toFixed(1) : Math.round(n)} ${units[i]}`;
}

// 75 -> "1 min 15 s".
function fmtDuration(s) {
  if (!Number.isFinite(s) || s < 0) return '';
  s = Math.round(s);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

// "2026-12-04T22:38:50Z" -> "22:38" today, else "4 Dec 2026, 22:38" (the reader's time zone).
function fmtWhen(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso || '';
  const time = d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  if (d.toDateString() === new Date().toDateString()) return `today ${time}`;
  return d.toLocaleDateString([], { day: 'numeric', month: 'short', year: 'numeric' }) + `, ${time}`;
}

const shortId = (id) => (id ? id.slice(0, 8) : '');

// A mistake the person can fix; `field` is the control to focus.
class UserError extends Error {
  constructor(message, field) {
    super(message);
    this.field = field;
  }
}

// A message line (role=status) that can say something good or an error.
function say(node, text, isError = false) {
  node.textContent = text;
  node.classList.toggle('error', isError);
}

// ---------------------------------------------------------------------------------------------
// API and token
// ---------------------------------------------------------------------------------------------

const TOKEN_KEY = 'vas.token';
const auth = { token: sessionStorage.getItem(TOKEN_KEY) || '', asking: null };

class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

function authHeaders(headers = {}) {
  if (auth.token) headers.Authorization = `Bearer ${auth.token}`;
  return headers;
}

// Shows the token form and resolves once a token was typed. Every request that got a 401 waits on
// the same question; `rejected` says the token sent was refused.
function askToken(rejected) {
  if (auth.asking) return auth.asking;
  auth.asking = new Promise((resolve) => {
    const form = $('token-form');
    const input = $('token');
    say($('token-message'), rejected ? 'That token was not accepted. Check it and try again.' : '', true);
    $('token-panel').hidden = false;
    $('forget-token').hidden = true;
    showPage(false);
    input.value = '';
    input.focus();
    form.onsubmit = (ev) => {
      ev.preventDefault();
      const t = input.value.trim();
      if (!t) {
        say($('token-message'), 'Type the token first.', true);
        return;
      }
      auth.token = t;
      sessionStorage.setItem(TOKEN_KEY, t);
      input.value = '';
      $('token-panel').hidden = true;
      $('forget-token').hidden = false;
      showPage(true);
      auth.asking = null;
      resolve();
    };
  });
  return auth.asking;
}

// Shows or hides the page's content (hidden while the token is asked for).
function showPage(on) {
  const page = location.pathname.startsWith('/view/') ? $('view') : $('home');
  page.hidden = !on;
}

// One request: {status, data (parsed JSON or null), headers}. A 401 asks for the token and tries
// again; a network failure raises ApiError(0) and shows the banner until a request gets through.
async function request(method, path, body) {
  for (;;) {
    const sent = auth.token;
    const opts = { method, headers: authHeaders(), cache: 'no-store' };
    if (body !== undefined) {
      opts.headers['Content-Type'] = 'application/json';
      opts.body = JSON.stringify(body);
    }
    let res;
    try {
      res = await fetch(path, opts);
    } catch {
      banner('The server cannot be reached. This page keeps trying; check the network or ask the person who runs the server.');
      throw new ApiError(0, 'The server cannot be reached.');
    }
    banner('');
    if (res.status === 401) {
      if (auth.token === sent) await askToken(Boolean(sent));
      continue;
    }
    let data = null;
    if (method !== 'HEAD' && (res.headers.get('Content-Type') || '').includes('json'))
      data = await res.json().catch(() => null);
    return { status: res.status, data, headers: res.headers };
  }
}

// A request that must succeed: its JSON, or ApiError with the server's own sentence.
async function api(method, path, body) {
  const r = await request(method, path, body);
  if (r.status >= 400) {
    const why = r.data && r.data.error ? r.data.error : `The server answered ${r.status} to ${method} ${path}.`;
    throw new ApiError(r.status, why);
  }
  return r.data;
}

function banner(text) {
  const b = $('banner');
  if (b.textContent !== text) b.textContent = text;
  b.hidden = !text;
}

// A URL for a file that works without the Authorization header (for <video>, <img>, <a download>),
// from GET /file/<id>/link; kept for an hour (the server's are good for a day).
const links = new Map();
async function fileLink(id) {
  const hit = links.get(id);
  if (hit && hit.until > Date.now()) return hit.url;
  const { url } = await api('GET', `/file/${id}/link`);
  links.set(id, { url, until: Date.now() + 3600e3 });
  return url;
}

// A file's name, size and type from HEAD /file/<id> (its Content-Disposition).
async function fileMeta(id) {
  const r = await request('HEAD', `/file/${id}`);
  if (r.status !== 200) return { name: shortId(id), size: NaN, type: '' };
  const cd = r.headers.get('Content-Disposition') || '';
  const m = /filename="([^"]*)"/.exec(cd);
  return {
    name: m ? m[1] : shortId(id),
    size: Number(r.headers.get('Content-Length')),
    type: r.headers.get('Content-Type') || '',
  };
}

// ---------------------------------------------------------------------------------------------
// SHA-1 (FIPS 180-4), incremental: crypto.subtle exists only on https or localhost, and a lab
// server is often plain http on the network. About 200-400 MB/s.
// ---------------------------------------------------------------------------------------------

class Sha1 {
  constructor() {
    this.h = new Int32Array([0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0]);
    this.w = new Int32Array(80);
    this.tail = new Uint8Array(64);
    this.tailLen = 0;
    this.length = 0;
  }

  update(data) {
    let i = 0;
    this.length += data.length;
    if (this.tailLen > 0) {
      i = Math.min(64 - this.tailLen, data.length);
      this.tail.set(data.subarray(0, i), this.tailLen);
      this.tailLen += i;
      if (this.tailLen < 64) return;
      this.block(this.tail, 0);
      this.tailLen = 0;
    }
    for (; i + 64 <= data.length; i += 64) this.block(data, i);
    this.tail.set(data.subarray(i), 0);
    this.tailLen = data.length - i;
  }

  hex() {
    const bits = this.length * 8;
    const pad = new Uint8Array((this.tailLen < 56 ? 64 : 128) - this.tailLen);
    const n = pad.length;
    pad[0] = 0x80;
    const hi = Math.floor(bits / 0x100000000);
    const lo = bits >>> 0;
    for (let k = 0; k < 4; k++) {
      pad[n - 8 + k] = (hi >>> (24 - 8 * k)) & 0xff;
      pad[n - 4 + k] = (lo >>> (24 - 8 * k)) & 0xff;
    }
    this.update(pad);
    return Array.from(this.h, (x) => (x >>> 0).toString(16).padStart(8, '0')).join('');
  }

  block(b, o) {
    const w = this.w;
    const h = this.h;
    for (let t = 0; t < 16; t++, o += 4) w[t] = (b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3];
    for (let t = 16; t < 80; t++) {
      const x = w[t - 3] ^ w[t - 8] ^ w[t - 14] ^ w[t - 16];
      w[t] = (x << 1) | (x >>> 31);
    }
    let a = h[0], bb = h[1], c = h[2], d = h[3], e = h[4];
    for (let t = 0; t < 80; t++) {
      let f, k;
      if (t < 20) { f = (bb & c) | (~bb & d); k = 0x5a827999; }
      else if (t < 40) { f = bb ^ c ^ d; k = 0x6ed9eba1; }
      else if (t < 60) { f = (bb & c) | (bb & d) | (c & d); k = 0x8f1bbcdc; }
      else { f = bb ^ c ^ d; k = 0xca62c1d6; }
      const tmp = (((a << 5) | (a >>> 27)) + f + e + k + w[t]) | 0;
      e = d;
      d = c;
      c = (bb << 30) | (bb >>> 2);
      bb = a;
      a = tmp;
    }
    h[0] += a; h[1] += bb; h[2] += c; h[3] += d; h[4] += e;
  }
}

// The SHA-1 of a File, read 4 MiB at a time; stops (rejects) when signal aborts.
async function sha1OfFile(file, signal) {
  const sha = new Sha1();
  const slice = 4 << 20;
  for (let off = 0; off < file.size; off += slice) {
    if (signal.aborted) throw new DOMException('stopped', 'AbortError');
    sha.update(new Uint8Array(await file.slice(off, off + slice).arrayBuffer()));
  }
  return sha.hex();
}

// ---------------------------------------------------------------------------------------------
// Uploads
//
// An Entry is one chosen input: a file picked here (uploaded at once) or one already on the
// server. entry.ready resolves to its file_id, or rejects with a sentence. Files up to
// HASH_FIRST bytes are hashed before the upload (instant), larger ones while it runs; either way
// a file the server already has (HEAD /file/<sha1> = 200) is not sent again.
// ---------------------------------------------------------------------------------------------

const HASH_FIRST = 16 << 20;
const MAX_PARALLEL_UPLOADS = 2;
const uploadQueue = [];
let uploadsRunning = 0;

class Entry {
  constructor(name, size) {
    this.name = name;
    this.size = size;
    this.fileId = null;
    this.state = 'waiting'; // waiting, checking, uploading, done, exists, server, failed, cancelled
    this.ready = new Promise((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    this.ready.catch(() => {}); // a failure is shown in its row; Start reports it again
    this.onRemove = null;
    this.row = this.render();
  }

  static fromServer(file) {
    const e = new Entry(file.filename, file.size);
    e.finish(file.file_id, 'server');
    return e;
  }

  render() {
    this.nameNode = el('span', { class: 'name', text: this.name });
    this.bar = el('progress', { max: 1, value: 0, 'aria-label': `Upload of ${this.name}` });
    this.text = el('span', { class: 'text', text: 'Waiting to upload' });
    this.button = el('button', { type: 'button', text: 'Cancel', onclick: () => this.cancelOrRemove() });
    return el('li', { class: 'upload', 'data-state': this.state }, this.nameNode, this.button, this.bar, this.text);
  }

  set(state, text) {
    this.state = state;
    this.row.dataset.state = state;
    this.text.textContent = text;
    const active = state === 'waiting' || state === 'checking' || state === 'uploading';
    this.bar.hidden = !active;
    this.button.textContent = active ? 'Cancel' : 'Remove';
    this.button.setAttribute('aria-label', `${active ? 'Cancel the upload of' : 'Remove'} ${this.name}`);
  }

  finish(fileId, how) {
    this.fileId = fileId;
    const words = {
      done: 'Uploaded',
      exists: 'Already on the server: not sent again',
      server: 'On the server',
    };
    this.set(how, `${words[how]} (${fmtBytes(this.size)})`);
    this.resolve(fileId);
  }

  fail(message) {
    this.set('failed', message);
    this.reject(new Error(`${this.name}: ${message}`));
  }

  cancelOrRemove() {
    if (this.state === 'waiting' || this.state === 'checking' || this.state === 'uploading') {
      this.cancelled = true;
      if (this.abort) this.abort.abort();
      if (this.xhr) this.xhr.abort();
      this.set('cancelled', 'Upload cancelled');
      this.reject(new Error(`the upload of ${this.name} was cancelled`));
    }
    this.row.remove();
    if (this.onRemove) this.onRemove(this);
  }
}

class Upload extends Entry {
  constructor(file) {
    super(file.name, file.size);
    this.file = file;
    this.abort = new AbortController();
    this.xhr = null;
    this.cancelled = false;
    uploadQueue.push(this);
    pumpUploads();
  }

  async run() {
    try {
      if (this.file.size <= HASH_FIRST) {
        this.set('checking', 'Checking whether the server has it already…');
        const sha = await sha1OfFile(this.file, this.abort.signal);
        const has = await serverHas(sha);
        if (this.cancelled) return;
        if (has) return this.finish(sha, 'exists');
        const id = await this.send();
        this.finish(id, 'done');
      } else {
        this.hashWhileSending();
        const id = await this.send();
        this.abort.abort(); // the hash is no longer needed
        this.finish(id, 'done');
      }
    } catch (err) {
      if (this.cancelled || this.state === 'exists') return;
      this.fail(err.message);
    }
  }

  // Large files: hash while uploading; if the server has the file, stop the upload.
  async hashWhileSending() {
    try {
      const sha = await sha1OfFile(this.file, this.abort.signal);
      if (this.state === 'uploading' && (await serverHas(sha)) && this.state === 'uploading') {
        this.finish(sha, 'exists');
        if (this.xhr) this.xhr.abort();
      }
    } catch {
      // cancelled, or the check failed: the upload goes on and decides
    }
  }

  // POST /file with XMLHttpRequest (fetch has no upload progress). Resolves to the file_id.
  async send() {
    for (;;) {
      const sent = auth.token;
      const xhr = await this.post();
      if (xhr.status === 401) {
        if (auth.token === sent) await askToken(Boolean(sent));
        continue;
      }
      const data = xhr.response;
      if (xhr.status === 202 && data && data.file_id) return data.file_id;
      throw new Error(data && data.error ? data.error : `The server answered ${xhr.status}.`);
    }
  }

  post() {
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      this.xhr = xhr;
      this.samples = [];
      xhr.open('POST', '/file');
      xhr.responseType = 'json';
      for (const [k, v] of Object.entries(authHeaders())) xhr.setRequestHeader(k, v);
      xhr.upload.onprogress = (ev) => this.progress(ev.loaded, ev.lengthComputable ? ev.total : this.file.size);
      xhr.onload = () => resolve(xhr);
      xhr.onerror = () => reject(new Error('The upload was cut off: the server could not be reached.'));
      xhr.onabort = () => reject(new Error('Upload stopped.'));
      const form = new FormData();
      form.append('file', this.file, this.file.name);
      this.set('uploading', `Uploading… 0 of ${fmtBytes(this.file.size)}`);
      xhr.send(form);
    });
  }

  // Bytes sent, MB/s over the last 3 seconds, time left.
  progress(loaded, total) {
    if (this.state !== 'uploading') return;
    const now = performance.now();
    this.samples.push([now, loaded]);
    while (this.samples.length > 2 && now - this.samples[0][0] > 3000) this.samples.shift();
    const [t0, b0] = this.samples[0];
    const rate = now > t0 ? ((loaded - b0) * 1000) / (now - t0) : 0;
    this.bar.max = total || 1;
    this.bar.value = loaded;
    let text = `${fmtBytes(loaded)} of ${fmtBytes(total)}`;
    if (rate > 0) text += ` · ${(rate / 1e6).toFixed(1)} MB/s · ${fmtDuration((total - loaded) / rate)} left`;
    if (loaded >= total) text = `${fmtBytes(total)} sent; the server is storing it…`;
    this.text.textContent = text;
  }
}

function pumpUploads() {
  while (uploadsRunning < MAX_PARALLEL_UPLOADS && uploadQueue.length) {
    const u = uploadQueue.shift();
    if (u.cancelled) continue;
    uploadsRunning++;
    u.run().finally(() => {
      uploadsRunning--;
      pumpUploads();
      refreshFiles();
    });
  }
}

async function serverHas(sha) {
  const r = await request('HEAD', `/file/${sha}`);
  return r.status === 200;
}

// ---------------------------------------------------------------------------------------------
// Picking files
//
// A Slot is a labelled file input with a drop zone, a list of its entries, and a select of the
// files already on the server. One-file analyses use one slot, "Video file", taking several
// files (one analysis each); 3D analyses use one single-file slot per camera of the model.
// ---------------------------------------------------------------------------------------------

class Slot {
  constructor(id, label, multiple) {
    this.entries = [];
    this.multiple = multiple;
    this.input = el('input', { type: 'file', id, multiple, onchange: () => this.pick(this.input.files) });
    this.list = el('ul', { class: 'uploads' });
    this.server = el('select', { id: `${id}-server`, onchange: () => this.pickServer() });
    const hint = multiple
      ? 'Pick or drop one or more videos (or images, a zip of images, or a pose file, as the analysis needs). Each is uploaded at once; Start runs the analysis on each.'
      : 'Pick or drop this camera’s video.';
    this.drop = el('div', { class: 'drop' }, this.input, el('p', { class: 'hint', text: hint }));
    this.node = el(
      'div',
      { class: 'slot' },
      el('label', { for: id, text: label }),
      this.drop,
      el('div', { class: 'pick-server' }, el('label', { for: `${id}-server`, text: 'or a file already on the server' }), this.server),
      this.list,
    );
    dropTarget(this.drop, (files) => this.pick(files));
    this.fillServer();
  }

  pick(files) {
    const chosen = Array.from(files || []);
    if (!chosen.length) return;
    for (const f of this.multiple ? chosen : chosen.slice(0, 1)) this.add(new Upload(f));
    this.input.value = '';
  }

  pickServer() {
    const f = files.byId.get(this.server.value);
    this.server.value = '';
    if (f) this.add(Entry.fromServer(f));
  }

  add(entry) {
    if (!this.multiple) for (const old of [...this.entries]) old.cancelOrRemove();
    entry.onRemove = (e) => (this.entries = this.entries.filter((x) => x !== e));
    this.entries.push(entry);
    this.list.append(entry.row);
  }

  // The select of files on the server, refreshed with the files list.
  fillServer() {
    const keep = this.server.value;
    const opts = [el('option', { value: '', text: files.list.length ? '(choose one)' : '(none yet)' })];
    for (const f of files.list) opts.push(el('option', { value: f.file_id, text: `${f.filename} · ${fmtBytes(f.size)} · ${fmtWhen(f.created)}` }));
    this.server.replaceChildren(...opts);
    this.server.value = keep;
  }
}

// Makes node a drop zone calling onFiles(FileList).
function dropTarget(node, onFiles) {
  node.addEventListener('dragover', (ev) => {
    ev.preventDefault();
    node.classList.add('over');
  });
  node.addEventListener('dragleave', () => node.classList.remove('over'));
  node.addEventListener('drop', (ev) => {
    ev.preventDefault();
    ev.stopPropagation();
    node.classList.remove('over');
    onFiles(ev.dataTransfer.files);
  });
}

// ---------------------------------------------------------------------------------------------
// The start form: analysis, model, inputs, arguments, Start
// ---------------------------------------------------------------------------------------------

const form = {
  types: [], // GET /analysis/types
  models2d: [],
  models3d: [],
  refused: [],
  main: null, // the "Video file" slot
  cameras: [], // 3D: one slot a camera
  values: new Map(), // "analysis.arg" -> the value typed, kept across re-renders
};

const currentType = () => form.types.find((t) => t.name === $('analysis').value);

async function loadForm() {
  const [types, models] = await Promise.all([api('GET', '/analysis/types'), api('GET', '/model')]);
  form.types = types;
  form.models2d = models.filter((m) => !m.error && m.type !== '3d');
  form.models3d = models.filter((m) => !m.error && m.type === '3d');
  form.refused = models.filter((m) => m.error);
  form.main = new Slot('file-input', 'Video file', true);
  $('inputs').replaceChildren(form.main.node);
  const sel = $('analysis');
  sel.replaceChildren(...types.map((t) => el('option', { value: t.name, text: t.name })));
  sel.value = types.some((t) => t.name === 'label') ? 'label' : types[0].name;
  sel.onchange = onAnalysisChange;
  $('model').onchange = onModelChange;
  $('start-form').onsubmit = onStart;
  onAnalysisChange();
}

function onAnalysisChange() {
  const t = currentType();
  $('analysis-about').textContent = t.description || '';
  const sel = $('model');
  const models = t.model === '3d' ? form.models3d : t.model === '2d' ? form.models2d : [];
  const keep = sel.value;
  if (!t.model) {
    sel.replaceChildren(el('option', { value: '', text: '(not needed)' }));
    sel.disabled = true;
  } else if (!models.length) {
    sel.replaceChildren(el('option', { value: '', text: `(this server has no ${t.model.toUpperCase()} model)` }));
    sel.disabled = true;
  } else {
    sel.replaceChildren(...models.map((m) => el('option', { value: m.name, text: m.name })));
    sel.disabled = false;
    if (models.some((m) => m.name === keep)) sel.value = keep;
  }
  onModelChange();
}

function currentModel() {
  const t = currentType();
  const list = t.model === '3d' ? form.models3d : form.models2d;
  return list.find((m) => m.name === $('model').value) || null;
}

function onModelChange() {
  const t = currentType();
  const m = t.model ? currentModel() : null;
  let about = '';
  if (m && m.type === '3d') about = `${m.description || m.name}: ${m.cameras.length} cameras (${m.cameras.map((c) => c.name).join(', ')}).`;
  else if (m) about = `${m.description || m.name}: ${m.bodyparts.join(', ')}.`;
  if (t.model && form.refused.length)
    about += ` Not loaded: ${form.refused.map((r) => `${r.name} (${r.error})`).join('; ')}`;
  $('model-about').textContent = about.trim();
  renderCameras(t, m);
  renderArgs(t, m);
}

// 3D analyses: one slot per camera of the model, in its camera order; the "Video file" slot hides.
function renderCameras(t, model) {
  const is3d = t.model === '3d';
  form.main.node.hidden = is3d;
  const names = is3d && model ? model.cameras.map((c) => c.name) : [];
  const old = form.cameras;
  form.cameras = names.map((name, i) => {
    const prev = old[i];
    if (prev && prev.camera === name) return prev;
    const slot = new Slot(`camera-${i + 1}`, `Camera ${name}: video`, false);
    slot.camera = name;
    return slot;
  });
  $('cameras').replaceChildren(...form.cameras.map((s) => s.node));
}

// ---- arguments ----

function rangeText(a) {
  const parts = [];
  if (a.default !== null && a.default !== undefined) parts.push(`default ${a.default}`);
  else if (!a.required && !/default/.test(a.description || '')) parts.push('default: the server decides');
  if (a.type === 'integer' || a.type === 'number') parts.push(`${a.min} to ${a.max}`);
  if (a.type === 'enum') parts.push(`one of ${a.values.join(', ')}`);
  return parts.join('; ');
}

function argControl(t, a, model) {
  const id = `arg-${a.name}`;
  const key = `${t.name}.${a.name}`;
  const kept = form.values.get(key);
  const remember = (v) => form.values.set(key, v);
  const hint = el('p', { class: 'hint', id: `${id}-hint`, text: `${a.description} (${rangeText(a)})` });
  const describedBy = `${id}-hint`;
  if (a.type === 'boolean') {
    const box = el('input', { type: 'checkbox', id, checked: kept ?? a.default === true, 'aria-describedby': describedBy });
    box.onchange = () => remember(box.checked);
    return el('div', { class: 'arg' }, el('label', { class: 'check', for: id }, box, a.name), hint);
  }
  if (a.type === 'enum') {
    const opts = a.default === null ? [el('option', { value: '', text: '(server default)' })] : [];
    opts.push(...a.values.map((v) => el('option', { value: v, text: v })));
    const sel = el('select', { id, 'aria-describedby': describedBy }, opts);
    sel.value = kept ?? (a.default === null ? '' : a.default);
    sel.onchange = () => remember(sel.value);
    return el('div', { class: 'arg' }, el('label', { for: id, text: a.name }), sel, hint);
  }
  if (a.type === 'bodyparts') return bodypartsControl(a, model, id, key, hint);
  const numeric = a.type === 'integer' || a.type === 'number';
  const input = el('input', {
    id,
    type: numeric ? 'number' : 'text',
    required: Boolean(a.required),
    'aria-describedby': describedBy,
  });
  if (numeric) {
    input.min = a.min;
    input.max = a.max;
    input.step = a.type === 'integer' ? '1' : 'any';
  }
  input.value = kept ?? (a.default === null || a.default === undefined ? '' : String(a.default));
  input.oninput = () => remember(input.value);
  const label = a.required ? `${a.name} (required)` : a.name;
  return el('div', { class: 'arg' }, el('label', { for: id, text: label }), input, hint);
}

// "all" or some of the model's bodyparts: one checkbox each; all checked = all.
function bodypartsControl(a, model, id, key, hint) {
  const parts = model && model.bodyparts ? model.bodyparts : [];
  const kept = form.values.get(key);
  const boxes = parts.map((p, i) => {
    const box = el('input', { type: 'checkbox', id: `${id}-${i}`, value: p, checked: !kept || kept.includes(p) });
    box.onchange = () => form.values.set(key, boxes.filter((b) => b.checked).map((b) => b.value));
    return box;
  });
  const set = el(
    'fieldset',
    { id, 'aria-describedby': hint.id },
    el('legend', { text: a.name }),
    boxes.map((b) => el('label', { for: b.id }, b, b.value)),
  );
  return el('div', { class: 'arg' }, set, hint);
}

function renderArgs(t, model) {
  const req = t.arguments.filter((a) => a.required);
  const opt = t.arguments.filter((a) => !a.required);
  $('args-required').replaceChildren(...req.map((a) => argControl(t, a, model)));
  $('args-optional').replaceChildren(...opt.map((a) => argControl(t, a, model)));
  $('options').hidden = opt.length === 0;
  $('options-count').textContent = `(${opt.length})`;
}

// The arguments that differ from their defaults, checked against their ranges.
function collectArgs(t) {
  const out = {};
  for (const a of t.arguments) {
    const c = $(`arg-${a.name}`);
    if (!c) continue;
    const v = argValue(a, c);
    if (v !== undefined) out[a.name] = v;
  }
  return out;
}

function argValue(a, c) {
  switch (a.type) {
    case 'boolean':
      return c.checked !== (a.default === true) ? c.checked : undefined;
    case 'enum':
      return c.value && c.value !== a.default ? c.value : undefined;
    case 'bodyparts': {
      const boxes = [...c.querySelectorAll('input[type=checkbox]')];
      const on = boxes.filter((b) => b.checked).map((b) => b.value);
      if (!on.length && boxes.length) throw new UserError(`${a.name}: choose at least one body part.`, boxes[0]);
      return on.length === boxes.length ? undefined : on.join(',');
    }
    case 'integer':
    case 'number': {
      if (c.validity.badInput) throw new UserError(`${a.name} must be a number.`, c);
      const s = c.value.trim();
      if (s === '') {
        if (a.required) throw new UserError(`${a.name} is required (${rangeText(a)}).`, c);
        return undefined;
      }
      const v = Number(s);
      if (a.type === 'integer' && !Number.isInteger(v)) throw new UserError(`${a.name} must be a whole number.`, c);
      if (v < a.min || v > a.max) throw new UserError(`${a.name} must be from ${a.min} to ${a.max}.`, c);
      return v === a.default ? undefined : v;
    }
    default: {
      const s = c.value.trim();
      if (!s && a.required) throw new UserError(`${a.name} is required.`, c);
      return s && s !== a.default ? s : undefined;
    }
  }
}

// The analyses to start: one list of entries each (one entry; 3D: one per camera).
function chosenInputs(t) {
  if (t.model === '3d') {
    if (!form.cameras.length) throw new UserError('Choose a 3D model first.', $('model'));
    for (const s of form.cameras)
      if (!s.entries.length) throw new UserError(`Choose the video of camera ${s.camera}.`, s.input);
    return [form.cameras.map((s) => s.entries[0])];
  }
  const entries = form.main.entries.filter((e) => e.state !== 'failed');
  if (!entries.length) throw new UserError('Choose a video file first: pick one, drop it here, or choose one already on the server.', form.main.input);
  return entries.map((e) => [e]);
}

async function onStart(ev) {
  ev.preventDefault();
  const msg = $('start-message');
  const button = $('start');
  const started = [];
  try {
    const t = currentType();
    const model = t.model ? $('model').value : null;
    if (t.model && !model) throw new UserError(`Choose a model: this server has no ${t.model.toUpperCase()} model for ${t.name}.`, $('model'));
    const args = collectArgs(t);
    const groups = chosenInputs(t);
    button.disabled = true;
    if (groups.flat().some((e) => !e.fileId)) say(msg, 'Waiting for the uploads to finish…');
    for (const group of groups) {
      const ids = await Promise.all(group.map((e) => e.ready));
      const body = { analysis: t.name, file_id: ids[0] };
      ids.slice(1).forEach((id, i) => (body[`file${i + 2}_id`] = id));
      if (model) body.model = model;
      Object.assign(body, args);
      const r = await api('POST', '/analysis', body);
      started.push({ id: r.analysis_id, name: group.map((e) => e.name).join(', ') });
    }
    const what = started.length === 1 ? `${t.name} on ${started[0].name}` : `${started.length} analyses (${t.name})`;
    msg.replaceChildren(`Started ${what}. `, el('a', { href: `/view/${started[0].id}`, text: 'Open its page' }), ' or follow it in the list.');
    msg.classList.remove('error');
    refreshJobs();
  } catch (err) {
    const done = started.length ? `Started ${started.length}, then: ` : '';
    say(msg, done + err.message, true);
    if (err.field) err.field.focus();
  } finally {
    button.disabled = false;
  }
}

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

// ---------------------------------------------------------------------------------------------
// One analysis's page: /view/<analysis_id>
// ---------------------------------------------------------------------------------------------

// Result keys holding file ids, in the order shown, with what they are.
const OUTPUTS = [
  ['labeled_video', 'Labeled video', 'video'],
  ['labeled_video_3d', '3D video', 'video'],
  ['labeled_image', 'Labeled image', 'image'],
  ['labeled_images', 'Labeled images', 'images'],
  ['plot_trajectories', 'Trajectories', 'plot'],
  ['plot_likelihood', 'Likelihood', 'plot'],
  ['plot_histogram', 'Displacement histogram', 'plot'],
  ['plot_positions', 'x and y over time', 'plot'],
  ['csv_file', 'Table (CSV)', 'file'],
  ['h5_file', 'Table (HDF5)', 'file'],
  ['json_file', 'Poses and metadata (JSON)', 'file'],
  ['filtered_csv_file', 'Filtered table (CSV)', 'file'],
  ['filtered_h5_file', 'Filtered table (HDF5)', 'file'],
  ['archive', 'Labeled images (zip)', 'file'],
];
const OUTPUT_KEYS = new Set(OUTPUTS.map((o) => o[0]));
const MAX_THUMBS = 24;

async function showView(id) {
  $('view').hidden = false;
  $('view-title').textContent = `Analysis ${shortId(id)}`;
  describeView(id);
  const cancel = $('view-cancel');
  cancel.onclick = async () => {
    cancel.disabled = true;
    try {
      await api('DELETE', `/analysis/${id}`);
    } catch (err) {
      say($('view-message'), err.message, true);
    }
    cancel.disabled = false;
  };
  for (;;) {
    let r;
    try {
      r = await request('GET', `/analysis/${id}`);
    } catch {
      await sleep(3000);
      continue;
    }
    if (r.status === 202) {
      viewProgress(id, r.data);
      await sleep(1000);
      continue;
    }
    return viewFinished(r);
  }
}

// The title: the analysis's name, model and inputs, from the analyses list.
async function describeView(id) {
  try {
    const list = await api('GET', '/analysis?limit=1000');
    const a = list.find((x) => x.analysis_id === id || x.task_id === id);
    if (!a) return;
    const names = await Promise.all([a.file_id, a.file2_id].filter(Boolean).map((f) => fileMeta(f)));
    const inputs = names.map((n) => n.name).join(', ');
    $('view-title').textContent = `${a.analysis_name} of ${inputs}${a.file2_id ? ', …' : ''}`;
    document.title = `${a.analysis_name} of ${inputs} — vas`;
    $('view-inputs').textContent = `${a.model ? `Model ${a.model} · ` : ''}started ${fmtWhen(a.created)} · id ${a.analysis_id}`;
  } catch {
    // the title stays the id; the rest of the page does not depend on it
  }
}

function viewBadge(state) {
  const b = $('view-badge');
  b.dataset.state = state;
  b.textContent = STATE_WORDS[state] || state;
}

function viewProgress(id, data) {
  const p = data.progress || { done: 0, total: 0 };
  viewBadge(data.state);
  const bar = $('view-progress');
  bar.hidden = false;
  bar.max = p.total || 1;
  bar.value = p.total ? p.done : 0;
  $('view-progress-text').textContent = progressText(data.state, p, updateRate(id, p));
  $('view-cancel').hidden = false;
}

async function viewFinished(r) {
  $('view-progress').hidden = true;
  $('view-cancel').hidden = true;
  $('view-progress-text').textContent = '';
  const d = r.data || {};
  if (r.status === 404 || r.status === 400) {
    viewBadge('FAILURE');
    $('view-badge').textContent = 'Not found';
    say($('view-message'), d.error || 'There is no such analysis.', true);
    return;
  }
  viewBadge(d.state);
  if (d.state === 'FAILURE') {
    const box = $('view-failure');
    box.textContent = `The analysis failed: ${d.description || 'no description was given.'}`;
    box.hidden = false;
    return;
  }
  if (d.state === 'REVOKED') {
    say($('view-message'), 'This analysis was cancelled: it has no results.');
    return;
  }
  if (d.cached) say($('view-message'), 'Answered from an identical analysis that had already finished.');
  await viewResults(d);
}

async function viewResults(d) {
  const ids = [];
  for (const [key] of OUTPUTS) {
    const v = d[key];
    if (Array.isArray(v)) ids.push(...v);
    else if (typeof v === 'string') ids.push(v);
  }
  const info = new Map();
  let missing = '';
  await Promise.all(
    [...new Set(ids)].map(async (id) => {
      const link = fileLink(id).catch((err) => {
        missing = `Some results cannot be shown or downloaded: ${err.message}`;
        return null;
      });
      const [meta, url] = await Promise.all([fileMeta(id), link]);
      info.set(id, { ...meta, url });
    }),
  );
  if (missing) say($('view-message'), missing, true);
  $('view-actions').replaceChildren();
  const media = [];
  const plots = [];
  const downloads = [];
  const tables = [];
  for (const [key, label, kind] of OUTPUTS) {
    const v = d[key];
    if (v === undefined || v === null) continue;
    const list = Array.isArray(v) ? v : [v];
    list.forEach((id, i) => {
      const f = info.get(id);
      if (!f || !f.url) return;
      if (kind === 'video') media.push(el('video', { controls: true, preload: 'auto', playsInline: true, src: f.url, 'aria-label': label }));
      if (kind === 'image') media.push(el('img', { src: f.url, alt: `${label}: ${f.name}` }));
      if (kind === 'images' && i < MAX_THUMBS) media.push(el('img', { src: f.url, alt: `${label}: ${f.name}` }));
      if (kind === 'plot') plots.push(el('figure', {}, el('img', { src: f.url, alt: `${label} plot` }), el('figcaption', { text: label })));
      if (kind !== 'images' || list.length <= MAX_THUMBS) {
        const item = el('li', {}, el('a', { href: f.url, download: f.name, text: label }), el('span', { class: 'sub', text: `${f.name} · ${fmtBytes(f.size)}` }));
        (kind === 'file' ? tables : downloads).push(item);
      }
      if (key === 'csv_file' || key === 'filtered_csv_file')
        $('view-actions').append(el('a', { class: 'button primary', href: f.url, download: f.name, text: `Download the ${key === 'csv_file' ? '' : 'filtered '}table (CSV)` }));
    });
  }
  downloads.unshift(...tables);
  renderMedia(media, d);
  $('plots').replaceChildren(...plots);
  $('view-plots').hidden = plots.length === 0;
  $('downloads').replaceChildren(...downloads);
  if (!downloads.length) $('downloads').append(el('li', { text: 'This analysis made no files.' }));
  renderDetails(d);
  $('view-results').hidden = false;
}

// Once a video's or picture's proportions are known: no wider than 65% of the screen's height
// allows, so that it is shown whole, without black bands.
function fitToScreen(node) {
  const fit = () => {
    const w = node.videoWidth || node.naturalWidth;
    const h = node.videoHeight || node.naturalHeight;
    if (w && h) node.style.maxWidth = `min(100%, calc(65vh * ${(w / h).toFixed(4)}))`;
  };
  node.addEventListener(node.tagName === 'VIDEO' ? 'loadedmetadata' : 'load', fit);
}

function renderMedia(media, d) {
  const videos = media.filter((m) => m.tagName === 'VIDEO');
  const imgs = media.filter((m) => m.tagName === 'IMG');
  const nodes = [...videos];
  videos.forEach(fitToScreen);
  if (imgs.length === 1) {
    fitToScreen(imgs[0]);
    nodes.push(imgs[0]);
  }
  else if (imgs.length > 1) nodes.push(el('div', { class: 'thumbs' }, imgs));
  if (Array.isArray(d.labeled_images) && d.labeled_images.length > MAX_THUMBS)
    nodes.push(el('p', { class: 'hint', text: `The first ${MAX_THUMBS} of ${d.labeled_images.length} labeled images; the zip below has them all.` }));
  $('media').replaceChildren(...nodes);
  $('view-media').hidden = nodes.length === 0;
}

function renderDetails(d) {
  const rows = [];
  for (const [k, v] of Object.entries(d)) {
    if (k === 'state' || OUTPUT_KEYS.has(k)) continue;
    let text = v;
    if (typeof v === 'number' && !Number.isInteger(v)) text = String(Math.round(v * 1000) / 1000);
    else if (typeof v === 'boolean') text = v ? 'yes' : 'no';
    else if (Array.isArray(v)) text = v.join(', ');
    else if (v && typeof v === 'object') text = JSON.stringify(v);
    if (k === 'seconds') text = `${text} (time the analysis took)`;
    rows.push(el('dt', { text: k }), el('dd', { text: String(text) }));
  }
  $('details').replaceChildren(...rows);
}

// ---------------------------------------------------------------------------------------------
// Start-up
// ---------------------------------------------------------------------------------------------

// A file dropped outside a drop zone goes to the visible slots instead of replacing the page.
function catchStrayDrops() {
  window.addEventListener('dragover', (ev) => ev.preventDefault());
  window.addEventListener('drop', (ev) => {
    ev.preventDefault();
    if ($('home').hidden || !form.main) return;
    const dropped = Array.from(ev.dataTransfer.files);
    if (!form.main.node.hidden) form.main.pick(dropped);
    else form.cameras.forEach((s, i) => dropped[i] && s.pick([dropped[i]]));
  });
}

async function serverLine() {
  try {
    const h = await (await fetch('/health', { cache: 'no-store' })).json();
    const w = h.workers === 1 ? '1 worker' : `${h.workers} workers`;
    $('server').textContent = `vas ${h.version} · ${w}`;
  } catch {
    $('server').textContent = '';
  }
}

async function startHome() {
  catchStrayDrops();
  $('jobs-more').onclick = () => {
    jobs.limit += 50;
    refreshJobs();
  };
  $('files-more').onclick = () => {
    files.limit += 100;
    refreshFiles();
  };
  for (;;) {
    try {
      await loadForm();
      break;
    } catch (err) {
      banner(`The page could not load the analyses and models: ${err.message} Trying again in 5 s.`);
      await sleep(5000);
    }
  }
  $('home').hidden = false;
  refreshFiles();
  refreshJobs();
}

function main() {
  $('forget-token').hidden = !auth.token;
  $('forget-token').onclick = () => {
    sessionStorage.removeItem(TOKEN_KEY);
    auth.token = '';
    location.reload();
  };
  document.addEventListener('visibilitychange', () => {
    if (!document.hidden && !$('home').hidden) {
      refreshJobs();
      refreshFiles();
    }
  });
  serverLine();
  const m = /^\/view\/([^/]+)\/?$/.exec(location.pathname);
  if (m) showView(decodeURIComponent(m[1]));
  else startHome();
}

main();
