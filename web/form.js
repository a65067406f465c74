// form.js - the start form on the home page: analysis, model, input slots (one per camera for 3D),
// the analysis's arguments, and Start (POST /analysis for each input). Owns the state `form`.

import { $, el, say, UserError } from './util.js';
import { api } from './api.js';
import { Slot } from './upload.js';
import { refreshJobs } from './jobs.js';

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

export { form, currentType, loadForm, onAnalysisChange };
