// The queues panel: one card per queue with its live numbers (waiting now, longest wait,
// staff, offered / answered / abandoned, service level against the queue's threshold,
// ASA, AHT, average hold), its strategy, its tiers and the callers waiting in line.

import { caller, el, pct, secs, timer } from "./format.js";
import { displayName, queueNames, queueStaff, store, waitingCalls } from "./store.js";

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
  head.append(el("span", settings?.strategy || "", { class: "muted", "data-testid": "queue-strategy" }));
  card.append(head);
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
  const list = el("ul", null, { "data-testid": "queue-tiers" });
  for (const tier of tiers) {
    const view = store.agents.get(tier.agent);
    const li = el("li", null, { "data-agent": tier.agent });
    li.append(el("span", displayName(tier.agent)), el("span", `level ${tier.level} · position ${tier.position}`, { class: "muted" }));
    if (view) li.append(el("span", view.status, { class: "muted" }));
    list.append(li);
  }
  details.append(list);
  card.append(details);
  return card;
}

/** Draw every queue card (few queues: rebuilt whole; open tier lists stay open). */
export function renderQueues(root) {
  const box = root.querySelector("[data-testid=queues]");
  const open = new Set([...box.querySelectorAll("article[data-queue] details[open]")]
    .map((d) => d.closest("article").dataset.queue));
  const cards = queueNames().map((name) => {
    const card = queueCard(name);
    if (open.has(name)) card.querySelector("details").open = true;
    return card;
  });
  box.replaceChildren(...cards);
}
