// Dashboard clients for bench/dashboard_latency.py (started by it; not meant to be run alone).
//
//   node bench/latency_clients.mjs <url> <agents> <supervisors> [deflate|no-deflate]
//
// Opens <agents> agent sockets (auth {agent: "<1000+i>@default"}) and <supervisors>
// supervisor sockets (auth {supervisor: true}), Socket.IO over the websocket transport
// only (permessage-deflate offered, as browsers do, only with "deflate"), and prints
// {"ready": ...} once all are connected. For every `agent` event it records the send time carried by the payload and Date.now()/1000 minus it (same machine
// clock as the server's time.time()): `t` for the bare baseline, otherwise whichever of
// status_since / state_since the event changed.
//
// Control: one JSON command a line on stdin, one JSON answer a line on stdout.
//   {"cmd": "count"}                               -> {"count": {"agent": n, "supervisor": n}}
//   {"cmd": "stats", "phases": {name: [[from, warm, to], ...]}}
//       -> {"stats": {name: {class: {received, measured, p50, p99, max}, loop_lag_max}}}
//          (ms; loop_lag_max: the worst event-loop stall while measuring), then exits.
//   Samples whose send time is in some [from, to) of a phase belong to it; those in
//   [warm, to) are measured.

import { io } from "socket.io-client";
import readline from "node:readline";

const [url, agentsArg, supervisorsArg, deflateArg] = process.argv.slice(2);
const agents = Number(agentsArg);
const supervisors = Number(supervisorsArg);
const deflate = deflateArg === "deflate";
const CONNECT_BATCH = 50;

// samples per class: parallel arrays of send time (s) and latency (ms)
const samples = {
  agent: { sent: [], lat: [], last: new Map() },
  supervisor: { sent: [], lat: [], last: new Map() },
};
const sockets = [];
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

function sendTime(store, payload) {
  if (typeof payload.t === "number") return payload.t;
  const prev = store.last.get(payload.name);
  store.last.set(payload.name, payload);
  const status = payload.status_since;
  const state = payload.state_since;
  if (prev) {
    if (status !== prev.status_since && state === prev.state_since) return status;
    if (state !== prev.state_since && status === prev.status_since) return state;
  }
  return Math.max(status ?? 0, state ?? 0); // first sight (or both moved): the newer one
}

function open(cls, auth, perClientStore) {
  return new Promise((resolve, reject) => {
    const socket = io(url, {
      transports: ["websocket"],
      auth,
      forceNew: true,
      reconnection: false,
      timeout: 30000,
      perMessageDeflate: deflate ? { threshold: 1024 } : false,
    });
    const store = samples[cls];
    const own = perClientStore ? { last: new Map() } : store;
    socket.on("agent", (payload) => {
      const now = Date.now() / 1000;
      const sent = sendTime(own, payload);
      store.sent.push(sent);
      store.lat.push((now - sent) * 1000);
    });
    socket.on("connect", () => resolve(socket));
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
    // every supervisor sees every agent: each keeps its own "last payload" per agent
    const opened = await Promise.all(batch.map(([cls, auth]) => open(cls, auth, true)));
    sockets.push(...opened);
  }
}

function percentile(sorted, q) {
  if (sorted.length === 0) return null;
  const idx = Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1);
  return sorted[Math.max(0, idx)];
}

function stats(phases) {
  const out = {};
  for (const [name, windows] of Object.entries(phases)) {
    out[name] = { loop_lag_max: 0 };
    for (const [at, lag] of loopLag) {
      if (windows.some(([, warm, to]) => at >= warm && at < to + 1)) {
        out[name].loop_lag_max = Math.max(out[name].loop_lag_max, lag);
      }
    }
    for (const [cls, store] of Object.entries(samples)) {
      let received = 0;
      const measured = [];
      for (let i = 0; i < store.sent.length; i += 1) {
        const sent = store.sent[i];
        const win = windows.find(([from, , to]) => sent >= from && sent < to);
        if (win === undefined) continue;
        received += 1;
        if (sent >= win[1]) measured.push(store.lat[i]);
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
reply({ ready: sockets.length });

const rl = readline.createInterface({ input: process.stdin });
rl.on("line", (line) => {
  const msg = JSON.parse(line);
  if (msg.cmd === "count") {
    const cpu = process.cpuUsage(started);
    reply({
      count: { agent: samples.agent.sent.length, supervisor: samples.supervisor.sent.length },
      cpu: (cpu.user + cpu.system) / 1e6,
      errors,
    });
  } else if (msg.cmd === "stats") {
    reply({ stats: stats(msg.phases), errors });
    for (const socket of sockets) socket.disconnect();
    rl.close();
    setTimeout(() => process.exit(0), 200);
  }
});
