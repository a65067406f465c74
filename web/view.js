// view.js - one analysis's page, /view/<analysis_id>: its state and progress while it runs, then
// its video or images, plots, downloads and details, or why it failed. Entry point: showView(id).

import { $, el, fmtBytes, fmtWhen, say, shortId, sleep } from './util.js';
import { api, fileLink, fileMeta, request } from './api.js';
import { STATE_WORDS, progressText, updateRate } from './jobs.js';

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

export { showView };
