"""Simulated SIP phones, one per directory user, behind ``user/<ext>`` dial strings.

A phone registers (sofia::register, ``Registered(UDP)``) or not; when a leg rings it, it
answers after a delay, rejects (CALL_REJECTED), is busy (USER_BUSY) or never answers.
Tests and demos drive them with API commands whose names start with ``sim_`` so nobody
mistakes them for FreeSWITCH's:

    sim_phone <user> register|unregister|expire|disconnect [device]
    sim_phone <user> answer [seconds] | reject | busy | noanswer
    sim_phone <user> hangup        (the phone hangs up its calls)
    sim_phones                     (one line per phone: user, registered, mode)
    sim_phone <user> add [domain]  (a phone for a user the XML directory lacks: one that
                                    a real FreeSWITCH would get from mod_xml_curl, such as
                                    a supervisor created in the product)

A user may have several devices registered at once (a desk phone and the browser), each
its own contact, as on a profile with ``multiple-registrations=contact`` (the shipped
webrtc profile): ``register desk`` and ``register browser`` add two registrations, and
``sofia_contact`` lists both, comma-separated, like mod_sofia. Without a device name a
command means the device ``phone`` (register) or every registered device (unregister,
expire: one event each). ``expire`` is the registrar's own removal (sofia::expire, as when
a phone stops refreshing), ``unregister`` the phone's REGISTER with ``Expires: 0``,
``disconnect`` a WebSocket phone's socket closing without an un-REGISTER (a browser tab
closed): sofia::unregister with reason ``socket-disconnection``, the call-id and no
contact, while ``sofia_contact`` keeps listing the device for ``DISCONNECT_LINGER``
seconds (mod_sofia deletes the row through its queued SQL, after the event).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import gevent

from esl_controller.simulator.api_registry import ApiRegistry
from esl_controller.simulator.channels.channel import Channel
from esl_controller.simulator.channels.outbound import PhoneDirectory
from esl_controller.simulator.conf.directory import DirectoryUser
from esl_controller.simulator.sim_event import SimEvent

if TYPE_CHECKING:
    from esl_controller.simulator.channels.core import CallCore

REGISTER = ("sofia_reg.c", "sofia_reg_handle_register_token", 2059)
UNREGISTER = ("sofia_reg.c", "sofia_reg_handle_register_token", 2213)
EXPIRE = ("sofia_reg.c", "sofia_reg_del_callback", 726)
DISCONNECT = ("sofia.c", "our_sofia_event_callback", 2089)
# How long a disconnected device's registration outlives its sofia::unregister (on a real
# 1.10.12: still listed 50 ms after the close, gone at 100 ms).
DISCONNECT_LINGER = 0.1
DEFAULT_DEVICE = "phone"
DEVICE_RE = re.compile(r"^[A-Za-z0-9_.\-]{1,32}$")
# Extra devices of a user get SIP ports from here on (the users' first phones use 40000+).
DEVICE_PORTS = 50000
MODES = ("answer", "reject", "busy", "noanswer")
USER_RE = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")


@dataclass
class Phone:
    user: DirectoryUser
    port: int  # the SIP port of the device "phone"
    mode: str = "answer"
    answer_after: float = 1.0
    calls: list[Channel] = field(default_factory=list)
    # The registered devices, in the order they registered, and each device's own port
    # (kept across registrations, so a device's contact does not change).
    devices: list[str] = field(default_factory=list)
    ports: dict[str, int] = field(default_factory=dict)
    # Registrations of each device so far: a disconnected device's late removal leaves
    # alone a registration made after it.
    generation: dict[str, int] = field(default_factory=dict)

    @property
    def registered(self) -> bool:
        return bool(self.devices)

    def port_of(self, device: str) -> int:
        return self.port if device == DEFAULT_DEVICE else self.ports[device]

    def contact(self, device: str) -> str:
        return f'"" <sip:{self.user.id}@127.0.0.1:{self.port_of(device)}>'

    def call_id(self, device: str) -> str:
        return f"sim-{self.user.id}-{self.port_of(device)}@127.0.0.1"


class Phones(PhoneDirectory):
    def __init__(self, users: list[DirectoryUser], fire: Callable[[SimEvent], Any]) -> None:
        self.fire = fire
        self.phones = {u.id: Phone(u, 40000 + n) for n, u in enumerate(users)}
        self._next_port = DEVICE_PORTS

    # -- the directory the user/ endpoint asks ---------------------------------------

    def find(self, user: str, domain: str) -> Phone | None:
        phone = self.phones.get(user)
        if phone is None or not phone.registered:
            return None
        return phone if domain in (phone.user.domain, "") else None

    def registered(self, user: str, domain: str) -> bool:
        return self.find(user, domain) is not None

    def leg_name(self, user: str, domain: str) -> str:
        phone = self.find(user, domain)
        port = phone.port_of(phone.devices[0]) if phone else 5060
        return f"sofia/internal/{user}@127.0.0.1:{port}"

    def ring(self, core: CallCore, leg: Channel, user: str, domain: str) -> None:
        phone = self.find(user, domain)
        if phone is None:
            core.engine.hangup(leg, "USER_NOT_REGISTERED")
            return
        phone.calls.append(leg)
        core.engine.ring(leg)
        mode, delay = phone.mode, phone.answer_after

        def behave() -> None:
            core.sleep(delay if mode == "answer" else 0.2)
            if leg.gone:
                return
            if mode == "answer":
                core.answer(leg)
            elif mode == "reject":
                core.engine.hangup(leg, "CALL_REJECTED")
            elif mode == "busy":
                core.engine.hangup(leg, "USER_BUSY")

        def forget() -> None:
            core.engine.wait_hangup(leg)
            if leg in phone.calls:
                phone.calls.remove(leg)

        gevent.spawn(behave)
        gevent.spawn(forget)

    def add(self, user: str, domain: str | None = None) -> Phone | None:
        """A phone for a directory user the XML lacks (None for a malformed id); the
        domain defaults to the directory's own."""
        if user in self.phones:
            return self.phones[user]
        if not USER_RE.match(user) or (domain is not None and not USER_RE.match(domain)):
            return None
        known = next(iter(self.phones.values()), None)
        where = domain or (known.user.domain if known else "default")
        variables = dict(known.user.domain_variables) if known else {}
        phone = Phone(DirectoryUser(user, where, domain_variables=variables),
                      40000 + len(self.phones))  # fmt: skip
        self.phones[user] = phone
        return phone

    # -- registration ----------------------------------------------------------------

    def register(self, user: str, expires: int = 120, device: str = DEFAULT_DEVICE) -> bool:
        """One device of ``user`` registers (again: a refresh fires the event too)."""
        phone = self.phones.get(user)
        if phone is None:
            return False
        if device != DEFAULT_DEVICE and device not in phone.ports:
            phone.ports[device] = self._next_port
            self._next_port += 1
        if device not in phone.devices:
            phone.devices.append(device)
        phone.generation[device] = phone.generation.get(device, 0) + 1
        u, port = phone.user, phone.port_of(device)
        self.fire(SimEvent("CUSTOM", [
            ("profile-name", "internal"), ("from-user", u.id), ("from-host", u.domain),
            ("presence-hosts", u.domain), ("contact", phone.contact(device)),
            ("call-id", phone.call_id(device)), ("rpid", "unknown"),
            ("status", "Registered(UDP)"), ("expires", str(expires)),
            ("to-user", u.id), ("to-host", u.domain), ("network-ip", "127.0.0.1"),
            ("network-port", str(port)), ("username", u.id), ("realm", u.domain),
            ("user-agent", "callcenter-simulator"), *self._user_headers(phone),
        ], subclass="sofia::register", calling=REGISTER))  # fmt: skip
        return True

    def unregister(self, user: str, device: str | None = None) -> bool:
        """The device (every registered device when None) sends REGISTER with Expires: 0:
        its registration is deleted, then sofia::unregister fires (one per device)."""
        phone = self.phones.get(user)
        leaving = self._leaving(phone, device)
        for name in leaving:
            assert phone is not None
            phone.devices.remove(name)
            u, port = phone.user, phone.port_of(name)
            self.fire(SimEvent("CUSTOM", [
                ("profile-name", "internal"), ("username", u.id), ("from-user", u.id),
                ("from-host", u.domain), ("contact", phone.contact(name)),
                ("call-id", phone.call_id(name)), ("rpid", "unknown"), ("realm", u.domain),
                ("network-ip", "127.0.0.1"), ("network-port", str(port)),
                ("user-agent", "callcenter-simulator"), ("expires", "0"),
                *self._user_headers(phone),
            ], subclass="sofia::unregister", calling=UNREGISTER))  # fmt: skip
        return bool(leaving)

    def expire(self, user: str, device: str | None = None) -> bool:
        """The registrar drops the device's registration (every one when None) because
        it was not refreshed: sofia::expire, with the registration row's own columns
        (``expires`` is its epoch of expiry; no directory variables, unlike unregister)."""
        phone = self.phones.get(user)
        leaving = self._leaving(phone, device)
        for name in leaving:
            assert phone is not None
            phone.devices.remove(name)
            u, port = phone.user, phone.port_of(name)
            self.fire(SimEvent("CUSTOM", [
                ("profile-name", "internal"), ("call-id", phone.call_id(name)),
                ("user", u.id), ("username", u.id), ("host", u.domain),
                ("contact", phone.contact(name)), ("expires", str(int(time.time()))),
                ("user-agent", "callcenter-simulator"), ("realm", u.domain),
                ("network-ip", "127.0.0.1"), ("network-port", str(port)),
            ], subclass="sofia::expire", calling=EXPIRE))  # fmt: skip
        return bool(leaving)

    def disconnect(self, user: str, device: str | None = None) -> bool:
        """The device's WebSocket closes with no un-REGISTER (every registered device's when
        None): sofia::unregister with mod_sofia's socket-disconnection headers (sofia.c,
        nua_i_media_error: no contact, username, realm or expires), then, a moment later,
        the registration row goes."""
        phone = self.phones.get(user)
        leaving = self._leaving(phone, device)
        for name in leaving:
            assert phone is not None
            u = phone.user
            self.fire(SimEvent("CUSTOM", [
                ("profile-name", "internal"), ("from-user", u.id), ("from-host", u.domain),
                ("call-id", phone.call_id(name)), ("rpid", "unknown"),
                ("reason", "socket-disconnection"),
            ], subclass="sofia::unregister", calling=DISCONNECT))  # fmt: skip
            gevent.spawn_later(DISCONNECT_LINGER, self._forget, phone, name,
                               phone.generation.get(name, 0))  # fmt: skip
        return bool(leaving)

    @staticmethod
    def _forget(phone: Phone, device: str, generation: int) -> None:
        if device in phone.devices and phone.generation.get(device, 0) == generation:
            phone.devices.remove(device)

    @staticmethod
    def _leaving(phone: Phone | None, device: str | None) -> list[str]:
        if phone is None:
            return []
        if device is None:
            return list(phone.devices)
        return [device] if device in phone.devices else []

    @staticmethod
    def _user_headers(phone: Phone) -> list[tuple[str, str]]:
        u = phone.user
        headers = [
            ("sip_number_alias", u.id), ("sip_auth_username", u.id), ("sip_auth_realm", u.domain),
            ("number_alias", u.id), ("user_name", u.id), ("domain_name", u.domain),
        ]  # fmt: skip
        headers += list(u.domain_variables.items()) + list(u.variables.items())
        return headers

    def contact_for(self, target: str) -> str | None:
        """``sofia_contact``'s answer: one dial string per registration, joined by commas
        (mod_sofia's contact_callback), or None for ``error/user_not_registered``."""
        user, _, domain = target.partition("@")
        phone = self.find(user, domain)
        if phone is None:
            return None
        return ",".join(f"sofia/internal/sip:{user}@127.0.0.1:{phone.port_of(device)}"
                        for device in phone.devices)  # fmt: skip

    def registration_blocks(self, profile: str, match: str | None) -> list[str]:
        blocks = []
        for phone in self.phones.values():
            if not phone.registered or profile != "internal":
                continue
            if match and match not in phone.user.id:
                continue
            u = phone.user
            blocks += [
                f"Call-ID:    \t{phone.call_id(device)}\nUser:       \t{u.id}@{u.domain}\n"
                f"Contact:    \t{phone.contact(device)}\nAgent:      \tcallcenter-simulator\n"
                f"Status:     \tRegistered(UDP)(unknown) EXP(120) EXPSECS(120)\n"
                f"Ping-Status:\tReachable\nPing-Time:\t0.00\nHost:       \tsim\n"
                f"IP:         \t127.0.0.1\nPort:       \t{phone.port_of(device)}\n"
                f"Auth-User:  \t{u.id}\nAuth-Realm: \t{u.domain}\nMWI-Account:\t{u.id}@{u.domain}\n"
                for device in phone.devices
            ]  # fmt: skip
        return blocks

    # -- sim_ commands ---------------------------------------------------------------

    def _drop(self, action: str) -> Callable[[str, str | None], bool]:
        drops = {"unregister": self.unregister, "expire": self.expire,
                 "disconnect": self.disconnect}  # fmt: skip
        return drops[action]

    def register_api(self, api: ApiRegistry, core: CallCore) -> None:
        def sim_phone(args: str) -> str:
            words = args.split()
            if len(words) < 2:
                return "-ERR usage: sim_phone <user> register|unregister|expire|disconnect [device]|answer [s]|reject|busy|noanswer|hangup|add [domain]\n"  # noqa: E501
            if words[1] == "add":
                added = self.add(words[0], words[2] if len(words) > 2 else None)
                return "+OK\n" if added is not None else f"-ERR bad user {words[0]}\n"
            phone = self.phones.get(words[0])
            if phone is None:
                return f"-ERR no such user {words[0]}\n"
            action = words[1]
            if action in ("register", "unregister", "expire", "disconnect"):
                device = words[2] if len(words) > 2 else None
                if device is not None and not DEVICE_RE.match(device):
                    return f"-ERR bad device {device[:40]}\n"
                if action == "register":
                    self.register(phone.user.id, device=device or DEFAULT_DEVICE)
                elif not self._drop(action)(phone.user.id, device) and device is not None:
                    return f"-ERR {phone.user.id} has no registered device {device}\n"
            elif action in MODES:
                phone.mode = action
                if action == "answer" and len(words) > 2:
                    try:
                        phone.answer_after = max(0.0, float(words[2]))
                    except ValueError:
                        return "-ERR answer delay must be seconds\n"
            elif action == "hangup":
                for leg in list(phone.calls):
                    gevent.spawn(core.engine.hangup, leg, "NORMAL_CLEARING")
            else:
                return f"-ERR unknown action {action}\n"
            return "+OK\n"

        def sim_phones(args: str) -> str:
            lines = [f"{p.user.id}|{'registered' if p.registered else 'offline'}|{p.mode}"
                     for p in self.phones.values()]  # fmt: skip
            return "user|registration|mode\n" + "\n".join(lines) + "\n+OK\n"

        api.register("sim_phone", sim_phone)
        api.register("sim_phones", sim_phones)
