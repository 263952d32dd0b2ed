"""Demo users for ``make run``: created once (idempotent), printed at every start.

The instance may already have users of its own (someone ran ``callcenter user add`` before
``make run``): a demo user whose name, extension or mod_callcenter agent is already taken
by another user is skipped with a message, never forced in (and never a traceback).
"""

from __future__ import annotations

from collections.abc import Callable

from esl_controller.services.users import UserExists, UserService

# name, role, password, extension — agents 1000/1001 take calls from the page; the
# simulator's own agents keep the rest of the floor busy.
DemoUser = tuple[str, str, str, str | None]
DEMO_USERS: tuple[DemoUser, ...] = (
    ("alice", "agent", "alice-demo", "1000"),
    ("bob", "agent", "bob-demo-1", "1001"),
    ("sue", "supervisor", "sue-demo-1", "1090"),
    ("eve", "engineer", "eve-demo-1", None),
)


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
