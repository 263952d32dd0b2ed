/**
 * Choosing the agent's phone driver: "simulator" (phone/simulated.js, REST) or "sip" (the
 * browser softphone, phone/sipjs.js, with the agent's own credentials from
 * GET agent/sip-credentials).
 *
 * The SIP driver is wrapped so the page keeps one interface whatever happens: when the
 * softphone cannot load or register, or the call is not on it (e.g. answered elsewhere),
 * answer / hangup / hold / DTMF fall back to the REST API, which acts on the agent's call
 * in FreeSWITCH. Transfers and dial-out never go through the phone.
 *
 * The SIP driver also carries the phone settings (auto-answer, microphone, speaker): given at
 * creation, changeable at any time with setAutoAnswer / setMicrophone / setSpeaker, and handed
 * to the softphone when it starts, so a change made before it has loaded is not lost.
 *
 * @module phone/driver
 */

import { PHONE_EVENTS, PhoneEvents } from "./events.js";
import { SimulatedPhone } from "./simulated.js";

// Beside this module wherever the product is mounted (dashboard/static/js/mount.js).
const SIP_MODULE = new URL("./sipjs.js", import.meta.url).href;

/**
 * @typedef {object} PhoneSettings
 * @property {boolean} [autoAnswer] answer incoming calls at once
 * @property {string} [microphoneId] audio input deviceId ("" = the browser's default)
 * @property {string} [speakerId] audio output deviceId ("" = the browser's default)
 */

/** The SIP.js softphone with REST fallbacks; same interface as SimulatedPhone. */
class SipDriver {
  /** @param {{api: object, audioElement?: HTMLMediaElement, settings?: PhoneSettings}} options */
  constructor({ api, audioElement = null, settings = {} }) {
    this.kind = "sip";
    this.canReject = true;
    this._rest = new SimulatedPhone({ api });
    this._audio = audioElement;
    this._settings = {
      autoAnswer: Boolean(settings.autoAnswer),
      microphoneId: settings.microphoneId || "",
      speakerId: this.canChooseSpeaker ? settings.speakerId || "" : "",
    };
    this._module = null;
    this._sip = null;
    this._events = new PhoneEvents("phone");
    this._registration = "connecting";
    this._reason = "";
    this._muted = false;
  }

  get registrationState() {
    return this._sip ? this._sip.registrationState : this._registration;
  }

  get registrationReason() {
    return this._sip ? this._sip.registrationReason : this._reason;
  }

  get callState() {
    return this._sip ? this._sip.callState : "idle";
  }

  get muted() {
    return this._sip ? this._sip.muted : this._muted;
  }

  /** The settings in force: {autoAnswer, microphoneId, speakerId}. */
  get settings() {
    return { ...this._settings };
  }

  /** False where the browser cannot choose the audio output (no HTMLMediaElement.setSinkId). */
  get canChooseSpeaker() {
    return typeof this._audio?.setSinkId === "function";
  }

  /** Auto-answer on or off, for the calls that arrive from now on. */
  setAutoAnswer(on) {
    this._settings.autoAnswer = Boolean(on);
    this._sip?.setAutoAnswer(this._settings.autoAnswer);
  }

  /** Use microphone `deviceId` ("" = default): at once on a live call, and for later calls. */
  async setMicrophone(deviceId) {
    this._settings.microphoneId = deviceId || "";
    await this._sip?.setMicrophone(this._settings.microphoneId);
  }

  /** Play calls on speaker `deviceId` ("" = default). Throws where that cannot be chosen. */
  async setSpeaker(deviceId) {
    if (!this.canChooseSpeaker) {
      throw new Error("this browser cannot choose the audio output");
    }
    this._settings.speakerId = deviceId || "";
    if (this._sip) {
      await this._sip.setSpeaker(this._settings.speakerId);
    } else {
      await this._audio.setSinkId(this._settings.speakerId);
    }
  }

  /**
   * The audio devices ({inputs, outputs} of {deviceId, label, groupId}), as SipPhone.devices()
   * lists them: labels (and ids) are empty until the page may use the microphone.
   */
  async devices() {
    try {
      const { SipPhone } = await this._load();
      return await SipPhone.devices();
    } catch {
      return { inputs: [], outputs: [] };
    }
  }

  _load() {
    this._module ??= import(SIP_MODULE);
    return this._module;
  }

  on(event, handler) {
    return this._events.on(event, handler);
  }

  _emit(event, payload) {
    this._events.emit(event, payload);
  }

  _fail(reason) {
    this._registration = "failed";
    this._reason = reason;
    this._emit("registration", { state: "failed", reason });
  }

  /** Fetch the agent's credentials, load the softphone module and register. */
  async start({ api }) {
    let credentials;
    try {
      credentials = await api.get("/agent/sip-credentials");
    } catch (error) {
      this._fail(`no SIP account: ${error.message}`);
      return;
    }
    let SipPhone;
    try {
      ({ SipPhone } = await this._load());
      if (typeof SipPhone !== "function") {
        throw new Error("the module exports no SipPhone");
      }
    } catch (error) {
      this._fail(`the softphone cannot load (${error.message})`);
      return;
    }
    try {
      this._sip = new SipPhone({
        wssUrl: credentials.wss_url,
        domain: credentials.domain,
        extension: credentials.extension,
        ha1: credentials.ha1,
        displayName: credentials.display_name,
        audioElement: this._audio,
        ...this._settings,
      });
    } catch (error) {
      this._fail(`the softphone refused its settings (${error.message})`);
      return;
    }
    for (const event of PHONE_EVENTS) {
      this._sip.on(event, (payload) => this._emit(event, payload));
    }
    this._sip.start().catch(() => undefined); // failures arrive as 'registration' events
  }

  async stop() {
    await this._sip?.stop();
  }

  /**
   * FreeSWITCH dropped this phone's registration (the server's phone_dropped): REGISTER again
   * at once (guarded against loops, see SipPhone#reregisterNow). "ignored" before the softphone
   * has loaded or while it is not registered.
   * @param {string} why shown as the registration reason meanwhile
   * @returns {"now"|"later"|"ignored"}
   */
  reregisterNow(why) {
    return this._sip ? this._sip.reregisterNow(why) : "ignored";
  }

  _onPhone(...states) {
    return Boolean(this._sip) && states.includes(this._sip.callState);
  }

  async answer() {
    return this._onPhone("ringing") ? this._sip.answer() : this._rest.answer();
  }

  async reject() {
    if (!this._onPhone("ringing")) {
      throw new Error("the softphone has no ringing call to decline");
    }
    return this._sip.reject();
  }

  async hangup() {
    return this._onPhone("established", "held") ? this._sip.hangup() : this._rest.hangup();
  }

  async hold() {
    return this._onPhone("established") ? this._sip.hold() : this._rest.hold();
  }

  async unhold() {
    return this._onPhone("held") ? this._sip.unhold() : this._rest.unhold();
  }

  mute(on) {
    this._muted = Boolean(on);
    this._sip?.mute(this._muted);
  }

  async sendDtmf(digits) {
    return this._onPhone("established", "held")
      ? this._sip.sendDtmf(digits)
      : this._rest.sendDtmf(digits);
  }
}

/**
 * The phone for `driver` ("simulator" | "sip"), started. Never throws: a softphone that
 * cannot start reports registration "failed" with a reason. `settings` (PhoneSettings) apply
 * to the SIP driver only.
 */
export function createPhone({ driver, api, audioElement, settings }) {
  if (driver === "sip") {
    const phone = new SipDriver({ api, audioElement, settings });
    queueMicrotask(() => phone.start({ api }));
    return phone;
  }
  const phone = new SimulatedPhone({ api });
  queueMicrotask(() => phone.start());
  return phone;
}
