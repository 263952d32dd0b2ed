// The supervisor's live floor: a snapshot on connect, then agent / queue changes.
import { io } from "/static/vendor/socket.io-client/socket.io.esm.min.js";

const agents = new Map();
const queues = new Map();
const banner = document.getElementById("banner");

function cell(text) {
  const td = document.createElement("td");
  td.textContent = text ?? "";
  return td;
}

function pct(x) { return x == null ? "–" : `${Math.round(x * 100)}%`; }
function secs(x) { return x == null ? "–" : `${Math.round(x)} s`; }

function render() {
  const qb = document.querySelector("[data-testid=queues] tbody");
  qb.replaceChildren(...[...queues.values()].sort((a, b) => a.name.localeCompare(b.name)).map((q) => {
    const tr = document.createElement("tr");
    tr.append(cell(q.name), cell(q.waiting), cell(q.offered), cell(q.answered), cell(q.abandoned),
      cell(pct(q.service_level)), cell(secs(q.average_speed_of_answer)), cell(secs(q.average_handle_time)));
    return tr;
  }));
  const ab = document.querySelector("[data-testid=agents] tbody");
  ab.replaceChildren(...[...agents.values()].sort((a, b) => a.name.localeCompare(b.name)).map((a) => {
    const tr = document.createElement("tr");
    tr.dataset.agent = a.name;
    const since = a.status_since ? new Date(a.status_since * 1000).toLocaleTimeString() : "";
    tr.append(cell(a.name), cell(a.status), cell(a.state), cell(a.pause_reason), cell(since));
    return tr;
  }));
}

const socket = io({ transports: ["websocket"] });
socket.on("snapshot", (snap) => {
  agents.clear(); queues.clear();
  for (const a of snap.floor?.agents ?? []) agents.set(a.name, a);
  for (const q of snap.floor?.queues ?? []) queues.set(q.name, q);
  render();
});
socket.on("agent", (a) => { agents.set(a.name, a); render(); });
socket.on("queue", (q) => { queues.set(q.name, q); render(); });
socket.on("link", (link) => {
  banner.hidden = link.connected;
  banner.textContent = link.connected ? "" : `FreeSWITCH is unreachable (${link.state}); reconnecting…`;
});
socket.on("disconnect", () => { banner.hidden = false; banner.textContent = "The server is unreachable; reconnecting…"; });
socket.on("connect", () => { banner.hidden = true; });
