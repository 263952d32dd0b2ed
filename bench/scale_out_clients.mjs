// Supervisor pages for bench/scale_out.py and bench/floor_scale.py (started by them).
//
//   node bench/scale_out_clients.mjs <url> <cookies.json>
//
// One Socket.IO connection (websocket transport, as a browser after its upgrade) per
// cookie string in cookies.json (signed-in supervisors' sessions, nginx's route cookie
// included), to <url>. Prints {"ready": n, "errors": n} once all are connected. Each `floor_batch`
// agent view is recorded (agent name, status, arrival Date.now() in ms: the same clock
// as the feeder's time.time()).
//
// stdin, one JSON line: {"fed": [[agent, status, t], ...]} -> one line
// {"received", "lost", "p50", "p99", "max", "errors"} then exit (unless "exit": false
// is in the line, for another question later): a change fed at t reached
// a page with the first view of that agent carrying that status at or after t.

import { io } from "socket.io-client";
import { readFileSync } from "node:fs";
import readline from "node:readline";

const [url, cookiesPath] = process.argv.slice(2);
const cookies = JSON.parse(readFileSync(cookiesPath, "utf8"));
const pages = []; // per page: Map(agent -> flat [statusCode, arrival, ...])
const statuses = new Map();
let connected = 0;
let errors = 0;

function code(status) {
  if (!statuses.has(status)) statuses.set(status, statuses.size);
  return statuses.get(status);
}

// Pages open 20 at a time (a whole fleet at once is another test: the reconnect storm
// after a worker dies), and {"ready": n} is printed after 120 s even if some are not.
const BATCH = 20;
let readySaid = false;
function sayReady() {
  if (!readySaid) console.log(JSON.stringify({ ready: connected, errors }));
  readySaid = true;
}
setTimeout(sayReady, 120000).unref();

function open(cookie) {
  const seen = new Map();
  pages.push(seen);
  const socket = io(url, { transports: ["websocket"], extraHeaders: { Cookie: cookie },
                           reconnection: true });
  return new Promise((resolve) => {
    socket.on("connect", () => {
      connected += 1;
      resolve();
      if (connected === cookies.length) sayReady();
    });
    socket.on("connect_error", () => { errors += 1; });
    socket.on("floor_batch", (batch) => {
      const now = Date.now();
      for (const view of batch.agents) {
        let list = seen.get(view.name);
        if (list === undefined) { list = []; seen.set(view.name, list); }
        list.push(code(view.status), now);
      }
    });
  });
}

for (let i = 0; i < cookies.length; i += BATCH) {
  await Promise.all(cookies.slice(i, i + BATCH).map(open));
}

function quantile(sorted, q) {
  if (!sorted.length) return null;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

const control = readline.createInterface({ input: process.stdin });
control.on("close", () => process.exit(0));
control.on("line", (line) => {
  const { fed, exit } = JSON.parse(line);
  const latencies = [];
  let lost = 0;
  for (const seen of pages) {
    for (const [agent, status, t] of fed) {
      const list = seen.get(agent) || [];
      const want = code(status);
      const at = t * 1000;
      let hit = null;
      for (let i = 0; i < list.length; i += 2) {
        if (list[i] === want && list[i + 1] >= at) { hit = list[i + 1] - at; break; }
      }
      if (hit === null) lost += 1; else latencies.push(hit);
    }
  }
  latencies.sort((a, b) => a - b);
  console.log(JSON.stringify({ received: latencies.length, lost, p50: quantile(latencies, 0.5),
    p99: quantile(latencies, 0.99), max: latencies.at(-1) ?? null, errors }));
  if (exit !== false) process.exit(0);
});
