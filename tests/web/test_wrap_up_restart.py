"""What the product owns survives a restart of its own process and of FreeSWITCH: a
wrap-up owed (the form on the agent's page, its deadline, the hold on offers) and a
status a supervisor forced. The controller is restarted as ``serve`` restarts: every
part built afresh on the same database, against the same (simulated) FreeSWITCH."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from esl_controller.store.engine import session_scope
from esl_controller.store.models import Call, OwedWrapUp
from tests.web.conftest import Web, build_web, ring, stop_web
from tests.wire.conftest import wait_until

API = "/call-center/api"


def stopped(web: Web) -> None:
    """The controller process ends (FreeSWITCH and the database stay up)."""
    web.client.stop()
    web.floor.stop()
    for part in web.parts:
        part.stop()
    assert web.recorder.drained(timeout=5)
    web.recorder.stop()


def restarted(old: Web, *, wrap_up_limit: int = 60, stop: bool = True) -> Web:
    """The controller process stopped and started again: every part built afresh on the
    same database, against the same FreeSWITCH."""
    if stop:
        stopped(old)
    db_url = old.deps.sessions.kw["bind"].url.render_as_string(hide_password=False)
    return build_web(db_url, sim=old.sim, wrap_up_limit=wrap_up_limit, add_users=False)


@pytest.fixture
def box(tmp_path) -> Iterator[dict[str, Web]]:  # type: ignore[no-untyped-def]
    """The current controller (a test replaces it when it restarts it)."""
    holder = {"web": build_web(f"sqlite:///{tmp_path / 'cc.db'}")}
    yield holder
    stop_web(holder["web"])


def same_browser(web: Web, http: Any) -> Any:
    """The page's browser, now talking to the restarted process (same session cookie:
    nobody signs in again, which would change the agent's status)."""
    again = web.app.test_client()
    for cookie in http._cookies.values():
        again.set_cookie(cookie.key, cookie.value, domain=cookie.domain, path=cookie.path)
    return again


def status(web: Web, http: Any) -> dict[str, Any]:
    return http.get(f"{API}/agent/status").get_json()


def page_snapshot(web: Web, http: Any) -> dict[str, Any]:
    """What the agent's page gets when it (re)connects."""
    socketio = web.app.extensions["socketio"]
    page = socketio.test_client(web.app, flask_test_client=http)
    try:
        first = page.get_received()[0]
        assert first["name"] == "snapshot"
        return dict(first["args"][0])
    finally:
        page.disconnect()


def talked_and_hung_up(web: Web) -> tuple[Any, str, str]:
    """alice took a call and it ended: a disposition is owed."""
    http, token = web.login("alice")
    assert web.post(http, token, "agent/ready").status_code == 200
    ring(web)
    assert wait_until(lambda: web.post(http, token, "call/ringing").status_code == 200, 15)
    reply = web.post(http, token, "call/answer")
    assert reply.status_code == 200, reply.get_json()
    uuid = reply.get_json()["call"]["uuid"]
    assert web.post(http, token, "call/drop").status_code == 200
    assert wait_until(lambda: status(web, http)["wrap_up"] is not None, 15)
    assert wait_until(lambda: switch_ready_time(web) > 0)  # the hold is on the switch
    return http, token, uuid


def stored_wrap_ups(web: Web) -> list[str]:
    with session_scope(web.deps.sessions) as session:
        return list(session.scalars(select(OwedWrapUp.call_uuid)))


def switch_ready_time(web: Web) -> int:
    return int(web.sim.callcenter.tables.agents["agent1000"].ready_time)


def test_an_owed_wrap_up_survives_a_restart_with_its_deadline(box: dict[str, Web]) -> None:
    web = box["web"]
    http, token, uuid = talked_and_hung_up(web)
    until = status(web, http)["wrap_up"]["until"]
    assert wait_until(lambda: stored_wrap_ups(web) == [uuid])
    held = switch_ready_time(web)
    assert held > time.time() + 30

    web = box["web"] = restarted(web)
    http = same_browser(web, http)
    shown = page_snapshot(web, http)["wrap_up"]
    assert shown["call_uuid"] == uuid and shown["until"] == pytest.approx(until, abs=0.01)
    assert status(web, http)["wrap_up"]["call_uuid"] == uuid
    assert [o["call_uuid"] for o in status(web, http)["owed"]] == [uuid]
    assert switch_ready_time(web) == held  # still kept away from offers, same deadline

    saved = web.post(http, token, "agent/wrap-up", {"disposition": "resolved"})
    assert saved.status_code == 200, saved.get_json()
    assert saved.get_json()["call_uuid"] == uuid
    assert switch_ready_time(web) == 0  # offers come again
    assert page_snapshot(web, http)["wrap_up"] is None
    assert wait_until(lambda: stored_wrap_ups(web) == [])
    assert web.recorder.drained(timeout=5)
    with session_scope(web.deps.sessions) as session:
        row = session.scalar(select(Call).where(Call.call_uuid == uuid))
        assert row is not None and row.disposition == "resolved"


def test_a_wrap_up_that_ran_out_while_stopped_is_over_at_start(box: dict[str, Web]) -> None:
    # A short hold, and the controller stays down until after it ran out.
    web = box["web"] = restarted(box["web"], wrap_up_limit=2)
    http, token, uuid = talked_and_hung_up(web)
    until = status(web, http)["wrap_up"]["until"]
    assert wait_until(lambda: stored_wrap_ups(web) == [uuid])
    stopped(web)
    assert wait_until(lambda: time.time() > until + 0.1, 10)

    web = box["web"] = restarted(web, stop=False)
    http = same_browser(web, http)
    assert page_snapshot(web, http)["wrap_up"] is None
    assert status(web, http)["owed"] == []
    assert wait_until(lambda: stored_wrap_ups(web) == [])
    # alice takes calls again, in the status she chose (Available)...
    assert status(web, http)["agent"]["status"] == "Available"
    ring(web, number="5551239999", name="Next")
    assert wait_until(lambda: web.post(http, token, "call/ringing").status_code == 200, 15)
    # ...and the call that ran out can still be given its disposition by naming it.
    late = web.post(http, token, "agent/wrap-up", {"disposition": "callback", "call_uuid": uuid})
    assert late.status_code == 200, late.get_json()
    # Its after-call work ran to the deadline (from the call's end), not to the late save.
    assert web.recorder.drained(timeout=5)
    with session_scope(web.deps.sessions) as session:
        row = session.scalar(select(Call).where(Call.call_uuid == uuid))
        assert row is not None and row.disposition == "callback"
        assert row.after_call_seconds is not None and 2.0 <= row.after_call_seconds <= 60.0


def test_a_freeswitch_restart_puts_the_wrap_up_hold_back(box: dict[str, Web]) -> None:
    web = box["web"]
    http, token, uuid = talked_and_hung_up(web)
    held = switch_ready_time(web)
    before = web.floor.resyncs

    web.sim.restart(0.2)  # mod_callcenter reloads its agents: ready_time 0, Logged Out
    assert wait_until(lambda: web.floor.resyncs > before, 15)
    agents = web.sim.callcenter.tables.agents
    assert wait_until(lambda: agents["agent1000"].status == "Available", 15)
    assert wait_until(lambda: abs(switch_ready_time(web) - held) <= 1, 15)
    assert status(web, http)["wrap_up"]["call_uuid"] == uuid
    # A page reloading just then still says why: the notice is in its snapshot.
    assert wait_until(lambda: any("FreeSWITCH restarted" in n["text"]
                                  for n in page_snapshot(web, http)["notices"]))  # fmt: skip
    assert web.post(http, token, "agent/wrap-up", {"disposition": "sale"}).status_code == 200
    assert switch_ready_time(web) == 0


def test_a_forced_status_of_an_agent_who_never_signed_in_is_restored(
    box: dict[str, Web],
) -> None:
    """bob works from a desk phone and never opened his page; a supervisor put him On
    Break. After a FreeSWITCH restart he is On Break again with the same reason, not
    Logged Out."""
    web = box["web"]
    sue, token = web.login("sue")
    reply = web.post(sue, token, "supervisor/agent/agent1001/status",
                     {"status": "On Break", "reason": "Coaching"})  # fmt: skip
    assert reply.status_code == 200, reply.get_json()
    agents = web.sim.callcenter.tables.agents
    assert wait_until(lambda: agents["agent1001"].status == "On Break")
    before = web.floor.resyncs

    web.sim.restart(0.2)
    assert wait_until(lambda: web.floor.resyncs > before, 15)
    agents = web.sim.callcenter.tables.agents
    assert wait_until(lambda: agents["agent1001"].status == "On Break", 15)
    assert wait_until(
        lambda: web.floor.snapshot().agents["agent1001"].pause_reason == "Coaching", 15
    )


def test_a_page_that_reloads_gets_the_notices_it_missed_and_only_its_own(
    box: dict[str, Web],
) -> None:
    web = box["web"]
    alice, _ = web.login("alice")
    bob, _ = web.login("bob")
    for n in range(5):
        web.floor.notice("agent1000", f"notice {n}")
    web.floor.notice("agent1001", "for bob")
    assert wait_until(lambda: len(page_snapshot(web, alice)["notices"]) == 3)
    shown = page_snapshot(web, alice)["notices"]
    assert [n["text"] for n in shown] == ["notice 2", "notice 3", "notice 4"]  # the latest
    assert all(n["agent"] == "agent1000" for n in shown)
    assert [n["text"] for n in page_snapshot(web, bob)["notices"]] == ["for bob"]
