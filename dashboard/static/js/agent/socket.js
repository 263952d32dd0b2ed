// The Socket.IO link to the server: the agent's snapshot on every (re)connect, then
// agent / call / call_ended / link / notice / phone_dropped events for this agent's room only.

import { connect } from "../mount.js";

const EVENTS = ["snapshot", "agent", "call", "call_ended", "link", "notice", "phone_dropped"];

/**
 * @param {{onStatus: (status: "connected"|"disconnected"|"signed-out") => void,
 *   snapshot, agent, call, call_ended, link: (payload: object) => void}} handlers
 */
export function connectSocket(handlers) {
  const socket = connect("", { transports: ["websocket"], reconnectionDelayMax: 5000 });
  socket.on("connect", () => handlers.onStatus("connected"));
  socket.on("disconnect", (reason) => {
    handlers.onStatus("disconnected");
    if (reason === "io server disconnect") {
      socket.connect(); // the server dropped us: try again (a refused sign-in ends below)
    }
  });
  socket.on("connect_error", () => {
    // socket.active is false when the server refused the connection (not signed in);
    // otherwise the manager keeps retrying.
    handlers.onStatus(socket.active ? "disconnected" : "signed-out");
  });
  for (const name of EVENTS) {
    socket.on(name, (payload) => handlers[name]?.(payload));
  }
  return socket;
}
