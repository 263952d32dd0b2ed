"""The XML dialplan, run as mod_dialplan_xml runs what call-center configurations use.

An extension's conditions are tested in order; each passing condition adds its actions,
a failing one adds its anti-actions and stops that extension (``break="on-false"``).
An extension whose conditions all pass ends the search unless it says
``continue="true"``. ``$1``… are the captures of the condition that matched;
``$${var}`` was expanded when the file was read; ``${var}`` is expanded per call when
the application runs.
"""

from __future__ import annotations

import pathlib
import re
from dataclasses import dataclass, field
from xml.etree import ElementTree

from esl_controller.simulator.channels.channel import Channel
from esl_controller.simulator.conf.xmlconf import expand_globals, parse_xml

_VAR_RE = re.compile(r"\$\{([A-Za-z0-9_\-]+)\}")
PROFILE_FIELDS = {
    "destination_number": lambda c: c.profile.destination,
    "caller_id_number": lambda c: c.profile.caller_id_number,
    "caller_id_name": lambda c: c.profile.caller_id_name,
    "ani": lambda c: c.profile.caller_id_number,
    "context": lambda c: c.profile.context,
    "network_addr": lambda c: "",
    "chan_name": lambda c: c.name,
    "uuid": lambda c: c.uuid,
    "source": lambda c: c.profile.source,
    "dialplan": lambda c: c.profile.dialplan,
}


@dataclass
class Action:
    application: str
    data: str


@dataclass
class Condition:
    header: str | None
    expression: str | None
    actions: list[Action] = field(default_factory=list)
    anti_actions: list[Action] = field(default_factory=list)


@dataclass
class Extension:
    name: str
    keep_going: bool
    conditions: list[Condition]


def expand(text: str, channel: Channel, global_vars: dict[str, str]) -> str:
    """``${name}``: a channel variable, a caller-profile field, or a global variable."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in channel.variables:
            return channel.variables[name]
        getter = PROFILE_FIELDS.get(name)
        if getter is not None:
            return str(getter(channel))
        return global_vars.get(name, "")

    return _VAR_RE.sub(value, text)


class Dialplan:
    def __init__(self, global_vars: dict[str, str] | None = None) -> None:
        self.global_vars = global_vars or {}
        self.contexts: dict[str, list[Extension]] = {}

    def load(self, conf_dir: pathlib.Path | None) -> Dialplan:
        if conf_dir is None:
            return self
        folder = pathlib.Path(conf_dir) / "dialplan"
        for path in sorted(folder.glob("*.xml")) if folder.is_dir() else []:
            root = parse_xml(expand_globals(path.read_text("utf-8"), self.global_vars), path)
            self._read(root)
        return self

    def _read(self, root: ElementTree.Element) -> None:
        contexts = [root] if root.tag == "context" else list(root.iter("context"))
        for ctx in contexts:
            extensions = self.contexts.setdefault(ctx.get("name", "default"), [])
            for ext in ctx.iterfind("extension"):
                conditions = []
                for cond in ext.iterfind("condition"):
                    conditions.append(
                        Condition(
                            cond.get("field"),
                            cond.get("expression"),
                            [
                                Action(a.get("application", ""), a.get("data", ""))
                                for a in cond.iterfind("action")
                            ],
                            [
                                Action(a.get("application", ""), a.get("data", ""))
                                for a in cond.iterfind("anti-action")
                            ],
                        )  # fmt: skip
                    )
                extensions.append(
                    Extension(ext.get("name", ""), ext.get("continue") == "true", conditions)
                )

    def route(self, channel: Channel) -> list[Action]:
        """The applications to run for the channel's destination in its context."""
        actions: list[Action] = []
        for ext in self.contexts.get(channel.profile.context, []):
            matched = True
            for cond in ext.conditions:
                captures = self._test(cond, channel)
                if captures is None:
                    actions += cond.anti_actions
                    matched = False
                    break
                actions += [Action(a.application, _captures(a.data, captures))
                            for a in cond.actions]  # fmt: skip
            if matched and ext.conditions and not ext.keep_going:
                break
        return actions

    def _test(self, cond: Condition, channel: Channel) -> tuple[str, ...] | None:
        if cond.header is None or cond.expression is None:
            return ()
        field_name = cond.header
        if field_name.startswith("${"):
            value = expand(field_name, channel, self.global_vars)
        else:
            getter = PROFILE_FIELDS.get(field_name)
            value = str(getter(channel)) if getter else channel.variables.get(field_name, "")
        match = re.search(cond.expression, value)
        if match is None:
            return None
        return (match.group(0), *[g or "" for g in match.groups()])


def _captures(data: str, captures: tuple[str, ...]) -> str:
    if not captures:
        return data
    return re.sub(r"\$(\d)", lambda m: captures[int(m.group(1))] if int(m.group(1)) < len(
        captures) else "", data)  # fmt: skip
