"""FreeSWITCH core API commands of the simulator (mod_commands and friends).

Output texts are FreeSWITCH 1.10.12's, newline quirks included (README quirk 5):
``create_uuid`` and ``global_getvar`` have no trailing newline, ``show ... as json``
prints ``{"row_count": 0}`` (with a space) plus a newline when empty but compact JSON
without a newline otherwise, and ``show channels`` in text mode ends with ``N total.``.
Channel-bound commands answer as FreeSWITCH does for an unknown uuid until the channel
engine registers its own handlers over these.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from esl_controller.simulator.wire.bus import StampedEvent
    from esl_controller.simulator.wire.simulator import Simulator

VERSION = (
    "FreeSWITCH Version 1.10.12-release+git~20240802T210227Z~a88d069d6f~64bit "
    "(git a88d069 2024-08-02 21:02:27Z 64bit)"
)
VERSION_SHORT = "1.10.12-release+git~20240802T210227Z~a88d069d6f~64bit"
SEPARATOR = "=" * 97


def uptime_text(seconds: float) -> str:
    micros_total = int(seconds * 1_000_000)
    secs, micros = divmod(micros_total, 1_000_000)
    millis, micros = divmod(micros, 1000)
    mins, secs = divmod(secs, 60)
    hours, mins = divmod(mins, 60)
    days, hours = divmod(hours, 24)
    years, days = divmod(days, 365)
    return (
        f"{years} years, {days} days, {hours} hours, {mins} minutes, {secs} seconds, "
        f"{millis} milliseconds, {micros} microseconds"
    )


def status(sim: Simulator, args: str) -> str:
    count = sim.session_count()
    return (
        f"UP {uptime_text(sim.uptime())}\n"
        "FreeSWITCH (Version 1.10.12-release git a88d069 2024-08-02 21:02:27Z 64bit) is ready\n"
        f"{sim.sessions_since_startup()} session(s) since startup\n"
        f"{count} session(s) - peak {sim.session_peak()}, last 5min {sim.session_peak()} \n"
        "0 session(s) per Sec out of max 100, peak 0, last 5min 0 \n"
        "1000 session(s) max\n"
        "min idle cpu 0.00/99.57\n"
        "Current Stack Size/Max 240K/8192K\n"
    )


def show(sim: Simulator, args: str) -> str:
    words = args.split()
    as_json = len(words) >= 3 and words[-2:] == ["as", "json"]
    what = words[0] if words else ""
    if what not in ("channels", "calls", "bridged_calls", "detailed_calls"):
        return "-USAGE: show channels|calls [as json]\n"
    if len(words) >= 2 and words[1] == "count":
        rows = sim.channel_rows("channels")
        return f"\n{len(rows)} total.\n"
    rows = sim.channel_rows(what)
    if as_json:
        if not rows:
            return '{"row_count": 0}\n'
        return json.dumps({"row_count": len(rows), "rows": rows}, separators=(",", ":"))
    if not rows:
        return "\n0 total.\n"
    keys = list(rows[0])
    lines = [",".join(keys)] + [",".join(str(row.get(k, "")) for k in keys) for row in rows]
    return "\n".join(lines) + f"\n\n{len(rows)} total.\n"


def sofia(sim: Simulator, args: str) -> str:
    words = args.split()
    if words[:1] != ["status"]:
        return "-ERR Usage: sofia status|xmlstatus ...\n"
    if len(words) >= 4 and words[1] == "profile" and words[3] == "reg":
        regs = sim.registrations(words[2], words[4] if len(words) > 4 else None)
        blocks = "".join(reg + "\n" for reg in regs)
        return (
            f"\nRegistrations:\n{SEPARATOR}\n{blocks}"
            f"Total items returned: {len(regs)}\n{SEPARATOR}\n"
        )
    domain = sim.global_vars.get("domain", "127.0.0.1")
    return (
        "                     Name\t   Type\t                                      Data\tState\n"
        f"{SEPARATOR}\n"
        f"{domain:>25}\t  alias\t{'internal':>42}\tALIASED\n"
        f"{'internal':>25}\tprofile\t{'sip:mod_sofia@127.0.0.1:5060':>42}\tRUNNING (0)\n"
        f"{SEPARATOR}\n"
        "1 profile 1 alias\n"
    )


def sofia_contact(sim: Simulator, args: str) -> str:
    target = args.strip()
    if "/" in target:
        target = target.split("/", 1)[1]
    contact = sim.contact_for(target)
    return contact or "error/user_not_registered"


def json_api(sim: Simulator, args: str) -> str:
    try:
        request = json.loads(args)
    except ValueError:
        return "-ERR JSON parse error\n"
    if not isinstance(request, dict) or not isinstance(request.get("command"), str):
        return "-ERR Invalid JSON\n"
    handler = sim.json_handlers.get(request["command"])
    if handler is None:
        reply = dict(request, status="error", message="Invalid command")
        return json.dumps(reply, separators=(",", ":")) + "\n"
    return handler(request)


def json_fsapi(sim: Simulator, request: dict[str, Any]) -> str:
    """mod_commands' ``json {"command":"fsapi","data":{"cmd","arg"}}``: runs any API
    command (which is why the product's console refuses it)."""
    data = request.get("data") if isinstance(request.get("data"), dict) else {}
    assert isinstance(data, dict)
    cmd, arg = data.get("cmd"), data.get("arg")
    if not isinstance(cmd, str) or not cmd:
        reply = dict(request, status="error", message="Invalid data")
        return json.dumps(reply, separators=(",", ":")) + "\n"
    line = f"{cmd} {arg}" if isinstance(arg, str) and arg else cmd
    output = sim.execute_api(line)
    reply = dict(request, status="success", response={"message": output})
    return json.dumps(reply, separators=(",", ":")) + "\n"


# What the simulated modules register with switch_console_set_complete ("add ..."): the
# rows of FreeSWITCH's `complete` table. "::console::list_uuid" expands to the channels.
COMPLETE_ROWS = tuple(
    row.split()
    for row in (
        "callcenter_config agent add", "callcenter_config agent del",
        "callcenter_config agent set status", "callcenter_config agent set state",
        "callcenter_config agent set uuid", "callcenter_config agent set contact",
        "callcenter_config agent set ready_time", "callcenter_config agent set reject_delay_time",
        "callcenter_config agent set busy_delay_time",
        "callcenter_config agent set no_answer_delay_time", "callcenter_config agent get status",
        "callcenter_config agent list", "callcenter_config tier add", "callcenter_config tier del",
        "callcenter_config tier set state", "callcenter_config tier set level",
        "callcenter_config tier set position", "callcenter_config tier list",
        "callcenter_config queue load", "callcenter_config queue unload",
        "callcenter_config queue reload", "callcenter_config queue list",
        "callcenter_config queue list agents", "callcenter_config queue list members",
        "callcenter_config queue list tiers", "callcenter_config queue count",
        "callcenter_config queue count agents", "callcenter_config queue count members",
        "callcenter_config queue count tiers",
        "show channels", "show calls", "show bridged_calls", "show detailed_calls",
        "show registrations", "show channels as json", "show calls as json",
        "sofia status", "sofia xmlstatus",
        "uuid_answer ::console::list_uuid", "uuid_break ::console::list_uuid",
        "uuid_bridge ::console::list_uuid ::console::list_uuid",
        "uuid_dump ::console::list_uuid", "uuid_exists ::console::list_uuid",
        "uuid_getvar ::console::list_uuid", "uuid_hold ::console::list_uuid",
        "uuid_hold off ::console::list_uuid", "uuid_hold toggle ::console::list_uuid",
        "uuid_kill ::console::list_uuid", "uuid_send_dtmf ::console::list_uuid",
        "uuid_setvar ::console::list_uuid", "uuid_transfer ::console::list_uuid",
    )
)  # fmt: skip


def _separate(text: str) -> list[str]:
    return [w for w in text.split(" ") if w][:10]


def console_complete(sim: Simulator, args: str) -> str:
    """``console_complete [c=<cursor>;]<line>`` as switch_console_complete writes it to an
    API stream: ``\n\n``, ``[%20s]\t`` per match with a newline after every fourth, ``\n\n``,
    then ``write=<len>:<match> `` for one match or ``write=<len>:<common prefix>``."""
    line = args or " "
    if line.startswith("c="):
        digits, semi, rest = line[2:].partition(";")
        if semi and digits.isascii() and digits.isdigit():
            # The cursor cuts the line there; 0, or a cursor at or past the end, means
            # the whole line (checked on a real 1.10.12: c=0, c=20 and c=99 on a 20-byte
            # line all complete the whole line, and no space is added).
            cursor = int(digits)
            line = rest[:cursor] if 0 < cursor < len(rest) else rest
    line = line.split("\r")[0].split("\n")[0]
    buf = line.lstrip(" ")
    stripped = buf.rstrip(" ")
    if len(buf) - len(stripped) > 1:
        buf = stripped + " "
    words = len(re.findall(r" +", buf))
    current = buf[buf.rfind(" ") + 1 :] if words else buf
    hits: list[str] = []

    def add(target: str) -> None:
        if target.startswith("::"):
            if target == "::console::list_uuid":
                uuids = sorted(str(r.get("uuid", "")) for r in sim.channel_rows("channels"))
                for value in uuids:
                    if value.startswith(current) and value not in hits:
                        hits.append(value)
            return
        if target and target not in hits:
            hits.append(target)

    argv = _separate(line.lstrip(" "))
    if words == 0:
        for name in sim.api.names():
            if name.startswith(buf):
                add(name)
        api_names = set(sim.api.names())
        for first in sorted({r[0] for r in COMPLETE_ROWS} - api_names):
            if first.startswith(buf):
                add(first)
    else:
        exact = words + 1 > len(argv)
        found: set[str] = set()
        for row in COMPLETE_ROWS:
            cells = row + [""] * (11 - len(row))
            ok = True
            for x, typed in enumerate(argv):
                cell = cells[x]
                if cell.startswith("::") or cell == "":
                    continue
                if (cell != typed) if exact else (not cell.startswith(typed)):
                    ok = False
                    break
            if ok:
                found.add(cells[words])
        for target in sorted(found):
            add(target)
    out = ["\n\n"]
    for number, target in enumerate(hits, 1):
        out.append(f"[{target:>20}]\t")
        if number % 4 == 0:
            out.append("\n")
    out.append("\n\n")
    if len(hits) == 1:
        out.append(f"write={len(current)}:{hits[0]} ")
    elif len(hits) > 1:
        common = os.path.commonprefix(hits)
        if common:
            out.append(f"write={len(current)}:{common}")
    return "".join(out)


def log_command(sim: Simulator, args: str) -> str:
    level_word, _, text = args.partition(" ")
    level = {
        "CONSOLE": 0,
        "ALERT": 1,
        "CRIT": 2,
        "ERR": 3,
        "WARNING": 4,
        "NOTICE": 5,
        "INFO": 6,
        "DEBUG": 7,
    }.get(level_word.upper())
    if level is None:
        level, text = 7, args
    sim.log(level, text, "mod_commands.c", "log_function", 7200, channel=3)
    return "+OK\n"


def reloadxml(sim: Simulator, args: str) -> str:
    # FreeSWITCH re-reads its XML; mod_callcenter's `queue load|reload` and `agent reload`
    # open callcenter.conf from it afresh (the running queues and agents are untouched).
    import pathlib

    from esl_controller.simulator.mod_callcenter import config as callcenter_config

    conf = pathlib.Path(sim.conf_dir) if sim.conf_dir is not None else None
    sim.callcenter.config = callcenter_config.load(conf, sim.global_vars)
    sim.log(6, "Timezone reloaded 0 definitions", "switch_time.c", "switch_load_timezones", 1436)
    return "+OK [Success]\n"


def channel_log_lines(sim: Simulator, event: StampedEvent) -> None:
    """The log lines FreeSWITCH's core writes as a channel lives (what ``/log debug``
    shows during a call): a new channel and an answer at NOTICE, each state at DEBUG, the
    hangup with its cause at NOTICE. Texts follow 1.10's; not byte-compared with a switch."""
    name = event.get("Channel-Name") or ""
    channel_uuid = event.get("Unique-ID") or ""
    if event.name == "CHANNEL_CREATE":
        sim.log(5, f"New Channel {name} [{channel_uuid}]", "switch_core_session.c",
                "switch_core_session_request_uuid", 2504)  # fmt: skip
    elif event.name == "CHANNEL_STATE":
        state = (event.get("Channel-State") or "").removeprefix("CS_")
        sim.log(7, f"({name}) State {state}", "switch_core_state_machine.c",
                "switch_core_session_run", 627)  # fmt: skip
    elif event.name == "CHANNEL_ANSWER":
        sim.log(5, f"Channel [{name}] has been answered", "switch_channel.c",
                "switch_channel_perform_mark_answered", 3904)  # fmt: skip
    elif event.name == "CHANNEL_HANGUP":
        state = event.get("Channel-State") or ""
        cause = event.get("Hangup-Cause") or ""
        sim.log(5, f"Hangup {name} [{state}] [{cause}]", "switch_channel.c",
                "switch_channel_perform_hangup", 3435)  # fmt: skip


def register_core(sim: Simulator) -> None:
    api = sim.api
    api.register("status", lambda a: status(sim, a))
    api.register("version", lambda a: VERSION + "\n")
    api.register("create_uuid", lambda a: str(uuid.uuid4()))
    api.register("global_getvar", lambda a: sim.global_vars.get(a.strip(), ""))
    api.register("hostname", lambda a: sim.host.hostname)
    api.register("reloadxml", lambda a: reloadxml(sim, a))
    api.register("log", lambda a: log_command(sim, a))
    api.register("show", lambda a: show(sim, a))
    api.register("sofia", lambda a: sofia(sim, a))
    api.register("sofia_contact", lambda a: sofia_contact(sim, a))
    api.register("json", lambda a: json_api(sim, a))
    api.register("console_complete", lambda a: console_complete(sim, a))
    sim.json_handlers["fsapi"] = lambda request: json_fsapi(sim, request)
    if not getattr(sim, "channel_log_lines", False):  # once per process, not per restart
        sim.bus.add_listener(lambda event: channel_log_lines(sim, event))
        setattr(sim, "channel_log_lines", True)  # noqa: B010 - a marker, not an attribute of the type
    # Not a FreeSWITCH command: the last Event-Sequence, for benchmarks and tests.
    api.register("sim_sequence", lambda a: str(sim.bus.sequence))
    # Until the channel engine registers the real ones: FreeSWITCH's unknown-uuid texts.
    api.register("uuid_kill", lambda a: "-ERR No such channel!\n")
    api.register("uuid_hold", lambda a: "+OK Success\n")  # sic: even for a dead uuid
    api.register("uuid_exists", lambda a: "false")
