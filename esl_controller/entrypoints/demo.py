"""Demo users for ``make run``: created once (idempotent), printed at every start."""

from __future__ import annotations

from esl_controller.services.users import UserService

# name, role, password, extension — agents 1000/1001 take calls from the page; the
# simulator's own agents keep the rest of the floor busy.
DEMO_USERS = (
    ("alice", "agent", "alice-demo", "1000"),
    ("bob", "agent", "bob-demo-1", "1001"),
    ("sue", "supervisor", "sue-demo-1", "1090"),
    ("eve", "engineer", "eve-demo-1", None),
)


def ensure_demo_users(users: UserService, sip_realm: str) -> list[tuple[str, str, str, str | None]]:
    for name, role, password, extension in DEMO_USERS:
        if users.by_username(name) is None:
            users.add(name, role, password, extension=extension,
                      display_name=name.capitalize(),
                      sip_password=f"{name}-sip-demo" if extension else None,
                      sip_realm=sip_realm)  # fmt: skip
    return list(DEMO_USERS)
