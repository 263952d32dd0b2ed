"""What a simulated FreeSWITCH module hands to the event bus when it fires an event.

Modules (core, mod_callcenter, channels, sofia) describe only what is specific to their
event; the bus adds the headers every FreeSWITCH event starts with (Core-UUID, hostname,
addresses, dates, Event-Calling-*, Event-Sequence) in FreeSWITCH's order, then serializes
it per connection (plain, json or xml).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(slots=True)
class SimEvent:
    """An event before the bus stamps and serializes it.

    ``headers`` are the event-specific headers, in the order FreeSWITCH adds them after
    ``Event-Sequence``, with raw (not URL-encoded) values. ``calling`` is the
    ``Event-Calling-File``, ``-Function`` and ``-Line-Number`` FreeSWITCH would report.
    For CUSTOM events ``subclass`` is the Event-Subclass (``callcenter::info``), which
    FreeSWITCH writes *before* Event-Name.
    """

    name: str
    headers: list[tuple[str, str]] = field(default_factory=list)
    subclass: str | None = None
    calling: tuple[str, str, int] = ("switch_event.c", "switch_event_fire_detailed", 0)
    body: str | None = None
