"""Every frame a real FreeSWITCH 1.10.12 sent, through our parser: framing, decoding,
bodies, and the typed views the product reads."""

from __future__ import annotations

import random

import pytest

from esl_controller.esl.events import PARSERS, Event, parse_event, parse_plain
from esl_controller.esl.frames import Frame, FrameDecoder
from esl_controller.esl.typed_events import (
    AgentStatusChanged,
    BackgroundJob,
    BridgeAgentFail,
    BridgeAgentStart,
    ChannelEvent,
    Heartbeat,
    MemberQueueEnd,
    PhoneRegistration,
    log_line,
    typed_event,
)
from tests.helpers.fixture_replay import FIXTURES, load

SCENARIOS = sorted(p.stem for p in FIXTURES.glob("*.jsonl"))


def streams(name: str) -> dict[int, bytes]:
    """The TCP byte stream FreeSWITCH sent, per connection."""
    out: dict[int, bytes] = {}
    for step in load(name).steps:
        if step["dir"] == "recv":
            out[step["conn"]] = out.get(step["conn"], b"") + step["raw"].encode("utf-8")
    return out


def expected_frames(name: str, conn: int) -> int:
    header = load(name).header
    return next(c["frames_received"] for c in header["connections"] if c["conn"] == conn)


def events_of(name: str) -> list[Event]:
    out = []
    for data in streams(name).values():
        for frame in FrameDecoder().feed(data):
            if frame.content_type in PARSERS:
                out.append(parse_event(frame.content_type, frame.body))
    return out


@pytest.mark.parametrize("name", SCENARIOS)
def test_every_frame_is_framed_whole_or_split_anywhere(name: str) -> None:
    rng = random.Random(name)
    for conn, data in streams(name).items():
        whole = FrameDecoder().feed(data)
        assert len(whole) == expected_frames(name, conn)
        # The same stream cut at random points, and one byte at a time for small ones.
        decoder = FrameDecoder()
        pieces: list[Frame] = []
        pos = 0
        while pos < len(data):
            step = rng.randint(1, 700)
            pieces += decoder.feed(data[pos : pos + step])
            pos += step
        assert [(f.headers, f.body) for f in pieces] == [(f.headers, f.body) for f in whole]
        assert decoder.buffered == 0
        if len(data) < 40_000:
            decoder = FrameDecoder()
            single = [f for i in range(len(data)) for f in decoder.feed(data[i : i + 1])]
            assert len(single) == len(whole)


@pytest.mark.parametrize("name", SCENARIOS)
def test_every_event_parses_and_has_a_name(name: str) -> None:
    for event in events_of(name):
        assert event.name
        assert "Content-Length" not in event.headers


def test_plain_values_are_decoded_per_header() -> None:
    events = events_of("call_answered_plain")
    cc = [e for e in events if e.key == "callcenter::info"]
    assert cc and all(e.subclass == "callcenter::info" for e in cc)
    first = events[0]
    assert first.get("FreeSWITCH-IPv6") == "fd00::2"
    callers = {e.get("Caller-Caller-ID-Name") for e in events if e.get("Caller-Caller-ID-Name")}
    assert "Jane\\ Doe" in callers  # the backslash FreeSWITCH kept (quirk 16)
    contact = [
        e for e in events_of("callcenter_config") if e.get("CC-Action") == "agent-contact-change"
    ]
    assert contact[0].get("CC-Agent-Contact") == "[leg_timeout=10]loopback/7000/default"
    statuses = {e.get("CC-Agent-Status") for e in events_of("callcenter_config")}
    assert {"On Break", "Available (On Demand)"} <= statuses


def test_plain_and_json_captures_say_the_same_things() -> None:
    def summary(name: str) -> tuple[list[str], set[str]]:
        events = events_of(name)
        actions = [e.get("CC-Action") or "" for e in events if e.key == "callcenter::info"]
        names = {e.get("Caller-Caller-ID-Name") or "" for e in events}
        return actions, names

    plain_actions, plain_names = summary("call_answered_plain")
    json_actions, json_names = summary("call_answered_json")
    assert sorted(plain_actions) == sorted(json_actions)
    assert plain_names == json_names


@pytest.mark.parametrize("fmt_scenario", ["commands"])
def test_background_job_bodies_are_separated_in_every_format(fmt_scenario: str) -> None:
    jobs = [e for e in events_of(fmt_scenario) if e.name == "BACKGROUND_JOB"]
    assert {e.format for e in jobs} == {"plain", "json", "xml"}
    for job in jobs:
        assert job.body.startswith(("UP ", "FreeSWITCH Version"))
        assert job.body.endswith("\n")
        assert all(job.body not in str(v) for v in job.headers.values())
        assert job.get("Job-UUID")


def test_log_data_keeps_the_empty_user_data_header() -> None:
    frames = [
        f
        for data in streams("commands").values()
        for f in FrameDecoder().feed(data)
        if f.content_type == "log/data"
    ]
    assert len(frames) == 2
    assert frames[0].headers["User-Data"] == ""
    assert list(frames[0].headers)[-1] == "User-Data"
    line = log_line(frames[1])
    assert (line.level, line.file, line.line) == (5, "mod_commands.c", 7200)
    assert line.text.endswith("esl-capture marker line")


def test_an_encoded_newline_in_a_value_cannot_create_a_header() -> None:
    raw = (
        b"Event-Name: CHANNEL_CREATE\n"
        b"Caller-Caller-ID-Name: Eve%0AEvent-Name:%20HEARTBEAT%0D%0AUnique-ID:%20x\n"
        b"Unique-ID: 11111111-2222-3333-4444-555555555555\n\n"
    )
    event = parse_plain(raw)
    assert event.name == "CHANNEL_CREATE"
    assert event.get("Unique-ID") == "11111111-2222-3333-4444-555555555555"
    assert event.get("Caller-Caller-ID-Name") == "Eve\nEvent-Name: HEARTBEAT\r\nUnique-ID: x"
    assert len(event.headers) == 3


def test_undef_array_and_multibyte_values() -> None:
    name = "José Müller ☎".encode()
    body = "Grüße\n".encode()
    raw = (
        b"Event-Name: BACKGROUND_JOB\nJob-Owner-UUID: _undef_\n"
        b"Caller-Caller-ID-Name: Jos%C3%A9%20M%C3%BCller%20%E2%98%8E\n"
        b"variable_list: ARRAY%3A%3Aone%7C%3Atwo%7C%3Athree\n"
        b"Content-Length: " + str(len(body)).encode() + b"\n\n" + body
    )
    frame_bytes = b"Content-Length: %d\nContent-Type: text/event-plain\n\n" % len(raw) + raw
    (frame,) = FrameDecoder().feed(frame_bytes)
    event = parse_event(frame.content_type, frame.body)
    assert event.get("Job-Owner-UUID") is None
    assert event.get("Caller-Caller-ID-Name") == name.decode()
    assert event.get_list("variable_list") == ["one", "two", "three"]
    assert event.body == "Grüße\n"


def test_typed_views_of_an_answered_queue_call() -> None:
    typed = [typed_event(e) for e in events_of("call_answered_plain")]
    starts = [t for t in typed if isinstance(t, BridgeAgentStart)]
    assert len(starts) == 1
    assert (starts[0].agent, starts[0].member.queue) == ("agent7000", "support@default")
    assert starts[0].member.cid_number == "5551234567"
    ends = [t for t in typed if isinstance(t, MemberQueueEnd)]
    assert ends[0].cause == "Terminated" and ends[0].agent == "agent7000"
    channels = [t for t in typed if isinstance(t, ChannelEvent)]
    assert {c.name for c in channels} >= {"CHANNEL_CREATE", "CHANNEL_BRIDGE", "CHANNEL_DESTROY"}
    hangups = [c for c in channels if c.name == "CHANNEL_HANGUP_COMPLETE"]
    assert all(c.hangup_cause for c in hangups)
    assert any(c.billsec is not None for c in hangups)
    jobs = [t for t in typed if isinstance(t, BackgroundJob)]
    assert jobs and jobs[0].ok and jobs[0].command == "originate"
    statuses = [t for t in typed if isinstance(t, AgentStatusChanged)]
    assert [s.status for s in statuses] == ["Available", "Logged Out"]
    assert all(t.meta.sequence for t in typed if t is not None and hasattr(t, "meta"))


def test_typed_views_of_abandon_and_no_answer() -> None:
    typed = [typed_event(e) for e in events_of("call_abandoned")]
    end = next(t for t in typed if isinstance(t, MemberQueueEnd))
    assert (end.cause, end.cancel_reason, end.agent) == ("Cancel", "BREAK_OUT", None)
    fail = next(t for t in typed if isinstance(t, BridgeAgentFail))
    assert fail.hangup_cause == "ORIGINATOR_CANCEL"
    typed = [typed_event(e) for e in events_of("no_answer_to_break")]
    fail = next(t for t in typed if isinstance(t, BridgeAgentFail))
    assert fail.hangup_cause == "ALLOTTED_TIMEOUT"


def test_typed_views_of_registration_and_heartbeat() -> None:
    typed = [typed_event(e) for e in events_of("sip_agent_hold_transfer")]
    regs = [t for t in typed if isinstance(t, PhoneRegistration)]
    assert [r.kind for r in regs] == ["register", "unregister"]
    assert regs[0].online and not regs[1].online
    assert regs[0].user == "1000"
    beats = [typed_event(e) for e in events_of("commands") if e.name == "HEARTBEAT"]
    assert beats and isinstance(beats[0], Heartbeat) and beats[0].version.startswith("1.10.12")


def test_bad_numbers_from_freeswitch_do_not_raise() -> None:
    event = parse_plain(
        b"Event-Name: CUSTOM\nEvent-Subclass: callcenter%3A%3Ainfo\nCC-Action: bridge-agent-start\n"
        b"CC-Agent: a\nCC-Agent-Called-Time: soon\nCC-Agent-Answered-Time: -\nEvent-Sequence: x\n\n"
    )
    view = typed_event(event)
    assert isinstance(view, BridgeAgentStart)
    assert view.called_at is None and view.answered_at is None and view.meta.sequence is None
