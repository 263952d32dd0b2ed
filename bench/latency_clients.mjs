// Dashboard clients for bench/dashboard_latency.py and bench/supervisor_fanout.py (started
// by them; not meant to be run alone).
//
//   node bench/latency_clients.mjs <url> <agents> <supervisors> [deflate|no-deflate]
//
// Opens <agents> agent sockets (auth {agent: "<1000+i>@default"}) and <supervisors>
// supervisor sockets (auth {supervisor: true}), Socket.IO over the websocket transport
// only (permessage-deflate offered, as browsers do, only with "deflate"), and prints
// {"ready": ...} once all are connected.
//
// What a socket sees of an agent: each `agent` event, and each agent view in a
// `floor_batch` (supervisors get the floor batched; every view in a batch arrives when the
// batch does). For each view it records which change(s) it carries, with the arrival time
// (Date.now(), the same machine clock as the server's time.time()): the bare baseline's
// `t`, otherwise status_since and/or state_since when they moved since this socket's last
// view of that agent (on first sight, only the newer of the two: the older one predates
// the run).
//
// Control: one JSON command a line on stdin, one JSON answer a line on stdout.
//   {"cmd": "count"} -> {"count": {"agent": n, "supervisor": n}, "cpu", "errors"}
//       (changes recorded so far, over all sockets of each class)
//   {"cmd": "stats", "phases": {name: {"windows": [[from, warm, to], ...],
//                                      "fed": [[agent, field, t], ...]}}}
//       -> {"stats": {name: {class: {received, measured, p50, p99, max}, loop_lag_max}}}
//          then exits. field: "t" | "status" | "state". A change fed at t reached a socket
//          with the first view of that agent whose field's time is >= t (a later change
//          of the same field carries it: coalesced, not lost); none: lost. Agent sockets
//          are asked only about their own agent, supervisors about every one. Changes fed
//          in [warm, to) of a window are measured (ms).

import { io } from "socket.io-client";
import readline from "node:readline";

const [url, agentsArg, supervisorsArg, deflateArg] = process.argv.slice(2);
const agents = Number(agentsArg);
const supervisors = Number(supervisorsArg);
const deflate = deflateArg === "deflate";
const CONNECT_BATCH = 50;

// per socket: {cls, agent (own agent, for agent sockets), seen: Map(name -> {status,
// state: the last view's times (null: none yet, or a baseline frame), t: [], status: [],
// state: []})}, each list flat: time carried (s), arrival (ms), ... in arrival order (flat
// lists of numbers: a million small arrays a phase would stall this process in its GC)
const clients = [];
const counts = { agent: 0, supervisor: 0 };
let errors = 0;

// event-loop stalls of this process: [wall time (s), how late a 5 ms timer fired (ms)]
const LOOP_EVERY = 5;
const loopLag = [];
function watchLoop() {
  let expected = performance.now() + LOOP_EVERY;
  setInterval(() => {
    const now = performance.now();
    loopLag.push([Date.now() / 1000, Math.max(0, now - expected)]);
    expected = now + LOOP_EVERY;
  }, LOOP_EVERY);
}

function record(client, payload, arrival) {
  let seen = client.seen.get(payload.name);
  if (seen === undefined) {
    seen = { lastStatus: null, lastState: null, t: [], status: [], state: [] };
    client.seen.set(payload.name, seen);
  }
  let carried = 0;
  if (typeof payload.t === "number") {
    seen.t.push(payload.t, arrival);
    seen.lastStatus = seen.lastState = null;
    carried = 1;
  } else {
    const status = payload.status_since ?? 0;
    const state = payload.state_since ?? 0;
    if (seen.lastStatus === null) {
      if (status >= state) seen.status.push(status, arrival);
      else seen.state.push(state, arrival);
      carried = 1;
    } else {
      if (status !== seen.lastStatus) {
        seen.status.push(status, arrival);
        carried += 1;
      }
      if (state !== seen.lastState) {
        seen.state.push(state, arrival);
        carried += 1;
      }
    }
    seen.lastStatus = status;
    seen.lastState = state;
  }
  counts[client.cls] += carried;
}

function open(cls, auth) {
  return new Promise((resolve, reject) => {
    const socket = io(url, {
      transports: ["websocket"],
      auth,
      forceNew: true,
      reconnection: false,
      timeout: 30000,
      perMessageDeflate: deflate ? { threshold: 1024 } : false,
    });
    const client = { cls, agent: auth.agent ?? null, seen: new Map(), socket };
    socket.on("agent", (payload) => record(client, payload, Date.now()));
    socket.on("floor_batch", (batch) => {
      const arrival = Date.now();
      for (const payload of batch.agents ?? []) record(client, payload, arrival);
    });
    socket.on("connect", () => resolve(client));
    socket.on("connect_error", (err) => reject(err));
    socket.on("disconnect", (reason) => {
      if (reason !== "io client disconnect") {
        errors += 1;
        process.stderr.write(`latency_clients: ${cls} socket disconnected: ${reason}\n`);
      }
    });
  });
}

async function connectAll() {
  const jobs = [];
  for (let i = 0; i < agents; i += 1) jobs.push(["agent", { agent: `${1000 + i}@default` }]);
  for (let i = 0; i < supervisors; i += 1) jobs.push(["supervisor", { supervisor: true }]);
  for (let i = 0; i < jobs.length; i += CONNECT_BATCH) {
    const batch = jobs.slice(i, i + CONNECT_BATCH);
    clients.push(...(await Promise.all(batch.map(([cls, auth]) => open(cls, auth)))));
  }
}

function percentile(sorted, q) {
  if (sorted.length === 0) return null;
  const idx = Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1);
  return sorted[Math.max(0, idx)];
}

/** For each fed change a socket should get: when it got it (ms), or undefined (lost). */
function* arrivals(client, fed) {
  const cursor = new Map(); // `${agent} ${field}` -> index into that list
  for (const [agent, field, t] of fed) {
    if (client.agent !== null && client.agent !== agent) continue;
    const list = client.seen.get(agent)?.[field] ?? [];
    const key = `${agent} ${field}`;
    let i = cursor.get(key) ?? 0;
    while (i < list.length && list[i] < t) i += 2; // fed in time order: never back
    cursor.set(key, i);
    yield [t, i < list.length ? list[i + 1] : undefined];
  }
}

function stats(phases) {
  const out = {};
  for (const [name, { windows, fed }] of Object.entries(phases)) {
    out[name] = { loop_lag_max: 0 };
    for (const [at, lag] of loopLag) {
      if (windows.some(([, warm, to]) => at >= warm && at < to + 1)) {
        out[name].loop_lag_max = Math.max(out[name].loop_lag_max, lag);
      }
    }
    fed.sort((a, b) => a[2] - b[2]);
    const warmOf = (t) => windows.find(([from, , to]) => t >= from && t < to)?.[1];
    for (const cls of ["agent", "supervisor"]) {
      let received = 0;
      const measured = [];
      for (const client of clients) {
        if (client.cls !== cls) continue;
        for (const [t, at] of arrivals(client, fed)) {
          if (at === undefined) continue;
          received += 1;
          const warm = warmOf(t);
          if (warm !== undefined && t >= warm) measured.push(at - t * 1000);
        }
      }
      measured.sort((a, b) => a - b);
      out[name][cls] = {
        received,
        measured: measured.length,
        p50: percentile(measured, 0.5),
        p99: percentile(measured, 0.99),
        max: measured.length ? measured[measured.length - 1] : null,
      };
    }
  }
  return out;
}

function reply(obj) {
  process.stdout.write(`${JSON.stringify(obj)}\n`);
}

const started = process.cpuUsage();
await connectAll();
watchLoop();
reply({ ready: clients.length });

const rl = readline.createInterface({ input: process.stdin });
rl.on("line", (line) => {
  const msg = JSON.parse(line);
  if (msg.cmd === "count") {
    const cpu = process.cpuUsage(started);
    reply({ count: { ...counts }, cpu: (cpu.user + cpu.system) / 1e6, errors });
  } else if (msg.cmd === "stats") {
    reply({ stats: stats(msg.phases), errors });
    for (const client of clients) client.socket.disconnect();
    rl.close();
    setTimeout(() => process.exit(0), 200);
  }
});
