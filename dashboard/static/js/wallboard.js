// The wallboard: a TV on the floor. The floor (agents, calls, queues) comes pushed over
// Socket.IO — the snapshot, then `agent` / `call` / `call_ended` / `queue` events — and
// today's totals (service level, answered, abandoned) from the report API: read once at
// load, again when a queue call ends (the recorder has written it by then), after a
// reconnect, and at the instant the day ends. Who is in which queue comes from the
// supervisor console's read (FreeSWITCH's tier list) at load, then pushed (`tiers`).
// Nothing polls; the one-second timer only redraws the clock and the waits that tick.
// With several FreeSWITCH nodes a tile names its queue's node.
import { API, connect } from "./mount.js";

const AVAILABLE = new Set(["Available", "Available (On Demand)"]);
const REFRESH_AFTER_CALL_MS = 1500; // the call's record is written off the hub meanwhile

const agents = new Map();
const calls = new Map();
const queues = new Map();
let tiers = new Map(); // queue -> Set(agent)
let today = null; // the report of today: {period, queues, total}
let refreshTimer = null;
let midnightTimer = null;
const board = document.querySelector("[data-testid=wb-queues]");
const banner = document.getElementById("wb-banner");

// -- formatting ---------------------------------------------------------------------------

function clock(seconds) {
  if (seconds == null || !Number.isFinite(seconds)) return "–";
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = String(s % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${rest}` : `${m}:${rest}`;
}
function pct(x) { return x == null ? "–" : `${Math.round(x * 100)}%`; }
function shortName(queue) { return queue.replace(/@default$/, ""); }

// -- what the board shows -----------------------------------------------------------------

function waitingCalls(queue) {
  return [...calls.values()].filter((c) => c.queue === queue && c.answered_at == null && c.ended_at == null && c.joined_at != null);
}

function onCall(name) {
  for (const c of calls.values()) if (c.agent === name && c.answered_at != null && c.ended_at == null) return true;
  return false;
}

function kind(agent, now) {
  if (agent.reachable === false) return "out"; // its FreeSWITCH node is down: takes no call
  if (agent.state === "In a queue call" || onCall(agent.name)) return "talking";
  if (agent.state === "Receiving") return "ringing";
  if (agent.status === "Logged Out") return "out";
  if (agent.status === "On Break") return "paused";
  if (agent.wrap_up_until && agent.wrap_up_until > now) return "wrapup";
  return "ready";
}

function availableIn(queue, now) {
  const members = tiers.get(queue);
  if (!members) return 0;
  let n = 0;
  for (const name of members) {
    const a = agents.get(name);
    if (a && AVAILABLE.has(a.status) && a.state === "Waiting" && !a.call_uuid && kind(a, now) === "ready") n += 1;
  }
  return n;
}

function todayOf(queue) {
  // Several FreeSWITCH nodes: a queue of one name on two nodes is two report rows; the
  // tile's are those of the node it names.
  const rows = today?.queues.filter((q) => q.queue === queue) ?? [];
  const node = queues.get(queue)?.node;
  return rows.find((q) => node && q.node === node) ?? rows[0] ?? null;
}

function threshold(queue) {
  return todayOf(queue)?.service_level_seconds || queues.get(queue)?.service_level_seconds || 20;
}

function metric(field, label) {
  const box = document.createElement("div");
  box.className = "wb-metric";
  box.dataset.metric = field;
  const n = document.createElement("span");
  n.className = "n";
  n.dataset.field = field;
  const l = document.createElement("span");
  l.className = "l";
  l.textContent = label;
  box.append(n, l);
  return box;
}

function card(queue) {
  let el = board.querySelector(`[data-queue="${CSS.escape(queue)}"]`);
  if (el) return el;
  el = document.createElement("article");
  el.className = "wb-queue";
  el.dataset.queue = queue;
  const title = document.createElement("h2");
  title.textContent = shortName(queue);
  title.title = queue;
  const node = document.createElement("span");
  node.className = "wb-node";
  node.dataset.testid = "wb-node";
  node.hidden = true;
  title.append(node);
  el.append(title, metric("waiting", "waiting"), metric("longest", "longest wait"),
    metric("available", "available"), metric("service_level", "service level today"),
    metric("answered", "answered today"), metric("abandoned", "abandoned today"));
  return el;
}

function set(el, field, text, level = "") {
  const n = el.querySelector(`[data-field=${field}]`);
  if (n.textContent !== text) n.textContent = text;
  n.parentElement.dataset.level = level;
}

function queueNames() {
  const names = new Set([...queues.keys(), ...tiers.keys()]);
  for (const q of today?.queues ?? []) names.add(q.queue);
  for (const c of calls.values()) if (c.queue) names.add(c.queue);
  return [...names].sort((a, b) => a.localeCompare(b));
}

/** With several FreeSWITCH nodes (ESL_NODES) each queue's tile names its node, and says
 * so while that node is down (its figures are then the last it reported). */
function showNode(el, live, several) {
  const node = el.querySelector("[data-testid=wb-node]");
  const down = live?.reachable === false;
  const text = several && live?.node ? ` · ${live.node}${down ? " (unreachable)" : ""}` : "";
  if (node.textContent !== text) node.textContent = text;
  node.hidden = !text;
  el.classList.toggle("unreachable", several && down);
}

function render() {
  const now = Date.now() / 1000;
  const several = [...queues.values(), ...agents.values()].some((v) => v.node);
  const cards = queueNames().map((name) => {
    const el = card(name);
    showNode(el, queues.get(name), several);
    const waiting = waitingCalls(name);
    const live = queues.get(name);
    const count = live ? live.waiting : waiting.length;
    const oldest = waiting.reduce((min, c) => Math.min(min, c.joined_at), Infinity);
    const longest = Number.isFinite(oldest) ? now - oldest : null;
    const limit = threshold(name);
    set(el, "waiting", String(count), count > 0 ? "warn" : "");
    set(el, "longest", longest == null ? "–" : clock(longest),
      longest == null ? "" : longest > 2 * limit ? "bad" : longest > limit ? "warn" : "");
    const free = availableIn(name, now);
    set(el, "available", String(free), free === 0 && count > 0 ? "bad" : "");
    const day = todayOf(name);
    const sl = day?.service_level ?? null;
    set(el, "service_level", pct(sl), sl == null ? "" : sl >= 0.8 ? "good" : sl >= 0.6 ? "warn" : "bad");
    set(el, "answered", String(day?.answered ?? 0));
    set(el, "abandoned", String(day?.abandoned ?? 0), (day?.abandoned ?? 0) > 0 ? "warn" : "");
    return el;
  });
  board.dataset.many = String(cards.length > 6);
  const current = [...board.children];
  if (current.length !== cards.length || current.some((el, i) => el !== cards[i])) board.replaceChildren(...cards);

  const counts = { ready: 0, talking: 0, ringing: 0, wrapup: 0, paused: 0, out: 0 };
  for (const a of agents.values()) counts[kind(a, now)] += 1;
  for (const [key, n] of Object.entries(counts)) {
    const el = document.querySelector(`[data-count=${key}]`);
    if (el.textContent !== String(n)) el.textContent = String(n);
  }
  const time = document.querySelector("[data-testid=wb-clock]");
  time.textContent = new Date().toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
  if (today) document.querySelector("[data-testid=wb-day]").textContent = `today ${today.period.first} (${today.period.tz})`;
}

// -- today's totals and who is in which queue (the API, on events only) --------------------

async function fetchJson(path) {
  const response = await fetch(API + path, { credentials: "same-origin", headers: { Accept: "application/json" } });
  if (!response.ok) throw new Error(`${path}: ${response.status}`);
  return response.json();
}

function setTiers(items) {
  const next = new Map();
  for (const t of items ?? []) {
    if (!next.has(t.queue)) next.set(t.queue, new Set());
    next.get(t.queue).add(t.agent);
  }
  tiers = next;
}

async function refreshTiers() {
  try {
    setTiers((await fetchJson("/supervisor/console")).tiers);
  } catch (err) {
    console.warn("wallboard: tiers not read", err); // "available" stays as it was
  }
  render();
}

async function refreshTotals() {
  refreshTimer = null;
  try {
    const report = await fetchJson("/reports/queues");
    today = report;
    // The day ends at the period's end: then the totals start again from zero.
    clearTimeout(midnightTimer);
    const endsIn = Date.parse(report.period.end) - Date.now();
    if (endsIn > 0) midnightTimer = setTimeout(refreshTotals, Math.min(endsIn + 1000, 2 ** 31 - 1));
    document.body.dataset.totals = String(report.total.offered);
  } catch (err) {
    // A failed read keeps the last totals; the next ended call tries again.
    console.warn("wallboard: totals not refreshed", err);
  }
  render();
}

function refreshSoon() {
  if (refreshTimer === null) refreshTimer = setTimeout(refreshTotals, REFRESH_AFTER_CALL_MS);
}

// -- the push -----------------------------------------------------------------------------

function say(text) {
  banner.hidden = !text;
  banner.textContent = text || "";
}

const socket = connect("", { transports: ["websocket"] });
let connectedBefore = false;
socket.on("snapshot", (snap) => {
  agents.clear();
  calls.clear();
  queues.clear();
  for (const a of snap.floor?.agents ?? []) agents.set(a.name, a);
  for (const c of snap.floor?.calls ?? []) calls.set(c.uuid, c);
  for (const q of snap.floor?.queues ?? []) queues.set(q.name, q);
  if (connectedBefore) { // calls may have ended, tiers changed, while the link was down
    refreshTotals();
    refreshTiers();
  }
  connectedBefore = true;
  render();
  document.body.dataset.ready = "true";
});
socket.on("tiers", (t) => { if (t.items) { setTiers(t.items); render(); } });
// The floor's changes, batched (see dashboard/events.py): ended calls leave first, then
// the latest view of each agent, call and queue that changed.
socket.on("floor_batch", (batch) => {
  for (const c of batch.ended ?? []) {
    calls.delete(c.uuid);
    if (c.queue) refreshSoon();
  }
  for (const a of batch.agents ?? []) agents.set(a.name, a);
  for (const c of batch.calls ?? []) {
    if (c.ended_at != null) calls.delete(c.uuid); else calls.set(c.uuid, c);
  }
  for (const q of batch.queues ?? []) queues.set(q.name, q);
  render();
});
socket.on("link", (link) => say(link.connected ? "" : `FreeSWITCH is unreachable (${link.state}); reconnecting…`));
socket.on("disconnect", () => say("The server is unreachable; reconnecting…"));
socket.on("connect", () => say(""));

refreshTotals();
refreshTiers();
setInterval(render, 1000); // the clock and the waits tick; the data only comes pushed
