// The softphone's settings kept in this browser (localStorage): auto-answer, microphone and
// speaker. They belong to the browser, not to the agent: the devices are this computer's.
// Storage may be unavailable (disabled, private mode, quota): the page then works with the
// defaults and says that the choices will not be kept.

const KEY = "callcenter.phone-settings";

/** @returns {{autoAnswer: boolean, microphoneId: string, speakerId: string}} */
export function defaultPhonePrefs() {
  return { autoAnswer: false, microphoneId: "", speakerId: "" };
}

function storage() {
  try {
    return globalThis.localStorage ?? null; // reading the property itself may throw
  } catch {
    return null;
  }
}

/** The saved settings, or the defaults for what is missing or malformed. */
export function loadPhonePrefs() {
  const prefs = defaultPhonePrefs();
  let saved = null;
  try {
    saved = JSON.parse(storage()?.getItem(KEY) ?? "null");
  } catch {
    saved = null;
  }
  if (saved && typeof saved === "object") {
    if (typeof saved.autoAnswer === "boolean") {
      prefs.autoAnswer = saved.autoAnswer;
    }
    for (const key of ["microphoneId", "speakerId"]) {
      if (typeof saved[key] === "string") {
        prefs[key] = saved[key];
      }
    }
  }
  return prefs;
}

/** Save the settings; false when this browser cannot keep them. */
export function savePhonePrefs(prefs) {
  const { autoAnswer, microphoneId, speakerId } = prefs;
  try {
    const store = storage();
    if (!store) {
      return false;
    }
    store.setItem(KEY, JSON.stringify({ autoAnswer, microphoneId, speakerId }));
    return true;
  } catch {
    return false;
  }
}
