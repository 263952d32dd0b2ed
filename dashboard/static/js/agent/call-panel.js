// The call in progress: who, how long, held or not (as the server reports it), and the
// controls: hold / unhold, mute, keypad DTMF, blind or attended transfer, hang up.

import { buildKeys, byTestId, option, setDisabled, setError, setShown, setText } from "./dom.js";
import { callerName, duration, queueName, since } from "./format.js";
import { currentCall, freeswitchDown, isBusy, isStale, shownCall } from "./state.js";

const DESTINATION = /^[0-9*#+]{1,32}$/;

function targetLabel(target) {
  const status = target.status ? ` (${target.status})` : "";
  return `${target.extension} — ${target.name}${status}`;
}

export function mountCallPanel(root, { store, run, fail, notify, api, phone, loadTargets }) {
  const el = {
    panel: byTestId(root, "call-panel"),
    name: byTestId(root, "call-name"),
    number: byTestId(root, "call-number"),
    state: byTestId(root, "call-state"),
    timer: byTestId(root, "call-timer"),
    queue: byTestId(root, "call-queue"),
    muteState: byTestId(root, "mute-state"),
    held: byTestId(root, "held-indicator"),
    hold: byTestId(root, "hold"),
    unhold: byTestId(root, "unhold"),
    mute: byTestId(root, "mute"),
    drop: byTestId(root, "drop"),
    keypad: byTestId(root, "keypad-panel"),
    dtmfKeys: byTestId(root, "dtmf-keys"),
    dtmfSent: byTestId(root, "dtmf-sent"),
    transfer: byTestId(root, "transfer-panel"),
    form: byTestId(root, "transfer-form"),
    target: byTestId(root, "transfer-target"),
    destination: byTestId(root, "transfer-destination"),
    submit: byTestId(root, "transfer-submit"),
    consult: byTestId(root, "consult-panel"),
    consultTarget: byTestId(root, "consult-target"),
    consultState: byTestId(root, "consult-state"),
    complete: byTestId(root, "transfer-complete"),
    cancel: byTestId(root, "transfer-cancel"),
    error: byTestId(root, "call-error"),
    notice: byTestId(root, "call-notice"),
  };
  let targets = null;
  let callKey = null;
  let sent = "";
  let chain = Promise.resolve();

  el.hold.addEventListener("click", () => run("call", () => phone.hold()));
  el.unhold.addEventListener("click", () => run("call", () => phone.unhold()));
  el.drop.addEventListener("click", () => run("call", () => phone.hangup()));
  el.mute.addEventListener("click", () => {
    const on = !store.get().phone.muted;
    phone.mute(on);
    store.update((state) => ({ phone: { ...state.phone, muted: phone.muted } }));
  });

  const keys = buildKeys(el.dtmfKeys, (key) => {
    chain = chain.then(async () => {
      try {
        await phone.sendDtmf(key);
        sent += key;
        setText(el.dtmfSent, `Sent: ${sent}`);
      } catch (error) {
        fail("call", `DTMF ${key} not sent: ${error.message}`);
      }
    });
  }, "dtmf");

  el.transfer.addEventListener("toggle", () => {
    if (el.transfer.open) {
      loadTargets();
    }
  });
  el.target.addEventListener("change", () => {
    if (el.target.value) {
      el.destination.value = "";
    }
  });
  el.form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const destination = el.destination.value.trim() || el.target.value;
    const mode = el.form.querySelector("input[name=transfer-mode]:checked")?.value || "blind";
    if (!DESTINATION.test(destination)) {
      fail("call", "Choose a target or type an extension or number (digits, *, #, +).");
      return;
    }
    const call = currentCall(store.get());
    if (!call) {
      fail("call", "Only a queue call can be transferred from here.");
      return;
    }
    notify("call", null);
    const result = await run("call", () => api.post("/call/transfer", { destination, mode }));
    if (result.ok && mode === "attended") {
      const held = currentCall(store.get())?.held === true;
      store.update({ consult: { callUuid: call.uuid, destination, sawHeld: held } });
    }
    if (result.ok) {
      el.destination.value = "";
      el.transfer.open = false;
    }
  });
  el.complete.addEventListener("click", async () => {
    const mark = (completing) => (state) =>
      state.consult ? { consult: { ...state.consult, completing } } : null;
    store.update(mark(true)); // the caller comes off hold as the transfer completes
    const result = await run("call", () => api.post("/call/transfer/complete"));
    store.update(result.ok ? { consult: null } : mark(false));
  });
  el.cancel.addEventListener("click", async () => {
    const result = await run("call", () => api.post("/call/transfer/cancel"));
    if (result.ok) {
      store.update({ consult: null });
    }
  });

  function tick(state) {
    const shown = shownCall(state);
    const answered = shown?.call ? shown.call.answered_at : shown?.phoneCall?.answeredAt;
    setText(el.timer, answered ? duration(since(answered)) : "");
  }

  function render(state) {
    const shown = shownCall(state);
    setShown(el.panel, Boolean(shown));
    const key = shown ? (shown.call?.uuid ?? "phone") : null;
    if (key !== callKey) {
      callKey = key;
      sent = "";
      setText(el.dtmfSent, "");
      el.transfer.open = false;
      el.keypad.open = false;
    }
    if (!shown) {
      el.panel.dataset.callUuid = "";
      return;
    }
    const call = shown.call;
    // The server says whether a consultation runs and whether the other side answered
    // (call.consult); the page's own mark bridges the moment before its first report.
    const mark = call && state.consult?.callUuid === call.uuid ? state.consult : null;
    const consult = call?.consult
      ? { destination: call.consult.destination, answered: call.consult.state === "answered" }
      : mark && { destination: mark.destination, answered: false };
    el.panel.dataset.callUuid = call?.uuid ?? "";
    el.panel.dataset.held = String(shown.held);
    if (call) {
      setText(el.name, callerName(call));
      setText(el.number, call.cid_number);
      setText(el.queue, queueName(call.queue) || "–");
    } else {
      setText(el.name, shown.phoneCall.displayName || shown.phoneCall.from || "Phone call");
      setText(el.number, shown.phoneCall.from || "");
      setText(el.queue, "not a queue call");
    }
    const what = consult ? `Consulting ${consult.destination}` : shown.held ? "On hold" : "Talking";
    setText(el.state, what);
    setShown(el.held, shown.held);
    // Music is claimed only while FreeSWITCH reports it playing to the caller (its
    // PLAYBACK_START: a missing music source plays nothing and reports nothing).
    const music = Boolean(call?.hold_music);
    setText(el.held, music ? "On hold — the caller hears music" : "On hold");
    el.held.dataset.music = String(music);
    setText(el.muteState, state.phone.muted ? "muted" : "on");
    el.mute.setAttribute("aria-pressed", String(state.phone.muted));
    setText(el.mute, state.phone.muted ? "Unmute" : "Mute");

    if (state.targets !== targets) {
      targets = state.targets;
      const kept = el.target.value;
      el.target.replaceChildren(
        option("", "Type a number below…"),
        ...targets.map((t) => option(t.extension, targetLabel(t))),
      );
      if (targets.some((t) => t.extension === kept)) {
        el.target.value = kept;
      }
    }

    // FreeSWITCH (or the agent's own node) unreachable: the banner says why.
    const busy = isStale(state) || isBusy(state, "call") || freeswitchDown(state);
    setShown(el.hold, !shown.held);
    setShown(el.unhold, shown.held);
    setDisabled(el.hold, busy || Boolean(consult));
    setDisabled(el.unhold, busy || Boolean(consult));
    setDisabled(el.drop, busy);
    for (const button of keys) {
      setDisabled(button, isStale(state));
    }
    setShown(el.transfer, Boolean(call) && !consult);
    setDisabled(el.submit, busy);
    setShown(el.consult, Boolean(consult));
    setText(el.consultTarget, consult?.destination ?? "");
    setText(el.consultState, consult?.answered ? "answered" : "ringing");
    // att_xfer joins the caller and the consulted party only once the latter answered:
    // Complete is offered then; Cancel works at every stage.
    setShown(el.complete, Boolean(consult?.answered));
    setDisabled(el.complete, busy || !consult?.answered);
    setDisabled(el.cancel, busy);
    setError(el.error, state.errors.call);
    setError(el.notice, state.notices.call);
    tick(state);
  }

  return { render, tick };
}
