// Formatting for the supervisor console: durations, percentages, times since a moment.

/** 75 -> "01:15", 3700 -> "1:01:40"; "–" for unknown. */
export function duration(seconds) {
  if (seconds == null || !Number.isFinite(seconds)) return "–";
  const total = Math.max(0, Math.floor(seconds));
  const h = Math.floor(total / 3600);
  const m = String(Math.floor((total % 3600) / 60)).padStart(2, "0");
  const s = String(total % 60).padStart(2, "0");
  return h ? `${h}:${m}:${s}` : `${m}:${s}`;
}

/** Seconds since an epoch-seconds moment by this browser's clock (never negative). */
export function since(epochSeconds, nowMs = Date.now()) {
  return epochSeconds == null ? null : Math.max(0, nowMs / 1000 - epochSeconds);
}

/** 0.857 -> "86%"; "–" before any call. */
export function pct(fraction) {
  return fraction == null ? "–" : `${Math.round(fraction * 100)}%`;
}

/** Seconds as "42 s" / "3 min 05 s"; "–" when unknown. */
export function secs(value) {
  if (value == null || !Number.isFinite(value)) return "–";
  const total = Math.round(value);
  if (total < 60) return `${total} s`;
  return `${Math.floor(total / 60)} min ${String(total % 60).padStart(2, "0")} s`;
}

/** A caller as shown: "Name (number)", or the number alone. */
export function caller(call) {
  if (!call) return "";
  const name = (call.cid_name || "").trim();
  const number = (call.cid_number || "").trim();
  if (name && number && name !== number) return `${name} (${number})`;
  return name || number || "unknown caller";
}

/** A CSS-safe class for a status: "Available (On Demand)" -> "available-on-demand". */
export function statusClass(status) {
  return String(status || "unknown").toLowerCase().replace(/[^a-z]+/g, "-").replace(/^-|-$/g, "");
}

/** Why nothing can be done on an agent or queue whose FreeSWITCH node is down (its
 * badge's tooltip; the dialog says it beside the disabled buttons). */
export function unreachableReason(view) {
  return `Its FreeSWITCH node${view?.node ? ` ${view.node}` : ""} is unreachable: `
    + "nothing can be changed there until it is back.";
}

/** An element with text (never HTML) and optional class / attributes. */
export function el(tag, text, attrs = {}) {
  const node = document.createElement(tag);
  if (text != null) node.textContent = String(text);
  for (const [key, value] of Object.entries(attrs)) {
    if (value == null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key.startsWith("data-")) node.setAttribute(key, String(value));
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  return node;
}

/** A ticking duration: the tick fills it in from data-since (plus data-base seconds). */
export function timer(sinceEpoch, base = 0) {
  const node = el("span", duration(base + (since(sinceEpoch) ?? 0)), { class: "timer" });
  if (sinceEpoch != null) node.dataset.since = String(sinceEpoch);
  if (base) node.dataset.base = String(base);
  return node;
}

/** Update every ticking duration under root (once a second). */
export function tick(root, nowMs = Date.now()) {
  for (const node of root.querySelectorAll("[data-since]")) {
    const base = Number(node.dataset.base || 0);
    node.textContent = duration(base + since(Number(node.dataset.since), nowMs));
  }
  for (const node of root.querySelectorAll("[data-long-at]")) {
    node.classList.toggle("long", nowMs / 1000 >= Number(node.dataset.longAt));
  }
}

/** Make parent's children exactly ``wanted`` (in order) with as few DOM moves as possible:
 * an unchanged row stays where it is, so the browser restyles only what changed. */
export function reconcile(parent, wanted) {
  const keep = new Set(wanted);
  let current = parent.firstChild;
  for (const node of wanted) {
    if (node === current) {
      current = current.nextSibling;
      continue;
    }
    if (current && !keep.has(current) && !node.parentNode) {
      const next = current.nextSibling;
      parent.replaceChild(node, current); // a rebuilt row takes its old row's place
      current = next;
      continue;
    }
    parent.insertBefore(node, current);
  }
  while (current) {
    const next = current.nextSibling;
    parent.removeChild(current);
    current = next;
  }
}
