"""Parse dial strings and command lines as FreeSWITCH does.

``{a=1,b='x y'}[c=3]loopback/5000/default``: ``{}`` variables apply to every leg, ``[]``
to one; a comma inside a value is written ``\\,``; single quotes around a value are
removed; a backslash before a space is *kept* (``Jane\\ Doe`` stays ``Jane\\ Doe``,
README quirk 16). Command lines split on spaces outside quotes and brackets.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field


def split_command(text: str) -> list[str]:
    """Split on spaces that are outside quotes, ``{}``, ``[]``, ``()`` and not ``\\ ``."""
    out: list[str] = []
    current: list[str] = []
    depth = 0
    quoted = False
    i = 0
    while i < len(text):
        char = text[i]
        if char == "\\" and i + 1 < len(text):
            current += [char, text[i + 1]]
            i += 2
            continue
        if char == "'":
            quoted = not quoted
        elif not quoted and char in "{[(":
            depth += 1
        elif not quoted and char in "}])":
            depth = max(0, depth - 1)
        if char == " " and not quoted and depth == 0:
            if current:
                out.append("".join(current))
                current = []
        else:
            current.append(char)
        i += 1
    if current:
        out.append("".join(current))
    return out


def parse_vars(block: str) -> dict[str, str]:
    """``a=1,b='x, y',c=d\\,e`` -> dict (quotes removed, ``\\,`` unescaped)."""
    variables: dict[str, str] = {}
    if block.startswith("^^") and len(block) > 2:
        separator = block[2]
        items = block[3:].split(separator)
    else:
        items = re.split(r"(?<!\\),", block)
    for item in items:
        name, eq, value = item.partition("=")
        if not eq or not name.strip():
            continue
        value = value.replace("\\,", ",")
        if len(value) >= 2 and value[0] == "'" and value[-1] == "'":
            value = value[1:-1]
        variables[name.strip()] = value
    return variables


@dataclass
class DialLeg:
    endpoint: str
    variables: dict[str, str] = field(default_factory=dict)


def parse_dial_string(text: str) -> tuple[dict[str, str], list[DialLeg]]:
    """Global variables and the legs (``,`` ring together; the first ``|`` group only)."""
    text = text.strip()
    global_vars: dict[str, str] = {}
    if text.startswith("{"):
        end = text.find("}")
        if end > 0:
            global_vars = parse_vars(text[1:end])
            text = text[end + 1 :]
    first_group = text.split("|", 1)[0]
    legs = []
    for part in re.split(r"(?<!\\),(?![^\[]*\])", first_group):
        part = part.strip()
        leg_vars: dict[str, str] = {}
        if part.startswith("["):
            end = part.find("]")
            if end > 0:
                leg_vars = parse_vars(part[1:end])
                part = part[end + 1 :]
        if part:
            legs.append(DialLeg(part, leg_vars))
    return global_vars, legs
