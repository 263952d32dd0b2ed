// Formatting of times, durations and callers for display.

/** 75 -> "01:15", 3700 -> "1:01:40"; null for unknown. */
export function duration(seconds) {
  if (seconds == null || !Number.isFinite(seconds)) {
    return null;
  }
  const total = Math.max(0, Math.floor(seconds));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const mm = String(m).padStart(2, "0");
  const ss = String(s).padStart(2, "0");
  return h ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}

/** Seconds since an epoch-seconds moment, by this browser's clock (never negative). */
export function since(epochSeconds, nowMs = Date.now()) {
  if (epochSeconds == null) {
    return null;
  }
  return Math.max(0, nowMs / 1000 - epochSeconds);
}

/** A wall-clock time for an ISO string or epoch seconds. */
export function clock(moment) {
  if (moment == null) {
    return "";
  }
  const date = typeof moment === "number" ? new Date(moment * 1000) : new Date(moment);
  if (Number.isNaN(date.getTime())) {
    return "";
  }
  const sameDay = date.toDateString() === new Date().toDateString();
  const time = date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  return sameDay ? time : `${date.toLocaleDateString()} ${time}`;
}

/** "Jane Doe" / the number when the caller id carries no name. */
export function callerName(call) {
  const name = (call?.cid_name || "").trim();
  const number = (call?.cid_number || "").trim();
  return name && name !== number ? name : number || "Unknown number";
}

export function queueName(queue) {
  return queue ? queue.replace(/@.*$/, "") : "";
}
