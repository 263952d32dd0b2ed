"""The browser console's Socket.IO namespace (``/console``), engineers only.

The page sends ``run`` (a line), ``complete`` (the text left of the cursor) and gets the
answers as acknowledgements; ``/log <level>``, ``/nolog``, ``/event <names> [filter <header>
<value>]`` and ``/noevents`` open the page's own ESL connection
(:class:`ConsoleStream`) whose log lines and events arrive as ``log`` and ``event``
messages to that page only. Every line goes through the same :class:`ConsoleService` as
the REST endpoint and the terminal, and is audited with the user.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import request
from flask_socketio import SocketIO

from dashboard.api.console import console_service, esl_settings
from dashboard.auth import session_user
from dashboard.deps import Dependencies
from esl_controller.errors import CallCenterError
from esl_controller.esl.console_policy import check_line
from esl_controller.esl.events import Event
from esl_controller.services.console import ConsoleStream, LogLine, format_event

log = logging.getLogger(__name__)

NAMESPACE = "/console"
# What one page may hold of a single command's output (the page pages it with "more").
PAGE_OUTPUT_LIMIT = 1024 * 1024


def register_console(socketio: SocketIO, deps: Dependencies) -> None:
    users: dict[str, str] = {}
    streams: dict[str, ConsoleStream] = {}

    @socketio.on("connect", namespace=NAMESPACE)
    def on_connect(auth: Any = None) -> bool:
        user = session_user(deps.users)
        if user is None or not user.has_role("engineer"):
            return False  # not signed in, or not an engineer: connect_error
        users[request.sid] = user.username  # type: ignore[attr-defined]
        return True

    @socketio.on("disconnect", namespace=NAMESPACE)
    def on_disconnect(*_: Any) -> None:
        sid = request.sid  # type: ignore[attr-defined]
        users.pop(sid, None)
        stream = streams.pop(sid, None)
        if stream is not None:
            stream.close()

    def stream_for(sid: str) -> ConsoleStream:
        found = streams.get(sid)
        if found is not None:
            return found
        settings = esl_settings()
        if settings is None:
            raise CallCenterError("no ESL settings to open the console's own connection")

        def on_log(line: LogLine) -> None:
            socketio.emit("log", {"level": line.level, "text": line.text}, to=sid,
                          namespace=NAMESPACE)  # fmt: skip

        def on_event(event: Event) -> None:
            socketio.emit("event", {"name": event.name, "text": format_event(event)}, to=sid,
                          namespace=NAMESPACE)  # fmt: skip

        def on_lost(reason: str) -> None:
            socketio.emit("stream_lost", {"reason": reason}, to=sid, namespace=NAMESPACE)

        stream = ConsoleStream(settings.host, settings.port, settings.password, on_log=on_log,
                               on_event=on_event, on_lost=on_lost,
                               timeout=settings.connect_timeout)  # fmt: skip
        streams[sid] = stream
        return stream

    def slash(sid: str, user: str, text: str) -> dict[str, Any]:
        # The same one-line, printable-ASCII, no-expansion rules as FreeSWITCH commands.
        word, *rest = [w for w in check_line(text).split(" ") if w]
        word = word.lower()
        service = console_service()
        if word == "/log":
            reply = stream_for(sid).log(rest[0] if rest else "debug")
        elif word == "/nolog":
            reply = streams[sid].nolog() if sid in streams else "+OK no logs"
        elif word == "/event":
            reply = stream_for(sid).subscribe(rest)
        elif word == "/noevents":
            reply = streams[sid].noevents() if sid in streams else "+OK no events"
        else:
            return {"output": f"-ERR unknown console command {word[:40]} (/help)", "error": True}
        if service.audit is not None:
            service.audit(user, "console", None, {"command": text}, reply[:32] or "ok")
        return {"output": reply, "error": not reply.startswith("+OK")}

    @socketio.on("run", namespace=NAMESPACE)
    def on_run(data: Any = None) -> dict[str, Any]:
        sid = request.sid  # type: ignore[attr-defined]
        user = users.get(sid)
        if user is None:
            return {"output": "-ERR not signed in", "error": True}
        line = data.get("line") if isinstance(data, dict) else None
        if not isinstance(line, str):
            return {"output": "-ERR a line of text is expected", "error": True}
        try:
            if line.strip().startswith("/") and len(line) < 256:
                try:
                    return slash(sid, user, line.strip())
                except CallCenterError as exc:  # audited like a refused FreeSWITCH command
                    audit = console_service().audit
                    if audit is not None:
                        audit(user, "console", None, {"command": line, "reason": exc.message},
                              "refused")  # fmt: skip
                    raise
            result = console_service().run(user, line, limit=PAGE_OUTPUT_LIMIT)
        except CallCenterError as exc:
            return {"output": f"-ERR {exc.message}", "error": True, "code": exc.code}
        return {"output": result.output, "error": result.error, "truncated": result.truncated}

    @socketio.on("complete", namespace=NAMESPACE)
    def on_complete(data: Any = None) -> dict[str, Any]:
        if request.sid not in users:  # type: ignore[attr-defined]
            return {"matches": [], "replace": 0, "insert": ""}
        text = data.get("text") if isinstance(data, dict) else None
        if not isinstance(text, str):
            return {"matches": [], "replace": 0, "insert": ""}
        try:
            found = console_service().complete(text)
        except CallCenterError as exc:
            return {"matches": [], "replace": 0, "insert": "", "error": exc.message}
        return {"matches": found.matches, "replace": found.replace, "insert": found.insert}
