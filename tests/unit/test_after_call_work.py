"""After-call work as the wrap-up service measures it, from the floor's change records:
the agent's next call answered before the disposition ends it (the call stays owed), it
is written once, and it stays within 0..the wrap-up limit."""

from __future__ import annotations

from typing import Any, cast

from esl_controller.domain.model import CallView, Change
from esl_controller.services.agents import AgentService
from esl_controller.services.recorder import Recorder
from esl_controller.services.wrap_up import WrapUpService

AGENT = "1000@default"


class Written:
    """The recorder as the service sees it: what it was asked to write."""

    def __init__(self) -> None:
        self.after_call: list[tuple[str, float]] = []

    def after_call_work(self, call_uuid: str, seconds: float) -> None:
        self.after_call.append((call_uuid, seconds))

    def audit(self, *args: Any) -> None:
        pass


class Switch:
    """The agent commands (the hold on offers): taken, nothing else."""

    def hold_wrap_up(self, agent: str, seconds: int) -> None:
        pass

    def end_wrap_up(self, agent: str) -> None:
        pass


def view(uuid: str, *, answered: float, ended: float | None = None) -> CallView:
    return CallView(uuid=uuid, direction="inbound", queue="support@default", member_uuid=None,
                    agent=AGENT, agent_leg=None, cid_name="", cid_number="5551230000",
                    joined_at=answered - 5, offered_at=answered - 2, answered_at=answered,
                    held_since=None, hold_seconds=0.0, transferred_at=None, ended_at=ended,
                    cause=None, outcome="answered" if ended else None)  # fmt: skip


def service(now: list[float]) -> tuple[WrapUpService, Written]:
    written = Written()
    wrap_up = WrapUpService(cast(AgentService, Switch()), cast(Recorder, written), limit=60,
                            clock=lambda: now[0])  # fmt: skip
    return wrap_up, written


def ended(wrap_up: WrapUpService, uuid: str, answered: float, end: float) -> None:
    wrap_up.on_changes([Change("call_ended", uuid, view(uuid, answered=answered, ended=end))])


def test_the_next_call_answered_ends_the_after_call_work() -> None:
    now = [1000.0]
    wrap_up, written = service(now)
    ended(wrap_up, "first", 900.0, 1000.0)
    now[0] = 1040.0
    nxt: Any = view("second", answered=1040.0)
    wrap_up.on_changes([Change("call", "second", nxt)])
    assert written.after_call == [("first", 40.0)]
    # Still owed: the disposition is awaited; saving it later writes nothing more.
    assert [o.call_uuid for o in wrap_up.owed_calls(AGENT)] == ["first"]
    wrap_up.on_changes([Change("call", "second", nxt)])  # another update of that call
    now[0] = 1050.0
    assert wrap_up.close(AGENT, "first", actor="alice") == ["first"]
    assert written.after_call == [("first", 40.0)]


def test_after_call_work_stays_within_zero_and_the_limit() -> None:
    now = [1000.0]
    wrap_up, written = service(now)
    # The switch's clock a little ahead of ours: the end is "after" the save.
    ended(wrap_up, "ahead", 900.0, 1003.0)
    wrap_up.close(AGENT, "ahead", actor="alice")
    ended(wrap_up, "ran-out", 900.0, 1000.0)
    now[0] = 5000.0
    assert wrap_up.owed_calls(AGENT) == []
    assert written.after_call == [("ahead", 0.0), ("ran-out", 60.0)]
