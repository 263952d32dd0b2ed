"""mod_event_socket's ``parse_command`` for an inbound connection: every reply text.

FreeSWITCH matches commands by *prefix*, case-insensitively, in a fixed order (so
``exitnow`` is ``exit`` and ``events plain ALL`` is ``event``); ``api``, ``bgapi``,
``auth``, ``filter`` and inbound ``myevents`` need the space after the word. A command
that produced no reply text gets ``-ERR command not found`` (so does ``getvar`` of an
unset variable). Before ``auth`` only ``exit`` and ``auth``/``userauth`` do anything.

A connection becomes bound to a channel with ``myevents <uuid>`` when the uuid exists;
then ``linger``, ``nolinger``, ``divert_events``, ``resume``, ``getvar`` and a
``sendmsg`` without uuid act on that channel, as on an outbound socket.
"""

from __future__ import annotations

import uuid as uuidlib
from typing import TYPE_CHECKING

from esl_controller.simulator.wire import encode
from esl_controller.simulator.wire.packet import Command, atoi, strip_cr
from esl_controller.simulator.wire.subscriptions import name_event

if TYPE_CHECKING:
    from esl_controller.simulator.wire.session import EslSession

# switch_log.c LEVELS: a name's level is its index minus one ("disable" is -1).
LOG_LEVELS = ["DISABLE", "CONSOLE", "ALERT", "CRIT", "ERR", "WARNING", "NOTICE", "INFO", "DEBUG"]
LOG_INVALID = 64

Reply = str | bytes | None  # text for Reply-Text, a whole frame, or nothing (api)


def log_level(word: str) -> int:
    """``switch_log_str2level``: a number (clamped to 0..63) or a level name."""
    digits = word[1:] if word[:1] in "+-" else word
    if all(c == "." or c.isdigit() for c in digits):
        number = atoi(word)
        return LOG_INVALID - 1 if number > LOG_INVALID else max(number, 0)
    upper = word.upper()
    return LOG_LEVELS.index(upper) - 1 if upper in LOG_LEVELS else LOG_INVALID


def _starts(cmd: str, prefix: str) -> bool:
    return cmd[: len(prefix)].lower() == prefix


def parse_command(session: EslSession, command: Command) -> bool:
    """Run one command and send its reply; False when the listener stops."""
    reply, running = _parse(session, command)
    if isinstance(reply, bytes):
        session.send(reply)
    elif reply is not None:
        session.reply(reply or "-ERR command not found")
    return running


def _parse(session: EslSession, command: Command) -> tuple[Reply, bool]:
    cmd = command.line
    if _starts(cmd, "exit") or cmd.startswith("..."):
        return "+OK bye", False
    if not session.authed:
        return _unauthed(session, cmd)
    if _starts(cmd, "filter "):
        return session.subs.filter_command(cmd[7:]), True
    bound = session.subs.session_uuid
    if bound is not None and _starts(cmd, "resume"):
        return "+OK", True
    if bound is not None or _starts(cmd, "myevents "):
        if bound is not None and _starts(cmd, "getvar"):
            name = cmd.partition(" ")[2] if " " in cmd else None
            value = session.sim.channel_var(bound, name) if name else None
            return value or "", True
        if _starts(cmd, "myevents"):
            return _myevents(session, cmd), True
    if _starts(cmd, "divert_events"):
        return _divert_events(session, cmd[13:]), True
    if _starts(cmd, "sendmsg"):
        return _sendmsg(session, cmd[7:], command), True
    for prefix, handler in _AUTHED:
        if _starts(cmd, prefix):
            return handler(session, cmd, command), True
    return "", True


def _unauthed(session: EslSession, cmd: str) -> tuple[Reply, bool]:
    if _starts(cmd, "auth "):
        if cmd[5:] == session.sim.password:
            session.authed = True
            return "+OK accepted", True
        return "-ERR invalid", False
    if _starts(cmd, "userauth "):
        # No directory user of the simulator has an esl-password.
        return "-ERR invalid", False
    return "", True


def _myevents(session: EslSession, cmd: str) -> str:
    subs = session.subs
    if subs.myevents:
        return "-ERR aready enabled."  # sic
    target, sep, fmt = strip_cr(cmd[9:]).partition(" ")
    found = session.sim.channel_exists(target)
    if not found and sep:
        return "-ERR invalid uuid"
    subs.bind_myevents(target if found else None)
    # The format word was cut off above, so only the uuid itself can name a format.
    words = cmd[: 9 + len(target)]
    if "xml" in words or "XML" in words:
        subs.fmt = "xml"
    if "json" in words or "JSON" in words:
        subs.fmt = "json"
    return "+OK Events Enabled"


def _divert_events(session: EslSession, rest: str) -> str:
    if session.subs.session_uuid is None:
        return "-ERR not controlling a session."
    onoff = strip_cr(rest.lstrip(" "))
    if not onoff:
        return "-ERR missing value."
    return "+OK events diverted" if onoff.lower() == "on" else "+OK events not diverted"


def _sendmsg(session: EslSession, rest: str, command: Command) -> str:
    target: str | None = strip_cr(rest.lstrip(" "))
    if not target:
        target = command.header("session-id")
    bound = session.subs.session_uuid
    if target and target == bound:
        target = None
    if not target and bound is not None:
        session.sim.execute_sendmsg(bound, dict(command.headers), command.body)
        return "+OK"
    if target and session.sim.channel_exists(target):
        session.sim.execute_sendmsg(target, dict(command.headers), command.body)
        return "+OK"
    return f"-ERR invalid session id [{target or ''}]"


def _sendevent(session: EslSession, cmd: str, command: Command) -> Reply:
    event_uuid = str(uuidlib.uuid4())
    word = cmd[9:].lstrip(" \t")
    name = name_event(word) if word else None
    subclass = command.header("Event-Subclass") if name == "CUSTOM" else None
    session.sim.fire_sendevent(name or "CLONE", subclass, command, event_uuid)
    return f"+OK {event_uuid}"


def _api(session: EslSession, cmd: str, command: Command) -> Reply:
    api_cmd, sep, arg = cmd[4:].partition(" ")
    session.send(encode.api_frame(session.sim.api_output(api_cmd, arg if sep else None)))
    return None


def _bgapi(session: EslSession, cmd: str, command: Command) -> Reply:
    api_cmd, sep, arg = cmd[6:].partition(" ")
    # The uuid is copied into a 37-byte buffer: a longer client Job-UUID is cut to 36.
    job_uuid = (command.header("job-uuid") or str(uuidlib.uuid4()))[:36]
    session.sim.start_background_job(job_uuid, api_cmd, arg if sep else None)
    return encode.reply_frame(f"+OK Job-UUID: {job_uuid}", [("Job-UUID", job_uuid)])


def _log(session: EslSession, cmd: str, command: Command) -> Reply:
    word = cmd[3:].lstrip(" ").partition(" ")[0]
    level = log_level(word) if word else 7
    if level == LOG_INVALID:
        return "-ERR invalid log level"
    session.log_level = level
    return f"+OK log level {word} [{level}]"


def _linger(session: EslSession, cmd: str, command: Command) -> Reply:
    if session.subs.session_uuid is None:
        return "-ERR not controlling a session"
    if cmd[6:7] == " " and cmd[7:]:
        session.linger = atoi(cmd[7:])
        return f"+OK will linger {session.linger} seconds"
    session.linger = -1
    return "+OK will linger"


def _nolinger(session: EslSession, cmd: str, command: Command) -> Reply:
    if session.subs.session_uuid is None:
        return "-ERR not controlling a session"
    session.linger = None
    return "+OK will not linger"


def _nolog(session: EslSession, cmd: str, command: Command) -> Reply:
    session.flush_held(logs=True)
    if session.log_level is None:
        return "-ERR not loging"  # sic: FreeSWITCH's spelling
    session.log_level = None
    return "+OK no longer logging"


def _event(session: EslSession, cmd: str, command: Command) -> Reply:
    _, sep, rest = cmd[5:].partition(" ")
    return session.subs.event_command(rest.split(" ") if sep else [])


def _nixevent(session: EslSession, cmd: str, command: Command) -> Reply:
    _, sep, rest = cmd[8:].partition(" ")
    return session.subs.nixevent_command(rest.split(" ") if sep else [])


def _noevents(session: EslSession, cmd: str, command: Command) -> Reply:
    session.flush_held(events=True)
    return session.subs.noevents_command()


# In parse_command's order: "log" is tested before "linger", "nolog" after "nolinger".
_AUTHED = [
    ("sendevent", _sendevent),
    ("api ", _api),
    ("bgapi ", _bgapi),
    ("log", _log),
    ("linger", _linger),
    ("nolinger", _nolinger),
    ("nolog", _nolog),
    ("event", _event),
    ("nixevent", _nixevent),
    ("noevents", _noevents),
]
