"""Reply parsers fed with what a real FreeSWITCH answered."""

from __future__ import annotations

import pytest

from esl_controller.errors import CommandFailed, EslProtocolError, NotFound
from esl_controller.esl import replies
from esl_controller.esl.frames import FrameDecoder
from tests.helpers.fixture_replay import load


def answers(scenario: str) -> dict[str, list[str]]:
    """api command line -> the api/response bodies FreeSWITCH gave it, in order."""
    out: dict[str, list[str]] = {}
    pending: list[str] = []
    for step in load(scenario).steps:
        if step["dir"] == "send":
            if step["raw"].startswith("api "):
                pending.append(step["raw"][4:].rstrip("\n"))
            continue
        for frame in FrameDecoder().feed(step["raw"].encode()):
            if frame.content_type == "api/response" and pending:
                out.setdefault(pending.pop(0), []).append(frame.text)
    return out


CC = answers("callcenter_config")
CMD = answers("commands")
CALL = answers("call_answered_plain")


def cc(line: str, index: int = 0) -> str:
    return CC[f"callcenter_config {line}"][index]


def test_ok_and_errors() -> None:
    assert replies.expect_ok(cc("agent add ccfix1 Callback")) == ""
    with pytest.raises(CommandFailed) as err:
        replies.expect_ok(cc("agent add ccfix1 Callback", 1))
    assert err.value.message == "Agent already exist!"
    with pytest.raises(NotFound):
        replies.expect_ok(CMD["callcenter_config agent set status nosuchagent Available"][0])
    with pytest.raises(NotFound):
        replies.expect_ok(CMD["uuid_kill 00000000-0000-0000-0000-000000000000"][0])
    with pytest.raises(NotFound):
        replies.expect_ok(cc("queue load nosuch@default"))
    assert replies.expect_ok(CMD["uuid_hold 00000000-0000-0000-0000-000000000000"][0]) == "Success"
    assert replies.expect_ok("+OK [Success]\n") == "[Success]"
    with pytest.raises(CommandFailed):
        replies.expect_ok("-ERROR\n")  # uuid_answer's failure text
    assert replies.expect_ok("-ERR no reply\n", no_reply_ok=True) == ""
    with pytest.raises(CommandFailed):
        replies.expect_ok("-ERR no reply\n")


def test_agent_get_bare_values() -> None:
    assert replies.bare_value(cc("agent get status ccfix1")) == "Available (On Demand)"
    assert replies.bare_value(cc("agent get state ccfix1")) == "Waiting"
    assert replies.bare_value(cc("agent get uuid ccfix1")) is None  # -ERR no reply
    with pytest.raises(NotFound):
        replies.bare_value(cc("agent get status nosuch"))


def test_pipe_tables_by_header_name() -> None:
    agents = replies.pipe_table(cc("agent list"))
    assert len(agents) == 7  # six from the XML, ccfix1 added at run time
    assert agents[-1]["name"] == "ccfix1" and agents[-1]["type"] == "Callback"
    first = agents[0]
    assert first["name"] == "agent1000"
    assert first["contact"] == "[leg_timeout=10]user/1000@127.0.0.1"
    assert (first["status"], first["state"], first["uuid"]) == ("Logged Out", "Waiting", "")
    tiers = replies.pipe_table(cc("tier list"))
    assert {"queue", "agent", "state", "level", "position"} == set(tiers[0])
    assert replies.pipe_table(cc("queue list members support@default")) == []
    assert replies.pipe_table(cc("queue list agents support@default Available")) == []
    queues = replies.pipe_table(cc("queue list"))
    assert {q["name"]: q["strategy"] for q in queues} == {
        "sales@default": "ring-all",
        "support@default": "longest-idle-agent",
    }
    members = replies.pipe_table(CALL["callcenter_config queue list members support@default"][0])
    assert members[0]["state"] == "Answered"
    assert members[0]["cid_name"] == "Jane\\ Doe"


def test_a_pipe_inside_a_contact_does_not_shift_columns() -> None:
    text = (
        "name|instance_id|uuid|type|contact|status|state\n"
        "a1|single_box||callback|user/1000@d|user/1001@d|Available|Waiting\n+OK\n"
    )
    (row,) = replies.pipe_table(text)
    assert row["contact"] == "user/1000@d|user/1001@d"
    assert (row["status"], row["state"]) == ("Available", "Waiting")
    with pytest.raises(EslProtocolError):
        replies.pipe_table("name|x\na|b\n")  # no +OK line: truncated output


def test_counts_json_and_show() -> None:
    assert replies.count(cc("queue count")) == 2
    assert replies.count(cc("queue count agents support@default")) == 4
    rows = replies.json_api(
        CMD['json {"command":"callcenter_config","data":{"arguments":"agent list"}}'][0]
    )
    assert rows[0]["name"] == "agent1000" and rows[0]["max_no_answer"] == "3"
    error = CC['json {"command":"callcenter_config","data":{"arguments":"queue list agents"}}'][0]
    with pytest.raises(CommandFailed) as err:
        replies.json_api(error)
    assert "Missing data attribute: queue_name" in err.value.message
    assert replies.show_json(CMD["show channels as json"][0]) == []
    channels = replies.show_json(CALL["show channels as json"][0])
    assert len(channels) == 3 and {"uuid", "name", "callstate"} <= set(channels[0])
    calls = replies.show_json(CALL["show calls as json"][0])
    assert len(calls) == 2
    uuids = replies.show_json(CALL["show channels as json"][0], columns=("uuid",))
    assert uuids == [{"uuid": row["uuid"]} for row in channels]
    assert replies.show_json(CMD["show channels as json"][0], columns=("uuid",)) == []


def test_misc_replies() -> None:
    assert replies.sofia_contact(CMD["sofia_contact 1000@127.0.0.1"][0]) is None
    assert replies.sofia_registrations(CMD["sofia status profile internal reg"][0]) == []
    block = (
        "\nRegistrations:\n====\nCall-ID:     abc\nUser:        1000@example.com\n"
        'Contact:     "1000" <sip:1000@10.0.0.9:5060>\n'
        "Status:      Registered(WSS-NAT)(unknown) EXP(2026)\n"
        "\nTotal items returned: 1\n====\n"
    )
    (reg,) = replies.sofia_registrations(block)
    assert reg["User"] == "1000@example.com" and reg["Status"].startswith("Registered")
    assert replies.originate("+OK 6cb4eec9-ed89-4107-893d-a0d644eb95c5\n").startswith("6cb4")
    with pytest.raises(CommandFailed) as err:
        replies.originate("-ERR NO_ANSWER\n")
    assert err.value.code == "originate_no_answer"
    assert replies.job_uuid("+OK Job-UUID: 409bf614-8334-4ec1-a135-66f8a12ee895").startswith("409b")
    assert (
        replies.getvar("_undef_") is None and replies.getvar("support@default") == "support@default"
    )
    assert replies.exists("true") and not replies.exists("false")
    with pytest.raises(EslProtocolError):
        replies.count("many\n")
