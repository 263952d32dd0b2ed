"""The value every builder returns: one ``api``/``bgapi`` command line."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ApiCommand:
    """``name`` is the command word (``uuid_kill``); ``line`` what follows ``api ``."""

    name: str
    line: str

    def __str__(self) -> str:
        return self.line


# What a service is given to talk to FreeSWITCH (``EslClient.api`` or ``.bgapi``): it
# takes only a command a builder made, so no text reaches the switch unvalidated.
ApiCall = Callable[[ApiCommand], str]


def checked(command: object) -> ApiCommand:
    """The product's one command boundary: only what a builder of
    :mod:`esl_controller.esl.commands` made (validated arguments, one line) is sent."""
    if not isinstance(command, ApiCommand):
        raise TypeError(
            f"FreeSWITCH commands must be built by esl_controller.esl.commands, not "
            f"{type(command).__name__}"
        )
    return command


def command(*words: str) -> ApiCommand:
    return ApiCommand(words[0], " ".join(w for w in words if w != ""))
