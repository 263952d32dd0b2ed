"""The queue numbers the supervisor console shows, from what a real FreeSWITCH sent: the
service level counts against each queue's own threshold, and hold time is summed per
queue for its average."""

from __future__ import annotations

from esl_controller.domain.floor import Floor
from tests.unit.test_domain_floor import replay


def test_service_level_counts_against_the_queue_s_own_threshold() -> None:
    # The caller of this recording waited about half a second for the agent.
    lenient, _ = replay("sip_agent_hold_transfer")
    strict = Floor(service_level_seconds=20)
    changes = strict.set_service_levels({"support@default": 0.25, "sales@default": 45.0})
    assert changes == []  # no queue yet: nothing to tell
    strict, _ = replay("sip_agent_hold_transfer", strict)
    assert lenient.queues["support@default"].service_level == 1.0
    assert lenient.queues["support@default"].service_level_seconds == 20
    support = strict.queues["support@default"]
    assert support.total_answer_wait > 0.25
    assert (support.service_level_seconds, support.answered, support.service_level) == (
        0.25, 1, 0.0)  # fmt: skip
    # A threshold changed later is shown at once; answers already counted stay counted.
    (change,) = strict.set_service_levels({"support@default": 30.0})
    assert change.kind == "queue" and change.view.service_level_seconds == 30.0  # type: ignore[attr-defined]
    assert strict.queues["support@default"].service_level == 0.0


def test_hold_time_is_summed_per_queue() -> None:
    floor, changes = replay("sip_agent_hold_transfer")
    ended = [c.view for c in changes if c.kind == "call_ended"]
    held = sum(c.hold_seconds for c in ended if c.queue == "support@default")  # type: ignore[attr-defined]
    queue = floor.queues["support@default"]
    assert held > 0
    assert queue.handled >= 1 and queue.total_hold == held
    assert queue.average_hold_time == held / queue.handled
    assert Floor().add_queue("billing@default")[0].view.average_hold_time is None  # type: ignore[attr-defined]
