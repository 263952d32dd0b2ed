"""Test databases: a SQLite file, and PostgreSQL on 127.0.0.1:5432 (database ``test``) in
a schema of its own per test. PostgreSQL tests are skipped when the server is not there —
except under CI=true, where a missing PostgreSQL is a failure, never a silent skip."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import text

from esl_controller.store.engine import make_engine

PG_BASE = os.environ.get("TEST_PG_URL", "postgresql://127.0.0.1:5432/test")


def postgres_reachable() -> str | None:
    try:
        engine = make_engine(PG_BASE)
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        engine.dispose()
        return None
    except Exception as exc:  # noqa: BLE001 - any failure means "not reachable"
        return f"PostgreSQL not reachable at {PG_BASE}: {type(exc).__name__}"


def require_postgres() -> None:
    problem = postgres_reachable()
    if problem is None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{problem} (PostgreSQL tests must run when CI=true)")
    pytest.skip(problem)


def postgres_schema_url(host: str = "127.0.0.1", port: int = 5432) -> Iterator[str]:
    """A fresh schema in the ``test`` database; dropped afterwards."""
    require_postgres()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = make_engine(PG_BASE)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"postgresql://{host}:{port}/test?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
