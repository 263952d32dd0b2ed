// Phone settings, for the SIP softphone only: auto-answer, microphone and speaker. The choices
// are kept in this browser (phone-prefs.js) and applied to the live softphone at once. The
// device lists follow the browser's: they are read again on `devicechange`, when microphone
// permission changes or is asked for, and when a call is answered (which grants it). Device
// names come from the browser and only ever go in as option text.

import { byTestId, option, setDisabled, setError, setShown, setText } from "./dom.js";
import { savePhonePrefs } from "./phone-prefs.js";

// Per setting: the browser's list it picks from, its note's element, and how it is applied.
const KINDS = {
  microphoneId: {
    list: "inputs",
    noun: "microphone",
    note: "microphoneNote",
    apply: (phone, id) => phone.setMicrophone(id),
  },
  speakerId: {
    list: "outputs",
    noun: "speaker",
    note: "speakerNote",
    apply: (phone, id) => phone.setSpeaker(id),
  },
};

/**
 * The choices of a device select: the browser's default first (named after the browser's
 * "default" device when it lists one), then every device that can be chosen. Before the page
 * may use the microphone, browsers hide device ids and names: such entries cannot be chosen,
 * and devices with an id but no name are numbered.
 * @returns {{id: string, label: string}[]}
 */
export function deviceChoices(devices, noun) {
  const named = devices.find((device) => device.deviceId === "default");
  const choices = [{ id: "", label: named?.label || "Browser default" }];
  for (const device of devices) {
    if (device.deviceId && device.deviceId !== "default") {
      const label = device.label || `${noun[0].toUpperCase()}${noun.slice(1)} ${choices.length}`;
      choices.push({ id: device.deviceId, label });
    }
  }
  return choices;
}

/** The device to use: the saved one if the browser lists it (or hides all ids), else the default. */
export function effectiveDevice(saved, devices) {
  if (!saved) {
    return "";
  }
  const idsHidden = devices.every((device) => !device.deviceId);
  return idsHidden || devices.some((device) => device.deviceId === saved) ? saved : "";
}

export function mountPhoneSettings(root, { phone, prefs }) {
  const el = {
    panel: byTestId(root, "phone-settings"),
    autoAnswer: byTestId(root, "auto-answer"),
    microphoneId: byTestId(root, "microphone-select"),
    microphoneNote: byTestId(root, "microphone-note"),
    speakerId: byTestId(root, "speaker-select"),
    speakerNote: byTestId(root, "speaker-note"),
    permission: byTestId(root, "device-permission"),
    ask: byTestId(root, "device-permission-ask"),
    refused: byTestId(root, "device-permission-error"),
    storage: byTestId(root, "phone-settings-storage"),
    error: byTestId(root, "phone-settings-error"),
  };
  const canChooseSpeaker = phone.canChooseSpeaker;
  const applied = { microphoneId: phone.settings.microphoneId, speakerId: phone.settings.speakerId };
  const shownChoices = { microphoneId: "", speakerId: "" };
  let devices = { inputs: [], outputs: [] };
  let generation = 0;

  function save() {
    setShown(el.storage, !savePhonePrefs(prefs));
  }

  async function use(kind, id) {
    if (applied[kind] === id) {
      return;
    }
    applied[kind] = id;
    try {
      await KINDS[kind].apply(phone, id);
      setError(el.error, null);
    } catch (error) {
      setError(el.error, `The ${KINDS[kind].noun} could not be changed: ${error.message}`);
    }
  }

  /** Fill one select from the browser's list; returns the deviceId to use. */
  function fill(kind) {
    const { list, noun, note } = KINDS[kind];
    const listed = devices[list];
    const id = effectiveDevice(prefs[kind], listed);
    const choices = deviceChoices(listed, noun);
    if (id && !choices.some((choice) => choice.id === id)) {
      choices.push({ id, label: `Saved ${noun}` }); // the browser hides ids for now
    }
    const signature = JSON.stringify(choices);
    if (signature !== shownChoices[kind]) {
      shownChoices[kind] = signature;
      el[kind].replaceChildren(...choices.map((choice) => option(choice.id, choice.label)));
    }
    el[kind].value = id;
    let text = "";
    if (prefs[kind] && !id) {
      text = `The saved ${noun} is not connected: the browser's default is used until it is back.`;
    } else if (listed.length === 0) {
      text = `The browser lists no ${noun}.`;
    }
    setText(el[note], text);
    setShown(el[note], Boolean(text));
    return id;
  }

  function render() {
    const unnamed = [...devices.inputs, ...devices.outputs].some((device) => !device.label);
    setShown(el.permission, unnamed);
    use("microphoneId", fill("microphoneId"));
    if (canChooseSpeaker) {
      use("speakerId", fill("speakerId"));
    }
  }

  async function refresh() {
    const mine = ++generation;
    const listed = await phone.devices();
    if (mine === generation) {
      devices = listed;
      render();
    }
  }

  el.autoAnswer.checked = prefs.autoAnswer;
  el.autoAnswer.addEventListener("change", () => {
    prefs.autoAnswer = el.autoAnswer.checked;
    phone.setAutoAnswer(prefs.autoAnswer);
    save();
  });
  for (const kind of Object.keys(KINDS)) {
    el[kind].addEventListener("change", () => {
      prefs[kind] = el[kind].value;
      save();
      render();
    });
  }
  el.ask.addEventListener("click", async () => {
    setDisabled(el.ask, true);
    try {
      const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: false });
      for (const track of stream.getTracks()) {
        track.stop();
      }
      setError(el.refused, null);
    } catch (error) {
      setError(el.refused, `The browser did not let this page use the microphone (${error.message}).`);
    } finally {
      setDisabled(el.ask, false);
    }
    await refresh();
  });

  if (!canChooseSpeaker) {
    el.speakerId.replaceChildren(option("", "Browser default"));
    setDisabled(el.speakerId, true);
    setText(el.speakerNote, "This browser cannot choose the speaker: calls play on the default output.");
    setShown(el.speakerNote, true);
  }
  navigator.mediaDevices?.addEventListener?.("devicechange", refresh);
  try {
    navigator.permissions
      ?.query({ name: "microphone" })
      .then((status) => status.addEventListener("change", refresh), () => undefined);
  } catch {
    // this browser cannot report the microphone permission: the other triggers remain
  }
  phone.on("established", refresh);
  setShown(el.panel, true);
  refresh();
}
