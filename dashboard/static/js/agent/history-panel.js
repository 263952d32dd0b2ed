// Recent calls from GET history: newest first, with outcome and disposition.

import { byTestId, setError, setShown } from "./dom.js";
import { callerName, clock, duration, queueName } from "./format.js";

function span(testid, text, className) {
  const element = document.createElement("span");
  element.dataset.testid = testid;
  element.textContent = text ?? "";
  if (className) {
    element.className = className;
  }
  return element;
}

function item(stored, labels, saved) {
  // What this page saved shows at once, until the history read back carries it.
  const call = stored.disposition ? stored : { ...stored, ...(saved.get(stored.call_uuid) ?? {}) };
  const li = document.createElement("li");
  li.className = "history-item";
  li.dataset.testid = "history-item";
  li.dataset.callUuid = call.call_uuid;
  const talk = duration(call.talk_seconds);
  const hold = call.hold_seconds > 0 ? duration(call.hold_seconds) : null;
  const outcome = call.outcome === "transferred" && call.transfer_destination
    ? `transferred to ${call.transfer_destination}`
    : call.outcome || "in progress";
  const disposition = call.disposition ? labels.get(call.disposition) || call.disposition : "";
  li.append(
    span("history-time", clock(call.ended_at || call.answered_at || call.joined_at), "when"),
    span("history-caller", `${callerName(call)} ${call.cid_number}`.trim(), "who"),
    span("history-outcome", [outcome, queueName(call.queue)].filter(Boolean).join(" · "), "outcome"),
    // Talk excludes hold; both are shown, so a call mostly on hold does not read as short.
    span("history-talk", talk ? `talk ${talk}` : "", "talk"),
    span("history-hold", hold ? `hold ${hold}` : "", "hold"),
    span("history-disposition", disposition || "no disposition", disposition ? "disposition" : "disposition none"),
  );
  if (call.notes) {
    li.append(span("history-notes", call.notes, "notes"));
  }
  return li;
}

export function mountHistoryPanel(root) {
  const el = {
    list: byTestId(root, "history-list"),
    empty: byTestId(root, "history-empty"),
    error: byTestId(root, "history-error"),
  };
  let history;
  let dispositions;
  let saved;
  return function render(state) {
    setError(el.error, state.errors.history);
    if (state.history === history && state.dispositions === dispositions && state.saved === saved) {
      return;
    }
    history = state.history;
    dispositions = state.dispositions;
    saved = state.saved;
    const labels = new Map(dispositions.map((d) => [d.code, d.label]));
    const items = history ?? [];
    setShown(el.empty, history !== null && items.length === 0);
    el.list.replaceChildren(...items.map((call) => item(call, labels, saved)));
  };
}
