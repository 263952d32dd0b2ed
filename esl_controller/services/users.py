"""Users, roles and passwords: who may sign in, as what, and which agent they are.

Passwords are stored as salted hashes (werkzeug's scrypt). SIP credentials are stored only
as the digest HA1, ``md5(extension:realm:password)``: FreeSWITCH's directory takes it as
``a1-hash`` and SIP.js as ``authorizationHa1``, so the SIP password itself is never kept.
An agent user is linked to its mod_callcenter agent through ``cc_agents.user_id``.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.security import check_password_hash, generate_password_hash

from esl_controller.errors import CallCenterError, InvalidArgument
from esl_controller.esl.commands import validate as v
from esl_controller.store.engine import session_scope
from esl_controller.store.models import ROLES, Agent, Tier, User

USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
EXTENSION_RE = re.compile(r"^[0-9]{2,10}$")
MIN_PASSWORD = 8
RANK = {role: rank for rank, role in enumerate(ROLES)}  # agent < supervisor < engineer
# Checked when the name is unknown, so a wrong name costs as long as a wrong password.
_DUMMY_HASH = generate_password_hash("not-a-real-password")


class UserExists(CallCenterError):
    code = "user_exists"
    http_status = 409


@dataclass(frozen=True, slots=True)
class UserRecord:
    id: int
    username: str
    role: str
    display_name: str
    extension: str | None
    agent: str | None  # mod_callcenter agent name, for agent users
    sip_ha1: str | None

    def has_role(self, role: str) -> bool:
        return RANK.get(self.role, -1) >= RANK[role]


def sip_ha1(extension: str, realm: str, password: str) -> str:
    """The digest HA1 both FreeSWITCH (``a1-hash``) and SIP.js accept instead of a password."""
    return hashlib.md5(f"{extension}:{realm}:{password}".encode()).hexdigest()  # noqa: S324


def check_username(name: object) -> str:
    if not isinstance(name, str) or not USERNAME_RE.match(name):
        raise InvalidArgument("a user name is 1-64 of a-z, 0-9, '.', '_', '-'")
    return name


def check_password(password: object) -> str:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD or len(password) > 256:
        raise InvalidArgument(f"a password has {MIN_PASSWORD} to 256 characters")
    return password


def parse_queue_spec(spec: str) -> tuple[str, int, int]:
    """``support@default[:level[:position]]`` -> (queue, level, position)."""
    parts = spec.split(":")
    if len(parts) > 3:
        raise InvalidArgument("a queue is QUEUE[:level[:position]]")
    queue = v.name("queue", parts[0])
    numbers = []
    for label, text, high in zip(("level", "position"), parts[1:], (1000, 100000), strict=False):
        if not (text.isascii() and text.isdigit()) or int(text) > high:
            raise InvalidArgument(f"the {label} in {spec!r} must be a number from 0 to {high}")
        numbers.append(int(text))
    numbers += [1] * (2 - len(numbers))
    return queue, numbers[0], numbers[1]


class UserService:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    def add(
        self,
        username: str,
        role: str,
        password: str,
        *,
        extension: str | None = None,
        agent: str | None = None,
        display_name: str = "",
        sip_password: str | None = None,
        sip_realm: str = "",
        queues: list[str] | tuple[str, ...] = (),
    ) -> UserRecord:
        """Create a user; an agent gets an extension and a mod_callcenter agent name
        (``<extension>@default`` unless given), and a tier in each of ``queues``
        (``queue[:level[:position]]``). The agent's contact is left empty: provisioning
        builds it from the extension and the SIP domain (``user/EXT@SIP_DOMAIN``)."""
        check_username(username)
        check_password(password)
        if role not in ROLES:
            raise InvalidArgument(f"role must be one of {', '.join(ROLES)}")
        if extension is not None and not EXTENSION_RE.match(extension):
            raise InvalidArgument("an extension is 2-10 digits")
        if role == "agent" and extension is None:
            raise InvalidArgument("an agent needs an extension (--extension)")
        if agent is None and role == "agent":
            agent = f"{extension}@default"
        if agent is not None:
            v.name("agent", agent)
        if len(display_name) > 128 or any(ord(c) < 32 for c in display_name):
            raise InvalidArgument("a display name is one line of at most 128 characters")
        tiers = [parse_queue_spec(spec) for spec in queues]
        if tiers and agent is None:
            raise InvalidArgument("--queue is for agents")
        ha1 = None
        if sip_password is not None:
            if extension is None or not sip_realm:
                raise InvalidArgument("a SIP password needs an extension and a SIP domain")
            ha1 = sip_ha1(extension, sip_realm, check_password(sip_password))
        with session_scope(self.sessions) as session:
            taken = session.scalar(select(User.id).where(User.username == username))
            if taken is not None:
                raise UserExists(f"user {username} exists")
            if extension is not None and session.scalar(
                select(User.id).where(User.extension == extension)
            ):
                raise UserExists(f"extension {extension} belongs to another user")
            user = User(
                username=username, role=role, password_hash=generate_password_hash(password),
                display_name=display_name or username, extension=extension, sip_ha1=ha1,
                active=True, created_at=datetime.now(UTC),
            )  # fmt: skip
            session.add(user)
            session.flush()
            if agent is not None:
                row = session.scalar(select(Agent).where(Agent.name == agent))
                if row is None:
                    row = Agent(name=agent, contact="")
                    session.add(row)
                row.user_id = user.id
                for queue, level, position in tiers:
                    tier = session.scalar(select(Tier).where(Tier.queue == queue,
                                                             Tier.agent == agent))  # fmt: skip
                    if tier is None:
                        session.add(Tier(queue=queue, agent=agent, level=level,
                                         position=position))  # fmt: skip
                    else:
                        tier.level, tier.position = level, position
            session.flush()
            return self._record(session, user)

    def authenticate(self, username: str, password: str) -> UserRecord | None:
        """The user, if the name and password match an active user; else None."""
        with session_scope(self.sessions) as session:
            user = session.scalar(select(User).where(User.username == username))
            if user is None or not user.active:
                check_password_hash(_DUMMY_HASH, password)
                return None
            if not check_password_hash(user.password_hash, password):
                return None
            return self._record(session, user)

    def get(self, user_id: int) -> UserRecord | None:
        with session_scope(self.sessions) as session:
            user = session.get(User, user_id)
            if user is None or not user.active:
                return None
            return self._record(session, user)

    def by_username(self, username: str) -> UserRecord | None:
        with session_scope(self.sessions) as session:
            user = session.scalar(select(User).where(User.username == username))
            return None if user is None else self._record(session, user)

    def agent_names(self) -> dict[str, str]:
        """mod_callcenter agent name -> user name, for every agent linked to a user."""
        with session_scope(self.sessions) as session:
            rows = session.execute(
                select(Agent.name, User.username).join(User, Agent.user_id == User.id)
            )
            return {name: username for name, username in rows}

    def reachable(self) -> list[tuple[str, str, str | None]]:
        """(extension, display name, agent name or None) of every active user with an
        extension, by extension: whom an agent can transfer a call to."""
        with session_scope(self.sessions) as session:
            query = (select(User.extension, User.display_name, Agent.name)
                     .join(Agent, Agent.user_id == User.id, isouter=True)
                     .where(User.extension.is_not(None), User.active.is_(True))
                     .order_by(User.extension))  # fmt: skip
            return [(e or "", n, a) for e, n, a in session.execute(query)]

    @staticmethod
    def _record(session: Session, user: User) -> UserRecord:
        agent = session.scalar(select(Agent.name).where(Agent.user_id == user.id))
        return UserRecord(
            id=user.id, username=user.username, role=user.role,
            display_name=user.display_name, extension=user.extension, agent=agent,
            sip_ha1=user.sip_ha1,
        )  # fmt: skip
