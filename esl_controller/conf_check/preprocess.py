"""FreeSWITCH 1.10's XML pre-processor (``switch_xml.c``'s ``preprocess``), keeping the
origin of every line so that a finding can name the file and line to edit.

What it reproduces, line by line as FreeSWITCH reads:

* ``$${name}`` is replaced in the whole line first (comments included) by the global
  variable, or by nothing when it was never set;
* a line containing ``<include>``, ``</include>`` or ``<?`` is dropped whole;
* a line mentioning ``X-PRE-PROCESS`` (any case) is a command if ``<`` comes right
  before it and is dropped otherwise (even inside a comment); the rest of such a line
  is lost too. ``set`` runs at once (``name=value``, spaces around ``=`` trimmed),
  ``include`` pastes the files its glob matches (relative to the including file's
  folder, in sorted order; none: FreeSWITCH logs "No files to include");
  ``exec``, ``exec-set``, ``stun-set`` and ``env-set`` are not run here;
* ``<!--#set ...-->`` / ``<!--#include ...-->`` are the old form of the same commands.

The result is parsed with expat into :class:`Node` trees whose ``where`` is the source
line; expat's errors are reported at the source line too.
"""

from __future__ import annotations

import glob
import os
import pathlib
import re
from dataclasses import dataclass, field
from xml.parsers import expat

MAX_DEPTH = 100  # FreeSWITCH's recursion limit for includes
_VAR_RE = re.compile(r"\$\$\{([^{}]*)\}")
_PRE_RE = re.compile(r"x-pre-process", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Where:
    """A line of a configuration file, and the global variables expanded in it."""

    path: pathlib.Path
    line: int
    variables: tuple[str, ...] = ()


@dataclass(slots=True)
class Node:
    """An element of the expanded document."""

    tag: str
    attrs: dict[str, str]
    where: Where
    children: list[Node] = field(default_factory=list)

    def get(self, name: str, default: str = "") -> str:
        return self.attrs.get(name, default)

    def find_all(self, tag: str, **attrs: str) -> list[Node]:
        return [c for c in self.children if c.tag == tag
                and all(c.attrs.get(k) == v for k, v in attrs.items())]  # fmt: skip

    def find(self, tag: str, **attrs: str) -> Node | None:
        found = self.find_all(tag, **attrs)
        return found[0] if found else None

    def iter(self, tag: str) -> list[Node]:
        out = [self] if self.tag == tag else []
        for child in self.children:
            out += child.iter(tag)
        return out

    def params(self, path: tuple[str, ...] = ()) -> list[Node]:
        """``<param>`` children, under ``path`` (e.g. ``("settings",)``)."""
        nodes = [self]
        for step in path:
            nodes = [c for n in nodes for c in n.find_all(step)]
        return [p for n in nodes for p in n.find_all("param")]

    def param(self, name: str, path: tuple[str, ...] = ()) -> Node | None:
        """The last ``<param name=...>`` (the value a module ends up with)."""
        found = [p for p in self.params(path) if p.get("name").lower() == name.lower()]
        return found[-1] if found else None


@dataclass(frozen=True, slots=True)
class Issue:
    """Something the pre-processor or the parser ran into."""

    level: str  # ERROR, WARN, NOTE
    where: Where | None
    message: str


@dataclass(slots=True)
class Result:
    root: Node | None
    variables: dict[str, str]
    set_at: dict[str, Where]
    files: list[pathlib.Path]
    issues: list[Issue]


@dataclass(slots=True)
class _Out:
    text: str
    where: Where


class Preprocessor:
    def __init__(self, variables: dict[str, str]) -> None:
        self.variables = dict(variables)
        self.set_at: dict[str, Where] = {}
        self.files: list[pathlib.Path] = []
        self.issues: list[Issue] = []
        self.lines: list[_Out] = []
        self.undefined_reported: set[tuple[pathlib.Path, str]] = set()

    # -- reading ---------------------------------------------------------------------

    def run(self, root: pathlib.Path) -> Result:
        self._file(root, 0)
        return Result(self._parse(), self.variables, self.set_at, self.files, self.issues)

    def _expand(
        self, raw: str, where: Where, comments: list[tuple[int, int]]
    ) -> tuple[str, tuple[str, ...]]:
        used: list[str] = []

        def value(match: re.Match[str]) -> str:
            name = match.group(1)
            used.append(name)
            if name not in self.variables:
                key = (where.path, name)
                commented = any(a <= match.start() < b for a, b in comments)
                if not commented and key not in self.undefined_reported:
                    self.undefined_reported.add(key)
                    self.issues.append(Issue("WARN", where, f"$${{{name}}} is never set: "
                                             "FreeSWITCH puts nothing in its place"))  # fmt: skip
                return ""
            return self.variables[name]

        return _VAR_RE.sub(value, raw), tuple(used)

    def _file(self, path: pathlib.Path, depth: int) -> None:
        if depth > MAX_DEPTH:
            self.issues.append(Issue("ERROR", None, f"{path}: includes nested too deep "
                                     "(FreeSWITCH stops at 100)"))  # fmt: skip
            return
        try:
            text = path.read_text("utf-8", errors="replace")
        except OSError as exc:
            self.issues.append(Issue("ERROR", None, f"{path}: cannot be read ({exc.strerror})"))
            return
        self.files.append(path)
        in_comment = False
        old_style_comment = False
        for number, raw in enumerate(text.splitlines(), start=1):
            where = Where(path, number)
            comments, in_comment = _comments(raw, in_comment)
            line, used = self._expand(raw, where, comments)
            where = Where(path, number, used)
            if "<include>" in raw or "</include>" in raw or "<?" in raw:
                continue
            if old_style_comment:
                end = line.find("-->")
                if end < 0:
                    continue
                old_style_comment = False
                line = line[end + 3 :]
            found = _PRE_RE.search(line)
            if found:
                if found.start() == 0 or line[found.start() - 1] != "<":
                    continue  # dropped whole, as FreeSWITCH does
                self._command(line[found.start() :], path, where, depth)
                continue
            hash_comment = line.find("<!--#")
            if hash_comment >= 0:
                end = line.find("-->", hash_comment)
                kept = line[:hash_comment] + (line[end + 3 :] if end >= 0 else "")
                old_style_comment = end < 0
                self._old_command(line[hash_comment + 5 :], path, where, depth)
                self.lines.append(_Out(kept, where))
                continue
            self.lines.append(_Out(line, where))

    def _command(self, text: str, path: pathlib.Path, where: Where, depth: int) -> None:
        cmd = _quoted_after(text, "cmd")
        data = _quoted_after(text[text.lower().find("cmd") :], "data") if cmd else None
        if cmd is None or data is None:
            return
        self._run(cmd, data, path, where, depth)

    def _old_command(self, text: str, path: pathlib.Path, where: Where, depth: int) -> None:
        text = text.split("-->")[0]
        cmd, _, arg = text.partition(" ")
        first = arg.find('"')
        if first >= 0 and arg.find('"', first + 1) > first:
            arg = arg[first + 1 : arg.find('"', first + 1)]
        self._run(cmd, arg, path, where, depth)

    def _run(self, cmd: str, data: str, path: pathlib.Path, where: Where, depth: int) -> None:
        cmd = cmd.lower()
        if cmd == "set":
            name, eq, value = data.partition("=")
            if eq:
                self.variables[name.rstrip(" ")] = value.lstrip(" ")
                self.set_at[name.rstrip(" ")] = where
        elif cmd == "include":
            self._include(data, path.parent, where, depth)
        elif cmd in ("exec", "exec-set", "stun-set", "env-set"):
            name = data.partition("=")[0].strip()
            if cmd != "exec" and name:
                self.variables.pop(name, None)  # its value is unknown here
                self.set_at[name] = where
            self.issues.append(
                Issue(
                    "NOTE",
                    where,
                    f"{cmd} is not run by conf check"
                    + (f": $${{{name}}} is not known" if cmd != "exec" else ""),
                )
            )

    def _include(self, pattern: str, cwd: pathlib.Path, where: Where, depth: int) -> None:
        full = pattern if os.path.isabs(pattern) else str(cwd / pattern)
        matches = sorted(glob.glob(full))
        if not matches:
            self.issues.append(
                Issue(
                    "NOTE",
                    where,
                    f"include {pattern!r} matches no file "
                    '(FreeSWITCH logs "No files to include" and goes on)',
                )
            )
            return
        for match in matches:
            self._file(pathlib.Path(match), depth + 1)

    # -- parsing ---------------------------------------------------------------------

    def _parse(self) -> Node | None:
        if not self.lines:
            return None
        parser = expat.ParserCreate()
        stack: list[Node] = []
        top: list[Node] = []
        lines = self.lines

        def origin() -> Where:
            index = max(0, min(parser.CurrentLineNumber - 1, len(lines) - 1))
            return lines[index].where

        def start(tag: str, attrs: dict[str, str]) -> None:
            node = Node(tag, dict(attrs), origin())
            (stack[-1].children if stack else top).append(node)
            stack.append(node)

        def end(tag: str) -> None:
            stack.pop()

        parser.StartElementHandler = start
        parser.EndElementHandler = end
        try:
            parser.Parse("\n".join(out.text for out in lines) + "\n", True)
        except expat.ExpatError as exc:
            where = lines[max(0, min(exc.lineno - 1, len(lines) - 1))].where
            self.issues.append(Issue("ERROR", where, "not well-formed XML once pre-processed "
                                     f"({expat.ErrorString(exc.code)}); FreeSWITCH refuses "
                                     "the whole configuration"))  # fmt: skip
            return None
        return top[0] if top else None


def _quoted_after(text: str, word: str) -> str | None:
    """FreeSWITCH's scan: the word, then '=', then the text between the next quotes."""
    at = text.lower().find(word)
    if at < 0:
        return None
    eq = text.find("=", at)
    if eq < 0:
        return None
    first = text.find('"', eq)
    if first < 0:
        return None
    last = text.find('"', first + 1)
    return text[first + 1 :] if last < 0 else text[first + 1 : last]


def _comments(line: str, inside: bool) -> tuple[list[tuple[int, int]], bool]:
    """The spans of ``line`` inside XML comments, and whether one is still open at its
    end (``inside``: one was open at its start)."""
    spans: list[tuple[int, int]] = []
    at = 0
    while True:
        if inside:
            end = line.find("-->", at)
            if end < 0:
                spans.append((at, len(line)))
                return spans, True
            spans.append((at, end + 3))
            inside, at = False, end + 3
        else:
            start = line.find("<!--", at)
            if start < 0:
                return spans, False
            inside, at = True, start


def preprocess(root: pathlib.Path, variables: dict[str, str]) -> Result:
    """Read ``root`` (``freeswitch.xml``) with the core's ``variables`` already set."""
    return Preprocessor(variables).run(root)
