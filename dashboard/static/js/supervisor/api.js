// The REST API client for the supervisor console: JSON in and out, the CSRF header on
// changes, and errors carrying the API's own message (FreeSWITCH's reason when it refused).

import { API as PREFIX } from "../mount.js";

const csrfToken = document.querySelector("meta[name=csrf-token]")?.content ?? "";

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
  }
}

async function request(method, path, body) {
  const init = { method, credentials: "same-origin", headers: { Accept: "application/json" } };
  if (method !== "GET") {
    init.headers["Content-Type"] = "application/json";
    init.headers["X-CSRF-Token"] = csrfToken;
    init.body = JSON.stringify(body ?? {});
  }
  let response;
  try {
    response = await fetch(PREFIX + path, init);
  } catch {
    throw new ApiError(0, "unreachable", "The server is unreachable; try again in a moment.");
  }
  const data = await response.json().catch(() => null);
  if (!response.ok) {
    const detail = data?.error;
    throw new ApiError(response.status, detail?.code || `http_${response.status}`,
      detail?.message || `${response.status} ${response.statusText}`.trim());
  }
  return data;
}

const enc = encodeURIComponent;

export const api = {
  console: () => request("GET", "/supervisor/console"),
  status: (agent, status, reason) =>
    request("POST", `/supervisor/agent/${enc(agent)}/status`, reason ? { status, reason } : { status }),
  state: (agent, state) => request("POST", `/supervisor/agent/${enc(agent)}/state`, { state }),
  message: (agent, text) => request("POST", `/supervisor/agent/${enc(agent)}/message`, { text }),
  tierAdd: (queue, agent, level, position) =>
    request("POST", "/supervisor/tier", { queue, agent, level, position }),
  tierRemove: (queue, agent) => request("POST", "/supervisor/tier/remove", { queue, agent }),
  tierMove: (agent, fromQueue, toQueue, level, position) =>
    request("POST", "/supervisor/tier/move",
      { agent, from_queue: fromQueue, to_queue: toQueue, level, position }),
  tierSet: (queue, agent, level, position) =>
    request("POST", "/supervisor/tier/set", { queue, agent, level, position }),
  eavesdrop: (agent, mode) => request("POST", "/supervisor/eavesdrop", { agent, mode }),
  eavesdropMode: (leg, mode) => request("POST", `/supervisor/eavesdrop/${enc(leg)}/mode`, { mode }),
  eavesdropStop: (leg) => request("POST", `/supervisor/eavesdrop/${enc(leg)}/stop`),
};
