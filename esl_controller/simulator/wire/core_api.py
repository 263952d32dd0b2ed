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
import uuid
from typing import TYPE_CHECKING

if TYPE_CHECKING:
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
    sim.log(6, "Timezone reloaded 0 definitions", "switch_time.c", "switch_load_timezones", 1436)
    return "+OK [Success]\n"


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
    # Not a FreeSWITCH command: the last Event-Sequence, for benchmarks and tests.
    api.register("sim_sequence", lambda a: str(sim.bus.sequence))
    # Until the channel engine registers the real ones: FreeSWITCH's unknown-uuid texts.
    api.register("uuid_kill", lambda a: "-ERR No such channel!\n")
    api.register("uuid_hold", lambda a: "+OK Success\n")  # sic: even for a dead uuid
    api.register("uuid_exists", lambda a: "false")
