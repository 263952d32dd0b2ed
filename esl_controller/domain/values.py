"""mod_callcenter's vocabulary, exactly as FreeSWITCH spells it.

Status is what the agent (or a supervisor) chooses; state is what mod_callcenter does with
the agent. They are independent: an agent can be ``On Break`` and ``Waiting`` at once (the
max-no-answer case), and logging in takes both a status and a state write.
There is no wrap-up *state* in mod_callcenter: after a call the agent is ``Waiting`` at
once and wrap-up is only a time gate (``last_bridge_end + wrap_up_time``), so the product
computes "in wrap-up" itself.
"""

from __future__ import annotations

from enum import StrEnum


class AgentStatus(StrEnum):
    LOGGED_OUT = "Logged Out"
    AVAILABLE = "Available"
    AVAILABLE_ON_DEMAND = "Available (On Demand)"
    ON_BREAK = "On Break"

    @property
    def available(self) -> bool:
        return self in (AgentStatus.AVAILABLE, AgentStatus.AVAILABLE_ON_DEMAND)


class AgentState(StrEnum):
    WAITING = "Waiting"
    RECEIVING = "Receiving"
    IN_A_QUEUE_CALL = "In a queue call"
    IDLE = "Idle"
    RESERVED = "Reserved"


class MemberState(StrEnum):
    WAITING = "Waiting"
    TRYING = "Trying"
    ANSWERED = "Answered"
    ABANDONED = "Abandoned"


def parse_status(text: str | None) -> AgentStatus | None:
    """FreeSWITCH's status text (any case) or None when it is not one."""
    if not text:
        return None
    for status in AgentStatus:
        if status.value.lower() == text.lower():
            return status
    return None


def parse_state(text: str | None) -> AgentState | None:
    if not text:
        return None
    for state in AgentState:
        if state.value.lower() == text.lower():
            return state
    return None
