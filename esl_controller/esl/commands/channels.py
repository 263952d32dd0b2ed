"""Call-control builders: ``uuid_*``, ``show``, ``hupall``, ``sofia``, core queries.

Telephony notes that decide arguments here:
* hold targets the leg whose *partner* must hear music: to put a customer on hold from
  the agent's desk, hold the agent's leg;
* ``uuid_transfer -bleg`` moves the partner of the given leg, ``-both`` both legs;
* ``hupall`` without a variable filter hangs up every call on the switch, so it is only
  built with one.
"""

from __future__ import annotations

from esl_controller.errors import InvalidArgument
from esl_controller.esl.commands import validate as v
from esl_controller.esl.commands.base import ApiCommand, command
from esl_controller.esl.commands.originate import dial_string_text


def uuid_kill(channel: str, cause: str | None = None) -> ApiCommand:
    return command("uuid_kill", v.uuid("uuid", channel), v.cause("cause", cause) if cause else "")


def uuid_answer(channel: str) -> ApiCommand:
    return command("uuid_answer", v.uuid("uuid", channel))


def uuid_hold(channel: str, mode: str = "on") -> ApiCommand:
    """mode: on (hold), off (unhold) or toggle."""
    if mode not in ("on", "off", "toggle"):
        raise InvalidArgument("hold mode must be on, off or toggle")
    word = "" if mode == "on" else mode
    return command("uuid_hold", word, v.uuid("uuid", channel))


def uuid_transfer(
    channel: str,
    destination: str,
    *,
    leg: str | None = None,
    dialplan: str = "XML",
    context: str = "default",
) -> ApiCommand:
    flag = {None: "", "bleg": "-bleg", "both": "-both"}.get(leg)
    if flag is None:
        raise InvalidArgument("transfer leg must be bleg or both")
    return command(
        "uuid_transfer",
        v.uuid("uuid", channel),
        flag,
        v.extension("destination", destination),
        v.token("dialplan", dialplan),
        v.token("context", context),
    )


def uuid_bridge(channel: str, other: str) -> ApiCommand:
    return command("uuid_bridge", v.uuid("uuid", channel), v.uuid("other uuid", other))


def uuid_broadcast(channel: str, path: str, leg: str = "aleg") -> ApiCommand:
    if leg not in ("aleg", "bleg", "both", "holdb"):
        raise InvalidArgument("broadcast leg must be aleg, bleg, both or holdb")
    return command("uuid_broadcast", v.uuid("uuid", channel), v.path("path", path), leg)


def att_xfer(channel: str, target_dial_string: str) -> ApiCommand:
    """Attended transfer by the ``att_xfer`` application on the agent's leg: the partner
    is held, the target dialled; DTMF ``*`` completes, ``#`` cancels, ``0`` conferences."""
    target = dial_string_text(target_dial_string)
    return command("uuid_broadcast", v.uuid("uuid", channel), f"att_xfer::{target}", "aleg")


def uuid_record(channel: str, action: str, path: str, limit: int | None = None) -> ApiCommand:
    if action not in ("start", "stop", "pause", "resume", "mask", "unmask"):
        raise InvalidArgument("record action must be start, stop, pause, resume, mask, unmask")
    target = "all" if action == "stop" and path == "all" else v.path("path", path)
    extra = v.number("limit", limit, 1, 86400) if limit is not None else ""
    return command("uuid_record", v.uuid("uuid", channel), action, target, extra)


def uuid_setvar(channel: str, name: str, value: str | None = None) -> ApiCommand:
    """Set a channel variable; without a value it is unset."""
    text = ""
    if value is not None:
        text = v.check_text("value", value)
        if " " in text:
            raise InvalidArgument("value may not contain spaces")
    return command("uuid_setvar", v.uuid("uuid", channel), v.var_name("variable", name), text)


def uuid_getvar(channel: str, name: str) -> ApiCommand:
    return command("uuid_getvar", v.uuid("uuid", channel), v.var_name("variable", name))


def uuid_send_dtmf(channel: str, digits: str) -> ApiCommand:
    return command("uuid_send_dtmf", v.uuid("uuid", channel), v.dtmf("digits", digits))


def uuid_recv_dtmf(channel: str, digits: str) -> ApiCommand:
    return command("uuid_recv_dtmf", v.uuid("uuid", channel), v.dtmf("digits", digits))


# eavesdrop reads DTMF from the eavesdropper's own channel while it runs (unless
# eavesdrop_enable_dtmf=false): 0 listen only, 1 talk to the target's partner, 2 talk to
# the target's own endpoint, 3 both, * stop (switch_ivr_async.c,
# switch_ivr_eavesdrop_session). The product's target is the agent's leg, so 2 = whisper to
# the agent and 3 = barge in on agent and caller. uuid_recv_dtmf queues the digit on the
# supervisor's leg as if their phone had sent it.
EAVESDROP_DIGITS = {"listen": "0", "whisper": "2", "barge": "3"}


def eavesdrop_mode(channel: str, mode: str) -> ApiCommand:
    """Switch a running eavesdrop between listen, whisper (to the agent) and barge."""
    digit = EAVESDROP_DIGITS.get(mode) if isinstance(mode, str) else None
    if digit is None:
        raise InvalidArgument("eavesdrop mode must be listen, whisper or barge")
    return uuid_recv_dtmf(channel, digit)


def uuid_exists(channel: str) -> ApiCommand:
    return command("uuid_exists", v.uuid("uuid", channel))


def uuid_dump(channel: str, fmt: str = "json") -> ApiCommand:
    if fmt not in ("txt", "plain", "json", "xml"):
        raise InvalidArgument("dump format must be txt, plain, json or xml")
    return command("uuid_dump", v.uuid("uuid", channel), fmt)


def uuid_break(channel: str, everything: bool = False) -> ApiCommand:
    return command("uuid_break", v.uuid("uuid", channel), "all" if everything else "")


def hupall(cause: str, variable: str, value: str) -> ApiCommand:
    """Hang up the calls whose ``variable`` equals ``value`` (never every call)."""
    text = v.check_text("value", value)
    if " " in text:
        raise InvalidArgument("value may not contain spaces")
    return command("hupall", v.cause("cause", cause), v.var_name("variable", variable), text)


def callcenter_break(agent_leg: str) -> ApiCommand:
    """Release an agent whose bridged leg mod_callcenter still watches. Success prints
    nothing, which ESL turns into ``-ERR no reply``."""
    return command("callcenter_break", "agent", v.uuid("uuid", agent_leg))


def show(what: str) -> ApiCommand:
    if what not in ("channels", "calls", "bridged_calls", "detailed_calls", "registrations"):
        raise InvalidArgument("show takes channels, calls, bridged_calls, detailed_calls")
    return command("show", what, "as", "json")


def sofia_status() -> ApiCommand:
    return command("sofia", "status")


def sofia_registrations(profile: str = "internal", match: str | None = None) -> ApiCommand:
    extra = v.token("filter", match) if match else ""
    return command("sofia", "status", "profile", v.token("profile", profile), "reg", extra)


def sofia_contact(user: str, domain: str, profile: str | None = None) -> ApiCommand:
    target = f"{v.token('user', user)}@{v.token('domain', domain)}"
    if profile:
        target = f"{v.token('profile', profile)}/{target}"
    return command("sofia_contact", target)


def sofia_contact_anywhere(user: str, domain: str) -> ApiCommand:
    """``sofia_contact */user@domain``: every registration of the user on every profile
    (a desk phone on ``internal`` and the browser on ``webrtc`` both count). The reply is
    the contacts joined by commas, or ``error/user_not_registered`` when there is none
    (parse with :func:`esl_controller.esl.replies.sofia_contacts`). ``*`` makes mod_sofia
    search each profile for ``user`` at ``domain`` (the registration's host, or a host in
    its profile's presence hosts) instead of looking for a profile named after the
    domain."""
    return command("sofia_contact", f"*/{v.token('user', user)}@{v.token('domain', domain)}")


def status() -> ApiCommand:
    return command("status")


def version() -> ApiCommand:
    return command("version")


def create_uuid() -> ApiCommand:
    return command("create_uuid")


def global_getvar(name: str) -> ApiCommand:
    return command("global_getvar", v.var_name("variable", name))
