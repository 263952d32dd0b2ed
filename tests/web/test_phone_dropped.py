"""FreeSWITCH drops an agent's phone registration (sofia::unregister / sofia::expire): the
agent's own page is told at once with ``phone_dropped`` (its browser softphone then
registers again), after the agent change that shows the phone offline; other agents'
pages are not told. A page reloaded soon after (its socket closed) finds the agent
Available again, with a notice, without a click."""

from __future__ import annotations

from typing import Any

from tests.web.conftest import Web
from tests.wire.conftest import wait_until


def connect(web: Web, name: str):  # type: ignore[no-untyped-def]
    http, _ = web.login(name)
    return web.app.extensions["socketio"].test_client(web.app, flask_test_client=http)


def test_the_agents_page_hears_that_its_phone_was_dropped(web: Web) -> None:
    web.sim.execute_api("sim_phone 1000 register")
    assert wait_until(lambda: web.floor.snapshot().agents["agent1000"].phone_online is True)
    alice, bob = connect(web, "alice"), connect(web, "bob")
    seen: list[dict[str, Any]] = []
    alice.get_received()
    bob.get_received()

    assert web.sim.execute_api("sim_phone 1000 unregister").startswith("+OK")

    def dropped() -> list[dict[str, Any]]:
        seen.extend(alice.get_received())
        return [e["args"][0] for e in seen if e["name"] == "phone_dropped"]

    assert wait_until(lambda: bool(dropped()))
    assert dropped()[0]["agent"] == "agent1000"
    names = [e["name"] for e in seen]
    offline = next(i for i, e in enumerate(seen)
                   if e["name"] == "agent" and e["args"][0]["phone_online"] is False)  # fmt: skip
    assert offline < names.index("phone_dropped")  # the page already shows it offline
    assert all(e["name"] != "phone_dropped" for e in bob.get_received())

    # Registered again: no new drop. A second drop is told again.
    web.sim.execute_api("sim_phone 1000 register")
    assert wait_until(lambda: web.floor.snapshot().agents["agent1000"].phone_online is True)
    web.sim.execute_api("sim_phone 1000 unregister")
    assert wait_until(lambda: len(dropped()) == 2)


def test_a_reloaded_page_shows_the_agent_available_again_without_a_click(web: Web) -> None:
    """The tab reloads: its WebSocket closes, the agent is paused "Phone offline", the new
    page registers again seconds later and the agent is Available again, told so."""
    web.sim.execute_api("sim_phone 1000 register browser")
    http, token = web.login("alice")
    assert web.post(http, token, "agent/ready").status_code == 200
    agents = lambda: web.floor.snapshot().agents  # noqa: E731
    assert wait_until(lambda: agents()["agent1000"].status == "Available"
                      and agents()["agent1000"].phone_online is True)  # fmt: skip
    page = web.app.extensions["socketio"].test_client(web.app, flask_test_client=http)
    seen: list[dict[str, Any]] = []

    def shown() -> tuple[str, str | None]:
        seen.extend(page.get_received())
        agents = [e["args"][0] for e in seen if e["name"] == "agent"
                  and e["args"][0].get("name") == "agent1000"]  # fmt: skip
        last = agents[-1] if agents else {}
        return last.get("status", ""), last.get("pause_reason")

    web.sim.execute_api("sim_phone 1000 disconnect browser")
    assert wait_until(lambda: shown() == ("On Break", "Phone offline"))
    web.sim.execute_api("sim_phone 1000 register browser")
    assert wait_until(lambda: shown() == ("Available", None))
    back = "Your phone is back: you are Available again."
    assert wait_until(lambda: shown() and back in [e["args"][0]["text"] for e in seen
                                                   if e["name"] == "notice"])  # fmt: skip
    assert web.sim.callcenter.tables.agents["agent1000"].status == "Available"
