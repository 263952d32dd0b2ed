"""Does FreeSWITCH fetch from an address where this dashboard answers?

mod_xml_curl asks the dashboard for its users (directory) and for callcenter.conf at
``callcenter_url`` from vars.xml (``freeswitch_conf/``). When that address is wrong (the
dashboard moved to another port, say) every REGISTER of a dashboard user fails and the
switch only logs "Received HTTP error 0"; nothing on the product's side says so. This
part reads the variable over ESL once the link is up (and again after each reconnect and
every ``interval``), then tries a GET of ``<callcenter_url>/health`` off the hub with a
short timeout, as the switch's own fetch would go:

* nothing answers (refused, timeout, DNS) -> a warning in the log and a problem in
  ``/health`` (503): dashboard users cannot register while it lasts;
* something answers that is not this product's ``/health`` -> the same;
* the product answers -> fine (noted at info; a warning if it is not this process's
  port, i.e. another instance answers there);
* the variable is not set (an administrator's own configuration with a literal URL) ->
  one warning that the address cannot be checked, no problem;
* ``callcenter_url`` is FreeSWITCH's own loopback while FreeSWITCH runs on another host
  -> one warning (a proxy there may forward to us; this host cannot tell), no problem.

The switch fetches from its host and this check from ours: with both on one host (the
shipped setup) they see the same thing.
"""

from __future__ import annotations

import http.client
import json
import logging
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from typing import Any

import gevent

from esl_controller.errors import CallCenterError
from esl_controller.esl.client import Health
from esl_controller.esl.commands import channels as ch
from esl_controller.esl.commands.base import ApiCall
from esl_controller.services.worker import Loop

log = logging.getLogger(__name__)
VARIABLE = "callcenter_url"
MAX_BODY = 65536

# (url, timeout) -> (HTTP status, body); raises OSError (URLError) when nothing answers.
Fetch = Callable[[str, float], tuple[int, bytes]]


def fetch(url: str, timeout: float) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers={"Accept": "application/json"})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=timeout) as reply:  # noqa: S310
            return int(reply.status), reply.read(MAX_BODY)
    except urllib.error.HTTPError as exc:  # an answer all the same (503 while unhealthy)
        return int(exc.code), exc.read(MAX_BODY)


def _loopback(host: str) -> bool:
    return host.strip("[]").lower() in ("localhost", "::1") or host.startswith("127.")


class XmlCurlAddressCheck(Loop):
    """See the module docstring. ``start()`` runs it in a greenlet; ``problem()`` is
    for /health."""

    def __init__(
        self,
        api: ApiCall,
        health: Callable[[], Health],
        *,
        serve_host: str,
        serve_port: int,
        esl_host: str,
        interval: float = 300.0,
        timeout: float = 2.0,
        fetcher: Fetch = fetch,
    ) -> None:
        self.api = api
        self.health = health
        self.serve_host = serve_host
        self.serve_port = serve_port
        self.esl_host = esl_host
        self.interval = interval
        self.timeout = timeout
        self.fetcher = fetcher
        self.url: str | None = None
        self.checks = 0
        self._problem: str | None = None
        self._said: str | None = None

    # -- lifecycle ---------------------------------------------------------------------

    def problem(self) -> str | None:
        return super().problem() or self._problem

    def _run(self) -> None:
        checked_since: float | None = None
        next_at = 0.0
        while True:
            health = self.health()
            up = health.connected and health.commands_connected
            if up and (health.since != checked_since or time.monotonic() >= next_at):
                checked_since = health.since
                next_at = time.monotonic() + self.interval
                try:
                    self.check()
                except Exception:  # never let a surprise stop the watch
                    log.exception("checking callcenter_url failed")
            gevent.sleep(1.0)

    # -- one check ---------------------------------------------------------------------

    def check(self) -> str | None:
        """Read the variable, try the address; returns (and keeps) the problem, if any."""
        try:
            text = self.api(ch.global_getvar(VARIABLE)).strip()
        except CallCenterError as exc:
            log.info("callcenter_url not checked: %s", exc.message)
            return self._problem  # the link went away: keep what we knew
        self.checks += 1
        # A variable that was never set: mod_commands prints nothing, which
        # mod_event_socket turns into "-ERR no reply".
        if not text or text.startswith("-ERR"):
            self.url = None
            return self._settle(
                None,
                f"FreeSWITCH has no {VARIABLE} variable (vars.xml): the "
                "address mod_xml_curl fetches users and callcenter.conf from "
                "cannot be checked; `callcenter conf check` compares it",
            )
        self.url = text
        parts = urllib.parse.urlsplit(text)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            return self._settle(f"{VARIABLE} on FreeSWITCH is {text!r}, not an http(s) "
                                "address: mod_xml_curl cannot reach the dashboard")  # fmt: skip
        if _loopback(parts.hostname) and not _loopback(self.esl_host):
            return self._settle(
                None,
                f"{VARIABLE} is {text}, FreeSWITCH's own loopback, but "
                f"FreeSWITCH runs on {self.esl_host}: unless something there "
                "forwards to this dashboard, mod_xml_curl reaches nothing",
            )
        here = f"this dashboard listens on {self.serve_host}:{self.serve_port}"
        try:
            status, body = gevent.get_hub().threadpool.spawn(
                self.fetcher, text.rstrip("/") + "/health", self.timeout).get()  # fmt: skip
        except (OSError, ValueError, http.client.HTTPException) as exc:
            reason = getattr(exc, "reason", exc)
            return self._settle(f"FreeSWITCH fetches dashboard users and callcenter.conf from "
                                f"{text} ({VARIABLE} in vars.xml), where nothing answers "
                                f"({reason}); {here}. Dashboard users cannot register until "
                                f"{VARIABLE} is this address")  # fmt: skip
        if not _is_product_health(body):
            return self._settle(f"{text} ({VARIABLE} in vars.xml) answers HTTP {status} but "
                                f"not as this product; {here}. mod_xml_curl gets no users "
                                "from it")  # fmt: skip
        port = parts.port or (443 if parts.scheme == "https" else 80)
        if _loopback(parts.hostname) and port != self.serve_port:
            return self._settle(None, f"{VARIABLE} is {text}: another process of the "
                                f"product answers there, not this one ({here})")  # fmt: skip
        return self._settle(None, info=f"FreeSWITCH fetches from {text}: it answers")

    def _settle(self, problem: str | None, warning: str | None = None,
                info: str | None = None) -> str | None:  # fmt: skip
        """Keep the problem and say it (or the warning) once, not at every check."""
        self._problem = problem
        said = problem or warning or info
        if said != self._said:
            self._said = said
            if problem or warning:
                log.warning("%s", problem or warning)
            elif info:
                log.info("%s", info)
        return problem


def _is_product_health(body: bytes) -> bool:
    try:
        data = json.loads(body.decode("utf-8", "replace"))
    except ValueError:
        return False
    return isinstance(data, dict) and isinstance(data.get("freeswitch"), dict)


def start_address_check(api: ApiCall, health: Callable[[], Health], watched: list[Any], *,
                        serve_host: str, serve_port: int, esl_host: str
                        ) -> XmlCurlAddressCheck:  # fmt: skip
    """What ``callcenter serve`` runs beside the dashboard: the check, started, and
    reported by /health (``watched`` is the dashboard's list of watched parts)."""
    check = XmlCurlAddressCheck(api, health, serve_host=serve_host, serve_port=serve_port,
                                esl_host=esl_host)  # fmt: skip
    watched.append(check)
    check.start()
    return check
