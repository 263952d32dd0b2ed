"""The supervisor console in Chromium against ``callcenter serve --simulate`` (issue 11's
done-when): sue forces alice Not Ready with a reason and alice's page shows it; logs bob
out; moves bob to another queue and the queue panel follows; listens, whispers and barges
on alice's call (the simulator shows sue's eavesdrop leg and its mode); sends alice a
message that pops up on her page. The page only ever asks the server for its console data
at load and for the supervisor's actions: everything else arrives by push. At 390 px
nothing scrolls sideways. Screenshots in test-output/ (and docs/supervisor.png).
"""

from __future__ import annotations

import json
import os
import shutil
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.browser.agent_page import (
    no_horizontal_scroll,
    originate_caller,
    sign_in,
    wait_until,
)
from tests.browser.server import REPO

ALICE = ("alice", "alice-demo", "1000@default")
BOB = ("bob", "bob-demo-1", "1001@default")
SUE = ("sue", "sue-demo-1")
OTHER_SUPPORT_AGENTS = ("1002", "1003", "1004", "1005")


def open_console(context: BrowserContext, base_url: str, requests: list[str]) -> Page:
    """Sign in as sue and wait for the console's first drawing; every fetch/XHR the page
    makes from then on is noted in ``requests`` ("METHOD path")."""
    page = context.new_page()

    def note(request: Any) -> None:
        if request.resource_type in ("xhr", "fetch"):
            path = request.url.split("://", 1)[1].split("/", 1)[1]
            requests.append(f"{request.method} {path}")

    page.on("request", note)
    page.goto(f"{base_url}/login")
    page.get_by_label("User name").fill(SUE[0])
    page.get_by_label("Password").fill(SUE[1])
    page.get_by_test_id("login-submit").click()
    page.wait_for_url(f"{base_url}/supervisor")
    expect(page.get_by_test_id("sup-app")).to_have_attribute("data-ready", "true")
    return page


def row(page: Page, agent: str):  # type: ignore[no-untyped-def]
    return page.locator(f'[data-testid="agents"] tr[data-agent="{agent}"]')


def queue_card(page: Page, queue: str):  # type: ignore[no-untyped-def]
    return page.locator(f'[data-testid="queues"] article[data-queue="{queue}"]')


def manage(page: Page, agent: str) -> Any:
    row(page, agent).get_by_test_id("manage").click()
    dialog = page.get_by_test_id("agent-dialog")
    expect(dialog).to_be_visible()
    return dialog


def confirm(dialog: Any) -> None:
    expect(dialog.get_by_test_id("confirm")).to_be_visible()
    dialog.get_by_test_id("confirm-yes").click()
    expect(dialog.get_by_test_id("confirm")).to_be_hidden()


def eavesdrop_legs(esl) -> list[dict[str, str]]:  # type: ignore[no-untyped-def]
    """FreeSWITCH's view: channels running the eavesdrop application."""
    rows = json.loads(esl.api("show channels as json")).get("rows") or []
    return [r for r in rows if r.get("application") == "eavesdrop"]


def only_actions(requests: list[str]) -> list[str]:
    """What the page asked beyond its one read at load and the supervisor's actions."""
    loads = [r for r in requests if r == "GET call-center/api/supervisor/console"]
    others = [r for r in requests if r != "GET call-center/api/supervisor/console"
              and not r.startswith("POST call-center/api/supervisor/")]  # fmt: skip
    return others + loads[1:]


@pytest.fixture(scope="module")
def floor(cc_server):  # type: ignore[no-untyped-def]
    """Only the demo agents take support calls; demo phones answer when the page says."""
    for extension in OTHER_SUPPORT_AGENTS:
        cc_server.esl.ok(f"callcenter_config agent set status {extension}@default 'Logged Out'")
    return cc_server


@pytest.mark.timeout(300)
def test_supervisor_steers_agents_from_the_page(floor, agent_browser, output_dir) -> None:  # type: ignore[no-untyped-def]
    base = floor.base_url
    contexts = [agent_browser.new_context(viewport={"width": 1280, "height": 800})
                for _ in range(3)]  # fmt: skip
    requests: list[str] = []
    errors: list[str] = []
    try:
        alice = sign_in(contexts[0], base, ALICE[0], ALICE[1])
        bob = sign_in(contexts[1], base, BOB[0], BOB[1])
        sue = open_console(contexts[2], base, requests)
        sue.on("pageerror", lambda exc: errors.append(str(exc)))

        # Names, not mod_callcenter ids; the id beside; extension and status.
        alice_row = row(sue, ALICE[2])
        expect(alice_row.get_by_test_id("agent-name")).to_have_text("Alice")
        expect(alice_row).to_contain_text(ALICE[2])
        expect(alice_row).to_contain_text("1000")
        expect(alice_row).to_contain_text("On Break")
        expect(alice_row).to_contain_text("Login")

        # -- Not Ready with a reason: alice's own page shows it at once.
        alice.get_by_test_id("ready").click()
        expect(alice_row).to_contain_text("Available")
        dialog = manage(sue, ALICE[2])
        expect(dialog.get_by_test_id("dialog-title")).to_contain_text("Alice")
        dialog.get_by_test_id("force-reason").select_option("Training")
        dialog.get_by_test_id("force-not-ready").click()
        confirm(dialog)
        expect(dialog.get_by_test_id("dialog-notice")).to_contain_text("Not Ready: Training")
        expect(alice.get_by_test_id("agent-status")).to_have_text("On Break")
        expect(alice.get_by_test_id("pause-reason")).to_have_text("(Training)")
        expect(alice_row).to_contain_text("Training")
        # A refusal is shown as FreeSWITCH words it, never swallowed.
        dialog.get_by_test_id("force-state-select").select_option("Reserved")
        dialog.get_by_test_id("force-state").click()
        dialog.get_by_test_id("confirm-no").click()
        expect(dialog.get_by_test_id("dialog-notice")).to_have_text("Cancelled.")
        dialog.get_by_test_id("dialog-close").click()

        # -- Log bob out: his page says so, the grid too, with who did it.
        bob_row = row(sue, BOB[2])
        expect(bob_row).to_contain_text("On Break")
        dialog = manage(sue, BOB[2])
        dialog.get_by_test_id("force-logout").click()
        confirm(dialog)
        expect(bob.get_by_test_id("agent-status")).to_have_text("Logged Out")
        expect(bob_row).to_contain_text("Logged Out")
        expect(bob_row).to_contain_text("Supervisor: sue")

        # -- Move bob from support to sales: the queue panel follows.
        sales = queue_card(sue, "sales@default")
        support = queue_card(sue, "support@default")
        expect(support.get_by_test_id("queue-tiers")).to_contain_text("Bob")
        expect(sales.get_by_test_id("queue-tiers")).not_to_contain_text("Bob")
        dialog.get_by_test_id("move-from").select_option("support@default")
        dialog.get_by_test_id("move-to").select_option("sales@default")
        dialog.get_by_test_id("move-level").fill("2")
        dialog.get_by_test_id("move-position").fill("9")
        dialog.get_by_test_id("move-submit").click()
        confirm(dialog)
        expect(dialog.get_by_test_id("dialog-notice")).to_contain_text("moved to sales@default")
        expect(sales.get_by_test_id("queue-tiers")).to_contain_text("Bob")
        expect(sales.get_by_test_id("queue-tiers").locator('li[data-agent="1001@default"]')
               ).to_contain_text("level 2 · position 9")  # fmt: skip
        expect(support.get_by_test_id("queue-tiers")).not_to_contain_text("Bob")
        expect(dialog.get_by_test_id("dialog-tiers")).to_contain_text("sales@default")
        tiers = floor.esl.api("callcenter_config tier list")
        assert "sales@default|1001@default" in tiers and "support@default|1001@default" not in tiers
        dialog.get_by_test_id("dialog-close").click()
        # The grid's queue filter follows the new tiers too.
        sue.get_by_test_id("queue-filter").select_option("sales@default")
        expect(bob_row).to_be_visible()
        expect(alice_row).to_be_hidden()
        sue.get_by_test_id("queue-filter").select_option("")
        sue.get_by_test_id("agent-search").fill("ali")
        expect(alice_row).to_be_visible()
        expect(bob_row).to_be_hidden()
        sue.get_by_test_id("agent-search").fill("")

        # -- A message alice sees on her page.
        dialog = manage(sue, ALICE[2])
        dialog.get_by_test_id("message-text").fill("Please call the Lovelace account back")
        dialog.get_by_test_id("message-send").click()
        expect(dialog.get_by_test_id("dialog-notice")).to_have_text("Message shown to Alice.")
        popup = alice.get_by_test_id("supervisor-message")
        expect(popup).to_be_visible()
        expect(popup).to_contain_text("Message from Sue")
        expect(popup.get_by_test_id("supervisor-message-text")).to_have_text(
            "Please call the Lovelace account back")  # fmt: skip
        alice.get_by_test_id("supervisor-message-close").click()
        expect(popup).to_be_hidden()
        dialog.get_by_test_id("dialog-close").click()

        # Every action is in the audit log: who, what, on whom, outcome.
        entries = sue.request.get(f"{base}/call-center/api/audit?limit=50").json()["entries"]
        done = {(e["actor"], e["action"], e["target"], e["outcome"]) for e in entries}
        assert {("sue", "force_status", ALICE[2], "ok"), ("sue", "force_status", BOB[2], "ok"),
                ("sue", "tier_move", BOB[2], "ok"),
                ("sue", "message", ALICE[2], "ok")} <= done  # fmt: skip
        assert only_actions(requests) == [], requests
        assert errors == []
    finally:
        for context in contexts:
            context.close()


@pytest.mark.timeout(300)
def test_listen_then_whisper_then_barge_on_a_call(floor, agent_browser, output_dir) -> None:  # type: ignore[no-untyped-def]
    base, esl = floor.base_url, floor.esl
    contexts = [agent_browser.new_context(viewport={"width": 1280, "height": 800})
                for _ in range(2)]  # fmt: skip
    requests: list[str] = []
    try:
        alice = sign_in(contexts[0], base, ALICE[0], ALICE[1])
        sue = open_console(contexts[1], base, requests)
        alice.get_by_test_id("ready").click()
        expect(alice.get_by_test_id("agent-status")).to_have_text("Available")
        originate_caller(esl, "15550107777", "GRACE H")
        expect(alice.get_by_test_id("ringing-popup")).to_be_visible()
        # The queue panel shows the caller while the call rings.
        support = queue_card(sue, "support@default")
        expect(sue.locator('[data-testid="calls"] tr').filter(has_text="15550107777")
               ).to_contain_text("ringing")  # fmt: skip
        alice.get_by_test_id("answer").click()
        expect(alice.get_by_test_id("call-state")).to_have_text("Talking")
        alice_row = row(sue, ALICE[2])
        expect(alice_row).to_contain_text("GRACE H")
        expect(alice_row.get_by_test_id("call-state")).to_have_text("talking")
        call_row = sue.locator('[data-testid="calls"] tr').filter(has_text="15550107777")
        expect(call_row).to_contain_text("Alice")
        expect(call_row).to_contain_text("support@default")
        expect(support.get_by_test_id("queue-on-call")).not_to_have_text("0")

        dialog = manage(sue, ALICE[2])
        expect(dialog.get_by_test_id("dialog-call")).to_contain_text("talking")
        dialog.get_by_test_id("listen").click()
        bar = sue.get_by_test_id("eavesdrop-bar")
        expect(bar).to_be_visible()
        expect(bar.get_by_test_id("eavesdrop-status")).to_contain_text("listening to Alice")
        expect(bar.get_by_test_id("eavesdrop-listen")).to_have_attribute("aria-pressed", "true")
        leg = bar.get_attribute("data-leg")
        assert leg
        # FreeSWITCH (the simulator) has sue's leg on alice's call, in the mode shown.
        legs = eavesdrop_legs(esl)
        assert [r["uuid"] for r in legs] == [leg]
        assert legs[0]["name"].startswith("sofia/internal/1090@")

        def mode() -> str:
            return esl.api(f"uuid_getvar {leg} eavesdrop_mode").strip()

        assert mode() == "listen"
        expect(call_row).to_contain_text("you: listen")
        steps = (("whisper", "whispering to Alice"), ("barge", "on the call with Alice"),
                 ("listen", "listening to Alice"), ("barge", "on the call with Alice"))  # fmt: skip
        for wanted, label in steps:
            button = bar.get_by_test_id(f"eavesdrop-{wanted}")
            button.click()
            expect(button).to_have_attribute("aria-pressed", "true")
            expect(bar.get_by_test_id("eavesdrop-status")).to_contain_text(label)
            wait_until(lambda w=wanted: mode() == w, what=f"the leg in {wanted} mode")  # type: ignore[misc]
        expect(call_row).to_contain_text("you: barge")
        sue.set_viewport_size({"width": 1280, "height": 800})
        sue.screenshot(path=str(output_dir / "supervisor-barge-1280x800.png"))

        bar.get_by_test_id("eavesdrop-stop").click()
        expect(bar).to_be_hidden()
        wait_until(lambda: eavesdrop_legs(esl) == [], what="sue's leg gone")
        # Alice's call goes on without the supervisor.
        expect(alice.get_by_test_id("call-state")).to_have_text("Talking")
        entries = sue.request.get(f"{base}/call-center/api/audit?limit=50").json()["entries"]
        modes = [e["details"]["mode"] for e in reversed(entries) if e["action"] == "eavesdrop_mode"]
        assert modes[-4:] == ["whisper", "barge", "listen", "barge"]
        assert any(e["action"] == "eavesdrop_listen" and e["outcome"] == "ok" for e in entries)
        assert only_actions(requests) == [], requests
        alice.get_by_test_id("drop").click()
        expect(call_row).to_be_hidden()
    finally:
        for context in contexts:
            context.close()


@pytest.mark.timeout(300)
def test_console_layout_at_1280_and_390(floor, agent_browser, output_dir) -> None:  # type: ignore[no-untyped-def]
    base, esl = floor.base_url, floor.esl
    context = agent_browser.new_context(viewport={"width": 1280, "height": 800})
    requests: list[str] = []
    try:
        sue = open_console(context, base, requests)
        # Something to look at: two sales calls with the simulated agents (their phones
        # answer by themselves), then a caller waiting in billing, whose agents are busy or
        # away.
        for extension in ("1008", "1009"):
            esl.ok(f"callcenter_config agent set status {extension}@default 'On Break'")
        sales = queue_card(sue, "sales@default")
        originate_caller(esl, "15550108881", "EDSGER D", "5001")
        expect(sales.get_by_test_id("queue-on-call")).to_have_text("1")
        originate_caller(esl, "15550108882", "BARBARA L", "5001")
        expect(sales.get_by_test_id("queue-on-call")).to_have_text("2")
        originate_caller(esl, "15550108888", "KATHERINE J", "5002")
        billing = queue_card(sue, "billing@default")
        expect(billing.get_by_test_id("queue-callers")).to_contain_text("KATHERINE J")
        expect(billing.get_by_test_id("queue-waiting")).to_have_text("1")
        expect(billing.get_by_test_id("queue-strategy")).to_have_text("top-down")
        calls = sue.locator('[data-testid="calls"] tbody tr')
        expect(calls.filter(has_text="KATHERINE J")).to_contain_text("queued")
        expect(calls.filter(has_text="EDSGER D")).to_contain_text("talking")
        # On-call agents first.
        sue.get_by_test_id("agent-sort").select_option("status")
        first = sue.locator('[data-testid="agents"] tbody tr').first
        expect(first.get_by_test_id("call-state")).to_have_text("talking")
        sue.screenshot(path=str(output_dir / "supervisor-1280x800.png"))
        if os.environ.get("UPDATE_DOCS") == "1":  # README's picture, refreshed on request only
            docs = REPO / "docs"
            docs.mkdir(exist_ok=True)
            shutil.copyfile(output_dir / "supervisor-1280x800.png", docs / "supervisor.png")

        sue.set_viewport_size({"width": 390, "height": 844})
        sue.wait_for_function("document.documentElement.clientWidth === 390")
        width, _ = no_horizontal_scroll(sue)
        assert width <= 390, f"the console scrolls sideways at 390 px ({width} px wide)"
        sue.screenshot(path=str(output_dir / "supervisor-390x844.png"), full_page=True)
        dialog = manage(sue, ALICE[2])
        width, _ = no_horizontal_scroll(sue)
        assert width <= 390, f"the agent dialog scrolls sideways at 390 px ({width} px wide)"
        box = dialog.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390
        sue.screenshot(path=str(output_dir / "supervisor-dialog-390x844.png"))
        assert only_actions(requests) == [], requests
    finally:
        context.close()
