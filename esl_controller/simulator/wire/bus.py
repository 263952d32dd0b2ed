"""The simulator's event bus: stamp events like FreeSWITCH's core, deliver to sessions.

Every FreeSWITCH event starts with the same block (``switch_event_prep_for_delivery``):
Event-Name, Core-UUID, FreeSWITCH-Hostname / -Switchname / -IPv4 / -IPv6, the three
Event-Date-* headers, Event-Calling-File / -Function / -Line-Number and Event-Sequence.
CUSTOM events carry Event-Subclass *before* Event-Name (it is added when the event is
created, the rest at fire time). Event-Sequence is one counter for the whole process,
and delivery happens in sequence order.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import formatdate

from esl_controller.simulator.sim_event import SimEvent
from esl_controller.simulator.wire.encode import Header


@dataclass(slots=True)
class StampedEvent:
    """A fired event: its full header list (raw values) and body, ready to serialize."""

    name: str
    subclass: str | None
    headers: list[Header]
    body: str | None
    sequence: int
    # Serialized payloads per format, built at most once whatever the listener count.
    cache: dict[str, bytes] = field(default_factory=dict)

    def get(self, name: str) -> str | None:
        for key, value in self.headers:
            if key == name:
                return value
        return None


@dataclass(slots=True)
class HostIdentity:
    hostname: str = "sim"
    ipv4: str = "127.0.0.1"
    ipv6: str = "::1"
    core_uuid: str = field(default_factory=lambda: str(uuid.uuid4()))


Listener = Callable[[StampedEvent], None]


class EventBus:
    """Stamps SimEvents and hands them to every listener, in Event-Sequence order."""

    def __init__(self, host: HostIdentity, clock: Callable[[], float] = time.time) -> None:
        self.host = host
        self.clock = clock
        self.sequence = 0
        self._listeners: list[Listener] = []

    def add_listener(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def remove_listener(self, listener: Listener) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def stamp(self, event: SimEvent) -> StampedEvent:
        self.sequence += 1
        now = self.clock()
        micros = int(now * 1_000_000)
        local = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(now))
        gmt = formatdate(now, usegmt=True)
        calling_file, calling_func, calling_line = event.calling
        headers: list[Header] = []
        if event.subclass is not None:
            headers.append(("Event-Subclass", event.subclass))
        headers += [
            ("Event-Name", event.name),
            ("Core-UUID", self.host.core_uuid),
            ("FreeSWITCH-Hostname", self.host.hostname),
            ("FreeSWITCH-Switchname", self.host.hostname),
            ("FreeSWITCH-IPv4", self.host.ipv4),
            ("FreeSWITCH-IPv6", self.host.ipv6),
            ("Event-Date-Local", local),
            ("Event-Date-GMT", gmt),
            ("Event-Date-Timestamp", str(micros)),
            ("Event-Calling-File", calling_file),
            ("Event-Calling-Function", calling_func),
            ("Event-Calling-Line-Number", str(calling_line)),
            ("Event-Sequence", str(self.sequence)),
        ]
        headers += event.headers
        return StampedEvent(event.name, event.subclass, headers, event.body, self.sequence)

    def fire(self, event: SimEvent) -> StampedEvent:
        stamped = self.stamp(event)
        for listener in list(self._listeners):
            listener(stamped)
        return stamped
