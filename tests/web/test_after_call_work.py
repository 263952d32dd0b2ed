"""After-call work on live simulated calls, as the history and the supervisor's reports
show it: the seconds from the hang-up to the saved disposition (or to the end of the hold
when nobody saves one) land on the call's row once, and the handle time in the reports
includes them; a call no wrap-up was owed for keeps none and its handle time is talk +
hold. The wrap-up service's clock is set to a moment after the call's end, so the
after-call work is a known number without waiting for it."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from esl_controller.store.engine import session_scope
from esl_controller.store.models import Call
from tests.web.conftest import Web, ring
from tests.web.test_api_calls import answered_call, ready
from tests.wire.conftest import wait_until

API = "/call-center/api"
AGENT = "agent1000"
LIMIT = 60  # the fixture's wrap-up limit


def status(http: FlaskClient) -> dict[str, Any]:
    return http.get(f"{API}/agent/status").get_json()  # type: ignore[no-any-return]


def talked_and_hung_up(web: Web) -> tuple[FlaskClient, str, str]:
    http, token = ready(web, "alice")
    ring(web)
    call = answered_call(web, http, token)
    assert web.post(http, token, "call/drop").status_code == 200
    assert wait_until(lambda: call["uuid"] not in web.floor.snapshot().calls)
    return http, token, call["uuid"]


def call_ended_at(web: Web, uuid: str) -> float:
    """The call's end as the wrap-up service noted it (once its disposition is owed)."""
    assert wait_until(lambda: any(o.call_uuid == uuid for o in web.deps.wrap_up.owed_calls(AGENT)))
    owed = next(o for o in web.deps.wrap_up.owed_calls(AGENT) if o.call_uuid == uuid)
    assert owed.ended_at is not None
    return owed.ended_at


def row(web: Web, uuid: str) -> Call:
    assert web.recorder.drained(timeout=10)
    with session_scope(web.deps.sessions) as session:
        found = session.scalar(select(Call).where(Call.call_uuid == uuid))
        assert found is not None
        session.expunge(found)
        return found


def reports(web: Web, day: str) -> tuple[dict[str, Any], dict[str, Any], dict[str, str]]:
    """Alice's row of the agents report, the support queue's row, and Alice's CSV row."""
    sue, _ = web.login("sue")
    query = f"from={day}&tz=UTC"
    agents = sue.get(f"{API}/reports/agents?{query}").get_json()["agents"]
    queues = sue.get(f"{API}/reports/queues?{query}").get_json()["queues"]
    text = sue.get(f"{API}/reports/agents.csv?{query}").get_data(as_text=True)
    table = list(csv.DictReader(io.StringIO(text[1:])))
    return (next(a for a in agents if a["agent"] == AGENT),
            next(q for q in queues if q["queue"] == "support@default"),
            next(r for r in table if r["agent"] == AGENT))  # fmt: skip


def day_of(call: Call) -> str:
    assert call.answered_at is not None
    return call.answered_at.date().isoformat()  # UTC (SQLite gives it back without a zone)


def test_a_disposition_saved_later_is_after_call_work_in_the_handle_time(db_web: Web) -> None:
    web = db_web
    http, token, uuid = talked_and_hung_up(web)
    ended = call_ended_at(web, uuid)
    web.deps.wrap_up.clock = lambda: ended + 25.0  # the agent types for 25 s
    saved = web.post(http, token, "agent/wrap-up", {"disposition": "resolved", "call_uuid": uuid})
    assert saved.status_code == 200, saved.get_json()

    call = row(web, uuid)
    assert call.disposition == "resolved"
    assert call.after_call_seconds == pytest.approx(25.0, abs=0.01)
    talk_and_hold = (call.talk_seconds or 0.0) + call.hold_seconds

    alice, support, csv_row = reports(web, day_of(call))
    assert alice["answered"] == 1
    assert alice["acw_seconds"] == pytest.approx(25.0, abs=0.01)
    assert alice["average_handle_time"] == pytest.approx(talk_and_hold + 25.0, abs=0.01)
    assert support["average_acw"] == pytest.approx(25.0, abs=0.01)
    assert support["average_handle_time"] == pytest.approx(talk_and_hold + 25.0, abs=0.01)
    assert float(csv_row["acw_seconds"]) == pytest.approx(25.0, abs=0.01)

    # An edit later does not move it: written once, at the end of the wrap-up.
    web.deps.wrap_up.clock = lambda: ended + 50.0
    edit = web.post(http, token, "agent/wrap-up",
                    {"disposition": "sale", "call_uuid": uuid, "edit": True})  # fmt: skip
    assert edit.status_code == 200, edit.get_json()
    assert row(web, uuid).after_call_seconds == pytest.approx(25.0, abs=0.01)


def test_a_call_without_a_wrap_up_keeps_none(web: Web) -> None:
    # A desk-phone agent (nobody signs in as it) keeps mod_callcenter's own gate: the
    # product owes no wrap-up, so there is no after-call work to count.
    web.deps.wrap_up.wanted = lambda agent: False
    http, token, uuid = talked_and_hung_up(web)
    assert wait_until(lambda: status(http)["owed"] == [] and web.deps.wrap_up.backlog() == 0)
    call = row(web, uuid)
    assert call.after_call_seconds is None
    talk_and_hold = (call.talk_seconds or 0.0) + call.hold_seconds

    alice, support, csv_row = reports(web, day_of(call))
    assert alice["acw_seconds"] == 0
    assert alice["average_handle_time"] == pytest.approx(talk_and_hold, abs=0.01)
    assert support["average_acw"] == 0
    assert support["average_handle_time"] == pytest.approx(talk_and_hold, abs=0.01)
    assert csv_row["acw_seconds"] == "0"


def test_a_hold_that_runs_out_counts_the_wrap_up_limit(web: Web) -> None:
    http, token, uuid = talked_and_hung_up(web)
    ended = call_ended_at(web, uuid)
    web.deps.wrap_up.clock = lambda: ended + LIMIT + 30.0  # nobody saved anything
    assert status(http)["owed"] == []  # the hold ran out
    assert row(web, uuid).after_call_seconds == pytest.approx(LIMIT)
    # A disposition given later by naming the call does not change it.
    late = web.post(http, token, "agent/wrap-up", {"disposition": "callback", "call_uuid": uuid})
    assert late.status_code == 200, late.get_json()
    assert row(web, uuid).after_call_seconds == pytest.approx(LIMIT)


def test_closing_the_wrap_up_ends_the_after_call_work(web: Web) -> None:
    http, token, uuid = talked_and_hung_up(web)
    ended = call_ended_at(web, uuid)
    web.deps.wrap_up.clock = lambda: ended + 12.0
    closed = web.post(http, token, "agent/wrap-up/close", {"call_uuid": uuid})
    assert closed.status_code == 200, closed.get_json()
    assert row(web, uuid).after_call_seconds == pytest.approx(12.0, abs=0.01)
