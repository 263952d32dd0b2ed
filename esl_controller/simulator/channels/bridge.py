"""Bridging two channels, as ``switch_ivr_multi_threaded_bridge`` shows it in events.

The bridging side (A) gets CHANNEL_BRIDGE with ``Bridge-A-Unique-ID`` /
``Bridge-B-Unique-ID`` and sees its partner as ``Other-Type: originatee``; the partner's
``Channel-Call-UUID`` becomes A's uuid while they are bridged. The bridge ends when
either side hangs up: A gets CHANNEL_UNBRIDGE, and the side still up is hung up too
(``hangup_after_bridge`` is what mod_callcenter's queues and our dialplan set).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import gevent

from esl_controller.simulator.channels.channel import Channel

if TYPE_CHECKING:
    from esl_controller.simulator.channels.core import CallCore

BRIDGE = ("switch_ivr_bridge.c", "switch_ivr_multi_threaded_bridge", 1689)
UNBRIDGE = ("switch_ivr_bridge.c", "switch_ivr_multi_threaded_bridge", 1879)


def bridge(core: CallCore, a_leg: Channel, b_leg: Channel) -> str:
    """Bridge and block until it ends; returns which side ended it ("a" or "b")."""
    engine = core.engine
    if a_leg.gone or b_leg.gone:
        return "a" if a_leg.gone else "b"
    a_leg.partner, b_leg.partner = b_leg, a_leg
    a_leg.other_type, b_leg.other_type = "originatee", "originator"
    b_leg.call_uuid = a_leg.uuid
    now = engine.now_us()
    a_leg.bridged_us = b_leg.bridged_us = now
    for leg, other in ((a_leg, b_leg), (b_leg, a_leg)):
        leg.set_var("bridge_channel", other.name)
        leg.set_var("bridge_uuid", other.uuid)
        leg.set_var("signal_bond", other.uuid)
    ids = [("Bridge-A-Unique-ID", a_leg.uuid), ("Bridge-B-Unique-ID", b_leg.uuid)]
    engine.emit("CHANNEL_BRIDGE", a_leg, BRIDGE, ids)
    a_pull, b_pull = engine.unbridge_event(a_leg), engine.unbridge_event(b_leg)
    a_pull.clear()
    b_pull.clear()
    gevent.wait([engine.done_event(a_leg), engine.done_event(b_leg), a_pull, b_pull], count=1)
    ended = "a" if a_leg.gone or a_pull.is_set() else "b"
    a_leg.set_var("last_bridge_to", b_leg.uuid)
    transferred = [leg for leg, pull in ((a_leg, a_pull), (b_leg, b_pull)) if pull.is_set()]
    # A transferred leg leaves the bridge alive; its partner is hung up first, then the
    # A side reports the unbridge (sip_agent_hold_transfer, step 5).
    for leg in (b_leg, a_leg):
        if transferred and leg not in transferred and not leg.gone and not leg.survives_bridge:
            engine.hangup(leg, "NORMAL_CLEARING")
    if not a_leg.gone:
        engine.emit("CHANNEL_UNBRIDGE", a_leg, UNBRIDGE, ids)
    a_leg.partner = b_leg.partner = None
    a_leg.other_type = b_leg.other_type = None
    b_leg.call_uuid = None
    for leg in (a_leg, b_leg):
        if leg in transferred or leg.gone or leg.survives_bridge:
            continue
        if leg.variables.get("hangup_after_bridge", "true") != "false":
            engine.hangup(leg, "NORMAL_CLEARING")
    return ended
