"""Report endpoints: the numbers over time per queue, per agent, per hour and pauses by
reason, as JSON (in the OpenAPI document) and as CSV downloads (``.csv`` beside each),
for supervisors. The SQL lives in :mod:`esl_controller.services.reports`; here only
HTTP: query validation (a bad date or zone is a 400 JSON error), the work off the hub,
each agent's still-open status from the live floor, and CSV cells a spreadsheet cannot
take for a formula."""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from flask import Response, request

from dashboard.api import schemas as s
from dashboard.api.context import deps
from dashboard.api.registry import Api, EndpointDoc, parse_model
from dashboard.auth import require
from dashboard.db import off_hub
from esl_controller.services.reports import (
    AgentNumbers,
    HourNumbers,
    OpenStretch,
    PauseNumbers,
    Period,
    QueueNumbers,
    ReportService,
    make_period,
    total_of,
)
from esl_controller.services.users import UserRecord

ROLE = "supervisor"
TAG = "reports"
# A cell a spreadsheet would run as a formula (CSV injection): =, +, -, @, and tab or CR
# that some programs strip before looking. Such text gets a leading apostrophe.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"{value:.4f}".rstrip("0").rstrip(".") if value == value else ""
    text = str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def csv_text(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A CSV document (RFC 4180 quoting, CRLF), with a BOM so spreadsheets read UTF-8."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([safe_cell(v) for v in row])
    return "\ufeff" + out.getvalue()


def _round(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits)


def period_out(period: Period) -> s.ReportPeriodOut:
    start = period.start.astimezone(period.zone).isoformat()
    end = period.end.astimezone(period.zone).isoformat()
    return s.ReportPeriodOut(first=period.first.isoformat(), last=period.last.isoformat(),
                             tz=period.zone_name, start=start, end=end)  # fmt: skip


def queue_out(row: QueueNumbers) -> s.QueueReportOut:
    return s.QueueReportOut(
        queue=row.queue, service_level_seconds=row.service_level_seconds, offered=row.offered,
        answered=row.answered, answered_within_sl=row.answered_within_sl,
        abandoned=row.abandoned, timed_out=row.timed_out,
        service_level=_round(row.service_level, 4), abandon_rate=_round(row.abandon_rate, 4),
        average_speed_of_answer=_round(row.average_speed_of_answer),
        average_handle_time=_round(row.average_handle_time),
        average_hold=_round(row.average_hold), average_acw=_round(row.average_after_call),
        longest_wait=_round(row.longest_wait), node=row.node,
    )  # fmt: skip


def agent_out(row: AgentNumbers) -> s.AgentReportOut:
    return s.AgentReportOut(
        agent=row.agent, name=row.name, extension=row.extension, answered=row.answered,
        transferred=row.transferred, talk_seconds=round(row.talk_seconds, 3),
        hold_seconds=round(row.hold_seconds, 3), acw_seconds=round(row.acw_seconds, 3),
        average_handle_time=_round(row.average_handle_time),
        available_seconds=round(row.available_seconds, 3),
        paused_seconds=round(row.paused_seconds, 3),
        signed_in_seconds=round(row.signed_in_seconds, 3),
        occupancy=_round(row.occupancy, 4), calls_per_hour=_round(row.calls_per_hour, 3),
        node=row.node,
    )  # fmt: skip


def hour_out(row: HourNumbers) -> s.HourReportOut:
    return s.HourReportOut(hour=row.hour.isoformat(), queue=row.queue, offered=row.offered,
                           answered=row.answered, answered_within_sl=row.answered_within_sl,
                           abandoned=row.abandoned)  # fmt: skip


def pause_out(row: PauseNumbers) -> s.PauseReportOut:
    return s.PauseReportOut(agent=row.agent, name=row.name, reason=row.reason,
                            seconds=round(row.seconds, 3), times=row.times)  # fmt: skip


# -- building each report (off the hub: the period reads the zone files, SQL follows) --


def _period(query: s.ReportQuery) -> Period:
    return make_period(query.date_from, query.to, query.tz)


def queues_report(query: s.ReportQuery) -> s.QueuesReportOut:
    def work() -> s.QueuesReportOut:
        period = _period(query)
        rows = ReportService(deps().sessions).queues(period)
        return s.QueuesReportOut(period=period_out(period), queues=[queue_out(r) for r in rows],
                                 total=queue_out(total_of(rows)))  # fmt: skip

    return off_hub(work)


def open_stretches() -> tuple[list[OpenStretch], float]:
    """Each agent's status since its last change, from the live floor (the history has a
    stretch only once it closes), and the moment they were taken."""
    now = time.time()
    stretches = []
    for agent in deps().floor.snapshot().agents.values():
        since = max(filter(None, (agent.status_since, agent.state_since)), default=None)
        if since is not None:
            stretches.append(OpenStretch(agent.name, agent.status, agent.pause_reason, since))
    return stretches, now


def agents_report(query: s.ReportQuery) -> s.AgentsReportOut:
    live, now = open_stretches()

    def work() -> s.AgentsReportOut:
        period = _period(query)
        rows = ReportService(deps().sessions).agents(period, live, now)
        return s.AgentsReportOut(period=period_out(period), agents=[agent_out(r) for r in rows])

    return off_hub(work)


def hourly_report(query: s.HourlyQuery) -> s.HourlyReportOut:
    def work() -> s.HourlyReportOut:
        period = _period(query)
        rows = ReportService(deps().sessions).hourly(period, query.queue)
        hours = [period.hour(i).isoformat() for i in range(period.hour_count())]
        return s.HourlyReportOut(period=period_out(period), hours=hours,
                                 items=[hour_out(r) for r in rows])  # fmt: skip

    return off_hub(work)


def pauses_report(query: s.ReportQuery) -> s.PausesReportOut:
    live, now = open_stretches()

    def work() -> s.PausesReportOut:
        period = _period(query)
        rows = ReportService(deps().sessions).pauses(period, live, now)
        return s.PausesReportOut(period=period_out(period), items=[pause_out(r) for r in rows])

    return off_hub(work)


# -- CSV tables ---------------------------------------------------------------------------

QUEUE_COLUMNS = ("queue", "threshold_seconds", "offered", "answered",
                 "answered_within_threshold", "abandoned", "timed_out", "service_level",
                 "abandon_rate", "average_speed_of_answer_seconds", "average_handle_seconds",
                 "average_hold_seconds", "average_acw_seconds", "longest_wait_seconds")  # fmt: skip
ALL_QUEUES = "(all queues)"


def queue_cells(row: s.QueueReportOut, name: str | None = None) -> list[object]:
    return [name or row.queue, row.service_level_seconds or None, row.offered, row.answered,
            row.answered_within_sl, row.abandoned, row.timed_out, row.service_level,
            row.abandon_rate, row.average_speed_of_answer, row.average_handle_time,
            row.average_hold, row.average_acw, row.longest_wait]  # fmt: skip


def queues_csv(out: s.QueuesReportOut) -> str:
    rows = [queue_cells(q) for q in out.queues] + [queue_cells(out.total, ALL_QUEUES)]
    # Several FreeSWITCH nodes: a queue of one name on two nodes is two rows, told apart
    # by the node (none on the total).
    return csv_text(*with_nodes(QUEUE_COLUMNS, rows, [q.node for q in out.queues] + [None]))


def with_nodes(header: Sequence[str], rows: list[list[object]],
               nodes: list[str | None]) -> tuple[Sequence[str], list[list[object]]]:  # fmt: skip
    """A ``node`` column second when any row names a node (ESL_NODES); with one
    FreeSWITCH the table stays as it was."""
    if not any(nodes):
        return header, rows
    return (
        [header[0], "node", *header[1:]],
        [[row[0], node, *row[1:]] for row, node in zip(rows, nodes, strict=True)],
    )


AGENT_COLUMNS = ("agent", "name", "extension", "answered", "transferred", "talk_seconds",
                 "hold_seconds", "acw_seconds", "average_handle_seconds", "available_seconds",
                 "paused_seconds", "signed_in_seconds", "occupancy", "calls_per_hour")  # fmt: skip


def agents_csv(out: s.AgentsReportOut) -> str:
    rows: list[list[object]] = [
        [a.agent, a.name, a.extension, a.answered, a.transferred, a.talk_seconds,
         a.hold_seconds, a.acw_seconds, a.average_handle_time, a.available_seconds,
         a.paused_seconds,
         a.signed_in_seconds, a.occupancy, a.calls_per_hour]
        for a in out.agents]  # fmt: skip
    return csv_text(*with_nodes(AGENT_COLUMNS, rows, [a.node for a in out.agents]))


def hourly_csv(out: s.HourlyReportOut) -> str:
    return csv_text(("hour", "queue", "offered", "answered", "answered_within_threshold",
                     "abandoned"),
                    ([h.hour, h.queue, h.offered, h.answered, h.answered_within_sl, h.abandoned]
                     for h in out.items))  # fmt: skip


def pauses_csv(out: s.PausesReportOut) -> str:
    rows = ([p.agent, p.name, p.reason, p.seconds, p.times] for p in out.items)
    return csv_text(("agent", "name", "reason", "seconds", "times"), rows)


# -- registration -------------------------------------------------------------------------


def _csv_endpoint(api: Api, rule: str, name: str, summary: str, query_model: type[s.ReportQuery],
                  build: Callable[[Any], Any], table: Callable[[Any], str]) -> None:  # fmt: skip
    """``GET <rule>``: the same report as CSV (the registry's endpoints answer JSON, so
    this one is added beside them, with the same role check, query validation and an
    entry in the OpenAPI document)."""

    def handler() -> Response:
        require(api.users(), ROLE)
        query = parse_model(query_model, request.args.to_dict())
        out = build(query)
        filename = f"{name}-{out.period.first}_{out.period.last}.csv"
        return Response(table(out), mimetype="text/csv",
                        headers={"Content-Disposition": f'attachment; filename="{filename}"',
                                 "Cache-Control": "no-store"})  # fmt: skip

    api.blueprint.add_url_rule(rule, f"report_{name}_csv", handler, methods=["GET"])
    api.docs.append(EndpointDoc("GET", rule, summary + " (text/csv download)", TAG, ROLE,
                                None, None, query_model, ()))  # fmt: skip


def register(api: Api) -> None:
    @api.endpoint("GET", "/reports/queues", summary="Per queue over whole days: offered, "
                  "answered, abandoned, service level, speed of answer, handle time",
                  tag=TAG, role=ROLE, query=s.ReportQuery, response=s.QueuesReportOut)  # fmt: skip
    def report_queues(user: UserRecord, query: s.ReportQuery) -> s.QueuesReportOut:
        return queues_report(query)

    @api.endpoint("GET", "/reports/agents", summary="Per agent over whole days: calls, "
                  "handle time, occupancy, calls per hour", tag=TAG, role=ROLE,
                  query=s.ReportQuery, response=s.AgentsReportOut)  # fmt: skip
    def report_agents(user: UserRecord, query: s.ReportQuery) -> s.AgentsReportOut:
        return agents_report(query)

    @api.endpoint("GET", "/reports/hourly", summary="Queue calls per hour (offered, answered, "
                  "abandoned)", tag=TAG, role=ROLE, query=s.HourlyQuery,
                  response=s.HourlyReportOut)  # fmt: skip
    def report_hourly(user: UserRecord, query: s.HourlyQuery) -> s.HourlyReportOut:
        return hourly_report(query)

    @api.endpoint("GET", "/reports/pauses", summary="Time on break per agent and reason",
                  tag=TAG, role=ROLE, query=s.ReportQuery, response=s.PausesReportOut)  # fmt: skip
    def report_pauses(user: UserRecord, query: s.ReportQuery) -> s.PausesReportOut:
        return pauses_report(query)

    _csv_endpoint(api, "/reports/queues.csv", "queues", "Per queue report", s.ReportQuery,
                  queues_report, queues_csv)  # fmt: skip
    _csv_endpoint(api, "/reports/agents.csv", "agents", "Per agent report", s.ReportQuery,
                  agents_report, agents_csv)  # fmt: skip
    _csv_endpoint(api, "/reports/hourly.csv", "hourly", "Calls per hour", s.HourlyQuery,
                  hourly_report, hourly_csv)  # fmt: skip
    _csv_endpoint(api, "/reports/pauses.csv", "pauses", "Pauses by reason", s.ReportQuery,
                  pauses_report, pauses_csv)  # fmt: skip
