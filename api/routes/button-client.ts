/**
 * The browser code of button triggers, shared by the hosted page and the embed script. Plain ES2017 in
 * a string (it is sent as is; nothing here runs on the server). `mount(root, cfg)` renders a button and
 * a live status line into `root`; a click POSTs the start token (and the input, if any) and then polls
 * the run's status with its status token until the run ends.
 */
export const BUTTON_CLIENT_JS = String.raw`
function fjMountButton(root, cfg) {
  var doc = root.ownerDocument || document;
  var LABELS = { pending: 'Queued…', running: 'Running…', completed: 'Completed', failed: 'Failed',
    cancelled: 'Cancelled', paused_budget: 'Paused: budget reached' };
  var TERMINAL = { completed: 1, failed: 1, cancelled: 1 };
  var btn = doc.createElement('button');
  btn.type = 'button';
  btn.className = 'fj-button';
  btn.textContent = cfg.label;
  var status = doc.createElement('p');
  status.className = 'fj-status';
  status.setAttribute('role', 'status');
  status.setAttribute('aria-live', 'polite');
  root.appendChild(btn);
  root.appendChild(status);
  var base = cfg.api + '/api/runners/' + encodeURIComponent(cfg.runnerId) + '/button/runs';
  function show(state, text) {
    status.setAttribute('data-status', state);
    status.textContent = text;
  }
  function ready() {
    btn.disabled = false;
    btn.removeAttribute('aria-busy');
  }
  function readJson(r) {
    return r.json().then(function (j) { return { ok: r.ok, body: j }; }, function () { return { ok: false, body: null }; });
  }
  function errorText(x, fallback) {
    return x && x.body && x.body.error && x.body.error.message ? x.body.error.message : fallback;
  }
  function poll(runId, token, failures) {
    fetch(base + '/' + encodeURIComponent(runId) + '?token=' + encodeURIComponent(token), { credentials: 'omit', cache: 'no-store' })
      .then(readJson)
      .then(function (x) {
        if (!x.ok) throw new Error(errorText(x, 'Could not read the run status'));
        show(x.body.status, 'Run ' + (LABELS[x.body.status] || x.body.status));
        if (TERMINAL[x.body.status]) ready();
        else setTimeout(function () { poll(runId, token, 0); }, 1000);
      })
      .catch(function (e) {
        if (failures >= 5) { show('error', e.message || 'Lost track of the run'); ready(); return; }
        setTimeout(function () { poll(runId, token, failures + 1); }, 2000);
      });
  }
  btn.addEventListener('click', function () {
    btn.disabled = true;
    btn.setAttribute('aria-busy', 'true');
    show('starting', 'Starting…');
    var body = { token: cfg.token };
    if (cfg.input !== undefined) body.input = cfg.input;
    fetch(base, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body), credentials: 'omit' })
      .then(readJson)
      .then(function (x) {
        if (!x.ok) throw new Error(errorText(x, 'Could not start the run'));
        show(x.body.status, 'Run ' + (LABELS[x.body.status] || x.body.status));
        poll(x.body.runId, x.body.statusToken, 0);
      })
      .catch(function (e) {
        show('error', e.message || 'Could not start the run');
        ready();
      });
  });
}
`;

export const BUTTON_CSS = `
.fj-button { font: inherit; font-size: 1rem; padding: 0.6em 1.2em; border-radius: 0.4em; border: 1px solid #1d4ed8;
  background: #1d4ed8; color: #fff; cursor: pointer; }
.fj-button:hover { background: #1e40af; }
.fj-button:focus-visible { outline: 3px solid #f59e0b; outline-offset: 2px; }
.fj-button:disabled { background: #6b7280; border-color: #6b7280; cursor: progress; }
.fj-status { margin: 0.5em 0 0; min-height: 1.5em; }
.fj-status[data-status="completed"] { color: #166534; }
.fj-status[data-status="failed"], .fj-status[data-status="error"], .fj-status[data-status="cancelled"] { color: #b91c1c; }
`;
