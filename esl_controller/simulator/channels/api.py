"""Call-control API commands of the simulated core (mod_commands), FreeSWITCH's texts:
``uuid_hold`` answers ``+OK Success`` even for a dead uuid, ``uuid_answer`` fails with
``-ERROR``, ``uuid_getvar`` prints ``_undef_``, and most replies end with a newline."""

from __future__ import annotations

import gevent

from esl_controller.simulator.api_registry import ApiRegistry
from esl_controller.simulator.channels.core import CallCore

NO_CHANNEL = "-ERR No such channel!\n"


def register(api: ApiRegistry, core: CallCore) -> None:
    engine = core.engine

    def uuid_kill(args: str) -> str:
        words = args.split()
        channel = engine.get(words[0]) if words else None
        if channel is None:
            return NO_CHANNEL
        cause = words[1].upper() if len(words) > 1 else "NORMAL_CLEARING"
        gevent.spawn(engine.hangup, channel, cause)
        gevent.sleep(0)
        return "+OK\n"

    def uuid_answer(args: str) -> str:
        channel = engine.get(args.strip()) if args.strip() else None
        if channel is None:
            return "-ERROR\n"
        core.answer(channel)
        return "+OK\n"

    def uuid_hold(args: str) -> str:
        words = args.split()
        mode = "on"
        if words and words[0] in ("off", "toggle"):
            mode, words = words[0], words[1:]
        channel = engine.get(words[0]) if words else None
        if channel is None:
            return "+OK Success\n"  # sic: FreeSWITCH says so for an unknown uuid
        if mode == "toggle":
            mode = "off" if channel.held else "on"
        done = engine.hold(channel) if mode == "on" else engine.unhold(channel)
        if done:  # switch_ivr_hold_uuid(..., moh=TRUE): the partner hears the music
            (core.hold_music.start if mode == "on" else core.hold_music.stop)(channel)
        return "+OK Success\n" if done else "-ERR Operation failed\n"

    def uuid_transfer(args: str) -> str:
        words = args.split()
        if len(words) < 2:
            return "-USAGE: <uuid> [-bleg|-both] <dest-exten> [<dialplan>] [<context>]\n"
        channel = engine.get(words[0])
        if channel is None:
            return NO_CHANNEL
        rest = words[1:]
        if rest[0] in ("-bleg", "-both"):
            if rest[0] == "-bleg" and channel.partner is not None:
                channel = channel.partner
            rest = rest[1:]
        if not rest:
            return "-ERR\n"
        core.transfer(channel, rest[0], rest[2] if len(rest) > 2 else None)
        return "+OK\n"

    def uuid_getvar(args: str) -> str:
        words = args.split()
        channel = engine.get(words[0]) if words else None
        if channel is None:
            return NO_CHANNEL
        if len(words) < 2:
            return "-ERR Usage: uuid_getvar <uuid> <var>\n"
        return channel.variables.get(words[1], "_undef_")

    def uuid_setvar(args: str) -> str:
        words = args.split(" ", 2)
        channel = engine.get(words[0]) if words and words[0] else None
        if channel is None:
            return NO_CHANNEL
        if len(words) < 2:
            return "-ERR Usage: uuid_setvar <uuid> <var> [value]\n"
        channel.set_var(words[1], words[2] if len(words) > 2 and words[2] else None)
        return "+OK\n"

    def uuid_exists(args: str) -> str:
        return "true" if engine.get(args.strip() or "-") is not None else "false"

    def uuid_dtmf(args: str) -> str:
        words = args.split()
        channel = engine.get(words[0]) if words else None
        if channel is None:
            return NO_CHANNEL
        digits = words[1].split("@")[0] if len(words) > 1 else ""
        # send_dtmf plays digits *to* the channel's far end: the partner hears them.
        target = channel.partner if channel.partner is not None else channel
        core.dtmf(target, digits)
        return "+OK Success\n"

    def uuid_recv_dtmf(args: str) -> str:
        words = args.split()
        channel = engine.get(words[0]) if words else None
        if channel is None:
            return NO_CHANNEL
        core.dtmf(channel, words[1] if len(words) > 1 else "")
        return "+OK Success\n"

    def uuid_broadcast(args: str) -> str:
        words = args.split()
        channel = engine.get(words[0]) if words else None
        if channel is None or len(words) < 2:
            return "-ERR invalid uuid\n"
        app, sep, data = words[1].partition("::")
        if sep and app in core.applications:
            gevent.spawn(core.execute, channel, app, data)
        return "+OK Message sent\n"

    def uuid_record(args: str) -> str:
        words = args.split()
        channel = engine.get(words[0]) if words else None
        if channel is None:
            return "-ERR Cannot locate session!\n"
        if len(words) < 3 or words[1] not in ("start", "stop", "pause", "resume", "mask", "unmask"):
            return "-USAGE: <uuid> [start|stop|mask|unmask|pause|resume] <path> [<limit>]\n"
        if words[1] == "start":
            channel.set_var("record_file", words[2])
        elif words[1] == "stop":
            channel.set_var("record_file", None)
        return "+OK Success\n"

    def uuid_dump(args: str) -> str:
        words = args.split()
        channel = engine.get(words[0]) if words else None
        if channel is None:
            return NO_CHANNEL
        headers = channel.headers("CHANNEL_DATA")
        import json
        from urllib.parse import quote

        if len(words) > 1 and words[1] == "json":
            return json.dumps(dict(headers), separators=(",", ":"))
        return "".join(f"{k}: {quote(v, safe='')}\n" for k, v in headers)

    def hupall(args: str) -> str:
        words = args.split()
        cause = words[0].upper() if words else "MANAGER_REQUEST"
        pairs = list(zip(words[1::2], words[2::2], strict=False))
        for channel in list(engine.channels.values()):
            if all(channel.variables.get(k) == v for k, v in pairs):
                gevent.spawn(engine.hangup, channel, cause)
        if pairs:
            extra = "..." if len(pairs) > 1 else ""
            var, value = pairs[0]
            return (
                f"+OK hangup all channels matching [{var}]=[{value}]{extra} with cause: {cause}\n"
            )
        return f"+OK hangup all channels with cause {cause}\n"

    api.register("originate", core.outbound.originate)
    api.register("uuid_kill", uuid_kill)
    api.register("uuid_answer", uuid_answer)
    api.register("uuid_hold", uuid_hold)
    api.register("uuid_transfer", uuid_transfer)
    api.register("uuid_getvar", uuid_getvar)
    api.register("uuid_setvar", uuid_setvar)
    api.register("uuid_exists", uuid_exists)
    api.register("uuid_send_dtmf", uuid_dtmf)
    api.register("uuid_recv_dtmf", uuid_recv_dtmf)
    api.register("uuid_broadcast", uuid_broadcast)
    api.register("uuid_record", uuid_record)
    api.register("uuid_dump", uuid_dump)
    api.register("hupall", hupall)
