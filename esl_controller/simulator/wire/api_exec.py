"""Running API commands as ``switch_api_execute`` and mod_event_socket's ``api_exec`` do.

* The command word and its argument are whitespace-stripped, looked up case-insensitively,
  and every execution fires an ``API`` event (API-Command, API-Command-Argument) after
  the command ran, from ESL or not.
* ``api``: an unknown command answers ``-ERR <cmd> Command not found!\\n`` (with the word
  as typed), an empty output becomes ``-ERR no reply\\n``.
* ``bgapi``: the same output (an empty one stays empty) becomes the body of a
  BACKGROUND_JOB event with Job-UUID, Job-Command and, when the command had an
  argument, Job-Command-Arg as typed. On an inbound socket Job-Owner-UUID is empty, so
  FreeSWITCH drops it.
* ``sendevent``: the client's lines become the event, the standard block after them.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from esl_controller.simulator.sim_event import SimEvent
from esl_controller.simulator.wire.core_api import VERSION_SHORT, uptime_text
from esl_controller.simulator.wire.packet import Command

if TYPE_CHECKING:
    from esl_controller.simulator.wire.simulator import Simulator

log = logging.getLogger(__name__)


def run_api(sim: Simulator, cmd: str, arg: str | None) -> str | None:
    """The command's output, or None when there is no such command."""
    word = cmd.strip()
    args = arg.strip() if arg is not None else ""
    handler = sim.api.get(word) if word else None
    output: str | None = None
    if handler is not None:
        try:
            output = handler(args)
        except Exception:
            log.exception("simulated api %r %r failed", word, args)
            output = "COMMAND RETURNED ERROR!\n"
    headers = [("API-Command", word), ("API-Command-Argument", args)]
    calling = ("switch_loadable_module.c", "switch_api_execute", 2954)
    sim.fire(SimEvent("API", headers, calling=calling))
    return output


def api_output(sim: Simulator, cmd: str, arg: str | None) -> str:
    """What an ``api`` command's api/response carries."""
    output = run_api(sim, cmd, arg)
    if output is None:
        return f"-ERR {cmd} Command not found!\n"
    return output or "-ERR no reply\n"


def background_job(sim: Simulator, job_uuid: str, cmd: str, arg: str | None) -> None:
    output = run_api(sim, cmd, arg)
    if output is None:
        output = f"-ERR {cmd} Command not found!\n"
    headers = [("Job-UUID", job_uuid), ("Job-Command", cmd)]
    if arg:
        headers.append(("Job-Command-Arg", arg))
    sim.fire(
        SimEvent(
            "BACKGROUND_JOB", headers, calling=("mod_event_socket.c", "api_exec", 1572), body=output
        )
    )


def sendevent(
    sim: Simulator, name: str, subclass: str | None, command: Command, event_uuid: str
) -> None:
    headers = [("Command", command.line)]
    for key, value in command.headers:
        if not (subclass and key.lower() == "event-subclass"):
            headers.append((key, value))
    headers.append(("Event-UUID", event_uuid))
    if subclass:
        headers.append(("Event-Subclass", subclass))
    target = command.header("unique-id")
    if target and sim.channel_exists(target):
        # Queued to that channel (switch_core_session_queue_event), not fired.
        return
    sim.bus.deliver(sim.bus.stamp_clone(name, subclass, headers, command.body or None))


def heartbeat(sim: Simulator) -> SimEvent:
    up = sim.uptime()
    peak = str(sim.session_peak())
    return SimEvent(
        "HEARTBEAT",
        [
            ("Event-Info", "System Ready"),
            ("Up-Time", uptime_text(up)),
            ("FreeSWITCH-Version", VERSION_SHORT),
            ("Uptime-msec", str(int(up * 1000))),
            ("Session-Count", str(sim.session_count())),
            ("Max-Sessions", "1000"),
            ("Session-Per-Sec", "100"),
            ("Session-Per-Sec-Last", "0"),
            ("Session-Per-Sec-Max", "0"),
            ("Session-Per-Sec-FiveMin", "0"),
            ("Session-Since-Startup", str(sim.sessions_since_startup())),
            ("Session-Peak-Max", peak),
            ("Session-Peak-FiveMin", peak),
            ("Idle-CPU", "99.533333"),
        ],
        calling=("switch_core.c", "send_heartbeat", 95),
    )
