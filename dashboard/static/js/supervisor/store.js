// What the console knows: the live floor (agents, calls, queues from the Socket.IO
// snapshot and events) and what surrounds it (names, queue settings, tiers, thresholds,
// today's answered calls, pause reasons, the supervisor's own eavesdrop). Derivations used
// by every panel live here too, so they agree with each other.

export const store = {
  agents: new Map(), // name -> AgentOut
  calls: new Map(), // uuid -> CallOut (live calls only)
  queues: new Map(), // name -> QueueOut
  people: new Map(), // agent -> {username, display_name, extension}
  queueSettings: new Map(), // name -> {strategy, service_level_seconds, max_wait_time}
  tiers: [], // [{queue, agent, level, position, state}]
  answeredOffset: {}, // agent -> add to calls_answered for today's count
  longCall: 600,
  longPause: 900,
  pauseReasons: [],
  eavesdrop: null, // {uuid, agent, call_uuid, mode, ringing?}
  nodes: [], // the FreeSWITCH nodes the floor names (ESL_NODES); empty with one node
};

export function applySnapshot(floor) {
  const before = store.agents;
  store.agents = new Map((floor?.agents ?? []).map((a) => [a.name, keepLastStatus(a, before.get(a.name))]));
  store.calls = new Map((floor?.calls ?? []).filter((c) => !c.ended_at).map((c) => [c.uuid, c]));
  callsChanged();
  store.queues = new Map((floor?.queues ?? []).map((q) => [q.name, q]));
}

/** One `floor_batch`: ended calls leave first, then the latest agents, calls and queues
 * (a call listed in both came back under the same uuid). Returns the uuids that ended. */
export function applyBatch(batch) {
  const ended = batch.ended ?? [];
  for (const call of ended) store.calls.delete(call.uuid);
  for (const agent of batch.agents ?? []) {
    store.agents.set(agent.name, keepLastStatus(agent, store.agents.get(agent.name)));
  }
  for (const call of batch.calls ?? []) {
    if (call.ended_at) store.calls.delete(call.uuid);
    else store.calls.set(call.uuid, call);
  }
  for (const queue of batch.queues ?? []) store.queues.set(queue.name, queue);
  if (ended.length || batch.calls?.length) callsChanged();
  return ended.map((call) => call.uuid);
}

/** An agent whose node is down comes as status "Unreachable" with the server's
 * ``last_status`` (its status before the node went down); the status this page last saw
 * stands in if the server has none. */
function keepLastStatus(view, before) {
  if (view.reachable !== false) return view;
  if (view.last_status) return view;
  const last = before ? (before.reachable === false ? before.last_status : before.status) : null;
  return { ...view, last_status: last ?? null };
}

export function applyConsole(data) {
  store.people = new Map(data.people.map((p) => [p.agent, p]));
  store.queueSettings = new Map(data.queues.map((q) => [q.name, q]));
  store.tiers = data.tiers;
  store.answeredOffset = data.answered_offset || {};
  store.longCall = data.long_call_seconds;
  store.longPause = data.long_pause_seconds;
  store.pauseReasons = data.pause_reasons;
  const mine = data.eavesdrops?.[0];
  store.eavesdrop = mine ? { uuid: mine.uuid, agent: mine.agent, call_uuid: mine.call_uuid, mode: mine.mode } : null;
}

/** "Alice" (the dashboard user's display name), else the mod_callcenter agent id. */
export function displayName(agent) {
  return store.people.get(agent)?.display_name || agent;
}

export function extensionOf(agent) {
  const person = store.people.get(agent);
  if (person?.extension) return person.extension;
  const head = String(agent).split("@")[0];
  return /^\d+$/.test(head) ? head : "";
}

/** Today's answered queue calls (the history's count at load plus the live counter). */
export function answeredToday(agent) {
  const view = store.agents.get(agent);
  return Math.max(0, (view?.calls_answered ?? 0) + (store.answeredOffset[agent] ?? 0));
}

// agent -> one of its calls, rebuilt when the calls changed (a floor of thousands of
// agents asks this for every agent at every drawing).
let byAgent = null;

/** The calls changed: the agent -> call index is rebuilt when next asked. */
export function callsChanged() {
  byAgent = null;
}

/** The agent's live call: the one it is serving or being offered, else any of its own. */
export function callOf(agent) {
  const view = store.agents.get(agent);
  if (view?.call_uuid && store.calls.has(view.call_uuid)) return store.calls.get(view.call_uuid);
  if (byAgent === null) {
    byAgent = new Map();
    for (const call of store.calls.values()) {
      if (call.agent && !byAgent.has(call.agent)) byAgent.set(call.agent, call);
    }
  }
  return byAgent.get(agent) ?? null;
}

/** queued, ringing, talking, held, consulting or transferred. */
export function callState(call) {
  if (call.transferred_at) return "transferred";
  if (call.consult) return "consulting";
  if (call.answered_at) return call.held ? "held" : "talking";
  if (call.offered_at || call.direction === "outbound") return "ringing";
  return "queued";
}

export function tiersOf(agent) {
  return store.tiers.filter((t) => t.agent === agent);
}

export function queueNames() {
  return [...new Set([...store.queueSettings.keys(), ...store.queues.keys()])].sort();
}

export function onCall(name) {
  const call = callOf(name);
  return Boolean(call?.answered_at) || store.agents.get(name)?.state === "In a queue call";
}

/** Agent counts of one queue (by its tiers): available, on a call, paused, signed in. */
export function queueStaff(queue) {
  const counts = { available: 0, onCall: 0, paused: 0, signedIn: 0, total: 0 };
  for (const tier of store.tiers) {
    if (tier.queue !== queue) continue;
    counts.total += 1;
    const view = store.agents.get(tier.agent);
    if (!view || view.status === "Logged Out" || view.reachable === false) continue;
    counts.signedIn += 1;
    if (onCall(view.name)) counts.onCall += 1;
    else if (view.status === "On Break") counts.paused += 1;
    else if (view.status.startsWith("Available") && view.state === "Waiting") counts.available += 1;
  }
  return counts;
}

/** The callers waiting in a queue, first in line first. */
export function waitingCalls(queue) {
  const view = store.queues.get(queue);
  const order = view?.waiting_calls ?? [];
  return order.map((uuid) => store.calls.get(uuid)).filter((c) => c && !c.answered_at);
}

/** Every node named by the floor's agents, queues and calls, sorted, kept in
 * ``store.nodes`` (once per drawing: the panels ask for every row). With one FreeSWITCH
 * the views carry no node, and the pages show none. */
export function updateNodes() {
  const names = new Set();
  for (const map of [store.agents, store.queues, store.calls]) {
    for (const view of map.values()) if (view.node) names.add(view.node);
  }
  const sorted = [...names].sort();
  if (JSON.stringify(sorted) !== JSON.stringify(store.nodes)) store.nodes = sorted;
  return store.nodes;
}

/** Show the node (a column, a line on each card, a filter) when any view names one. */
export function nodesShown() {
  return store.nodes.length > 0;
}
