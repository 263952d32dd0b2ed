"""Dialplan applications of the simulated core (each runs in the channel's session).

Blocking applications (park, echo, endless playback, sleep) wait on the simulated clock
or for the hangup, which interrupts them as a hangup does in FreeSWITCH.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from esl_controller.simulator.channels.channel import Channel

if TYPE_CHECKING:
    from esl_controller.simulator.channels.core import CallCore


def answer(core: CallCore, channel: Channel, data: str) -> None:
    core.answer(channel)


def pre_answer(core: CallCore, channel: Channel, data: str) -> None:
    if channel.answer_state == "ringing":
        core.engine.early(channel)


def ring_ready(core: CallCore, channel: Channel, data: str) -> None:
    core.engine.ring(channel)
    other = core.other_leg(channel)
    if other is not None and channel.variables.get("loopback_leg") == "B":
        core.engine.ring(other)  # the 180 reaches the loopback's -a leg


def set_var(core: CallCore, channel: Channel, data: str) -> None:
    name, _, value = data.partition("=")
    if name.strip():
        channel.set_var(name.strip(), value if value != "" else None)


def export(core: CallCore, channel: Channel, data: str) -> None:
    name, _, value = data.partition("=")
    name = name.strip()
    local = True
    if name.startswith("nolocal:"):
        name, local = name[len("nolocal:") :], False
    if local and name:
        channel.set_var(name, value)
    exported = channel.variables.get("export_vars", "")
    names = [n for n in exported.split(",") if n]
    if name and name not in names:
        channel.variables["export_vars"] = ",".join([*names, name])


def unset(core: CallCore, channel: Channel, data: str) -> None:
    channel.set_var(data.strip(), None)


def park(core: CallCore, channel: Channel, data: str) -> None:
    core.engine.wait_hangup(channel)


def echo(core: CallCore, channel: Channel, data: str) -> None:
    core.engine.wait_hangup(channel)


def playback(core: CallCore, channel: Channel, data: str) -> None:
    # A local_stream never ends (mod_local_stream loops its folder for ever).
    if "loops=-1" in data or data.startswith("local_stream://"):
        core.engine.wait_hangup(channel)
    else:
        core.sleep(1.0)  # a prompt takes about a second


def sleep(core: CallCore, channel: Channel, data: str) -> None:
    millis = int(data) if data.strip().isdigit() else 0
    core.sleep(millis / 1000)


def hangup(core: CallCore, channel: Channel, data: str) -> None:
    core.engine.hangup(channel, data.strip().upper() or "NORMAL_CLEARING")


def transfer(core: CallCore, channel: Channel, data: str) -> None:
    from esl_controller.simulator.channels.core import Transfer

    words = data.split()
    if not words:
        return
    channel.profile.destination = words[0]
    if len(words) > 2:
        channel.profile.context = words[2]
    channel.transfer_us = core.engine.now_us()
    raise Transfer()


def noop(core: CallCore, channel: Channel, data: str) -> None:
    """log, info, deflect and friends: nothing a listener of events would see."""


BUILTIN = {
    "answer": answer,
    "pre_answer": pre_answer,
    "ring_ready": ring_ready,
    "set": set_var,
    "export": export,
    "unset": unset,
    "park": park,
    "echo": echo,
    "playback": playback,
    "sleep": sleep,
    "hangup": hangup,
    "transfer": transfer,
    "log": noop,
    "info": noop,
    "deflect": noop,
}


def bridge_app(core: CallCore, channel: Channel, data: str) -> None:
    """``bridge <dial string>``: ring the target; when it answers, answer this channel
    (a loopback -b leg answers its -a leg first) and bridge the two."""
    from esl_controller.simulator.channels.bridge import bridge
    from esl_controller.simulator.channels.dialstring import parse_dial_string

    global_vars, legs = parse_dial_string(data)
    if not legs:
        channel.set_var("originate_disposition", "INVALID_URL")
        return
    if channel.variables.get("loopback_leg") == "B":
        core.early(channel)
    leg, result = core.outbound.dial(legs[0], global_vars)
    if leg is not None:
        # As FreeSWITCH's originate: the channel running bridge hanging up abandons the
        # ringing target (ORIGINATOR_CANCEL).
        import gevent

        gevent.wait([result, core.engine.done_event(channel)], count=1)
        if not result.ready() and channel.gone and not leg.gone:
            core.hangup_pair(leg, "ORIGINATOR_CANCEL")
    outcome = result.get()
    if outcome is not True or leg is None or leg.gone:
        cause = outcome if isinstance(outcome, str) else "NORMAL_CLEARING"
        channel.set_var("originate_disposition", cause)
        if channel.variables.get("continue_on_fail") != "true":
            core.engine.hangup(channel, cause)
        return
    channel.set_var("originate_disposition", "SUCCESS")
    core.answer(channel)
    bridge(core, channel, leg)


BUILTIN["bridge"] = bridge_app


# DTMF read from the eavesdropper's own channel during eavesdrop (switch_ivr_async.c,
# switch_ivr_eavesdrop_session): who hears the listener. "aleg" = the target's partner
# (ED_MUX_READ), "whisper" = the target's own endpoint (ED_MUX_WRITE), "barge" = both.
EAVESDROP_DIGIT_MODES = {"0": "listen", "1": "aleg", "2": "whisper", "3": "barge"}
TRUE_WORDS = ("true", "yes", "on", "enabled", "active", "allow")


def switch_true(value: str | None) -> bool:
    """FreeSWITCH's switch_true: yes/on/true/enabled/active/allow, or a non-zero number."""
    text = (value or "").strip().lower()
    return text in TRUE_WORDS or (text.lstrip("-").isdigit() and int(text) != 0)


def eavesdrop(core: CallCore, channel: Channel, data: str) -> None:
    """``eavesdrop <uuid>``: listen (whisper/barge with the eavesdrop_* variables) until
    the target or the listener hangs up, or the listener presses ``*``. Digits on the
    listener's channel (its phone, or ``uuid_recv_dtmf``) switch mode as FreeSWITCH's
    do: 0 listen, 1 talk to the target's partner, 2 whisper to the target, 3 barge; not
    with ``eavesdrop_enable_dtmf=false``. FreeSWITCH does this with media bugs: no bridge
    events, the target's call is untouched. The leg's ``eavesdrop_mode`` variable (the
    simulator's own) says which mode is on, for tests and ``uuid_getvar``."""
    import gevent
    from gevent.event import Event

    target = core.engine.get(data.strip())
    if target is None or target.gone:
        core.engine.hangup(channel, "NORMAL_CLEARING")
        return
    if not channel.answered:
        core.answer(channel)
    channel.set_var("eavesdrop_target_uuid", target.uuid)
    mode = "listen"
    if switch_true(channel.variables.get("eavesdrop_whisper_aleg")):
        whisper_bleg = switch_true(channel.variables.get("eavesdrop_whisper_bleg"))
        mode = "barge" if whisper_bleg else "aleg"
    elif switch_true(channel.variables.get("eavesdrop_whisper_bleg")):
        mode = "whisper"
    channel.set_var("eavesdrop_mode", mode)
    # Unset: DTMF on (ED_DTMF is the default); set: on only if switch_true.
    dtmf = channel.variables.get("eavesdrop_enable_dtmf")
    enabled = dtmf is None or switch_true(dtmf)
    stop = Event()

    def on_dtmf(leg: Channel, digits: str) -> None:
        if leg is not channel or not enabled:
            return
        for digit in digits:
            if digit == "*":
                stop.set()
                return
            chosen = EAVESDROP_DIGIT_MODES.get(digit)
            if chosen is not None:
                channel.set_var("eavesdrop_mode", chosen)

    core.dtmf_listeners.append(on_dtmf)
    try:
        gevent.wait([core.engine.done_event(target), core.engine.done_event(channel), stop],
                    count=1)  # fmt: skip
    finally:
        core.dtmf_listeners.remove(on_dtmf)


BUILTIN["eavesdrop"] = eavesdrop


def att_xfer(core: CallCore, channel: Channel, data: str) -> None:
    """``att_xfer <dial string>`` on a bridged leg (the agent's): the partner is held,
    the target rung; DTMF from this leg then decides — ``*`` completes (this leg drops,
    partner and target are bridged), ``#`` cancels (target dropped, partner resumed).
    This leg hanging up completes too once the target answered (before, the target's
    originate is abandoned); the target hanging up cancels, ringing or answered.
    ``att_xfer_result`` ends up ``success`` or ``failure``."""
    import gevent
    from gevent.event import AsyncResult

    from esl_controller.simulator.channels.bridge import bridge
    from esl_controller.simulator.channels.dialstring import parse_dial_string

    engine = core.engine
    partner = channel.partner
    global_vars, legs = parse_dial_string(data)
    if partner is None or not legs:
        channel.set_var("att_xfer_result", "failure")
        return
    engine.hold(partner)
    target, answered = core.outbound.dial(legs[0], global_vars)
    if target is not None:
        # FreeSWITCH's originate gives up when the channel running it hangs up: the
        # consulted party stops ringing (ORIGINATOR_CANCEL) and nothing is transferred.
        gevent.wait([answered, engine.done_event(channel)], count=1)
        if not answered.ready() and channel.gone and not target.gone:
            core.hangup_pair(target, "ORIGINATOR_CANCEL")
    if answered.get() is not True or target is None or target.gone:
        engine.unhold(partner)
        channel.set_var("att_xfer_result", "failure")
        return
    decision: AsyncResult = AsyncResult()

    def on_dtmf(leg: Channel, digits: str) -> None:
        if leg is channel and not decision.ready():
            for digit in digits:
                if digit in "*#":
                    decision.set("complete" if digit == "*" else "cancel")
                    return

    core.dtmf_listeners.append(on_dtmf)
    try:
        waiters = [engine.done_event(channel), engine.done_event(target)]
        while not decision.ready():
            gevent.wait([*waiters, decision], count=1)
            if channel.gone:
                decision.set("complete")
            elif target.gone:
                decision.set("cancel")
    finally:
        core.dtmf_listeners.remove(on_dtmf)
    if decision.get() == "cancel" or target.gone or partner.gone:
        if not target.gone:
            engine.hangup(target, "NORMAL_CLEARING")
        if not partner.gone:
            engine.unhold(partner)
        channel.set_var("att_xfer_result", "failure")
        return
    channel.set_var("att_xfer_result", "success")
    engine.unhold(partner)
    # The partner's own session (a queue caller waiting in ``callcenter``) must not
    # finish and hang up: it is replaced by the new bridge with the target.
    session = engine._greenlets.pop(partner.uuid, None)
    if session is not None:
        session.kill(block=True)
    partner.survives_bridge = True
    engine.unbridge_event(partner).set()  # leave the bridge with this leg, stay up
    gevent.sleep(0)
    if not channel.gone:
        engine.hangup(channel, "NORMAL_CLEARING")
    gevent.sleep(0)
    partner.survives_bridge = False

    def talk(leg: Channel) -> None:
        bridge(core, leg, target)

    engine.run_session(partner, talk)


BUILTIN["att_xfer"] = att_xfer
