"""The reports page and the wallboard as a supervisor sees them, in Chromium against
``callcenter serve --simulate``: today's numbers after simulated calls and inserted
history, a CSV download whose numbers are the SQL counts over the history, the wallboard
at 1920x1080 following a waiting caller live, and both without sideways scrolling at
390 px. Screenshots go to test-output/."""

from __future__ import annotations

import csv
import io
import json
import re
import sqlite3
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect

from esl_controller.services.reports import Period, make_period
from tests.browser.agent_page import (
    no_horizontal_scroll,
    originate_caller,
    sign_in_supervisor,
    wait_until,
)
from tests.browser.server import CallCenterServer

# SQLite keeps DateTime as UTC text in this form (as SQLAlchemy writes it).
STAMP = "%Y-%m-%d %H:%M:%S.%f"
COUNTED = "(answered_at IS NOT NULL OR outcome IS NULL OR outcome != 'lost')"
BILLING_AGENTS = ("1006@default", "1007@default", "1008@default", "1009@default")


def stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(STAMP)


def today() -> Period:
    # The server runs on this machine with this environment: the same zone, the same day.
    return make_period()


def floor_calls(page: Page, base_url: str) -> list[dict[str, Any]]:
    reply = page.request.get(f"{base_url}/call-center/api/floor")
    assert reply.ok, reply.text()
    return list(reply.json()["calls"])


def recorded(db: Path, uuid_like: str) -> bool:
    with sqlite3.connect(db) as conn:
        row = conn.execute("SELECT ended_at FROM cc_calls WHERE cid_number = ?",
                           (uuid_like,)).fetchone()  # fmt: skip
    return row is not None and row[0] is not None


def insert_history(db: Path, period: Period) -> None:
    """Earlier today: answered, slow-answered, abandoned, lost and timed-out calls, one in
    a queue whose name a spreadsheet would run as a formula; an agent's day."""
    base = period.start + timedelta(minutes=5)

    def at(minutes: float) -> str:
        return stamp(base + timedelta(minutes=minutes))

    rows = [
        # uuid, queue, joined (min), wait s, talk s (None: unanswered), outcome, agent
        ("hist-1", "support@default", 0, 8.0, 60.0, "answered", "1002@default"),
        ("hist-2", "support@default", 1, 35.0, 90.0, "answered", "1003@default"),
        ("hist-3", "sales@default", 2, 12.0, None, "abandoned", None),
        ("hist-4", "sales@default", 3, 4.0, None, "lost", None),
        ("hist-5", "billing@default", 4, 300.0, None, "timeout", None),
        ("hist-6", "=cmd|' /C calc'!A0", 5, 3.0, None, "abandoned", None),
        ("hist-7", "support@default", 6, 5.0, 60.0, "answered", "9009@default"),
    ]
    with sqlite3.connect(db) as conn:
        for uuid, queue, minute, wait, talk, outcome, agent in rows:
            joined = base + timedelta(minutes=minute)
            answered = stamp(joined + timedelta(seconds=wait)) if talk is not None else None
            ended = stamp(joined + timedelta(seconds=wait + (talk or 0)))
            conn.execute(
                "INSERT INTO cc_calls (call_uuid, direction, queue, agent, cid_name, cid_number,"
                " joined_at, answered_at, ended_at, wait_seconds, talk_seconds, hold_seconds,"
                " transferred, outcome) VALUES (?, 'inbound', ?, ?, '', ?, ?, ?, ?, ?, ?, 0, 0, ?)",
                (uuid, queue, agent, uuid, stamp(joined), answered, ended, wait, talk, outcome),
            )
        # hist-7's disposition was saved 10 minutes after it ended (after-call work).
        conn.execute("UPDATE cc_calls SET after_call_seconds = 600 WHERE call_uuid = 'hist-7'")
        conn.execute(
            "INSERT INTO cc_agent_activities (agent, status, state, reason, started_at,"
            " ended_at, seconds) VALUES ('1002@default', 'On Break', 'Waiting', 'Lunch', ?, ?,"
            " 1800)", (at(10), at(40)))  # fmt: skip


def sql_queue_counts(db: Path, period: Period) -> dict[str, dict[str, int]]:
    """What the history says, counted by hand in SQL."""
    query = f"""
        SELECT c.queue, count(*),
               sum(c.answered_at IS NOT NULL),
               sum(c.answered_at IS NULL AND c.outcome = 'abandoned'),
               sum(c.answered_at IS NOT NULL
                   AND c.wait_seconds <= coalesce(q.service_level_seconds, 20))
          FROM cc_calls c LEFT JOIN cc_queues q ON q.name = c.queue
         WHERE c.queue IS NOT NULL AND c.joined_at >= ? AND c.joined_at < ? AND {COUNTED}
         GROUP BY c.queue"""
    with sqlite3.connect(db) as conn:
        rows = conn.execute(query, (stamp(period.start), stamp(period.end))).fetchall()
    return {q: {"offered": o, "answered": a, "abandoned": ab, "answered_within_threshold": w}
            for q, o, a, ab, w in rows}  # fmt: skip


def sql_agent_answered(db: Path, period: Period) -> dict[str, int]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT agent, count(*) FROM cc_calls WHERE agent IS NOT NULL AND answered_at >= ?"
            " AND answered_at < ? GROUP BY agent", (stamp(period.start), stamp(period.end)),
        ).fetchall()  # fmt: skip
    return dict(rows)


def simulated_calls(server: CallCenterServer, page: Page) -> None:
    """One call a simulated agent answers, then the caller hangs up; one caller who gives
    up waiting in billing while its agents are on break."""
    esl = server.esl
    caller = originate_caller(esl, "5550001111", "Answered Caller", "5000")
    url = server.base_url
    wait_until(lambda: any(c["cid_number"] == "5550001111" and c["answered_at"]
                           for c in floor_calls(page, url)), 20, "the answer")  # fmt: skip
    esl.ok(f"uuid_kill {caller}")
    for agent in BILLING_AGENTS:
        esl.ok(f"callcenter_config agent set status {agent} 'On Break'")
    caller = originate_caller(esl, "5550002222", "Impatient Caller", "5002")
    wait_until(lambda: any(c["cid_number"] == "5550002222" for c in floor_calls(page, url)),
               20, "the caller queued")  # fmt: skip
    esl.ok(f"uuid_kill {caller}")
    for number in ("5550001111", "5550002222"):
        wait_until(lambda n=number: recorded(server.db_path, n), 20, f"the record of {number}")


def csv_rows(path: str) -> list[dict[str, str]]:
    text = Path(path).read_text(encoding="utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


def test_reports_for_today_and_the_csv_equal_sql_counts(cc_server, agent_browser,
                                                         output_dir) -> None:  # type: ignore[no-untyped-def]  # fmt: skip
    context = agent_browser.new_context(viewport={"width": 1280, "height": 800},
                                        accept_downloads=True)  # fmt: skip
    try:
        page = sign_in_supervisor(context, cc_server.base_url)
        simulated_calls(cc_server, page)
        period = today()
        insert_history(cc_server.db_path, period)
        expected = sql_queue_counts(cc_server.db_path, period)
        assert expected["support@default"]["answered"] >= 3  # the simulated call and two
        assert expected["billing@default"]["abandoned"] >= 1  # the impatient caller

        page.get_by_role("link", name="Reports").click()
        page.wait_for_url(f"{cc_server.base_url}/reports")
        expect(page.locator("body")).to_have_attribute("data-loaded", "true")
        expect(page.get_by_test_id("period-from")).to_have_value(period.first.isoformat())
        support = page.locator('[data-testid="report-queues"] tr[data-queue="support@default"]')
        expect(support.locator("td").nth(1)).to_have_text(
            str(expected["support@default"]["offered"])
        )
        expect(page.locator('[data-tile="offered"]')).to_have_text(
            str(sum(q["offered"] for q in expected.values())))  # fmt: skip
        for chart in ("queues", "hourly", "agents", "pauses"):
            expect(page.locator(f"#chart-{chart}")).to_have_attribute("data-ready", "true")
        expect(page.locator('[data-testid="report-pauses"]')).to_contain_text("Lunch")
        # After-call work: its own column, and inside the handle time (60 s talk + 600 s).
        acw_agent = page.locator('[data-testid="report-agents"] tr[data-agent="9009@default"]')
        expect(acw_agent.locator('td[data-label="ACW"]')).to_have_text("0 h 10 m")
        expect(acw_agent.locator('td[data-label="avg handle"]')).to_have_text("11:00")
        expect(support.locator('td[data-label="avg ACW"]')).to_be_visible()

        with page.expect_download() as queued:
            page.get_by_test_id("csv-queues").click()
        download = queued.value
        assert download.suggested_filename == (
            f"queues-{period.first.isoformat()}_{period.last.isoformat()}.csv")  # fmt: skip
        rows = {r["queue"]: r for r in csv_rows(download.path())}
        for queue, counts in expected.items():
            shown = queue if not queue.startswith("=") else "'" + queue  # no formula in a cell
            assert {k: int(rows[shown][k]) for k in counts} == counts, queue
        assert int(rows["(all queues)"]["offered"]) == sum(q["offered"] for q in expected.values())

        with page.expect_download() as agents_download:
            page.get_by_test_id("csv-agents").click()
        agent_rows = csv_rows(agents_download.value.path())
        answered = {r["agent"]: int(r["answered"]) for r in agent_rows
                    if int(r["answered"])}  # fmt: skip
        assert answered == sql_agent_answered(cc_server.db_path, period)
        acw_row = next(r for r in agent_rows if r["agent"] == "9009@default")
        assert (acw_row["acw_seconds"], acw_row["average_handle_seconds"]) == ("600", "660")
        assert "average_acw_seconds" in rows["support@default"]

        page.screenshot(path=str(output_dir / "reports-1280x800.png"), full_page=True)
        page.set_viewport_size({"width": 390, "height": 844})
        page.wait_for_function("document.documentElement.clientWidth === 390")
        expect(support).to_be_visible()
        width, _ = no_horizontal_scroll(page)
        assert width <= 390, f"/reports scrolls sideways at 390 px ({width} px wide)"
        page.screenshot(path=str(output_dir / "reports-390x844.png"), full_page=True)

        # A chosen day with nothing in it: the tables say so, the CSV has just its header.
        page.set_viewport_size({"width": 1280, "height": 800})
        page.get_by_test_id("period-from").fill("2020-01-01")
        page.get_by_test_id("period-to").fill("2020-01-02")
        page.get_by_test_id("period-show").click()
        expect(page.get_by_test_id("report-status")).to_contain_text("2020-01-01 to 2020-01-02")
        expect(page.get_by_test_id("report-queues")).to_contain_text("No queue calls")
        assert "from=2020-01-01" in page.url
    finally:
        context.close()


def test_wallboard_follows_the_floor_at_1920x1080(cc_server, agent_browser,
                                                  output_dir) -> None:  # type: ignore[no-untyped-def]  # fmt: skip
    context = agent_browser.new_context(viewport={"width": 1920, "height": 1080})
    try:
        page = sign_in_supervisor(context, cc_server.base_url)
        page.goto(f"{cc_server.base_url}/wallboard")
        board = page.get_by_test_id("wallboard")
        expect(board).to_have_attribute("data-ready", "true")
        # today's report was read
        expect(board).to_have_attribute("data-totals", re.compile(r"^\d+$"))
        assert page.get_by_role("button").count() == 0  # a TV: nothing to press
        period = today()
        counts = sql_queue_counts(cc_server.db_path, period)
        support = page.locator('[data-queue="support@default"]')
        expect(support.locator("[data-field=answered]")).to_have_text(
            str(counts.get("support@default", {}).get("answered", 0)))  # fmt: skip

        # Billing's agents on break and a caller waiting there: the board shows it live.
        for agent in BILLING_AGENTS:
            cc_server.esl.ok(f"callcenter_config agent set status {agent} 'On Break'")
        billing = page.locator('[data-queue="billing@default"]')
        expect(billing.locator("[data-field=available]")).to_have_text("0")
        abandoned_before = counts.get("billing@default", {}).get("abandoned", 0)
        expect(billing.locator("[data-field=abandoned]")).to_have_text(str(abandoned_before))
        caller = originate_caller(cc_server.esl, "5550003333", "Waiting Caller", "5002")
        expect(billing.locator("[data-field=waiting]")).to_have_text("1")
        longest = billing.locator("[data-field=longest]")
        expect(longest).to_have_text(re.compile(r"^0:0\d$"))
        first = longest.text_content()
        expect(longest).not_to_have_text(first or "")  # it ticks
        expect(page.locator("[data-count=paused]")).not_to_have_text("0")
        page.screenshot(path=str(output_dir / "wallboard-1920x1080.png"))

        # The caller gives up: the wait is gone and today's abandoned count follows the
        # history (read again when the call ended).
        cc_server.esl.ok(f"uuid_kill {caller}")
        expect(billing.locator("[data-field=waiting]")).to_have_text("0")
        wait_until(lambda: recorded(cc_server.db_path, "5550003333"), 20, "the record")
        after = sql_queue_counts(cc_server.db_path, period)["billing@default"]["abandoned"]
        assert after == abandoned_before + 1
        expect(billing.locator("[data-field=abandoned]")).to_have_text(str(after))

        page.set_viewport_size({"width": 390, "height": 844})
        page.wait_for_function("document.documentElement.clientWidth === 390")
        width, _ = no_horizontal_scroll(page)
        assert width <= 390, f"/wallboard scrolls sideways at 390 px ({width} px wide)"
        page.screenshot(path=str(output_dir / "wallboard-390x844.png"), full_page=True)
    finally:
        for agent in BILLING_AGENTS:
            cc_server.esl.api(f"callcenter_config agent set status {agent} 'Available'")
        context.close()


def test_an_agent_is_refused_the_reports(cc_server) -> None:  # type: ignore[no-untyped-def]
    # Signed in as alice over plain HTTP: 403 JSON from the report API.
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
    body = json.dumps({"username": "alice", "password": "alice-demo"}).encode()
    login = urllib.request.Request(f"{cc_server.base_url}/call-center/api/agent/login", body,
                                   {"Content-Type": "application/json"})  # fmt: skip
    with opener.open(login, timeout=10) as reply:
        assert reply.status == 200
    for path in ("reports/queues", "reports/queues.csv"):
        try:
            opener.open(f"{cc_server.base_url}/call-center/api/{path}", timeout=10)
            raise AssertionError(f"{path} answered an agent")
        except urllib.error.HTTPError as refused:
            assert refused.code == 403
            assert json.load(refused)["error"]["code"] == "forbidden"
