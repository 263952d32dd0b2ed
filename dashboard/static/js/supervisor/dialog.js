// The agent dialog: every action a supervisor takes on one agent. Disruptive ones (status,
// state, queues) ask for confirmation in the dialog first; each answer — or FreeSWITCH's
// refusal, word for word — is shown in the dialog. The server audits every action.

import { api } from "./api.js";
import { caller, el, unreachableReason } from "./format.js";
import { callOf, callState, displayName, extensionOf, queueNames, store, tiersOf } from "./store.js";

// The dialog's buttons that send a command to the agent's FreeSWITCH node.
const FREESWITCH_BUTTONS = ["force-ready", "force-not-ready", "force-logout", "force-state", "move-submit"];

/**
 * @param {HTMLElement} root the page
 * @param {{startEavesdrop: (agent: string, mode: string) => Promise<void>,
 *   tiersChanged: (items: object[]|null) => void}} hooks
 */
export function createDialog(root, hooks) {
  const dialog = root.querySelector("[data-testid=agent-dialog]");
  const $ = (id) => dialog.querySelector(`[data-testid=${id}]`);
  let agent = null;
  let pending = null; // the confirmed action waiting for its Confirm click

  function say(text, bad = false) {
    $("dialog-notice").hidden = bad || !text;
    $("dialog-notice").textContent = bad ? "" : text;
    $("dialog-error").hidden = !bad || !text;
    $("dialog-error").textContent = bad ? text : "";
  }

  async function run(action, done) {
    say("");
    dialog.setAttribute("aria-busy", "true");
    try {
      const reply = await action();
      say(done(reply));
    } catch (error) {
      say(error.message || String(error), true);
    } finally {
      dialog.removeAttribute("aria-busy");
    }
  }

  function confirmThen(text, action, done) {
    pending = () => run(action, done);
    $("confirm-text").textContent = text;
    $("confirm").hidden = false;
    $("confirm-yes").focus();
  }

  $("confirm-yes").addEventListener("click", () => {
    const action = pending;
    pending = null;
    $("confirm").hidden = true;
    action?.();
  });
  $("confirm-no").addEventListener("click", () => {
    pending = null;
    $("confirm").hidden = true;
    say("Cancelled.");
  });

  const who = () => displayName(agent);

  $("force-ready").addEventListener("click", () => confirmThen(
    `Make ${who()} Ready? Calls will be offered at once.`,
    () => api.status(agent, "Available"), () => `${who()} is Ready.`));
  $("force-not-ready").addEventListener("click", () => {
    const reason = $("force-reason-text").value.trim() || $("force-reason").value;
    confirmThen(`Put ${who()} Not Ready (${reason})?`,
      () => api.status(agent, "On Break", reason), () => `${who()} is Not Ready: ${reason}.`);
  });
  $("force-logout").addEventListener("click", () => confirmThen(
    `Log ${who()} out of every queue?`,
    () => api.status(agent, "Logged Out"), () => `${who()} is logged out.`));
  $("force-state").addEventListener("click", () => {
    const state = $("force-state-select").value;
    confirmThen(`Set ${who()}'s state to ${state}?`,
      () => api.state(agent, state), () => `${who()}'s state is now ${state}.`);
  });

  for (const mode of ["listen", "whisper", "barge"]) {
    $(mode).addEventListener("click", () => {
      say("");
      hooks.startEavesdrop(agent, mode).then(
        () => dialog.close(),
        (error) => say(error.message || String(error), true),
      );
    });
  }

  $("move-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const from = $("move-from").value;
    const to = $("move-to").value;
    const level = Number($("move-level").value) || 1;
    const position = Number($("move-position").value) || 1;
    if (!to) {
      say("Choose the queue to move to.", true);
      return;
    }
    const text = from ? `Move ${who()} from ${from} to ${to} (level ${level}, position ${position})?`
      : `Add ${who()} to ${to} (level ${level}, position ${position})?`;
    confirmThen(text,
      () => (from ? api.tierMove(agent, from, to, level, position) : api.tierAdd(to, agent, level, position)),
      (reply) => {
        hooks.tiersChanged(reply?.items ?? null);
        return from ? `${who()} moved to ${to}.` : `${who()} added to ${to}.`;
      });
  });

  $("message-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const input = $("message-text");
    const text = input.value.trim();
    if (!text) return;
    run(() => api.message(agent, text), (reply) => {
      input.value = "";
      return reply.delivered ? `Message shown to ${who()}.`
        : `Message sent, but ${who()} has no page open to show it.`;
    });
  });

  function tierItem(tier) {
    const li = el("li", null, { "data-queue": tier.queue });
    li.append(el("strong", tier.queue));
    const level = el("input", null, { type: "number", min: 1, max: 99, value: tier.level, "aria-label": `Level in ${tier.queue}`, "data-testid": "tier-level" });
    const position = el("input", null, { type: "number", min: 1, max: 999, value: tier.position, "aria-label": `Position in ${tier.queue}`, "data-testid": "tier-position" });
    const save = el("button", "Save", { type: "button", class: "secondary", "data-testid": "tier-save" });
    const remove = el("button", "Remove", { type: "button", class: "bad", "data-testid": "tier-remove" });
    save.addEventListener("click", () => confirmThen(
      `Set ${who()} in ${tier.queue} to level ${level.value}, position ${position.value}?`,
      () => api.tierSet(tier.queue, agent, Number(level.value) || 1, Number(position.value) || 1),
      (reply) => { hooks.tiersChanged(reply?.items ?? null); return `${tier.queue}: saved.`; }));
    remove.addEventListener("click", () => confirmThen(
      `Take ${who()} out of ${tier.queue}?`,
      () => api.tierRemove(tier.queue, agent),
      (reply) => { hooks.tiersChanged(reply?.items ?? null); return `${who()} left ${tier.queue}.`; }));
    const controls = el("span", null, { class: "tier-controls" });
    controls.append(el("label", "level"), level, el("label", "position"), position, save, remove);
    li.append(controls);
    return li;
  }

  // A choice the supervisor made stays chosen while the lists are refreshed.
  function options(select, values) {
    const key = JSON.stringify(values);
    if (select.dataset.key === key) return; // unchanged: leave an open list alone
    select.dataset.key = key;
    const before = select.value;
    select.replaceChildren(...values.map(([value, label]) => el("option", label, { value })));
    if (select.dataset.touched && values.some(([v]) => v === before)) select.value = before;
  }
  for (const id of ["move-from", "move-to", "force-reason", "force-state-select"]) {
    $(id).addEventListener("change", () => { $(id).dataset.touched = "true"; });
  }

  /** Refresh what the dialog shows of its agent (called on every change). */
  function refresh() {
    if (!agent || !dialog.open) return;
    const view = store.agents.get(agent);
    $("dialog-title").textContent = `${displayName(agent)} · ${agent}`;
    const ext = extensionOf(agent);
    const node = view?.node ? ` · node ${view.node}` : "";
    const last = view?.reachable === false && view.last_status ? ` (last: ${view.last_status})` : "";
    $("dialog-summary").textContent = view
      ? `${ext ? `Extension ${ext} · ` : ""}${view.status}${last}${view.pause_reason ? ` (${view.pause_reason})` : ""} · ${view.state}${node}`
      : "FreeSWITCH does not list this agent.";
    const call = callOf(agent);
    $("dialog-call").textContent = call ? `${caller(call)} · ${call.queue || "dial-out"} · ${callState(call)}` : "No call.";
    // Its node down: what goes to FreeSWITCH is refused here, with the reason (a message
    // to the agent's page still goes).
    const down = view?.reachable === false;
    $("dialog-unreachable").hidden = !down;
    $("dialog-unreachable").textContent = down ? unreachableReason(view) : "";
    for (const id of FREESWITCH_BUTTONS) {
      $(id).disabled = down;
      $(id).title = down ? unreachableReason(view) : "";
    }
    for (const mode of ["listen", "whisper", "barge"]) $(mode).disabled = down || !call?.answered_at;
    const tiers = tiersOf(agent);
    const list = $("dialog-tiers");
    const focused = list.contains(document.activeElement);
    if (!focused) {
      list.replaceChildren(...(tiers.length ? tiers.map(tierItem) : [el("li", "In no queue.", { class: "muted" })]));
    }
    for (const button of list.querySelectorAll("button")) button.disabled = down;
    options($("move-from"), [...tiers.map((t) => [t.queue, t.queue]), ["", "— not in a queue (add)"]]);
    const mine = new Set(tiers.map((t) => t.queue));
    options($("move-to"), queueNames().filter((q) => !mine.has(q)).map((q) => [q, q]));
  }

  function open(name) {
    agent = name;
    pending = null;
    $("confirm").hidden = true;
    say("");
    $("message-text").value = "";
    $("force-reason-text").value = "";
    for (const id of ["move-from", "move-to", "force-reason"]) {
      delete $(id).dataset.touched;
      delete $(id).dataset.key;
    }
    options($("force-reason"), store.pauseReasons.map((r) => [r.label, r.label]));
    if (!dialog.open) dialog.showModal();
    refresh();
  }

  return { open, refresh, get agent() { return dialog.open ? agent : null; } };
}
