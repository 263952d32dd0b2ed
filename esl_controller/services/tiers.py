"""The tiers the product set, kept in ``cc_tiers`` so a FreeSWITCH restart (which reloads
tiers from ``callcenter.conf.xml``) can put them back: a supervisor's tier add or level
change is remembered here once FreeSWITCH accepted it, a removal forgets it."""

from __future__ import annotations

import gevent
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from esl_controller.store.engine import session_scope
from esl_controller.store.models import Tier


class TierStore:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    def save(self, queue: str, agent: str, level: int | None = None,
             position: int | None = None) -> None:  # fmt: skip
        gevent.get_hub().threadpool.spawn(self._save, queue, agent, level, position).get()

    def forget(self, queue: str, agent: str) -> None:
        gevent.get_hub().threadpool.spawn(self._forget, queue, agent).get()

    def _save(self, queue: str, agent: str, level: int | None, position: int | None) -> None:
        with session_scope(self.sessions) as session:
            row = session.scalars(
                select(Tier).where(Tier.queue == queue, Tier.agent == agent)
            ).first()
            if row is None:
                row = Tier(queue=queue, agent=agent, level=level or 1, position=position or 1)
                session.add(row)
            if level is not None:
                row.level = level
            if position is not None:
                row.position = position

    def _forget(self, queue: str, agent: str) -> None:
        with session_scope(self.sessions) as session:
            for row in session.scalars(
                select(Tier).where(Tier.queue == queue, Tier.agent == agent)
            ).all():
                session.delete(row)
