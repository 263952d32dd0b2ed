"""History you can trust, for transfers and dispositions: every call exactly once, with the
outcome it had and the disposition the agent gave it — on SQLite and on PostgreSQL.

The cases were found on a real FreeSWITCH 1.10.12: attended transfers recorded as plain
answered calls; a consultation cancelled before the answer leaving the caller on hold; a
wrap-up sent right after hanging up a dial-out written onto (over) the previous call. Each
runs here against the simulator over TCP, through the REST API, as the page does it.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from flask.testing import FlaskClient

from esl_controller.store.engine import session_scope
from esl_controller.store.models import AuditEntry, Call
from tests.web.conftest import Web, ring
from tests.web.conftest import db_web as db_web  # noqa: F401 - the fixtures it uses
from tests.web.conftest import web as web  # noqa: F401
from tests.web.conftest import web_pg as web_pg  # noqa: F401
from tests.wire.conftest import wait_until

Client = tuple[FlaskClient, str]


def status(http: FlaskClient) -> dict[str, Any]:
    return http.get("/call-center/api/agent/status").get_json()  # type: ignore[no-any-return]


def consult_of(http: FlaskClient) -> dict[str, Any] | None:
    call = status(http)["call"]
    return None if call is None else call["consult"]


def ready_with_call(
    web: Web, name: str = "alice", ext: str = "1000", number: str = "5551230000"
) -> tuple[Client, str]:
    """Signed in, Ready, and talking to a queue caller; returns the client and call uuid."""
    http, token = web.login(name)
    assert web.post(http, token, "agent/ready").status_code == 200
    ring(web, ext, "noanswer", number)
    assert wait_until(lambda: web.post(http, token, "call/ringing").status_code == 200, 15)
    reply = web.post(http, token, "call/answer")
    assert reply.status_code == 200, reply.get_json()
    return (http, token), reply.get_json()["call"]["uuid"]


def history_rows(web: Web) -> list[Call]:
    assert web.recorder.drained(timeout=10)
    with session_scope(web.deps.sessions) as session:
        rows = list(session.query(Call).order_by(Call.id))
        session.expunge_all()
        return rows


def exactly_once(web: Web, *uuids: str) -> dict[str, Call]:
    rows = history_rows(web)
    counts = Counter(r.call_uuid for r in rows)
    for uuid in uuids:
        assert counts[uuid] == 1, f"{uuid} recorded {counts[uuid]} times"
    assert all(n == 1 for n in counts.values()), counts
    return {r.call_uuid: r for r in rows}


def wrap_up(web: Web, client: Client, **body: Any) -> Any:
    return web.post(client[0], client[1], "agent/wrap-up", body)


def consult(web: Web, client: Client, destination: str = "1001") -> None:
    reply = web.post(client[0], client[1], "call/transfer",
                     {"destination": destination, "mode": "attended"})  # fmt: skip
    assert reply.status_code == 200, reply.get_json()


def test_attended_transfer_completed_through_the_product(db_web: Web) -> None:
    web = db_web
    web.sim.execute_api("sim_phone 1001 register")
    web.sim.execute_api("sim_phone 1001 answer 0.3")
    client, uuid = ready_with_call(web)
    http, token = client
    consult(web, client)
    assert wait_until(lambda: (consult_of(http) or {}).get("state") == "answered", 15)
    assert web.post(http, token, "call/transfer/complete").status_code == 200
    assert wait_until(lambda: uuid not in web.floor.snapshot().calls, 15)
    caller = web.sim.core.engine.get(uuid)
    assert caller is not None and not caller.held  # talking to 1001 now
    assert wrap_up(web, client, disposition="escalated", call_uuid=uuid).status_code == 200
    row = exactly_once(web, uuid)[uuid]
    assert (row.outcome, row.transferred, row.transfer_destination) == ("transferred", True, "1001")
    assert row.disposition == "escalated"
    assert row.hold_seconds > 0  # the caller was held during the consultation
    item = http.get("/call-center/api/history").get_json()["items"][0]
    assert item["outcome"] == "transferred" and item["transfer_destination"] == "1001"
    assert item["hold_seconds"] > 0 and item["talk_seconds"] is not None


def test_attended_transfer_completed_by_the_agent_phone_hanging_up(db_web: Web) -> None:
    """att_xfer treats the agent hanging up during an answered consult as completing it."""
    web = db_web
    web.sim.execute_api("sim_phone 1001 register")
    web.sim.execute_api("sim_phone 1001 answer 0.3")
    client, uuid = ready_with_call(web)
    http, token = client
    consult(web, client)
    assert wait_until(lambda: (consult_of(http) or {}).get("state") == "answered", 15)
    agent_leg = web.floor.snapshot().calls[uuid].agent_leg
    assert agent_leg is not None
    web.sim.execute_api(f"uuid_kill {agent_leg}")  # the agent's phone hangs up
    assert wait_until(lambda: uuid not in web.floor.snapshot().calls, 15)
    assert wrap_up(web, client, disposition="resolved", call_uuid=uuid).status_code == 200
    row = exactly_once(web, uuid)[uuid]
    assert (row.outcome, row.transfer_destination, row.disposition) == (
        "transferred", "1001", "resolved")  # fmt: skip


def test_consult_cancelled_before_the_answer_returns_the_caller(db_web: Web) -> None:
    web = db_web
    web.sim.execute_api("sim_phone 1001 register")
    web.sim.execute_api("sim_phone 1001 noanswer")
    client, uuid = ready_with_call(web)
    http, token = client
    consult(web, client)
    assert (consult_of(http) or {}).get("state") == "ringing"
    early = web.post(http, token, "call/transfer/complete")
    assert (early.status_code, early.get_json()["error"]["code"]) == (409, "consult_not_answered")
    assert web.post(http, token, "call/transfer/cancel").status_code == 200
    # The caller is back with the agent, off hold: Unhold is not needed, a new transfer works.
    assert wait_until(lambda: consult_of(http) is None and status(http)["call"]["held"] is False,
                      15)  # fmt: skip
    caller = web.sim.core.engine.get(uuid)
    assert caller is not None and not caller.held
    assert status(http)["call"]["uuid"] == uuid
    web.sim.execute_api("sim_phone 1001 answer 0.2")
    consult(web, client)
    assert wait_until(lambda: (consult_of(http) or {}).get("state") == "answered", 15)
    assert web.post(http, token, "call/transfer/cancel").status_code == 200
    assert wait_until(lambda: consult_of(http) is None and status(http)["call"]["held"] is False,
                      15)  # fmt: skip
    assert web.post(http, token, "call/drop").status_code == 200
    assert wait_until(lambda: uuid not in web.floor.snapshot().calls, 15)
    assert wrap_up(web, client, disposition="resolved", call_uuid=uuid).status_code == 200
    row = exactly_once(web, uuid)[uuid]
    assert (row.outcome, row.transferred, row.disposition) == ("answered", False, "resolved")
    assert row.transfer_destination is None


def test_consult_cancelled_after_the_answer(db_web: Web) -> None:
    web = db_web
    web.sim.execute_api("sim_phone 1001 register")
    web.sim.execute_api("sim_phone 1001 answer 0.2")
    client, uuid = ready_with_call(web)
    http, token = client
    consult(web, client)
    assert wait_until(lambda: (consult_of(http) or {}).get("state") == "answered", 15)
    assert web.post(http, token, "call/transfer/cancel").status_code == 200
    assert wait_until(lambda: consult_of(http) is None and status(http)["call"]["held"] is False,
                      15)  # fmt: skip
    assert web.post(http, token, "call/drop").status_code == 200
    assert wait_until(lambda: uuid not in web.floor.snapshot().calls, 15)
    assert wrap_up(web, client, disposition="callback", call_uuid=uuid).status_code == 200
    row = exactly_once(web, uuid)[uuid]
    assert (row.outcome, row.transferred, row.disposition) == ("answered", False, "callback")


def dial_out(web: Web, client: Client, number: str = "9196") -> str:
    http, token = client
    web.sim.execute_api("sim_phone 1000 register")
    web.sim.execute_api("sim_phone 1000 noanswer")
    reply = web.post(http, token, "call/dial", {"number": number})
    assert reply.status_code == 200, reply.get_json()
    uuid: str = reply.get_json()["call_uuid"]
    assert wait_until(lambda: uuid in web.floor.snapshot().calls, 15)
    assert web.post(http, token, "call/answer").status_code == 200
    assert wait_until(lambda: answered(web, uuid), 15)
    return uuid


def answered(web: Web, uuid: str) -> bool:
    call = web.floor.snapshot().calls.get(uuid)
    return call is not None and call.answered_at is not None


def test_dial_out_then_an_immediate_wrap_up(db_web: Web) -> None:
    web = db_web
    client, first = ready_with_call(web)
    http, token = client
    assert web.post(http, token, "call/drop").status_code == 200
    assert wait_until(lambda: first not in web.floor.snapshot().calls, 15)
    assert wrap_up(web, client, disposition="resolved", notes="first call notes",
                   call_uuid=first).status_code == 200  # fmt: skip

    second = dial_out(web, client)
    # Hang up and send the wrap-up at once, before the hang-up's event is applied: the
    # page names the call, so the disposition cannot land on the previous one.
    assert web.post(http, token, "call/drop").status_code == 200
    saved = wrap_up(web, client, disposition="sale", notes="dial-out notes", call_uuid=second)
    assert saved.status_code == 200, saved.get_json()
    assert saved.get_json()["call_uuid"] == second
    assert wait_until(lambda: second not in web.floor.snapshot().calls, 15)
    # Nothing is owed: the agent is not held out of offers.
    assert wait_until(lambda: status(http)["owed"] == [] and status(http)["wrap_up"] is None)
    assert wait_until(lambda: web.sim.callcenter.tables.agents["agent1000"].ready_time == 0)

    # Without a name, with nothing owed, the last call is meant: it has a disposition, so
    # a 409 — the previous call's notes are never replaced silently.
    again = wrap_up(web, client, disposition="wrong_number")
    assert (again.status_code, again.get_json()["error"]["code"]) == (409, "already_dispositioned")
    rows = exactly_once(web, first, second)
    assert (rows[first].disposition, rows[first].notes) == ("resolved", "first call notes")
    assert (rows[second].disposition, rows[second].notes) == ("sale", "dial-out notes")
    assert (rows[second].direction, rows[second].outcome) == ("outbound", "answered")

    # An explicit edit replaces it and keeps the old one in the audit log.
    edit = wrap_up(web, client, disposition="callback", notes="call back Monday",
                   call_uuid=first, edit=True)  # fmt: skip
    assert edit.status_code == 200
    rows = exactly_once(web, first, second)
    assert (rows[first].disposition, rows[first].notes) == ("callback", "call back Monday")
    with session_scope(web.deps.sessions) as session:
        entry = session.query(AuditEntry).filter_by(action="disposition_edit").one()
        assert entry.target == first and entry.actor == "alice"
        assert entry.details["old"] == {"disposition": "resolved", "notes": "first call notes"}


def test_two_calls_owed(db_web: Web) -> None:
    web = db_web
    client, first = ready_with_call(web)
    http, token = client
    assert web.post(http, token, "call/drop").status_code == 200
    assert wait_until(lambda: [o["call_uuid"] for o in status(http)["owed"]] == [first], 15)
    agent = web.sim.callcenter.tables.agents["agent1000"]
    assert wait_until(lambda: agent.ready_time > 0)  # held out of offers meanwhile

    second = dial_out(web, client)  # a dial-out is not held back by the wrap-up
    assert web.post(http, token, "call/drop").status_code == 200
    assert wait_until(lambda: len(status(http)["owed"]) == 2, 15)
    assert [o["call_uuid"] for o in status(http)["owed"]] == [first, second]

    unnamed = wrap_up(web, client, disposition="resolved")
    assert (unnamed.status_code, unnamed.get_json()["error"]["code"]) == (
        409, "call_uuid_required")  # fmt: skip
    assert wrap_up(web, client, disposition="resolved", call_uuid=first).status_code == 200
    assert [o["call_uuid"] for o in status(http)["owed"]] == [second]
    assert agent.ready_time > 0  # still owed: still held
    assert wrap_up(web, client, disposition="sale", call_uuid=second).status_code == 200
    assert status(http)["owed"] == []
    assert wait_until(lambda: agent.ready_time == 0)
    rows = exactly_once(web, first, second)
    assert (rows[first].disposition, rows[first].outcome) == ("resolved", "answered")
    assert (rows[second].disposition, rows[second].direction) == ("sale", "outbound")


def test_an_owed_wrap_up_survives_sign_out_visible_and_closable(db_web: Web) -> None:
    web = db_web
    client, uuid = ready_with_call(web)
    http, token = client
    assert web.post(http, token, "call/drop").status_code == 200
    assert wait_until(lambda: len(status(http)["owed"]) == 1, 15)
    agent = web.sim.callcenter.tables.agents["agent1000"]
    assert wait_until(lambda: agent.ready_time > 0)
    assert web.post(http, token, "agent/logout").status_code == 200
    http, token = web.login("alice")
    # Signed in again: the owed call is shown (the page offers the form and Close).
    assert [o["call_uuid"] for o in status(http)["owed"]] == [uuid]
    # A supervisor can see and close it too.
    sup, sup_token = web.login("sue")
    listed = sup.get("/call-center/api/supervisor/agent/agent1000/wrap-ups").get_json()
    assert [o["call_uuid"] for o in listed["owed"]] == [uuid]
    forbidden = web.post(http, token, "supervisor/agent/agent1000/wrap-up/close", {})
    assert forbidden.status_code == 403
    closed = web.post(sup, sup_token, "supervisor/agent/agent1000/wrap-up/close", {})
    assert closed.status_code == 200 and closed.get_json()["closed"] == [uuid]
    assert status(http)["owed"] == []
    assert wait_until(lambda: agent.ready_time == 0)
    rows = exactly_once(web, uuid)
    assert rows[uuid].disposition is None and rows[uuid].outcome == "answered"
    with session_scope(web.deps.sessions) as session:
        entry = session.query(AuditEntry).filter_by(action="wrap_up_close").one()
        assert (entry.actor, entry.target, entry.details) == ("sue", "agent1000", {"calls": [uuid]})
