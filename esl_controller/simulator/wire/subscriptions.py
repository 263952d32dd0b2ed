"""Which events one ESL connection receives: ``event``, ``nixevent``, ``noevents``, ``filter``.

Semantics follow mod_event_socket:
* after ``CUSTOM`` every word is a subclass; ``ALL`` takes every event, subclasses too;
  ``nixevent X`` under ALL means "all but X";
* the format word (plain/json/xml) of the *last* ``event`` command applies to everything;
* once a filter exists an event passes only if a positive filter matches one of its
  headers (case-insensitive, or ``/regex/``); a ``-`` filter that matches vetoes it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from esl_controller.simulator.wire.bus import StampedEvent

FORMATS = ("plain", "json", "xml")

# The event names FreeSWITCH knows (switch_event.c EVENT_NAMES) that matter here; an
# unknown word in "event ..." is ignored as FreeSWITCH ignores it.
KNOWN_EVENTS = frozenset(
    [
        "CUSTOM",
        "CLONE",
        "CHANNEL_CREATE",
        "CHANNEL_DESTROY",
        "CHANNEL_STATE",
        "CHANNEL_CALLSTATE",
        "CHANNEL_ANSWER",
        "CHANNEL_HANGUP",
        "CHANNEL_HANGUP_COMPLETE",
        "CHANNEL_EXECUTE",
        "CHANNEL_EXECUTE_COMPLETE",
        "CHANNEL_HOLD",
        "CHANNEL_UNHOLD",
        "CHANNEL_BRIDGE",
        "CHANNEL_UNBRIDGE",
        "CHANNEL_PROGRESS",
        "CHANNEL_PROGRESS_MEDIA",
        "CHANNEL_OUTGOING",
        "CHANNEL_PARK",
        "CHANNEL_UNPARK",
        "CHANNEL_APPLICATION",
        "CHANNEL_ORIGINATE",
        "CHANNEL_UUID",
        "API",
        "LOG",
        "INBOUND_CHAN",
        "OUTBOUND_CHAN",
        "STARTUP",
        "SHUTDOWN",
        "PUBLISH",
        "UNPUBLISH",
        "TALK",
        "NOTALK",
        "SESSION_CRASH",
        "MODULE_LOAD",
        "MODULE_UNLOAD",
        "DTMF",
        "MESSAGE",
        "PRESENCE_IN",
        "NOTIFY_IN",
        "PRESENCE_OUT",
        "PRESENCE_PROBE",
        "MESSAGE_WAITING",
        "MESSAGE_QUERY",
        "ROSTER",
        "CODEC",
        "BACKGROUND_JOB",
        "DETECTED_SPEECH",
        "DETECTED_TONE",
        "PRIVATE_COMMAND",
        "HEARTBEAT",
        "TRAP",
        "ADD_SCHEDULE",
        "DEL_SCHEDULE",
        "EXE_SCHEDULE",
        "RE_SCHEDULE",
        "RELOADXML",
        "NOTIFY",
        "PHONE_FEATURE",
        "PHONE_FEATURE_SUBSCRIBE",
        "SEND_MESSAGE",
        "RECV_MESSAGE",
        "REQUEST_PARAMS",
        "CHANNEL_DATA",
        "GENERAL",
        "COMMAND",
        "SESSION_HEARTBEAT",
        "CLIENT_DISCONNECTED",
        "SERVER_DISCONNECTED",
        "SEND_INFO",
        "RECV_INFO",
        "RECV_RTCP_MESSAGE",
        "SEND_RTCP_MESSAGE",
        "CALL_SECURE",
        "NAT",
        "RECORD_START",
        "RECORD_STOP",
        "PLAYBACK_START",
        "PLAYBACK_STOP",
        "CALL_UPDATE",
        "FAILURE",
        "SOCKET_DATA",
        "MEDIA_BUG_START",
        "MEDIA_BUG_STOP",
        "CONFERENCE_DATA_QUERY",
        "CONFERENCE_DATA",
        "CALL_SETUP_REQ",
        "CALL_SETUP_RESULT",
        "CALL_DETAIL",
        "DEVICE_STATE",
        "TEXT",
        "SHUTDOWN_REQUESTED",
        "ALL",
    ]
)


@dataclass
class Filter:
    header: str
    value: str


@dataclass
class Subscriptions:
    listening: bool = False
    fmt: str = "plain"
    all_events: bool = False
    events: set[str] = field(default_factory=set)
    excluded: set[str] = field(default_factory=set)
    subclasses: set[str] = field(default_factory=set)
    filters: list[Filter] = field(default_factory=list)

    def subscribe(self, words: list[str]) -> str:
        custom = False
        count = 0
        for word in words:
            lower = word.lower()
            if custom:
                self.subclasses.add(word)
                count += 1
            elif lower in FORMATS:
                self.fmt = lower
            elif word.upper() == "CUSTOM":
                custom = True
            elif word.upper() == "ALL":
                self.all_events = True
                self.excluded.clear()
                count += 1
            elif word.upper() in KNOWN_EVENTS:
                self.events.add(word.upper())
                self.excluded.discard(word.upper())
                count += 1
        if not count:
            return "-ERR no keywords supplied"
        self.listening = True
        return f"+OK event listener enabled {self.fmt}"

    def unsubscribe(self, words: list[str]) -> str:
        custom = False
        count = 0
        for word in words:
            if custom:
                self.subclasses.discard(word)
                count += 1
            elif word.upper() == "CUSTOM":
                custom = True
            elif word.upper() == "ALL":
                self.all_events = False
                self.events.clear()
                count += 1
            elif word.upper() in KNOWN_EVENTS:
                self.events.discard(word.upper())
                if self.all_events:
                    self.excluded.add(word.upper())
                count += 1
        return "+OK events nixed" if count else "-ERR no keywords supplied"

    def clear(self) -> str:
        if not self.listening:
            return "-ERR not listening for events"
        self.listening = False
        self.all_events = False
        self.events.clear()
        self.excluded.clear()
        self.subclasses.clear()
        return "+OK no longer listening for events"

    def filter_command(self, args: str) -> str:
        words = args.split(" ", 2)
        if words and words[0].lower() == "delete":
            header = words[1] if len(words) > 1 else ""
            value = words[2] if len(words) > 2 else ""
            if not header:
                return "-ERR invalid syntax"
            if header.lower() == "all":
                self.filters.clear()
            else:
                self.filters = [
                    f
                    for f in self.filters
                    if not (f.header == header and (not value or f.value == value))
                ]
            return f"+OK filter deleted. [{header}][{value}]"
        words = args.split()
        if words and words[0].lower() == "add":
            words = words[1:]
        if len(words) < 2:
            return "-ERR invalid syntax"
        header, value = words[0], " ".join(words[1:])
        self.filters.append(Filter(header, value))
        return f"+OK filter added. [{header}]=[{value}]"

    def wants(self, event: StampedEvent) -> bool:
        if not self.listening:
            return False
        name = event.name
        if self.all_events:
            if name in self.excluded:
                return False
        elif name == "CUSTOM":
            if event.subclass not in self.subclasses:
                return False
        elif name not in self.events:
            return False
        return not self.filters or self._passes_filters(event)

    def _passes_filters(self, event: StampedEvent) -> bool:
        send = False
        for flt in self.filters:
            value = event.get(flt.header)
            if value is None:
                continue
            wanted = flt.value
            positive = True
            while wanted and wanted[0] in "+- ":
                if wanted[0] == "-":
                    positive = False
                elif wanted[0] == "+":
                    positive = True
                wanted = wanted[1:]
            if send and positive:
                continue
            if len(wanted) > 1 and wanted.startswith("/") and wanted.endswith("/"):
                try:
                    matched = re.search(wanted[1:-1], value) is not None
                except re.error:
                    matched = False
            else:
                matched = value.lower() == wanted.lower()
            if matched:
                if not positive:
                    return False
                send = True
        return send
