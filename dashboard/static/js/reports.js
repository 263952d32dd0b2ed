// The reports page: the numbers over time from /call-center/api/reports/* for a period of
// whole days (today unless the address or the form says otherwise), as tables, charts
// (Chart.js, served from node_modules) and CSV downloads of the same query.
// Loaded on demand (the form, Today); nothing here polls.
import { API } from "./mount.js";

const PREFIX = `${API}/reports`;
const Chart = window.Chart;
const COLORS = { answered: "#2e7d32", abandoned: "#c62828", other: "#b26a00", accent: "#1565c0",
  muted: "#5b6b7b", palette: ["#1565c0", "#2e7d32", "#b26a00", "#c62828", "#6a1b9a", "#00838f",
    "#5d4037", "#ad1457", "#455a64", "#827717"] };
const charts = {};
const form = document.getElementById("period");
const status = document.getElementById("report-status");
const browserZone = Intl.DateTimeFormat().resolvedOptions().timeZone || "";
let serverZone = null; // known after the first report asked without a zone

// -- formatting ---------------------------------------------------------------------------

function pct(x) { return x == null ? "–" : `${Math.round(x * 1000) / 10}%`; }
function secs(x) {
  if (x == null) return "–";
  if (x < 60) return `${Math.round(x)} s`;
  const m = Math.floor(x / 60);
  const s = Math.round(x % 60);
  return `${m}:${String(s).padStart(2, "0")}`;
}
function hours(x) {
  if (x == null) return "–";
  const total = Math.round(x / 60);
  return `${Math.floor(total / 60)} h ${String(total % 60).padStart(2, "0")} m`;
}
function num(x, digits = 1) { return x == null ? "–" : (Math.round(x * 10 ** digits) / 10 ** digits).toString(); }

function cell(label, text, numeric = false) {
  const td = document.createElement("td");
  td.dataset.label = label;
  td.textContent = text ?? "";
  if (numeric) td.className = "num";
  return td;
}

function fill(testid, rows, empty) {
  const body = document.querySelector(`[data-testid=${testid}] tbody`);
  const columns = document.querySelectorAll(`[data-testid=${testid}] thead th`).length;
  if (rows.length === 0) {
    const tr = document.createElement("tr");
    const td = cell("", empty);
    td.colSpan = columns;
    td.className = "empty";
    tr.append(td);
    body.replaceChildren(tr);
    return;
  }
  body.replaceChildren(...rows);
}

/** The table's node column (several FreeSWITCH nodes: rows name theirs), shown when any
 * row names a node; returns whether it is. */
function nodeColumn(testid, rows) {
  const shown = rows.some((row) => row.node);
  document.querySelector(`[data-testid=${testid}] thead [data-col=node]`).hidden = !shown;
  return shown;
}

/** The row's node cell, only when the column is shown (one node: the rows as before). */
function nodeCells(row, shown) {
  if (!shown) return [];
  const td = cell("node", row.node ?? "–");
  td.dataset.col = "node";
  return [td];
}

// -- the period ---------------------------------------------------------------------------

function query() {
  const wanted = new URLSearchParams(location.search);
  const out = new URLSearchParams();
  for (const key of ["from", "to", "tz"]) {
    const value = wanted.get(key);
    if (value) out.set(key, value);
  }
  return out;
}

function zoneOptions() {
  const select = form.elements.tz;
  const chosen = query().get("tz") || "";
  const options = [["", `server (${serverZone || "…"})`]];
  if (browserZone && browserZone !== serverZone) options.push([browserZone, `this browser (${browserZone})`]);
  if (chosen && !options.some(([v]) => v === chosen)) options.push([chosen, chosen]);
  select.replaceChildren(...options.map(([value, text]) => {
    const option = document.createElement("option");
    option.value = value;
    option.textContent = text;
    return option;
  }));
  select.value = chosen;
}

async function get(path, params) {
  let response;
  try {
    response = await fetch(`${PREFIX}/${path}?${params}`, { credentials: "same-origin", headers: { Accept: "application/json" } });
  } catch {
    throw new Error("The server is unreachable; try again in a moment.");
  }
  const data = await response.json().catch(() => null);
  if (!response.ok) throw new Error(data?.error?.message || `${response.status} ${response.statusText}`);
  return data;
}

// -- charts -------------------------------------------------------------------------------

function draw(name, config) {
  if (!Chart) return; // the library did not load: the tables still say everything
  const canvas = document.getElementById(`chart-${name}`);
  charts[name]?.destroy();
  config.options = { responsive: true, maintainAspectRatio: false, animation: false, ...config.options };
  charts[name] = new Chart(canvas, config);
  canvas.dataset.ready = "true";
}

function hourLabel(iso, oneDay) {
  // "2026-04-07T09:00:00+02:00": the server's local hour, as the server wrote it.
  return oneDay ? iso.slice(11, 16) : `${iso.slice(5, 10)} ${iso.slice(11, 16)}`;
}

// -- rendering ----------------------------------------------------------------------------

function renderQueues(report) {
  const t = report.total;
  for (const el of document.querySelectorAll("[data-tile]")) {
    const key = el.dataset.tile;
    const value = t[key];
    el.textContent = key.includes("rate") || key === "service_level" ? pct(value)
      : key.startsWith("average") ? secs(value) : String(value ?? "–");
  }
  const nodes = nodeColumn("report-queues", report.queues);
  fill("report-queues", report.queues.map((q) => {
    const tr = document.createElement("tr");
    tr.dataset.queue = q.queue;
    if (q.node) tr.dataset.node = q.node;
    tr.append(cell("queue", q.queue), ...nodeCells(q, nodes), cell("offered", q.offered, true), cell("answered", q.answered, true),
      cell("abandoned", q.abandoned, true), cell("timed out", q.timed_out, true),
      cell("service level", pct(q.service_level), true), cell("threshold", `${q.service_level_seconds} s`, true),
      cell("abandon rate", pct(q.abandon_rate), true), cell("avg answer", secs(q.average_speed_of_answer), true),
      cell("avg handle", secs(q.average_handle_time), true), cell("avg hold", secs(q.average_hold), true),
      cell("avg ACW", secs(q.average_acw), true));
    return tr;
  }), "No queue calls in this period.");
  draw("queues", {
    type: "bar",
    data: {
      labels: report.queues.map((q) => (nodes && q.node ? `${q.queue} (${q.node})` : q.queue)),
      datasets: [
        { label: "service level %", backgroundColor: COLORS.answered, data: report.queues.map((q) => q.service_level == null ? null : q.service_level * 100) },
        { label: "abandon rate %", backgroundColor: COLORS.abandoned, data: report.queues.map((q) => q.abandon_rate == null ? null : q.abandon_rate * 100) },
      ],
    },
    options: { scales: { y: { beginAtZero: true, max: 100 } } },
  });
}

function renderHourly(report) {
  const oneDay = report.period.first === report.period.last;
  const index = new Map(report.hours.map((h, i) => [h, i]));
  const answered = report.hours.map(() => 0);
  const abandoned = report.hours.map(() => 0);
  const other = report.hours.map(() => 0);
  for (const item of report.items) {
    const i = index.get(item.hour);
    if (i === undefined) continue;
    answered[i] += item.answered;
    abandoned[i] += item.abandoned;
    other[i] += item.offered - item.answered - item.abandoned;
  }
  draw("hourly", {
    type: "bar",
    data: {
      labels: report.hours.map((h) => hourLabel(h, oneDay)),
      datasets: [
        { label: "answered", backgroundColor: COLORS.answered, data: answered },
        { label: "abandoned", backgroundColor: COLORS.abandoned, data: abandoned },
        { label: "timed out / other", backgroundColor: COLORS.other, data: other },
      ],
    },
    options: { scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } } },
  });
  fill("report-hourly", report.items.map((h) => {
    const tr = document.createElement("tr");
    tr.append(cell("hour", hourLabel(h.hour, oneDay)), cell("queue", h.queue), cell("offered", h.offered, true),
      cell("answered", h.answered, true), cell("within threshold", h.answered_within_sl, true),
      cell("abandoned", h.abandoned, true));
    return tr;
  }), "No queue calls in this period.");
}

function renderAgents(report) {
  const nodes = nodeColumn("report-agents", report.agents);
  fill("report-agents", report.agents.map((a) => {
    const tr = document.createElement("tr");
    tr.dataset.agent = a.agent;
    const who = a.name && a.name !== a.agent ? `${a.name} (${a.agent})` : a.agent;
    tr.append(cell("agent", who), ...nodeCells(a, nodes), cell("answered", a.answered, true), cell("avg handle", secs(a.average_handle_time), true),
      cell("talk", hours(a.talk_seconds), true), cell("hold", hours(a.hold_seconds), true),
      cell("ACW", hours(a.acw_seconds ?? 0), true), cell("signed in", hours(a.signed_in_seconds), true), cell("paused", hours(a.paused_seconds), true),
      cell("occupancy", pct(a.occupancy), true), cell("calls / hour", num(a.calls_per_hour), true));
    return tr;
  }), "No agent activity in this period.");
  draw("agents", {
    type: "bar",
    data: {
      labels: report.agents.map((a) => a.name || a.agent),
      datasets: [{ label: "occupancy %", backgroundColor: COLORS.accent, data: report.agents.map((a) => a.occupancy == null ? null : a.occupancy * 100) }],
    },
    options: { indexAxis: "y", scales: { x: { beginAtZero: true, max: 100 } } },
  });
}

function renderPauses(report) {
  const byReason = new Map();
  for (const p of report.items) byReason.set(p.reason || "(no reason)", (byReason.get(p.reason || "(no reason)") ?? 0) + p.seconds);
  const reasons = [...byReason.keys()];
  draw("pauses", {
    type: "bar",
    data: {
      labels: reasons,
      datasets: [{ label: "minutes on break", backgroundColor: reasons.map((_, i) => COLORS.palette[i % COLORS.palette.length]),
        data: reasons.map((r) => Math.round(byReason.get(r) / 6) / 10) }],
    },
    options: { plugins: { legend: { display: false } }, scales: { y: { beginAtZero: true } } },
  });
  fill("report-pauses", report.items.map((p) => {
    const tr = document.createElement("tr");
    const who = p.name && p.name !== p.agent ? `${p.name} (${p.agent})` : p.agent;
    tr.append(cell("agent", who), cell("reason", p.reason || "(no reason)"), cell("time", hours(p.seconds), true),
      cell("times", p.times, true));
    return tr;
  }), "No pauses in this period.");
}

async function load() {
  const params = query();
  status.classList.remove("error");
  status.textContent = "Loading…";
  document.body.dataset.loaded = "false";
  for (const link of document.querySelectorAll("[data-csv]")) {
    link.href = `${PREFIX}/${link.dataset.csv}.csv?${params}`;
  }
  try {
    const [queues, hourly, agents, pauses] = await Promise.all([
      get("queues", params), get("hourly", params), get("agents", params), get("pauses", params)]);
    const period = queues.period;
    form.elements.from.value = period.first;
    form.elements.to.value = period.last;
    if (!params.get("tz")) serverZone = period.tz;
    zoneOptions();
    renderQueues(queues);
    renderHourly(hourly);
    renderAgents(agents);
    renderPauses(pauses);
    const days = period.first === period.last ? period.first : `${period.first} to ${period.last}`;
    status.textContent = `${days}, ${period.tz} time. Loaded ${new Date().toLocaleTimeString()}.`;
    document.body.dataset.loaded = "true";
  } catch (err) {
    status.textContent = err.message;
    status.classList.add("error");
    document.body.dataset.loaded = "error";
  }
}

function go(params) {
  history.replaceState(null, "", params.toString() ? `?${params}` : location.pathname);
  load();
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  const params = new URLSearchParams();
  const from = form.elements.from.value;
  const to = form.elements.to.value;
  if (from) params.set("from", from);
  if (to) params.set("to", to);
  if (form.elements.tz.value) params.set("tz", form.elements.tz.value);
  go(params);
});
document.getElementById("today").addEventListener("click", () => {
  const params = new URLSearchParams();
  if (form.elements.tz.value) params.set("tz", form.elements.tz.value);
  go(params);
});

zoneOptions();
load();
