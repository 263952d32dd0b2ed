"""Agent operations: log in, ready, not ready with a reason, log out, wrap-up.

mod_callcenter keeps an agent's *status* (chosen) and *state* (what it is doing) apart, so
logging in writes both: status ``On Break`` with the reason "Login" and state ``Waiting``
— the agent is signed in but takes no call until Ready. Pause reasons are the product's:
FreeSWITCH only knows ``On Break``. Wrap-up beyond mod_callcenter's fixed
``wrap_up_time`` (until a disposition is saved) is a ``ready_time`` in the future.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import gevent.lock

from esl_controller.errors import InvalidArgument
from esl_controller.esl import replies
from esl_controller.esl.commands import callcenter as cc
from esl_controller.esl.commands.base import ApiCall, ApiCommand
from esl_controller.services.floor_service import FloorService

LOGIN_REASON = "Login"
MAX_WRAP_UP = 3600


def check_reason(reason: object) -> str:
    if not isinstance(reason, str) or not reason.strip():
        raise InvalidArgument("a pause reason is required")
    text = reason.strip()
    if len(text) > 64 or any(ord(c) < 32 for c in text):
        raise InvalidArgument("a pause reason is one line of at most 64 characters")
    return text


class AgentService:
    """Every status change is first recorded as the product's intent (status, reason, who)
    and then sent, under a per-agent lock: one agent's commands reach FreeSWITCH in the
    order they were chosen, so their events can be matched to them in that order."""

    def __init__(
        self, api: ApiCall, floor: FloorService, clock: Callable[[], float] = time.time
    ) -> None:
        self.api = api
        self.floor = floor
        self.clock = clock
        self._locks: dict[str, gevent.lock.Semaphore] = {}

    def _run(self, command: ApiCommand) -> None:
        replies.expect_ok(self.api(command))

    def _lock(self, agent: str) -> gevent.lock.Semaphore:
        return self._locks.setdefault(agent, gevent.lock.Semaphore())

    def set_status(
        self,
        agent: str,
        status: str,
        reason: str | None = None,
        *,
        by: str | None = None,
        signed_in: bool | None = None,
        state: str | None = None,
    ) -> int:
        """Record the choice, then ask FreeSWITCH; a refused command takes it back.
        Returns the choice's sequence (the agent's presence carries it until the next)."""
        command = cc.agent_set_status(agent, status)  # validates before anything is kept
        with self._lock(agent):
            return self._set_locked(agent, command, status, reason, by, signed_in, state)

    def _set_locked(self, agent: str, command: ApiCommand, status: str, reason: str | None,
                    by: str | None, signed_in: bool | None, state: str | None) -> int:  # fmt: skip
        state_command = cc.agent_set_state(agent, state) if state else None
        seq = self.floor.intend(agent, status, reason, by=by, signed_in=signed_in)
        try:
            self._run(command)
        except Exception:
            self.floor.withdraw(agent, seq)
            raise
        if state_command is not None:
            self._run(state_command)
        return seq

    def login(self, agent: str, *, by: str | None = None) -> None:
        """Signed in, not ready: On Break ("Login") and Waiting."""
        self.set_status(agent, "On Break", LOGIN_REASON, by=by or agent, signed_in=True,
                        state="Waiting")  # fmt: skip

    def ready(self, agent: str, *, by: str | None = None) -> None:
        """Available; an On Demand agent parked in Idle after a call is made Waiting."""
        self.set_status(agent, "Available", None, by=by or agent)
        view = self.floor.snapshot().agents.get(agent)
        if view is not None and view.state == "Idle":
            self._run(cc.agent_set_state(agent, "Waiting"))

    def not_ready(self, agent: str, reason: str, *, by: str | None = None) -> int:
        return self.set_status(agent, "On Break", check_reason(reason), by=by or agent)

    def logout(self, agent: str, *, by: str | None = None) -> None:
        self.set_status(agent, "Logged Out", None, by=by or agent, signed_in=False)

    def restore(self, agent: str, status: str, reason: str | None, seq: int) -> bool:
        """Put a signed-in agent back as they left it after FreeSWITCH forgot them.
        Checked again under the agent's lock, against the switch itself: the lists the
        resync read may be older than a click made since (then that click stands)."""
        command = cc.agent_set_status(agent, status)
        with self._lock(agent):
            presence = self.floor.snapshot().presence.get(agent)
            if presence is None or presence.seq != seq or not presence.signed_in:
                return False  # a newer choice was made meanwhile
            if replies.bare_value(self.api(cc.agent_get("status", agent))) != "Logged Out":
                return False
            # Keep who made the choice (the agent, a supervisor): the repair is in the log.
            self._set_locked(agent, command, status, reason, presence.by or "restore", True,
                             "Waiting")  # fmt: skip
        return True

    def resume(self, agent: str, status: str, seq: int, *, by: str) -> bool:
        """Undo the pause of sequence ``seq`` (e.g. "Phone offline", the phone is back):
        ``status`` again, only if that pause is still the agent's latest choice, the agent
        is still signed in and the switch still has them On Break. Checked under the
        agent's lock, against the switch itself (a status set from fs_cli or another
        controller never reaches the product's presence)."""
        command = cc.agent_set_status(agent, status)
        with self._lock(agent):
            presence = self.floor.snapshot().presence.get(agent)
            if presence is None or presence.seq != seq or not presence.signed_in:
                return False  # a newer choice was made meanwhile, or the agent signed out
            if replies.bare_value(self.api(cc.agent_get("status", agent))) != "On Break":
                return False
            self._set_locked(agent, command, status, None, by, None, None)
        return True

    def hold_wrap_up(self, agent: str, seconds: int) -> None:
        """Keep the agent out of offers for ``seconds`` (until a disposition is saved)."""
        if not isinstance(seconds, int) or not 0 < seconds <= MAX_WRAP_UP:
            raise InvalidArgument(f"wrap-up must be 1 to {MAX_WRAP_UP} seconds")
        self._run(cc.agent_set_number(agent, "ready_time", int(self.clock()) + seconds))

    def end_wrap_up(self, agent: str) -> None:
        """The disposition is saved: offers may come again (after the queue's own gate)."""
        self._run(cc.agent_set_number(agent, "ready_time", 0))
