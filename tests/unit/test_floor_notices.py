"""Notices an agent's page shows: kept a while for a page that connects later, and
bounded (the last few of the last minute)."""

from __future__ import annotations

from esl_controller.domain.floor import KEPT_NOTICES, NOTICE_SECONDS, Floor
from esl_controller.domain.model import Notice


def test_the_floor_keeps_each_agents_latest_notices_of_the_last_minute() -> None:
    floor = Floor()
    changes = floor.notice(Notice("a", "first", 100.0))
    assert [(c.kind, c.key) for c in changes] == [("notice", "a")]
    for n in range(10):
        floor.notice(Notice("a", f"n{n}", 101.0 + n))
    floor.notice(Notice("b", "other", 105.0))
    kept = floor.snapshot().notices
    assert [n.text for n in kept["a"]] == [f"n{n}" for n in range(10 - KEPT_NOTICES, 10)]
    assert [n.text for n in kept["b"]] == ["other"]
    # A minute later, older ones are dropped when a new one comes.
    floor.notice(Notice("a", "late", 110.0 + NOTICE_SECONDS))
    assert [n.text for n in floor.snapshot().notices["a"]] == ["late"]
