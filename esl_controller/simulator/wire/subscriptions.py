"""Which events one ESL connection receives: ``event``, ``nixevent``, ``noevents``,
``filter`` and inbound ``myevents``, with mod_event_socket's exact texts and semantics.

The state mirrors the listener's: an ``event_list`` of event types (``ALL`` is one of
them), a hash of CUSTOM subclasses, the EVENTS flag, filters and the MYEVENTS flag.
* ``event``: only the *first* word may be a format (plain/json/xml) and it changes the
  format even when the reply is ``-ERR no keywords supplied``; every word after
  ``CUSTOM`` is a subclass (subclasses do not count as keywords, CUSTOM does); unknown
  names are ignored. ``ALL`` sets every type and copies every reserved subclass.
* ``nixevent X`` under ALL means "everything but X"; ``nixevent ALL`` clears the types
  but not the subclasses.
* delivery (``event_handler``): ALL passes everything; otherwise the type must be on and a
  CUSTOM event's subclass in the hash. Then filters: once one exists, an event passes
  only if a ``+`` filter matches one of its headers (case-insensitive, or a regex when the
  filter value *as typed* starts with ``/``) and no ``-`` filter matched first. Then
  MYEVENTS keeps only events with a Unique-ID (of the bound channel, if any).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from esl_controller.simulator.wire.bus import StampedEvent

FORMATS = ("plain", "json", "xml")

# switch_event.c EVENT_NAMES, in order (ALL is last).
EVENT_NAMES = (  # noqa: SIM905 - a word list, as in the C source
    "CUSTOM CLONE CHANNEL_CREATE CHANNEL_DESTROY CHANNEL_STATE CHANNEL_CALLSTATE "
    "CHANNEL_ANSWER CHANNEL_HANGUP CHANNEL_HANGUP_COMPLETE CHANNEL_EXECUTE "
    "CHANNEL_EXECUTE_COMPLETE CHANNEL_HOLD CHANNEL_UNHOLD CHANNEL_BRIDGE "
    "CHANNEL_UNBRIDGE CHANNEL_PROGRESS CHANNEL_PROGRESS_MEDIA CHANNEL_OUTGOING "
    "CHANNEL_PARK CHANNEL_UNPARK CHANNEL_APPLICATION CHANNEL_ORIGINATE CHANNEL_UUID API "
    "LOG INBOUND_CHAN OUTBOUND_CHAN STARTUP SHUTDOWN PUBLISH UNPUBLISH TALK NOTALK "
    "SESSION_CRASH MODULE_LOAD MODULE_UNLOAD DTMF MESSAGE PRESENCE_IN NOTIFY_IN "
    "PRESENCE_OUT PRESENCE_PROBE MESSAGE_WAITING MESSAGE_QUERY ROSTER CODEC "
    "BACKGROUND_JOB DETECTED_SPEECH DETECTED_TONE PRIVATE_COMMAND HEARTBEAT TRAP "
    "ADD_SCHEDULE DEL_SCHEDULE EXE_SCHEDULE RE_SCHEDULE RELOADXML NOTIFY PHONE_FEATURE "
    "PHONE_FEATURE_SUBSCRIBE SEND_MESSAGE RECV_MESSAGE REQUEST_PARAMS CHANNEL_DATA "
    "GENERAL COMMAND SESSION_HEARTBEAT CLIENT_DISCONNECTED SERVER_DISCONNECTED SEND_INFO "
    "RECV_INFO RECV_RTCP_MESSAGE SEND_RTCP_MESSAGE CALL_SECURE NAT RECORD_START "
    "RECORD_STOP PLAYBACK_START PLAYBACK_STOP CALL_UPDATE FAILURE SOCKET_DATA "
    "MEDIA_BUG_START MEDIA_BUG_STOP CONFERENCE_DATA_QUERY CONFERENCE_DATA CALL_SETUP_REQ "
    "CALL_SETUP_RESULT CALL_DETAIL DEVICE_STATE TEXT SHUTDOWN_REQUESTED ALL"
).split()
_BY_NAME = {name.upper(): name for name in EVENT_NAMES}
KNOWN_EVENTS = frozenset(EVENT_NAMES)

# The channel events inbound "myevents <uuid>" turns on.
MYEVENTS = frozenset(
    (  # noqa: SIM905
        "CHANNEL_ANSWER CHANNEL_APPLICATION CHANNEL_BRIDGE CHANNEL_CREATE CHANNEL_DATA "
        "CHANNEL_DESTROY CHANNEL_EXECUTE CHANNEL_EXECUTE_COMPLETE CHANNEL_HANGUP "
        "CHANNEL_HANGUP_COMPLETE CHANNEL_ORIGINATE CHANNEL_UUID CHANNEL_OUTGOING "
        "CHANNEL_PARK CHANNEL_PROGRESS CHANNEL_PROGRESS_MEDIA CHANNEL_STATE CHANNEL_UNBRIDGE "
        "CHANNEL_UNPARK DETECTED_SPEECH DTMF NOTALK TALK"
    ).split()
)


def name_event(word: str) -> str | None:
    """``switch_name_event``: case-insensitive, and a 14+ character word also matches by
    what follows its 13th character (``SWITCH_EVENT_HEARTBEAT``)."""
    if len(word) > 13 and word[13:].upper() in _BY_NAME:
        return _BY_NAME[word[13:].upper()]
    return _BY_NAME.get(word.upper())


@dataclass
class Subscriptions:
    fmt: str = "plain"
    listening: bool = False  # LFLAG_EVENTS
    event_list: set[str] = field(default_factory=set)
    subclasses: set[str] = field(default_factory=set)
    filters: list[tuple[str, str]] = field(default_factory=list)
    myevents: bool = False
    session_uuid: str | None = None
    # Where "event ... ALL" finds the reserved subclasses (switch_event_get_custom_events).
    reserved: Callable[[], set[str]] = field(default=set)

    # -- commands: each takes the words after the command and returns the Reply-Text --

    def event_command(self, words: list[str]) -> str:
        custom = False
        keys = 0
        for index, word in enumerate(words):
            if index == 0 and word.lower() in FORMATS:
                self.fmt = word.lower()
                continue
            if custom:
                self.subclasses.add(word)
                continue
            name = name_event(word)
            if name is None:
                continue
            keys += 1
            if name == "ALL":
                self.event_list.update(EVENT_NAMES)
                self.subclasses.update(self.reserved())
            self.event_list.add(name)
            if name == "CUSTOM":
                custom = True
        if not keys:
            return "-ERR no keywords supplied"
        self.listening = True
        return f"+OK event listener enabled {self.fmt}"

    def nixevent_command(self, words: list[str]) -> str:
        custom = False
        keys = 0
        for word in words:
            if custom:
                self.subclasses.discard(word)
                continue
            name = name_event(word)
            if name is None:
                continue
            keys += 1
            if name == "CUSTOM":
                custom = True
            elif name == "ALL":
                self.event_list.clear()
            else:
                if "ALL" in self.event_list:
                    self.event_list.update(EVENT_NAMES)
                    self.event_list.discard("ALL")
                self.event_list.discard(name)
        if not keys:
            return "-ERR no keywords supplied"
        self.listening = True
        return "+OK events nixed"

    def noevents_command(self) -> str:
        if not self.listening:
            return "-ERR not listening for events"
        self.listening = False
        self.event_list.clear()
        self.subclasses.clear()
        return "+OK no longer listening for events"

    def filter_command(self, rest: str) -> str:
        """``filter <rest>``: the header is the first word, the value everything after the
        next space (spaces included); ``add`` and ``delete`` shift by one word."""
        name, sep, value = rest.lstrip(" ").partition(" ")
        if name.lower() == "delete" and sep:
            name, sep, value = value.partition(" ")
            if name.lower() == "all":
                self.filters.clear()
            else:
                self._delete_filter(name, value if sep else None)
            return f"+OK filter deleted. [{name}][{value if sep else ''}]"
        if not sep:
            return "-ERR invalid syntax"
        if name.lower() == "add":
            name, sep, value = value.partition(" ")
            if not sep:
                # FreeSWITCH prints the NULL value and adds nothing.
                return f"+OK filter added. [{name}]=[(null)]"
        if value:
            self.filters.append((name, value))
        else:
            # Adding an empty value deletes that header (switch_event_add_header_string).
            self._delete_filter(name, None)
        return f"+OK filter added. [{name}]=[{value}]"

    def _delete_filter(self, name: str, value: str | None) -> None:
        # switch_event_del_header_val: names case-insensitively, the value exactly.
        self.filters = [
            (n, v)
            for n, v in self.filters
            if not (n.lower() == name.lower() and (not value or v == value))
        ]

    def bind_myevents(self, session_uuid: str | None) -> None:
        self.event_list.update(MYEVENTS)
        self.myevents = True
        self.listening = True
        self.session_uuid = session_uuid

    # -- delivery ----------------------------------------------------------------------

    def wants(self, event: StampedEvent) -> bool:
        if not self.listening:
            return False
        event_list = self.event_list
        if "ALL" not in event_list:
            if event.name not in event_list:
                return False
            if event.name == "CUSTOM" and event.subclass and event.subclass not in self.subclasses:
                return False
        if self.filters and not self._passes_filters(event):
            return False
        if self.myevents:
            return self._mine(event)
        return True

    def _mine(self, event: StampedEvent) -> bool:
        unique_id = _header(event, "Unique-ID")
        send = unique_id is not None and (
            self.session_uuid is None or unique_id == self.session_uuid
        )
        if self.session_uuid is not None and _header(event, "Job-Owner-UUID") == self.session_uuid:
            send = True
        return send

    def _passes_filters(self, event: StampedEvent) -> bool:
        send = False
        for name, typed in self.filters:
            value = _header(event, name)
            if value is None:
                continue
            wanted = typed
            positive = True
            while wanted and wanted[0] in "+- ":
                if wanted[0] != " ":
                    positive = wanted[0] == "+"
                wanted = wanted[1:]
            if send and positive:
                continue
            if typed.startswith("/"):
                matched = _regex_match(value, wanted)
            else:
                matched = value.lower() == wanted.lower()
            if matched:
                if not positive:
                    return False
                send = True
        return send


def _header(event: StampedEvent, name: str) -> str | None:
    """``switch_event_get_header``: header names compare case-insensitively."""
    lower = name.lower()
    for key, value in event.headers:
        if key.lower() == lower:
            return value
    return None


_REGEX_CACHE: dict[str, re.Pattern[str] | None] = {}


def _regex_match(value: str, expression: str) -> bool:
    """``switch_regex_perform`` on ``/pattern/flags`` (``i`` caseless, ``s`` dot-all); a
    value without its closing slash or with a bad pattern matches nothing."""
    if expression not in _REGEX_CACHE:
        compiled = None
        end = expression.rfind("/")
        if end > 0:
            options = expression[end + 1 :]
            flags = (re.IGNORECASE if "i" in options else 0) | (re.DOTALL if "s" in options else 0)
            try:
                compiled = re.compile(expression[1:end], flags)
            except re.error:
                compiled = None
        _REGEX_CACHE[expression] = compiled
    compiled = _REGEX_CACHE[expression]
    return compiled is not None and compiled.search(value) is not None
