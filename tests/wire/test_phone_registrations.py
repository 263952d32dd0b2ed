"""An agent with two phones registered (a desk phone and the browser): one of them going
away (un-REGISTER, the registrar expiring it, or its WebSocket closing with the browser
tab) leaves the agent Available with the phone online; the last one going pauses the
agent "Phone offline". The controller asks the simulated switch (``sofia_contact``) after
each drop, as it would ask FreeSWITCH; after a socket closed, the switch still lists the
departing registration for a moment, as mod_sofia does."""

from __future__ import annotations

from collections.abc import Iterator

import gevent
import pytest

from esl_controller.esl import replies
from esl_controller.services.agents import AgentService
from esl_controller.services.phone_watch import PHONE_OFFLINE, PhoneWatch
from tests.wire.conftest import wait_until

AGENT = "agent1000"


@pytest.fixture
def watched(stack) -> Iterator[tuple]:  # type: ignore[no-untyped-def,type-arg]
    sim, client, floor = stack
    watch = PhoneWatch(AgentService(client.api, floor))
    floor.listeners.append(watch.on_changes)
    watch.start()
    yield sim, floor, watch
    watch.stop()


def fs_status(sim) -> str:  # type: ignore[no-untyped-def]
    return str(sim.execute_api(f"callcenter_config agent get status {AGENT}"))


def contacts(sim) -> list[str]:  # type: ignore[no-untyped-def]
    return replies.sofia_contacts(sim.execute_api("sofia_contact */1000@127.0.0.1"))


def answered(floor, watch, count: int) -> bool:  # type: ignore[no-untyped-def]
    """The watch has answered ``count`` questions and the floor has applied the answers
    (the floor's owner takes an input and applies it before it yields)."""
    return watch.checked >= count and floor.backlog() == 0


def made_available(sim, floor) -> None:  # type: ignore[no-untyped-def]
    """Available on the switch (as FreeSWITCH set it), with a registered phone."""
    sim.execute_api(f"callcenter_config agent set status {AGENT} Available")
    assert wait_until(lambda: floor.snapshot().agents[AGENT].phone_online is True
                      and floor.snapshot().agents[AGENT].status == "Available")  # fmt: skip


@pytest.mark.parametrize("goes", ["unregister", "expire", "disconnect"])
def test_the_agent_stays_available_until_its_last_phone_goes(watched, goes: str) -> None:  # type: ignore[no-untyped-def]
    sim, floor, watch = watched
    assert sim.execute_api("sim_phone 1000 register desk") == "+OK\n"
    assert sim.execute_api("sim_phone 1000 register browser") == "+OK\n"
    assert len(contacts(sim)) == 2
    made_available(sim, floor)

    # The desk phone goes; the browser is still registered.
    assert sim.execute_api(f"sim_phone 1000 {goes} desk") == "+OK\n"
    assert wait_until(lambda: answered(floor, watch, 1))
    agent = floor.snapshot().agents[AGENT]
    assert (agent.status, agent.phone_online, agent.pause_reason) == ("Available", True, None)
    assert fs_status(sim) == "Available"
    assert watch.paused == []
    assert [c.rsplit(":", 1)[0] for c in contacts(sim)] == ["sofia/internal/sip:1000@127.0.0.1"]

    # The browser goes too: nothing is left, the agent is paused as before.
    assert sim.execute_api(f"sim_phone 1000 {goes} browser") == "+OK\n"
    assert wait_until(lambda: floor.snapshot().agents[AGENT].pause_reason == PHONE_OFFLINE)
    agent = floor.snapshot().agents[AGENT]
    assert (agent.status, agent.phone_online) == ("On Break", False)
    assert fs_status(sim) == "On Break"
    assert watch.paused == [AGENT]
    assert contacts(sim) == []


def test_a_phone_that_registers_again_keeps_the_agent_available(watched) -> None:  # type: ignore[no-untyped-def]
    sim, floor, watch = watched
    sim.execute_api("sim_phone 1000 register")
    made_available(sim, floor)
    # Its only registration goes and comes back at once (a page reload re-registering):
    # whatever the answer to the question the un-REGISTER raised, the REGISTER after it
    # decides.
    sim.execute_api("sim_phone 1000 unregister")
    sim.execute_api("sim_phone 1000 register")
    assert wait_until(lambda: answered(floor, watch, 1))
    agent = floor.snapshot().agents[AGENT]
    assert (agent.status, agent.phone_online) == ("Available", True)
    assert watch.paused == []


def test_a_page_reloaded_after_its_socket_closed_keeps_the_agent_available(watched) -> None:  # type: ignore[no-untyped-def]
    sim, floor, watch = watched
    sim.execute_api("sim_phone 1000 register browser")
    made_available(sim, floor)
    # The tab reloads: its socket closes (no un-REGISTER) and the new page registers the
    # same device again before the question about the closed socket is answered.
    sim.execute_api("sim_phone 1000 disconnect browser")
    sim.execute_api("sim_phone 1000 register browser")
    # Answered after the settle delay (0.5 s), so the closed socket's row (kept 0.1 s)
    # has been removed by then.
    assert wait_until(lambda: answered(floor, watch, 1))
    agent = floor.snapshot().agents[AGENT]
    assert (agent.status, agent.phone_online) == ("Available", True)
    assert watch.paused == []
    assert len(contacts(sim)) == 1  # the new registration is not taken for the old one


def test_sim_phone_devices_are_checked(watched) -> None:  # type: ignore[no-untyped-def]
    sim, _, _ = watched
    assert sim.execute_api("sim_phone 1000 unregister desk").startswith("-ERR")
    assert sim.execute_api("sim_phone 1000 register bad;device").startswith("-ERR bad device")
    sim.execute_api("sim_phone 1000 register desk")
    assert "1000|registered|answer\n" in sim.execute_api("sim_phones")
    regs = replies.sofia_registrations(sim.execute_api("sofia status profile internal reg"))
    assert [r["Port"] for r in regs] == ["50000"]  # the device "desk", its own contact


@pytest.mark.parametrize(("goes", "online"), [(["desk"], True), (["desk", "browser"], False)])
def test_registrations_that_went_while_the_link_was_down_are_asked_about_at_resync(  # type: ignore[no-untyped-def]
    stack, watched, goes: list[str], online: bool
) -> None:
    sim, client, _ = stack
    _, floor, watch = watched
    sim.execute_api("sim_phone 1000 register desk")
    sim.execute_api("sim_phone 1000 register browser")
    made_available(sim, floor)
    client.stop()  # the un-REGISTERs below reach no one
    for device in goes:
        sim.execute_api(f"sim_phone 1000 unregister {device}")
    client.start()
    assert wait_until(lambda: floor.resyncs == 2 and answered(floor, watch, 1))
    agent = floor.snapshot().agents[AGENT]
    assert agent.phone_online is online
    if online:
        assert (agent.status, fs_status(sim), watch.paused) == ("Available", "Available", [])
    else:
        assert wait_until(lambda: floor.snapshot().agents[AGENT].pause_reason == PHONE_OFFLINE)
        assert fs_status(sim) == "On Break"


# -- a page reload: the phone comes back soon after its "Phone offline" pause ----------


@pytest.fixture
def watch_with(stack):  # type: ignore[no-untyped-def]
    """A PhoneWatch with the given resume window, and the notices the floor sent."""
    sim, client, floor = stack
    notices: list[tuple[str, str]] = []
    floor.listeners.append(lambda changes: notices.extend(
        (c.key, c.view.text) for c in changes if c.kind == "notice"))  # fmt: skip
    started: list[PhoneWatch] = []

    def make(window: float) -> tuple:  # type: ignore[type-arg]
        watch = PhoneWatch(AgentService(client.api, floor), resume_window=window)
        floor.listeners.append(watch.on_changes)
        watch.start()
        started.append(watch)
        return sim, floor, watch, notices

    yield make
    for watch in started:
        watch.stop()


def signed_in_and_taking_calls(sim, floor, watch, status: str = "Available") -> None:  # type: ignore[no-untyped-def]
    sim.execute_api("sim_phone 1000 register browser")
    watch.agents.login(AGENT)
    watch.agents.set_status(AGENT, status, by=AGENT)
    assert wait_until(lambda: floor.snapshot().agents[AGENT].phone_online is True
                      and floor.snapshot().agents[AGENT].status == status)  # fmt: skip


def closed_and_paused(sim, floor, watch) -> None:  # type: ignore[no-untyped-def]
    """The tab reloads: its socket closes, and after the settle delay the watch pauses."""
    sim.execute_api("sim_phone 1000 disconnect browser")
    assert wait_until(lambda: floor.snapshot().agents[AGENT].pause_reason == PHONE_OFFLINE)
    assert wait_until(lambda: watch.paused == [AGENT])
    assert fs_status(sim) == "On Break"


@pytest.mark.parametrize("status", ["Available", "Available (On Demand)"])
def test_a_reloaded_page_that_registers_again_puts_the_agent_back(watch_with, status: str) -> None:  # type: ignore[no-untyped-def]
    sim, floor, watch, notices = watch_with(60.0)
    signed_in_and_taking_calls(sim, floor, watch, status)
    closed_and_paused(sim, floor, watch)
    assert floor.snapshot().agents[AGENT].status == "On Break"

    sim.execute_api("sim_phone 1000 register browser")  # the new page, seconds later
    assert wait_until(lambda: watch.resumed == [AGENT])
    assert wait_until(lambda: floor.snapshot().agents[AGENT].status == status)
    agent = floor.snapshot().agents[AGENT]
    assert (agent.phone_online, agent.pause_reason) == (True, None)
    assert fs_status(sim) == status
    assert floor.snapshot().presence[AGENT].signed_in is True
    assert wait_until(lambda: (AGENT, f"Your phone is back: you are {status} again.") in notices)
    assert watch.kept_paused == []


@pytest.mark.parametrize("by", [AGENT, "supervisor1"])
def test_a_pause_chosen_after_the_phone_went_is_kept(watch_with, by: str) -> None:  # type: ignore[no-untyped-def]
    sim, floor, watch, notices = watch_with(60.0)
    signed_in_and_taking_calls(sim, floor, watch)
    closed_and_paused(sim, floor, watch)
    watch.agents.not_ready(AGENT, "Lunch", by=by)  # the agent, or a supervisor for them
    assert wait_until(lambda: floor.snapshot().agents[AGENT].pause_reason == "Lunch")

    sim.execute_api("sim_phone 1000 register browser")
    assert wait_until(lambda: watch.kept_paused == [AGENT])
    agent = floor.snapshot().agents[AGENT]
    assert (agent.status, agent.pause_reason, agent.phone_online) == ("On Break", "Lunch", True)
    assert fs_status(sim) == "On Break"
    assert watch.resumed == []
    assert not [text for agent, text in notices if "phone is back" in text]


def test_an_agent_who_signed_out_meanwhile_is_not_put_back(watch_with) -> None:  # type: ignore[no-untyped-def]
    sim, floor, watch, _ = watch_with(60.0)
    signed_in_and_taking_calls(sim, floor, watch)
    closed_and_paused(sim, floor, watch)
    watch.agents.logout(AGENT)
    assert wait_until(lambda: floor.snapshot().agents[AGENT].status == "Logged Out")

    sim.execute_api("sim_phone 1000 register browser")
    assert wait_until(lambda: watch.kept_paused == [AGENT])
    assert fs_status(sim) == "Logged Out"
    assert floor.snapshot().agents[AGENT].status == "Logged Out"


def test_a_phone_back_after_the_window_leaves_the_agent_paused(watch_with) -> None:  # type: ignore[no-untyped-def]
    sim, floor, watch, notices = watch_with(0.2)
    signed_in_and_taking_calls(sim, floor, watch)
    closed_and_paused(sim, floor, watch)
    gevent.sleep(0.5)  # well past the 0.2 s window

    sim.execute_api("sim_phone 1000 register browser")
    assert wait_until(lambda: watch.kept_paused == [AGENT])
    agent = floor.snapshot().agents[AGENT]
    assert (agent.status, agent.pause_reason, agent.phone_online) == (
        "On Break", PHONE_OFFLINE, True)  # fmt: skip
    assert fs_status(sim) == "On Break"
    assert watch.resumed == []
    assert not [text for agent, text in notices if "phone is back" in text]


def test_a_window_of_0_never_puts_the_agent_back(watch_with) -> None:  # type: ignore[no-untyped-def]
    sim, floor, watch, _ = watch_with(0.0)
    signed_in_and_taking_calls(sim, floor, watch)
    closed_and_paused(sim, floor, watch)

    sim.execute_api("sim_phone 1000 register browser")
    assert wait_until(lambda: floor.snapshot().agents[AGENT].phone_online is True)
    assert wait_until(lambda: floor.backlog() == 0 and watch.backlog() == 0)
    gevent.sleep(0.3)  # room for a wrong resume to show
    agent = floor.snapshot().agents[AGENT]
    assert (agent.status, agent.pause_reason) == ("On Break", PHONE_OFFLINE)
    assert fs_status(sim) == "On Break"
    assert watch.resumed == watch.kept_paused == []
