"""The engineer's ESL console over REST (``POST console``, for scripts and the page) and
the audit log (``GET audit``, for supervisors and engineers).

Every line goes through the same :class:`ConsoleService` as the browser page and the
terminal: parsed into a typed command or refused (400 ``console_refused``, audited too).
"""

from __future__ import annotations

import os
from typing import Any

import gevent
from pydantic import BaseModel, Field

from dashboard.api.context import deps
from dashboard.api.registry import Api
from dashboard.api.schemas import Strict
from esl_controller.esl.client import EslClient, EslSettings
from esl_controller.esl.commands.base import ApiCommand
from esl_controller.esl.console_policy import MAX_CONSOLE_LINE, ConsolePolicy
from esl_controller.services.console import ConsoleService, read_audit
from esl_controller.services.users import UserRecord

KEY = "console"


class ConsoleBody(Strict):
    command: str = Field(min_length=1, max_length=MAX_CONSOLE_LINE * 4)


class ConsoleOut(BaseModel):
    output: str
    error: bool = Field(description="FreeSWITCH answered -ERR (or -USAGE)")
    truncated: bool = Field(description="the output was cut; a marker line says where")
    length: int = Field(description="characters FreeSWITCH sent")


class CompleteBody(Strict):
    text: str = Field(max_length=512, description="the line left of the cursor")


class CompleteOut(BaseModel):
    matches: list[str]
    replace: int = Field(description="characters before the cursor to replace")
    insert: str


class AuditQuery(Strict):
    limit: int = Field(default=100, ge=1, le=1000)


class AuditEntryOut(BaseModel):
    id: int
    at: str | None
    actor: str
    action: str
    target: str | None
    details: Any = None
    outcome: str


class AuditOut(BaseModel):
    entries: list[AuditEntryOut]


def console_allow() -> list[str]:
    """CONSOLE_ALLOW widens the allowlist from the deployment's configuration."""
    return [w for w in os.environ.get("CONSOLE_ALLOW", "").replace(",", " ").split() if w]


def esl_client() -> EslClient | None:
    """The controller's ESL client behind the services' ``api`` (None in odd wirings)."""
    owner = getattr(deps().agents.api, "__self__", None)
    return owner if isinstance(owner, EslClient) else None


def esl_settings() -> EslSettings | None:
    found = deps().extra.get("esl_settings")
    if isinstance(found, EslSettings):
        return found
    client = esl_client()
    return client.settings if client is not None else None


def console_service() -> ConsoleService:
    """One console service per app, on the controller's command connection."""
    d = deps()
    found = d.extra.get(KEY)
    if isinstance(found, ConsoleService):
        return found
    api = d.agents.api
    client = esl_client()

    def run(command: ApiCommand) -> str:
        return str(api(command))

    def background(command: ApiCommand) -> str:
        assert client is not None
        return client.bgapi(command)

    service = ConsoleService(
        run, bgapi=background if client is not None else None, audit=d.recorder.audit,
        policy=ConsolePolicy(console_allow()),
    )  # fmt: skip
    d.extra[KEY] = service
    return service


def register(api: Api) -> None:
    @api.endpoint("POST", "/console", summary="Run one ESL console command (engineers): "
                  "parsed into a typed command or refused with the reason (400 "
                  "console_refused); audited either way; output capped at 64 KiB",
                  tag="console", role="engineer", body=ConsoleBody, response=ConsoleOut,
                  errors=(503, 504))  # fmt: skip
    def console(user: UserRecord, body: ConsoleBody) -> ConsoleOut:
        result = console_service().run(user.username, body.command)
        return ConsoleOut(output=result.output, error=result.error,
                          truncated=result.truncated, length=result.length)  # fmt: skip

    @api.endpoint("POST", "/console/complete", summary="Tab completion from FreeSWITCH's "
                  "console_complete (engineers)", tag="console", role="engineer",
                  body=CompleteBody, response=CompleteOut, errors=(503, 504))  # fmt: skip
    def complete(user: UserRecord, body: CompleteBody) -> CompleteOut:
        found = console_service().complete(body.text)
        return CompleteOut(matches=found.matches, replace=found.replace, insert=found.insert)

    @api.endpoint("GET", "/audit", summary="The audit log, newest first: console commands "
                  "(refused ones too) and supervisor actions", tag="console",
                  role="supervisor", query=AuditQuery, response=AuditOut)  # fmt: skip
    def audit(user: UserRecord, query: AuditQuery) -> AuditOut:
        d = deps()
        d.recorder.drained(timeout=1)  # entries queued a moment ago are shown too
        pool = gevent.get_hub().threadpool
        rows = pool.spawn(read_audit, d.sessions, query.limit).get()
        return AuditOut(entries=[AuditEntryOut(**row) for row in rows])
