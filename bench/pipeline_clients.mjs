// Dashboard clients for bench/pipeline.py (started by it; not meant to be run alone).
//
//   node bench/pipeline_clients.mjs <url> '<JSON list of auth objects>'
//
// Opens one Socket.IO client (websocket transport, no permessage-deflate) per auth
// object ({agent: "<name>"} or {supervisor: true}), so every room the product emits to
// has a real client, and prints {"ready": n} once all are connected. It counts every
// event each client receives.
//
// Control: one JSON command a line on stdin, one JSON answer a line on stdout.
//   {"cmd": "count"} -> {"count": [n per client, in the order given]}
//   {"cmd": "exit"}  -> {"bye": true}, then exits.

import { io } from "socket.io-client";
import readline from "node:readline";

const [url, authsArg] = process.argv.slice(2);
const auths = JSON.parse(authsArg);
const counts = auths.map(() => 0);
const sockets = [];
let connected = 0;

auths.forEach((auth, i) => {
  const socket = io(url, {
    auth,
    transports: ["websocket"],
    perMessageDeflate: false,
    reconnection: false,
  });
  socket.onAny(() => {
    counts[i] += 1;
  });
  socket.on("connect", () => {
    connected += 1;
    if (connected === auths.length) {
      process.stdout.write(JSON.stringify({ ready: connected }) + "\n");
    }
  });
  socket.on("connect_error", (err) => {
    process.stdout.write(JSON.stringify({ error: String(err) }) + "\n");
  });
  sockets.push(socket);
});

const rl = readline.createInterface({ input: process.stdin });
rl.on("line", (line) => {
  const command = JSON.parse(line);
  if (command.cmd === "count") {
    process.stdout.write(JSON.stringify({ count: counts }) + "\n");
  } else if (command.cmd === "exit") {
    sockets.forEach((s) => s.close());
    process.stdout.write(JSON.stringify({ bye: true }) + "\n");
    process.exit(0);
  }
});
