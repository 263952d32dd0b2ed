// The queues panel: one card per queue with its live numbers (waiting now, longest wait,
// staff, offered / answered / abandoned, service level against the queue's threshold,
// ASA, AHT, average hold), its strategy, its tiers and the callers waiting in line; with
// several FreeSWITCH nodes, its node (dimmed, "Unreachable", while that node is down).

import { caller, el, pct, reconcile, secs, timer, unreachableReason } from "./format.js";
import { displayName, nodesShown, queueNames, queueStaff, store, waitingCalls } from "./store.js";

function fact(label, value, testid) {
  const box = el("div", null, { class: "fact" });
  box.append(el("dt", label));
  const dd = el("dd", null, testid ? { "data-testid": testid } : {});
  if (value instanceof Node) dd.append(value);
  else dd.textContent = value ?? "–";
  box.append(dd);
  return box;
}

function queueCard(name) {
  const q = store.queues.get(name) ?? { name, offered: 0, answered: 0, abandoned: 0, waiting: 0 };
  const settings = store.queueSettings.get(name);
  const staff = queueStaff(name);
  const waiting = waitingCalls(name);
  const threshold = q.service_level_seconds ?? settings?.service_level_seconds;
  const card = el("article", null, { class: "queue-card", "data-queue": name });
  const head = el("header", null, { class: "queue-head" });
  head.append(el("h2", name));
  if (nodesShown()) head.append(el("span", `node ${q.node ?? "–"}`, { class: "queue-node", "data-testid": "queue-node" }));
  head.append(el("span", settings?.strategy || "", { class: "muted", "data-testid": "queue-strategy" }));
  card.append(head);
  if (q.reachable === false) {
    // Its node is down: the numbers are the last ones it reported.
    card.classList.add("unreachable");
    head.append(el("span", "Unreachable", {
      class: "chip status-unreachable", "data-testid": "unreachable", title: unreachableReason(q),
    }));
  }
  if (waiting.length) card.classList.add("has-waiting");

  const facts = el("dl", null, { class: "queue-facts" });
  const oldest = waiting.reduce((min, c) => (c.joined_at != null && c.joined_at < min ? c.joined_at : min), Infinity);
  facts.append(
    fact("Waiting", String(waiting.length), "queue-waiting"),
    fact("Longest wait", Number.isFinite(oldest) ? timer(oldest) : "–", "queue-longest"),
    fact("Available", String(staff.available), "queue-available"),
    fact("On a call", String(staff.onCall), "queue-on-call"),
    fact("Paused", String(staff.paused), "queue-paused"),
    fact("Signed in", `${staff.signedIn} of ${staff.total}`, "queue-signed-in"),
    fact("Offered", String(q.offered), "queue-offered"),
    fact("Answered", String(q.answered), "queue-answered"),
    fact("Abandoned", String(q.abandoned), "queue-abandoned"),
    fact(threshold != null ? `Service level (${Math.round(threshold)} s)` : "Service level",
      pct(q.service_level), "queue-sl"),
    fact("Avg. answer", secs(q.average_speed_of_answer), "queue-asa"),
    fact("Avg. handle", secs(q.average_handle_time), "queue-aht"),
    fact("Avg. hold", secs(q.average_hold_time), "queue-hold"),
  );
  card.append(facts);

  if (waiting.length) {
    const list = el("ol", null, { class: "waiting-list", "data-testid": "queue-callers" });
    waiting.forEach((call, index) => {
      const li = el("li", null, { "data-call": call.uuid });
      li.append(el("span", `#${index + 1}`, { class: "position" }), el("span", caller(call), { class: "who" }));
      li.append(timer(call.joined_at));
      if (call.offered_at) li.append(el("span", "ringing an agent", { class: "muted" }));
      list.append(li);
    });
    card.append(list);
  }

  const tiers = store.tiers.filter((t) => t.queue === name);
  const details = el("details", null, { class: "tiers" });
  details.append(el("summary", `Tiers (${tiers.length})`));
  details.append(tierList(tiers));
  card.append(details);
  return card;
}

/** The queue's agents by level and position, with their status. */
function tierList(tiers) {
  const list = el("ul", null, { "data-testid": "queue-tiers" });
  for (const tier of tiers) {
    const view = store.agents.get(tier.agent);
    const li = el("li", null, { "data-agent": tier.agent });
    li.append(el("span", displayName(tier.agent)), el("span", `level ${tier.level} · position ${tier.position}`, { class: "muted" }));
    if (view) li.append(el("span", view.status, { class: "muted" }));
    list.append(li);
  }
  return list;
}

const cards = new Map(); // queue -> {signature, card}

function signature(name) {
  const staff = queueStaff(name);
  const waiting = waitingCalls(name).map((c) => [c.uuid, c.cid_name, c.cid_number, c.offered_at]);
  const tiers = store.tiers.filter((t) => t.queue === name)
    .map((t) => [t.agent, t.level, t.position, displayName(t.agent), store.agents.get(t.agent)?.status]);
  return JSON.stringify([store.queues.get(name), store.queueSettings.get(name), staff, waiting, tiers,
    nodesShown()]);
}

/** Draw the queue cards; a card is rebuilt only when what it shows changed (open tier
 * lists stay open). */
export function renderQueues(root) {
  const box = root.querySelector("[data-testid=queues]");
  const names = queueNames();
  const wanted = names.map((name) => {
    const sig = signature(name);
    let entry = cards.get(name);
    if (!entry || entry.signature !== sig) {
      const card = queueCard(name);
      if (entry?.card.querySelector("details")?.open) card.querySelector("details").open = true;
      entry = { signature: sig, card };
      cards.set(name, entry);
    }
    return entry.card;
  });
  for (const name of cards.keys()) {
    if (!names.includes(name)) cards.delete(name);
  }
  reconcile(box, wanted);
}
