// Calls in progress: every live call with its queue, caller, agent, state (queued,
// ringing, talking, held, consulting, transferred) and its times, ticking; with several
// FreeSWITCH nodes, the node carrying it.

import { caller, duration, el, reconcile, timer } from "./format.js";
import { callState, displayName, nodesShown, store } from "./store.js";

function cell(label, content) {
  const td = el("td", null, { "data-label": label });
  if (content instanceof Node) td.append(content);
  else td.textContent = content ?? "";
  return td;
}

function holdCell(call) {
  if (call.held && call.held_since) return timer(call.held_since, call.hold_seconds || 0);
  return el("span", call.hold_seconds ? duration(call.hold_seconds) : "–");
}

const rows = new Map(); // call uuid -> {signature, tr}

function buildRow(call) {
  const state = callState(call);
  const tr = el("tr", null, { "data-call": call.uuid, class: `call-row call-${state}` });
  const waited = call.answered_at && call.joined_at
    ? timer(null, call.answered_at - call.joined_at)
    : timer(call.joined_at);
  const agent = call.agent ? displayName(call.agent) : "–";
  const flag = el("span", state, { class: `flag flag-${state}`, "data-testid": "call-state" });
  if (state === "consulting" && call.consult?.destination) flag.textContent = `consulting ${call.consult.destination}`;
  if (store.eavesdrop?.call_uuid === call.uuid) {
    flag.append(el("span", ` · you: ${store.eavesdrop.mode}`, { class: "muted" }));
  }
  if (call.answered_at) tr.dataset.longAt = String(call.answered_at + store.longCall);
  const node = cell("Node", call.node ?? "–");
  node.dataset.col = "node";
  node.dataset.testid = "call-node";
  node.hidden = !nodesShown();
  tr.append(
    cell("Caller", caller(call)),
    cell("Queue", call.queue || (call.direction === "outbound" ? "dial-out" : "–")),
    node,
    cell("Agent", agent),
    cell("State", flag),
    cell("Waited", call.direction === "outbound" ? "–" : waited),
    cell("Talking", call.answered_at ? timer(call.answered_at) : "–"),
    cell("On hold", holdCell(call)),
  );
  return tr;
}

/** Draw the calls, oldest first; a row is rebuilt only when its call changed. */
export function renderCalls(root) {
  const table = root.querySelector("[data-testid=calls]");
  const tbody = table.querySelector("tbody");
  table.querySelector("thead [data-col=node]").hidden = !nodesShown();
  const calls = [...store.calls.values()].sort((a, b) => (a.joined_at ?? 0) - (b.joined_at ?? 0));
  const mine = store.eavesdrop?.call_uuid;
  const wanted = calls.map((call) => {
    const sig = JSON.stringify([call, call.agent && displayName(call.agent),
      mine === call.uuid ? store.eavesdrop.mode : null, store.longCall, nodesShown()]);
    let entry = rows.get(call.uuid);
    if (!entry || entry.signature !== sig) {
      entry = { signature: sig, tr: buildRow(call) };
      rows.set(call.uuid, entry);
    }
    return entry.tr;
  });
  for (const uuid of rows.keys()) {
    if (!store.calls.has(uuid)) rows.delete(uuid);
  }
  reconcile(tbody, wanted);
  root.querySelector("[data-testid=calls-empty]").hidden = calls.length > 0;
  root.querySelector("[data-testid=call-count]").textContent = calls.length ? `(${calls.length})` : "";
}
