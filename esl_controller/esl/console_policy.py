"""What an engineer may send from the ESL console (browser or terminal), and how.

Safe by construction: a console line is never passed to FreeSWITCH as typed. It is parsed
into one of the typed command builders (:mod:`esl_controller.esl.commands`, the same ones
the services use, plus a few read-only ones here), and the builder's output is what is
sent. The allowlist is by command *and* sub-command; command words are compared
case-insensitively because FreeSWITCH's are (``SYSTEM`` runs ``system``), and so are the
sub-commands mod_callcenter and ``uuid_transfer`` compare with ``strcasecmp``.

Refused, each with its reason (:class:`ConsoleRefused`):

* anything that runs programs or scripts (``system``, ``bg_system``, ``spawn``, ``lua*``,
  ``js*``, ``perl*``, ``python*``), loads code (``load``/``unload``/``reload``), stops the
  switch (``fsctl``, ``shutdown``) or hangs up every call (``hupall``);
* ``json`` other than mod_callcenter's read-only queries: a real switch runs
  ``json {"command":"fsapi",...}``, which runs any API command, ``system`` included;
* ``${...}`` and ``$${...}`` anywhere (FreeSWITCH expands ``${system(...)}`` in arguments);
* dial-string variables in ``originate`` and in ``callcenter_config agent set contact``
  (``[api_on_answer=system ...]``, ``{execute_on_answer=...}``), the ``inline`` dialplan in
  either spelling, and ``uuid_setvar`` of a variable FreeSWITCH executes (``api_*``,
  ``execute_*``, hooks);
* anything but printable ASCII in one line: CR/LF would start a second ESL command, NUL
  ends a C string early, and Unicode look-alikes (``ｓｙｓｔｅｍ``) must not slip past
  a comparison.

A deployment may widen the list from configuration (``CONSOLE_ALLOW``: extra command words
whose arguments must be plain words), never from the page; the refused commands above
cannot be widened.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable

from esl_controller.errors import InvalidArgument
from esl_controller.esl.commands import callcenter as cc
from esl_controller.esl.commands import channels as ch
from esl_controller.esl.commands import originate as og
from esl_controller.esl.commands import validate as v
from esl_controller.esl.commands.base import ApiCommand, command

MAX_CONSOLE_LINE = 1024


class ConsoleRefused(InvalidArgument):
    """A console line the policy will not send; the message says why."""

    code = "console_refused"


# -- refused outright, with the reason shown to the engineer ----------------------------

_RUNS_PROGRAMS = "runs programs on the FreeSWITCH host"
_RUNS_SCRIPTS = "runs scripts inside FreeSWITCH"
REFUSED: dict[str, str] = {
    "system": _RUNS_PROGRAMS,
    "bg_system": _RUNS_PROGRAMS,
    "spawn": _RUNS_PROGRAMS,
    "bg_spawn": _RUNS_PROGRAMS,
    "spawn_stream": _RUNS_PROGRAMS,
    "load": "loads code into FreeSWITCH",
    "unload": "unloads modules (calls and the product depend on them)",
    "reload": "reloads modules (drops their state and calls)",
    "fsctl": "controls the switch itself (shutdown, pause, log levels, limits)",
    "shutdown": "stops FreeSWITCH",
    "hupall": "hangs up every call on the switch",
    "fsapi": "runs any API command (system included)",
    "bgapi": "runs any API command in the background",
    "expand": "expands ${...}, which can call any API",
    "eval": "expands ${...}, which can call any API",
    "sched_api": "schedules any API command",
    "sched_transfer": "schedules a transfer to any dialplan",
    "sched_broadcast": "schedules an application on a channel",
    "uuid_broadcast": "runs an application on a channel",
    "uuid_record": "writes files on the FreeSWITCH host",
    "db": "writes FreeSWITCH's internal database",
    "hash": "writes FreeSWITCH's internal hash tables",
    "global_setvar": "changes global variables every call reads",
    "xml_locate": "reads any configuration (passwords included)",
    "user_data": "reads directory users' secrets",
}
REFUSED_PREFIXES: tuple[tuple[str, str], ...] = (
    ("lua", _RUNS_SCRIPTS),
    ("js", _RUNS_SCRIPTS),
    ("perl", _RUNS_SCRIPTS),
    ("python", _RUNS_SCRIPTS),
    ("py", _RUNS_SCRIPTS),
    ("v8", _RUNS_SCRIPTS),
    ("java", _RUNS_SCRIPTS),
    ("mono", _RUNS_SCRIPTS),
    ("managed", _RUNS_SCRIPTS),
)
# Channel variables FreeSWITCH executes or calls back with: refused in uuid_setvar.
_EXECUTED_VAR = re.compile(
    r"^(api_|execute_|exec_)|_on_|hook|after_bridge|_app$|_app_|pre_execute|post_execute"
    r"|^(transfer|park)_after|^bridge_pre|^origination_|^socket_|^luarun|^fire_",
    re.IGNORECASE,
)
_ARG_WORD = re.compile(r"^[A-Za-z0-9_.@:/+\-]+$")
_COMPLETE_TEXT = re.compile(r"^[A-Za-z0-9_ @.:/=;+\-]*$")

LOG_LEVELS = ("console", "alert", "crit", "err", "warning", "notice", "info", "debug")
SHOW_TOPICS = (
    "channels", "calls", "bridged_calls", "detailed_calls", "detailed_bridged_calls",
    "registrations", "interfaces", "api", "application", "codec", "endpoint", "file",
    "timer", "modules", "aliases", "complete", "nat_map", "tasks", "status", "say",
    "management", "limits",
)  # fmt: skip
SOFIA_VIEWS = ("status", "xmlstatus")
UUID_COMMANDS = (
    "uuid_answer", "uuid_break", "uuid_bridge", "uuid_dump", "uuid_exists", "uuid_getvar",
    "uuid_hold", "uuid_kill", "uuid_send_dtmf", "uuid_setvar", "uuid_transfer",
)  # fmt: skip
# The simulator's fault and traffic controls (esl_controller/simulator): FreeSWITCH has no
# such commands, so they are offered only against the simulator.
SIMULATOR_COMMANDS = ("sim_restart", "sim_drop_esl", "sim_phone", "sim_phones", "sim_caller",
                      "sim_traffic", "sim_agents")  # fmt: skip


def refuse(reason: str) -> ConsoleRefused:
    return ConsoleRefused(f"refused: {reason}")


def refusal_for(word: str) -> str | None:
    """Why ``word`` (lower case) is never sent from the console, or None."""
    if word in REFUSED:
        return f"{word} is not allowed from the console: it {REFUSED[word]}"
    for prefix, reason in REFUSED_PREFIXES:
        if word.startswith(prefix):
            return f"{word} is not allowed from the console: it {reason}"
    return None


# -- the line ---------------------------------------------------------------------------


def check_line(line: object) -> str:
    """The checks every line gets before it is parsed; returns it without outer spaces."""
    if not isinstance(line, str):
        raise refuse("a console command is text")
    if len(line) > MAX_CONSOLE_LINE:
        raise refuse(f"command longer than {MAX_CONSOLE_LINE} characters")
    if any(c in line for c in "\r\n"):
        raise refuse("a console command is one line (CR/LF would start a second ESL command)")
    if "\x00" in line:
        raise refuse("NUL in a command")
    if not line.isascii():
        raise refuse("only ASCII characters (non-ASCII look-alikes are not FreeSWITCH's commands)")
    if any(not (" " <= c <= "~") for c in line):
        raise refuse("control characters (tabs, escapes) in a command")
    if "${" in line or "$${" in line:
        raise refuse("variable expansion (${...}, $${...}) can call any API")
    text = line.strip(" ")
    if not text:
        raise InvalidArgument("empty command", code="console_refused")
    return text


def split_words(text: str, *, quotes: bool = False) -> list[str]:
    """Words split on spaces; with ``quotes``, 'single quoted' words keep their spaces
    (mod_callcenter's rule)."""
    if not quotes:
        return text.split()
    words: list[str] = []
    for match in re.finditer(r"'([^']*)'|(\S+)", text):
        quoted, plain = match.group(1), match.group(2)
        if plain is not None and "'" in plain:
            raise refuse("a quote inside a word")
        words.append(quoted if quoted is not None else str(plain))
    return words


def _need(words: list[str], count: int, usage: str) -> None:
    if len(words) < count:
        raise InvalidArgument(f"usage: {usage}")


def _at_most(words: list[str], count: int, usage: str) -> None:
    if len(words) > count:
        raise InvalidArgument(f"too many arguments; usage: {usage}")


# -- per-command parsers: words after the command word -> a typed command ---------------


def _no_args(name: str) -> Callable[[list[str]], ApiCommand]:
    def parse(words: list[str]) -> ApiCommand:
        _at_most(words, 0, name)
        return command(name)

    return parse


def _show(words: list[str]) -> ApiCommand:
    usage = "show <what> [as json|as xml|count]"
    _need(words, 1, usage)
    what = words[0].lower()
    if what not in SHOW_TOPICS:
        raise InvalidArgument(f"show takes: {', '.join(SHOW_TOPICS)}")
    rest = [w.lower() for w in words[1:]]
    if rest not in ([], ["as", "json"], ["as", "xml"], ["count"]):
        raise InvalidArgument(f"usage: {usage}")
    return command("show", what, *rest)


def _sofia(words: list[str]) -> ApiCommand:
    usage = "sofia status|xmlstatus [profile|gateway <name> [reg [<filter>]]]"
    _need(words, 1, usage)
    view = words[0].lower()
    if view not in SOFIA_VIEWS:
        raise refuse("only sofia's read-only views (status, xmlstatus): profile restarts and "
                     "flushes drop calls")  # fmt: skip
    _at_most(words, 5, usage)
    parts = [view]
    if len(words) >= 2:
        kind = words[1].lower()
        if kind not in ("profile", "gateway"):
            raise InvalidArgument(f"usage: {usage}")
        parts.append(kind)
        if len(words) >= 3:
            parts.append(v.token(kind, words[2]))
        if len(words) >= 4:
            if words[3].lower() != "reg":
                raise InvalidArgument(f"usage: {usage}")
            parts.append("reg")
        if len(words) == 5:
            parts.append(v.token("filter", words[4]))
    return command("sofia", *parts)


def _sofia_contact(words: list[str]) -> ApiCommand:
    _need(words, 1, "sofia_contact [profile/]user@domain")
    _at_most(words, 1, "sofia_contact [profile/]user@domain")
    target = words[0]
    profile, _, user_at = target.rpartition("/")
    user, at, domain = user_at.partition("@")
    if not at:
        raise InvalidArgument("sofia_contact takes user@domain")
    return ch.sofia_contact(user, domain, profile or None)


_SECRET_NAME = re.compile(r"pass|secret|key|token|cert|pem|auth", re.IGNORECASE)


def _global_getvar(words: list[str]) -> ApiCommand:
    # Without a name FreeSWITCH lists every global, vars.xml's default_password included.
    _need(words, 1, "global_getvar <name>")
    _at_most(words, 1, "global_getvar <name>")
    if _SECRET_NAME.search(words[0]):
        raise refuse(f"global_getvar {words[0]}: secrets stay on the switch")
    return ch.global_getvar(words[0])


def _json(text: str) -> ApiCommand:
    try:
        request = json.loads(text)
    except ValueError:
        raise InvalidArgument("json: not valid JSON") from None
    if not isinstance(request, dict):
        raise InvalidArgument("json: an object is expected")
    name = request.get("command")
    if name != cc.CC:
        raise refuse(f"json {name!r}: only mod_callcenter's read-only queries "
                     '(json {"command":"callcenter_config",...}); json fsapi runs any API '
                     "command, system included")  # fmt: skip
    data = request.get("data")
    if set(request) - {"command", "data"} or not isinstance(data, dict):
        raise InvalidArgument('json callcenter_config takes {"command", "data"}')
    if set(data) - {"arguments", "queue_name"}:
        raise InvalidArgument("json callcenter_config data takes arguments and queue_name")
    arguments = data.get("arguments")
    if not isinstance(arguments, str):
        raise InvalidArgument("json callcenter_config needs data.arguments")
    queue = data.get("queue_name")
    if queue is not None and not isinstance(queue, str):
        raise InvalidArgument("queue_name must be text")
    return cc.json_query(arguments, queue)


def _callcenter(words: list[str]) -> ApiCommand:
    usage = "callcenter_config agent|tier|queue ... (callcenter_config help)"
    _need(words, 2, usage)
    section, action, rest = words[0].lower(), words[1].lower(), words[2:]
    if section == "agent":
        return _cc_agent(action, rest)
    if section == "tier":
        return _cc_tier(action, rest)
    if section == "queue":
        return _cc_queue(action, rest)
    raise InvalidArgument(f"usage: {usage}")


def _joined(rest: list[str], start: int) -> str:
    return " ".join(rest[start:])


def _cc_agent(action: str, rest: list[str]) -> ApiCommand:
    if action == "add":
        _need(rest, 1, "callcenter_config agent add <name> [Callback|uuid-standby]")
        _at_most(rest, 2, "callcenter_config agent add <name> [Callback|uuid-standby]")
        return cc.agent_add(rest[0], *(rest[1:]))
    if action == "del":
        _need(rest, 1, "callcenter_config agent del <name>")
        _at_most(rest, 1, "callcenter_config agent del <name>")
        return cc.agent_del(rest[0])
    if action == "list":
        _at_most(rest, 1, "callcenter_config agent list [name]")
        return cc.agent_list(rest[0] if rest else None)
    if action == "get":
        _need(rest, 2, "callcenter_config agent get status|state|uuid <name>")
        _at_most(rest, 2, "callcenter_config agent get status|state|uuid <name>")
        return cc.agent_get(rest[0].lower(), rest[1])
    if action == "set":
        usage = "callcenter_config agent set <key> <name> <value>"
        _need(rest, 3, usage)
        key, agent = rest[0].lower(), rest[1]
        if key == "status":
            return cc.agent_set_status(agent, _joined(rest, 2))
        if key in ("state", "state_if_waiting"):
            return cc.agent_set_state(agent, _joined(rest, 2),
                                      only_if_waiting=key == "state_if_waiting")  # fmt: skip
        _at_most(rest, 3, usage)
        if key == "contact":
            return cc.agent_set_contact(agent, _contact(rest[2]))
        if key == "type":
            return cc.agent_set_type(agent, rest[2])
        if key == "uuid":
            return cc.agent_set_uuid(agent, rest[2])
        return cc.agent_set_number(agent, key, rest[2])  # type: ignore[arg-type]
    raise InvalidArgument("callcenter_config agent takes add, del, set, get, list")


def _contact(value: str) -> str:
    if any(c in value for c in "{}[]<>"):
        raise refuse("variables in an agent contact ({...}, [...], <...>): mod_callcenter "
                     "dials it, and api_on_answer=system ... would run a program")  # fmt: skip
    return og.endpoint(value)


def _cc_tier(action: str, rest: list[str]) -> ApiCommand:
    if action == "add":
        usage = "callcenter_config tier add <queue> <agent> [level [position]]"
        _need(rest, 2, usage)
        _at_most(rest, 4, usage)
        level = rest[2] if len(rest) > 2 else 1
        position = rest[3] if len(rest) > 3 else 1
        return cc.tier_add(rest[0], rest[1], level, position)  # type: ignore[arg-type]
    if action == "set":
        usage = "callcenter_config tier set state|level|position <queue> <agent> <value>"
        _need(rest, 4, usage)
        return cc.tier_set(rest[0].lower(), rest[1], rest[2], _joined(rest, 3))
    if action == "del":
        _need(rest, 2, "callcenter_config tier del <queue> <agent>")
        _at_most(rest, 2, "callcenter_config tier del <queue> <agent>")
        return cc.tier_del(rest[0], rest[1])
    if action == "list":
        _at_most(rest, 0, "callcenter_config tier list")
        return cc.tier_list()
    raise InvalidArgument("callcenter_config tier takes add, set, del, list")


def _cc_queue(action: str, rest: list[str]) -> ApiCommand:
    if action in ("load", "unload", "reload"):
        _need(rest, 1, f"callcenter_config queue {action} <queue>")
        _at_most(rest, 1, f"callcenter_config queue {action} <queue>")
        return cc.queue_action(action, rest[0])
    if action in ("list", "count"):
        usage = f"callcenter_config queue {action} [agents|members|tiers <queue>]"
        _at_most(rest, 2, usage)
        build = cc.queue_list if action == "list" else cc.queue_count
        if not rest:
            return build()
        _need(rest, 2, usage)
        return build(rest[0].lower(), rest[1])
    raise InvalidArgument("callcenter_config queue takes load, unload, reload, list, count")


def _uuid(name: str, words: list[str]) -> ApiCommand:
    if name == "uuid_hold":
        mode = "on"
        if words and words[0].lower() in ("off", "toggle"):
            mode, words = words[0].lower(), words[1:]
        _need(words, 1, "uuid_hold [off|toggle] <uuid>")
        _at_most(words, 1, "uuid_hold [off|toggle] <uuid>")
        return ch.uuid_hold(words[0], mode)
    _need(words, 1, f"{name} <uuid> ...")
    channel, rest = words[0], words[1:]
    if name == "uuid_transfer":
        return _uuid_transfer(channel, rest)
    if name == "uuid_setvar":
        usage = "uuid_setvar <uuid> <variable> [value]"
        _need(rest, 1, usage)
        _at_most(rest, 2, usage)
        if _EXECUTED_VAR.search(rest[0]):
            raise refuse(f"uuid_setvar {rest[0]}: FreeSWITCH executes or calls back with "
                         "this variable (api_*, execute_*, hooks, *_on_*)")  # fmt: skip
        return ch.uuid_setvar(channel, rest[0], rest[1] if len(rest) > 1 else None)
    simple: dict[str, tuple[int, Callable[..., ApiCommand]]] = {
        "uuid_answer": (0, ch.uuid_answer),
        "uuid_exists": (0, ch.uuid_exists),
        "uuid_bridge": (1, ch.uuid_bridge),
        "uuid_getvar": (1, ch.uuid_getvar),
        "uuid_send_dtmf": (1, ch.uuid_send_dtmf),
    }
    if name in simple:
        count, build = simple[name]
        _need(rest, count, f"{name} <uuid>" + " <value>" * count)
        _at_most(rest, count, f"{name} <uuid>" + " <value>" * count)
        return build(channel, *rest)
    if name == "uuid_kill":
        _at_most(rest, 1, "uuid_kill <uuid> [cause]")
        return ch.uuid_kill(channel, rest[0] if rest else None)
    if name == "uuid_break":
        _at_most(rest, 1, "uuid_break <uuid> [all]")
        if rest and rest[0].lower() != "all":
            raise InvalidArgument("usage: uuid_break <uuid> [all]")
        return ch.uuid_break(channel, bool(rest))
    if name == "uuid_dump":
        _at_most(rest, 1, "uuid_dump <uuid> [txt|plain|json|xml]")
        return ch.uuid_dump(channel, rest[0].lower() if rest else "txt")
    raise InvalidArgument(f"{name} is not allowed from the console")


def _dialplan(word: str) -> str:
    # FreeSWITCH finds dialplan interfaces case-insensitively: "INLINE" is "inline", whose
    # "extension" is a list of applications (system:..., lua:...).
    if word.lower() == "inline":
        raise refuse("the inline dialplan runs applications named in the command")
    if word.lower() != "xml":
        raise InvalidArgument("dialplan must be XML")
    return "XML"


def _uuid_transfer(channel: str, rest: list[str]) -> ApiCommand:
    usage = "uuid_transfer <uuid> [-bleg|-both] <destination> [XML [context]]"
    leg = None
    if rest and rest[0].lower() in ("-bleg", "-both"):
        leg, rest = rest[0].lower()[1:], rest[1:]
    _need(rest, 1, usage)
    _at_most(rest, 3, usage)
    dialplan = _dialplan(rest[1]) if len(rest) > 1 else "XML"
    context = rest[2] if len(rest) > 2 else "default"
    return ch.uuid_transfer(channel, rest[0], leg=leg, dialplan=dialplan, context=context)


def _originate(words: list[str]) -> ApiCommand:
    usage = "originate <endpoint> &park()|&echo()|<extension> [XML [context]]"
    if any(c in " ".join(words) for c in "{}[]<>"):
        raise refuse("dial-string variables from the console ({...}, [...]): "
                     "api_on_*, execute_on_* and similar run commands")  # fmt: skip
    _need(words, 2, usage)
    _at_most(words, 4, usage)
    dial = og.endpoint(words[0])
    target = words[1]
    if target.startswith("&"):
        _at_most(words, 2, usage)
        apps = {"&park()": og.app_park(), "&echo()": og.app_echo()}
        if target.lower() not in apps:
            raise refuse("originate runs only &park() or &echo() from the console")
        return og.originate(dial, apps[target.lower()])
    dialplan = _dialplan(words[2]) if len(words) > 2 else "XML"
    context = words[3] if len(words) > 3 else "default"
    return og.originate(dial, extension=target, dialplan=dialplan, context=context)


def complete_command(text: str) -> ApiCommand:
    """``console_complete`` for the text left of the cursor, as fs_cli sends it
    (``c=<cursor>;<line>``, so a trailing space, which means "next word", survives)."""
    if len(text) > 512 or not _COMPLETE_TEXT.match(text):
        raise InvalidArgument("completion text has characters no command uses")
    return ApiCommand("console_complete", f"console_complete c={len(text)};{text}")


def _plain_words(name: str, words: list[str]) -> ApiCommand:
    """A command widened by configuration or a simulator control: plain words only."""
    for word in words:
        if not _ARG_WORD.match(word):
            raise InvalidArgument(f"{name}: arguments must be plain words")
    return command(name, *words)


PARSERS: dict[str, Callable[[list[str]], ApiCommand]] = {
    "status": _no_args("status"),
    "version": _no_args("version"),
    "uptime": _no_args("uptime"),
    "hostname": _no_args("hostname"),
    "create_uuid": _no_args("create_uuid"),
    "reloadxml": _no_args("reloadxml"),
    "help": _no_args("help"),
    "show": _show,
    "sofia": _sofia,
    "sofia_contact": _sofia_contact,
    "global_getvar": _global_getvar,
    "callcenter_config": _callcenter,
    "originate": _originate,
}
ALLOWED_COMMANDS: frozenset[str] = frozenset([*PARSERS, *UUID_COMMANDS, "json", "console_complete"])


class ConsolePolicy:
    """Parses console lines into typed commands. ``extra`` widens the allowlist with
    command words from configuration (never the refused ones); ``simulator`` offers the
    simulator's ``sim_`` controls."""

    def __init__(self, extra: Iterable[str] = (), *, simulator: bool = False) -> None:
        words = {w.strip().lower() for w in extra if w.strip()}
        for word in words:
            if refusal_for(word) is not None or not re.match(r"^[a-z0-9_]+$", word):
                raise ValueError(f"CONSOLE_ALLOW cannot allow {word!r}")
        self.extra = frozenset(words - ALLOWED_COMMANDS)
        self.simulator = simulator

    def parse(self, line: object) -> ApiCommand:
        """The typed command for one console line, or :class:`ConsoleRefused` saying
        why it is not sent (a builder's own reason when an argument is invalid)."""
        try:
            return self._parse(line)
        except ConsoleRefused:
            raise
        except InvalidArgument as exc:
            raise ConsoleRefused(exc.message) from None

    def _parse(self, line: object) -> ApiCommand:
        text = check_line(line)
        word, _, rest = text.partition(" ")
        name = word.lower()
        if name == "json":  # before the prefixes: "json" is not a JavaScript runner
            if not rest.strip():
                raise InvalidArgument("usage: json {...}")
            return _json(rest.strip())
        reason = refusal_for(name)
        if reason is not None:
            raise refuse(reason)
        if name == "console_complete":
            return complete_command(rest)
        words = split_words(rest, quotes=name == "callcenter_config")
        if name in PARSERS:
            return PARSERS[name](words)
        if name in UUID_COMMANDS:
            return _uuid(name, words)
        if self.simulator and name in SIMULATOR_COMMANDS:
            return _plain_words(name, words)
        if name in self.extra:
            return _plain_words(name, words)
        raise refuse(f"{word!r} is not allowed from the console (not on its allowlist)")

    def commands(self) -> list[str]:
        """Command words this policy accepts (for help and completion)."""
        names = set(ALLOWED_COMMANDS) | self.extra
        if self.simulator:
            names |= set(SIMULATOR_COMMANDS)
        return sorted(names)


DEFAULT_POLICY = ConsolePolicy()


def console_command(line: str) -> str:
    """Validate one console line; return the command text to send after ``api ``
    (kept for callers of the first version: :meth:`ConsolePolicy.parse` returns the typed
    command)."""
    return DEFAULT_POLICY.parse(line).line
