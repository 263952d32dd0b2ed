"""The engineer's ESL console, shared by the browser page, its REST endpoint and the
terminal (``callcenter console``): one policy, one audit, one way to run a line.

* :meth:`ConsoleService.run` parses a line into a typed command
  (:mod:`esl_controller.esl.console_policy`), sends it, caps the output and audits the
  line with the user and the outcome, refused lines included.
* :meth:`ConsoleService.complete` asks FreeSWITCH's own ``console_complete`` and parses
  its bracketed columns and ``write=<len>:<text>`` line.
* :class:`ConsoleStream` is one ESL connection of the console's own for ``/log <level>``
  and ``/event <names>``: FreeSWITCH sends log lines and events only to the connection that
  asked, so each console gets its own and the controller's link is never subscribed to
  more than it uses. ``originate`` goes through ``bgapi``: FreeSWITCH runs an ``api``
  command in the connection's reader thread, and an originate waits for the answer.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from esl_controller.errors import CallCenterError, InvalidArgument
from esl_controller.esl.commands.base import ApiCommand
from esl_controller.esl.connection import EslConnection
from esl_controller.esl.console_policy import (
    DEFAULT_POLICY,
    LOG_LEVELS,
    ConsolePolicy,
    ConsoleRefused,
    complete_command,
)
from esl_controller.esl.events import Event
from esl_controller.esl.frames import Frame

log = logging.getLogger(__name__)

MAX_OUTPUT = 64 * 1024
RunCall = Callable[[ApiCommand], str]
AuditCall = Callable[..., None]
BACKGROUND = frozenset({"originate"})
_EVENT_NAME = re.compile(r"^[A-Za-z0-9_]+(::[A-Za-z0-9_]+)?$")
_FILTER_WORD = re.compile(r"^[A-Za-z0-9_.:@+\-]+$")
_WRITE_RE = re.compile(r"^write=(\d+):(.*)$")


@dataclass(frozen=True, slots=True)
class ConsoleResult:
    """What a line produced: FreeSWITCH's output (cut at ``limit`` with a marker), whether
    FreeSWITCH said ``-ERR``, and the command actually sent."""

    output: str
    error: bool
    sent: str
    length: int
    truncated: bool = False


@dataclass(frozen=True, slots=True)
class Completion:
    """``console_complete``'s answer: the candidates and what to put in place of the
    last ``replace`` characters typed (empty when nothing is common)."""

    matches: list[str] = field(default_factory=list)
    replace: int = 0
    insert: str = ""


def cap(text: str, limit: int = MAX_OUTPUT) -> tuple[str, bool]:
    if len(text) <= limit:
        return text, False
    return text[:limit] + f"\n[... output cut at {limit} of {len(text)} characters ...]\n", True


def parse_completion(text: str) -> Completion:
    """FreeSWITCH's ``switch_console_complete`` stream: ``[%20s]\\t`` per match (four to
    a line), a blank line, then ``write=<len>:<text>`` (a trailing space after a single
    match: the word is complete)."""
    matches = re.findall(r"\[\s*([^\]\s][^\]]*)\]\t", text)
    replace, insert = 0, ""
    for line in text.splitlines():
        found = _WRITE_RE.match(line)
        if found:
            replace, insert = int(found.group(1)), found.group(2)
    return Completion(matches=matches, replace=replace, insert=insert)


class ConsoleService:
    """Runs console lines for a user: parse, send, cap, audit."""

    def __init__(
        self,
        api: RunCall,
        *,
        bgapi: RunCall | None = None,
        audit: AuditCall | None = None,
        policy: ConsolePolicy = DEFAULT_POLICY,
        limit: int = MAX_OUTPUT,
    ) -> None:
        self.api = api
        self.bgapi = bgapi or api
        self.audit = audit
        self.policy = policy
        self.limit = limit

    def _audit(self, user: str, line: object, outcome: str, sent: str | None = None,
               reason: str | None = None, reply: str | None = None) -> None:  # fmt: skip
        if self.audit is None:
            return
        details: dict[str, Any] = {"command": line if isinstance(line, str) else repr(line)}
        if sent is not None and sent != details["command"]:
            details["sent"] = sent
        if reason is not None:
            details["reason"] = reason  # the outcome column is short: the whole reason here
        if reply is not None:
            details["reply"] = reply
        try:
            self.audit(user, "console", None, details, outcome[:32])
        except Exception:  # the audit queue never stops a console
            log.exception("console: audit failed")

    def parse(self, user: str, line: object) -> ApiCommand:
        """The typed command, or :class:`ConsoleRefused` (audited as refused)."""
        try:
            return self.policy.parse(line)
        except InvalidArgument as exc:
            reason = exc.message.removeprefix("refused: ")
            self._audit(user, line, "refused", reason=reason)
            raise ConsoleRefused(exc.message) from None

    def run(self, user: str, line: object, *, limit: int | None = None) -> ConsoleResult:
        """Run one console line as ``user``; every line is audited."""
        built = self.parse(user, line)
        send = self.bgapi if built.name in BACKGROUND else self.api
        try:
            text = send(built)
        except CallCenterError as exc:
            self._audit(user, line, f"failed: {exc.code}", built.line)
            raise
        error = text.startswith("-ERR") or text.startswith("-USAGE")
        # The outcome column is short: "ok" or "-ERR"; FreeSWITCH's first line in details.
        first = text.strip().splitlines()[0][:256] if error and text.strip() else None
        self._audit(user, line, "-ERR" if error else "ok", built.line, reply=first)
        shown, cut = cap(text, self.limit if limit is None else limit)
        return ConsoleResult(shown, error, built.line, len(text), cut)

    def complete(self, text: str) -> Completion:
        """Completion from FreeSWITCH's own ``console_complete`` (not audited: nothing
        runs), with the console's own words added for what FreeSWITCH does not know."""
        reply = parse_completion(self.api(complete_command(text)))
        if " " not in text.lstrip():
            word = text.lstrip()
            own = [f"/{w}" for w in ("log", "nolog", "event", "noevents", "exit", "help")]
            extra = [w for w in own if w.startswith(word) and word.startswith("/")]
            if extra:
                insert = extra[0] if len(extra) == 1 else _common(extra)
                return Completion(matches=extra, replace=len(word), insert=insert)
        return reply


def _common(words: list[str]) -> str:
    first, last = min(words), max(words)
    size = 0
    while size < min(len(first), len(last)) and first[size] == last[size]:
        size += 1
    return first[:size]


# -- /log and /event --------------------------------------------------------------------


def log_level(word: str) -> str:
    level = word.strip().lower()
    if level.isdigit() and 0 <= int(level) <= 7:
        level = LOG_LEVELS[int(level)]
    if level == "error":
        level = "err"
    if level not in LOG_LEVELS:
        raise InvalidArgument(f"/log takes one of: {', '.join(LOG_LEVELS)}")
    return level


def event_request(words: list[str]) -> tuple[list[str], tuple[str, str] | None]:
    """``/event <names> [filter <header> <value>]``: event names (``CUSTOM`` followed by
    subclasses such as ``callcenter::info``, or ``ALL``) and an optional filter."""
    names, filt = list(words), None
    if "filter" in [w.lower() for w in names]:
        at = [w.lower() for w in names].index("filter")
        rest = names[at + 1 :]
        names = names[:at]
        if len(rest) != 2 or not all(_FILTER_WORD.match(w) for w in rest):
            raise InvalidArgument("/event ... filter <header> <value> (plain words)")
        filt = (rest[0], rest[1])
    if not names:
        raise InvalidArgument("/event takes event names, e.g. /event CUSTOM callcenter::info")
    out: list[str] = []
    for name in names:
        if not _EVENT_NAME.match(name) or len(name) > 64:
            raise InvalidArgument(f"not an event name: {name[:40]!r}")
        out.append(name if "::" in name else name.upper())
    if any("::" in n for n in out) and "CUSTOM" in out:
        # FreeSWITCH reads every word after CUSTOM as a subclass: CUSTOM goes last but one.
        plain = [n for n in out if "::" not in n and n != "CUSTOM"]
        out = [*plain, "CUSTOM", *[n for n in out if "::" in n]]
    elif any("::" in n for n in out):
        raise InvalidArgument("subclasses follow CUSTOM, e.g. /event CUSTOM callcenter::info")
    return out, filt


def format_event(event: Event) -> str:
    """An event as fs_cli prints it: its headers, then its body."""
    lines = [f"{k}: {v}" for k, v in event.headers.items()]
    text = "\n".join(lines)
    body = getattr(event, "body", "")
    if body:
        text += "\n\n" + (body if isinstance(body, str) else str(body))
    return text + "\n"


@dataclass(frozen=True, slots=True)
class LogLine:
    level: int
    text: str


def log_line(frame: Frame) -> LogLine:
    try:
        level = int(frame.headers.get("Log-Level", "7"))
    except ValueError:
        level = 7
    return LogLine(level, frame.text)


class ConsoleStream:
    """The console's own ESL connection for ``/log`` and ``/event``."""

    def __init__(
        self,
        host: str,
        port: int,
        password: str,
        *,
        on_log: Callable[[LogLine], None],
        on_event: Callable[[Event], None],
        on_lost: Callable[[str], None] | None = None,
        timeout: float = 5.0,
    ) -> None:
        self._args = (host, port, password)
        self._timeout = timeout
        self.on_log = on_log
        self.on_event = on_event
        self.on_lost = on_lost
        self.conn: EslConnection | None = None
        self.level: str | None = None
        self.events: list[str] = []

    def _connection(self) -> EslConnection:
        if self.conn is None or self.conn.lost.is_set():
            host, port, password = self._args
            conn = EslConnection(
                host, port, password, connect_timeout=self._timeout,
                command_timeout=self._timeout, name="console-stream",
                on_event=self.on_event, on_log=lambda f: self.on_log(log_line(f)),
                on_lost=self.on_lost,
            )  # fmt: skip
            conn.connect()
            self.conn = conn
        return self.conn

    def _send(self, line: str) -> str:
        reply = self._connection().send(line)
        return reply.headers.get("Reply-Text", "").strip()

    def log(self, level: str) -> str:
        word = log_level(level)
        self.level = word
        return self._send(f"log {word}")

    def nolog(self) -> str:
        self.level = None
        if self.conn is None:
            return "+OK no logs"
        return self._send("nolog")

    def subscribe(self, words: list[str]) -> str:
        names, filt = event_request(words)
        reply = self._send("event plain " + " ".join(names))
        if filt is not None:
            self._send(f"filter {filt[0]} {filt[1]}")
        self.events = names
        return reply

    def noevents(self) -> str:
        self.events = []
        if self.conn is None:
            return "+OK no events"
        reply = self._send("noevents")
        self._send("filter delete all")
        return reply

    def close(self) -> None:
        if self.conn is not None:
            self.conn.stop()
            self.conn = None


# -- the audit log, for the terminal (no recorder running) and for reading --------------


def database_audit(sessions: Any) -> AuditCall:
    """An audit call that writes each entry at once (the terminal console has no
    recorder); a database that cannot be reached is reported once, not fatal."""
    from esl_controller.services.recorder import audit_record
    from esl_controller.store.engine import session_scope
    from esl_controller.store.models import AuditEntry

    said: list[bool] = []
    retry_at = [0.0]

    def audit(actor: str, action: str, target: str | None = None,
              details: dict[str, Any] | None = None, outcome: str = "ok") -> None:  # fmt: skip
        if time.monotonic() < retry_at[0]:
            return  # the database failed a moment ago: do not stall every line on it
        try:
            with session_scope(sessions) as session:
                session.add(AuditEntry(**audit_record(actor, action, target, details, outcome)))
        except Exception as exc:
            retry_at[0] = time.monotonic() + 30.0
            if not said:
                said.append(True)
                log.warning("console: the audit log is not reachable (%s); commands run "
                            "unaudited, retried every 30 s", type(exc).__name__)  # fmt: skip

    return audit


def read_audit(sessions: Any, limit: int = 100) -> list[dict[str, Any]]:
    """The newest audit entries first (console lines and supervisor actions)."""
    from sqlalchemy import select

    from esl_controller.store.engine import session_scope
    from esl_controller.store.models import AuditEntry

    with session_scope(sessions) as session:
        rows = session.scalars(
            select(AuditEntry).order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(limit)
        ).all()
        return [
            {"id": r.id, "at": r.at.isoformat() if r.at else None, "actor": r.actor,
             "action": r.action, "target": r.target, "details": r.details,
             "outcome": r.outcome}
            for r in rows
        ]  # fmt: skip
