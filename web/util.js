// util.js - small helpers shared by the page's modules: $ and el (DOM), sleep, the formatting of
// sizes, durations and times, short ids, UserError and say (message lines). No state, no imports.

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

export { $, el, sleep, fmtBytes, fmtDuration, fmtWhen, shortId, UserError, say };
