"""mod_callcenter's configuration: ``autoload_configs/callcenter.conf.xml``.

Every queue parameter has mod_callcenter's default (``load_queue`` in mod_callcenter.c);
``ring-progressively-delay`` 0 means 10 s at offer time, not here.
"""

from __future__ import annotations

import pathlib
from dataclasses import dataclass, field
from xml.etree import ElementTree

from esl_controller.simulator.conf.xmlconf import load_config_file

CONFIG_FILE = "autoload_configs/callcenter.conf.xml"

QUEUE_DEFAULTS: dict[str, str] = {
    "strategy": "longest-idle-agent",
    "moh-sound": "",
    "announce-sound": "",
    "announce-frequency": "0",
    "record-template": "",
    "time-base-score": "queue",
    "ring-progressively-delay": "0",
    "tier-rules-apply": "false",
    "tier-rule-wait-second": "0",
    "tier-rule-wait-multiply-level": "false",
    "tier-rule-no-agent-no-wait": "true",
    "discard-abandoned-after": "60",
    "abandoned-resume-allowed": "false",
    "max-wait-time": "0",
    "max-wait-time-with-no-agent": "0",
    "max-wait-time-with-no-agent-time-reached": "5",
    "agent-no-answer-status": "On Break",
    "skip-agents-with-external-calls": "true",
    "calls-answered": "0",
    "calls-abandoned": "0",
}


@dataclass
class QueueConfig:
    name: str
    params: dict[str, str] = field(default_factory=lambda: dict(QUEUE_DEFAULTS))

    def text(self, key: str) -> str:
        return self.params.get(key, QUEUE_DEFAULTS.get(key, ""))

    def flag(self, key: str) -> bool:
        return self.text(key).lower() in ("true", "yes", "on", "1")

    def number(self, key: str) -> int:
        value = self.text(key)
        return int(value) if value.lstrip("-").isdigit() else 0


@dataclass
class AgentConfig:
    name: str
    type: str = "callback"
    contact: str = ""
    status: str = ""
    max_no_answer: int = 0
    wrap_up_time: int = 0
    reject_delay_time: int = 0
    busy_delay_time: int = 0
    no_answer_delay_time: int = 0


@dataclass
class TierConfig:
    queue: str
    agent: str
    level: int = 1
    position: int = 1


@dataclass
class CallCenterConfig:
    settings: dict[str, str] = field(default_factory=dict)
    queues: dict[str, QueueConfig] = field(default_factory=dict)
    agents: list[AgentConfig] = field(default_factory=list)
    tiers: list[TierConfig] = field(default_factory=list)


def _int(value: str | None) -> int:
    return int(value) if value and value.strip().lstrip("-").isdigit() else 0


def parse(root: ElementTree.Element | None) -> CallCenterConfig:
    config = CallCenterConfig()
    if root is None:
        return config
    for param in root.iterfind("settings/param"):
        config.settings[param.get("name", "")] = param.get("value", "")
    for queue in root.iterfind("queues/queue"):
        q = QueueConfig(queue.get("name", ""))
        for param in queue.iterfind("param"):
            q.params[param.get("name", "")] = param.get("value", "")
        config.queues[q.name] = q
    for agent in root.iterfind("agents/agent"):
        config.agents.append(
            AgentConfig(
                name=agent.get("name", ""),
                type=agent.get("type", "callback"),
                contact=agent.get("contact", ""),
                status=agent.get("status", ""),
                max_no_answer=_int(agent.get("max-no-answer")),
                wrap_up_time=_int(agent.get("wrap-up-time")),
                reject_delay_time=_int(agent.get("reject-delay-time")),
                busy_delay_time=_int(agent.get("busy-delay-time")),
                no_answer_delay_time=_int(agent.get("no-answer-delay-time")),
            )
        )
    for tier in root.iterfind("tiers/tier"):
        config.tiers.append(
            TierConfig(
                queue=tier.get("queue", ""),
                agent=tier.get("agent", ""),
                level=_int(tier.get("level") or "1"),
                position=_int(tier.get("position") or "1"),
            )
        )
    return config


def load(conf_dir: pathlib.Path | None, variables: dict[str, str]) -> CallCenterConfig:
    if conf_dir is None:
        return CallCenterConfig()
    return parse(load_config_file(conf_dir, CONFIG_FILE, variables))
