// After-call work: a call this agent answered has ended; FreeSWITCH offers no new call
// until a disposition (and notes) is saved through POST agent/wrap-up — always naming the
// call, so it can never land on another — or the wrap-up is closed without one.

import { byTestId, fillSelect, setDisabled, setError, setShown, setText } from "./dom.js";
import { callerName } from "./format.js";
import { isBusy, isStale, pendingWrapUp } from "./state.js";

export function mountWrapUpPanel(root, { store, run, fail, api, loadHistory }) {
  const el = {
    panel: byTestId(root, "wrapup-panel"),
    caller: byTestId(root, "wrapup-caller"),
    outcome: byTestId(root, "wrapup-outcome"),
    form: byTestId(root, "wrapup-form"),
    disposition: byTestId(root, "disposition"),
    notes: byTestId(root, "wrapup-notes"),
    save: byTestId(root, "wrapup-save"),
    close: byTestId(root, "wrapup-close"),
    more: byTestId(root, "wrapup-more"),
    error: byTestId(root, "wrapup-error"),
  };
  let dispositions = null;
  let shownUuid = null;

  function finish(uuid, saved = null) {
    store.update((state) => ({
      wrapUps: state.wrapUps.filter((c) => c.uuid !== uuid),
      saved: saved ? new Map(state.saved).set(uuid, saved) : state.saved,
    }));
    el.notes.value = "";
    el.disposition.value = "";
    loadHistory();
  }

  el.form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const call = pendingWrapUp(store.get());
    if (!call) {
      return;
    }
    const disposition = el.disposition.value;
    if (!disposition) {
      fail("wrapup", "Choose a disposition.");
      return;
    }
    const body = { disposition, notes: el.notes.value.slice(0, 2000), call_uuid: call.uuid };
    const result = await run("wrapup", () => api.post("/agent/wrap-up", body));
    if (result.ok) {
      finish(call.uuid, { disposition, notes: body.notes || null });
    } else if (result.error?.code === "already_dispositioned") {
      // Saved already (another tab, or a retry): the saved one stands.
      finish(call.uuid);
      fail("wrapup", null);
      fail("status", `The call with ${callerName(call)} already has a disposition; it was kept.`);
    } else if (result.error?.status === 404) {
      // The server no longer knows this call (e.g. it restarted): nothing to wrap up.
      finish(call.uuid);
      fail("wrapup", null);
      fail("status", `Wrap-up of the call with ${callerName(call)} not saved: ${result.error.message}`);
    }
  });

  el.close.addEventListener("click", async () => {
    const call = pendingWrapUp(store.get());
    if (!call) {
      return;
    }
    const result = await run("wrapup", () =>
      api.post("/agent/wrap-up/close", { call_uuid: call.uuid }),
    );
    if (result.ok || result.error?.status === 404) {
      finish(call.uuid); // closed, or no longer awaited by the server
      fail("wrapup", null);
    }
  });

  return function render(state) {
    const call = pendingWrapUp(state);
    setShown(el.panel, Boolean(call));
    if (state.dispositions !== dispositions) {
      dispositions = state.dispositions;
      fillSelect(el.disposition, dispositions, { placeholder: "Choose…" });
    }
    if (!call) {
      shownUuid = null;
      return;
    }
    if (call.uuid !== shownUuid) {
      shownUuid = call.uuid;
      el.panel.dataset.callUuid = call.uuid;
    }
    setText(el.caller, `${callerName(call)} ${call.cid_number || ""}`.trim());
    setText(el.outcome, call.outcome || (call.ended_at ? "ended" : "ended earlier"));
    const others = state.wrapUps.length - 1;
    setShown(el.more, others > 0);
    setText(el.more, others > 0 ? ` ${others} more call${others > 1 ? "s" : ""} after this one.` : "");
    const busy = isBusy(state, "wrapup");
    setDisabled(el.save, busy || isStale(state) || dispositions.length === 0);
    setDisabled(el.close, busy || isStale(state));
    setError(el.error, state.errors.wrapup);
  };
}
