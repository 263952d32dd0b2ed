"""The recorder: finished calls, agent activities, dispositions and audit entries, into the
database — and nothing a caller sends, nor a database outage, can stop it.

* It never blocks the floor's greenlet: :meth:`Recorder.on_changes` only builds records
  and queues them. A writer greenlet takes batches and runs the database work in a
  thread pool of its own (so a slow CRM or busy web requests in gevent's shared pool
  cannot starve history writes, and neither SQLite nor a slow PostgreSQL stalls the hub).
* Values from FreeSWITCH are bounded at this edge (:mod:`esl_controller.domain.bounded`,
  with the column sizes of the tables): a 10,000-character caller name, a NUL or a byte
  that is not UTF-8 is stored cut with a ``…`` mark or made visible, never refused.
* A batch leaves the queue only after its transaction committed. While the database is
  unreachable (connection refused or dropped, SQLite locked) records wait and the batch
  is retried with capped backoff. When the database is up but refuses a batch, the batch
  is written record by record and a record it still refuses goes to ``cc_dead_letters``
  with the reason and the record, so one bad record never holds back the rest.
* The in-memory queue is bounded (``max_pending``). While the database is down, or the
  queue is full, new records are appended to a spill file (JSON lines beside the SQLite
  database, or under ``instance/``) and replayed in order once the database is back; a
  spill file left by a previous run is replayed at start. Records in memory when the
  recorder stops are spilled too. If the file cannot be written, call records stay in
  memory past the bound (a call is never dropped) and only activities and audit entries
  are dropped — counted and logged.
* Writes are idempotent (by call uuid, by activity key), so a batch retried after a
  half-seen commit, or replayed from the spill file, never doubles a row; a disposition
  written before its call's record is kept when the record arrives, and the reverse.

Counters for ``/health`` and tests: :meth:`Recorder.stats`.
"""

from __future__ import annotations

import collections
import hashlib
import json
import logging
import os
import pathlib
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import gevent
from gevent.event import Event as GeventEvent
from gevent.threadpool import ThreadPool
from sqlalchemy import String
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import Session, sessionmaker

from esl_controller.domain.bounded import (
    bounded_json,
    bounded_record,
    bounded_text,
    epoch,
    finite,
    free_text,
)
from esl_controller.domain.model import Activity, CallView, Change
from esl_controller.store.engine import session_scope
from esl_controller.store.models import AgentActivity, AuditEntry, Base, Call, DeadLetter
from esl_controller.store.repositories import record_activity, upsert_call, when

log = logging.getLogger(__name__)
BATCH = 200
MAX_PENDING = 10_000
MAX_REASON = 2000

Entry = tuple[str, dict[str, Any]]  # (kind, record): call | activity | audit | dead


def column_limits(model: type[Base]) -> dict[str, int | None]:
    """Text columns of a table and their sizes (None: unbounded ``Text``)."""
    limits: dict[str, int | None] = {}
    for column in model.__table__.columns:
        if isinstance(column.type, String):
            limits[column.key] = column.type.length
    return limits


CALL_LIMITS = column_limits(Call)
ACTIVITY_LIMITS = column_limits(AgentActivity)
AUDIT_LIMITS = column_limits(AuditEntry)
DEAD_LIMITS = column_limits(DeadLetter)


def _at(value: Any) -> datetime | None:
    return when(epoch(value))


def call_record(call: CallView) -> dict[str, Any]:
    talk = None
    if call.answered_at is not None and call.ended_at is not None:
        talk = finite(max(0.0, call.ended_at - call.answered_at - call.hold_seconds))
    return bounded_record({
        "call_uuid": call.uuid,
        "direction": call.direction or "inbound",
        "queue": call.queue,
        "member_uuid": call.member_uuid,
        "agent": call.agent,
        "agent_leg": call.agent_leg,
        "cid_name": call.cid_name or "",
        "cid_number": call.cid_number or "",
        "joined_at": _at(call.joined_at),
        "offered_at": _at(call.offered_at),
        "answered_at": _at(call.answered_at),
        "ended_at": _at(call.ended_at),
        "wait_seconds": finite(call.wait_seconds),
        "talk_seconds": talk,
        "hold_seconds": finite(call.hold_seconds) or 0.0,
        "transferred": call.transferred_at is not None,
        "transfer_destination": call.transfer_destination,
        "outcome": call.outcome,
        "hangup_cause": call.cause,
        "node": call.node,
    }, CALL_LIMITS)  # fmt: skip


def activity_record(act: Activity) -> dict[str, Any]:
    return bounded_record({
        "agent": act.agent,
        "status": act.status,
        "state": act.state,
        "reason": act.reason,
        "started_at": _at(act.started_at),
        "ended_at": _at(act.ended_at),
        "seconds": finite(act.seconds) or 0.0,
    }, ACTIVITY_LIMITS)  # fmt: skip


def audit_record(
    actor: str, action: str, target: str | None, details: dict[str, Any] | None, outcome: str
) -> dict[str, Any]:
    return bounded_record({
        "at": when(time.time()), "actor": actor, "action": action, "target": target,
        "details": None if details is None else bounded_json(details), "outcome": outcome,
    }, AUDIT_LIMITS)  # fmt: skip


def annotation_record(call_uuid: str, disposition: str, notes: str | None) -> dict[str, Any]:
    return bounded_record({"call_uuid": call_uuid, "disposition": disposition,
                           "notes": notes or None}, CALL_LIMITS)  # fmt: skip


def dead_record(kind: str, record: Any, reason: str) -> dict[str, Any]:
    """A record the database refused (or that could not even be built), as a
    ``cc_dead_letters`` row: what it was, its key, why, and the record itself."""
    key = None
    if isinstance(record, dict):
        key = record.get("call_uuid") or record.get("agent") or record.get("actor")
    payload = bounded_json(
        _jsonable(record) if isinstance(record, dict) else {"repr": repr(record)}
    )
    return bounded_record({
        "at": when(time.time()), "kind": kind, "key": None if key is None else str(key),
        "reason": bounded_text(reason, MAX_REASON), "payload": payload,
    }, DEAD_LIMITS)  # fmt: skip


# -- telling "the database is down" from "the database refuses this record" ----------

# PostgreSQL error classes that say the server or the link is unwell, not the data:
# 08 connection, 40 rollback (deadlock, serialization), 53 resources, 55 lock not
# available, 57 operator intervention (shutdown), 58 system error.
TRANSIENT_PG_CLASSES = frozenset({"08", "40", "53", "55", "57", "58"})


# SQLite result codes that say the file is busy, locked, full or unreadable — not that
# the data is wrong: BUSY, LOCKED, NOMEM, READONLY, IOERR, FULL, CANTOPEN, PROTOCOL.
TRANSIENT_SQLITE_CODES = frozenset({5, 6, 7, 8, 10, 13, 14, 15})


def is_unreachable(exc: BaseException) -> bool:
    """True when ``exc`` means "try again later" (the database is down, the link dropped,
    SQLite is locked by another writer); False when the database refused the data."""
    if isinstance(exc, (sa_exc.DisconnectionError, sa_exc.TimeoutError, ConnectionError)):
        return True
    if not isinstance(exc, sa_exc.DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    sqlite_code = getattr(exc.orig, "sqlite_errorcode", None)
    if sqlite_code is not None:
        return int(sqlite_code) & 0xFF in TRANSIENT_SQLITE_CODES
    pg_code = getattr(exc.orig, "pgcode", None)
    if pg_code is not None:
        return str(pg_code)[:2] in TRANSIENT_PG_CLASSES
    # No code at all: psycopg2 lost the link (or never had one).
    return isinstance(exc, (sa_exc.OperationalError, sa_exc.InterfaceError))


# -- the spill file --------------------------------------------------------------------


def _jsonable(record: dict[str, Any]) -> dict[str, Any]:
    return {
        k: ({"$dt": v.isoformat()} if isinstance(v, datetime) else v) for k, v in record.items()
    }


def _from_json(record: dict[str, Any]) -> dict[str, Any]:
    return {
        k: (datetime.fromisoformat(v["$dt"]) if isinstance(v, dict) and "$dt" in v else v)
        for k, v in record.items()
    }


def default_spill_path(sessions: sessionmaker[Session]) -> pathlib.Path:
    """Beside a SQLite database file; else ``instance/recorder-spill-<url digest>.jsonl``
    (one file per database, so two databases never replay each other's records)."""
    url = getattr(sessions.kw.get("bind"), "url", None)
    if url is not None and url.get_backend_name() == "sqlite":
        database = url.database or ""
        if database and database != ":memory:" and not database.startswith("file:"):
            path = pathlib.Path(database)
            return path.with_name(path.name + ".recorder-spill.jsonl")
    digest = hashlib.sha256(str(url).encode()).hexdigest()[:12]
    return pathlib.Path("instance") / f"recorder-spill-{digest}.jsonl"


@dataclass
class Spilled:
    entry: Entry
    end: int  # the file offset after this record's line


class SpillFile:
    """Records waiting on disk, oldest first: an append-only JSON lines file and the
    offset of the first record not yet written, kept in ``<file>.offset`` so a restart
    resumes where the last run stopped (a replayed record is harmless: writes are
    idempotent). Appends go to the OS at once (a crash of the process loses nothing;
    no fsync per record, so the floor's greenlet never waits for the disk)."""

    def __init__(self, path: pathlib.Path) -> None:
        self.path = path
        self.offset_path = path.with_name(path.name + ".offset")
        self.waiting = 0
        self._read = 0
        self._end = 0
        self._out: Any = None

    def load(self) -> int:
        """Count what a previous run left; returns that count. A last line cut short by
        a crash while it was written is dropped (it was never complete)."""
        if not self.path.exists():
            return 0
        try:
            self._read = int(self.offset_path.read_text().strip() or 0)
        except (OSError, ValueError):
            self._read = 0
        count = 0
        with self.path.open("rb") as f:
            f.seek(self._read)
            end = self._read
            for line in f:
                if not line.endswith(b"\n"):
                    break
                end += len(line)
                count += 1 if line.strip() else 0
        if end < self.path.stat().st_size:
            log.warning("recorder: %s ends with an incomplete record; dropped", self.path)
            os.truncate(self.path, end)
        self._end = end
        self.waiting = count
        if self.waiting == 0:
            self._reset()
        return self.waiting

    def append(self, entries: Iterable[Entry]) -> int:
        lines = [json.dumps({"kind": k, "record": _jsonable(r)}, ensure_ascii=True) + "\n"
                 for k, r in entries]  # fmt: skip
        if not lines:
            return 0
        if self._out is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._out = self.path.open("a", encoding="ascii")
        self._out.write("".join(lines))
        self._out.flush()
        # Only what is complete in the file is readable (the writer reads in a thread).
        self._end = self._out.tell()
        self.waiting += len(lines)
        return len(lines)

    def peek(self, limit: int) -> list[Spilled]:
        """Up to ``limit`` records from the oldest not yet written (a line that cannot be
        read back becomes a dead letter rather than a stop)."""
        out: list[Spilled] = []
        end = self._end  # a line boundary: everything before it is complete
        with self.path.open("rb") as f:
            f.seek(self._read)
            while len(out) < limit and f.tell() < end:
                line = f.readline()
                if not line.endswith(b"\n"):
                    break
                if not line.strip():
                    continue
                try:
                    item = json.loads(line)
                    entry: Entry = (str(item["kind"]), _from_json(item["record"]))
                except (ValueError, KeyError, TypeError) as exc:
                    text = line.decode("ascii", "replace")
                    entry = ("dead", dead_record("spill", {"line": text}, f"unreadable: {exc}"))
                out.append(Spilled(entry, f.tell()))
        return out

    def consume(self, count: int, end: int) -> None:
        self._read = end
        self.waiting = max(0, self.waiting - count)
        if self.waiting == 0:
            self._reset()
        else:
            self.offset_path.write_text(str(self._read))

    def _reset(self) -> None:
        if self._out is not None:
            self._out.close()
            self._out = None
        for path in (self.path, self.offset_path):
            path.unlink(missing_ok=True)
        self._read = 0
        self._end = 0
        self.waiting = 0

    def close(self) -> None:
        if self._out is not None:
            self._out.close()
            self._out = None


class Unreachable(Exception):
    """The database could not be reached; the records stay where they are."""


class Recorder:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        *,
        retry_initial: float = 0.2,
        retry_max: float = 5.0,
        run_blocking: Callable[[Callable[[], Any]], Any] | None = None,
        max_pending: int = MAX_PENDING,
        spill_path: pathlib.Path | str | None = None,
        db_threads: int = 1,
    ) -> None:
        self.sessions = sessions
        self.retry_initial = retry_initial
        self.retry_max = retry_max
        self.max_pending = max_pending
        self.pending: collections.deque[Entry] = collections.deque()
        self.spill = SpillFile(pathlib.Path(spill_path or default_spill_path(sessions)))
        self.database_up = True
        self.written = 0  # records the database took
        self.failures = 0  # write attempts that failed (database unreachable or refusing)
        self.spilled = 0  # records that went through the spill file
        self.dead_letters = 0  # records the database refused, kept in cc_dead_letters
        self.dropped = 0  # activities/audit lost because memory and disk were both full
        self._db_threads = db_threads
        self._pool: ThreadPool | None = None
        self._custom_blocking = run_blocking
        self._wake = GeventEvent()
        self._idle = GeventEvent()
        self._idle.set()
        self._writer: gevent.Greenlet | None = None
        self._spill_logged = False
        # Told of every record the database has taken (or kept as a dead letter), once
        # committed: a controller hands its unwritten calls over to the next one until then.
        self.written_listeners: list[Callable[[list[Entry]], None]] = []

    # -- from the floor's greenlet: never blocks -------------------------------------

    def on_changes(self, changes: list[Change]) -> None:
        entries: list[Entry] = []
        for change in changes:
            try:
                if change.kind == "call_ended" and isinstance(change.view, CallView):
                    entries.append(("call", call_record(change.view)))
                elif change.kind == "activity" and isinstance(change.view, Activity):
                    entries.append(("activity", activity_record(change.view)))
            except Exception as exc:  # a value nothing could bound: keep it as a dead letter
                log.exception("recorder: could not build a record from %r", change.key)
                entries.append(("dead", dead_record(change.kind, {"view": repr(change.view)},
                                                    f"{type(exc).__name__}: {exc}")))  # fmt: skip
        self._enqueue(entries)

    def audit(
        self,
        actor: str,
        action: str,
        target: str | None = None,
        details: dict[str, Any] | None = None,
        outcome: str = "ok",
    ) -> None:
        """Queue one audit entry (who did what to whom, and how it went)."""
        self._enqueue([("audit", audit_record(actor, action, target, details, outcome))])

    def annotate_call(self, call_uuid: str, *, disposition: str, notes: str) -> None:
        """Queue the agent's disposition and notes for a call's record (written whether
        the call's own record is already in the database or arrives later)."""
        self._enqueue([("call", annotation_record(call_uuid, disposition, notes))])

    def after_call_work(self, call_uuid: str, seconds: float) -> None:
        """Queue a call's after-call work (seconds from its end to the end of its
        wrap-up) for its record; the first value written stays (repositories)."""
        record = bounded_record({"call_uuid": call_uuid,
                                 "after_call_seconds": finite(seconds)}, CALL_LIMITS)  # fmt: skip
        self._enqueue([("call", record)])

    def _enqueue(self, entries: list[Entry]) -> None:
        if not entries:
            return
        # Once anything waits on disk, everything new goes there too (so the order holds:
        # memory holds only records older than the file's).
        if self.spill.waiting or not self.database_up or len(self.pending) >= self.max_pending:
            try:
                self.spilled += self.spill.append(entries)
                if not self._spill_logged:
                    self._spill_logged = True
                    log.warning("recorder: %s; records go to %s until it is written",
                                "database unreachable" if not self.database_up
                                else "queue full", self.spill.path)  # fmt: skip
            except OSError as exc:
                self._keep_in_memory(entries, exc)
        else:
            self.pending.extend(entries)
        self._idle.clear()
        self._wake.set()

    def _keep_in_memory(self, entries: list[Entry], exc: OSError) -> None:
        """The spill file cannot be written (disk full, read-only): calls and dead letters
        stay in memory past the bound; activities and audit entries are dropped."""
        for entry in entries:
            if entry[0] in ("call", "dead") or len(self.pending) < self.max_pending:
                self.pending.append(entry)
            else:
                self.dropped += 1
        log.error("recorder: cannot spill to %s (%s); %d records in memory, %d dropped",
                  self.spill.path, exc, len(self.pending), self.dropped)  # fmt: skip

    # -- the writer ------------------------------------------------------------------

    def problem(self) -> str | None:
        """For /health: the writer greenlet must be running while the recorder is."""
        if self._writer is not None and self._writer.dead:
            return "the history recorder has stopped"
        return None

    def stats(self) -> dict[str, Any]:
        """Counters for /health and tests."""
        return {
            "database_up": self.database_up, "in_memory": len(self.pending),
            "on_disk": self.spill.waiting, "written": self.written, "failures": self.failures,
            "spilled": self.spilled, "dead_letters": self.dead_letters, "dropped": self.dropped,
        }  # fmt: skip

    @property
    def waiting(self) -> int:
        return len(self.pending) + self.spill.waiting

    def start(self) -> None:
        if self._writer is None:
            if self._custom_blocking is None and self._pool is None:
                self._pool = ThreadPool(self._db_threads)
            try:
                left = self.spill.load()
            except OSError as exc:
                left = 0
                log.error("recorder: cannot read %s: %s", self.spill.path, exc)
            if left:
                log.warning("recorder: %d records left in %s by a previous run; replaying",
                            left, self.spill.path)  # fmt: skip
                self._idle.clear()
            self._writer = gevent.spawn(self._run)

    def stop(self) -> None:
        """Stop writing; records still in memory go to the spill file for the next run."""
        if self._writer is not None:
            self._writer.kill(block=True)
            self._writer = None
            if self.pending:
                try:
                    self.spill.append(list(self.pending))
                    self.pending.clear()
                except OSError as exc:
                    log.error("recorder: %d records not written and not spilled: %s",
                              len(self.pending), exc)  # fmt: skip
        self.spill.close()
        if self._pool is not None:
            self._pool.kill()
            self._pool = None

    def drained(self, timeout: float | None = None) -> bool:
        """Wait until everything queued so far is in the database."""
        return bool(self._idle.wait(timeout))

    def _blocking(self, fn: Callable[[], Any]) -> Any:
        if self._custom_blocking is not None:
            return self._custom_blocking(fn)
        assert self._pool is not None
        return self._pool.spawn(fn).get()

    def _run(self) -> None:
        delay = self.retry_initial
        while True:
            if not self.pending and not self.spill.waiting:
                self._idle.set()
                self._wake.clear()
                self._wake.wait()
                continue
            try:
                self._write_next()
            except Unreachable as exc:
                self.failures += 1
                if self.database_up:
                    log.warning("recorder: database unreachable (%s); %d records waiting",
                                exc, self.waiting)  # fmt: skip
                self.database_up = False
                gevent.sleep(delay)
                delay = min(self.retry_max, delay * 2)
                continue
            except Exception:  # the spill file failed to read: never let the writer die
                self.failures += 1
                log.exception("recorder: unexpected failure; retrying")
                gevent.sleep(delay)
                delay = min(self.retry_max, delay * 2)
                continue
            if not self.database_up:
                log.warning("recorder: database reachable again; %d records waiting",
                            self.waiting)  # fmt: skip
            self.database_up = True
            delay = self.retry_initial
            if not self.spill.waiting and self._spill_logged:
                self._spill_logged = False
                log.warning("recorder: spill file written; %d records went through it",
                            self.spilled)  # fmt: skip

    def _write_next(self) -> None:
        """Write the oldest batch (memory first: it is older than the file)."""
        if self.pending:
            batch = [(self.pending[i], 0) for i in range(min(BATCH, len(self.pending)))]
            from_disk = False
        else:
            spilled = self._blocking(lambda: self.spill.peek(BATCH))
            batch = [(s.entry, s.end) for s in spilled]
            from_disk = True
            if not batch:  # the count and the file disagree: trust the file
                self.spill.consume(self.spill.waiting, 0)
                return
        entries = [entry for entry, _ in batch]
        try:
            self._blocking(lambda: self._write(entries))
        except Exception as exc:
            if is_unreachable(exc):
                raise Unreachable(type(exc).__name__) from exc
            self.failures += 1
            log.warning("recorder: the database refused a batch of %d (%s); writing them "
                        "one by one", len(entries), type(exc).__name__)  # fmt: skip
            self._one_by_one(batch, from_disk)
            return
        self.written += len(entries)
        self._done(len(batch), batch[-1][1], from_disk)
        self._notify_written(entries)

    def _one_by_one(self, batch: list[tuple[Entry, int]], from_disk: bool) -> None:
        for entry, end in batch:
            try:
                self._blocking(lambda e=entry: self._write([e]))  # type: ignore[misc]
                self.written += 1
            except Exception as exc:
                if is_unreachable(exc):
                    raise Unreachable(type(exc).__name__) from exc
                self._dead_letter(entry, exc)
            self._done(1, end, from_disk)
            self._notify_written([entry])

    def _notify_written(self, entries: list[Entry]) -> None:
        for listener in list(self.written_listeners):
            try:
                listener(entries)
            except Exception:
                log.exception("recorder: a written-listener failed")

    def _dead_letter(self, entry: Entry, exc: Exception) -> None:
        kind, record = entry
        reason = f"{type(exc).__name__}: {getattr(exc, 'orig', None) or exc}"
        log.error("recorder: the database refused a %s record (%s); kept in cc_dead_letters",
                  kind, bounded_text(reason, 300))  # fmt: skip
        letter = record if kind == "dead" else dead_record(kind, record, reason)
        try:
            self._blocking(lambda: self._write([("dead", letter)]))
        except Exception as again:
            if is_unreachable(again):
                raise Unreachable(type(again).__name__) from again
            # Even the dead letter was refused (its payload?): keep the reason and the
            # record as text, which every database takes.
            plain = dead_record(kind, {"repr": repr(record)}, f"{reason}; then {again!r}")
            plain["payload"] = {"repr": free_text(repr(record))}
            try:
                self._blocking(lambda: self._write([("dead", plain)]))
            except Exception as third:
                if is_unreachable(third):
                    raise Unreachable(type(third).__name__) from third
                self._last_resort(plain, third)
        self.dead_letters += 1

    def _last_resort(self, letter: dict[str, Any], exc: Exception) -> None:
        """The database refuses even a plain-text dead letter: the letter goes to a file
        beside the spill file (and, if that fails too, to the log), and the history goes
        on."""
        path = self.spill.path.with_name(self.spill.path.name + ".dead-letters.jsonl")
        line = json.dumps(_jsonable(letter), ensure_ascii=True, default=repr)
        try:
            with path.open("a", encoding="ascii") as f:
                f.write(line + "\n")
            log.error("recorder: cc_dead_letters refused a record (%r); kept in %s", exc, path)
        except OSError as error:
            log.error("recorder: record refused everywhere (%r, %r): %s", exc, error, line)

    def _done(self, count: int, end: int, from_disk: bool) -> None:
        if from_disk:
            self.spill.consume(count, end)
        else:
            for _ in range(count):
                self.pending.popleft()

    def _write(self, batch: list[Entry]) -> None:
        with session_scope(self.sessions) as session:
            for kind, record in batch:
                if kind == "call":
                    upsert_call(session, record)
                elif kind == "audit":
                    session.add(AuditEntry(**record))
                elif kind == "dead":
                    session.add(DeadLetter(**record))
                else:
                    record_activity(session, record)
                session.flush()


def read_spill(path: pathlib.Path) -> list[Entry]:
    """Every record waiting in a spill file (for tests and operators)."""
    spill = SpillFile(path)
    if not spill.load():
        return []
    return [s.entry for s in spill.peek(spill.waiting)]
