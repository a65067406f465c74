// app.js - the vas web page: upload files, start analyses, watch them, see and download results.
//
// Plain ES modules, no framework, no build step. They use only the public HTTP API (docs/api.md).
// The server answers index.html for both pages this script draws:
//   /            home: pick files (uploaded at once), choose analysis + model + options, Start;
//                the analyses and files, newest first, kept current by polling.
//   /view/<id>   one analysis: its state and progress while it runs, then its video, plots,
//                downloads and details, or its failure description.
// With an API token on the server, the first 401 asks for it; it is kept in sessionStorage and sent
// only as the Authorization header (never in a URL, never logged). Media and download links come
// from GET /file/<id>/link, signed URLs that need no header.
//
// This module starts the page; the others (web/*.js, served at /static/<name>) each own a part:
//   util.js    helpers: DOM, formatting, messages      api.js    requests, the token, file links
//   sha1.js    SHA-1 of a File                          upload.js uploads and picking files
//   form.js    the start form                           jobs.js   the analyses and files lists
//   view.js    the analysis page
// The modules import each other in a cycle (upload -> jobs -> form -> upload): that is safe because
// no module uses an import while it loads, only in functions called after start-up. Shared state is
// an object owned and exported by one module (auth, form, jobs, files), changed only through its
// properties.

import { $, sleep } from './util.js';
import { TOKEN_KEY, auth, banner } from './api.js';
import { form, loadForm } from './form.js';
import { files, jobs, refreshFiles, refreshJobs } from './jobs.js';
import { showView } from './view.js';

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
