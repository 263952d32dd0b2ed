"""The value every builder returns: one ``api``/``bgapi`` command line."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ApiCommand:
    """``name`` is the command word (``uuid_kill``); ``line`` what follows ``api ``."""

    name: str
    line: str

    def __str__(self) -> str:
        return self.line


def command(*words: str) -> ApiCommand:
    return ApiCommand(words[0], " ".join(w for w in words if w != ""))
