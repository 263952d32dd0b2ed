// The engineer's ESL console in the browser: xterm.js over the Socket.IO namespace
// /console. The server parses every line into a typed command or refuses it (and audits
// both); this page only edits lines, keeps the history, pages long output and shows the
// log and event tails.
import { API, connect } from "../mount.js";

const PROMPT = "\x1b[1;32mfreeswitch>\x1b[0m ";
// Output longer than this waits for "more" (?page=N on the URL chooses another size).
const PAGE_LINES = Math.max(5, Number(new URLSearchParams(location.search).get("page")) || 300);
const HISTORY_SIZE = 500;
const HELD_LINES = 20000; // log/event lines kept while paused

const host = document.getElementById("terminal");
const user = host.dataset.user;
const historyKey = `callcenter.console.history.${user}`;
const moreButton = document.querySelector("[data-testid=more]");
const pauseButton = document.querySelector("[data-testid=pause]");
const streamState = document.querySelector("[data-testid=stream-state]");

const term = new window.Terminal({
  convertEol: true, cursorBlink: true, scrollback: 20000, fontSize: 14, lineHeight: 1.2,
  fontFamily: "ui-monospace, SFMono-Regular, Menlo, Consolas, monospace",
  theme: { background: "#111111" },
});
term.open(host);
let rowsChosen = 0;
fitTerminal();
window.addEventListener("resize", fitTerminal);
window.consoleTerminal = term; // for tests and the call center's own custom.js

let buffer = "";
let cursor = 0;
let busy = false;
let history = loadHistory();
let historyAt = history.length;
let pending = []; // output lines waiting for "more"
let paused = false;
let held = [];
let heldDropped = 0;
let logLevel = "off";
let eventNames = "off";

function fitTerminal() {
  const probe = document.createElement("span");
  probe.style.cssText = "position:absolute;visibility:hidden;font:14px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace";
  probe.textContent = "M".repeat(50);
  document.body.append(probe);
  const width = probe.getBoundingClientRect().width / 50 || 8.4;
  probe.remove();
  // The terminal decides its own height from its rows (the page scrolls, the terminal
  // never hides its last lines below a fixed box).
  // Rows are chosen once: a window that grows taller (or a full-page screenshot) does not
  // reflow what is on screen; the width follows the window.
  const cols = Math.max(20, Math.floor((host.clientWidth - 16) / width));
  rowsChosen = rowsChosen || Math.max(12, Math.min(40, Math.floor((window.innerHeight * 0.6) / 17)));
  if (cols !== term.cols || rowsChosen !== term.rows) term.resize(cols, rowsChosen);
}

function loadHistory() {
  try {
    const saved = JSON.parse(localStorage.getItem(historyKey) || "[]");
    return Array.isArray(saved) ? saved.filter((x) => typeof x === "string").slice(-HISTORY_SIZE) : [];
  } catch {
    return [];
  }
}

function remember(line) {
  if (!line.trim() || history[history.length - 1] === line) return;
  history.push(line);
  history = history.slice(-HISTORY_SIZE);
  localStorage.setItem(historyKey, JSON.stringify(history));
}

function redraw() {
  term.scrollToBottom();
  term.write("\r\x1b[K" + PROMPT + buffer);
  if (cursor < buffer.length) term.write(`\x1b[${buffer.length - cursor}D`);
}

function prompt() {
  busy = false;
  redraw();
}

function colour(text, error) {
  return text.split("\n").map((line) => {
    if (error || line.startsWith("-ERR") || line.startsWith("-USAGE")) return `\x1b[31m${line}\x1b[0m`;
    if (line.startsWith("+OK")) return `\x1b[32m${line}\x1b[0m`;
    return line;
  }).join("\n");
}

// A line arriving while the engineer types: printed above the prompt, which is redrawn.
function above(text) {
  term.write("\r\x1b[K" + (text.endsWith("\n") ? text : text + "\n"));
  if (!busy) redraw();
}

function showOutput(text, error) {
  const lines = colour(text.replace(/\n$/, ""), error).split("\n");
  term.write(lines.slice(0, PAGE_LINES).join("\n") + "\n");
  pending = lines.slice(PAGE_LINES);
  showMore();
}

function showMore() {
  if (pending.length) {
    term.write(`\x1b[7m-- more: ${pending.length} lines (Space or the More button) --\x1b[0m\n`);
  }
  moreButton.hidden = pending.length === 0;
}

function nextPage() {
  const page = pending.slice(0, PAGE_LINES);
  pending = pending.slice(PAGE_LINES);
  term.write("\r\x1b[K" + page.join("\n") + "\n");
  showMore();
  redraw();
}

function setStreamState() {
  streamState.textContent = `log: ${logLevel} · events: ${eventNames}${paused ? " · paused" : ""}`;
}

function noteStreams(line, reply) {
  if (reply.error) return;
  const [word, ...rest] = line.trim().split(/\s+/);
  const w = word.toLowerCase();
  if (w === "/log") logLevel = (rest[0] || "debug").toLowerCase();
  if (w === "/nolog") logLevel = "off";
  if (w === "/event") eventNames = rest.join(" ");
  if (w === "/noevents") eventNames = "off";
  setStreamState();
}

const HELP = `console commands:
  /log <level>     stream FreeSWITCH's log (console alert crit err warning notice info debug)
  /nolog           stop the log
  /event <names> [filter <header> <value>]   tail events, e.g. /event CUSTOM callcenter::info
  /noevents        stop the events
  /clear           clear the screen (the Clear button too); Pause holds the tails
FreeSWITCH commands are checked against the console's allowlist and audited; Tab completes.`;

function submit() {
  const line = buffer;
  term.write("\r\n");
  buffer = "";
  cursor = 0;
  remember(line);
  historyAt = history.length;
  const text = line.trim();
  if (!text) return prompt();
  if (text === "/help") { term.write(HELP + "\n"); return prompt(); }
  if (text === "/clear") { term.clear(); return prompt(); }
  busy = true;
  socket.timeout(90000).emit("run", { line }, (err, reply) => {
    if (err) {
      showOutput("-ERR no answer from the server", true);
    } else {
      showOutput(reply.output || "", reply.error);
      noteStreams(line, reply);
    }
    prompt();
    refreshAudit();
  });
}

function complete() {
  const left = buffer.slice(0, cursor);
  busy = true;
  socket.timeout(10000).emit("complete", { text: left }, (err, reply) => {
    busy = false;
    if (err || !reply) return redraw();
    if (reply.matches && reply.matches.length > 1) {
      above(reply.matches.map((m) => `[${m.padStart(20)}]`).join("  "));
    }
    if (reply.insert) {
      const start = Math.max(0, cursor - (reply.replace || 0));
      buffer = buffer.slice(0, start) + reply.insert + buffer.slice(cursor);
      cursor = start + reply.insert.length;
    }
    redraw();
  });
}

function insertText(text) {
  const clean = text.split(/[\r\n]/)[0].replace(/[\x00-\x1f\x7f]/g, "");
  buffer = buffer.slice(0, cursor) + clean + buffer.slice(cursor);
  cursor += clean.length;
  redraw();
}

term.onData((data) => {
  if (data === "\x03") { // Ctrl-C: drop the line
    buffer = ""; cursor = 0; term.write("^C\r\n"); return prompt();
  }
  if (busy) return;
  if (pending.length && data === " " && buffer === "") return nextPage();
  switch (data) {
    case "\r": return submit();
    case "\t": return complete();
    case "\x7f": case "\b":
      if (cursor > 0) { buffer = buffer.slice(0, cursor - 1) + buffer.slice(cursor); cursor -= 1; }
      return redraw();
    case "\x1b[3~":
      buffer = buffer.slice(0, cursor) + buffer.slice(cursor + 1);
      return redraw();
    case "\x1b[A":
      if (historyAt > 0) { historyAt -= 1; buffer = history[historyAt]; cursor = buffer.length; }
      return redraw();
    case "\x1b[B":
      if (historyAt < history.length) historyAt += 1;
      buffer = historyAt < history.length ? history[historyAt] : "";
      cursor = buffer.length;
      return redraw();
    case "\x1b[C": cursor = Math.min(buffer.length, cursor + 1); return redraw();
    case "\x1b[D": cursor = Math.max(0, cursor - 1); return redraw();
    case "\x1b[H": case "\x1bOH": case "\x01": cursor = 0; return redraw();
    case "\x1b[F": case "\x1bOF": case "\x05": cursor = buffer.length; return redraw();
    case "\x15": buffer = ""; cursor = 0; return redraw(); // Ctrl-U
    case "\x0c": term.clear(); return redraw(); // Ctrl-L
    default:
      if (data.startsWith("\x1b")) return undefined; // other keys: ignored
      return insertText(data);
  }
});

// -- the tails -------------------------------------------------------------------------

const LEVEL_COLOURS = ["0", "31", "31", "31", "35", "36", "32", "33"];

function tail(text) {
  if (paused) {
    held.push(text);
    if (held.length > HELD_LINES) { held.shift(); heldDropped += 1; }
    pauseButton.textContent = `Resume (${held.length}${heldDropped ? ` +${heldDropped} dropped` : ""})`;
    return;
  }
  above(text);
}

const socket = connect("/console", { transports: ["websocket", "polling"] });
socket.on("connect", () => {
  host.dataset.connected = "true";
  above("\x1b[2mconnected: commands go through the console's allowlist and the audit log; /help\x1b[0m");
});
socket.on("connect_error", () => above("\x1b[31m-ERR the console cannot connect (signed out, or not an engineer)\x1b[0m"));
socket.on("disconnect", () => { host.dataset.connected = "false"; above("\x1b[31m-- disconnected --\x1b[0m"); });
socket.on("log", (m) => {
  const code = LEVEL_COLOURS[(m.level | 0) % 8];
  tail(code === "0" ? m.text : `\x1b[${code}m${m.text.replace(/\n$/, "")}\x1b[0m`);
});
socket.on("event", (m) => tail(`\x1b[36mRECV EVENT\x1b[0m\n${m.text}`));
socket.on("stream_lost", (m) => {
  logLevel = "off"; eventNames = "off"; setStreamState();
  tail(`\x1b[31m-- log/event connection lost: ${m.reason} --\x1b[0m`);
});

pauseButton.addEventListener("click", () => {
  paused = !paused;
  if (!paused) {
    const lines = held; held = []; heldDropped = 0;
    if (lines.length) above(lines.join("\n"));
    pauseButton.textContent = "Pause";
  } else {
    pauseButton.textContent = "Resume (0)";
  }
  setStreamState();
  term.focus();
});
document.querySelector("[data-testid=clear]").addEventListener("click", () => {
  term.clear(); held = []; heldDropped = 0; if (paused) pauseButton.textContent = "Resume (0)"; term.focus();
});
moreButton.addEventListener("click", () => { nextPage(); term.focus(); });
document.querySelector("[data-testid=copy]").addEventListener("click", async () => {
  let text = term.getSelection();
  if (!text) {
    const lines = [];
    const buf = term.buffer.active;
    for (let i = 0; i < buf.length; i += 1) lines.push(buf.getLine(i)?.translateToString(true) ?? "");
    text = lines.join("\n").replace(/\n+$/, "\n");
  }
  try {
    await navigator.clipboard.writeText(text);
    streamState.textContent = "copied to the clipboard";
  } catch {
    streamState.textContent = "the browser refused the clipboard";
  }
  setTimeout(setStreamState, 1500);
  term.focus();
});

// -- the audit log ---------------------------------------------------------------------

let auditTimer = null;
function refreshAudit() {
  clearTimeout(auditTimer);
  auditTimer = setTimeout(loadAudit, 300);
}

async function loadAudit() {
  const reply = await fetch(`${API}/audit?limit=50`, { credentials: "same-origin" });
  if (!reply.ok) return;
  const { entries } = await reply.json();
  const body = document.querySelector("#audit tbody");
  body.replaceChildren(...entries.map((e) => {
    const tr = document.createElement("tr");
    const what = e.details && typeof e.details.command === "string" ? e.details.command : (e.target ?? "");
    const d = e.details || {};
    const reason = typeof d.reason === "string" ? d.reason : (typeof d.reply === "string" ? d.reply : "");
    for (const text of [e.at ? new Date(e.at).toLocaleTimeString() : "", e.actor, e.action, what, e.outcome, reason]) {
      const td = document.createElement("td");
      td.textContent = text;
      tr.append(td);
    }
    return tr;
  }));
}
document.querySelector("[data-testid=audit-refresh]").addEventListener("click", loadAudit);

setStreamState();
loadAudit();
term.focus();
prompt();
