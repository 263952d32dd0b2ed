"""Values from FreeSWITCH made safe to store and show: bounded, printable, valid text.

Whatever a caller puts in a SIP ``From`` display name or number reaches us through
FreeSWITCH unchanged: ESL event headers are URL-decoded, so ``%00`` becomes a NUL, ``%0A``
a line break and a byte that is not UTF-8 becomes U+FFFD; a caller can also send a
10,000-character name. PostgreSQL refuses a NUL in text and a value longer than its
column, and a refused row must never stop the history, so values are cleaned here,
*before* they reach the database — never rejected:

* control characters (C0, DEL) become their visible Unicode "control pictures" (NUL is
  shown as ``␀``, a line feed as ``␊``), C1 controls, lone surrogates and characters that
  reorder text on screen (bidi overrides) become U+FFFD, so what was sent stays visible
  and nothing can break a line, a log or a page's layout;
* a value longer than its limit is cut and ends with ``…`` (the mark counts in the
  limit), so a reader sees it was cut;
* anything that is not text (bytes, numbers) is turned into text first; bytes that are
  not UTF-8 become U+FFFD.

Pure functions: no gevent, no SQLAlchemy; the recorder applies them with the column
sizes of its tables, and the floor may use them for display.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

MARK = "…"
REPLACEMENT = "\ufffd"
# Characters that change the direction of the text around them: a name holding them can
# make a number read backwards on an agent's screen.
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f")
# How much of a nested value (an audit entry's details) is kept.
MAX_DEPTH = 4
MAX_ITEMS = 50
MAX_NESTED_TEXT = 1000
# Free text (notes) kept in a column without a length: line breaks and tabs stay.
MAX_FREE_TEXT = 20_000
FREE_TEXT_KEEPS = "\n\r\t"


def _visible(char: str, keep: str = "") -> str:
    if char in keep:
        return char
    code = ord(char)
    if code < 0x20:
        return chr(0x2400 + code)  # ␀ ␁ ... ␟
    if code == 0x7F:
        return "\u2421"  # ␡
    if 0x80 <= code <= 0x9F or 0xD800 <= code <= 0xDFFF or char in BIDI_CONTROLS:
        return REPLACEMENT
    return char


def _needs_cleaning(text: str) -> bool:
    for char in text:
        code = ord(char)
        if code < 0x20 or 0x7F <= code <= 0x9F or 0xD800 <= code <= 0xDFFF:
            return True
        if char in BIDI_CONTROLS:
            return True
    return False


def as_text(value: Any) -> str:
    """Any value as text: bytes are decoded as UTF-8 (bad bytes become U+FFFD)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).decode("utf-8", "replace")
    return str(value)


def printable(value: Any, keep: str = "") -> str:
    """``value`` as text with every control character made visible (see module doc),
    except those in ``keep`` (line breaks and tabs in notes an agent typed)."""
    text = as_text(value)
    if not _needs_cleaning(text):
        return text
    return "".join(_visible(c, keep) for c in text)


def truncate(text: str, limit: int, mark: str = MARK) -> str:
    """``text`` cut to at most ``limit`` characters, ending with ``mark`` when cut."""
    if limit <= 0:
        return ""
    if len(text) <= limit:
        return text
    if limit <= len(mark):
        return text[:limit]
    return text[: limit - len(mark)] + mark


def bounded_text(value: Any, limit: int) -> str:
    """A value from FreeSWITCH, safe for a column of ``limit`` characters: printable,
    valid UTF-8, and cut with a visible mark when too long."""
    # Cut first (cheap on a 10,000-character name), then clean what is kept; cleaning
    # replaces one character by one character, so the length holds.
    text = as_text(value)
    return printable(truncate(text, limit))


def optional_text(value: Any, limit: int) -> str | None:
    """As :func:`bounded_text`, keeping None as None."""
    return None if value is None else bounded_text(value, limit)


def finite(value: Any) -> float | None:
    """A number of seconds that the database can store (None for NaN, ±inf or non-numbers)."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def epoch(value: Any) -> float | None:
    """An epoch time a datetime can hold (years 1 to 9999); anything else is None."""
    number = finite(value)
    if number is None or not -62_135_596_800.0 <= number <= 253_402_300_799.0:
        return None
    return number


def bounded_json(value: Any, depth: int = 0) -> Any:
    """A JSON-able copy of ``value`` with every string cleaned and bounded, lists and maps
    capped at ``MAX_ITEMS`` and nesting at ``MAX_DEPTH`` (for audit details)."""
    if value is None or isinstance(value, int):  # bool is an int
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if depth >= MAX_DEPTH:
        return bounded_text(repr(value), MAX_NESTED_TEXT)
    if isinstance(value, Mapping):
        items = list(value.items())[:MAX_ITEMS]
        return {bounded_text(k, 128): bounded_json(v, depth + 1) for k, v in items}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [bounded_json(v, depth + 1) for v in list(value)[:MAX_ITEMS]]
    return bounded_text(value, MAX_NESTED_TEXT)


def bounded_record(record: Mapping[str, Any], limits: Mapping[str, int | None]) -> dict[str, Any]:
    """A copy of ``record`` where every text field named in ``limits`` is bounded to its
    limit (``None``: a free-text column, cut at ``MAX_FREE_TEXT`` and keeping line
    breaks); other fields are kept as they are."""
    out = dict(record)
    for key, value in record.items():
        if key not in limits or value is None:
            continue
        if isinstance(value, (str, bytes, bytearray, memoryview)):
            limit = limits[key]
            out[key] = bounded_text(value, limit) if limit is not None else free_text(value)
    return out


def free_text(value: Any, limit: int = MAX_FREE_TEXT) -> str:
    """Text someone typed (notes): bounded and cleaned, line breaks and tabs kept."""
    return printable(truncate(as_text(value), limit), keep=FREE_TEXT_KEEPS)
