// banger dashboard logic (api/ui/app.js, served at /ui/app.js).
//
// Lists the VMs (GET /v1/vms) and keeps their state live from the event
// stream (GET /v1/events, Server-Sent Events); start/stop/rm buttons; a
// create form (POST /v1/vms); for the selected VM the stages of its last
// operation (GET /v1/ops/{op_id}) and the tail of its console log
// (GET /v1/vms/{ref}/logs, polled). Data goes into the page only as
// textContent, never as HTML.
'use strict';

const CONSOLE_TAIL = 4096;   // bytes of console shown
const CONSOLE_POLL_MS = 2000;
const STATUS_POLL_MS = 15000;

const vms = new Map();      // vm id -> VM object
const rows = new Map();     // vm id -> <tr>
const touched = new Map();  // vm id -> tick of the last event that changed or removed it
const lastOp = new Map();   // vm id -> op_id of its last operation seen
const busy = new Set();     // vm ids with a request running
let tick = 0;               // counts events; a list fetched before an event does not undo it
let eventCount = 0;
let selected = null;        // selected vm id

const $ = (id) => document.getElementById(id);

function el(tag, text, className) {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = String(text);
  if (className) e.className = className;
  return e;
}

// ---- API calls -----------------------------------------------------------

class ApiError extends Error {
  constructor(code, message, opId) { super(message); this.code = code; this.opId = opId || ''; }
}

// One request; resolves to {data, opId}, rejects with an ApiError carrying
// the daemon's {"error": {code, message, op_id}}.
async function api(method, path, body) {
  const init = { method, headers: {} };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res;
  // A read that fails in the network (the browser drops requests in flight
  // when the host's interfaces change) is tried again, twice; a change
  // (POST, PUT, DELETE) never is: it may have reached the daemon.
  for (let attempt = 0; ; attempt++) {
    try { res = await fetch(path, init); break; }
    catch (e) {
      if (method !== 'GET' || attempt >= 2) throw new ApiError('network', e.message || String(e), '');
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  const opId = res.headers.get('X-Banger-Op-Id') || '';
  const text = await res.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  if (!res.ok) {
    const err = (data && data.error) || {};
    throw new ApiError(err.code || `http_${res.status}`, err.message || res.statusText || 'request failed',
                       err.op_id || opId);
  }
  return { data, opId };
}

// An action's reply is the VM; also accept the CLI's {"results": [...]} form.
function replyVm(data) {
  if (data && Array.isArray(data.results)) {
    const r = data.results[0] || {};
    if (r.ok === false && r.error) throw new ApiError(r.error.code, r.error.message, r.error.op_id);
    return r.vm;
  }
  return data;
}

function showError(err, what) {
  const box = $('error');
  const close = el('button', '×');
  close.type = 'button';
  close.title = 'dismiss';
  close.addEventListener('click', clearError);
  let line = `${what}: ${err.code || 'error'}: ${err.message}`;
  if (err.opId) line += ` (op_id ${err.opId})`;
  box.replaceChildren(close, el('span', line));
  box.hidden = false;
}

function clearError() {
  $('error').replaceChildren();
  $('error').hidden = true;
}

// ---- the VM table ----------------------------------------------------------

// Takes a VM object fetched when tick was sinceTick; an event that came
// after that (a state change, a removal) wins over it.
function upsert(vm, sinceTick) {
  if (!vm || !vm.id) return;
  const old = vms.get(vm.id);
  const newer = (touched.get(vm.id) || 0) > sinceTick;
  if (!old && newer) return;  // removed since
  const merged = Object.assign({}, old, vm);
  if (old && newer) merged.state = old.state;
  if (old && vm.image === undefined) merged.image = old.image;  // action replies carry no image
  vms.set(vm.id, merged);
}

let loading = null;
let reloadWanted = false;
let reloadTimer = null;

async function loadVmsOnce() {
  const since = tick;
  const { data } = await api('GET', '/v1/vms');
  const seen = new Set();
  for (const vm of (data && data.vms) || []) { upsert(vm, since); seen.add(vm.id); }
  for (const id of [...vms.keys()]) {
    if (!seen.has(id) && (touched.get(id) || 0) <= since) vms.delete(id);
  }
  if (selected && !vms.has(selected)) select(null);
  render();
}

// Refetches the list; calls while one runs make one more run after it.
function refreshVms() {
  if (loading) { reloadWanted = true; return loading; }
  loading = (async () => {
    do { reloadWanted = false; await loadVmsOnce(); } while (reloadWanted);
  })().catch((e) => showError(e, 'list VMs')).finally(() => { loading = null; });
  return loading;
}

function refreshVmsSoon() {
  clearTimeout(reloadTimer);
  reloadTimer = setTimeout(refreshVms, 250);
}

function makeRow(id) {
  const tr = el('tr');
  tr.dataset.id = id;
  for (const c of ['name', 'state', 'image', 'ip', 'cpus', 'memory']) tr.append(el('td', '', c));
  const actions = el('td', undefined, 'actions');
  for (const [act, label] of [['start', 'Start'], ['stop', 'Stop'], ['rm', 'Remove']]) {
    const b = el('button', label);
    b.type = 'button';
    b.dataset.action = act;
    b.addEventListener('click', (e) => { e.stopPropagation(); vmAction(id, act); });
    actions.append(b);
  }
  tr.append(actions);
  tr.addEventListener('click', () => select(id));
  return tr;
}

function fillRow(tr, vm) {
  tr.dataset.vm = vm.name;
  const cell = (c) => tr.querySelector(`td.${c}`);
  cell('name').textContent = vm.name;
  cell('state').textContent = vm.state;
  cell('state').dataset.state = vm.state;
  cell('image').textContent = vm.image || vm.image_id || '';
  cell('ip').textContent = vm.guest_ip || '';
  cell('cpus').textContent = vm.cpus ?? '';
  cell('memory').textContent = vm.memory_mib ? `${vm.memory_mib} MiB` : '';
  for (const b of tr.querySelectorAll('button')) b.disabled = busy.has(vm.id);
  tr.classList.toggle('selected', vm.id === selected);
}

function render() {
  const tbody = $('vm-rows');
  const list = [...vms.values()].sort((a, b) => a.name.localeCompare(b.name));
  list.forEach((vm, i) => {
    let tr = rows.get(vm.id);
    if (!tr) { tr = makeRow(vm.id); rows.set(vm.id, tr); }
    fillRow(tr, vm);
    if (tbody.children[i] !== tr) tbody.insertBefore(tr, tbody.children[i] || null);
  });
  for (const [id, tr] of rows) if (!vms.has(id)) { tr.remove(); rows.delete(id); }
  $('vms-empty').hidden = list.length > 0;
  if (selected && vms.has(selected)) $('detail-name').textContent = vms.get(selected).name;
}

async function vmAction(id, act) {
  const vm = vms.get(id);
  if (!vm || busy.has(id)) return;
  if (act === 'rm' && !confirm(`Remove VM ${vm.name}?`)) return;
  clearError();
  busy.add(id);
  render();
  const path = `/v1/vms/${encodeURIComponent(vm.name)}`;
  const since = tick;
  try {
    const { data, opId } = act === 'rm' ? await api('DELETE', path)
      : await api('POST', `${path}/${act}`, act === 'start' ? { no_wait: true } : undefined);
    if (opId) lastOp.set(id, opId);
    const got = replyVm(data);
    if (act === 'rm') {
      vms.delete(id);
      touched.set(id, ++tick);
      if (selected === id) select(null);
    } else {
      upsert(got, since);
    }
  } catch (e) {
    showError(e, `${act} ${vm.name}`);
  } finally {
    busy.delete(id);
    render();
    if (id === selected) refreshStagesSoon();
  }
}

// ---- events ----------------------------------------------------------------

function setEventsState(state, text) {
  $('events').dataset.state = state;
  $('events').textContent = `events: ${text}`;
}

function connectEvents() {
  const es = new EventSource('/v1/events');
  es.onopen = () => { setEventsState('live', 'live'); refreshVms(); };
  es.onerror = () => {
    if (es.readyState === EventSource.CLOSED) {  // the browser gave up: retry ourselves
      setEventsState('error', 'disconnected, retrying');
      setTimeout(connectEvents, 5000);
    } else {
      setEventsState('connecting', 'reconnecting');
    }
  };
  for (const type of ['vm.state', 'vm.removed', 'op.stage', 'op.done', 'missed']) {
    es.addEventListener(type, (e) => onEvent(type, e.data));
  }
}

function onEvent(type, raw) {
  let ev;
  try { ev = JSON.parse(raw); } catch { return; }
  tick++;
  $('events').dataset.count = String(++eventCount);
  if (type === 'missed') { refreshVms(); return; }
  if (type === 'vm.state') {
    const vm = vms.get(ev.vm_id);
    if (!vm) { refreshVms(); return; }
    vm.state = ev.state;
    touched.set(ev.vm_id, tick);
    render();
    refreshVmsSoon();  // the other fields (IP, pid, ...) change with the state
  } else if (type === 'vm.removed') {
    vms.delete(ev.vm_id);
    touched.set(ev.vm_id, tick);
    if (selected === ev.vm_id) select(null);
    render();
  } else if (type === 'op.stage' || type === 'op.done') {
    if (ev.vm_id && ev.op_id) {
      lastOp.set(ev.vm_id, ev.op_id);
      if (ev.vm_id === selected) refreshStagesSoon();
    }
    if (type === 'op.done' && ev.outcome === 'failed' && ev.error) {
      showError(new ApiError(ev.error.code, ev.error.message, ev.op_id), `${ev.kind} ${ev.vm_name || ''}`.trim());
    }
  }
}

// ---- the detail panel ------------------------------------------------------

let consoleTimer = null;
let con = { next: null, text: '' };
let stagesTimer = null;

function select(id) {
  selected = id && vms.has(id) ? id : null;
  clearInterval(consoleTimer);
  con = { next: null, text: '' };
  $('stages').replaceChildren();
  $('op-summary').textContent = '';
  $('console').textContent = '';
  $('console-info').textContent = '';
  $('detail').hidden = !selected;
  if (!selected) { delete $('detail').dataset.vm; render(); return; }
  $('detail').dataset.vm = vms.get(selected).name;
  render();
  refreshStages();
  pollConsole();
  consoleTimer = setInterval(pollConsole, CONSOLE_POLL_MS);
}

function refreshStagesSoon() {
  clearTimeout(stagesTimer);
  stagesTimer = setTimeout(refreshStages, 150);
}

async function refreshStages() {
  const id = selected;
  const opId = id && lastOp.get(id);
  if (!opId) { $('op-summary').textContent = '(none seen since the page opened)'; return; }
  try {
    const { data: op } = await api('GET', `/v1/ops/${encodeURIComponent(opId)}`);
    if (selected !== id || lastOp.get(id) !== opId) return;
    const tbody = $('stages');
    tbody.replaceChildren();
    for (const s of op.stages || []) {
      const running = s.duration_us < 0;
      const tr = el('tr');
      tr.dataset.stage = s.name;
      tr.append(el('td', s.name), el('td', running ? '…' : (s.duration_us / 1000).toFixed(1)),
                el('td', running ? 'running' : s.ok ? 'ok' : 'failed', s.ok || running ? '' : 'ok-no'));
      tbody.append(tr);
    }
    let summary = `${op.kind} · ${op.outcome} · ${op.op_id}`;
    if (op.error) summary += ` · ${op.error.code}: ${op.error.message}`;
    $('op-summary').textContent = summary;
  } catch (e) {
    if (selected === id) $('op-summary').textContent = `${opId}: ${e.code}: ${e.message}`;
  }
}

let consoleBusy = false;

// Reads the console from where the last read ended; jumps to the last
// CONSOLE_TAIL bytes when further behind; starts over when it was truncated.
async function pollConsole() {
  const id = selected;
  const vm = vms.get(id);
  if (!vm || consoleBusy) return;
  consoleBusy = true;
  const box = $('console');
  const info = $('console-info');
  try {
    for (let round = 0; round < 4; round++) {
      const offset = con.next ?? 0;
      const { data: r } = await api('GET', `/v1/vms/${encodeURIComponent(vm.name)}/logs?offset=${offset}`);
      if (selected !== id) return;
      if (!r.exists) { con = { next: null, text: '' }; box.textContent = 'no console yet'; info.textContent = ''; return; }
      if (r.size < offset) { con = { next: null, text: '' }; continue; }
      if (r.size - r.next_offset > CONSOLE_TAIL) { con = { next: r.size - CONSOLE_TAIL, text: '' }; continue; }
      con.text = (con.text + (r.data || '')).slice(-CONSOLE_TAIL);
      con.next = r.next_offset;
      info.textContent = `(${r.size} bytes)`;
      if (r.next_offset >= r.size) break;
    }
    const atEnd = box.scrollTop + box.clientHeight >= box.scrollHeight - 4;
    box.textContent = con.text;
    if (atEnd) box.scrollTop = box.scrollHeight;
  } catch (e) {
    if (selected !== id) return;
    if (e.code === 'not_found') box.textContent = 'no console yet';
    else info.textContent = `(${e.code}: ${e.message})`;
  } finally {
    consoleBusy = false;
  }
}

// ---- status, images, the create form ---------------------------------------

async function loadStatus() {
  const s = $('status');
  try {
    const { data } = await api('GET', '/v1/status');
    s.textContent = `bangerd ${data.version} · vmm ${data.vmm_kind} · helper ${data.helper_reachable ? 'reachable' : 'unreachable'}`;
    s.dataset.state = 'ok';
    s.dataset.helper = data.helper_reachable ? 'reachable' : 'unreachable';
  } catch (e) {
    s.textContent = `status: ${e.code}: ${e.message}`;
    s.dataset.state = 'error';
  }
}

async function loadImages() {
  const sel = $('create-image');
  try {
    const { data } = await api('GET', '/v1/images');
    const keep = sel.value;
    const images = ((data && data.images) || []).slice().sort((a, b) => a.name.localeCompare(b.name));
    sel.replaceChildren(...images.map((im) => { const o = el('option', im.name); o.value = im.name; return o; }));
    if (!images.length) { const o = el('option', 'no images'); o.value = ''; sel.append(o); }
    if (images.some((im) => im.name === keep)) sel.value = keep;
  } catch (e) {
    showError(e, 'list images');
  }
}

async function createVm(e) {
  e.preventDefault();
  const spec = {};
  const name = $('create-name').value.trim();
  if (name) spec.name = name;
  if ($('create-image').value) spec.image = $('create-image').value;
  if ($('create-cpus').value !== '') spec.cpus = Number($('create-cpus').value);
  if ($('create-memory').value !== '') spec.memory_mib = Number($('create-memory').value);
  if ($('create-start').checked) { spec.start = true; spec.no_wait = true; }
  clearError();
  const submit = $('create-submit');
  submit.disabled = true;
  const since = tick;
  try {
    const { data, opId } = await api('POST', '/v1/vms', spec);
    if (data && data.id) {
      upsert(data, since);
      if (opId && !lastOp.has(data.id)) lastOp.set(data.id, opId);
      render();
    } else {
      refreshVms();
    }
    $('create-name').value = '';
  } catch (err) {
    showError(err, `create ${name || 'VM'}`);
  } finally {
    submit.disabled = false;
  }
}

document.addEventListener('DOMContentLoaded', () => {
  $('create-form').addEventListener('submit', createVm);
  loadStatus();
  setInterval(loadStatus, STATUS_POLL_MS);
  loadImages();
  refreshVms();
  connectEvents();
});
