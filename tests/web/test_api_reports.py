"""Report endpoints as a supervisor's browser or script calls them: the numbers of a live
simulated call in today's report, a chosen day's history as JSON and as a CSV download
(whose cells cannot run as spreadsheet formulas), refusals as 400 JSON, and supervisors
only."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest

from esl_controller.store.engine import session_scope
from esl_controller.store.models import AgentActivity, Call
from tests.web.conftest import Web, ring
from tests.web.test_api_calls import answered_call, ready
from tests.wire.conftest import wait_until

API = "/call-center/api"
DAY = datetime(2026, 4, 7, tzinfo=UTC)


def rows_of(text: str) -> list[dict[str, str]]:
    assert text.startswith("\ufeff")  # the BOM: spreadsheets read the names as UTF-8
    return list(csv.DictReader(io.StringIO(text[1:])))


def put_history(web: Web) -> None:
    def joined(hours: float) -> datetime:
        return DAY + timedelta(hours=hours)

    calls = [
        # (uuid, queue, joined, wait, talk or None if unanswered, outcome, agent)
        ("r1", "support@default", joined(9), 5.0, 100.0, "answered", "agent1000"),
        ("r2", "support@default", joined(9.2), 45.0, 50.0, "answered", "agent1000"),
        ("r3", "support@default", joined(10), 30.0, None, "abandoned", None),
        ("r4", '=HYPERLINK("http://evil")', joined(11), 2.0, None, "abandoned", None),
    ]
    with session_scope(web.deps.sessions) as session:
        for uuid, queue, at, wait, talk, outcome, agent in calls:
            answered = at + timedelta(seconds=wait) if talk is not None else None
            session.add(Call(call_uuid=uuid, direction="inbound", queue=queue, agent=agent,
                             joined_at=at, answered_at=answered, wait_seconds=wait,
                             ended_at=at + timedelta(seconds=wait + (talk or 0)),
                             talk_seconds=talk, hold_seconds=0.0, outcome=outcome))  # fmt: skip
        session.add_all([
            AgentActivity(agent="agent1000", status="Available", state="Waiting", reason=None,
                          started_at=joined(8), ended_at=joined(12), seconds=4 * 3600.0),
            AgentActivity(agent="agent1000", status="On Break", state="Waiting",
                          reason="-2+3 lunch", started_at=joined(12), ended_at=joined(12.5),
                          seconds=1800.0),
        ])  # fmt: skip


def test_a_supervisor_reads_a_day_as_json_and_csv(web: Web) -> None:
    put_history(web)
    sue, _ = web.login("sue")
    reply = sue.get(f"{API}/reports/queues?from=2026-04-07&tz=UTC")
    assert reply.status_code == 200, reply.get_json()
    body = reply.get_json()
    assert body["period"] == {"first": "2026-04-07", "last": "2026-04-07", "tz": "UTC",
                              "start": "2026-04-07T00:00:00+00:00",
                              "end": "2026-04-08T00:00:00+00:00"}  # fmt: skip
    support = next(q for q in body["queues"] if q["queue"] == "support@default")
    assert (support["offered"], support["answered"], support["abandoned"]) == (3, 2, 1)
    assert support["answered_within_sl"] == 1  # 5 s; 45 s is past the 20 s threshold
    assert support["service_level"] == pytest.approx(1 / 3, abs=1e-4)
    assert support["average_speed_of_answer"] == pytest.approx(25.0)
    assert body["total"]["offered"] == 4

    download = sue.get(f"{API}/reports/queues.csv?from=2026-04-07&tz=UTC")
    assert download.status_code == 200
    assert download.mimetype == "text/csv"
    assert download.headers["Content-Disposition"] == (
        'attachment; filename="queues-2026-04-07_2026-04-07.csv"')  # fmt: skip
    rows = {r["queue"]: r for r in rows_of(download.get_data(as_text=True))}
    assert rows["support@default"]["offered"] == "3"
    assert rows["support@default"]["service_level"] == "0.3333"
    assert rows["(all queues)"]["offered"] == "4"
    assert "node" not in rows["support@default"]  # one FreeSWITCH: no node column
    # A queue name a spreadsheet would run as a formula is written as text.
    assert '\'=HYPERLINK("http://evil")' in rows

    agents = {r["agent"]: r for r in rows_of(sue.get(
        f"{API}/reports/agents.csv?from=2026-04-07&tz=UTC").get_data(as_text=True))}  # fmt: skip
    alice = agents["agent1000"]
    assert (alice["name"], alice["answered"], alice["talk_seconds"]) == ("Alice", "2", "150")
    assert alice["occupancy"] == f"{150 / (4 * 3600):.4f}".rstrip("0")
    pauses = rows_of(sue.get(f"{API}/reports/pauses.csv?from=2026-04-07&tz=UTC")
                     .get_data(as_text=True))  # fmt: skip
    assert [(p["reason"], p["seconds"]) for p in pauses] == [("'-2+3 lunch", "1800")]
    hourly = sue.get(f"{API}/reports/hourly?from=2026-04-07&tz=UTC&queue=support@default")
    items = hourly.get_json()["items"]
    assert [(i["hour"][11:16], i["offered"]) for i in items] == [("09:00", 2), ("10:00", 1)]
    assert len(hourly.get_json()["hours"]) == 24


def test_the_csv_names_each_rows_node_with_several_nodes(web: Web) -> None:
    with session_scope(web.deps.sessions) as session:
        for uuid, node, agent in (("n1", "fs1", "agent1000"), ("n2", "fs2", "agent2000")):
            at = DAY + timedelta(hours=9)
            session.add(Call(call_uuid=uuid, direction="inbound", queue="support@default",
                             agent=agent, joined_at=at, answered_at=at + timedelta(seconds=3),
                             wait_seconds=3.0, ended_at=at + timedelta(seconds=63),
                             talk_seconds=60.0, hold_seconds=0.0, outcome="answered",
                             node=node))  # fmt: skip
    sue, _ = web.login("sue")
    text = sue.get(f"{API}/reports/queues.csv?from=2026-04-07&tz=UTC").get_data(as_text=True)
    assert text[1:].startswith("queue,node,threshold_seconds,")
    rows = rows_of(text)
    assert [(r["queue"], r["node"], r["answered"]) for r in rows] == [
        ("support@default", "fs1", "1"), ("support@default", "fs2", "1"),
        ("(all queues)", "", "2")]  # fmt: skip
    agents = rows_of(sue.get(f"{API}/reports/agents.csv?from=2026-04-07&tz=UTC")
                     .get_data(as_text=True))  # fmt: skip
    assert {"agent1000": "fs1", "agent2000": "fs2"}.items() <= {
        a["agent"]: a["node"] for a in agents}.items()  # fmt: skip


def test_todays_report_has_a_live_call(web: Web) -> None:
    http, token = ready(web, "alice")
    ring(web, "1000", "noanswer", "5551230000", "Ada")
    call = answered_call(web, http, token)
    assert web.post(http, token, "call/drop").status_code == 200
    assert wait_until(lambda: call["uuid"] not in web.floor.snapshot().calls)
    assert web.recorder.drained(timeout=10)
    sue, _ = web.login("sue")

    def support() -> dict | None:  # type: ignore[type-arg]
        queues = sue.get(f"{API}/reports/queues").get_json()["queues"]
        return next((q for q in queues if q["queue"] == "support@default"), None)

    assert wait_until(lambda: support() is not None, 10)
    today = support()
    assert today is not None
    assert (today["offered"], today["answered"], today["abandoned"]) == (1, 1, 0)
    agents = sue.get(f"{API}/reports/agents").get_json()["agents"]
    assert [(a["agent"], a["answered"]) for a in agents if a["answered"]] == [("agent1000", 1)]

    # Alice is still Available: that open stretch counts before the history has it.
    def alice_available() -> float:
        rows = sue.get(f"{API}/reports/agents").get_json()["agents"]
        return next(a["available_seconds"] for a in rows if a["agent"] == "agent1000")

    first = alice_available()
    assert wait_until(lambda: alice_available() > first, 10)


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("from=2026-02-30", "invalid_date"),
        ("from=07/04/2026", "invalid_argument"),
        ("from=2026-04-07&to=2026-04-01", "invalid_range"),
        ("from=2025-01-01&to=2026-01-01", "invalid_range"),
        ("tz=Not/AZone", "invalid_tz"),
        ("tz=..%2F..%2Fetc%2Fpasswd", "invalid_tz"),
        ("day=2026-04-07", "invalid_argument"),
    ],
)
def test_a_bad_query_is_a_400_json_error(web: Web, query: str, code: str) -> None:
    sue, _ = web.login("sue")
    for path in ("queues", "queues.csv", "agents", "hourly.csv", "pauses"):
        reply = sue.get(f"{API}/reports/{path}?{query}")
        assert reply.status_code == 400, (path, reply.get_data(as_text=True))
        assert reply.get_json()["error"]["code"] == code


def test_reports_are_for_supervisors(web: Web) -> None:
    alice, _ = web.login("alice")
    anonymous = web.app.test_client()
    for path in ("queues", "agents", "hourly", "pauses", "queues.csv", "agents.csv",
                 "hourly.csv", "pauses.csv"):  # fmt: skip
        reply = alice.get(f"{API}/reports/{path}")
        assert reply.status_code == 403 and reply.get_json()["error"]["code"] == "forbidden"
        assert anonymous.get(f"{API}/reports/{path}").status_code == 401
    # The pages too: an agent is sent to their own page.
    assert alice.get("/reports").status_code == 302
    assert alice.get("/wallboard").status_code == 302


def test_the_openapi_document_lists_the_reports(web: Web) -> None:
    paths = web.app.test_client().get(f"{API}/openapi.json").get_json()["paths"]
    for name in ("queues", "agents", "hourly", "pauses"):
        for path in (f"{API}/reports/{name}", f"{API}/reports/{name}.csv"):
            operation = paths[path]["get"]
            assert {p["name"] for p in operation["parameters"]} >= {"from", "to", "tz"}
            assert operation["description"] == "Needs the supervisor role."
