"""``callcenter_config`` builders (mod_callcenter, reference §2.7).

mod_callcenter splits its arguments on spaces and honours single quotes, so multi-word
values (``'On Break'``, ``'Available (On Demand)'``, ``'In a queue call'``) are quoted and
everything else must be a single word. The ``json`` form is preferred for lists: its
output is escaped and keyed by column, unlike the pipe tables.
"""

from __future__ import annotations

import json

from esl_controller.errors import InvalidArgument
from esl_controller.esl.commands import validate as v
from esl_controller.esl.commands.base import ApiCommand, command
from esl_controller.esl.commands.originate import dial_string_text
from esl_controller.esl.commands.values import (
    AGENT_SET_NUMBER_KEYS,
    AGENT_STATES,
    AGENT_STATUSES,
    AGENT_TYPES,
    TIER_STATES,
)

CC = "callcenter_config"


def agent_add(agent: str, agent_type: str = "Callback") -> ApiCommand:
    kind = v.quoted_choice("agent type", agent_type, AGENT_TYPES)
    return command(CC, "agent", "add", v.name("agent", agent), kind)


def agent_del(agent: str) -> ApiCommand:
    return command(CC, "agent", "del", v.name("agent", agent))


def agent_set_status(agent: str, status: str) -> ApiCommand:
    value = v.quoted_choice("status", status, AGENT_STATUSES)
    return command(CC, "agent", "set", "status", v.name("agent", agent), value)


def agent_set_state(agent: str, state: str, *, only_if_waiting: bool = False) -> ApiCommand:
    """``state_if_waiting`` changes the state only while the agent is Waiting (no race
    with an offer that mod_callcenter is making at the same moment)."""
    key = "state_if_waiting" if only_if_waiting else "state"
    value = v.quoted_choice("state", state, AGENT_STATES)
    return command(CC, "agent", "set", key, v.name("agent", agent), value)


def agent_set_contact(agent: str, contact: str) -> ApiCommand:
    return command(CC, "agent", "set", "contact", v.name("agent", agent), dial_string_text(contact))


def agent_set_type(agent: str, agent_type: str) -> ApiCommand:
    kind = v.quoted_choice("agent type", agent_type, AGENT_TYPES)
    return command(CC, "agent", "set", "type", v.name("agent", agent), kind)


def agent_set_uuid(agent: str, channel_uuid: str) -> ApiCommand:
    return command(CC, "agent", "set", "uuid", v.name("agent", agent), v.uuid("uuid", channel_uuid))


def agent_set_number(agent: str, key: str, value: int) -> ApiCommand:
    """max_no_answer, wrap_up_time (not wrapup_time), the delays, or ready_time (an epoch)."""
    if key not in AGENT_SET_NUMBER_KEYS:
        raise InvalidArgument(f"agent setting must be one of: {', '.join(AGENT_SET_NUMBER_KEYS)}")
    return command(CC, "agent", "set", key, v.name("agent", agent), v.number(key, value))


def agent_get(what: str, agent: str) -> ApiCommand:
    if what not in ("status", "state", "uuid"):
        raise InvalidArgument("agent get takes status, state or uuid")
    return command(CC, "agent", "get", what, v.name("agent", agent))


def agent_list(agent: str | None = None) -> ApiCommand:
    return command(CC, "agent", "list", v.name("agent", agent) if agent else "")


def tier_add(queue: str, agent: str, level: int = 1, position: int = 1) -> ApiCommand:
    return command(
        CC,
        "tier",
        "add",
        v.name("queue", queue),
        v.name("agent", agent),
        v.number("level", level, 0, 1000),
        v.number("position", position, 0, 100000),
    )


def tier_set(key: str, queue: str, agent: str, value: str | int) -> ApiCommand:
    if key == "state":
        text = v.quoted_choice("tier state", value, TIER_STATES)
    elif key == "level":
        text = v.number("level", value, 0, 1000)
    elif key == "position":
        text = v.number("position", value, 0, 100000)
    else:
        raise InvalidArgument("tier set takes state, level or position")
    return command(CC, "tier", "set", key, v.name("queue", queue), v.name("agent", agent), text)


def tier_del(queue: str, agent: str) -> ApiCommand:
    return command(CC, "tier", "del", v.name("queue", queue), v.name("agent", agent))


def tier_list() -> ApiCommand:
    return command(CC, "tier", "list")


def queue_action(action: str, queue: str) -> ApiCommand:
    if action not in ("load", "unload", "reload"):
        raise InvalidArgument("queue action must be load, unload or reload")
    return command(CC, "queue", action, v.name("queue", queue))


def queue_list(what: str | None = None, queue: str | None = None) -> ApiCommand:
    """``queue list`` or ``queue list agents|members|tiers <queue>``."""
    if what is None:
        return command(CC, "queue", "list")
    if what not in ("agents", "members", "tiers"):
        raise InvalidArgument("queue list takes agents, members or tiers")
    return command(CC, "queue", "list", what, v.name("queue", queue))


def queue_count(what: str | None = None, queue: str | None = None) -> ApiCommand:
    if what is None:
        return command(CC, "queue", "count")
    if what not in ("agents", "members", "tiers"):
        raise InvalidArgument("queue count takes agents, members or tiers")
    return command(CC, "queue", "count", what, v.name("queue", queue))


JSON_ARGUMENTS = (
    "agent list",
    "queue list",
    "queue list agents",
    "queue list members",
    "queue list tiers",
    "tier list",
    "member list",
)


def json_query(arguments: str, queue: str | None = None) -> ApiCommand:
    """``json {"command":"callcenter_config","data":{...}}``: escaped, keyed output."""
    if arguments not in JSON_ARGUMENTS:
        raise InvalidArgument(f"json callcenter_config supports: {', '.join(JSON_ARGUMENTS)}")
    data: dict[str, str] = {"arguments": arguments}
    if arguments.startswith("queue list "):
        data["queue_name"] = v.name("queue", queue)
    payload = json.dumps({"command": CC, "data": data}, separators=(",", ":"))
    return ApiCommand("json", f"json {payload}")
