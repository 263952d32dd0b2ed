"""``vars.xml`` and ``$${var}`` expansion, and loading a module's configuration file.

FreeSWITCH's pre-processor runs ``<X-PRE-PROCESS cmd="set" data="name=value"/>`` in
order and replaces ``$${name}`` in the text of every file it reads afterwards (at load
time, once). ``${name}`` is left alone: that is a channel variable, expanded per call.
"""

from __future__ import annotations

import pathlib
import re
from xml.etree import ElementTree

from esl_controller.errors import InvalidArgument

_GLOBAL_RE = re.compile(r"\$\$\{([A-Za-z0-9_\-]+)\}")


def expand_globals(text: str, variables: dict[str, str]) -> str:
    """Replace ``$${name}``; an unknown name becomes empty, as in FreeSWITCH."""
    return _GLOBAL_RE.sub(lambda m: variables.get(m.group(1), ""), text)


def core_vars(conf_dir: pathlib.Path | None) -> dict[str, str]:
    """What the core sets before reading the XML and vars.xml may use: ``conf_dir`` is
    the configuration's own folder (as with ``freeswitch -conf DIR``)."""
    if conf_dir is None:
        return {}
    return {"conf_dir": str(pathlib.Path(conf_dir).resolve())}


def load_vars(
    conf_dir: pathlib.Path | None, initial: dict[str, str] | None = None
) -> dict[str, str]:
    """The global variables ``vars.xml`` sets (``domain``, ``hold_music``, ...), after
    ``initial`` (the core's own, see :func:`core_vars`), which it may use and override."""
    variables: dict[str, str] = dict(initial or {})
    if conf_dir is None:
        return variables
    path = pathlib.Path(conf_dir) / "vars.xml"
    if not path.is_file():
        return variables
    root = parse_xml(path.read_text(encoding="utf-8"), path)
    for element in root.iter("X-PRE-PROCESS"):
        if element.get("cmd") != "set":
            continue
        name, eq, value = (element.get("data") or "").partition("=")
        if eq and name.strip():
            variables[name.strip()] = expand_globals(value, variables)
    return variables


def parse_xml(text: str, source: pathlib.Path | str) -> ElementTree.Element:
    try:
        return ElementTree.fromstring(text)  # noqa: S314 - the operator's own config files
    except ElementTree.ParseError as exc:
        raise InvalidArgument(f"{source}: not valid XML: {exc}") from exc


def load_config_file(
    conf_dir: pathlib.Path, relative: str, variables: dict[str, str]
) -> ElementTree.Element | None:
    """``<conf>/<relative>`` with ``$${...}`` expanded, or None if it is not there."""
    path = pathlib.Path(conf_dir) / relative
    if not path.is_file():
        return None
    return parse_xml(expand_globals(path.read_text(encoding="utf-8"), variables), path)
