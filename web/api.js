// api.js - talking to the server: request and api (JSON over fetch), the API token (auth: kept in
// sessionStorage, asked for on a 401), the "cannot be reached" banner, and files' signed links and
// names. Owns the state `auth`; other modules read auth.token and never assign auth itself.

import { $, say, shortId } from './util.js';

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

export { TOKEN_KEY, auth, authHeaders, askToken, request, api, banner, fileLink, fileMeta };
