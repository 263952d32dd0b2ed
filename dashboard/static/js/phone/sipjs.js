/**
 * Browser softphone "phone driver" for the agent page, built on SIP.js 0.21 (SIP over WebSocket,
 * RFC 7118, with WebRTC media).
 *
 * The agent page talks to a phone driver through one small interface (start/stop, answer,
 * reject, hangup, hold/unhold, mute, sendDtmf, device selection, auto-answer,
 * `on(event, handler)` and the `registrationState` / `callState` getters). This module is the driver for a real browser
 * softphone registered to FreeSWITCH (mod_sofia `ws-binding`/`wss-binding`); another driver
 * drives the simulator over REST.
 *
 * Design notes and SIP quirks handled here:
 *
 * - **No build step, no dependencies but SIP.js.** SIP.js ships ES modules
 *   (`sip.js/lib/index.js`); the driver loads it with a dynamic `import()` from
 *   `options.sipModuleUrl`, so the page can serve it from `/static/vendor/sip.js/`.
 * - **Digest with HA1 only.** The driver never sees a plaintext password: it hands SIP.js
 *   `authorizationHa1` = md5(`user:realm:password`), where realm is the domain the registrar
 *   challenges with (for FreeSWITCH the directory domain). Passing `password` throws.
 * - **A wrong HA1 is a hard failure, not a retry loop.** Registrars answer wrong credentials with
 *   403 (Kamailio, FreeSWITCH) or with a second 401 after the digest answer (SIP.js then gives
 *   up with "apparently in authentication loop"). Both end in a `'registration'` event with
 *   state `'failed'` and a human reason; the driver does not retry, since retrying wrong
 *   credentials only gets the agent's IP blocked by fail2ban-style protections.
 * - **Re-registration after network loss.** SIP.js' own transport reconnection uses a fixed
 *   delay and stops after N attempts; the driver leaves it off (`reconnectionAttempts` default 0) and
 *   reconnects itself with exponential backoff plus jitter, forever, until `stop()`. Browsers
 *   cannot send WebSocket pings, so a silently dead TCP connection is only noticed when the
 *   socket errors; `keepAliveInterval` turns on SIP.js' CRLF keep-alives for servers that accept
 *   them (FreeSWITCH does). The `online` window event triggers an immediate retry.
 * - **Registration retry.** SIP.js refreshes REGISTER by itself, but a failed refresh only shows
 *   up as a state change to Unregistered with no status code. The driver watches the
 *   Registerer and re-registers with backoff (honouring `Retry-After` on 500/503).
 * - **A registration the registrar dropped.** The registrar can forget a binding while the
 *   WebSocket stays up: FreeSWITCH without `multiple-registrations` removes every binding of
 *   a user when one of its devices un-REGISTERs, and a restart or `flush_inbound_reg` forgets
 *   them all. Nothing tells the phone (SIP.js stays "Registered" until its next refresh, up to
 *   `registerExpires` later), but the product sees FreeSWITCH's sofia::unregister and tells
 *   the page, which calls {@link SipPhone#reregisterNow}: one REGISTER at once, at most one
 *   per `dropGuardMs` (a device that keeps un-REGISTERing must not start a REGISTER loop); a
 *   drop inside that window registers when the window ends.
 * - **Reject with 486, not SIP.js' default 480.** mod_callcenter maps 480 to NO_USER_RESPONSE
 *   and counts it as a no-answer (no_answer_count, possibly auto "On Break"); 486 Busy Here is
 *   counted as busy (busy_delay_time). `reject()` and hanging up a ringing call both send 486.
 *   Note SIP.js itself still answers 480 when `noAnswerTimeout` (60 s) expires — that is a
 *   genuine no-answer.
 * - **Auto-answer.** FreeSWITCH adds `Call-Info: <sip:...>;answer-after=0` when the originate has
 *   `sip_auto_answer=true`; SIP.js does not act on it, so the driver answers after the given
 *   number of seconds (or immediately when `autoAnswer` is set).
 * - **Hold** is a re-INVITE whose offer the session description handler turns into
 *   `a=sendonly` (or `a=inactive`) via `sessionDescriptionHandlerOptionsReInvite = {hold}`.
 *   The driver reports the new state at once (so the UI reacts) and reverts it, with an
 *   `'error'` event, if the re-INVITE is rejected (e.g. 488, or 491 glare / RequestPendingError).
 * - **DTMF** goes as RFC 4733 telephone-events in RTP (`RTCDTMFSender.insertDTMF` through the
 *   session description handler), which survives bridges and transcoding best. If the peer did
 *   not negotiate telephone-event (no DTMF sender), the driver falls back to SIP INFO with an
 *   `application/dtmf-relay` body, which FreeSWITCH also turns into DTMF events.
 * - **Transfers are not done in the phone**: the server transfers calls (uuid_transfer etc.).
 * - **One call at a time.** An agent phone rings for one call; a second INVITE while a call is
 *   ringing or up is answered 486 Busy Here.
 *
 * @module phone/sipjs
 */

/** Default location of the SIP.js ES module bundle served by the dashboard. */
export const DEFAULT_SIP_MODULE_URL = new URL("../../vendor/sip.js/lib/index.js", import.meta.url).href;

/** Registrar answers after which retrying with the same credentials/AOR is pointless. */
const FATAL_REGISTER_CODES = new Set([400, 401, 403, 404, 407, 420, 484, 604]);

/** Characters accepted by `sendDtmf` (`,` is a two-second pause, as in RTCDTMFSender). */
const DTMF_RE = /^[0-9A-D#*,]+$/i;

const EVENTS = ["registration", "incoming", "established", "held", "ended", "error"];

/**
 * @typedef {object} SipPhoneOptions
 * @property {string} wssUrl WebSocket URL of the SIP server, e.g. `wss://pbx.example.com:7443`.
 * @property {string} domain SIP domain of the agent's AOR (`sip:<extension>@<domain>`).
 * @property {string} extension SIP user (also the digest authorization user).
 * @property {string} ha1 md5(`extension:realm:password`) as 32 hex digits.
 * @property {string} [displayName] Display name put in From/Contact.
 * @property {string} [sipModuleUrl] Where to `import()` SIP.js from
 *   (default {@link DEFAULT_SIP_MODULE_URL}).
 * @property {HTMLMediaElement} [audioElement] Element that plays the remote audio.
 * @property {boolean} [autoAnswer=false] Answer every incoming call immediately (change it
 *   later with {@link SipPhone#setAutoAnswer}).
 * @property {{debug?: Function, info?: Function, log?: Function, warn?: Function,
 *   error?: Function}} [logger] Console-like logger (default `console`).
 * @property {"rfc4733"|"info"} [dtmfMethod="rfc4733"] Preferred DTMF transport; RFC 4733
 *   falls back to SIP INFO when no DTMF sender is available.
 * @property {number} [dtmfDuration=100] Tone duration in ms.
 * @property {number} [dtmfInterToneGap=70] Gap between tones in ms.
 * @property {number} [registerExpires=600] Requested registration lifetime in seconds.
 * @property {number} [reconnectMinDelay=1000] First reconnect/re-register delay in ms.
 * @property {number} [reconnectMaxDelay=30000] Upper bound of the exponential backoff in ms.
 * @property {number} [connectionTimeout=5] WebSocket connect timeout in seconds.
 * @property {number} [dropGuardMs=30000] At most one {@link SipPhone#reregisterNow} REGISTER
 *   per this many ms; later drops wait for the window's end.
 * @property {number} [keepAliveInterval=0] CRLF keep-alive interval in seconds (0 = off).
 * @property {RTCIceServer[]} [iceServers] ICE servers (default: none, i.e. host candidates
 *   only — pass STUN/TURN for agents behind NAT).
 * @property {number} [iceGatheringTimeout=2000] Stop waiting for ICE candidates after this (ms).
 * @property {string} [microphoneId] Initial audio input deviceId.
 * @property {string} [speakerId] Initial audio output deviceId.
 * @property {"error"|"warn"|"log"|"debug"} [sipLogLevel="warn"] SIP.js' own log level.
 * @property {boolean} [traceSip=false] Log every SIP message (debug aid).
 */

/**
 * @typedef {"connecting"|"registered"|"unregistered"|"failed"} RegistrationState
 * @typedef {"idle"|"ringing"|"established"|"held"} CallState
 */

/** Browser softphone driver on SIP.js. */
export class SipPhone {
  /** @param {SipPhoneOptions} options */
  constructor(options) {
    if (!options || typeof options !== "object") {
      throw new TypeError("SipPhone: options are required");
    }
    if ("password" in options || "authorizationPassword" in options) {
      throw new TypeError("SipPhone: plaintext passwords are not accepted; pass ha1");
    }
    for (const key of ["wssUrl", "domain", "extension", "ha1"]) {
      if (!options[key] || typeof options[key] !== "string") {
        throw new TypeError(`SipPhone: option "${key}" is required`);
      }
    }
    if (!/^[0-9a-f]{32}$/i.test(options.ha1)) {
      throw new TypeError("SipPhone: ha1 must be md5(user:realm:password) as 32 hex digits");
    }
    /** @private */
    this._o = {
      displayName: "",
      sipModuleUrl: DEFAULT_SIP_MODULE_URL,
      audioElement: null,
      autoAnswer: false,
      logger: globalThis.console,
      dtmfMethod: "rfc4733",
      dtmfDuration: 100,
      dtmfInterToneGap: 70,
      registerExpires: 600,
      reconnectMinDelay: 1000,
      reconnectMaxDelay: 30000,
      connectionTimeout: 5,
      dropGuardMs: 30000,
      keepAliveInterval: 0,
      iceServers: [],
      iceGatheringTimeout: 2000,
      microphoneId: "",
      speakerId: "",
      sipLogLevel: "warn",
      traceSip: false,
      ...options,
    };
    /** @private */ this._log = normalizeLogger(this._o.logger);
    /** @private @type {Map<string, Set<Function>>} */ this._handlers = new Map();
    /** @private */ this._sip = null;
    /** @private */ this._ua = null;
    /** @private */ this._registerer = null;
    /** @private */ this._session = null;
    /** @private @type {RegistrationState} */ this._regState = "unregistered";
    /** @private */ this._regReason = "";
    /** @private @type {CallState} */ this._callState = "idle";
    /** @private */ this._held = false;
    /** @private */ this._muted = false;
    /** @private */ this._running = false;
    /** @private */ this._connectAttempt = 0;
    /** @private */ this._registerAttempt = 0;
    /** @private */ this._connectTimer = null;
    /** @private */ this._registerTimer = null;
    /** @private */ this._rejectHandled = false;
    /** @private */ this._fatal = false;
    /** @private */ this._startWaiter = null;
    /** @private */ this._endReason = null;
    /** @private */ this._autoAnswerTimer = null;
    /** @private */ this._lastDropRegister = -Infinity;
    /** @private */ this._onOnline = () => this._retryNow();
  }

  // ------------------------------------------------------------------ state getters

  /** @returns {RegistrationState} */
  get registrationState() {
    return this._regState;
  }

  /** Human-readable reason of the last registration state change ("" if none). */
  get registrationReason() {
    return this._regReason;
  }

  /** @returns {CallState} */
  get callState() {
    return this._callState;
  }

  /** True while the local audio is muted by {@link SipPhone#mute}. */
  get muted() {
    return this._muted;
  }

  /** True when every incoming call is answered at once (option `autoAnswer`). */
  get autoAnswer() {
    return Boolean(this._o.autoAnswer);
  }

  /**
   * Turn auto-answer on or off on the running phone (no restart, no re-REGISTER). It applies
   * to calls that arrive from now on: a call already ringing keeps ringing until answered.
   * A `Call-Info: ...;answer-after=N` from the server is honoured either way.
   * @param {boolean} on
   */
  setAutoAnswer(on) {
    this._o.autoAnswer = Boolean(on);
  }

  /**
   * The SIP.js session of the current call (an `Invitation`), or null. Escape hatch for
   * diagnostics; the page should not need it.
   */
  get session() {
    return this._session;
  }

  // ------------------------------------------------------------------ events

  /**
   * Subscribe to an event.
   * - `'registration'` `{state, reason?}` with state `connecting|registered|unregistered|failed`
   * - `'incoming'` `{from, displayName, autoAnswer}` — a call is ringing
   * - `'established'` `{}` — the call is answered
   * - `'held'` `{held}` — local hold state changed (also when a failed hold is reverted)
   * - `'ended'` `{reason, detail?}` with reason `local-hangup|remote-hangup|rejected|cancelled|
   *   no-answer|failed`
   * - `'error'` `{message}`
   * @param {string} event
   * @param {(payload: object) => void} handler
   * @returns {() => void} function that removes the handler
   */
  on(event, handler) {
    if (!EVENTS.includes(event)) {
      throw new TypeError(`SipPhone: unknown event "${event}"`);
    }
    if (!this._handlers.has(event)) {
      this._handlers.set(event, new Set());
    }
    this._handlers.get(event).add(handler);
    return () => this.off(event, handler);
  }

  /** Remove a handler added with {@link SipPhone#on}. */
  off(event, handler) {
    this._handlers.get(event)?.delete(handler);
  }

  /** @private */
  _emit(event, payload = {}) {
    for (const handler of this._handlers.get(event) ?? []) {
      try {
        handler(payload);
      } catch (error) {
        this._log.error(`SipPhone: '${event}' handler threw`, error);
      }
    }
  }

  /** @private */
  _error(message) {
    this._log.warn(`SipPhone: ${message}`);
    this._emit("error", { message });
  }

  /** @private */
  _setRegistration(state, reason = "") {
    if (state === this._regState && reason === this._regReason) {
      return;
    }
    this._regState = state;
    this._regReason = reason;
    this._log.info(`SipPhone: registration ${state}${reason ? ` (${reason})` : ""}`);
    this._emit("registration", reason ? { state, reason } : { state });
  }

  /** @private */
  _setCallState(state) {
    this._callState = state;
  }

  // ------------------------------------------------------------------ lifecycle

  /**
   * Connect to the WebSocket server and REGISTER.
   *
   * Resolves once registered. Rejects with the human reason when the registration fails for
   * good (wrong credentials, unknown extension) or when {@link SipPhone#stop} is called first;
   * calling `start()` again after such a refusal sends one more REGISTER.
   * While the server is unreachable or answers with a transient error the promise stays pending
   * and the driver keeps retrying with backoff; follow `'registration'` events for the UI.
   */
  async start() {
    if (this._running) {
      if (this._regState === "registered") {
        return;
      }
      if (this._fatal && this._ua?.isConnected()) {
        // Calling start() again after a refused registration tries once more.
        this._fatal = false;
        const registered = this._waitRegistered();
        this._register();
        return registered;
      }
      return this._waitRegistered();
    }
    this._running = true;
    this._fatal = false;
    this._connectAttempt = 0;
    this._registerAttempt = 0;
    this._setRegistration("connecting");
    let SIP;
    try {
      SIP = await this._loadSip();
    } catch (error) {
      this._running = false;
      const reason = `cannot load SIP.js from ${this._o.sipModuleUrl}: ${error.message}`;
      this._setRegistration("failed", reason);
      throw new Error(reason);
    }
    if (!this._running) {
      throw new Error("SipPhone stopped before it registered");
    }
    const uri = SIP.UserAgent.makeURI(`sip:${this._o.extension}@${this._o.domain}`);
    if (!uri) {
      this._running = false;
      const reason = `invalid SIP address sip:${this._o.extension}@${this._o.domain}`;
      this._setRegistration("failed", reason);
      throw new Error(reason);
    }
    const logLevels = { error: 0, warn: 1, log: 2, debug: 3 };
    // traceSip output is logged at SIP.js level "log", so tracing needs at least that level.
    const sipLogLevel =
      this._o.traceSip && logLevels[this._o.sipLogLevel] < 2 ? "log" : this._o.sipLogLevel;
    this._ua = new SIP.UserAgent({
      uri,
      authorizationUsername: this._o.extension,
      authorizationHa1: this._o.ha1,
      displayName: this._o.displayName,
      // `reconnectionAttempts` is left at its default 0 (SIP.js warns when it is set at all):
      // the driver reconnects itself with exponential backoff (see module notes).
      transportOptions: {
        server: this._o.wssUrl,
        connectionTimeout: this._o.connectionTimeout,
        keepAliveInterval: this._o.keepAliveInterval,
        traceSip: this._o.traceSip,
      },
      sessionDescriptionHandlerFactoryOptions: {
        iceGatheringTimeout: this._o.iceGatheringTimeout,
        peerConnectionConfiguration: { iceServers: this._o.iceServers },
      },
      logBuiltinEnabled: false,
      logConfiguration: false,
      logLevel: sipLogLevel,
      logConnector: (level, category, label, content) => {
        if (logLevels[level] <= logLevels[sipLogLevel]) {
          const method = level === "log" ? "debug" : level;
          this._log[method](`[${category}${label ? `|${label}` : ""}] ${content}`);
        }
      },
      delegate: {
        onConnect: () => this._onConnect(),
        onDisconnect: (error) => this._onDisconnect(error),
        onInvite: (invitation) => this._onInvite(invitation),
      },
    });
    this._registerer = new SIP.Registerer(this._ua, { expires: this._o.registerExpires });
    this._registerer.stateChange.addListener((state) => this._onRegistererState(state));
    this._registerer.waitingChange.addListener((waiting) => {
      if (!waiting) {
        this._onRegisterSettled();
      }
    });
    globalThis.addEventListener?.("online", this._onOnline);
    const registered = this._waitRegistered();
    this._connect(true);
    return registered;
  }

  /**
   * Hang up any call, unREGISTER and close the WebSocket. Safe to call more than once.
   * Waits at most a few seconds for the registrar (a dead connection must not block the page).
   */
  async stop() {
    if (!this._running && !this._ua) {
      return;
    }
    this._running = false;
    clearTimeout(this._connectTimer);
    clearTimeout(this._registerTimer);
    clearTimeout(this._autoAnswerTimer);
    globalThis.removeEventListener?.("online", this._onOnline);
    if (this._session) {
      await this.hangup().catch(() => undefined);
    }
    const ua = this._ua;
    this._ua = null;
    this._registerer = null;
    // UserAgent.stop() shuts down gracefully: it un-REGISTERs (waiting for the final response),
    // disposes sessions, then closes the WebSocket.
    const settle = ua ? ua.stop() : Promise.resolve();
    await Promise.race([settle.catch(() => undefined), sleep(4000)]);
    this._setRegistration("unregistered", "stopped");
    if (this._startWaiter) {
      this._startWaiter.reject(new Error("SipPhone stopped before it registered"));
      this._startWaiter = null;
    }
  }

  /** @private */
  async _loadSip() {
    if (!this._sip) {
      this._sip = await import(this._o.sipModuleUrl);
    }
    return this._sip;
  }

  /** @private */
  _waitRegistered() {
    if (!this._startWaiter) {
      let resolve;
      let reject;
      const promise = new Promise((res, rej) => {
        resolve = res;
        reject = rej;
      });
      this._startWaiter = { promise, resolve, reject };
    }
    return this._startWaiter.promise;
  }

  /** @private */
  _settleStart(error) {
    if (!this._startWaiter) {
      return;
    }
    const waiter = this._startWaiter;
    this._startWaiter = null;
    if (error) {
      waiter.reject(error);
    } else {
      waiter.resolve();
    }
  }

  /** Exponential backoff with ±20 % jitter. @private */
  _backoff(attempt) {
    const base = Math.min(
      this._o.reconnectMaxDelay,
      this._o.reconnectMinDelay * 2 ** Math.max(0, attempt - 1),
    );
    return Math.round(base * (0.8 + Math.random() * 0.4));
  }

  // ------------------------------------------------------------------ transport

  /** @private */
  _connect(first = false) {
    clearTimeout(this._connectTimer);
    this._connectTimer = null;
    if (!this._running || !this._ua) {
      return;
    }
    const ua = this._ua;
    const attempt = first ? ua.start() : ua.reconnect();
    attempt.catch((error) => {
      if (!this._running || ua !== this._ua) {
        return;
      }
      this._connectAttempt += 1;
      const delay = this._backoff(this._connectAttempt);
      this._setRegistration(
        "connecting",
        `cannot connect to ${this._o.wssUrl} (${error?.message || "connection failed"}); ` +
          `retrying in ${Math.ceil(delay / 1000)} s`,
      );
      this._connectTimer = setTimeout(() => this._connect(), delay);
    });
  }

  /** @private */
  _onConnect() {
    this._connectAttempt = 0;
    this._fatal = false;
    this._register();
  }

  /**
   * The WebSocket dropped. SIP.js keeps the Registerer "Registered" until its expiry timer
   * fires, but the registrar has most likely dropped the binding with the connection (Kamailio
   * `handle_lost_tcp`, FreeSWITCH WSS-NAT), so report "connecting" and re-register on reconnect.
   * @private
   */
  _onDisconnect(error) {
    if (!this._running) {
      return;
    }
    this._connectAttempt += 1;
    const delay = this._backoff(this._connectAttempt);
    const why = error?.message ? ` (${error.message})` : "";
    this._setRegistration(
      "connecting",
      `connection to ${this._o.wssUrl} lost${why}; reconnecting in ${Math.ceil(delay / 1000)} s`,
    );
    clearTimeout(this._registerTimer);
    this._connectTimer = setTimeout(() => this._connect(), delay);
  }

  /** Network came back (window `online`): retry now instead of waiting for the backoff. @private */
  _retryNow() {
    if (!this._running || !this._ua) {
      return;
    }
    if (!this._ua.isConnected()) {
      this._connect();
    } else if (this._regState !== "registered" && !this._fatal) {
      this._register();
    }
  }

  // ------------------------------------------------------------------ registration

  /** @private */
  _register(reason = "registering") {
    clearTimeout(this._registerTimer);
    this._registerTimer = null;
    const registerer = this._registerer;
    if (!this._running || !registerer || !this._ua?.isConnected()) {
      return;
    }
    if (registerer.waiting) {
      return; // a REGISTER is in flight; its outcome drives the next step
    }
    if (this._regState !== "registered") {
      this._setRegistration("connecting", reason);
    }
    registerer
      .register({
        requestDelegate: {
          // After a reconnect the Registerer may still think it is "Registered" (its expiry
          // timer has not fired), so a successful re-REGISTER causes no state change: report
          // it from the 2xx itself.
          onAccept: () => this._onRegistered(),
          onReject: (response) => {
            this._rejectHandled = true;
            this._onRegisterRejected(response.message);
          },
        },
      })
      .catch((error) => {
        if (this._running && registerer === this._registerer) {
          this._scheduleRegister(`REGISTER could not be sent (${error.message})`);
        }
      });
  }

  /**
   * The registrar dropped this phone's binding while the connection stayed up (the page
   * learns it from the server: FreeSWITCH's sofia::unregister / sofia::expire). REGISTER again
   * at once instead of at the next refresh; at most once per `dropGuardMs`, a later drop
   * registers when that window ends. Only a registered phone acts: one that is connecting,
   * retrying or refused already has its own course.
   * @param {string} [why] what happened, for the registration reason
   * @returns {"now"|"later"|"ignored"} what the phone does
   */
  reregisterNow(why = "the server dropped the registration") {
    if (!this._running || this._fatal || !this._registerer || this._regState !== "registered") {
      return "ignored";
    }
    const wait = this._lastDropRegister + this._o.dropGuardMs - Date.now();
    if (wait > 0) {
      this._setRegistration("connecting", `${why}; registering again in ${Math.ceil(wait / 1000)} s`);
      clearTimeout(this._registerTimer);
      this._registerTimer = setTimeout(() => {
        this._lastDropRegister = Date.now();
        this._register(`${why}; registering again…`);
      }, wait);
      return "later";
    }
    this._lastDropRegister = Date.now();
    this._setRegistration("connecting", `${why}; registering again…`);
    this._register(`${why}; registering again…`);
    return "now";
  }

  /** @private */
  _onRegisterRejected(message) {
    const code = message.statusCode;
    const phrase = message.reasonPhrase || "";
    const status = `${code} ${phrase}`.trim();
    if (FATAL_REGISTER_CODES.has(code)) {
      this._fatal = true;
      clearTimeout(this._registerTimer);
      let reason;
      if (code === 401 || code === 407) {
        reason =
          `SIP registration refused: wrong credentials (${status} again after answering ` +
          "the digest challenge)";
      } else if (code === 403) {
        reason = `SIP registration refused: wrong credentials (${status})`;
      } else if (code === 404 || code === 604) {
        reason = `SIP registration refused: unknown extension ${this._o.extension} (${status})`;
      } else {
        reason = `SIP registration refused by the server (${status})`;
      }
      this._setRegistration("failed", reason);
      this._settleStart(new Error(reason));
      return;
    }
    let retryAfter = NaN;
    if (code === 500 || code === 503) {
      retryAfter = Number.parseInt(message.getHeader("retry-after") || "", 10);
    }
    const what = code === 408 ? `SIP registration timed out (${status})` : `SIP registration failed (${status})`;
    this._scheduleRegister(what, Number.isFinite(retryAfter) ? retryAfter * 1000 : undefined, true);
  }

  /** @private */
  _scheduleRegister(what, delayMs, failed = false) {
    if (!this._running || this._fatal) {
      return;
    }
    this._registerAttempt += 1;
    const delay = delayMs ?? this._backoff(this._registerAttempt);
    const reason = `${what}; retrying in ${Math.ceil(delay / 1000)} s`;
    this._setRegistration(failed ? "failed" : "unregistered", reason);
    clearTimeout(this._registerTimer);
    this._registerTimer = setTimeout(() => this._register(), delay);
  }

  /** @private */
  _onRegistered() {
    this._registerAttempt = 0;
    this._fatal = false;
    this._setRegistration("registered");
    this._settleStart();
  }

  /** @private */
  _onRegistererState(state) {
    if (state === "Registered") {
      this._onRegistered();
      return;
    }
    if (state === "Unregistered" && this._running && !this._registerer?.waiting) {
      // Registration expired without a successful refresh (no REGISTER in flight).
      if (this._ua?.isConnected()) {
        this._scheduleRegister("registration expired");
      }
    }
  }

  /**
   * A REGISTER transaction finished. If it ended Unregistered and our delegate did not see the
   * rejection, it was SIP.js' internal refresh that failed: re-register with backoff.
   * @private
   */
  _onRegisterSettled() {
    const handled = this._rejectHandled;
    this._rejectHandled = false;
    if (handled || !this._running || this._fatal || !this._registerer) {
      return;
    }
    if (this._registerer.state === "Unregistered" && this._ua?.isConnected()) {
      this._scheduleRegister("registration refresh failed");
    }
  }

  // ------------------------------------------------------------------ incoming calls

  /** @private */
  _onInvite(invitation) {
    if (this._session) {
      // One call at a time; 486 makes mod_callcenter count "busy", not "no answer".
      invitation.reject({ statusCode: 486 }).catch(() => undefined);
      return;
    }
    this._session = invitation;
    this._endReason = null;
    this._held = false;
    this._muted = false;
    this._setCallState("ringing");
    invitation.delegate = {
      onBye: (bye) => {
        this._endReason = { reason: "remote-hangup" };
        bye.accept().catch(() => undefined);
      },
      onCancel: () => {
        this._endReason = { reason: "cancelled", detail: "caller hung up before answer" };
      },
    };
    let previous = invitation.state;
    invitation.stateChange.addListener((state) => {
      if (state === "Terminated" && previous === "Initial" && !this._endReason) {
        // Ended while ringing without CANCEL or a local action: SIP.js' noAnswerTimeout (480).
        this._endReason = { reason: "no-answer", detail: "not answered in time" };
      }
      previous = state;
      this._onSessionState(invitation, state);
    });

    const identity = invitation.remoteIdentity;
    const answerAfter = parseAnswerAfter(invitation.request.getHeaders("call-info"));
    const autoAnswer = this._o.autoAnswer || answerAfter !== null;
    this._emit("incoming", {
      from: identity?.uri?.user ?? "",
      displayName: identity?.displayName ?? "",
      autoAnswer,
    });
    if (autoAnswer) {
      const delay = this._o.autoAnswer ? 0 : answerAfter * 1000;
      this._autoAnswerTimer = setTimeout(() => {
        if (this._session === invitation && invitation.state === "Initial") {
          this.answer().catch((error) => this._error(`auto-answer failed: ${error.message}`));
        }
      }, delay);
    }
  }

  /** @private */
  _onSessionState(session, state) {
    if (session !== this._session) {
      return;
    }
    if (state === "Established") {
      this._setCallState(this._held ? "held" : "established");
      this._attachMedia(session);
      this._emit("established", {});
    } else if (state === "Terminated") {
      clearTimeout(this._autoAnswerTimer);
      const end = this._endReason ?? { reason: "failed", detail: "session terminated" };
      this._session = null;
      this._held = false;
      this._muted = false;
      this._setCallState("idle");
      if (this._o.audioElement) {
        this._o.audioElement.srcObject = null;
      }
      this._emit("ended", end);
    }
  }

  /** @private */
  _attachMedia(session) {
    const sdh = session.sessionDescriptionHandler;
    const element = this._o.audioElement;
    if (!sdh || !element) {
      return;
    }
    element.srcObject = sdh.remoteMediaStream;
    element.autoplay = true;
    if (this._o.speakerId && typeof element.setSinkId === "function") {
      element.setSinkId(this._o.speakerId).catch((e) => this._error(`speaker: ${e.message}`));
    }
    const played = element.play?.();
    played?.catch?.((error) => this._error(`cannot play remote audio: ${error.message}`));
  }

  /** @private */
  _audioConstraints() {
    return this._o.microphoneId ? { deviceId: { exact: this._o.microphoneId } } : true;
  }

  /** @private */
  _requireSession(states, action) {
    const session = this._session;
    if (!session || !states.includes(session.state)) {
      throw new Error(`SipPhone: cannot ${action} in call state "${this._callState}"`);
    }
    return session;
  }

  // ------------------------------------------------------------------ call control

  /** Accept the ringing invitation with audio only (no video). */
  async answer() {
    const invitation = this._requireSession(["Initial"], "answer");
    clearTimeout(this._autoAnswerTimer);
    try {
      await invitation.accept({
        sessionDescriptionHandlerOptions: {
          constraints: { audio: this._audioConstraints(), video: false },
        },
      });
    } catch (error) {
      this._endReason = { reason: "failed", detail: `answer failed: ${error.message}` };
      this._error(`answer failed: ${error.message}`);
      throw error;
    }
  }

  /**
   * Reject the ringing invitation with 486 Busy Here. SIP.js' default (480) would be counted by
   * mod_callcenter as a no-answer.
   */
  async reject() {
    const invitation = this._requireSession(["Initial", "Establishing"], "reject");
    clearTimeout(this._autoAnswerTimer);
    this._endReason = { reason: "rejected", detail: "486 Busy Here" };
    await invitation.reject({ statusCode: 486 });
  }

  /**
   * End the call whatever its state: BYE when established, 486 when still ringing, CANCEL for
   * an outgoing call that is not answered yet. No-op without a call.
   */
  async hangup() {
    const session = this._session;
    if (!session) {
      return;
    }
    switch (session.state) {
      case "Initial":
      case "Establishing":
        if (typeof session.cancel === "function") {
          this._endReason = { reason: "local-hangup", detail: "cancelled" };
          await session.cancel();
        } else {
          await this.reject();
        }
        break;
      case "Established":
        this._endReason = { reason: "local-hangup" };
        await session.bye();
        break;
      default:
        break; // Terminating / Terminated: nothing left to do
    }
  }

  /** Put the call on hold (re-INVITE offering `a=sendonly`). */
  async hold() {
    return this._setHold(true);
  }

  /** Resume the call (re-INVITE offering `a=sendrecv`). */
  async unhold() {
    return this._setHold(false);
  }

  /** @private */
  async _setHold(hold) {
    const session = this._requireSession(["Established"], hold ? "hold" : "unhold");
    if (this._held === hold) {
      return;
    }
    const previous = this._held;
    const pc = session.sessionDescriptionHandler?.peerConnection;
    const directions = pc ? pc.getTransceivers().map((t) => [t, t.direction]) : [];
    const apply = (value) => {
      this._held = value;
      session.sessionDescriptionHandlerOptionsReInvite = { hold: value };
      this._setCallState(value ? "held" : "established");
      this._applyTrackState(session);
      this._emit("held", { held: value });
    };
    apply(hold); // optimistic, so the UI reacts at once; reverted below on failure
    try {
      await new Promise((resolve, reject) => {
        session
          .invite({
            requestDelegate: {
              onAccept: () => resolve(),
              onReject: (response) =>
                reject(
                  new Error(
                    `${response.message.statusCode} ${response.message.reasonPhrase || ""}`.trim(),
                  ),
                ),
            },
          })
          .catch(reject);
      });
    } catch (error) {
      if (this._session === session && session.state === "Established") {
        await this._rollbackOffer(pc, directions);
        apply(previous);
      }
      const message = `${hold ? "hold" : "unhold"} failed: re-INVITE ${error.message}`;
      this._error(message);
      throw new Error(message);
    }
  }

  /**
   * Undo a re-INVITE offer the peer refused. SIP.js' web session description handler has no
   * `rollbackDescription()`, so after a non-2xx answer the RTCPeerConnection would stay in
   * "have-local-offer" (and its transceivers at sendonly) and every later re-INVITE would fail
   * with "Invalid signaling state". Roll the offer back and restore the directions.
   * @private
   */
  async _rollbackOffer(pc, directions) {
    if (!pc || pc.signalingState === "closed") {
      return;
    }
    try {
      if (pc.signalingState === "have-local-offer") {
        await pc.setLocalDescription({ type: "rollback" });
      }
      for (const [transceiver, direction] of directions) {
        if (transceiver.direction !== "stopped" && transceiver.direction !== direction) {
          transceiver.direction = direction;
        }
      }
    } catch (error) {
      this._log.warn(`SipPhone: rollback of the refused offer failed: ${error.message}`);
    }
  }

  /**
   * Mute or unmute the microphone by disabling the local audio track(s). No signalling: the
   * peer keeps receiving (silent) RTP, so hold music / recording are not affected.
   * @param {boolean} on
   */
  mute(on) {
    this._muted = Boolean(on);
    if (this._session) {
      this._applyTrackState(this._session);
    }
  }

  /** @private */
  _applyTrackState(session) {
    const pc = session.sessionDescriptionHandler?.peerConnection;
    if (!pc) {
      return;
    }
    for (const sender of pc.getSenders()) {
      if (sender.track && sender.track.kind === "audio") {
        sender.track.enabled = !this._muted && !this._held;
      }
    }
    for (const receiver of pc.getReceivers()) {
      if (receiver.track && receiver.track.kind === "audio") {
        receiver.track.enabled = !this._held;
      }
    }
  }

  /**
   * Send DTMF digits. RFC 4733 telephone-events through the session description handler
   * (`RTCDTMFSender`); falls back to one SIP INFO (`application/dtmf-relay`) per digit when no
   * DTMF sender is available (telephone-event not negotiated), or always with
   * `{method: "info"}` / option `dtmfMethod: "info"`. RFC 4733 digits are queued after the
   * tones of earlier calls that are still playing.
   * @param {string} digits `0-9`, `*`, `#`, `A-D`; `,` pauses for two seconds
   * @param {{method?: "rfc4733"|"info"}} [options]
   * @returns {Promise<"rfc4733"|"info">} the transport used
   */
  async sendDtmf(digits, options = {}) {
    const tones = String(digits ?? "");
    if (!DTMF_RE.test(tones)) {
      throw new TypeError(`SipPhone: invalid DTMF "${tones}" (allowed: 0-9 * # A-D ,)`);
    }
    const session = this._requireSession(["Established"], "send DTMF");
    const method = options.method ?? this._o.dtmfMethod;
    const duration = this._o.dtmfDuration;
    if (method !== "info") {
      const sdh = session.sessionDescriptionHandler;
      // insertDTMF() replaces the tones still waiting to be played: keys pressed faster than
      // the tones play would be lost, so queue these after the pending ones.
      const pending = sdh?.peerConnection?.getSenders()[0]?.dtmf?.toneBuffer ?? "";
      const sent = sdh?.sendDtmf?.(pending + tones, {
        duration,
        interToneGap: this._o.dtmfInterToneGap,
      });
      if (sent) {
        return "rfc4733";
      }
      this._log.info("SipPhone: RFC 4733 DTMF unavailable; falling back to SIP INFO");
    }
    for (const tone of tones) {
      if (tone === ",") {
        await sleep(2000);
        continue;
      }
      await new Promise((resolve, reject) => {
        session
          .info({
            requestOptions: {
              body: {
                contentDisposition: "render",
                contentType: "application/dtmf-relay",
                content: `Signal=${tone}\r\nDuration=${duration}\r\n`,
              },
            },
            requestDelegate: {
              onAccept: () => resolve(),
              onReject: (response) =>
                reject(new Error(`INFO rejected with ${response.message.statusCode}`)),
            },
          })
          .catch(reject);
      });
    }
    return "info";
  }

  // ------------------------------------------------------------------ devices

  /**
   * Use another microphone. Applies to the current call at once (track replaced without
   * renegotiation) and to later calls.
   * @param {string} deviceId an `audioinput` deviceId from {@link SipPhone.devices}
   */
  async setMicrophone(deviceId) {
    this._o.microphoneId = deviceId || "";
    const sdh = this._session?.sessionDescriptionHandler;
    if (!sdh?.peerConnection) {
      return;
    }
    const stream = await navigator.mediaDevices.getUserMedia({
      audio: this._audioConstraints(),
      video: false,
    });
    await sdh.setLocalMediaStream(stream);
    this._applyTrackState(this._session);
  }

  /**
   * Play remote audio on another output device (`HTMLMediaElement.setSinkId`; Chromium-based
   * browsers and recent Firefox). Throws where the browser cannot choose the output.
   * @param {string} deviceId an `audiooutput` deviceId from {@link SipPhone.devices}
   */
  async setSpeaker(deviceId) {
    const element = this._o.audioElement;
    this._o.speakerId = deviceId || "";
    if (!element) {
      return;
    }
    if (typeof element.setSinkId !== "function") {
      throw new Error("this browser cannot choose the audio output (no HTMLMediaElement.setSinkId)");
    }
    await element.setSinkId(this._o.speakerId);
  }

  /**
   * List audio devices. Labels are empty until the page has microphone permission (browser
   * privacy rule), so call it again after the first `getUserMedia`.
   * @returns {Promise<{inputs: {deviceId: string, label: string}[],
   *   outputs: {deviceId: string, label: string}[]}>}
   */
  static async devices() {
    const all = (await globalThis.navigator?.mediaDevices?.enumerateDevices?.()) ?? [];
    const pick = (kind) =>
      all
        .filter((d) => d.kind === kind)
        .map((d) => ({ deviceId: d.deviceId, label: d.label, groupId: d.groupId }));
    return { inputs: pick("audioinput"), outputs: pick("audiooutput") };
  }
}

/**
 * Parse `answer-after=N` out of Call-Info header values (FreeSWITCH `sip_auto_answer=true`
 * sends `Call-Info: <sip:domain>;answer-after=0`).
 * @param {string[]} values
 * @returns {number|null} seconds, or null when no auto-answer was requested
 */
export function parseAnswerAfter(values) {
  for (const value of values ?? []) {
    const match = /;\s*answer-after\s*=\s*(\d+)/i.exec(value);
    if (match) {
      return Number.parseInt(match[1], 10);
    }
  }
  return null;
}

function normalizeLogger(logger) {
  const noop = () => undefined;
  const base = logger ?? {};
  return {
    debug: (base.debug ?? base.log ?? noop).bind(base),
    info: (base.info ?? base.log ?? noop).bind(base),
    warn: (base.warn ?? base.log ?? noop).bind(base),
    error: (base.error ?? base.log ?? noop).bind(base),
  };
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
