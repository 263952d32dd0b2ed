// My status: status, state and time in status as FreeSWITCH reports them; Ready and
// Not Ready with a reason; the phone's registration.

import { byTestId, fillSelect, setDisabled, setError, setShown, setText } from "./dom.js";
import { clock, duration, since } from "./format.js";
import { applyAgentReply, freeswitchDown, isBusy, isStale } from "./state.js";

/**
 * The server's offline report counts unless the softphone registered after it (its own
 * 200 OK is the fresher news) or is busy registering again (its reason says why).
 */
function phoneOffline(state) {
  const { phone, agent } = state;
  if (agent?.phone_online !== false) {
    return false;
  }
  return phone.driver !== "sip" || (phone.registration === "registered" && !phone.registeredAfterOffline);
}

function phoneText(state) {
  const { phone } = state;
  if (phoneOffline(state)) {
    return "offline (FreeSWITCH reports the phone unregistered)";
  }
  if (phone.driver === "simulator") {
    return phone.registration === "registered" ? "registered (simulator)" : phone.registration;
  }
  const reason = phone.reason ? `: ${phone.reason}` : "";
  const again = phone.dropped?.registeredAt;
  const after =
    phone.registration === "registered" && again
      ? ` (again at ${clock(again)}, after FreeSWITCH dropped the registration)`
      : "";
  return `softphone ${phone.registration}${reason}${after}`;
}

export function mountStatusPanel(root, { store, run, api }) {
  const el = {
    status: byTestId(root, "agent-status"),
    reason: byTestId(root, "pause-reason"),
    state: byTestId(root, "agent-state"),
    timer: byTestId(root, "status-timer"),
    phone: byTestId(root, "phone-registration"),
    gate: byTestId(root, "wrap-up-gate"),
    ready: byTestId(root, "ready"),
    select: byTestId(root, "reason-select"),
    notReady: byTestId(root, "not-ready"),
    error: byTestId(root, "status-error"),
    notice: byTestId(root, "status-notice"),
  };
  let reasons = null;

  el.ready.addEventListener("click", async () => {
    const result = await run("status", () => api.post("/agent/ready"));
    if (result.ok) {
      store.update((state) => applyAgentReply(state, result.value?.agent));
    }
  });
  el.notReady.addEventListener("click", async () => {
    const reason = el.select.value;
    if (!reason) {
      setError(el.error, "Choose a reason first.");
      return;
    }
    const result = await run("status", () => api.post("/agent/not-ready", { reason }));
    if (result.ok) {
      store.update((state) => applyAgentReply(state, result.value?.agent));
    }
  });

  function tick(state) {
    const agent = state.agent;
    setText(el.timer, agent ? (duration(since(agent.status_since)) ?? "–") : "–");
    const until = agent?.wrap_up_until;
    const left = until ? until - Date.now() / 1000 : 0;
    setShown(el.gate, left > 0);
    if (left > 0) {
      setText(el.gate, `Wrap-up: FreeSWITCH offers you calls again in ${Math.ceil(left)} s.`);
    }
  }

  function render(state) {
    const agent = state.agent;
    if (state.reasons !== reasons) {
      reasons = state.reasons;
      fillSelect(el.select, reasons, { placeholder: "Reason…" });
    }
    if (!state.snapshotSeen) {
      setText(el.status, "Waiting for the server…");
    } else if (!agent) {
      setText(el.status, "Not reported by FreeSWITCH yet");
    } else {
      setText(el.status, agent.status);
    }
    const onBreak = agent?.status === "On Break" && agent.pause_reason;
    setShown(el.reason, Boolean(onBreak));
    setText(el.reason, onBreak ? `(${agent.pause_reason})` : "");
    setText(el.state, agent?.state ?? "–");
    root.dataset.status = agent?.status ?? "";
    root.dataset.state = agent?.state ?? "";
    setText(el.phone, phoneText(state));
    el.phone.dataset.registration = phoneOffline(state) ? "offline" : state.phone.registration;
    const blocked = isStale(state) || isBusy(state, "status") || !agent || freeswitchDown(state);
    setDisabled(el.ready, blocked || agent?.status === "Available");
    setDisabled(el.notReady, blocked || reasons.length === 0);
    setDisabled(el.select, isBusy(state, "status"));
    setError(el.error, state.errors.status);
    // What the server told this agent (e.g. put back after a FreeSWITCH restart).
    setShown(el.notice, Boolean(state.notices.status));
    setText(el.notice, state.notices.status || "");
    tick(state);
  }

  return { render, tick };
}
