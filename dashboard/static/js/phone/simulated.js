/**
 * The "simulator" phone driver: the FreeSWITCH simulator's phones have no audio and no
 * signalling the browser could take part in, so the driver asks the server to act on the
 * agent's call through the REST API. Same interface as the SIP.js driver (phone/sipjs.js):
 * start/stop, answer/reject/hangup, hold/unhold, mute(on), sendDtmf(digits), on(event).
 *
 * - answer -> POST call/answer (uuid_answer on the leg mod_callcenter is ringing)
 * - hangup -> POST call/drop, hold/unhold -> POST call/hold | call/unhold,
 *   sendDtmf -> POST call/dtmf
 * - mute only toggles a flag (there is no microphone to silence)
 * - registration is always "registered": the simulated phone is registered in FreeSWITCH
 *   (the server's agent.phone_online says otherwise when it is not)
 *
 * @module phone/simulated
 */

import { PhoneEvents } from "./events.js";

export class SimulatedPhone {
  /** @param {{api: {post: (path: string, body?: object) => Promise<any>}}} options */
  constructor({ api }) {
    if (!api) {
      throw new TypeError("SimulatedPhone: api is required");
    }
    this.kind = "simulator";
    this.canReject = false;
    this._api = api;
    this._events = new PhoneEvents("SimulatedPhone");
    this._registration = "unregistered";
    this._muted = false;
  }

  get registrationState() {
    return this._registration;
  }

  get registrationReason() {
    return "simulated phone, no audio";
  }

  /** The simulator's calls are followed through the server's events, not the phone. */
  get callState() {
    return "idle";
  }

  get muted() {
    return this._muted;
  }

  on(event, handler) {
    return this._events.on(event, handler);
  }

  _emit(event, payload) {
    this._events.emit(event, payload);
  }

  async start() {
    this._registration = "registered";
    this._emit("registration", { state: "registered" });
  }

  async stop() {
    this._registration = "unregistered";
    this._emit("registration", { state: "unregistered" });
  }

  async answer() {
    await this._api.post("/call/answer");
  }

  async reject() {
    throw new Error("the simulated phone cannot decline a call");
  }

  async hangup() {
    await this._api.post("/call/drop");
    this._muted = false;
  }

  async hold() {
    await this._api.post("/call/hold");
  }

  async unhold() {
    await this._api.post("/call/unhold");
  }

  mute(on) {
    this._muted = Boolean(on);
  }

  async sendDtmf(digits) {
    await this._api.post("/call/dtmf", { digits: String(digits) });
    return "server";
  }
}
