"""Command builders: they produce what a real client sent to FreeSWITCH, and they refuse
anything that could become a second command or a variable expansion."""

from __future__ import annotations

import inspect

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from esl_controller.errors import InvalidArgument
from esl_controller.esl.commands import callcenter as cc
from esl_controller.esl.commands import channels as ch
from esl_controller.esl.commands import originate as og
from tests.helpers.fixture_replay import load

U = "7d109f94-bcc7-4217-9901-d55464f0e863"


def sent_lines() -> set[str]:
    lines = set()
    for name in ("callcenter_config", "commands", "sip_agent_hold_transfer", "call_abandoned",
                 "no_answer_to_break", "call_answered_plain"):  # fmt: skip
        for step in load(name).steps:
            if step["dir"] == "send" and step["raw"].startswith(("api ", "bgapi ")):
                lines.add(step["raw"].split(" ", 1)[1].rstrip("\n"))
    return lines


SENT = sent_lines()


@pytest.mark.parametrize(
    "built",
    [
        cc.agent_add("ccfix1", "callback"),
        cc.agent_set_contact("ccfix1", "[leg_timeout=10]loopback/7000/default"),
        cc.agent_set_status("ccfix1", "available"),
        cc.agent_set_status("ccfix1", "on break"),
        cc.agent_set_status("ccfix1", "Available (On Demand)"),
        cc.agent_set_status("agent7001", "Logged Out"),
        cc.agent_set_state("ccfix1", "waiting"),
        cc.agent_set_number("ccfix1", "max_no_answer", 3),
        cc.agent_set_number("ccfix1", "wrap_up_time", 10),
        cc.agent_set_number("agent7001", "no_answer_delay_time", 1),
        cc.agent_get("status", "ccfix1"),
        cc.agent_get("uuid", "ccfix1"),
        cc.agent_list(),
        cc.agent_list("agent7000"),
        cc.tier_add("support@default", "ccfix1", 2, 3),
        cc.tier_set("level", "support@default", "ccfix1", 1),
        cc.tier_set("state", "support@default", "ccfix1", "standby"),
        cc.tier_list(),
        cc.tier_del("support@default", "ccfix1"),
        cc.agent_del("ccfix1"),
        cc.queue_list(),
        cc.queue_list("agents", "support@default"),
        cc.queue_list("members", "support@default"),
        cc.queue_list("tiers", "support@default"),
        cc.queue_count(),
        cc.queue_count("agents", "support@default"),
        cc.queue_action("reload", "support@default"),
        cc.json_query("agent list"),
        cc.json_query("queue list agents", "support@default"),
        ch.uuid_hold(U),
        ch.uuid_hold(U, "off"),
        ch.uuid_kill("cdef350c-275e-4b92-900d-7b7d33c44758"),
        ch.uuid_transfer("cdef350c-275e-4b92-900d-7b7d33c44758", "9664"),
        ch.show("channels"),
        ch.show("calls"),
        ch.sofia_status(),
        ch.sofia_registrations("internal"),
        ch.sofia_contact("1000", "127.0.0.1"),
        ch.create_uuid(),
        ch.global_getvar("domain"),
        og.originate(
            og.dial_string(
                og.loopback("5001", "default"),
                {
                    "origination_caller_id_number": "5557654321",
                    "origination_caller_id_name": "John Smith",
                },
            ),
            og.app_park(),
        ),
    ],
    ids=lambda c: c.line[:50],
)
def test_builders_produce_what_freeswitch_was_sent(built) -> None:  # type: ignore[no-untyped-def]
    assert built.line in SENT
    assert str(built) == built.line


BAD = ["x\ny", "x\r\ny", "${system(reboot)}", "a'b", 'a"b', "$${domain}", "a\x00b", "x" * 3000]


def string_arguments() -> list[tuple[str, object]]:
    """Every builder, with every one of its string arguments (others valid)."""
    valid = {
        "agent": "1000@default", "queue": "support@default", "channel": U, "other": U,
        "agent_leg": U, "status": "Available", "state": "Waiting", "contact": "user/1000",
        "agent_type": "Callback", "channel_uuid": U, "destination": "9664", "path": "/tmp/a.wav",
        "digits": "123", "name": "domain", "value": "x", "cause": "NORMAL_CLEARING",
        "variable": "cc_queue", "user": "1000", "domain": "example.com", "extension": "5000",
        "context": "default", "label": "x", "number": "5551234", "profile": "internal",
        "user_part": "1000", "host": "example.com", "target_dial_string": "user/1002",
        "target_uuid": U, "text": "user/1000", "target": "user/1000", "action": "start",
        "mode": "whisper",
    }  # fmt: skip
    cases = []
    for module in (cc, ch, og):
        for fname, fn in inspect.getmembers(module, inspect.isfunction):
            if fn.__module__ != module.__name__ or fname.startswith("_") or fname in (
                "var_block", "dial_string", "originate", "click_to_call", "eavesdrop",
                "agent_set_number", "tier_set", "json_query", "queue_list", "queue_count",
                "queue_action", "agent_get", "uuid_hold", "uuid_dump", "uuid_record",
                "uuid_broadcast", "show", "uuid_break", "app_park", "app_echo",
                "status", "version", "create_uuid", "tier_list", "sofia_status",
            ):  # fmt: skip
                continue
            params = [p for p in inspect.signature(fn).parameters.values()
                      if p.default is inspect.Parameter.empty]  # fmt: skip
            args = {p.name: valid[p.name] for p in params}
            for p in params:
                cases.append((f"{module.__name__}.{fname}", fn, args, p.name))
    return cases


CASES = string_arguments()


def test_the_valid_arguments_are_accepted() -> None:
    for _, fn, args, _ in CASES:
        fn(**args)


@pytest.mark.parametrize("bad", BAD)
@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c[0]}:{c[3]}")
def test_every_builder_refuses_injection_in_every_argument(case, bad: str) -> None:  # type: ignore[no-untyped-def]
    _, fn, args, param = case
    with pytest.raises(InvalidArgument):
        fn(**{**args, param: bad})


def test_variable_values_are_escaped_not_refused_when_safe() -> None:
    dial = og.dial_string(
        og.user("1000", "example.com"), {"origination_caller_id_name": "Doe, Jane"}
    )
    assert dial == "{origination_caller_id_name='Doe\\, Jane'}user/1000@example.com"
    with pytest.raises(InvalidArgument):
        og.dial_string(og.user("1000"), {"x": "a}b"})
    with pytest.raises(InvalidArgument):
        og.dial_string(og.user("1000"), {"bad name": "1"})


def test_product_helpers() -> None:
    call = og.click_to_call(
        call_uuid=U, agent="1000@default", agent_endpoint=og.user("1000", "example.com"),
        destination_dial=og.dial_string(og.gateway("carrier", "15551234567")),
        caller_id_number="5550100",
    )  # fmt: skip
    assert call.line.startswith(f"originate {{origination_uuid={U},")
    assert "execute_on_answer='callcenter_track 1000@default'" in call.line
    assert call.line.endswith("&bridge(sofia/gateway/carrier/15551234567)")
    spy = og.eavesdrop(call_uuid=U, supervisor_endpoint="user/2000", agent_leg_uuid=U,
                       mode="whisper")  # fmt: skip
    assert "eavesdrop_whisper_bleg=true" in spy.line and spy.line.endswith(f"&eavesdrop({U})")
    with pytest.raises(InvalidArgument):
        og.eavesdrop(call_uuid=U, supervisor_endpoint="user/2000", agent_leg_uuid=U, mode="x")
    with pytest.raises(InvalidArgument):
        cc.agent_set_status("1000@default", "Busy")
    with pytest.raises(InvalidArgument):
        cc.agent_set_number("1000@default", "wrapup_time", 5)  # the key is wrap_up_time
    assert ch.hupall("MANAGER_REQUEST", "cc_queue", "support@default").line == (
        "hupall MANAGER_REQUEST cc_queue support@default"
    )
    assert ch.att_xfer(U, "user/1002@example.com").line == (
        f"uuid_broadcast {U} att_xfer::user/1002@example.com aleg"
    )


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80))
def test_arbitrary_text_is_refused_or_harmless(text: str) -> None:
    for build in (
        lambda t: cc.agent_set_status(t, "Available"),
        lambda t: cc.agent_set_contact("1000@default", t),
        lambda t: ch.uuid_transfer(U, t),
        lambda t: og.dial_string(og.user("1000"), {"origination_caller_id_name": t}),
        lambda t: ch.uuid_send_dtmf(U, t),
    ):
        try:
            line = str(build(text))
        except InvalidArgument:
            continue
        assert "\n" not in line and "\r" not in line and "${" not in line


def test_numbers_are_ascii_digits_only() -> None:
    """ "²" passes str.isdigit() but int() refuses it: a 400, never a 500 or a command."""
    import pytest

    from esl_controller.errors import InvalidArgument
    from esl_controller.esl.commands import validate as v

    for bad in ("²", "1²", "١٢", "１２"):
        with pytest.raises(InvalidArgument):
            v.number("level", bad)
    assert v.number("level", " 12 ") == "12"
