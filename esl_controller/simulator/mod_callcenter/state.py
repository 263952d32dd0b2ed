"""mod_callcenter's tables (agents, tiers, members) and loaded queues, in memory.

Column names and order are FreeSWITCH's (the ``agents``/``tiers``/``members`` SQL tables);
``callcenter_config ... list`` prints them in this order and NULL as an empty field.
Rows keep insertion order, as SQLite returns them without ORDER BY.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from esl_controller.simulator.mod_callcenter.config import QueueConfig

AGENT_COLUMNS = (
    "name", "instance_id", "uuid", "type", "contact", "status", "state", "max_no_answer",
    "wrap_up_time", "reject_delay_time", "busy_delay_time", "no_answer_delay_time",
    "last_bridge_start", "last_bridge_end", "last_offered_call", "last_status_change",
    "no_answer_count", "calls_answered", "talk_time", "ready_time", "external_calls_count",
)  # fmt: skip
TIER_COLUMNS = ("queue", "agent", "state", "level", "position")
MEMBER_COLUMNS = (
    "queue", "instance_id", "uuid", "session_uuid", "cid_number", "cid_name", "system_epoch",
    "joined_epoch", "rejoined_epoch", "bridge_epoch", "abandoned_epoch", "base_score",
    "skill_score", "serving_agent", "serving_system", "state",
)  # fmt: skip
QUEUE_COLUMNS = (
    ("name", None), ("strategy", "strategy"), ("moh_sound", "moh-sound"),
    ("time_base_score", "time-base-score"), ("tier_rules_apply", "tier-rules-apply"),
    ("tier_rule_wait_second", "tier-rule-wait-second"),
    ("tier_rule_wait_multiply_level", "tier-rule-wait-multiply-level"),
    ("tier_rule_no_agent_no_wait", "tier-rule-no-agent-no-wait"),
    ("discard_abandoned_after", "discard-abandoned-after"),
    ("abandoned_resume_allowed", "abandoned-resume-allowed"),
    ("max_wait_time", "max-wait-time"),
    ("max_wait_time_with_no_agent", "max-wait-time-with-no-agent"),
    ("max_wait_time_with_no_agent_time_reached", "max-wait-time-with-no-agent-time-reached"),
    ("record_template", "record-template"), ("calls_answered", None), ("calls_abandoned", None),
    ("ring_progressively_delay", "ring-progressively-delay"),
    ("skip_agents_with_external_calls", "skip-agents-with-external-calls"),
    ("agent_no_answer_status", "agent-no-answer-status"),
)  # fmt: skip
INSTANCE = "single_box"


@dataclass
class Agent:
    name: str
    type: str = "callback"
    contact: str = ""
    status: str = "Logged Out"
    state: str = "Waiting"
    uuid: str | None = None
    instance_id: str = INSTANCE
    max_no_answer: int = 0
    wrap_up_time: int = 0
    reject_delay_time: int = 0
    busy_delay_time: int = 0
    no_answer_delay_time: int = 0
    last_bridge_start: int = 0
    last_bridge_end: int = 0
    last_offered_call: int = 0
    last_status_change: int = 0
    no_answer_count: int = 0
    calls_answered: int = 0
    talk_time: int = 0
    ready_time: int = 0
    external_calls_count: int = 0

    def row(self) -> dict[str, str | None]:
        return {col: _text(getattr(self, col)) for col in AGENT_COLUMNS}


@dataclass
class Tier:
    queue: str
    agent: str
    state: str = "Ready"
    level: int = 1
    position: int = 1

    def row(self) -> dict[str, str | None]:
        return {col: _text(getattr(self, col)) for col in TIER_COLUMNS}


@dataclass
class Member:
    queue: str
    uuid: str
    session_uuid: str
    cid_number: str
    cid_name: str
    system_epoch: int
    joined_epoch: int
    instance_id: str = INSTANCE
    rejoined_epoch: int = 0
    bridge_epoch: int = 0
    abandoned_epoch: int = 0
    base_score: int = 0
    skill_score: int = 0
    serving_agent: str | None = None
    serving_system: str | None = None
    state: str = "Waiting"

    def row(self, now: int) -> dict[str, str | None]:
        row = {col: _text(getattr(self, col)) for col in MEMBER_COLUMNS}
        row["score"] = str(self.base_score + self.skill_score + (now - self.joined_epoch))
        return row


@dataclass
class LoadedQueue:
    config: QueueConfig
    calls_answered: int = 0
    calls_abandoned: int = 0

    def row(self) -> dict[str, str | None]:
        row: dict[str, str | None] = {}
        for column, param in QUEUE_COLUMNS:
            if column == "name":
                row[column] = self.config.name
            elif column == "calls_answered":
                row[column] = str(self.calls_answered)
            elif column == "calls_abandoned":
                row[column] = str(self.calls_abandoned)
            else:
                row[column] = self.config.text(param or "")
        return row


@dataclass
class Tables:
    agents: dict[str, Agent] = field(default_factory=dict)
    tiers: list[Tier] = field(default_factory=list)
    members: list[Member] = field(default_factory=list)
    queues: dict[str, LoadedQueue] = field(default_factory=dict)

    def tier(self, queue: str, agent: str) -> Tier | None:
        for tier in self.tiers:
            if tier.queue == queue and tier.agent == agent:
                return tier
        return None

    def tiers_ordered(self, queue: str | None = None) -> list[Tier]:
        """``ORDER BY level, position`` (stable: ties keep insertion order)."""
        rows = [t for t in self.tiers if queue is None or t.queue == queue]
        return sorted(rows, key=lambda t: (t.level, t.position))


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def table(rows: list[dict[str, str | None]]) -> str:
    """A ``callcenter_config`` list: header row only when there are rows, then ``+OK``."""
    if not rows:
        return "+OK\n"
    header = "|".join(rows[0])
    lines = ["|".join(v or "" for v in row.values()) for row in rows]
    return header + "\n" + "\n".join(lines) + "\n+OK\n"
