"""Hold music as the product reports it: a held call's ``hold_music`` is what FreeSWITCH
says is playing to the caller (PLAYBACK_START, which fires only once the music opened),
never a guess from the hold alone. The call and its hold are what a real FreeSWITCH
1.10.12 sent (tests/fixtures/esl/sip_agent_hold_transfer.jsonl: a SIP agent held with
``uuid_hold`` on its own leg); the playback events are written as FreeSWITCH sends them to
the held leg's partner, the caller's channel (switch_ivr_hold broadcasts ``hold_music``
there)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from dashboard.api.schemas import CallOut
from esl_controller.domain.floor import Floor
from esl_controller.domain.model import CallView
from esl_controller.esl.events import PARSERS, parse_event
from esl_controller.esl.frames import FrameDecoder
from esl_controller.esl.typed_events import Meta, Playback, typed_event
from tests.helpers.fixture_replay import load

FIXTURE = "sip_agent_hold_transfer"
CALLER = "cdef350c-275e-4b92-900d-7b7d33c44758"  # the member session (the caller's channel)
AGENT_LEG = "7d109f94-bcc7-4217-9901-d55464f0e863"  # the agent's phone, held by uuid_hold


def frames_until(floor: Floor, last_event: str) -> None:
    """Feed the recording up to and including the first ``last_event``."""
    for step in load(FIXTURE).steps:
        if step["dir"] != "recv":
            continue
        for frame in FrameDecoder().feed(step["raw"].encode()):
            if frame.content_type not in PARSERS:
                continue
            event = parse_event(frame.content_type, frame.body)
            view = typed_event(event)
            if view is not None:
                floor.apply(view)
            if event.name == last_event:
                return
    raise AssertionError(f"no {last_event} in {FIXTURE}")


def playback(name: str, uuid: str, other_leg: str | None, path: str, seq: int) -> Any:
    """A PLAYBACK_START/STOP as FreeSWITCH writes it (plain, URL-encoded values)."""
    lines = [f"Event-Name: {name}", f"Unique-ID: {uuid}", f"Event-Sequence: {seq}",
             "Event-Date-Timestamp: 1795514506700000",
             "Event-Calling-Function: switch_ivr_play_file",
             "Playback-File-Type: local_stream",
             f"Playback-File-Path: {path.replace(':', '%3A').replace('/', '%2F')}"]  # fmt: skip
    if other_leg:
        lines.append(f"Other-Leg-Unique-ID: {other_leg}")
    body = ("\n".join(lines) + "\n\n").encode()
    view = typed_event(parse_event("text/event-plain", body))
    assert isinstance(view, Playback)
    return view


def shown(floor: Floor) -> CallOut:
    return CallOut.of(floor.calls[CALLER])


def test_hold_claims_music_only_while_freeswitch_reports_it_playing() -> None:
    floor = Floor()
    frames_until(floor, "CHANNEL_HOLD")
    held = shown(floor)
    assert held.held is True
    assert held.hold_music is None  # held, and nothing reported playing (yet)

    # Music on the agent's own leg (a beep, a prompt) is not what the caller hears.
    floor.apply(playback("PLAYBACK_START", AGENT_LEG, CALLER, "tone_stream://%(100,0,800)", 9001))
    assert shown(floor).hold_music is None

    # The caller's channel opened the hold music.
    changes = floor.apply(playback("PLAYBACK_START", CALLER, AGENT_LEG, "local_stream://moh", 9002))
    assert [c.kind for c in changes] == ["call"]
    assert shown(floor).hold_music == "local_stream://moh"

    # Unhold (the recording's own CHANNEL_UNHOLD): no hold, no music claimed.
    frames_until(floor, "CHANNEL_UNHOLD")
    after = shown(floor)
    assert (after.held, after.hold_music) == (False, None)
    # The late PLAYBACK_STOP changes nothing more.
    assert (
        floor.apply(playback("PLAYBACK_STOP", CALLER, AGENT_LEG, "local_stream://moh", 9003)) == []
    )


def test_music_that_stops_during_the_hold_is_no_longer_claimed() -> None:
    floor = Floor()
    frames_until(floor, "CHANNEL_HOLD")
    floor.apply(playback("PLAYBACK_START", CALLER, AGENT_LEG, "local_stream://moh", 9002))
    floor.apply(playback("PLAYBACK_STOP", CALLER, AGENT_LEG, "local_stream://moh", 9003))
    assert shown(floor).held is True
    assert shown(floor).hold_music is None


def test_queue_music_before_the_answer_is_not_hold_music() -> None:
    """mod_callcenter plays the queue's moh while the caller waits: not a hold."""
    floor = Floor()
    frames_until(floor, "CHANNEL_HOLD")
    call = floor.calls[CALLER]
    floor.calls[CALLER] = replace(call, held_since=None)
    floor.apply(playback("PLAYBACK_START", CALLER, None, "local_stream://moh", 9002))
    assert floor.calls[CALLER].playing == "local_stream://moh"
    assert shown(floor).hold_music is None


def test_dial_out_music_is_on_the_channel_bridged_to_the_agent() -> None:
    """A dial-out's call is the agent's own leg; the dialled party is its partner."""
    floor = Floor()
    leg = "0a0b0c0d-0000-4000-8000-000000000001"
    floor.calls[leg] = CallView(
        uuid=leg, direction="outbound", queue=None, member_uuid=None, agent="agent1000",
        agent_leg=leg, cid_name="", cid_number="5551234", joined_at=1.0, offered_at=1.0,
        answered_at=2.0, held_since=3.0, hold_seconds=0.0, transferred_at=None,
        ended_at=None, cause=None, outcome=None,
    )  # fmt: skip
    far = "0a0b0c0d-0000-4000-8000-000000000002"
    floor.apply(Playback(Meta(1, 4.0), True, leg, far, "local_stream://moh"))  # agent's leg
    assert floor.calls[leg].playing is None
    floor.apply(Playback(Meta(2, 4.0), True, far, leg, "local_stream://moh"))
    assert CallOut.of(floor.calls[leg]).hold_music == "local_stream://moh"
    unrelated = "0a0b0c0d-0000-4000-8000-000000000003"
    assert floor.apply(Playback(Meta(3, 4.0), True, unrelated, far, "x.wav")) == []
