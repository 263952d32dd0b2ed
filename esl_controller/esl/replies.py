"""Reply parsers: FreeSWITCH's api output turned into values or typed errors.

The replies are not uniform (README quirks 4-8): most end with a newline, ``agent get``
prints a bare value with no ``+OK``, an empty output reads ``-ERR no reply`` (which is
success for ``callcenter_break``), ``uuid_answer`` fails with ``-ERROR``, list tables end
with a ``+OK`` line and an empty one is *only* ``+OK``, and ``show ... as json`` leaves out
``rows`` when there are none. Tables are read by their header row, never by position.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection
from typing import Any

from esl_controller.errors import CommandFailed, EslProtocolError, NotFound
from esl_controller.esl.frames import ascii_int

NO_REPLY = "-ERR no reply"

NOT_FOUND_TEXTS = (
    "-ERR Agent not found!",
    "-ERR No such channel!",
    "-ERR Invalid Queue not found!",
    "-ERR Queue not found!",
    "-ERR invalid uuid",
    "-ERR Invalid uuid",
    "-ERR Cannot locate session!",
    "-ERR Session not found",
)


def _fail(text: str) -> CommandFailed:
    line = text.strip().splitlines()[0] if text.strip() else "-ERR"
    message = line[4:].strip() if line.startswith("-ERR") else line.lstrip("-").strip()
    if line.startswith(NOT_FOUND_TEXTS):
        return NotFound(message or line, reply=text)
    return CommandFailed(message or line, reply=text)


def is_error(text: str) -> bool:
    return text.startswith(("-ERR", "-ERROR", "-USAGE"))


def expect_ok(text: str, *, no_reply_ok: bool = False) -> str:
    """``+OK [rest]`` -> rest; ``-ERR ...``/``-ERROR`` -> CommandFailed or NotFound."""
    body = text.rstrip("\n")
    if no_reply_ok and body == NO_REPLY:
        return ""
    if body.startswith("+OK"):
        return body[3:].strip()
    raise _fail(text)


def bare_value(text: str) -> str | None:
    """``agent get status|state|uuid``: the value itself, no +OK (``-ERR no reply`` when
    the value is empty, as for an agent without a uuid)."""
    if text.rstrip("\n") == NO_REPLY:
        return None
    if is_error(text):
        raise _fail(text)
    return text.rstrip("\n") or None


def count(text: str) -> int:
    if is_error(text):
        raise _fail(text)
    number = ascii_int(text)
    if number is None:
        raise EslProtocolError(f"expected a count, got {text.strip()[:40]!r}")
    return number


def pipe_table(text: str, *, free_column: str = "contact") -> list[dict[str, str]]:
    """A ``callcenter_config ... list`` table as rows keyed by its header row.

    Values are not escaped, so a ``|`` inside a contact (failover dial strings use it)
    yields extra fields: they are folded back into ``free_column``.
    """
    if is_error(text):
        raise _fail(text)
    lines = [line for line in text.split("\n") if line != ""]
    if not lines or lines[-1] != "+OK":
        raise EslProtocolError("list output does not end with +OK")
    lines = lines[:-1]
    if not lines:
        return []
    header = lines[0].split("|")
    rows = []
    for line in lines[1:]:
        fields = line.split("|")
        surplus = len(fields) - len(header)
        if surplus > 0 and free_column in header:
            at = header.index(free_column)
            fields[at : at + surplus + 1] = ["|".join(fields[at : at + surplus + 1])]
        if len(fields) != len(header):
            raise EslProtocolError(f"row has {len(fields)} fields, header has {len(header)}")
        rows.append(dict(zip(header, fields, strict=True)))
    return rows


def show_json(text: str, columns: Collection[str] | None = None) -> list[dict[str, Any]]:
    """``show channels|calls as json``: rows, or [] for ``{"row_count": 0}`` (no rows).
    With ``columns`` each row keeps only those (a floor's channel list is tens of MB of
    columns when read whole)."""
    if is_error(text):
        raise _fail(text)

    keep = frozenset(columns or ())

    def only(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        if any(key in ("rows", "row_count") for key, _ in pairs):
            return dict(pairs)  # the outer object
        return {key: value for key, value in pairs if key in keep}

    try:
        data = json.loads(text, object_pairs_hook=only) if columns is not None else json.loads(text)
    except ValueError as exc:
        raise EslProtocolError(f"show output is not json: {exc}") from exc
    if not isinstance(data, dict):
        raise EslProtocolError("show output is not an object")
    rows = data.get("rows", [])
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise EslProtocolError("show rows are not objects")
    return rows


def json_api(text: str) -> list[dict[str, Any]]:
    """The ``json {"command":"callcenter_config",...}`` reply: the response rows."""
    if is_error(text):
        raise _fail(text)
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise EslProtocolError(f"json api reply is not json: {exc}") from exc
    if not isinstance(data, dict):
        raise EslProtocolError("json api reply is not an object")
    if data.get("status") != "success":
        detail = data.get("response")
        extra = f": {detail.get('error')}" if isinstance(detail, dict) else ""
        raise CommandFailed(f"{data.get('message', 'error')}{extra}", reply=text)
    rows = data.get("response", [])
    return rows if isinstance(rows, list) else []


def originate(text: str) -> str:
    """``+OK <uuid>`` -> the uuid; ``-ERR NO_ANSWER`` -> CommandFailed(code=cause)."""
    body = text.strip()
    if body.startswith("+OK "):
        return body[4:].strip()
    cause = body[4:].strip() if body.startswith("-ERR") else body
    raise CommandFailed(f"call failed: {cause}", reply=text, code=f"originate_{cause.lower()}")


def job_uuid(reply_text: str) -> str:
    """bgapi's ``Reply-Text: +OK Job-UUID: <uuid>``."""
    prefix = "+OK Job-UUID: "
    if not reply_text.startswith(prefix):
        raise _fail(reply_text)
    return reply_text[len(prefix) :].strip()


def sofia_contact(text: str) -> str | None:
    body = text.strip()
    if body.startswith("error/"):
        return None
    if is_error(body):
        raise _fail(text)
    return body or None


NOT_REGISTERED = "error/user_not_registered"
_CONTACT_PREFIX = re.compile(r"^sofia/[^/\s,]+/sips?:", re.IGNORECASE)
_URI = re.compile(r"sips?:([^;>\s,?]+)", re.IGNORECASE)


def sofia_contacts(text: str) -> list[str]:
    """``sofia_contact [profile/]user@domain`` -> one dial string per registration
    (``sofia/<profile>/sip:<contact>``, joined by commas in the reply); ``[]`` for
    ``error/user_not_registered``, the only answer mod_sofia gives when the user has no
    registration. Anything else (``-ERR ... Command not found`` without mod_sofia, an
    empty reply, text that is no contact) -> CommandFailed: the caller cannot tell."""
    body = text.strip()
    if body == NOT_REGISTERED:
        return []
    if is_error(body):
        raise _fail(text)
    if not _CONTACT_PREFIX.match(body):
        raise CommandFailed(f"unexpected sofia_contact reply: {body[:80]!r}", reply=text)
    contacts: list[str] = []
    for part in body.split(","):
        if _CONTACT_PREFIX.match(part) or not contacts:
            contacts.append(part)
        else:  # a comma inside a contact's parameters, not between two contacts
            contacts[-1] += "," + part
    return contacts


def contact_address(contact: str) -> str:
    """The ``user@host:port`` of a SIP contact, to tell registrations apart: the same for
    a sofia::unregister/expire event's ``contact`` header (``"name" <sip:...;params>``)
    and the matching dial string of :func:`sofia_contacts` (``sofia/p/sip:...;params``).
    Lower-cased; "" when there is no SIP URI in it."""
    text = contact.strip()
    if text.startswith('"'):  # a display name may itself look like a URI
        end = text.find('"', 1)
        text = text[end + 1 :] if end > 0 else text
    if "<" in text:
        text = text[text.index("<") + 1 :]
    match = _URI.search(text)
    return match.group(1).lower() if match else ""


def getvar(text: str) -> str | None:
    if text.startswith("-ERR"):
        raise _fail(text)
    value = text.rstrip("\n")
    return None if value in ("_undef_", "") else value


def exists(text: str) -> bool:
    return text.strip() == "true"


def sofia_registrations(text: str) -> list[dict[str, str]]:
    """``sofia status profile <p> reg``: one dict per ``Key: value`` block."""
    regs: list[dict[str, str]] = []
    current: dict[str, str] = {}
    for line in text.split("\n"):
        if not line.strip() or line.startswith("="):
            if current:
                regs.append(current)
                current = {}
            continue
        key, sep, value = line.partition(":")
        if sep and key.strip() in (
            "Call-ID", "User", "Contact", "Agent", "Status", "Ping-Status", "Ping-Time",
            "Host", "IP", "Port", "Auth-User", "Auth-Realm", "MWI-Account",
        ):  # fmt: skip
            current[key.strip()] = value.strip()
    if current:
        regs.append(current)
    return regs
