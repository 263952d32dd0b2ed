"""Agent ordering per mod_callcenter strategy (agent_list ORDER BY clauses in
mod_callcenter.c): who gets the next call."""

from __future__ import annotations

import pytest

from esl_controller.simulator.mod_callcenter.queueing import QueueManager
from esl_controller.simulator.mod_callcenter.state import Agent


def agents() -> list[tuple[int, int, Agent]]:
    a = Agent("a", last_bridge_end=300, talk_time=50, calls_answered=9, last_offered_call=10)
    b = Agent("b", last_bridge_end=100, talk_time=90, calls_answered=1, last_offered_call=30)
    c = Agent("c", last_bridge_end=200, talk_time=10, calls_answered=5, last_offered_call=20)
    return [(1, 1, a), (1, 2, b), (1, 3, c)]


@pytest.mark.parametrize(
    ("strategy", "expected"),
    [
        ("longest-idle-agent", ["b", "c", "a"]),
        ("agent-with-least-talk-time", ["c", "a", "b"]),
        ("agent-with-fewest-calls", ["b", "c", "a"]),
        ("top-down", ["a", "b", "c"]),
        ("ring-all", ["a", "b", "c"]),
        ("round-robin", ["c", "a", "b"]),  # b was offered last: continue after it
    ],
)
def test_strategy_order(strategy: str, expected: list[str]) -> None:
    order = QueueManager._order(QueueManager.__new__(QueueManager), strategy, agents())
    assert [a.name for a in order] == expected


def test_levels_come_before_everything() -> None:
    found = agents()
    found[0] = (2, 1, found[0][2])  # "a" is on level 2
    order = QueueManager._order(QueueManager.__new__(QueueManager), "top-down", found)
    assert [a.name for a in order] == ["b", "c", "a"]
