// Test code for tests/browser/test_softphone_kamailio.py.
//
// Agent role: drives the product phone driver (SipPhone from /static/js/phone/sipjs.js) and
// mirrors its events into the visible page (#reg-state, #reg-reason, #call-state, #events).
// Caller role: the far end, written against SIP.js directly so the driver is not tested
// against itself; it records what it received (re-INVITE SDP, INFO bodies, BYE, responses).

import { SipPhone } from "/static/js/phone/sipjs.js";

const SIP_URL = "/static/vendor/sip.js/lib/index.js";
const $ = (id) => document.getElementById(id);

function logEvent(text) {
  const li = document.createElement("li");
  li.textContent = text;
  $("events").appendChild(li);
}

function showRegistration(state, reason) {
  $("reg-state").textContent = state;
  $("reg-state").dataset.state = state;
  $("reg-reason").textContent = reason || "";
}

// ------------------------------------------------------------------ agent (product driver)

const agent = {
  phone: null,
  events: [],
  dtmfTones: [],

  async start(cfg) {
    $("role").textContent = `agent ${cfg.extension}`;
    const phone = new SipPhone({
      wssUrl: cfg.wssUrl,
      domain: cfg.domain,
      extension: cfg.extension,
      ha1: cfg.ha1,
      displayName: cfg.displayName || `Agent ${cfg.extension}`,
      sipModuleUrl: SIP_URL,
      audioElement: $("remote-audio"),
      autoAnswer: Boolean(cfg.autoAnswer),
      reconnectMinDelay: cfg.reconnectMinDelay ?? 1000,
      reconnectMaxDelay: cfg.reconnectMaxDelay ?? 30000,
      traceSip: Boolean(cfg.traceSip),
    });
    this.phone = phone;
    for (const name of ["registration", "incoming", "established", "held", "ended", "error"]) {
      phone.on(name, (payload) => {
        this.events.push({ name, ...payload });
        logEvent(`${name} ${JSON.stringify(payload)}`);
        if (name === "registration") {
          showRegistration(payload.state, payload.reason);
        } else if (name === "incoming") {
          $("caller-id").textContent = `${payload.displayName} <${payload.from}>`;
        } else if (name === "error") {
          $("last-error").textContent = payload.message;
        }
        $("call-state").textContent = phone.callState;
      });
    }
    try {
      await phone.start();
      return { ok: true };
    } catch (error) {
      return { ok: false, error: error.message };
    }
  },

  /** Hook RTCDTMFSender.ontonechange: proves tones were played into the RTP stream. */
  watchDtmfSender() {
    const pc = this.phone.session.sessionDescriptionHandler.peerConnection;
    const dtmf = pc.getSenders()[0].dtmf;
    dtmf.addEventListener("tonechange", (event) => {
      if (event.tone) {
        this.dtmfTones.push(event.tone);
      }
    });
    return { canInsertDTMF: dtmf.canInsertDTMF };
  },

  /** RTP packets received from the far end so far (inbound-rtp audio stats). */
  async audioPacketsReceived() {
    const pc = this.phone.session.sessionDescriptionHandler.peerConnection;
    let packets = 0;
    (await pc.getStats()).forEach((stat) => {
      if (stat.type === "inbound-rtp" && stat.kind === "audio") {
        packets += stat.packetsReceived;
      }
    });
    return packets;
  },

  senderTracksEnabled() {
    const pc = this.phone.session.sessionDescriptionHandler.peerConnection;
    return pc.getSenders().map((s) => (s.track ? s.track.enabled : null));
  },
};

// ------------------------------------------------------------------ caller (SIP.js directly)

const caller = {
  SIP: null,
  ua: null,
  registerer: null,
  session: null,
  events: [],
  rtpPayloadCounts: {},
  telephoneEventPts: [],
  dtmfEvents: [], // RFC 4733 event codes received (0-9, 10 = *, 11 = #), one per event
  lastDtmfStamp: null,
  probing: false,

  record(type, data = {}) {
    this.events.push({ type, ...data });
    logEvent(`caller ${type} ${JSON.stringify(data).slice(0, 200)}`);
  },

  async start(cfg) {
    $("role").textContent = `caller ${cfg.extension}`;
    const SIP = await import(SIP_URL);
    this.SIP = SIP;
    this.cfg = cfg;
    this.ua = new SIP.UserAgent({
      uri: SIP.UserAgent.makeURI(`sip:${cfg.extension}@${cfg.domain}`),
      authorizationUsername: cfg.extension,
      authorizationHa1: cfg.ha1,
      displayName: `Caller ${cfg.extension}`,
      transportOptions: { server: cfg.wssUrl, traceSip: Boolean(cfg.traceSip) },
      sessionDescriptionHandlerFactoryOptions: {
        iceGatheringTimeout: 2000,
        // Encoded (insertable) streams let probeRtp() see the payload type of every RTP frame.
        peerConnectionConfiguration: { iceServers: [], encodedInsertableStreams: true },
      },
      logBuiltinEnabled: Boolean(cfg.traceSip),
      logLevel: cfg.traceSip ? "log" : "warn",
    });
    await this.ua.start();
    this.registerer = new SIP.Registerer(this.ua);
    const registered = new Promise((resolve, reject) => {
      this.registerer.stateChange.addListener((state) => {
        if (state === SIP.RegistererState.Registered) resolve();
      });
      this.registerer
        .register({
          requestDelegate: {
            onReject: (r) => reject(new Error(`REGISTER ${r.message.statusCode}`)),
          },
        })
        .catch(reject);
    });
    await registered;
    showRegistration("registered");
    return { ok: true };
  },

  /** INVITE `target`; resolves when the INVITE has been sent. */
  async call(target, extraHeaders = []) {
    const SIP = this.SIP;
    const uri = SIP.UserAgent.makeURI(`sip:${target}@${this.cfg.domain}`);
    const inviter = new SIP.Inviter(this.ua, uri, {
      extraHeaders,
      sessionDescriptionHandlerOptions: { constraints: { audio: true, video: false } },
    });
    this.session = inviter;
    inviter.delegate = {
      // Install the RTP probe as soon as the receiver exists, before media flows.
      onSessionDescriptionHandler: (sdh) => {
        sdh.peerConnectionDelegate = {
          ontrack: (event) => this.probeRtp(event.receiver),
        };
      },
      // Re-INVITE received from the far end (hold / unhold): keep the offered SDP.
      onInvite: (request, response, statusCode) => {
        this.record("reinvite", { sdp: request.body, statusCode });
      },
      onInfo: (info) => {
        this.record("info", {
          contentType: info.request.getHeader("content-type") || "",
          body: info.request.body,
        });
        info.accept();
      },
      onBye: (bye) => {
        this.record("bye");
        bye.accept();
      },
    };
    inviter.stateChange.addListener((state) => {
      this.record("state", { state });
      $("call-state").textContent = state;
      if (state === SIP.SessionState.Established) {
        const pc = inviter.sessionDescriptionHandler.peerConnection;
        this.pipeSenders(pc);
        // Play the agent's audio like a real phone would.
        const audio = $("remote-audio");
        audio.srcObject = inviter.sessionDescriptionHandler.remoteMediaStream;
        audio.play().catch((error) => this.record("play-failed", { message: error.message }));
        this.telephoneEventPts = [
          ...pc.remoteDescription.sdp.matchAll(/a=rtpmap:(\d+) telephone-event\//gi),
        ].map((m) => Number(m[1]));
      }
    });
    await inviter.invite({
      requestDelegate: {
        onAccept: (r) =>
          this.record("accepted", { statusCode: r.message.statusCode, sdp: r.message.body }),
        onReject: (r) => this.record("rejected", { statusCode: r.message.statusCode }),
      },
    });
    return { ok: true };
  },

  /**
   * Watch the payload types of the RTP arriving from the agent. telephone-event packets
   * (RFC 4733 DTMF) carry their own dynamic payload type from the SDP, different from the audio
   * codec's; with encoded insertable streams every received frame passes through here with its
   * RTP payload type (Chromium hands telephone-event packets to the transform as well).
   */
  probeRtp(receiver) {
    if (receiver.track.kind !== "audio" || this.probing) {
      return;
    }
    if (typeof receiver.createEncodedStreams !== "function") {
      this.record("rtp-probe-unavailable");
      return;
    }
    this.probing = true;
    const counts = this.rtpPayloadCounts;
    const { readable, writable } = receiver.createEncodedStreams();
    const probe = new TransformStream({
      transform: (frame, controller) => {
        const metadata = frame.getMetadata();
        const pt = metadata.payloadType;
        counts[pt] = (counts[pt] || 0) + 1;
        if (this.telephoneEventPts.includes(pt)) {
          this.recordDtmf(frame, metadata);
        }
        controller.enqueue(frame);
      },
    });
    readable.pipeThrough(probe).pipeTo(writable).catch(() => undefined);
  },

  /**
   * A telephone-event packet (RFC 4733): the payload's first byte is the event code. Every
   * packet of one event (start, updates, the repeated end packets) has the same RTP timestamp,
   * so an event is recorded once, on its first packet.
   */
  recordDtmf(frame, metadata) {
    const stamp = metadata.rtpTimestamp ?? frame.timestamp;
    if (stamp === this.lastDtmfStamp || frame.data.byteLength < 4) {
      return;
    }
    this.lastDtmfStamp = stamp;
    this.dtmfEvents.push(new Uint8Array(frame.data)[0]);
  },

  /** With encoded streams on, senders need their streams piped too or they send nothing. */
  pipeSenders(pc) {
    for (const sender of pc.getSenders()) {
      if (sender.track && !sender.piped && typeof sender.createEncodedStreams === "function") {
        sender.piped = true;
        try {
          const { readable, writable } = sender.createEncodedStreams();
          readable.pipeTo(writable).catch(() => undefined);
        } catch (error) {
          this.record("sender-pipe-failed", { message: error.message });
        }
      }
    }
  },

  /** Make SIP.js answer the agent's next re-INVITEs with 488 (a failing SDP modifier). */
  refuseReinvites(refuse) {
    this.session.sessionDescriptionHandlerModifiersReInvite = refuse
      ? [() => Promise.reject(new Error("harness refuses this re-INVITE"))]
      : [];
  },

  async hangup() {
    await this.session.bye();
  },
};

window.harness = { agent, caller, SipPhone };
window.harnessReady = true;
