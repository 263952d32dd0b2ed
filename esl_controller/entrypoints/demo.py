"""Demo users and customers for ``make run``: created once (idempotent), printed at every
start. The simulated callers call from the demo customers' numbers, so the agent's
ringing popup shows a customer record.

The instance may already have users of its own (someone ran ``callcenter user add`` before
``make run``): a demo user whose name, extension or mod_callcenter agent is already taken
by another user is skipped with a message, never forced in (and never a traceback).
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from esl_controller.services.users import UserExists, UserService
from esl_controller.store.engine import session_scope
from esl_controller.store.models import Customer

# name, role, password, extension — agents 1000/1001 take calls from the page; the
# simulator's own agents keep the rest of the floor busy.
DemoUser = tuple[str, str, str, str | None]
DEMO_USERS: tuple[DemoUser, ...] = (
    ("alice", "agent", "alice-demo", "1000"),
    ("bob", "agent", "bob-demo-1", "1001"),
    ("sue", "supervisor", "sue-demo-1", "1090"),
    ("eve", "engineer", "eve-demo-1", None),
)


# The simulated callers of `make run` (number, name, company, notes, vip): seeded as
# customers, so the ringing popup shows a record.
DEMO_CALLERS: tuple[tuple[str, str, str, str, bool], ...] = (
    ("5550100001", "Ada Lovelace", "Analytical Engines Ltd", "Prefers email follow-up.", True),
    ("5550100002", "Grace Hopper", "Compiler Systems", "Asked about invoice 2291.", False),
    ("5550100003", "Alan Turing", "Bletchley Consulting", "", False),
    ("5550100004", "Katherine Johnson", "Orbital Mechanics Inc", "Renewal due next month.", True),
    ("5550100005", "Edsger Dijkstra", "Shortest Path BV", "Calls about routing.", False),
    ("5550100006", "Barbara Liskov", "Substitution Labs", "", False),
    ("5550100007", "Claude Shannon", "Information Theory Co", "Line noise complaints.", False),
    ("5550100008", "Frances Allen", "Optimizing Compilers", "Key account.", True),
)


def ensure_demo_customers(sessions: sessionmaker[Session]) -> int:
    """The demo callers as customers (idempotent: by phone number); returns how many were
    added."""
    added = 0
    with session_scope(sessions) as session:
        for number, name, company, notes, vip in DEMO_CALLERS:
            if session.scalar(select(Customer.id).where(Customer.phone == number)) is None:
                session.add(Customer(name=name, phone=number, company=company,
                                     notes=notes or None, vip=vip,
                                     email=name.split()[0].lower() + "@example.com"))  # fmt: skip
                added += 1
    return added


def demo_caller_book() -> tuple[tuple[str, str], ...]:
    """(number, name) of the demo callers, for the simulator's traffic."""
    return tuple((number, name) for number, name, *_ in DEMO_CALLERS)


def ensure_demo_users(
    users: UserService, sip_realm: str, say: Callable[[str], None] = print
) -> list[DemoUser]:
    """Create the demo users that are missing; return the demo users that exist and
    sign in with the printed password. Skipped ones are reported through ``say``."""
    present: list[DemoUser] = []
    agents = users.agent_names()  # mod_callcenter agent -> user name
    for demo in DEMO_USERS:
        name, role, password, extension = demo
        existing = users.by_username(name)
        if existing is not None:
            ours = (existing.role == role and existing.extension == extension
                    and users.authenticate(name, password) is not None)  # fmt: skip
            if ours:
                present.append(demo)  # created by an earlier `make run`
            else:
                say(f"demo user {name} skipped: a user named {name} already exists")
            continue
        agent = f"{extension}@default" if role == "agent" else None
        if agent is not None and agent in agents:
            say(f"demo user {name} skipped: agent {agent} belongs to user {agents[agent]}")
            continue
        try:
            users.add(name, role, password, extension=extension,
                      display_name=name.capitalize(),
                      sip_password=f"{name}-sip-demo" if extension else None,
                      sip_realm=sip_realm)  # fmt: skip
        except UserExists as exc:  # the extension belongs to someone else
            say(f"demo user {name} skipped: {exc.message}")
            continue
        present.append(demo)
    return present


def product_agent_extensions(users: UserService) -> list[str]:
    """Extensions of the mod_callcenter agents that belong to users of the product
    (``<ext>@default``): people sign them in, the simulated floor must leave them alone."""
    return sorted(name.split("@")[0] for name in users.agent_names() if name.endswith("@default"))
