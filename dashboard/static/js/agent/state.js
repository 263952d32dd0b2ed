// The page's state and how server reports change it. Pure functions: a snapshot or an
// event in, a new state out. The page renders only from here, and what is here about
// agents and calls came from the server (snapshot, Socket.IO events, API replies).

export function initialState({ agentName, driver }) {
  return {
    me: agentName, // the mod_callcenter agent this page belongs to, e.g. "1000@default"
    socket: "connecting", // connecting | connected | disconnected | signed-out
    snapshotSeen: false,
    link: null, // FreeSWITCH link {connected, state, since}, from the server
    freeswitchError: null, // message of the last 503 reply, until a request gets through
    agent: null, // AgentOut
    calls: new Map(), // uuid -> CallOut: this agent's live calls
    ringing: null, // {key, status: loading|ready|gone|error, call, customer, error}
    consult: null, // {callUuid, destination, sawHeld}: an attended transfer the server accepted
    wrapUps: [], // ended calls this agent answered, awaiting a disposition (oldest first)
    busy: new Set(), // action groups with a request in flight
    errors: {}, // group -> message
    notices: {}, // group -> message (a successful reply worth telling)
    // registeredAfterOffline: the softphone registered after the server last reported
    // the phone offline (its own 200 OK is then the fresher news); dropped: when the server
    // last said FreeSWITCH dropped the registration, and what the softphone did about it.
    phone: {
      driver,
      registration: "connecting",
      reason: "",
      muted: false,
      call: null,
      registeredAfterOffline: false,
      dropped: null,
    },
    reasons: [],
    dispositions: [],
    targets: [],
    history: null, // null until loaded
    // call uuid -> {disposition, notes} the server accepted from this page: shown in
    // Recent calls at once (the recorder writes the history just after).
    saved: new Map(),
  };
}

/** The store: one state, subscribers called once per turn after changes. */
export function createStore(state) {
  let current = state;
  const listeners = new Set();
  let scheduled = false;
  return {
    get: () => current,
    update(change) {
      const patch = typeof change === "function" ? change(current) : change;
      if (!patch) {
        return;
      }
      current = { ...current, ...patch };
      if (!scheduled) {
        scheduled = true;
        queueMicrotask(() => {
          scheduled = false;
          for (const listener of listeners) {
            listener(current);
          }
        });
      }
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

function mine(state, call) {
  return Boolean(call && call.agent && call.agent === state.me);
}

// -- server reports -------------------------------------------------------------------

export function applySnapshot(state, snap) {
  const me = snap.user?.agent || state.me;
  const calls = new Map();
  for (const call of snap.calls ?? []) {
    if (call.agent === me && call.ended_at == null) {
      calls.set(call.uuid, call);
    }
  }
  const live = [...calls.values()].some((c) => c.answered_at != null);
  const agent = snap.agent && snap.agent.name === me ? snap.agent : null;
  return {
    me,
    snapshotSeen: true,
    agent,
    phone: phoneAfterAgent(state, agent),
    calls,
    link: snap.link ?? state.link,
    freeswitchError: snap.link?.connected ? null : state.freeswitchError,
    consult: live && state.consult && calls.has(state.consult.callUuid) ? state.consult : null,
  };
}

export function applyAgent(state, agent) {
  if (!agent || agent.name !== state.me) {
    return null;
  }
  return { agent, phone: phoneAfterAgent(state, agent) };
}

/** A new offline report from the server outdates the softphone's last registration. */
function phoneAfterAgent(state, agent) {
  const wentOffline = agent?.phone_online === false && state.agent?.phone_online !== false;
  return wentOffline ? { ...state.phone, registeredAfterOffline: false } : state.phone;
}

/**
 * The softphone's registration changed. "registered" is news newer than any offline report
 * already shown; after a drop the server told of, it is the drop's outcome.
 */
export function applyRegistration(state, registration, reason) {
  const phone = { ...state.phone, registration, reason };
  if (registration === "registered") {
    phone.registeredAfterOffline = true;
    if (state.phone.dropped && !state.phone.dropped.registeredAt) {
      phone.dropped = { ...state.phone.dropped, registeredAt: Date.now() / 1000 };
    }
  }
  return { phone };
}

/**
 * The server says FreeSWITCH dropped this phone's registration (phone_dropped); `action` is
 * what the softphone does ("now" | "later" | "ignored").
 */
export function applyPhoneDropped(state, action, at = Date.now() / 1000) {
  if (action === "ignored") {
    return null;
  }
  return { phone: { ...state.phone, dropped: { at, action, registeredAt: null } } };
}

export function applyCall(state, call) {
  const calls = new Map(state.calls);
  if (mine(state, call) && call.ended_at == null) {
    calls.set(call.uuid, call);
  } else if (calls.has(call.uuid)) {
    calls.delete(call.uuid); // it left this agent (e.g. transferred away)
  } else {
    return null;
  }
  const patch = { calls, consult: consultAfter(state.consult, calls) };
  if (state.consult && !patch.consult && calls.has(state.consult.callUuid) && !state.consult.completing) {
    patch.notices = {
      ...state.notices,
      call: `The consult with ${state.consult.destination} ended; you are back with the caller.`,
    };
  }
  return patch;
}

/**
 * An attended transfer holds the caller while the agent consults; FreeSWITCH takes the
 * caller off hold when the consult ends (cancelled, not answered, hung up). So a consult
 * lasts while the server reports its call held, once it has been seen held.
 */
function consultAfter(consult, calls) {
  const call = consult && calls.get(consult.callUuid);
  if (!call) {
    return null;
  }
  if (call.held) {
    return consult.sawHeld ? consult : { ...consult, sawHeld: true };
  }
  return consult.sawHeld ? null : consult;
}

export function applyCallEnded(state, call) {
  const calls = new Map(state.calls);
  calls.delete(call.uuid);
  const patch = { calls };
  if (state.consult?.callUuid === call.uuid) {
    patch.consult = null;
  }
  if (mine(state, call) && call.answered_at != null) {
    if (!state.wrapUps.some((c) => c.uuid === call.uuid)) {
      patch.wrapUps = [...state.wrapUps, call];
    }
  }
  return patch;
}

/**
 * The server's list of calls awaiting a disposition (GET agent/status ``owed``): each one
 * the page does not show yet is added, oldest first. Calls the page learnt of from its
 * own events stay (the server may not have listed them yet).
 */
export function applyOwed(state, owed) {
  const known = new Set(state.wrapUps.map((c) => c.uuid));
  const added = owed
    .filter((o) => !known.has(o.call_uuid))
    .map((o) => ({ ...o, uuid: o.call_uuid, answered_at: true }));
  return added.length ? { wrapUps: [...state.wrapUps, ...added] } : null;
}

export function applyLink(state, link) {
  return { link, freeswitchError: link.connected ? null : state.freeswitchError };
}

/** An agent from an API reply, taken only when it is newer than what events said. */
export function applyAgentReply(state, agent) {
  if (!agent || agent.name !== state.me) {
    return null;
  }
  const stamp = (a) => Math.max(a?.status_since ?? 0, a?.state_since ?? 0);
  return !state.agent || stamp(agent) > stamp(state.agent) ? { agent } : null;
}

// -- selectors ------------------------------------------------------------------------

/** The call the agent is talking on (answered, not ended), if any. */
export function currentCall(state) {
  for (const call of state.calls.values()) {
    if (call.answered_at != null && call.ended_at == null) {
      return call;
    }
  }
  return null;
}

/** A call this agent dialled whose first leg (the agent's own phone) is still ringing. */
export function dialingCall(state) {
  for (const call of state.calls.values()) {
    if (call.direction === "outbound" && call.answered_at == null && call.ended_at == null) {
      return call;
    }
  }
  return null;
}

/** The uuid of the call ringing for this agent, as FreeSWITCH reports it (state Receiving). */
export function ringingUuid(state) {
  const agent = state.agent;
  if (!agent || agent.state !== "Receiving" || !agent.call_uuid) {
    return null;
  }
  const call = state.calls.get(agent.call_uuid);
  return call && call.answered_at != null ? null : agent.call_uuid;
}

/** The call to show: the server's queue call, else a call only the softphone knows. */
export function shownCall(state) {
  const call = currentCall(state);
  if (call) {
    return { source: "queue", call, held: call.held };
  }
  const phoneCall = state.phone.call;
  if (phoneCall && (phoneCall.state === "established" || phoneCall.state === "held")) {
    return { source: "phone", call: null, held: phoneCall.state === "held", phoneCall };
  }
  return null;
}

export function pendingWrapUp(state) {
  return state.wrapUps[0] ?? null;
}

export function isBusy(state, group) {
  return state.busy.has(group);
}

/**
 * The agent's own FreeSWITCH node, while its link is down (several nodes, ESL_NODES): the
 * server marks the agent unreachable; other nodes' agents go on. {node} or null.
 */
export function nodeDown(state) {
  return state.agent?.reachable === false ? { node: state.agent.node ?? null } : null;
}

/** True while the agent's FreeSWITCH cannot be reached: the one link, or its own node. */
export function freeswitchDown(state) {
  return state.link?.connected === false || nodeDown(state) !== null;
}

/** True while the page cannot trust what it shows (no live connection to the server). */
export function isStale(state) {
  return state.socket !== "connected" || !state.snapshotSeen;
}
