"""Reaching the app's dependencies and the signed-in agent from a view."""

from __future__ import annotations

import time
from collections.abc import Callable

import gevent
from flask import current_app

from dashboard.auth import Forbidden
from dashboard.deps import Dependencies
from esl_controller.domain.model import Snapshot
from esl_controller.services.users import UserRecord

EXTENSION_KEY = "callcenter"


def deps() -> Dependencies:
    return current_app.extensions[EXTENSION_KEY]


def agent_of(user: UserRecord) -> str:
    """The mod_callcenter agent the user works as (403 for users that are not agents)."""
    if user.agent is None:
        raise Forbidden("this user is not an agent", code="not_an_agent")
    return user.agent


def now() -> float:
    return time.time()


def settle(predicate: Callable[[Snapshot], bool], timeout: float = 1.0) -> None:
    """Give FreeSWITCH's events a moment to reach the floor, so a reply shows the state
    the command caused (the command is done either way; this only waits for the echo)."""
    deadline = time.monotonic() + timeout
    floor = deps().floor
    while not predicate(floor.snapshot()) and time.monotonic() < deadline:
        gevent.sleep(0.01)
