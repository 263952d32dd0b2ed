"""Dial strings and ``originate`` (reference §3.2).

A dial string is ``{global vars}[leg vars]endpoint``. FreeSWITCH splits a variable block
on commas (``\\,`` keeps one), strips single quotes around a value, and expands
``${...}`` in values — so values are escaped and quoted by :func:`validate.var_value`, and
endpoints are built from typed parts rather than pasted text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from esl_controller.errors import InvalidArgument
from esl_controller.esl.commands import validate as v
from esl_controller.esl.commands.base import ApiCommand

Vars = Mapping[str, str | int | bool]

_ENDPOINT_RE = re.compile(
    r"^(?:user/[A-Za-z0-9_.+\-]+(?:@[A-Za-z0-9_.\-]+)?"
    r"|loopback/[A-Za-z0-9_*#+.\-]+(?:/[A-Za-z0-9_.\-]+)?"
    r"|null/[A-Za-z0-9_.\-]+"
    r"|error/[A-Z_]+"
    r"|sofia/gateway/[A-Za-z0-9_.\-]+/[A-Za-z0-9_*#+.\-]+"
    r"|sofia/[A-Za-z0-9_.\-]+/(?:sip:)?[A-Za-z0-9_.+\-]+@[A-Za-z0-9_.\-]+(?::\d+)?)$"
)
_BLOCK_RE = re.compile(r"^(\{[^{}\[\]]*\})?(\[[^{}\[\]]*\])?(.+)$")


# -- endpoints ------------------------------------------------------------------------


def user(extension: str, domain: str | None = None) -> str:
    """``user/1000@domain``: the directory user's registered phone(s)."""
    ext = v.token("user", extension)
    return f"user/{ext}@{v.token('domain', domain)}" if domain else f"user/{ext}"


def loopback(extension: str, context: str | None = None) -> str:
    ext = v.extension("extension", extension)
    return f"loopback/{ext}/{v.token('context', context)}" if context else f"loopback/{ext}"


def null(label: str) -> str:
    return f"null/{v.token('null channel', label)}"


def error(cause: str) -> str:
    return f"error/{v.cause('cause', cause)}"


def gateway(name: str, number: str) -> str:
    return f"sofia/gateway/{v.token('gateway', name)}/{v.extension('number', number)}"


def sofia(profile: str, user_part: str, host: str) -> str:
    return (
        f"sofia/{v.token('profile', profile)}/{v.token('user', user_part)}@{v.token('host', host)}"
    )


def endpoint(text: str) -> str:
    """Validate an endpoint given as text (from configuration, not from a browser)."""
    value = v.check_text("endpoint", text, 512)
    if not _ENDPOINT_RE.match(value):
        raise InvalidArgument(f"endpoint is not one this product dials: {value[:60]!r}")
    return value


# -- dial strings ---------------------------------------------------------------------


def var_block(variables: Vars | None, opening: str = "{", closing: str = "}") -> str:
    if not variables:
        return ""
    items = []
    for key, raw in variables.items():
        value = ("true" if raw else "false") if isinstance(raw, bool) else str(raw)
        items.append(f"{v.var_name('variable name', key)}={v.var_value(key, value)}")
    return opening + ",".join(items) + closing


def dial_string(
    target: str, variables: Vars | None = None, leg_variables: Vars | None = None
) -> str:
    """``{global}[leg]endpoint`` from a validated endpoint and escaped variables."""
    text = var_block(variables) + var_block(leg_variables, "[", "]") + endpoint(target)
    if len(text) > v.MAX_PATH:
        raise InvalidArgument("dial string is too long")
    return text


def dial_string_text(text: str) -> str:
    """Validate a stored dial string such as an agent contact
    (``[leg_timeout=10]user/1000@example.com``): blocks of name=value, then an endpoint."""
    value = v.check_text("dial string", text, v.MAX_PATH)
    if " " in value.replace("\\ ", "") and "'" not in value:
        raise InvalidArgument("dial string contains a space")
    match = _BLOCK_RE.match(value)
    if match is None:
        raise InvalidArgument("dial string is malformed")
    for block in (match.group(1), match.group(2)):
        if not block:
            continue
        for item in re.split(r"(?<!\\),", block[1:-1]):
            if not item:
                continue
            key, eq, val = item.partition("=")
            if not eq:
                raise InvalidArgument(f"dial string variable without a value: {item[:40]!r}")
            v.var_name("dial string variable", key)
            if any(c in val for c in '"<>^'):
                raise InvalidArgument("dial string variable value has a forbidden character")
    endpoint(match.group(3))
    return value


# -- originate ------------------------------------------------------------------------


def app_park() -> str:
    return "&park()"


def app_echo() -> str:
    return "&echo()"


def app_callcenter(queue: str) -> str:
    return f"&callcenter({v.name('queue', queue)})"


def app_bridge(target_dial_string: str) -> str:
    return f"&bridge({dial_string_text(target_dial_string)})"


def app_eavesdrop(target_uuid: str) -> str:
    return f"&eavesdrop({v.uuid('target', target_uuid)})"


def originate(
    dial: str,
    target: str | None = None,
    *,
    extension: str | None = None,
    dialplan: str = "XML",
    context: str = "default",
    cid_name: str | None = None,
    cid_number: str | None = None,
    timeout: int | None = None,
) -> ApiCommand:
    """``originate <dial> &app(...)`` or ``originate <dial> <ext> XML <context> ...``.

    ``dial`` must come from :func:`dial_string`; ``target`` from one of the ``app_*``
    helpers. Use bgapi: originate blocks until the A leg answers.
    """
    parts = ["originate", dial_string_text(dial)]
    if target is not None:
        if not re.match(r"^&[a-z_]+\([^()\s]*\)$", target):
            raise InvalidArgument("originate target must come from an app_* helper")
        parts.append(target)
    elif extension is not None:
        parts += [
            v.extension("extension", extension),
            v.token("dialplan", dialplan),
            v.token("context", context),
        ]
        if cid_name is not None or cid_number is not None or timeout is not None:
            parts.append(v.var_value("caller id name", cid_name) if cid_name else "undef")
            parts.append(v.extension("caller id number", cid_number) if cid_number else "undef")
            if timeout is not None:
                parts.append(v.number("timeout", timeout, 1, 3600))
    else:
        raise InvalidArgument("originate needs an application or an extension")
    return ApiCommand("originate", " ".join(parts))


def click_to_call(
    *,
    call_uuid: str,
    agent: str,
    agent_endpoint: str,
    destination_dial: str,
    caller_id_number: str,
    caller_id_name: str | None = None,
    number: str | None = None,
) -> ApiCommand:
    """Ring the agent's phone first, then bridge to the customer. ``callcenter_track`` on
    answer keeps mod_callcenter from offering queue calls to the agent meanwhile. The
    ``click_to_call_*`` variables ride on the agent's leg's events so the floor can show
    the call (mod_callcenter itself knows nothing of it)."""
    variables: dict[str, str | int | bool] = {
        "origination_uuid": v.uuid("call uuid", call_uuid),
        "origination_caller_id_number": v.extension("caller id number", caller_id_number),
        "ignore_early_media": True,
        "hangup_after_bridge": True,
        "execute_on_answer": f"callcenter_track {v.name('agent', agent)}",
        "click_to_call_agent": agent,
    }
    if number is not None:
        variables["click_to_call_number"] = v.extension("number", number)
    if caller_id_name:
        variables["origination_caller_id_name"] = caller_id_name
    return originate(dial_string(agent_endpoint, variables), app_bridge(destination_dial))


EAVESDROP_MODES = {
    # Target is the agent's leg. "bleg" = heard by the target's own endpoint (the agent).
    "listen": {},
    "whisper": {"eavesdrop_whisper_bleg": True},
    "barge": {"eavesdrop_whisper_aleg": True, "eavesdrop_whisper_bleg": True},
}


def eavesdrop(
    *, call_uuid: str, supervisor_endpoint: str, agent_leg_uuid: str, mode: str = "listen"
) -> ApiCommand:
    """Ring the supervisor's phone and eavesdrop on the agent's leg (listen, whisper to
    the agent, or barge in on both). DTMF 0-3 switch mode during the call."""
    if mode not in EAVESDROP_MODES:
        raise InvalidArgument("mode must be listen, whisper or barge")
    variables: dict[str, str | int | bool] = {
        "origination_uuid": v.uuid("call uuid", call_uuid),
        "eavesdrop_enable_dtmf": True,
        **EAVESDROP_MODES[mode],
    }
    return originate(dial_string(supervisor_endpoint, variables), app_eavesdrop(agent_leg_uuid))
