"""Call endpoints on live simulated queue calls: the ringing popup with the customer
record, answer, hold, DTMF, transfers, drop, wrap-up with a disposition, history and
click-to-call — as FreeSWITCH (the simulator) and the database end up."""

from __future__ import annotations

import time

from sqlalchemy import select

from esl_controller.store.engine import session_scope
from esl_controller.store.models import Call, Customer
from tests.web.conftest import Web, ring
from tests.wire.conftest import wait_until


def ready(web: Web, name: str):  # type: ignore[no-untyped-def]
    http, token = web.login(name)
    assert web.post(http, token, "agent/ready").status_code == 200
    return http, token


def ringing(web: Web, http, token) -> dict | None:  # type: ignore[no-untyped-def]
    reply = web.post(http, token, "call/ringing")
    return reply.get_json() if reply.status_code == 200 else None


def answered_call(web: Web, http, token):  # type: ignore[no-untyped-def]
    assert wait_until(lambda: ringing(web, http, token) is not None, 15)
    reply = web.post(http, token, "call/answer")
    assert reply.status_code == 200, reply.get_json()
    call = reply.get_json()["call"]
    assert call["answered_at"] is not None and call["agent"] == "agent1000"
    return call


def test_ringing_popup_answer_hold_dtmf_drop_and_wrap_up(web: Web) -> None:
    with session_scope(web.deps.sessions) as session:
        session.add(Customer(name="Ada Lovelace", phone="5551230000", company="Analytical",
                             vip=True))  # fmt: skip
    http, token = ready(web, "alice")
    assert web.post(http, token, "call/answer").get_json()["error"]["code"] == "no_ringing_call"
    ring(web, "1000", "noanswer", "5551230000", "Ada")
    assert wait_until(lambda: ringing(web, http, token) is not None, 15)
    popup = ringing(web, http, token)
    assert popup is not None
    assert popup["call"]["cid_number"] == "5551230000"
    assert popup["customer"]["name"] == "Ada Lovelace" and popup["customer"]["vip"] is True

    call = answered_call(web, http, token)
    agent_leg = web.floor.snapshot().calls[call["uuid"]].agent_leg
    assert web.post(http, token, "call/hold").get_json()["call"]["held"] is True
    assert web.sim.core.engine.get(agent_leg).held  # type: ignore[union-attr]
    assert web.post(http, token, "call/unhold").get_json()["call"]["held"] is False
    assert web.post(http, token, "call/dtmf", {"digits": "42#"}).status_code == 200
    assert web.sim.core.engine.get(call["uuid"]).variables["last_dtmf"] == "#"  # type: ignore[union-attr]
    assert web.post(http, token, "call/drop").status_code == 200
    assert wait_until(lambda: call["uuid"] not in web.floor.snapshot().calls)

    # After-call work: offers stay away until the disposition is saved.
    agent = web.sim.callcenter.tables.agents["agent1000"]
    assert wait_until(lambda: agent.ready_time > time.time() + 30)
    bad = web.post(http, token, "agent/wrap-up", {"disposition": "nope"})
    assert bad.status_code == 400
    saved = web.post(http, token, "agent/wrap-up",
                     {"disposition": "resolved", "notes": "asked about invoices"})  # fmt: skip
    assert saved.status_code == 200 and saved.get_json()["call_uuid"] == call["uuid"]
    assert agent.ready_time == 0
    again = web.post(http, token, "agent/wrap-up", {"disposition": "sale"})
    assert (again.status_code, again.get_json()["error"]["code"]) == (409, "already_dispositioned")
    assert web.recorder.drained(timeout=5)
    history = http.get("/call-center/api/history").get_json()["items"]
    assert history[0]["call_uuid"] == call["uuid"]
    assert history[0]["disposition"] == "resolved"
    assert history[0]["notes"] == "asked about invoices"
    assert history[0]["outcome"] == "answered"


def test_blind_transfer_frees_the_agent(web: Web) -> None:
    http, token = ready(web, "alice")
    ring(web)
    call = answered_call(web, http, token)
    reply = web.post(http, token, "call/transfer", {"destination": "9664", "mode": "blind"})
    assert reply.status_code == 200, reply.get_json()
    assert wait_until(lambda: web.floor.snapshot().agents["agent1000"].call_uuid is None)
    assert web.sim.core.engine.get(call["uuid"]) is not None  # the caller lives on, parked
    assert http.get("/call-center/api/agent/status").get_json()["call"] is None
    # The page names the call; an API client may leave it out when one call is owed.
    assert wait_until(lambda: len(http.get("/call-center/api/agent/status").get_json()["owed"])
                      == 1)  # fmt: skip
    assert web.post(http, token, "agent/wrap-up", {"disposition": "escalated"}).status_code == 200
    assert web.recorder.drained(timeout=5)
    item = http.get("/call-center/api/history").get_json()["items"][0]
    assert (item["call_uuid"], item["outcome"]) == (call["uuid"], "transferred")
    assert item["transfer_destination"] == "9664"


def consult_of(http):  # type: ignore[no-untyped-def]
    call = http.get("/call-center/api/agent/status").get_json()["call"]
    return None if call is None else call["consult"]


def test_attended_transfer_to_another_agent(web: Web) -> None:
    web.sim.execute_api("sim_phone 1001 register")
    web.sim.execute_api("sim_phone 1001 answer 1.5")
    http, token = ready(web, "alice")
    ring(web)
    call = answered_call(web, http, token)
    assert web.post(http, token, "call/transfer/cancel").get_json()["error"]["code"] == (
        "not_consulting")  # fmt: skip
    reply = web.post(http, token, "call/transfer", {"destination": "1001", "mode": "attended"})
    assert reply.status_code == 200, reply.get_json()
    assert reply.get_json()["call"]["consult"] == {
        "destination": "1001", "answered": False, "state": "ringing"}  # fmt: skip
    assert web.sim.core.engine.get(call["uuid"]).held  # type: ignore[union-attr]
    # Too early: 1001 has not answered, and a '*' now would be lost.
    early = web.post(http, token, "call/transfer/complete")
    assert (early.status_code, early.get_json()["error"]["code"]) == (409, "consult_not_answered")
    assert wait_until(lambda: (consult_of(http) or {}).get("answered") is True, 15)
    assert web.post(http, token, "call/transfer/complete").status_code == 200
    assert wait_until(lambda: web.floor.snapshot().agents["agent1000"].call_uuid is None, 15)
    caller = web.sim.core.engine.get(call["uuid"])
    assert caller is not None and caller.answered and not caller.held  # now with 1001
    saved = web.post(http, token, "agent/wrap-up",
                     {"disposition": "escalated", "call_uuid": call["uuid"]})  # fmt: skip
    assert saved.status_code == 200
    assert web.recorder.drained(timeout=5)
    item = http.get("/call-center/api/history").get_json()["items"][0]
    assert (item["call_uuid"], item["outcome"], item["transfer_destination"]) == (
        call["uuid"], "transferred", "1001")  # fmt: skip
    # Talk and hold apart: the caller was held while alice consulted 1001.
    assert item["hold_seconds"] >= 1.0 and item["talk_seconds"] is not None


def test_attended_transfer_cancelled_returns_to_the_caller(web: Web) -> None:
    web.sim.execute_api("sim_phone 1001 register")
    web.sim.execute_api("sim_phone 1001 answer 0.2")
    http, token = ready(web, "alice")
    ring(web)
    call = answered_call(web, http, token)
    web.post(http, token, "call/transfer", {"destination": "1001", "mode": "attended"})
    assert wait_until(lambda: (consult_of(http) or {}).get("answered") is True, 15)
    assert web.post(http, token, "call/transfer/cancel").status_code == 200
    assert wait_until(lambda: consult_of(http) is None and http.get(
        "/call-center/api/agent/status").get_json()["call"]["held"] is False, 15)  # fmt: skip
    status = http.get("/call-center/api/agent/status").get_json()
    assert status["call"]["uuid"] == call["uuid"]  # still alice's call, caller back


def test_consult_cancelled_while_ringing_takes_the_caller_off_hold(web: Web) -> None:
    """``#`` is read by att_xfer only once the consulted party answered; Cancel ends the
    consult leg instead, so it works while it rings too (found on FreeSWITCH 1.10.12)."""
    web.sim.execute_api("sim_phone 1001 register")
    web.sim.execute_api("sim_phone 1001 noanswer")
    http, token = ready(web, "alice")
    ring(web)
    call = answered_call(web, http, token)
    web.post(http, token, "call/transfer", {"destination": "1001", "mode": "attended"})
    assert (consult_of(http) or {}).get("state") == "ringing"
    assert web.sim.core.engine.get(call["uuid"]).held  # type: ignore[union-attr]
    assert web.post(http, token, "call/transfer/cancel").status_code == 200
    assert wait_until(lambda: consult_of(http) is None, 15)
    assert wait_until(lambda: not web.sim.core.engine.get(call["uuid"]).held)  # type: ignore[union-attr]
    # Back to normal: a new transfer is accepted (no 409 "consulting").
    again = web.post(http, token, "call/transfer", {"destination": "1001", "mode": "attended"})
    assert again.status_code == 200, again.get_json()


def test_click_to_call_rings_the_agent_then_the_number(web: Web) -> None:
    web.sim.execute_api("sim_phone 1000 register")
    web.sim.execute_api("sim_phone 1000 noanswer")
    http, token = ready(web, "alice")
    reply = web.post(http, token, "call/dial", {"number": "9196"})
    assert reply.status_code == 200, reply.get_json()
    uuid = reply.get_json()["call_uuid"]
    # The agent's phone rings first; the page answers it like an offer.
    assert wait_until(lambda: uuid in web.floor.snapshot().calls)
    ringing_call = web.floor.snapshot().calls[uuid]
    assert (ringing_call.direction, ringing_call.cid_number) == ("outbound", "9196")
    assert web.post(http, token, "call/answer").status_code == 200
    assert wait_until(lambda: web.sim.core.engine.get(uuid) is not None
                      and web.sim.core.engine.get(uuid).answered)  # type: ignore[union-attr]  # fmt: skip
    # callcenter_track: mod_callcenter counts the agent's outbound call, and queues that
    # skip agents with external calls offer it nothing meanwhile.
    assert wait_until(lambda: web.sim.callcenter.tables.agents["agent1000"]
                      .external_calls_count == 1)  # fmt: skip
    status = http.get("/call-center/api/agent/status").get_json()
    assert status["call"]["uuid"] == uuid and status["call"]["answered_at"] is not None
    assert web.post(http, token, "call/hold").get_json()["call"]["held"] is True
    assert web.post(http, token, "call/drop").status_code == 200
    assert wait_until(lambda: uuid not in web.floor.snapshot().calls)
    assert wait_until(lambda: http.get("/call-center/api/agent/status").get_json()["wrap_up"]
                      is not None)  # fmt: skip
    assert web.post(http, token, "agent/wrap-up", {"disposition": "callback"}).status_code == 200
    assert web.recorder.drained(timeout=5)
    item = http.get("/call-center/api/history").get_json()["items"][0]
    assert (item["call_uuid"], item["direction"], item["cid_number"]) == (uuid, "outbound", "9196")
    assert item["disposition"] == "callback" and item["hold_seconds"] > 0


def test_disposition_lands_on_postgresql(web_pg: Web) -> None:
    web = web_pg
    http, token = ready(web, "alice")
    ring(web, number="5559990000")
    call = answered_call(web, http, token)
    web.post(http, token, "call/drop")
    assert wait_until(lambda: call["uuid"] not in web.floor.snapshot().calls)
    assert wait_until(lambda: web.post(http, token, "agent/wrap-up",
                                       {"disposition": "sale"}).status_code == 200)  # fmt: skip
    assert web.recorder.drained(timeout=10)
    with session_scope(web.deps.sessions) as session:
        row = session.scalar(select(Call).where(Call.call_uuid == call["uuid"]))
        assert row is not None and row.disposition == "sale" and row.cid_number == "5559990000"


def test_a_dial_out_can_be_cancelled_while_the_agent_phone_rings(web: Web) -> None:
    web.sim.execute_api("sim_phone 1000 register")
    web.sim.execute_api("sim_phone 1000 noanswer")
    http, token = ready(web, "alice")
    uuid = web.post(http, token, "call/dial", {"number": "9196"}).get_json()["call_uuid"]
    assert wait_until(lambda: uuid in web.floor.snapshot().calls)
    assert web.post(http, token, "call/drop").status_code == 200
    assert wait_until(lambda: web.sim.core.engine.get(uuid) is None)
    assert wait_until(lambda: uuid not in web.floor.snapshot().calls)
    assert web.sim.callcenter.tables.agents["agent1000"].external_calls_count == 0
