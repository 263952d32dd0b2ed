// Listen / whisper / barge: the bar that shows which mode is on and switches it. Starting
// rings the supervisor's own phone (the request returns once it answered); switching sends
// a DTMF digit on that leg (the server's uuid_recv_dtmf); the bar goes when the call ends.

import { api } from "./api.js";
import { displayName, store } from "./store.js";

const LABELS = { listen: "listening to", whisper: "whispering to", barge: "on the call with" };

export function createEavesdropBar(root, onChange) {
  const bar = root.querySelector("[data-testid=eavesdrop-bar]");
  const $ = (id) => bar.querySelector(`[data-testid=${id}]`);
  const extension = root.dataset.extension;

  function error(text) {
    $("eavesdrop-error").hidden = !text;
    $("eavesdrop-error").textContent = text || "";
  }

  function render() {
    const on = store.eavesdrop;
    bar.hidden = !on && $("eavesdrop-error").hidden; // a last word stays until it is read
    bar.dataset.mode = on?.mode || "";
    bar.dataset.leg = on?.uuid || "";
    if (!on) return;
    if (on.ringing) {
      $("eavesdrop-status").textContent = `Ringing your phone${extension ? ` (${extension})` : ""} to ${on.mode} on ${displayName(on.agent)}'s call…`;
    } else {
      $("eavesdrop-status").textContent = `You are ${LABELS[on.mode]} ${displayName(on.agent)} (${on.agent}) — mode: ${on.mode}`;
    }
    for (const button of bar.querySelectorAll("[data-mode]")) {
      button.setAttribute("aria-pressed", String(!on.ringing && button.dataset.mode === on.mode));
      button.disabled = Boolean(on.ringing);
    }
    $("eavesdrop-stop").disabled = Boolean(on.ringing);
  }

  async function start(agent, mode) {
    if (store.eavesdrop && !store.eavesdrop.ringing) {
      await stop();
    }
    const callUuid = store.agents.get(agent)?.call_uuid ?? null;
    store.eavesdrop = { uuid: null, agent, call_uuid: callUuid, mode, ringing: true };
    error("");
    render();
    try {
      const reply = await api.eavesdrop(agent, mode);
      store.eavesdrop = { uuid: reply.call_uuid, agent, call_uuid: callUuid, mode };
    } catch (e) {
      store.eavesdrop = null;
      render();
      throw e;
    }
    render();
    onChange();
  }

  async function switchTo(mode) {
    const on = store.eavesdrop;
    if (!on?.uuid || on.mode === mode) return;
    try {
      const reply = await api.eavesdropMode(on.uuid, mode);
      store.eavesdrop = { ...on, mode: reply.mode };
      error("");
    } catch (e) {
      if (e.status === 404) store.eavesdrop = null; // the phone left the call
      error(e.message);
    }
    render();
    onChange();
  }

  async function stop() {
    const on = store.eavesdrop;
    if (!on?.uuid) return;
    try {
      await api.eavesdropStop(on.uuid);
    } catch (e) {
      if (e.status !== 404) {
        error(e.message);
        return;
      }
    }
    store.eavesdrop = null;
    error("");
    render();
    onChange();
  }

  for (const button of bar.querySelectorAll("[data-mode]")) {
    button.addEventListener("click", () => switchTo(button.dataset.mode));
  }
  $("eavesdrop-stop").addEventListener("click", stop);

  /** A call ended: if it was the one listened to, the eavesdrop ended with it. */
  function callEnded(uuid) {
    if (store.eavesdrop && !store.eavesdrop.ringing && store.eavesdrop.call_uuid === uuid) {
      store.eavesdrop = null;
      error("The call ended; your phone left it.");
      bar.hidden = false; // keep the message visible
      $("eavesdrop-status").textContent = "";
      for (const button of bar.querySelectorAll("button")) button.disabled = true;
      setTimeout(() => {
        if (!store.eavesdrop) {
          error("");
          render();
        }
      }, 8000);
      onChange();
    }
  }

  return { start, render, callEnded };
}
