"""Who is calling: the caller's customer record, from the built-in ``customers`` table or
from a CRM (``CRM_URL_TEMPLATE``, e.g. ``https://crm.example/api/customers?phone={number}``).

The agent's screen must not wait on a slow CRM: a lookup has a short timeout and then
answers "unknown caller"; answers (found or not) are cached for a minute. What a CRM
returns is untrusted: only known fields, as bounded strings, are kept.

From a greenlet, :meth:`CustomerLookup.lookup` runs the table query in gevent's shared
pool and the CRM request in a small pool of its own (``CRM_THREADS``), so a CRM that
hangs holds only its own threads — never the threads web requests and history writes
use (the recorder has its own pool too). :meth:`CustomerLookup.by_number` is the same
lookup for code already running in a worker thread.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import urllib.parse
import urllib.request
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import gevent
from gevent import Timeout
from gevent.threadpool import ThreadPool
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from esl_controller.store.engine import session_scope
from esl_controller.store.models import Customer

log = logging.getLogger(__name__)
CACHE_SIZE = 1000
CACHE_SECONDS = 60.0
MAX_CRM_BYTES = 64 * 1024
CRM_THREADS = 4


@dataclass(frozen=True, slots=True)
class CustomerRecord:
    id: int | None
    name: str
    phone: str
    email: str | None
    company: str | None
    notes: str | None
    vip: bool
    source: str  # "customers" (built-in table) or "crm"


def _text(value: Any, limit: int) -> str | None:
    if value is None or isinstance(value, (dict, list)):
        return None
    text = "".join(c for c in str(value) if c >= " " or c in "\n\t")
    return text[:limit] or None


def from_crm(data: Any, number: str) -> CustomerRecord | None:
    """The first record of a CRM answer: an object, or a list of objects, or
    ``{"results": [...]}`` / ``{"customers": [...]}``."""
    if isinstance(data, dict):
        for key in ("results", "customers", "data", "items"):
            if isinstance(data.get(key), list):
                data = data[key]
                break
    if isinstance(data, list):
        data = next((item for item in data if isinstance(item, dict)), None)
    if not isinstance(data, dict):
        return None
    name = _text(data.get("name") or data.get("full_name") or data.get("display_name"), 128)
    if not name:
        return None
    raw_id = data.get("id")
    return CustomerRecord(
        id=raw_id if isinstance(raw_id, int) and not isinstance(raw_id, bool) else None,
        name=name, phone=_text(data.get("phone"), 32) or number,
        email=_text(data.get("email"), 128), company=_text(data.get("company"), 128),
        notes=_text(data.get("notes"), 2000), vip=data.get("vip") is True, source="crm",
    )  # fmt: skip


def _row(row: Customer) -> CustomerRecord:
    return CustomerRecord(row.id, row.name, row.phone, row.email, row.company, row.notes,
                          bool(row.vip), "customers")  # fmt: skip


class CustomerLookup:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        *,
        crm_url_template: str | None = None,
        timeout: float = 1.5,
        fetch: Callable[[str, float], bytes] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if crm_url_template is not None and (
            "{number}" not in crm_url_template
            or not crm_url_template.startswith(("http://", "https://"))
        ):
            raise ValueError("CRM_URL_TEMPLATE must be an http(s) URL containing {number}")
        self.sessions = sessions
        self.template = crm_url_template
        self.timeout = timeout
        self.fetch = fetch or self._fetch
        self.clock = clock
        self._cache: OrderedDict[str, tuple[float, CustomerRecord | None]] = OrderedDict()
        self._lock = threading.Lock()
        self._crm_pool: ThreadPool | None = None

    @staticmethod
    def _fetch(url: str, timeout: float) -> bytes:
        request = urllib.request.Request(url, headers={"Accept": "application/json"})  # noqa: S310
        with urllib.request.urlopen(request, timeout=timeout) as reply:  # noqa: S310
            return reply.read(MAX_CRM_BYTES + 1)

    def get(self, customer_id: int) -> CustomerRecord | None:
        with session_scope(self.sessions) as session:
            row = session.get(Customer, customer_id)
            return None if row is None else _row(row)

    def lookup(self, number: str) -> CustomerRecord | None:
        """The caller's record, or None (unknown caller, CRM slow or failing); from a
        greenlet on the hub: waits cooperatively, the CRM in its own threads."""
        if not number:
            return None
        hit = self._cached(number)
        if hit is not None:
            return hit[1]
        hub_pool = gevent.get_hub().threadpool
        record = hub_pool.spawn(self._from_table, number).get()
        if record is None and self.template is not None:
            if self._crm_pool is None:
                self._crm_pool = ThreadPool(CRM_THREADS)
            try:  # every CRM thread busy with a hung CRM: do not queue the popup behind it
                with Timeout(self.timeout + 0.5):
                    record = self._crm_pool.spawn(self._from_crm, number).get()
            except Timeout:
                log.warning("CRM lookup for %s: no free CRM thread in time", number)
                return None
        self._remember(number, record)
        return record

    def by_number(self, number: str) -> CustomerRecord | None:
        """The caller's record, or None (unknown caller, CRM slow or failing); blocking,
        for code running in a worker thread."""
        if not number:
            return None
        hit = self._cached(number)
        if hit is not None:
            return hit[1]
        record = self._lookup(number)
        self._remember(number, record)
        return record

    def _cached(self, number: str) -> tuple[float, CustomerRecord | None] | None:
        with self._lock:
            hit = self._cache.get(number)
            if hit is not None and hit[0] > self.clock():
                self._cache.move_to_end(number)
                return hit
        return None

    def _remember(self, number: str, record: CustomerRecord | None) -> None:
        with self._lock:
            self._cache[number] = (self.clock() + CACHE_SECONDS, record)
            while len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)

    def _lookup(self, number: str) -> CustomerRecord | None:
        record = self._from_table(number)
        if record is None and self.template is not None:
            record = self._from_crm(number)
        return record

    def _from_table(self, number: str) -> CustomerRecord | None:
        with session_scope(self.sessions) as session:
            row = session.scalar(select(Customer).where(Customer.phone == number).limit(1))
            return None if row is None else _row(row)

    def _from_crm(self, number: str) -> CustomerRecord | None:
        if self.template is None:
            return None
        url = self.template.replace("{number}", urllib.parse.quote(number, safe=""))
        try:
            body = self.fetch(url, self.timeout)
            if len(body) > MAX_CRM_BYTES:
                raise ValueError("CRM answer too large")
            return from_crm(json.loads(body), number)
        except Exception as exc:  # noqa: BLE001 - any CRM failure means "unknown caller"
            log.warning("CRM lookup for %s failed: %s", number, type(exc).__name__)
            return None
