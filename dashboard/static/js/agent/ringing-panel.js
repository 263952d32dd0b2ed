// The ringing popup: shown while FreeSWITCH reports a call ringing for this agent (state
// Receiving), or the softphone rings. Caller and customer come from POST call/ringing (or
// customer/lookup for a softphone call); the popup never waits for them.

import { byTestId, setDisabled, setError, setShown, setText } from "./dom.js";
import { callerName, queueName } from "./format.js";
import { isBusy, isStale, ringingUuid } from "./state.js";

/** What is ringing: {key, source: "queue"|"phone", uuid?, from?, displayName?} or null. */
export function ringingSubject(state) {
  const uuid = ringingUuid(state);
  if (uuid) {
    return { key: `call:${uuid}`, source: "queue", uuid };
  }
  const call = state.phone.call;
  if (call?.state === "ringing" && state.calls.size === 0) {
    return { key: `phone:${call.from}`, source: "phone", from: call.from, displayName: call.displayName };
  }
  return null;
}

export function mountRingingPanel(root, { run, phone }) {
  const el = {
    panel: byTestId(root, "ringing-popup"),
    name: byTestId(root, "ringing-name"),
    number: byTestId(root, "ringing-number"),
    queue: byTestId(root, "ringing-queue"),
    loading: byTestId(root, "customer-loading"),
    unknown: byTestId(root, "customer-unknown"),
    record: byTestId(root, "customer-record"),
    customerName: byTestId(root, "customer-name"),
    company: byTestId(root, "customer-company"),
    email: byTestId(root, "customer-email"),
    notes: byTestId(root, "customer-notes"),
    vip: byTestId(root, "customer-vip"),
    answer: byTestId(root, "answer"),
    decline: byTestId(root, "decline"),
    error: byTestId(root, "ringing-error"),
  };

  el.answer.addEventListener("click", () => run("ringing", () => phone.answer()));
  el.decline.addEventListener("click", () => run("ringing", () => phone.reject()));

  return function render(state) {
    const subject = ringingSubject(state);
    setShown(el.panel, Boolean(subject));
    el.panel.dataset.callUuid = subject?.uuid ?? "";
    if (!subject) {
      return;
    }
    const info = state.ringing && state.ringing.key === subject.key ? state.ringing : null;
    const call = info?.call;
    if (call) {
      setText(el.name, callerName(call));
      setText(el.number, call.cid_number);
      setText(el.queue, call.queue ? `Queue: ${queueName(call.queue)}` : "");
    } else if (subject.source === "phone") {
      setText(el.name, subject.displayName || subject.from || "Incoming call");
      setText(el.number, subject.from || "");
      setText(el.queue, "Direct call to your phone");
    } else {
      setText(el.name, "Incoming call");
      setText(el.number, "");
      setText(el.queue, "");
    }
    const status = info?.status ?? "loading";
    const customer = status === "ready" ? info.customer : null;
    setShown(el.loading, status === "loading");
    setShown(el.unknown, (status === "ready" || status === "error") && !customer);
    setShown(el.record, Boolean(customer));
    setShown(el.vip, Boolean(customer?.vip));
    setText(el.customerName, customer?.name ?? "");
    setText(el.company, customer?.company || "–");
    setText(el.email, customer?.email || "–");
    setText(el.notes, customer?.notes || "–");
    setShown(el.decline, phone.canReject && state.phone.call?.state === "ringing");
    setDisabled(el.answer, isStale(state) || isBusy(state, "ringing"));
    setDisabled(el.decline, isStale(state) || isBusy(state, "ringing"));
    setError(el.error, state.errors.ringing || (status === "error" ? info.error : null));
  };
}
