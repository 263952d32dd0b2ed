"""Argument validators: the grammar of what may go into an ESL command.

FreeSWITCH splits ``api`` arguments on spaces (``callcenter_config`` honours single quotes,
``originate`` parses ``{}``/``[]`` variable blocks and escapes commas), expands ``${var}``
and ``${api(...)}`` inside many arguments, and a CR/LF would end the ESL command and start
another. So every validator refuses line breaks, NUL and ``${``, and each refuses the
characters its position cannot carry safely. A failure names the field and the reason.
"""

from __future__ import annotations

import re

from esl_controller.errors import InvalidArgument
from esl_controller.esl.commands.values import HANGUP_CAUSES

UUID_RE = re.compile(
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
)
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+\-]*(@[A-Za-z0-9][A-Za-z0-9_.\-]*)?$")
TOKEN_RE = re.compile(r"^[A-Za-z0-9_.\-]+$")
EXTENSION_RE = re.compile(r"^[A-Za-z0-9_*#+.\-]+(@[A-Za-z0-9_.\-]+)?$")
VAR_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
DTMF_RE = re.compile(r"^[0-9*#A-Da-dwW]+$")
PATH_RE = re.compile(r"^[A-Za-z0-9_./\-:~%(),=;@+#*!]+$")

MAX_NAME = 128
MAX_VALUE = 256
MAX_PATH = 1024


def check_text(field: str, value: object, max_len: int = MAX_VALUE) -> str:
    """The checks every argument gets, whatever its grammar."""
    if not isinstance(value, str):
        raise InvalidArgument(f"{field} must be text")
    if not value:
        raise InvalidArgument(f"{field} is empty")
    if len(value) > max_len:
        raise InvalidArgument(f"{field} is longer than {max_len} characters")
    if "\r" in value or "\n" in value or "\x00" in value:
        raise InvalidArgument(f"{field} contains a line break")
    if "${" in value or "$${" in value:
        raise InvalidArgument(f"{field} contains variable expansion (${{...}})")
    if value.count("'") % 2 or value.count('"') % 2:
        raise InvalidArgument(f"{field} has an unbalanced quote")
    return value


def _match(field: str, value: object, pattern: re.Pattern[str], what: str, max_len: int) -> str:
    text = check_text(field, value, max_len)
    if not pattern.match(text):
        raise InvalidArgument(f"{field} is not a valid {what}: {text[:40]!r}")
    return text


def uuid(field: str, value: object) -> str:
    return _match(field, value, UUID_RE, "channel uuid", 36).lower()


def name(field: str, value: object) -> str:
    """Agent and queue names such as ``1000@default``, ``agent7000``, ``support@default``."""
    return _match(field, value, NAME_RE, "name (letters, digits, _.+- and one @)", MAX_NAME)


def token(field: str, value: object) -> str:
    """A single word: contexts, dialplans, profiles, gateways, variable-free."""
    return _match(field, value, TOKEN_RE, "word (letters, digits, _.-)", MAX_NAME)


def extension(field: str, value: object) -> str:
    return _match(field, value, EXTENSION_RE, "extension", 64)


def var_name(field: str, value: object) -> str:
    return _match(field, value, VAR_NAME_RE, "variable name", 64)


def dtmf(field: str, value: object) -> str:
    return _match(field, value, DTMF_RE, "DTMF string (0-9 * # A-D w W)", 64)


def path(field: str, value: object) -> str:
    """A sound file or stream (``tone_stream://%(2000,4000,440)``, ``/var/rec/x.wav``)."""
    return _match(field, value, PATH_RE, "file or stream path without spaces", MAX_PATH)


def cause(field: str, value: object) -> str:
    text = check_text(field, value, 64).upper()
    if text not in HANGUP_CAUSES:
        raise InvalidArgument(f"{field} is not a FreeSWITCH hangup cause: {text[:40]!r}")
    return text


def number(field: str, value: object, low: int = 0, high: int = 2**31 - 1) -> str:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise InvalidArgument(f"{field} must be a whole number")
    text = str(value).strip()
    # ASCII digits only: str.isdigit() accepts "²", which int() then refuses.
    if not (text.isascii() and text.isdigit()) or not low <= int(text) <= high:
        raise InvalidArgument(f"{field} must be a whole number from {low} to {high}")
    return str(int(text))


def var_value(field: str, value: object) -> str:
    """A channel variable value inside ``{}``/``[]``: commas escaped, spaces single-quoted.

    FreeSWITCH splits the block on commas (``\\,`` keeps one) and strips single quotes
    around a value (``'John Smith'`` arrives as John Smith); braces, brackets, quotes and
    backslashes inside a value would end the block or the quoting early.
    """
    text = check_text(field, value)
    for bad in "{}[]<>'\"\\^":
        if bad in text:
            raise InvalidArgument(f"{field} may not contain {bad!r}")
    text = text.replace(",", "\\,")
    return f"'{text}'" if " " in text else text


def quoted_choice(field: str, value: object, allowed: tuple[str, ...]) -> str:
    """One of a fixed set, single-quoted when it has spaces (callcenter_config style)."""
    from esl_controller.esl.commands.values import canonical

    text = check_text(field, value, 64)
    found = canonical(text, allowed)
    if found is None:
        raise InvalidArgument(f"{field} must be one of: {', '.join(allowed)}")
    return f"'{found}'" if " " in found else found
