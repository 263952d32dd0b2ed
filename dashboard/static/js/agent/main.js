// The agent's page: wires the store, the API, the phone driver, the Socket.IO link and
// the panels. Everything shown about the agent and calls comes from the server.

import { createRunner } from "./actions.js";
import { createApi } from "./api.js";
import { mountBanner } from "./banner.js";
import { mountCallPanel } from "./call-panel.js";
import { mountDialerPanel } from "./dialer-panel.js";
import { mountHistoryPanel } from "./history-panel.js";
import { loadPhonePrefs } from "./phone-prefs.js";
import { mountPhoneSettings } from "./phone-settings-panel.js";
import { mountRingingPanel, ringingSubject } from "./ringing-panel.js";
import { connectSocket } from "./socket.js";
import {
  applyAgent,
  applyCall,
  applyCallEnded,
  applyLink,
  applyOwed,
  applyPhoneDropped,
  applyRegistration,
  applySnapshot,
  createStore,
  currentCall,
  initialState,
  isStale,
} from "./state.js";
import { mountStatusPanel } from "./status-panel.js";
import { mountWrapUpPanel } from "./wrapup-panel.js";
import { byTestId } from "./dom.js";
import { createPhone } from "../phone/driver.js";

const HISTORY_LIMIT = 10;

const root = document.getElementById("agent-app");
const csrfToken = document.querySelector('meta[name="csrf-token"]')?.content ?? "";
const driver = root.dataset.phoneDriver === "sip" ? "sip" : "simulator";
const store = createStore(initialState({ agentName: root.dataset.agent, driver }));
const { run, fail, notify } = createRunner(store);

const api = createApi({
  csrfToken,
  onUnavailable: (error) => store.update({ freeswitchError: error.message }),
  onReachedFreeswitch: () => {
    if (store.get().freeswitchError) {
      store.update({ freeswitchError: null });
    }
  },
  onSignedOut: () => store.update({ socket: "signed-out" }),
});

// -- the phone ----------------------------------------------------------------------

// The softphone starts with this browser's saved settings (auto-answer, microphone, speaker).
const phonePrefs = driver === "sip" ? loadPhonePrefs() : null;
const phone = createPhone({
  driver,
  api,
  audioElement: byTestId(document, "remote-audio"),
  settings: phonePrefs ?? undefined,
});
function updatePhone(patch) {
  store.update((state) => ({ phone: { ...state.phone, ...patch } }));
}
phone.on("registration", ({ state, reason }) =>
  store.update((s) => applyRegistration(s, state, reason ?? phone.registrationReason ?? "")),
);
phone.on("incoming", ({ from, displayName }) =>
  updatePhone({ call: { state: "ringing", from, displayName } }),
);
// answeredAt: when this browser saw the softphone's call established (its talk timer).
phone.on("established", () =>
  store.update((s) => ({
    phone: {
      ...s.phone,
      call: {
        ...s.phone.call,
        state: "established",
        answeredAt: s.phone.call?.answeredAt ?? Date.now() / 1000,
      },
    },
  })),
);
phone.on("held", ({ held }) =>
  store.update((s) => ({
    phone: { ...s.phone, call: s.phone.call && { ...s.phone.call, state: held ? "held" : "established" } },
  })),
);
phone.on("ended", () => updatePhone({ call: null, muted: false }));
phone.on("error", ({ message }) => fail("call", `Phone: ${message}`));

// -- data from the API ----------------------------------------------------------------

async function loadChoices(path, key) {
  try {
    const data = await api.get(path);
    store.update({ [key]: data.items });
  } catch (error) {
    fail("status", `Cannot load ${key}: ${error.message}`);
  }
}

async function loadHistory() {
  try {
    const data = await api.get(`/history?limit=${HISTORY_LIMIT}`);
    store.update({ history: data.items });
    fail("history", null);
  } catch (error) {
    fail("history", `Recent calls unavailable: ${error.message}`);
  }
}

/** The calls the server says await a disposition (after a reload or a new sign-in too). */
async function loadOwed() {
  try {
    const data = await api.get("/agent/status");
    store.update((state) => applyOwed(state, data.owed ?? []));
  } catch (error) {
    fail("status", `Calls awaiting a disposition unavailable: ${error.message}`);
  }
}

async function loadTargets() {
  try {
    const data = await api.get("/transfer-targets");
    store.update({ targets: data.items });
  } catch (error) {
    fail("call", `Transfer targets unavailable: ${error.message}`);
  }
}

// -- the ringing call's caller and customer (the popup shows before they arrive) --------

store.subscribe((state) => {
  const subject = ringingSubject(state);
  if (!subject) {
    if (state.ringing) {
      store.update({ ringing: null, errors: { ...state.errors, ringing: null } });
    }
    return;
  }
  if (state.ringing?.key === subject.key) {
    return;
  }
  store.update({ ringing: { key: subject.key, status: "loading" } });
  const lookup =
    subject.source === "queue"
      ? api.post("/call/ringing")
      : api.get(`/customer/lookup?number=${encodeURIComponent(subject.from)}`);
  lookup.then(
    (data) => {
      if (store.get().ringing?.key === subject.key) {
        if (subject.source === "queue" && data.call?.uuid !== subject.uuid) {
          store.update({ ringing: { key: subject.key, status: "gone" } }); // another call now
          return;
        }
        const call = data.call ?? null;
        store.update({ ringing: { key: subject.key, status: "ready", call, customer: data.customer } });
      }
    },
    (error) => {
      if (store.get().ringing?.key === subject.key) {
        const status = error.status === 404 ? "gone" : "error";
        store.update({
          ringing: { key: subject.key, status, error: `Caller lookup failed: ${error.message}` },
        });
      }
    },
  );
});

// -- the server's events ------------------------------------------------------------------

let historyTimer = null;
function refreshHistorySoon() {
  clearTimeout(historyTimer);
  historyTimer = setTimeout(loadHistory, 600); // the recorder writes the call just after
}

let lastNoticeAt = 0;
function showNotice(notice) {
  lastNoticeAt = Math.max(lastNoticeAt, notice.at);
  notify("status", notice.text);
}

connectSocket({
  onStatus(status) {
    store.update((state) =>
      status === "connected" ? { socket: "connected" } : { socket: status, snapshotSeen: false },
    );
  },
  snapshot(snap) {
    store.update((state) => applySnapshot(state, snap));
    // A notice sent while the page was away (reloading, reconnecting): the newest shows,
    // once (the snapshot after every resync carries it again for a minute).
    const missed = (snap.notices || []).filter((n) => n.at > lastNoticeAt);
    if (missed.length > 0) {
      showNotice(missed[missed.length - 1]);
    }
    const state = store.get();
    loadHistory();
    loadOwed();
    if (state.reasons.length === 0) {
      loadChoices("/pause-reasons", "reasons");
    }
    if (state.dispositions.length === 0) {
      loadChoices("/dispositions", "dispositions");
    }
  },
  agent: (agent) => store.update((state) => applyAgent(state, agent)),
  call: (call) => store.update((state) => applyCall(state, call)),
  call_ended(call) {
    store.update((state) => applyCallEnded(state, call));
    if (!currentCall(store.get())) {
      fail("call", null);
      notify("call", null);
    }
    if (!currentCall(store.get()) && phone.muted && driver === "simulator") {
      phone.mute(false);
      updatePhone({ muted: false });
    }
    refreshHistorySoon();
  },
  link: (link) => store.update((state) => applyLink(state, link)),
  notice: (notice) => showNotice(notice),
  // FreeSWITCH dropped this phone's registration (another device of the user un-REGISTERed,
  // a restart...): the softphone registers again now instead of at its next refresh.
  phone_dropped() {
    if (phone.kind !== "sip") {
      return;
    }
    const action = phone.reregisterNow("FreeSWITCH dropped this phone's registration");
    store.update((state) => applyPhoneDropped(state, action));
  },
});

// -- the panels ---------------------------------------------------------------------------

const context = { store, run, fail, notify, api, phone, loadHistory, loadTargets };
const status = mountStatusPanel(root, context);
const call = mountCallPanel(root, context);
if (phone.kind === "sip") {
  mountPhoneSettings(root, { phone, prefs: phonePrefs });
}
const renderers = [
  mountBanner(document.getElementById("banner")),
  status.render,
  mountRingingPanel(root, context),
  call.render,
  mountWrapUpPanel(root, context),
  mountDialerPanel(root, context),
  mountHistoryPanel(root),
];

function render(state) {
  for (const renderer of renderers) {
    renderer(state);
  }
  root.classList.toggle("stale", isStale(state));
  root.dataset.ready = String(state.snapshotSeen);
  root.dataset.socket = state.socket;
}
store.subscribe(render);
render(store.get());
setInterval(() => {
  const state = store.get();
  status.tick(state);
  call.tick(state);
}, 1000);
