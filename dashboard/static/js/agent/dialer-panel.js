// Dial out (click-to-call): POST call/dial rings the agent's phone first, then the number.

import { buildKeys, byTestId, setDisabled, setError, setShown, setText } from "./dom.js";
import { dialingCall, freeswitchDown, isBusy, isStale, shownCall } from "./state.js";

const NUMBER = /^\+?[0-9]{2,20}$/;

export function mountDialerPanel(root, { store, run, fail, notify, api, phone }) {
  const el = {
    form: byTestId(root, "dial-form"),
    number: byTestId(root, "dial-number"),
    keys: byTestId(root, "dial-keys"),
    submit: byTestId(root, "dial-submit"),
    clear: byTestId(root, "dial-clear"),
    status: byTestId(root, "dial-status"),
    error: byTestId(root, "dial-error"),
    dialing: byTestId(root, "dialing"),
    dialingNumber: byTestId(root, "dialing-number"),
    dialingAnswer: byTestId(root, "dialing-answer"),
    dialingCancel: byTestId(root, "dialing-cancel"),
  };
  // The dialled call rings the agent's own phone first (the server reports it as an
  // outbound call of this agent's, not answered yet).
  el.dialingAnswer.addEventListener("click", () => run("dial", () => phone.answer()));
  el.dialingCancel.addEventListener("click", () => run("dial", () => api.post("/call/drop")));
  const keys = buildKeys(
    el.keys,
    (key) => {
      if (el.number.value.length < 21) {
        el.number.value += key;
      }
      el.number.focus();
    },
    "dial",
  );
  el.clear.addEventListener("click", () => {
    el.number.value = "";
    fail("dial", null);
    notify("dial", null);
  });
  el.form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const number = el.number.value.replace(/[\s().-]/g, "");
    if (!NUMBER.test(number)) {
      fail("dial", "Type a number: 2 to 20 digits, optionally starting with +.");
      return;
    }
    notify("dial", `Calling ${number}… your phone rings first; answer it to be connected.`);
    const result = await run("dial", () => api.post("/call/dial", { number }));
    if (result.ok) {
      notify("dial", `Call to ${number} placed (call ${result.value.call_uuid}).`);
    } else {
      notify("dial", null);
    }
  });

  return function render(state) {
    const blocked = isStale(state) || isBusy(state, "dial") || Boolean(shownCall(state));
    setDisabled(el.submit, blocked || freeswitchDown(state));
    for (const key of keys) {
      setDisabled(key, isBusy(state, "dial"));
    }
    setDisabled(el.number, isBusy(state, "dial"));
    const dialing = dialingCall(state);
    setShown(el.dialing, Boolean(dialing));
    setText(el.dialingNumber, dialing?.cid_number ?? "");
    setDisabled(el.dialingAnswer, isStale(state) || isBusy(state, "dial"));
    setDisabled(el.dialingCancel, isStale(state) || isBusy(state, "dial"));
    setText(el.status, dialing ? "" : state.notices.dial || "");
    setError(el.error, state.errors.dial);
  };
}
