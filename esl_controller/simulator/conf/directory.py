"""The user directory (``directory/*.xml``): domains, users, their params and variables.

Every user becomes a simulated phone. Variables are kept in file order: FreeSWITCH puts
the domain's ``<variables>`` and then the user's on sofia::register events.
"""

from __future__ import annotations

import pathlib
from dataclasses import dataclass, field

from esl_controller.simulator.conf.xmlconf import expand_globals, parse_xml


@dataclass
class DirectoryUser:
    id: str
    domain: str
    params: dict[str, str] = field(default_factory=dict)
    variables: dict[str, str] = field(default_factory=dict)
    domain_variables: dict[str, str] = field(default_factory=dict)


def load_directory(conf_dir: pathlib.Path | None, variables: dict[str, str]) -> list[DirectoryUser]:
    users: list[DirectoryUser] = []
    if conf_dir is None:
        return users
    folder = pathlib.Path(conf_dir) / "directory"
    for path in sorted(folder.glob("*.xml")) if folder.is_dir() else []:
        root = parse_xml(expand_globals(path.read_text("utf-8"), variables), path)
        for domain in root.iter("domain"):
            name = domain.get("name", "")
            domain_vars = {
                v.get("name", ""): v.get("value", "") for v in domain.iterfind("variables/variable")
            }
            for user in domain.iter("user"):
                users.append(
                    DirectoryUser(
                        id=user.get("id", ""),
                        domain=name,
                        params={
                            p.get("name", ""): p.get("value", "")
                            for p in user.iterfind("params/param")
                        },  # fmt: skip
                        variables={
                            v.get("name", ""): v.get("value", "")
                            for v in user.iterfind("variables/variable")
                        },  # fmt: skip
                        domain_variables=domain_vars,
                    )
                )
    return users
