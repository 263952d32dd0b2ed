"""Migrations, idempotent history and a recorder that loses nothing, on SQLite and
PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, inspect, select
from sqlalchemy.orm import sessionmaker

from esl_controller.domain.floor import Floor
from esl_controller.services.recorder import Recorder
from esl_controller.store.engine import make_engine, session_scope
from esl_controller.store.migrate import upgrade
from esl_controller.store.models import AgentActivity, Base, Call, PauseReason
from esl_controller.store.repositories import seed_defaults
from tests.unit.test_domain_floor import replay


def test_migrations_create_exactly_the_models(db_url: str) -> None:
    upgrade(db_url)
    engine = make_engine(db_url)
    try:
        tables = set(inspect(engine).get_table_names()) - {"alembic_version"}
        assert tables == set(Base.metadata.tables)
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        assert diff == []
        upgrade(db_url)  # a second upgrade is a no-op
    finally:
        engine.dispose()


def recorded_into(db_url: str, *scenarios: str, times: int = 1) -> sessionmaker:  # type: ignore[type-arg]
    upgrade(db_url)
    sessions = sessionmaker(make_engine(db_url))
    recorder = Recorder(sessions)
    recorder.start()
    try:
        for _ in range(times):
            for name in scenarios:
                _, changes = replay(name)
                recorder.on_changes(changes)
        assert recorder.drained(timeout=30)
    finally:
        recorder.stop()
    return sessions


def test_recorded_calls_and_activities(db_url: str) -> None:
    sessions = recorded_into(db_url, "call_answered_plain", "call_abandoned")
    with session_scope(sessions) as session:
        calls = {c.queue: c for c in session.scalars(select(Call))}
        assert calls["support@default"].outcome == "answered"
        assert calls["support@default"].agent == "agent7000"
        assert calls["support@default"].talk_seconds is not None
        assert calls["sales@default"].outcome == "abandoned"
        assert calls["sales@default"].answered_at is None
        assert session.scalar(select(func.count(AgentActivity.id))) > 0
        seed_defaults(session)
    with session_scope(sessions) as session:
        assert session.get(PauseReason, "phone_offline") is not None


def test_writing_the_same_history_twice_never_doubles_it(db_url: str) -> None:
    once = recorded_into(db_url, "call_answered_plain", "no_answer_to_break")
    with session_scope(once) as session:
        calls = session.scalar(select(func.count(Call.id)))
        acts = session.scalar(select(func.count(AgentActivity.id)))
    twice = recorded_into(db_url, "call_answered_plain", "no_answer_to_break", times=2)
    with session_scope(twice) as session:
        assert session.scalar(select(func.count(Call.id))) == calls == 2
        assert session.scalar(select(func.count(AgentActivity.id))) == acts


def test_the_floor_never_waits_for_the_recorder() -> None:
    # No database at all: on_changes only queues (the floor's greenlet is never blocked).
    recorder = Recorder(sessionmaker())
    floor = Floor()
    _, changes = replay("call_answered_plain", floor)
    recorder.on_changes(changes)
    assert len(recorder.pending) >= 1
