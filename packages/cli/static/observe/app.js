// The page of `rigil observe`: plain DOM, no framework, no build step. The server pushes the
// cluster's view over the WebSocket (`{type:'view'}`) and the process page and tree this page
// follows; actions go back over the same socket and their results come as `{type:'result'}`.
// Everything from the cluster is put in the page as text (textContent), never as HTML.

const $ = (sel) => document.querySelector(sel);

/** Makes an element: el('td', { class: 'num' }, 'text', child, …). */
function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'on') for (const [ev, fn] of Object.entries(v)) e.addEventListener(ev, fn);
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) if (c !== undefined && c !== null) e.append(c instanceof Node ? c : String(c));
  return e;
}

function svg(tag, attrs = {}) {
  const e = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  return e;
}

const short = (name) => String(name).split('@')[0];
const time = (iso) => (iso ? new Date(iso).toLocaleTimeString() : '');
const duration = (ms) => {
  if (ms === null || ms === undefined) return '';
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
};
const startTypeText = (t) => {
  if (t === null || t === undefined) return '';
  if (typeof t === 'string') return t;
  if (t.failover) return `failover from ${short(t.failover)}`;
  if (t.takeover) return `takeover from ${short(t.takeover)}`;
  return JSON.stringify(t);
};

const state = {
  view: null,
  socket: null,
  nextId: 1,
  pending: new Map(),
  procs: { node: null, sort: 'mailbox', offset: 0, total: 0 },
  pageRows: 50,
  tree: { node: null, app: null },
};

// ---------------------------------------------------------------- socket

function connect() {
  const ws = new WebSocket(`ws://${location.host}/ws`);
  state.socket = ws;
  ws.addEventListener('open', () => {
    setLive(true);
    followProcesses();
    followTree();
  });
  ws.addEventListener('close', () => {
    setLive(false);
    state.socket = null;
    setTimeout(connect, 1000);
  });
  ws.addEventListener('message', (ev) => {
    let msg;
    try {
      msg = JSON.parse(ev.data);
    } catch {
      return;
    }
    if (msg.type === 'hello') state.pageRows = msg.pageRows;
    else if (msg.type === 'view') render(msg.view);
    else if (msg.type === 'processes') renderProcesses(msg);
    else if (msg.type === 'tree') renderTree(msg);
    else if (msg.type === 'result') settle(msg);
  });
}

function send(msg) {
  if (state.socket && state.socket.readyState === WebSocket.OPEN) state.socket.send(JSON.stringify(msg));
}

function setLive(on) {
  const live = $('#live');
  live.textContent = on ? 'live' : 'disconnected — retrying';
  live.className = `live ${on ? 'on' : 'off'}`;
  live.dataset.live = String(on);
}

// ---------------------------------------------------------------- actions

/** Asks the user to confirm `text`; resolves true on Confirm. */
function confirmDialog(text) {
  const dialog = $('#confirm');
  $('#confirm-text').textContent = text;
  return new Promise((resolve) => {
    const done = (ok) => {
      $('#confirm-ok').removeEventListener('click', yes);
      $('#confirm-cancel').removeEventListener('click', no);
      dialog.removeEventListener('cancel', no);
      dialog.close();
      resolve(ok);
    };
    const yes = () => done(true);
    const no = () => done(false);
    $('#confirm-ok').addEventListener('click', yes);
    $('#confirm-cancel').addEventListener('click', no);
    dialog.addEventListener('cancel', no);
    dialog.showModal();
  });
}

async function act(text, action) {
  if (!(await confirmDialog(text))) return;
  const id = state.nextId++;
  state.pending.set(id, text);
  toast(`${text}…`, 'busy', id);
  send({ type: 'action', id, ...action });
}

function settle(msg) {
  const text = state.pending.get(msg.id) ?? 'action';
  state.pending.delete(msg.id);
  document.querySelector(`.toast[data-id="${msg.id}"]`)?.remove();
  if (msg.ok) toast(`${text}: ok${msg.result !== undefined && msg.result !== 'ok' ? ` (${JSON.stringify(msg.result)})` : ''}`, 'ok');
  else toast(`${text}: failed — ${msg.error}`, 'error');
}

function toast(text, kind, id) {
  const t = el('div', { class: `toast ${kind}`, 'data-kind': kind, 'data-id': id }, text);
  $('#toasts').append(t);
  if (kind !== 'busy') setTimeout(() => t.remove(), kind === 'error' ? 15000 : 6000);
}

// ---------------------------------------------------------------- the view

function render(view) {
  state.view = view;
  $('#target').textContent = `via ${view.target}`;
  $('#updated').textContent = `updated ${time(view.at)}`;
  renderGraph(view);
  renderNodes(view);
  renderApps(view);
  renderGlobal(view);
  renderEvents(view);
  fillSelect($('#proc-node'), view.nodes.filter((n) => n.up).map((n) => n.name), state.procs.node, (v) => {
    state.procs = { ...state.procs, node: v, offset: 0 };
    followProcesses();
  });
  const treeNodes = view.nodes.filter((n) => n.up).map((n) => n.name);
  fillSelect($('#tree-node'), treeNodes, state.tree.node, (v) => {
    state.tree.node = v;
    fillTreeApps();
    followTree();
  });
  fillTreeApps();
  if (state.procs.node === null && view.nodes.some((n) => n.up)) {
    state.procs.node = $('#proc-node').value;
    followProcesses();
  }
  if (state.tree.node === null && treeNodes.length > 0) {
    state.tree.node = $('#tree-node').value;
    fillTreeApps();
    followTree();
  }
}

/** Sets a select's options to `values`, keeping `current` selected when it is still there. */
function fillSelect(select, values, current, onChange) {
  const have = [...select.options].map((o) => o.value);
  if (have.join('\n') !== values.join('\n')) {
    select.replaceChildren(...values.map((v) => el('option', { value: v }, v)));
    select.onchange = () => onChange(select.value);
    if (current !== null && values.includes(current)) select.value = current;
    // The chosen one is gone (its node went down): follow the first one instead.
    else if (current !== null && values.length > 0) onChange(select.value);
    return;
  }
  select.onchange = () => onChange(select.value);
}

function fillTreeApps() {
  const node = state.view?.nodes.find((n) => n.name === state.tree.node);
  const apps = node ? node.applications.map((a) => a.name) : [];
  fillSelect($('#tree-app'), apps, state.tree.app, (v) => {
    state.tree.app = v;
    followTree();
  });
  const chosen = $('#tree-app').value || null;
  if (chosen !== state.tree.app) {
    state.tree.app = chosen;
    followTree();
  }
}

function renderGraph(view) {
  const g = $('#graph');
  g.replaceChildren();
  const nodes = view.nodes;
  const cx = 160;
  const cy = 120;
  const r = nodes.length <= 1 ? 0 : 85;
  const pos = new Map(nodes.map((n, i) => [n.name, { x: cx + r * Math.cos((2 * Math.PI * i) / nodes.length - Math.PI / 2), y: cy + r * Math.sin((2 * Math.PI * i) / nodes.length - Math.PI / 2) }]));
  const drawn = new Set();
  for (const n of nodes) {
    if (!n.up) continue;
    for (const p of n.peers) {
      const key = [n.name, p].sort().join(' ');
      if (drawn.has(key) || !pos.has(p)) continue;
      drawn.add(key);
      const a = pos.get(n.name);
      const b = pos.get(p);
      g.append(svg('line', { x1: a.x, y1: a.y, x2: b.x, y2: b.y, class: 'edge', 'data-edge': key }));
    }
  }
  const running = new Map();
  for (const app of view.applications) if (app.node) running.set(app.node, [...(running.get(app.node) ?? []), app.application]);
  for (const n of nodes) {
    const { x, y } = pos.get(n.name);
    const group = svg('g', { class: `gnode ${n.up ? 'up' : 'down'}` });
    group.append(svg('circle', { cx: x, cy: y, r: 24 }));
    const label = svg('text', { x, y: y + 5, 'text-anchor': 'middle', class: 'glabel' });
    label.textContent = short(n.name);
    group.append(label);
    const apps = running.get(n.name);
    if (apps) {
      const t = svg('text', { x, y: y + 40, 'text-anchor': 'middle', class: 'gapp' });
      t.textContent = apps.join(', ');
      group.append(t);
    }
    g.append(group);
  }
}

function renderNodes(view) {
  const box = $('#nodes');
  box.replaceChildren(
    ...view.nodes.map((n) =>
      el(
        'article',
        { class: `node ${n.up ? 'up' : 'down'}`, 'data-node': n.name, 'data-state': n.up ? 'up' : 'down' },
        el('h3', {}, n.name, el('span', { class: `badge ${n.up ? 'up' : 'down'}` }, n.up ? 'up' : 'down')),
        el(
          'dl',
          {},
          el('dt', {}, n.up ? 'up for' : 'down since'),
          el('dd', {}, n.up ? duration(n.uptimeMs) : time(n.since)),
          el('dt', {}, 'processes'),
          el('dd', {}, n.processes ?? '–'),
          el('dt', {}, 'connected to'),
          el('dd', { 'data-field': 'peers' }, n.peers.length ? n.peers.map(short).join(', ') : '–'),
          el('dt', {}, 'applications'),
          el('dd', { 'data-field': 'applications' }, n.applications.length ? n.applications.map((a) => a.name).join(', ') : '–'),
        ),
      ),
    ),
  );
}

function renderApps(view) {
  const box = $('#apps');
  if (view.applications.length === 0) {
    box.dataset.key = '';
    box.replaceChildren(el('p', { class: 'none' }, 'No distributed applications.'));
    return;
  }
  const controllable = view.nodes.filter((n) => n.up && n.controls).map((n) => n.name);
  // Redrawn only when something it shows changed: a redraw under the pointer would eat a click.
  const key = JSON.stringify([view.applications, controllable]);
  if (box.dataset.key === key) return;
  box.dataset.key = key;
  box.replaceChildren(
    ...view.applications.map((app) => {
      const select = el('select', { 'data-field': 'action-node', 'aria-label': 'node for the action' }, ...controllable.map((n) => el('option', { value: n }, n)));
      const previous = box.querySelector(`[data-app="${CSS.escape(app.application)}"] select`);
      if (previous && controllable.includes(previous.value)) select.value = previous.value;
      const disabled = controllable.length === 0;
      const actions = el(
        'div',
        { class: 'actions' },
        el('label', {}, 'on ', select),
        el('button', { type: 'button', 'data-action': 'takeover', disabled, on: { click: () => act(`Take ${app.application} over on ${select.value}`, { action: 'takeover', node: select.value, app: app.application }) } }, 'Take over'),
        el('button', { type: 'button', 'data-action': 'permit-false', disabled, on: { click: () => act(`Forbid ${app.application} on ${select.value} (permit false)`, { action: 'permit', node: select.value, app: app.application, flag: false }) } }, 'Permit: no'),
        el('button', { type: 'button', 'data-action': 'permit-true', disabled, on: { click: () => act(`Allow ${app.application} on ${select.value} (permit true)`, { action: 'permit', node: select.value, app: app.application, flag: true }) } }, 'Permit: yes'),
      );
      const timeline = el(
        'ol',
        { class: 'timeline', 'data-field': 'timeline' },
        ...app.timeline
          .slice()
          .reverse()
          .map((m) =>
            el(
              'li',
              { 'data-cause': m.cause, 'data-to': m.node ?? '', 'data-epoch': m.epoch ?? '' },
              el('time', {}, time(m.at)),
              el('span', { class: `cause ${m.cause}` }, m.cause),
              el('span', { class: 'move' }, m.node === null ? `stopped${m.previous ? ` on ${short(m.previous)}` : ''}` : `${m.previous ? `${short(m.previous)} → ` : ''}${short(m.node)}`),
              el('span', { class: 'epoch' }, m.epoch !== null ? `epoch ${m.epoch}` : ''),
              m.reason ? el('span', { class: 'reason' }, m.reason) : null,
            ),
          ),
      );
      return el(
        'article',
        { class: 'app', 'data-app': app.application, 'data-node': app.node ?? '', 'data-cause': app.cause ?? '' },
        el('h3', {}, app.application),
        el(
          'p',
          { class: 'placement' },
          app.node ? el('span', {}, 'on ', el('strong', { 'data-field': 'node' }, app.node)) : el('strong', { 'data-field': 'node' }, 'not running'),
          app.node && app.epoch !== null ? el('span', { class: 'epoch', 'data-field': 'epoch' }, `epoch ${app.epoch}`) : null,
          app.node && app.cause ? el('span', { class: `cause ${app.cause}`, 'data-field': 'cause' }, app.cause) : null,
          app.node && app.since ? el('span', { class: 'since' }, `since ${time(app.since)}`) : null,
          app.node && app.startType ? el('span', { class: 'since' }, startTypeText(app.startType)) : null,
        ),
        actions,
        el('h4', {}, 'Moves (newest first)'),
        timeline,
      );
    }),
  );
}

function renderGlobal(view) {
  const names = $('#names tbody');
  names.replaceChildren(...(view.global.names.length ? view.global.names.map((n) => el('tr', { 'data-name': n.name }, el('td', {}, n.name), el('td', { class: 'mono' }, n.pid), el('td', {}, n.node))) : [el('tr', {}, el('td', { colspan: 3, class: 'none' }, 'no global names'))]));
  const locks = $('#locks tbody');
  locks.replaceChildren(...(view.global.locks.length ? view.global.locks.map((l) => el('tr', {}, el('td', { class: 'mono' }, l.resource), el('td', { class: 'mono' }, l.requester), el('td', { class: 'mono' }, l.holders.join(' ')), el('td', {}, l.node))) : [el('tr', {}, el('td', { colspan: 4, class: 'none' }, 'no locks held'))]));
}

function renderEvents(view) {
  $('#events').replaceChildren(
    ...view.events
      .slice()
      .reverse()
      .map((e) => el('li', { class: e.event }, el('time', {}, time(e.at)), ` ${e.event} `, e.node)),
  );
}

// ---------------------------------------------------------------- processes

function followProcesses() {
  if (state.procs.node) send({ type: 'processes', node: state.procs.node, sort: state.procs.sort, offset: state.procs.offset });
  for (const th of document.querySelectorAll('#procs th.sortable')) th.classList.toggle('sorted', th.dataset.sort === state.procs.sort);
}

function renderProcesses(msg) {
  if (msg.node !== state.procs.node) return;
  const body = $('#procs tbody');
  if (msg.error) {
    body.dataset.key = '';
    body.replaceChildren(el('tr', {}, el('td', { colspan: 10, class: 'error' }, msg.error)));
    return;
  }
  const page = msg.page;
  state.procs.total = page.total;
  const key = JSON.stringify([msg.node, page]);
  if (body.dataset.key === key) return;
  body.dataset.key = key;
  $('#proc-range').textContent = page.processes.length ? `${page.offset + 1}–${page.offset + page.processes.length} of ${page.total}` : `0 of ${page.total}`;
  $('#proc-prev').disabled = page.offset === 0;
  $('#proc-next').disabled = page.offset + page.processes.length >= page.total;
  body.replaceChildren(
    ...page.processes.map((p) =>
      el(
        'tr',
        { 'data-pid': p.pid, 'data-name': p.name ?? '' },
        el('td', { class: 'mono' }, p.pid),
        el('td', {}, p.name ?? ''),
        el('td', {}, p.module ? `${p.behaviour}:${p.module}` : p.behaviour),
        el('td', {}, p.status),
        el('td', { class: 'num' }, p.mailbox),
        el('td', { class: 'num' }, p.reductions),
        el('td', { class: 'num' }, p.memory),
        el('td', { class: 'num' }, p.links),
        el('td', {}, p.application ?? ''),
        el('td', {}, el('button', { type: 'button', class: 'small danger', 'data-action': 'kill', on: { click: () => act(`Kill ${p.pid}${p.name ? ` (${p.name})` : ''}`, { action: 'kill', node: msg.node, pid: p.pid }) } }, 'kill')),
      ),
    ),
  );
}

// ---------------------------------------------------------------- tree

function followTree() {
  if (state.tree.node && state.tree.app) send({ type: 'tree', node: state.tree.node, app: state.tree.app });
  else {
    $('#tree').dataset.key = '';
    $('#tree').replaceChildren(el('p', { class: 'none' }, 'Pick a node and an application.'));
  }
}

function renderTree(msg) {
  if (msg.node !== state.tree.node || msg.app !== state.tree.app) return;
  const box = $('#tree');
  const key = JSON.stringify(msg);
  if (box.dataset.key === key) return;
  box.dataset.key = key;
  if (msg.error) {
    box.replaceChildren(el('p', { class: 'error' }, msg.error));
    return;
  }
  if (!msg.tree.top) {
    box.replaceChildren(el('p', { class: 'none' }, `${msg.app} does not run on ${msg.node}.`));
    return;
  }
  const item = (n) =>
    el(
      'li',
      { class: `${n.type} ${n.state}`, 'data-id': n.id ?? '' },
      el(
        'div',
        { class: 'tnode' },
        el('span', { class: 'tid' }, n.id !== null ? String(n.id) : n.name ?? '(top)'),
        el('span', { class: 'mono' }, n.pid ?? '–'),
        n.name && n.id !== null ? el('span', {}, n.name) : null,
        el('span', { class: 'tag' }, n.type),
        n.restart ? el('span', { class: 'tag' }, n.restart) : null,
        el('span', { class: `tag state ${n.state}` }, n.state),
        n.module ? el('span', { class: 'dim' }, n.module) : null,
        n.restarts !== null ? el('span', { class: 'dim' }, `restarts ${n.restarts}`) : null,
      ),
      n.children && n.children.length ? el('ul', {}, ...n.children.map(item)) : null,
      n.more ? el('ul', {}, el('li', { class: 'dim' }, `… ${n.more} more`)) : null,
      n.error ? el('ul', {}, el('li', { class: 'error' }, `children unavailable: ${n.error}`)) : null,
    );
  box.replaceChildren(el('ul', {}, item(msg.tree.top)));
}

// ---------------------------------------------------------------- start

$('#proc-prev').addEventListener('click', () => {
  state.procs.offset = Math.max(0, state.procs.offset - state.pageRows);
  followProcesses();
});
$('#proc-next').addEventListener('click', () => {
  if (state.procs.offset + state.pageRows < state.procs.total) state.procs.offset += state.pageRows;
  followProcesses();
});
for (const th of document.querySelectorAll('#procs th.sortable')) {
  const choose = () => {
    state.procs.sort = th.dataset.sort;
    state.procs.offset = 0;
    followProcesses();
  };
  th.addEventListener('click', choose);
  th.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' || e.key === ' ') choose();
  });
}
connect();
