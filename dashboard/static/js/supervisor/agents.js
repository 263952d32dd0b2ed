// The agents grid: one row per agent, live; filtered by queue, status and a search, sorted
// as chosen. Rows are rebuilt only when what they show changed (a floor of thousands of
// agents gets many events a second); timers tick by themselves (format.tick).

import { caller, el, reconcile, statusClass, timer, unreachableReason } from "./format.js";
import {
  answeredToday, callOf, callState, displayName, extensionOf, nodesShown, onCall, store, tiersOf,
} from "./store.js";

const rows = new Map(); // agent -> {signature, tr}

function statusCell(view) {
  if (view.reachable === false) {
    // The status it had before its node went down stays visible beside the badge.
    const box = el("span", null, { class: "unreachable-cell" });
    box.append(el("span", "Unreachable", {
      class: "chip status-unreachable", "data-testid": "unreachable", title: unreachableReason(view),
    }));
    if (view.last_status) box.append(el("span", `last: ${view.last_status}`, { class: "muted", "data-testid": "last-status" }));
    return box;
  }
  const chip = el("span", view.status, { class: `chip status-${statusClass(view.status)}` });
  if (onCall(view.name)) chip.classList.add("on-call");
  return chip;
}

function callCell(view) {
  const call = callOf(view.name);
  if (!call) return el("span", "–", { class: "muted" });
  const box = el("span", null, { class: "call-cell" });
  box.append(el("span", caller(call), { class: "who" }));
  if (call.queue) box.append(el("span", call.queue, { class: "muted" }));
  const state = callState(call);
  if (call.answered_at) {
    const talk = el("span", null, { class: "talk" });
    talk.append(timer(call.answered_at));
    box.append(talk);
  }
  const flag = el("span", state, { class: `flag flag-${state}`, "data-testid": "call-state" });
  if (call.consult?.destination) flag.textContent = `consulting ${call.consult.destination}`;
  box.append(flag);
  return box;
}

function signature(view) {
  const call = callOf(view.name);
  return JSON.stringify([
    view, nodesShown(), displayName(view.name), extensionOf(view.name), answeredToday(view.name),
    call && [call.uuid, call.cid_name, call.cid_number, call.queue, call.answered_at, call.held,
      call.consult?.destination, call.consult?.state, call.transferred_at, call.offered_at],
  ]);
}

function cell(label, content) {
  const td = el("td", null, { "data-label": label });
  if (content instanceof Node) td.append(content);
  else td.textContent = content ?? "";
  return td;
}

function buildRow(view, onManage) {
  const tr = el("tr", null, { "data-agent": view.name, class: `agent-row status-${statusClass(view.status)}` });
  if (view.reachable === false) tr.classList.add("unreachable");
  const who = el("span", null, { class: "agent-name" });
  who.append(el("strong", displayName(view.name), { "data-testid": "agent-name" }));
  if (displayName(view.name) !== view.name) who.append(el("span", view.name, { class: "muted agent-id" }));
  const since = view.status_since ?? view.state_since;
  const manage = el("button", "Manage", { type: "button", class: "secondary", "data-testid": "manage" });
  manage.addEventListener("click", () => onManage(view.name));
  const missed = el("span", String(view.missed_in_a_row), { class: view.missed_in_a_row ? "warn" : "" });
  const phone = view.phone_online == null ? "unknown" : view.phone_online ? "registered" : "offline";
  const status = cell("Status", statusCell(view));
  status.className = "status-col";
  const node = cell("Node", view.node ?? "–");
  node.dataset.col = "node";
  node.dataset.testid = "agent-node";
  node.hidden = !nodesShown();
  tr.append(
    cell("Agent", who),
    node,
    cell("Ext.", extensionOf(view.name)),
    status,
    cell("State", view.state),
    cell("Reason", view.pause_reason || ""),
    cell("In status", timer(since)),
    cell("Current call", callCell(view)),
    cell("Answered today", el("span", String(answeredToday(view.name)), { "data-testid": "answered-today" })),
    cell("Missed", missed),
    cell("Phone", el("span", phone, { class: `phone phone-${phone}` })),
    cell("", manage),
  );
  // Highlights by the thresholds: a long pause, a long call (the tick turns them on).
  const call = callOf(view.name);
  if (view.status === "On Break" && view.status_since) {
    tr.dataset.longAt = String(view.status_since + store.longPause);
  } else if (call?.answered_at) {
    tr.dataset.longAt = String(call.answered_at + store.longCall);
  }
  tr.classList.toggle("long", tr.dataset.longAt != null && Date.now() / 1000 >= Number(tr.dataset.longAt));
  return tr;
}

const STATUS_ORDER = { Available: 0, "Available (On Demand)": 1, "On Break": 2, "Logged Out": 3 };

function sorter(kind) {
  const byName = (a, b) => displayName(a.name).localeCompare(displayName(b.name)) || a.name.localeCompare(b.name);
  if (kind === "status") {
    return (a, b) => (onCall(b.name) - onCall(a.name))
      || (STATUS_ORDER[a.status] ?? 9) - (STATUS_ORDER[b.status] ?? 9) || byName(a, b);
  }
  if (kind === "time") return (a, b) => (a.status_since ?? Infinity) - (b.status_since ?? Infinity) || byName(a, b);
  if (kind === "answered") return (a, b) => answeredToday(b.name) - answeredToday(a.name) || byName(a, b);
  if (kind === "missed") return (a, b) => b.missed_in_a_row - a.missed_in_a_row || byName(a, b);
  return byName;
}

function matches(view, { search, queue, status, node }) {
  if (node && view.node !== node) return false;
  if (queue && !tiersOf(view.name).some((t) => t.queue === queue)) return false;
  if (status === "on-call" && !onCall(view.name)) return false;
  if (status === "signed-in" && view.status === "Logged Out") return false;
  if (status && !["on-call", "signed-in"].includes(status) && view.status !== status) return false;
  if (search) {
    const hay = `${displayName(view.name)} ${store.people.get(view.name)?.username ?? ""} ${view.name} ${extensionOf(view.name)}`;
    if (!hay.toLowerCase().includes(search)) return false;
  }
  return true;
}

/** Draw the grid; rows whose content did not change are kept as they are. */
export function renderAgents(root, filters, onManage) {
  const table = root.querySelector("[data-testid=agents]");
  const tbody = table.querySelector("tbody");
  table.querySelector("thead [data-col=node]").hidden = !nodesShown();
  table.classList.toggle("with-node", nodesShown());
  const shown = [];
  for (const view of store.agents.values()) {
    let entry = rows.get(view.name);
    const sig = signature(view);
    if (!entry || entry.signature !== sig) {
      entry = { signature: sig, tr: buildRow(view, onManage) };
      rows.set(view.name, entry);
    }
    if (matches(view, filters)) shown.push(view);
  }
  for (const name of rows.keys()) {
    if (!store.agents.has(name)) rows.delete(name);
  }
  shown.sort(sorter(filters.sort));
  const wanted = shown.map((v) => rows.get(v.name).tr);
  reconcile(tbody, wanted);
  root.querySelector("[data-testid=agents-empty]").hidden = wanted.length > 0;
  root.querySelector("[data-testid=agent-count]").textContent = `(${wanted.length} of ${store.agents.size})`;
}

/** Forget every cached row (names, tiers or thresholds changed: all rows differ). */
export function resetAgentRows() {
  rows.clear();
}
