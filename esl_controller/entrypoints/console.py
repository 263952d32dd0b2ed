"""``callcenter console``: a terminal ESL console in the spirit of fs_cli.

The same policy and audit as the browser console (:mod:`esl_controller.services.console`):
every line is parsed into a typed command or refused with the reason, and written to the
audit log with the user (``--user NAME``, an engineer of the product signed in with a
password; else ``CALLCENTER_USER``, else ``unix:<login>``) when the database (``DB_URI``)
is reachable. Readline editing, a history file (``~/.callcenter_history``,
or ``CALLCENTER_HISTORY``), Tab completion from FreeSWITCH's ``console_complete``,
``/log <level>``, ``/nolog``, ``/event <names> [filter <header> <value>]``, ``/noevents``,
colours on a terminal, ``-x CMD`` (exit status 1 on ``-ERR`` or a refusal); ``/exit``,
``/quit``, ``...`` or Ctrl-D leave.

Without ``ESL_PORT``, a console started next to ``callcenter serve --simulate`` (whose
simulator listens on a random port it writes to ``instance/simulator.port``) connects to
that simulator, and there the simulator's own ``sim_`` commands are allowed as well, e.g.
``callcenter console -x "sim_restart 3"`` restarts the simulated FreeSWITCH.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import getpass
import os
import pathlib
import sys
from typing import Any

import gevent

from esl_controller.config import load_settings
from esl_controller.errors import CallCenterError
from esl_controller.esl.commands.base import ApiCommand
from esl_controller.esl.connection import EslConnection
from esl_controller.esl.console_policy import ConsolePolicy, check_line
from esl_controller.esl.events import Event
from esl_controller.services.console import (
    ConsoleService,
    LogLine,
    database_audit,
    event_request,
    format_event,
    log_level,
)

SIMULATOR_PORT_FILE = pathlib.Path("instance") / "simulator.port"
PROMPT = "freeswitch> "
# fs_cli's colours by log level (0 console ... 7 debug).
LEVEL_COLOURS = ("0", "31", "31", "31", "35", "36", "32", "33")
HELP = """console commands:
  /log <level>        stream FreeSWITCH's log (console alert crit err warning notice info debug)
  /nolog              stop the log
  /event <names> [filter <header> <value>]   tail events, e.g. /event CUSTOM callcenter::info
  /noevents           stop the events
  /exit, /quit, ...   leave (Ctrl-D too)
FreeSWITCH commands are checked against the console's allowlist; Tab completes."""


def simulator_port() -> int | None:
    """The port ``serve --simulate`` published, when ESL_PORT does not say otherwise."""
    if os.environ.get("ESL_PORT") or not SIMULATOR_PORT_FILE.is_file():
        return None
    text = SIMULATOR_PORT_FILE.read_text().strip()
    return int(text) if text.isascii() and text.isdigit() and 0 < int(text) < 65536 else None


def console_user() -> str:
    name = os.environ.get("CALLCENTER_USER", "").strip()
    if name:
        return name[:64]
    try:
        return f"unix:{getpass.getuser()}"[:64]
    except Exception:  # no login name (a container without /etc/passwd entry)
        return "unix:unknown"


def history_path() -> pathlib.Path:
    chosen = os.environ.get("CALLCENTER_HISTORY")
    return pathlib.Path(chosen) if chosen else pathlib.Path.home() / ".callcenter_history"


def allowed_extra() -> list[str]:
    """CONSOLE_ALLOW: extra command words a deployment allows (plain-word arguments)."""
    return [w for w in os.environ.get("CONSOLE_ALLOW", "").replace(",", " ").split() if w]


class Screen:
    """Writes output, logs and events; colours only on a terminal."""

    def __init__(self, colour: bool) -> None:
        self.colour = colour
        self.prompting = False

    def paint(self, text: str, code: str) -> str:
        return f"\033[{code}m{text}\033[0m" if self.colour and code != "0" else text

    def out(self, text: str, *, error: bool = False) -> None:
        stream = sys.stderr if error else sys.stdout
        if error:
            text = self.paint(text, "31")
        elif text.startswith("+OK"):
            text = self.paint(text, "32")
        stream.write(text if text.endswith("\n") else text + "\n")
        stream.flush()

    def async_out(self, text: str) -> None:
        """A log line or event arriving while the user may be typing: print it above
        the prompt, then show the prompt and what was typed again."""
        if self.prompting:
            buffer = ""
            try:
                import readline

                buffer = readline.get_line_buffer()
            except ImportError:
                pass
            sys.stdout.write("\r\033[K" if self.colour else "\n")
            sys.stdout.write(text if text.endswith("\n") else text + "\n")
            sys.stdout.write(PROMPT + buffer)
        else:
            sys.stdout.write(text if text.endswith("\n") else text + "\n")
        sys.stdout.flush()

    def on_log(self, line: LogLine) -> None:
        self.async_out(self.paint(line.text.rstrip("\n"), LEVEL_COLOURS[line.level % 8]))

    def on_event(self, event: Event) -> None:
        self.async_out(self.paint("RECV EVENT", "36") + "\n" + format_event(event))


def blocking_complete(host: str, port: int, password: str, command: ApiCommand) -> str:
    """One ``api`` on a short plain-socket ESL connection, for Tab in the input thread
    (gevent's sockets belong to the main thread's hub)."""
    from gevent import monkey

    from esl_controller.esl.frames import FrameDecoder

    sock_type: Any = monkey.get_original("socket", "socket")
    family: Any = monkey.get_original("socket", "AF_INET")
    with sock_type(family) as sock:
        sock.settimeout(3)
        sock.connect((host, port))
        decoder = FrameDecoder()

        def frame() -> Any:
            while True:
                frames = decoder.feed(sock.recv(65536) or b"")
                if frames:
                    return frames[0]

        frame()  # auth/request
        sock.sendall(f"auth {password}\n\n".encode())
        frame()
        sock.sendall(f"api {command.line}\n\n".encode())
        return str(frame().text)


def install_readline(service_complete: Any, path: pathlib.Path) -> Any:
    try:
        import readline
    except ImportError:  # pragma: no cover - Python without readline
        return None
    with contextlib.suppress(OSError):
        readline.read_history_file(path)
    readline.set_history_length(1000)
    readline.set_completer_delims(" ")
    readline.parse_and_bind("tab: complete")
    matches: list[str] = []

    def completer(text: str, state: int) -> str | None:
        if state == 0:
            matches.clear()
            left = readline.get_line_buffer()[: readline.get_endidx()]
            try:
                found = service_complete(left)
            except Exception:
                return None
            if found.insert and len(found.matches) <= 1:
                matches.append(text[: len(text) - found.replace] + found.insert)
            else:
                matches.extend(m for m in found.matches if m.startswith(text))
        return matches[state] if state < len(matches) else None

    readline.set_completer(completer)
    return readline


def run_console(args: argparse.Namespace) -> int:
    settings = load_settings().esl
    port = simulator_port()
    if port is not None:
        settings = dataclasses.replace(settings, host="127.0.0.1", port=port)
    screen = Screen(colour=sys.stdout.isatty() and not os.environ.get("NO_COLOR"))
    conn = EslConnection(
        settings.host, settings.port, settings.password,
        connect_timeout=settings.connect_timeout, command_timeout=settings.command_timeout,
        name="console", on_log=lambda f: screen.on_log(_log_line(f)), on_event=screen.on_event,
    )  # fmt: skip
    try:
        conn.connect()
    except CallCenterError as exc:
        print(f"cannot connect: {exc.message}", file=sys.stderr)
        if port is not None:
            print(f"(port {port} from {SIMULATOR_PORT_FILE}: is `callcenter serve --simulate` "
                  "running? set ESL_PORT to choose another)", file=sys.stderr)  # fmt: skip
        return 1
    simulator = port is not None
    try:
        policy = ConsolePolicy(allowed_extra(), simulator=simulator)
    except ValueError as exc:
        print(f"CONSOLE_ALLOW: {exc}", file=sys.stderr)
        return 1

    def api(command: ApiCommand) -> str:
        # originate waits for the answer: give it FreeSWITCH's own 60 s.
        timeout = 70.0 if command.name == "originate" else None
        return conn.send(f"api {command.line}", timeout=timeout).text

    service = ConsoleService(api, audit=_audit(), policy=policy)
    user = console_user()
    if getattr(args, "user", None):
        signed = sign_in(args.user)
        if signed is None:
            return 1
        user = signed
    try:
        if args.execute is not None:
            return run_line(service, screen, conn, user, args.execute)
        return interactive(service, screen, conn, user, settings, simulator)
    finally:
        conn.stop()


def sign_in(name: str) -> str | None:
    """``--user``: the product's own user, who must be an engineer (the audit log then
    names them rather than the Unix login)."""
    from sqlalchemy.orm import sessionmaker

    from esl_controller.services.users import UserService
    from esl_controller.store.engine import database_url, make_engine

    password = os.environ.get("CALLCENTER_PASSWORD") or getpass.getpass(f"password for {name}: ")
    try:
        found = UserService(sessionmaker(make_engine(database_url()))).authenticate(name, password)
    except Exception as exc:
        print(f"cannot check the user: {type(exc).__name__}: {exc}", file=sys.stderr)
        return None
    if found is None:
        print("wrong user name or password", file=sys.stderr)
        return None
    if not found.has_role("engineer"):
        print(f"{name} is not an engineer: the ESL console is for engineers", file=sys.stderr)
        return None
    return found.username


def _log_line(frame: Any) -> LogLine:
    from esl_controller.services.console import log_line

    return log_line(frame)


def _audit() -> Any:
    """Audit entries go to the product's database when it can be opened."""
    try:
        from sqlalchemy.orm import sessionmaker

        from esl_controller.store.engine import database_url, make_engine

        return database_audit(sessionmaker(make_engine(database_url())))
    except Exception:
        return None


def run_line(
    service: ConsoleService, screen: Screen, conn: EslConnection, user: str, line: str
) -> int:
    """One line: a console command (``/log``...) or a FreeSWITCH command; 1 on failure."""
    text = line.strip()
    try:
        if text.startswith("/"):
            try:
                return slash_command(service, screen, conn, user, text)
            except CallCenterError as exc:  # audited like a refused FreeSWITCH command
                if service.audit is not None:
                    service.audit(user, "console", None, {"command": line, "reason": exc.message},
                                  "refused")  # fmt: skip
                raise
        result = service.run(user, line)
    except CallCenterError as exc:
        screen.out(f"-ERR {exc.message}", error=True)
        return 1
    screen.out(result.output, error=False)
    return 1 if result.error else 0


def slash_command(
    service: ConsoleService, screen: Screen, conn: EslConnection, user: str, text: str
) -> int:
    # The same one-line, printable-ASCII, no-expansion rules as FreeSWITCH commands.
    word, *rest = [w for w in check_line(text).split(" ") if w]
    word = word.lower()
    if word == "/help":
        screen.out(HELP)
        return 0
    if word == "/log":
        level = log_level(rest[0] if rest else "debug")
        reply = conn.send(f"log {level}").headers.get("Reply-Text", "")
    elif word == "/nolog":
        reply = conn.send("nolog").headers.get("Reply-Text", "")
    elif word == "/event":
        names, filt = event_request(rest)
        reply = conn.send("event plain " + " ".join(names)).headers.get("Reply-Text", "")
        if filt is not None:
            conn.send(f"filter {filt[0]} {filt[1]}")
    elif word == "/noevents":
        reply = conn.send("noevents").headers.get("Reply-Text", "")
    else:
        screen.out(f"-ERR unknown console command {word} (/help)", error=True)
        return 1
    if service.audit is not None:
        service.audit(user, "console", None, {"command": text}, "ok")
    screen.out(reply)
    return 0 if reply.startswith("+OK") else 1


def interactive(service: ConsoleService, screen: Screen, conn: EslConnection, user: str,
                settings: Any, simulator: bool) -> int:  # fmt: skip
    where = " (the simulator of `serve --simulate`)" if simulator else ""
    print(f"connected to {settings.host}:{settings.port}{where} as {user}; /help, /exit to leave")
    path = history_path()

    def complete(text: str) -> Any:
        from esl_controller.esl.console_policy import complete_command
        from esl_controller.services.console import Completion, parse_completion

        if text.lstrip().startswith("/"):
            words = ["/log", "/nolog", "/event", "/noevents", "/help", "/exit"]
            return Completion([w for w in words if w.startswith(text.strip())])
        reply = blocking_complete(settings.host, settings.port, settings.password,
                                  complete_command(text))  # fmt: skip
        return parse_completion(reply)

    readline = install_readline(complete, path)
    pool = gevent.get_hub().threadpool
    try:
        while True:
            screen.prompting = True
            try:
                # input() in a thread: the hub keeps printing /log and /event meanwhile.
                line = pool.spawn(input, PROMPT).get()
            except EOFError:
                print()
                break
            except KeyboardInterrupt:
                print()
                continue
            finally:
                screen.prompting = False
            if line.strip().lower() in ("/exit", "/quit", "/bye", "..."):
                break
            if line.strip():
                run_line(service, screen, conn, user, line)
            if conn.lost.is_set():
                print(f"FreeSWITCH closed the connection: {conn.lost_reason}", file=sys.stderr)
                return 1
    finally:
        if readline is not None:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                readline.write_history_file(path)
            except OSError as exc:
                print(f"history not saved: {exc}", file=sys.stderr)
    return 0
