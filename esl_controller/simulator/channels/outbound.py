"""Endpoints and ``originate``: making outbound legs and waiting for them to answer.

* ``null/<x>`` (mod_loopback's null endpoint) answers at once, after
  ``null_auto_answer_delay`` ms, or never with ``null_enable_auto_answer=false``;
* ``error/<cause>`` fails with that cause and creates no channel;
* ``loopback/<ext>[/<context>]`` creates the ``-a`` leg (returned to the originator)
  and the ``-b`` leg, which runs the dialplan; answering ``-b`` answers ``-a`` first;
* ``user/<ext>[@domain]`` asks the phone directory; with no phone registered the leg
  fails with USER_NOT_REGISTERED.

A leg that does not answer within ``leg_timeout`` ends with ALLOTTED_TIMEOUT (as recorded:
README quirk 13); within ``originate_timeout``/``call_timeout`` (default 60 s) NO_ANSWER.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import gevent
from gevent.event import AsyncResult

from esl_controller.simulator.channels.channel import Channel, Profile
from esl_controller.simulator.channels.dialstring import DialLeg, parse_dial_string

if TYPE_CHECKING:
    from esl_controller.simulator.channels.core import CallCore

ORIGINATION_KEYS = ("origination_caller_id_number", "origination_caller_id_name")


class PhoneDirectory:
    """Who answers ``user/<ext>``: the phones module replaces this (nobody, by default)."""

    def registered(self, user: str, domain: str) -> bool:
        return False

    def leg_name(self, user: str, domain: str) -> str:
        return f"sofia/internal/{user}@{domain}"

    def ring(self, core: CallCore, leg: Channel, user: str, domain: str) -> None:
        """Make the registered phone ring; it answers, rejects or times out on its own."""
        core.engine.hangup(leg, "USER_NOT_REGISTERED")


class Outbound:
    def __init__(self, core: CallCore) -> None:
        self.core = core
        self.phones = PhoneDirectory()

    # -- legs ------------------------------------------------------------------------

    def dial(
        self,
        leg: DialLeg,
        variables: dict[str, str],
        *,
        on_created: Callable[[Channel], None] | None = None,
    ) -> tuple[Channel | None, AsyncResult]:
        """Create the leg; the AsyncResult gets True on answer or the failure cause."""
        result: AsyncResult = AsyncResult()
        endpoint = leg.endpoint
        kind, _, rest = endpoint.partition("/")
        merged = {**variables, **leg.variables}
        if kind == "error":
            result.set(rest.upper() or "NORMAL_TEMPORARY_FAILURE")
            return None, result
        channel: Channel | None
        if kind == "null":
            channel = self._null(rest, merged, result)
        elif kind == "loopback":
            channel = self._loopback(rest, merged, result)
        elif kind == "user":
            channel = self._user(rest, merged, result)
        else:
            result.set("CHAN_NOT_IMPLEMENTED")
            return None, result
        if channel is not None:
            if on_created is not None:
                on_created(channel)
            self._arm_timeout(channel, merged, result)
        return channel, result

    def _profile(self, variables: dict[str, str], destination: str, context: str) -> Profile:
        return Profile(
            caller_id_name=variables.get("origination_caller_id_name", "FreeSWITCH"),
            caller_id_number=variables.get("origination_caller_id_number", "0000000000"),
            callee_id_name="Outbound Call",
            callee_id_number=destination,
            destination=destination,
            context=context,
            source="mod_loopback",
            direction="outbound",
            logical_direction="outbound",
        )

    def _origination_vars(self, variables: dict[str, str]) -> dict[str, str]:
        out = {k: v for k, v in variables.items() if k not in ("origination_uuid",)}
        return out

    def _null(self, name: str, variables: dict[str, str], result: AsyncResult) -> Channel:
        core = self.core
        channel = core.engine.create(
            f"null/{name}",
            "outbound",
            self._profile(variables, name, "default"),
            self._origination_vars(variables),
            channel_uuid=variables.get("origination_uuid"),
        )
        core.watch_answer(channel, result)
        if variables.get("null_enable_auto_answer", "true") != "false":
            delay = int(variables.get("null_auto_answer_delay", "0") or 0) / 1000

            def answer() -> None:
                core.sleep(delay)
                core.answer(channel)

            gevent.spawn(answer)
        else:
            core.engine.ring(channel)
        return channel

    def _loopback(self, rest: str, variables: dict[str, str], result: AsyncResult) -> Channel:
        core = self.core
        extension, _, context = rest.partition("/")
        context = context or "default"
        a_vars = self._origination_vars(variables)
        a_vars.update({"originate_early_media": "true", "originate_endpoint": "loopback"})
        profile_a = self._profile(variables, extension, context)
        profile_a.callee_id_number = context  # mod_loopback shows the context here
        a_leg = core.engine.create(
            f"loopback/{extension}-a", "outbound", profile_a,
            a_vars, channel_uuid=variables.get("origination_uuid"), announce=False,
        )  # fmt: skip
        profile_b = self._profile(variables, extension, context)
        profile_b.direction = profile_b.logical_direction = "inbound"
        profile_b.callee_id_number = context
        b_vars = {k: v for k, v in variables.items() if k in ORIGINATION_KEYS}
        b_leg = core.engine.create(
            f"loopback/{extension}-b", "inbound", profile_b, b_vars, announce=False
        )
        a_leg.variables["other_loopback_leg_uuid"] = b_leg.uuid
        a_leg.variables["loopback_leg"] = "A"
        b_leg.variables["other_loopback_leg_uuid"] = a_leg.uuid
        b_leg.variables["loopback_leg"] = "B"
        # mod_callcenter's originate variables reach the -b leg (cc_side=agent ...).
        for key, value in variables.items():
            if key.startswith("cc_") or key in ("leg_timeout", "ignore_early_media"):
                b_leg.variables[key] = value
        core.pair(a_leg, b_leg)
        b_leg.hit_dialplan = True
        core.engine.announce(a_leg)
        core.engine.announce(b_leg)
        # The originating leg waits in CS_CONSUME_MEDIA until the far end answers.
        core.engine.set_state(a_leg, "CS_CONSUME_MEDIA")
        core.watch_answer(a_leg, result)
        core.engine.set_state(b_leg, "CS_ROUTING")
        b_leg.hit_dialplan = True
        core.engine.ring(b_leg)
        core.start_dialplan(b_leg)
        return a_leg

    def _user(self, rest: str, variables: dict[str, str], result: AsyncResult) -> Channel | None:
        user, _, domain = rest.partition("@")
        domain = domain or self.core.global_vars.get("domain", "127.0.0.1")
        core = self.core
        if not self.phones.registered(user, domain):
            # The directory's dial-string resolves to error/user_not_registered: no
            # channel is created at all.
            result.set("USER_NOT_REGISTERED")
            return None
        channel = core.engine.create(
            self.phones.leg_name(user, domain), "outbound",
            self._profile(variables, user, "default"), self._origination_vars(variables),
            channel_uuid=variables.get("origination_uuid"),
        )  # fmt: skip
        channel.profile.source = "mod_sofia"
        core.watch_answer(channel, result)
        self.phones.ring(core, channel, user, domain)
        return channel

    def _arm_timeout(
        self, channel: Channel, variables: dict[str, str], result: AsyncResult
    ) -> None:
        if variables.get("leg_timeout", "").isdigit():
            seconds, cause = int(variables["leg_timeout"]), "ALLOTTED_TIMEOUT"
        else:
            raw = variables.get("originate_timeout") or variables.get("call_timeout") or "60"
            seconds, cause = (int(raw) if raw.isdigit() else 60), "NO_ANSWER"

        def expire() -> None:
            self.core.sleep(seconds)
            if not result.ready() and not channel.gone:
                self.core.hangup_pair(channel, cause)

        gevent.spawn(expire)

    # -- originate -------------------------------------------------------------------

    def originate(self, args: str) -> str:
        """``originate <dial> <&app(args)|ext> [dialplan] [context] [cid] [cid#] [timeout]``"""
        from esl_controller.simulator.channels.dialstring import split_command

        words = split_command(args)
        if len(words) < 2:
            return "-USAGE: <call url> <exten>|&<application_name>(<app_args>) [<dialplan>] [<context>] [<cid_name>] [<cid_num>] [<timeout_sec>]\n"  # noqa: E501
        global_vars, legs = parse_dial_string(words[0])
        if not legs:
            return "-ERR INVALID_URL\n"
        if len(words) > 6 and words[6].isdigit():
            global_vars.setdefault("originate_timeout", words[6])
        channel, result = self.dial(legs[0], global_vars)
        outcome = result.get()
        if outcome is not True or channel is None or channel.gone:
            cause = outcome if isinstance(outcome, str) else "NORMAL_CLEARING"
            return f"-ERR {cause}\n"
        target = words[1]
        if target.startswith("&"):
            app, _, data = target[1:].partition("(")
            self.core.start_app(channel, app, data[:-1] if data.endswith(")") else data)
        else:
            channel.profile.destination = target
            if len(words) > 3:
                channel.profile.context = words[3]
            self.core.start_dialplan(channel)
        return f"+OK {channel.uuid}\n"
