// A supervisor's message on the agent's page: the server pushes it to this agent's room
// (Socket.IO "agent_message"); it pops up until the agent closes it. Messages are text
// only (shown with textContent), one line of at most 280 characters, newest on top.
// Its own small Socket.IO connection, so the page's other modules are left as they are.

import { connect } from "../mount.js";

const STYLE = `
.sup-messages { position: fixed; z-index: 30; left: 50%; transform: translateX(-50%); top: 3.5rem;
  width: min(30rem, calc(100vw - 1rem)); display: grid; gap: .5rem; }
.sup-message { background: #fff; border: 2px solid var(--accent, #1565c0); border-radius: 8px;
  box-shadow: 0 10px 30px rgba(0,0,0,.25); padding: .75rem 1rem; }
.sup-message h2 { margin: 0 0 .25rem; font-size: 1rem; color: var(--accent, #1565c0); }
.sup-message p { margin: 0 0 .5rem; overflow-wrap: anywhere; font-size: 1.05rem; }
.sup-message .when { color: var(--muted, #5b6b7b); font-size: .8rem; margin-left: .5rem; }
`;

function box() {
  let holder = document.querySelector("[data-testid=supervisor-messages]");
  if (!holder) {
    const style = document.createElement("style");
    style.textContent = STYLE;
    document.head.append(style);
    holder = document.createElement("div");
    holder.className = "sup-messages";
    holder.dataset.testid = "supervisor-messages";
    holder.setAttribute("aria-live", "assertive");
    document.body.append(holder);
  }
  return holder;
}

function show(message) {
  const card = document.createElement("section");
  card.className = "sup-message";
  card.setAttribute("role", "alertdialog");
  card.dataset.testid = "supervisor-message";
  const title = document.createElement("h2");
  title.textContent = `Message from ${message.from || "your supervisor"}`;
  const when = document.createElement("span");
  when.className = "when";
  when.textContent = new Date((message.at || Date.now() / 1000) * 1000)
    .toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  title.append(when);
  const text = document.createElement("p");
  text.dataset.testid = "supervisor-message-text";
  text.textContent = String(message.text ?? "");
  const close = document.createElement("button");
  close.type = "button";
  close.textContent = "OK";
  close.dataset.testid = "supervisor-message-close";
  close.addEventListener("click", () => card.remove());
  card.append(title, text, close);
  box().prepend(card);
  close.focus();
}

const socket = connect("", { transports: ["websocket"], reconnectionDelayMax: 5000 });
socket.on("agent_message", show);
