// The supervisor console: the Socket.IO snapshot drawn first, then the floor's batches
// and tiers events applied as they come (never polled); the page's own requests are the
// console's surroundings at load (names, settings, tiers) and the supervisor's actions.

import { connect, url } from "./mount.js";
import { api } from "./supervisor/api.js";
import { renderAgents, resetAgentRows } from "./supervisor/agents.js";
import { renderCalls } from "./supervisor/calls.js";
import { createDialog } from "./supervisor/dialog.js";
import { createEavesdropBar } from "./supervisor/eavesdrop.js";
import { tick } from "./supervisor/format.js";
import { renderQueues } from "./supervisor/queues.js";
import {
  applyBatch, applyConsole, applySnapshot, queueNames, store, updateNodes,
} from "./supervisor/store.js";

const root = document.getElementById("sup-app");
const banner = document.getElementById("banner");
const $ = (id) => root.querySelector(`[data-testid=${id}]`);

const filters = { search: "", queue: "", node: "", status: "", sort: "name" };
let frame = 0;
let lastDrawn = 0;
const MIN_INTERVAL = 200; // ms between drawings: a busy floor sends hundreds of events a second
let consoleLoaded = false;
let snapshotSeen = false;
let disconnected = false;

/** The node filter: shown once the floor names a node (several FreeSWITCH nodes). */
function nodeFilter(nodes) {
  const select = $("node-filter");
  $("node-filter-label").hidden = nodes.length === 0;
  if (select.dataset.nodes === nodes.join(",")) return;
  select.dataset.nodes = nodes.join(",");
  const keep = select.value;
  select.replaceChildren(new Option("All nodes", ""), ...nodes.map((n) => new Option(n, n)));
  select.value = nodes.includes(keep) ? keep : "";
  filters.node = select.value;
}

function render() {
  frame = 0;
  lastDrawn = performance.now();
  nodeFilter(updateNodes());
  renderQueues(root);
  renderAgents(root, filters, (agent) => dialog.open(agent));
  renderCalls(root);
  dialog.refresh();
  eavesdrop.render();
  const select = $("queue-filter");
  const names = queueNames();
  if (select.options.length - 1 !== names.length) {
    const keep = select.value;
    select.replaceChildren(new Option("All queues", ""), ...names.map((n) => new Option(n, n)));
    select.value = names.includes(keep) ? keep : "";
  }
}

/** Coalesce a burst of events into one drawing, at most five a second, in an animation
 * frame (none while the tab is hidden). */
function schedule() {
  if (frame) return;
  const wait = Math.max(0, MIN_INTERVAL - (performance.now() - lastDrawn));
  frame = setTimeout(() => requestAnimationFrame(render), wait);
}

const dialog = createDialog(root, {
  startEavesdrop: (agent, mode) => eavesdrop.start(agent, mode),
  tiersChanged: (items) => {
    if (items) store.tiers = items;
    schedule();
  },
});
const eavesdrop = createEavesdropBar(root, schedule);

async function loadConsole() {
  try {
    applyConsole(await api.console());
    consoleLoaded = true;
    resetAgentRows();
  } catch (error) {
    banner.hidden = false;
    banner.dataset.kind = "server";
    banner.textContent = `The console's settings could not be read: ${error.message}`;
  }
  schedule();
  if (snapshotSeen) root.dataset.ready = "true";
}

$("agent-search").addEventListener("input", (e) => { filters.search = e.target.value.trim().toLowerCase(); schedule(); });
$("queue-filter").addEventListener("change", (e) => { filters.queue = e.target.value; schedule(); });
$("node-filter").addEventListener("change", (e) => { filters.node = e.target.value; schedule(); });
$("status-filter").addEventListener("change", (e) => { filters.status = e.target.value; schedule(); });
$("agent-sort").addEventListener("change", (e) => { filters.sort = e.target.value; schedule(); });

const socket = connect("", { transports: ["websocket"], reconnectionDelayMax: 5000 });
socket.on("snapshot", (snap) => {
  applySnapshot(snap.floor);
  resetAgentRows();
  const first = !snapshotSeen;
  snapshotSeen = true;
  if (first) loadConsole(); // once at load; events keep it current from then on
  else if (disconnected) loadConsole(); // back after an outage: tiers may have moved
  disconnected = false;
  if (consoleLoaded) root.dataset.ready = "true";
  schedule();
});
// The floor's changes come batched (every 20 ms, the latest view of each agent, call and
// queue, and every call that ended); the agent / call events of a supervisor's own agent
// room carry nothing a batch does not.
socket.on("floor_batch", (batch) => {
  for (const uuid of applyBatch(batch)) eavesdrop.callEnded(uuid);
  schedule();
});
socket.on("tiers", (payload) => { if (payload?.items) { store.tiers = payload.items; schedule(); } });
socket.on("link", (link) => {
  banner.dataset.kind = "";
  banner.hidden = link.connected;
  banner.textContent = link.connected ? "" : `FreeSWITCH is unreachable (${link.state}); reconnecting…`;
});
socket.on("disconnect", () => {
  disconnected = true;
  banner.hidden = false;
  banner.dataset.kind = "server";
  banner.textContent = "The server is unreachable; reconnecting…";
});
socket.on("connect", () => { banner.hidden = true; });
socket.on("connect_error", () => {
  if (!socket.active) window.location.assign(url(`/login?next=${encodeURIComponent(url("/supervisor"))}`)); // signed out
});

// Timers tick once a second without redrawing anything else.
setInterval(() => tick(root), 1000);
