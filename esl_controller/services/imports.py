"""CSV imports: ``callcenter import agents.csv`` and ``customers.csv``.

A file has a header row. Every row is checked with the same rules as the CLI and the admin
API before anything is written; if any row is rejected, nothing is imported and the report
lists each rejected row with its line number and why. Otherwise every row is written in
one transaction (all or nothing).

``agents.csv``: ``agent`` (required), ``user`` (an existing user name), ``contact``,
``type``, ``max_no_answer``, ``wrap_up_time``, ``reject_delay_time``, ``busy_delay_time``,
``no_answer_delay_time``, ``queues`` (``support@default:1:2;sales@default``). An agent that
exists is updated; its tiers in the queues named are set (others are kept).

``customers.csv``: ``name`` and ``phone`` (required), ``email``, ``company``, ``notes``,
``vip`` (true/false). A customer with the same phone and name is updated.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from esl_controller.errors import CallCenterError, InvalidArgument
from esl_controller.esl.commands import validate as v
from esl_controller.services.provisioning import AGENT_NUMBERS, check_agent_field, check_bool
from esl_controller.services.users import parse_queue_spec
from esl_controller.store.engine import session_scope
from esl_controller.store.models import Agent, Customer, Tier, User

AGENT_COLUMNS = ("agent", "user", "contact", "type", *AGENT_NUMBERS, "queues")
CUSTOMER_COLUMNS = ("name", "phone", "email", "company", "notes", "vip")
PHONE_RE = re.compile(r"^\+?[0-9]{2,20}$")
EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,190}$")
MAX_ROWS = 100_000


@dataclass
class ImportReport:
    kind: str
    rows: int = 0
    written: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)  # line, why

    @property
    def ok(self) -> bool:
        return not self.rejected

    def lines(self) -> list[str]:
        if self.rejected:
            out = [f"{len(self.rejected)} of {self.rows} row(s) rejected; nothing imported:"]
            out += [f"  line {line}: {why}" for line, why in self.rejected]
            return out
        return [f"{self.written} {self.kind} imported"]


def _read(text: str, columns: tuple[str, ...], required: tuple[str, ...],
          report: ImportReport) -> list[tuple[int, dict[str, str]]]:  # fmt: skip
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [h.strip().lower() for h in reader.fieldnames or []]
    missing = [c for c in required if c not in header]
    unknown = [h for h in header if h not in columns]
    if missing or unknown:
        why = []
        if missing:
            why.append(f"missing column(s) {', '.join(missing)}")
        if unknown:
            why.append(f"unknown column(s) {', '.join(unknown)} (known: {', '.join(columns)})")
        report.rejected.append((1, "; ".join(why)))
        return []
    reader.fieldnames = header
    rows = []
    for row in reader:
        if report.rows >= MAX_ROWS:
            report.rejected.append((reader.line_num, f"more than {MAX_ROWS} rows"))
            break
        report.rows += 1
        if None in row:
            report.rejected.append((reader.line_num, "more fields than the header has"))
            continue
        rows.append((reader.line_num, {k: (val or "").strip() for k, val in row.items()}))
    return rows


def _text(field_name: str, value: str, limit: int) -> str:
    if len(value) > limit or any(ord(c) < 32 and c not in "\t" for c in value):
        raise InvalidArgument(f"{field_name} must be one line of at most {limit} characters")
    return value


def import_agents(sessions: sessionmaker[Session], text: str) -> ImportReport:
    report = ImportReport("agents")
    rows = _read(text, AGENT_COLUMNS, ("agent",), report)
    checked: list[tuple[str, str | None, dict[str, Any], list[tuple[str, int, int]]]] = []
    seen: dict[str, int] = {}
    with session_scope(sessions) as session:
        users = {u for (u,) in session.execute(select(User.username))}
    for line, row in rows:
        try:
            name = v.name("agent", row["agent"])
            if name in seen:
                raise InvalidArgument(f"agent {name} is also on line {seen[name]}")
            seen[name] = line
            user = row.get("user") or None
            if user is not None and user not in users:
                raise InvalidArgument(f"no user {user}")
            settings = {k: check_agent_field(k, row[k]) for k in ("contact", "type", *AGENT_NUMBERS)
                        if row.get(k)}  # fmt: skip
            queues = [parse_queue_spec(s.strip()) for s in (row.get("queues") or "").split(";")
                      if s.strip()]  # fmt: skip
        except CallCenterError as exc:
            report.rejected.append((line, exc.message))
            continue
        checked.append((name, user, settings, queues))
    if report.rejected:
        return report
    with session_scope(sessions) as session:
        for name, user, settings, queues in checked:
            agent = session.scalar(select(Agent).where(Agent.name == name))
            if agent is None:
                agent = Agent(name=name, contact="", agent_type="Callback", wrap_up_time=10,
                              max_no_answer=3, reject_delay_time=10, busy_delay_time=60,
                              no_answer_delay_time=10, adopted=True)  # fmt: skip
                session.add(agent)
            if user is not None:
                agent.user_id = session.scalar(select(User.id).where(User.username == user))
            for key, value in settings.items():
                setattr(agent, "agent_type" if key == "type" else key, value)
            for queue, level, position in queues:
                tier = session.scalar(select(Tier).where(Tier.queue == queue, Tier.agent == name))
                if tier is None:
                    session.add(Tier(queue=queue, agent=name, level=level, position=position))
                else:
                    tier.level, tier.position = level, position
            report.written += 1
    return report


def import_customers(sessions: sessionmaker[Session], text: str) -> ImportReport:
    report = ImportReport("customers")
    rows = _read(text, CUSTOMER_COLUMNS, ("name", "phone"), report)
    checked: list[dict[str, Any]] = []
    for line, row in rows:
        try:
            name = _text("name", row["name"], 128)
            if not name:
                raise InvalidArgument("name is empty")
            phone = row["phone"].replace(" ", "").replace("-", "")
            if not PHONE_RE.match(phone) or not phone.lstrip("+").isascii():
                raise InvalidArgument(f"phone {row['phone']!r} is not a number (digits, + first)")
            email = row.get("email") or None
            if email is not None and not EMAIL_RE.match(email):
                raise InvalidArgument(f"email {email!r} is not an address")
            checked.append({
                "name": name, "phone": phone, "email": email,
                "company": _text("company", row.get("company") or "", 128) or None,
                "notes": _text("notes", row.get("notes") or "", 2000) or None,
                "vip": check_bool("vip", row["vip"]) if row.get("vip") else False,
            })  # fmt: skip
        except CallCenterError as exc:
            report.rejected.append((line, exc.message))
    if report.rejected:
        return report
    with session_scope(sessions) as session:
        for values in checked:
            same = (Customer.phone == values["phone"], Customer.name == values["name"])
            row = session.scalar(select(Customer).where(*same))
            if row is None:
                session.add(Customer(**values))
            else:
                for key, value in values.items():
                    setattr(row, key, value)
            report.written += 1
    return report
