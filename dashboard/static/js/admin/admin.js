// The admin page: agents, tiers and queues from /call-center/api/admin/*. Every change
// goes to the API, which checks it with the same rules as the command line, stores it and
// provisions mod_callcenter at once; the page shows the API's own message either way.
import { API as PREFIX } from "../mount.js";

const csrfToken = document.querySelector("meta[name=csrf-token]").content;

// JSON in and out, the CSRF header on changes; an error carries the API's own message.
const api = {
  async request(method, path, body) {
    const init = { method, credentials: "same-origin", headers: { Accept: "application/json" } };
    if (method !== "GET") {
      init.headers["X-CSRF-Token"] = csrfToken;
      if (body !== undefined) {
        init.headers["Content-Type"] = "application/json";
        init.body = JSON.stringify(body);
      }
    }
    let response;
    try {
      response = await fetch(PREFIX + path, init);
    } catch {
      throw new Error("The server is unreachable; try again in a moment.");
    }
    const data = await response.json().catch(() => null);
    if (!response.ok) throw new Error(data?.error?.message || `${response.status} ${response.statusText}`);
    return data;
  },
};
const status = document.getElementById("admin-status");

function say(text, bad = false) {
  status.textContent = text;
  status.classList.toggle("error", bad);
}

function cell(text) {
  const td = document.createElement("td");
  td.textContent = text ?? "";
  return td;
}

function button(label, testid, onClick) {
  const td = document.createElement("td");
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = label;
  b.dataset.testid = testid;
  b.addEventListener("click", onClick);
  td.append(b);
  return td;
}

// What the switch was sent (or refused), after the stored change.
function outcome(what, reply) {
  const failed = reply?.failed ?? [];
  if (failed.length) {
    say(`${what} saved; FreeSWITCH did not take all of it: ${failed.join("; ")}`, true);
  } else {
    say(`${what} saved${reply?.changed?.length ? `; FreeSWITCH: ${reply.changed.join("; ")}` : "."}`);
  }
}

async function run(what, work) {
  try {
    outcome(what, await work());
    await load();
  } catch (e) {
    say(e.message || String(e), true);
  }
}

function fill(form, values) {
  for (const [key, value] of Object.entries(values)) {
    const field = form.elements.namedItem(key);
    if (field) field.value = value ?? "";
  }
}

function options(id, names) {
  document.getElementById(id).replaceChildren(...names.map((n) => {
    const o = document.createElement("option");
    o.value = n;
    return o;
  }));
}

async function load() {
  const [agents, tiers, queues] = await Promise.all([
    api.request("GET", "/admin/agents"), api.request("GET", "/admin/tiers"),
    api.request("GET", "/admin/queues"),
  ]);
  const agentForm = document.getElementById("agent-form");
  document.querySelector("[data-testid=admin-agents] tbody").replaceChildren(...agents.agents.map((a) => {
    const tr = document.createElement("tr");
    tr.dataset.agent = a.name;
    tr.append(cell(a.name), cell(a.user), cell(a.type), cell(a.contact), cell(a.wrap_up_time),
      cell(a.max_no_answer), cell(`${a.reject_delay_time} / ${a.busy_delay_time} / ${a.no_answer_delay_time}`),
      button("Edit", "agent-edit", () => fill(agentForm, { ...a, user: a.user ?? "" })),
      button("Delete", "agent-delete", () => {
        if (confirm(`Delete agent ${a.name} and its tiers?`)) {
          run(`Agent ${a.name} deleted`, () => api.request("DELETE", `/admin/agents/${encodeURIComponent(a.name)}`));
        }
      }));
    return tr;
  }));
  document.querySelector("[data-testid=admin-tiers] tbody").replaceChildren(...tiers.tiers.map((t) => {
    const tr = document.createElement("tr");
    tr.dataset.tier = `${t.queue} ${t.agent}`;
    tr.append(cell(t.queue), cell(t.agent), cell(t.level), cell(t.position),
      button("Remove", "tier-remove", () => run(`${t.agent} out of ${t.queue}`,
        () => api.request("POST", "/admin/tiers/remove", { queue: t.queue, agent: t.agent }))));
    tr.addEventListener("dblclick", () => fill(document.getElementById("tier-form"), t));
    return tr;
  }));
  const queueForm = document.getElementById("queue-form");
  document.querySelector("[data-testid=admin-queues] tbody").replaceChildren(...queues.queues.map((q) => {
    const tr = document.createElement("tr");
    tr.dataset.queue = q.name;
    tr.append(cell(q.name), cell(q.strategy), cell(q["max-wait-time"]), cell(q["service-level-seconds"]));
    if (queueForm) {
      tr.append(button("Delete", "queue-delete", () => {
        if (confirm(`Delete queue ${q.name} and its tiers?`)) {
          run(`Queue ${q.name} deleted`, () => api.request("DELETE", `/admin/queues/${encodeURIComponent(q.name)}`));
        }
      }));
    } else {
      tr.append(cell(""));
    }
    return tr;
  }));
  options("agent-names", agents.agents.map((a) => a.name));
  options("queue-names", queues.queues.map((q) => q.name));
  known = { agents, queues };
  document.body.dataset.loaded = "true";
}

// What exists, so Save knows whether it creates or changes.
let known = { agents: { agents: [] }, queues: { queues: [] } };

document.getElementById("agent-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const data = Object.fromEntries(new FormData(e.target));
  const body = {};
  for (const [key, value] of Object.entries(data)) if (value !== "") body[key] = value;
  const exists = known.agents.agents.some((a) => a.name === data.name);
  if (exists) {
    delete body.name;
    delete body.user;
    run(`Agent ${data.name}`, () => api.request("POST", `/admin/agents/${encodeURIComponent(data.name)}`, body));
  } else {
    run(`Agent ${data.name}`, () => api.request("POST", "/admin/agents", body));
  }
});

document.getElementById("tier-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const data = Object.fromEntries(new FormData(e.target));
  const body = { queue: data.queue, agent: data.agent };
  if (data.level !== "") body.level = data.level;
  if (data.position !== "") body.position = data.position;
  run(`Tier ${data.agent} in ${data.queue}`, () => api.request("POST", "/admin/tiers", body));
});

document.getElementById("queue-form")?.addEventListener("submit", (e) => {
  e.preventDefault();
  const data = Object.fromEntries(new FormData(e.target));
  const settings = {};
  if (data.strategy) settings.strategy = data.strategy;
  for (const line of (data.params || "").split("\n")) {
    if (!line.trim()) continue;
    const at = line.indexOf("=");
    if (at < 1) { say(`"${line}" is not name=value`, true); return; }
    settings[line.slice(0, at).trim()] = line.slice(at + 1).trim();
  }
  const exists = known.queues.queues.some((q) => q.name === data.name);
  run(`Queue ${data.name}`, () => exists
    ? api.request("POST", `/admin/queues/${encodeURIComponent(data.name)}`, { settings })
    : api.request("POST", "/admin/queues", { name: data.name, settings }));
});

load().catch((e) => say(e.message || String(e), true));
