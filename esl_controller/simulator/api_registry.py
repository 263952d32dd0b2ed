"""The simulator's API command table: what ``api <cmd> <args>`` and ``bgapi`` run.

Each simulated module registers its commands (``status``, ``callcenter_config``, ...).
A handler gets the argument string (everything after the command word, possibly empty)
and returns the command's output exactly as FreeSWITCH's would be written, newline or not.
The wire layer applies mod_event_socket's rules on top: an unknown command answers
``-ERR <cmd> Command not found!\\n`` and an empty output becomes ``-ERR no reply\\n``.
"""

from __future__ import annotations

from collections.abc import Callable

ApiHandler = Callable[[str], str]


class ApiRegistry:
    """Command name -> handler."""

    def __init__(self) -> None:
        self._handlers: dict[str, ApiHandler] = {}

    def register(self, name: str, handler: ApiHandler) -> None:
        self._handlers[name] = handler

    def get(self, name: str) -> ApiHandler | None:
        return self._handlers.get(name)

    def names(self) -> list[str]:
        return sorted(self._handlers)
