"""Hostile caller values through the simulated switch, the agent's API and the history,
on SQLite and PostgreSQL: caller-ID names and numbers of 10,000 characters, an encoded
line break, NUL (raw and encoded), bytes that are not UTF-8, ``${...}`` and quotes.

The callers are ``sim_caller 5000 <number> <name>`` (the rest of the line is the name).
The simulator puts the values in its ESL events the way FreeSWITCH does — URL-encoded,
an existing ``%XX`` kept as it is — so ``%0A`` reaches the controller as a line break,
``%00`` and a raw NUL as NUL, and ``%FF%FE`` as two bytes that are not UTF-8 (decoded to
U+FFFD, as the controller's parser does for any bad byte). A Python string cannot carry
a lone invalid byte any other way, so that is the route for invalid UTF-8.

Alice answers each call from the agent page's API (ringing popup, answer, drop, wrap-up
with the call's uuid): nothing crashes or answers 5xx, every call is in cc_calls once
with its outcome and disposition, values stored cut with a mark or made visible, a
normal call after them is recorded, and ``GET /history`` returns them as JSON.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from esl_controller.domain.bounded import MARK
from esl_controller.domain.model import CallView, Change
from esl_controller.store.engine import session_scope
from esl_controller.store.models import Call, DeadLetter
from tests.helpers.databases import postgres_schema_url
from tests.web.conftest import Web, build_web, stop_web
from tests.wire.conftest import wait_until

# key: (number, name as typed to sim_caller, number stored, name stored)
CASES: dict[str, tuple[str, str, str, str]] = {
    "long_name": ("5550000001", "N" * 10_000, "5550000001", "N" * 127 + MARK),
    "long_number": ("7" * 10_000, "Long Number", "7" * 63 + MARK, "Long Number"),
    "line_break": ("5550000003", "Evil%0AInjected: yes", "5550000003", "Evil\u240aInjected: yes"),
    "nul": ("5550000004", "Nul\x00Byte", "5550000004", "Nul\u2400Byte"),
    "nul_encoded": ("5550000005", "Nul%00Encoded", "5550000005", "Nul\u2400Encoded"),
    "bad_utf8": ("5550000006", "Bad%FF%FEbytes", "5550000006", "Bad\ufffd\ufffdbytes"),
    "variables": ("5550000007", "${system(touch /tmp/pwned)}", "5550000007",
                  "${system(touch /tmp/pwned)}"),
    "quotes": ("5550000008", "O'Brien \"the\" `caller` \\ ;", "5550000008",
               "O'Brien \"the\" `caller` \\ ;"),
    "number_line_break": ("%0A5550009", "Number Break", "\u240a5550009", "Number Break"),
    "normal_after": ("5550000099", "Jane Doe", "5550000099", "Jane Doe"),
}  # fmt: skip


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def web_db(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[Web]:
    if request.param == "sqlite":
        built = build_web(f"sqlite:///{tmp_path / 'cc.db'}")
        yield built
        stop_web(built)
    else:
        for url in postgres_schema_url():
            built = build_web(url)
            yield built
            stop_web(built)


def ringing(web: Web, http: Any, token: str) -> dict[str, Any] | None:
    reply = web.post(http, token, "call/ringing")
    assert reply.status_code < 500, reply.data[:200]
    return reply.get_json() if reply.status_code == 200 else None


@pytest.mark.timeout(300)
def test_hostile_caller_values_are_recorded_once_each_and_shown_as_json(web_db: Web) -> None:
    web = web_db
    ended: list[CallView] = []
    web.floor.listeners.append(
        lambda changes: ended.extend(
            c.view for c in changes if c.kind == "call_ended" and isinstance(c.view, CallView)
        )
    )
    # One call at a time to alice, whose phone rings until she answers from the page;
    # no mod_callcenter wrap-up gate, so the next caller is offered at once.
    web.sim.execute_api("callcenter_config agent set wrap_up_time agent1000 0")
    web.sim.execute_api("sim_phone 1000 register")
    web.sim.execute_api("sim_phone 1000 noanswer")
    http, token = web.login("alice")
    assert web.post(http, token, "agent/ready").status_code == 200
    uuids: dict[str, str] = {}
    for key, (number, name, _, _) in CASES.items():
        assert web.sim.execute_api(f"sim_caller 5000 {number} {name}").startswith("+OK")
        assert wait_until(lambda: ringing(web, http, token) is not None, 20), key
        popup = ringing(web, http, token)
        assert popup is not None
        uuid = popup["call"]["uuid"]
        answered = web.post(http, token, "call/answer")
        assert answered.status_code == 200, (key, answered.get_json())
        dropped = web.post(http, token, "call/drop")
        assert dropped.status_code == 200, (key, dropped.get_json())
        assert wait_until(lambda u=uuid: any(c.uuid == u for c in ended), 20), key
        wrap_up = {"disposition": "resolved", "notes": f"case {key}", "call_uuid": uuid}
        saved = web.post(http, token, "agent/wrap-up", wrap_up)
        assert saved.status_code == 200, (key, saved.get_json())
        uuids[key] = uuid

    assert web.recorder.drained(timeout=30)
    with session_scope(web.deps.sessions) as session:
        rows = list(session.scalars(select(Call).where(Call.agent == "agent1000")))
        assert sorted(r.call_uuid for r in rows) == sorted(uuids.values())  # once each
        by_uuid = {r.call_uuid: r for r in rows}
        for key, (_, _, number, name) in CASES.items():
            row = by_uuid[uuids[key]]
            assert (row.cid_number, row.cid_name) == (number, name), key
            assert (row.outcome, row.disposition, row.notes) == ("answered", "resolved",
                                                                 f"case {key}"), key  # fmt: skip
        assert list(session.scalars(select(DeadLetter))) == []
    assert web.recorder.stats()["dead_letters"] == 0

    reply = http.get("/call-center/api/history?limit=50")
    assert reply.status_code == 200 and reply.is_json
    items = {item["call_uuid"]: item for item in reply.get_json()["items"]}
    for key, (_, _, number, name) in CASES.items():
        item = items[uuids[key]]
        assert (item["cid_number"], item["cid_name"]) == (number, name), key
        assert item["disposition"] == "resolved"


def test_the_recorder_never_sees_a_caller_value_unbounded(web_db: Web) -> None:
    """The same values handed straight to the recorder, as the floor would for a call
    that ended during a resync: no dead letter, one row each."""
    web = web_db
    template = CallView(
        uuid="", direction="inbound", queue="support@default", member_uuid=None,
        agent="agent1000", agent_leg=None, cid_name="", cid_number="", joined_at=1.0,
        offered_at=2.0, answered_at=3.0, held_since=None, hold_seconds=0.0,
        transferred_at=None, ended_at=4.0, cause="NORMAL_CLEARING", outcome="answered",
    )  # fmt: skip
    raw = {"long_name": ("5550000001", "N" * 10_000), "nul": ("555\x00", "Nul\x00Byte"),
           "surrogate": ("555", "Bad\udcffbyte"), "c1": ("555", "\x85\x9b[31m")}  # fmt: skip
    changes = [
        Change("call_ended", key, _with(template, uuid=f"raw-{key}", cid_number=n, cid_name=m))
        for key, (n, m) in raw.items()
    ]
    web.recorder.on_changes(changes)
    assert web.recorder.drained(timeout=30)
    with session_scope(web.deps.sessions) as session:
        rows = {r.call_uuid: r for r in session.scalars(select(Call))}
        assert {f"raw-{k}" for k in raw} <= set(rows)
        assert rows["raw-nul"].cid_number == "555\u2400"
        assert rows["raw-surrogate"].cid_name == "Bad\ufffdbyte"
        assert rows["raw-c1"].cid_name == "\ufffd\ufffd[31m"
        assert list(session.scalars(select(DeadLetter))) == []


def _with(call: CallView, **changes: Any) -> CallView:
    return dataclasses.replace(call, **changes)
