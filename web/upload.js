// upload.js - the inputs of an analysis: Entry (a file on the server) and Upload (a file picked
// here, hashed and sent at once, at most MAX_PARALLEL_UPLOADS at a time), and Slot (a file input
// with a drop zone and a select of the files already on the server). Owns the upload queue.

import { el, fmtBytes, fmtDuration, fmtWhen } from './util.js';
import { auth, askToken, authHeaders, request } from './api.js';
import { sha1OfFile } from './sha1.js';
import { files, refreshFiles } from './jobs.js';

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

export { Entry, Slot };
