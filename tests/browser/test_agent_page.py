"""The agent's page in a real browser against the real server and the FreeSWITCH
simulator (the issue's done-when): sign in, Ready, a call rings with the customer popup,
answer, hold / unhold, DTMF, mute, blind transfer; a second call transferred attended to
another agent (consult, Complete); a third dropped; wrap-up with a disposition after each;
recent calls with their dispositions. A second agent's page never shows the first agent's
callers; an agent is refused the supervisor API; the layout holds at 390 px.

Callers are originated into the support queue over ESL and parked on their own side, so
they stay on the line until the test's flow ends them (``sim_caller``'s callers hang up
after a random talk time, which would make the flow flaky).
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.agent_page import (
    RECORD_DOM,
    originate_caller,
    phone_answered,
    screenshots,
    sign_in,
    wait_until,
)

ALICE = ("alice", "alice-demo", "1000@default")
BOB = ("bob", "bob-demo-1", "1001@default")
FIRST = ("15550100001", "ADA L")  # a known customer
SECOND = ("15550100002", "BRIAN K")  # unknown caller
THIRD = ("15550100003", "CLAIRE M")  # a known customer
OTHER_SUPPORT_AGENTS = ("1002", "1003", "1004", "1005")


def quiet_floor(esl) -> None:  # type: ignore[no-untyped-def]
    """Only the demo agents take support calls, and wrap-up is not gated for long."""
    for extension in OTHER_SUPPORT_AGENTS:
        esl.ok(f"callcenter_config agent set status {extension}@default 'Logged Out'")
    # mod_callcenter's own gate after each call (15 s in freeswitch_conf) would only slow
    # the test: the page's wrap-up form is what holds offers back until a disposition.
    esl.ok("callcenter_config agent set wrap_up_time 1000@default 1")


def wrap_up(page: Page, disposition: str, notes: str) -> None:
    panel = page.get_by_test_id("wrapup-panel")
    expect(panel).to_be_visible()
    page.get_by_test_id("disposition").select_option(disposition)
    page.get_by_test_id("wrapup-notes").fill(notes)
    page.get_by_test_id("wrapup-save").click()
    expect(panel).to_be_hidden()
    expect(page.get_by_test_id("wrapup-error")).to_be_hidden()


def history_item(page: Page, number: str):  # type: ignore[no-untyped-def]
    return page.get_by_test_id("history-item").filter(has_text=number)


@pytest.mark.timeout(300)
def test_agent_takes_transfers_and_drops_calls(cc_server, agent_browser, output_dir) -> None:  # type: ignore[no-untyped-def]
    esl = cc_server.esl
    quiet_floor(esl)
    cc_server.add_customer(
        name="Ada Lovelace", phone=FIRST[0], email="ada@engines.example",
        company="Analytical Engines", notes="Prefers email", vip=True,
    )  # fmt: skip
    cc_server.add_customer(name="Claire Moreau", phone=THIRD[0], company="Moreau SARL")

    bob_context = agent_browser.new_context(viewport={"width": 1280, "height": 800})
    bob_context.add_init_script(RECORD_DOM)
    alice_context = agent_browser.new_context(viewport={"width": 1280, "height": 800})
    errors: list[str] = []
    try:
        bob = sign_in(bob_context, cc_server.base_url, BOB[0], BOB[1])
        alice = sign_in(alice_context, cc_server.base_url, ALICE[0], ALICE[1])
        alice.on("pageerror", lambda exc: errors.append(str(exc)))

        # Signed in to the queues but not ready; both links up, so no banner.
        expect(alice.get_by_test_id("agent-status")).to_have_text("On Break")
        expect(alice.get_by_test_id("pause-reason")).to_have_text("(Login)")
        expect(alice.get_by_test_id("agent-state")).to_have_text("Waiting")
        expect(alice.get_by_test_id("phone-registration")).to_contain_text("registered")
        expect(alice.get_by_test_id("phone-settings")).to_be_hidden()  # softphone only
        expect(alice.locator("#banner")).to_be_hidden()
        expect(bob.locator("#banner")).to_be_hidden()
        expect(alice.get_by_test_id("status-timer")).to_have_text(re.compile(r"^\d\d:\d\d$"))

        # Not Ready with a reason, then Ready: the page shows what FreeSWITCH reports.
        alice.get_by_test_id("reason-select").select_option("lunch")
        alice.get_by_test_id("not-ready").click()
        expect(alice.get_by_test_id("pause-reason")).to_have_text("(Lunch)")
        alice.get_by_test_id("ready").click()
        expect(alice.get_by_test_id("agent-status")).to_have_text("Available")
        expect(alice.get_by_test_id("pause-reason")).to_be_hidden()
        expect(alice.get_by_test_id("ready")).to_be_disabled()

        # -- call 1: a known customer; answer, hold, unhold, DTMF, mute, blind transfer.
        originate_caller(esl, *FIRST)
        popup = alice.get_by_test_id("ringing-popup")
        expect(popup).to_be_visible()
        expect(alice.get_by_test_id("customer-name")).to_have_text("Ada Lovelace")
        expect(alice.get_by_test_id("customer-company")).to_have_text("Analytical Engines")
        expect(alice.get_by_test_id("customer-vip")).to_be_visible()
        expect(alice.get_by_test_id("ringing-number")).to_have_text(FIRST[0])
        expect(alice.get_by_test_id("agent-state")).to_have_text("Receiving")
        screenshots(alice, output_dir, "ringing")

        alice.get_by_test_id("answer").click()
        call_panel = alice.get_by_test_id("call-panel")
        expect(call_panel).to_be_visible()
        expect(popup).to_be_hidden()
        expect(alice.get_by_test_id("call-number")).to_have_text(FIRST[0])
        expect(alice.get_by_test_id("call-state")).to_have_text("Talking")
        expect(alice.get_by_test_id("agent-state")).to_have_text("In a queue call")
        screenshots(alice, output_dir, "in-call")

        alice.get_by_test_id("hold").click()
        expect(alice.get_by_test_id("call-state")).to_have_text("On hold")
        expect(alice.get_by_test_id("held-indicator")).to_be_visible()
        expect(call_panel).to_have_attribute("data-held", "true")
        alice.get_by_test_id("unhold").click()
        expect(alice.get_by_test_id("call-state")).to_have_text("Talking")
        expect(alice.get_by_test_id("held-indicator")).to_be_hidden()

        alice.get_by_test_id("keypad-panel").locator("summary").click()
        alice.get_by_test_id("dtmf-1").click()
        alice.get_by_test_id("dtmf-hash").click()
        expect(alice.get_by_test_id("dtmf-sent")).to_have_text("Sent: 1#")
        alice.get_by_test_id("mute").click()
        expect(alice.get_by_test_id("mute-state")).to_have_text("muted")
        alice.get_by_test_id("mute").click()
        expect(alice.get_by_test_id("mute-state")).to_have_text("on")

        alice.get_by_test_id("transfer-panel").locator("summary").click()
        expect(
            alice.get_by_test_id("transfer-target").locator("option[value='1001']")
        ).to_have_count(1)
        alice.get_by_test_id("transfer-destination").fill("9664")
        alice.get_by_test_id("transfer-mode-blind").check()
        alice.get_by_test_id("transfer-submit").click()
        expect(call_panel).to_be_hidden()
        expect(alice.get_by_test_id("wrapup-caller")).to_contain_text(FIRST[0])

        # The next caller waits while the agent wraps up: no offer before the disposition.
        originate_caller(esl, *SECOND)
        members = "callcenter_config queue list members support@default"
        wait_until(lambda: SECOND[0] in esl.api(members), what="the second caller in the queue")
        expect(popup).to_be_hidden()
        wrap_up(alice, "resolved", "Sent to the park for billing")
        expect(history_item(alice, FIRST[0]).get_by_test_id("history-disposition")).to_have_text(
            "Resolved"
        )

        # -- call 2: unknown caller; attended transfer to bob (consult, then Complete).
        expect(popup).to_be_visible()
        expect(alice.get_by_test_id("customer-unknown")).to_have_text("Unknown caller")
        expect(alice.get_by_test_id("customer-record")).to_be_hidden()
        expect(alice.get_by_test_id("ringing-number")).to_have_text(SECOND[0])
        esl.ok("sim_phone 1001 noanswer")
        alice.get_by_test_id("answer").click()
        expect(call_panel).to_be_visible()
        expect(alice.get_by_test_id("call-number")).to_have_text(SECOND[0])
        consult = alice.get_by_test_id("consult-panel")

        def start_consult() -> None:
            alice.get_by_test_id("transfer-panel").locator("summary").click()
            alice.get_by_test_id("transfer-target").select_option("1001")
            alice.get_by_test_id("transfer-mode-attended").check()
            alice.get_by_test_id("transfer-submit").click()
            expect(consult).to_be_visible()
            expect(alice.get_by_test_id("consult-target")).to_have_text("1001")
            expect(alice.get_by_test_id("call-state")).to_have_text("Consulting 1001")
            expect(alice.get_by_test_id("held-indicator")).to_be_visible()  # the server's hold

        def consult_bob() -> None:
            start_consult()
            wait_until(lambda: phone_answered(esl, "1001"), what="bob's phone to answer")
            expect(alice.get_by_test_id("consult-state")).to_have_text("answered")
            expect(alice.get_by_test_id("transfer-complete")).to_be_visible()

        # Bob does not pick up: while it rings, only Cancel is offered, and it works.
        start_consult()
        expect(alice.get_by_test_id("consult-state")).to_have_text("ringing")
        expect(alice.get_by_test_id("transfer-complete")).to_be_hidden()
        alice.get_by_test_id("transfer-cancel").click()
        expect(consult).to_be_hidden()
        expect(alice.get_by_test_id("held-indicator")).to_be_hidden()
        expect(alice.get_by_test_id("call-state")).to_have_text("Talking")
        esl.ok("sim_phone 1001 answer 1")
        consult_bob()  # then changed her mind once answered: Cancel, back to the caller
        alice.get_by_test_id("transfer-cancel").click()
        expect(consult).to_be_hidden()
        expect(alice.get_by_test_id("call-state")).to_have_text("Talking")
        expect(alice.get_by_test_id("held-indicator")).to_be_hidden()
        wait_until(lambda: not phone_answered(esl, "1001"), what="the consult leg to end")
        consult_bob()  # then Complete: the caller goes to bob, alice leaves the call
        screenshots(alice, output_dir, "consult")
        alice.get_by_test_id("transfer-complete").click()
        expect(call_panel).to_be_hidden()
        expect(alice.get_by_test_id("consult-panel")).to_be_hidden()
        wrap_up(alice, "escalated", "Passed to Bob")
        expect(history_item(alice, SECOND[0]).get_by_test_id("history-disposition")).to_have_text(
            "Escalated"
        )
        # Recorded as what happened: transferred to bob, the consult's hold shown apart.
        second = history_item(alice, SECOND[0])
        expect(second.get_by_test_id("history-outcome")).to_contain_text("transferred to 1001")
        expect(second.get_by_test_id("history-hold")).to_have_text(re.compile(r"^hold \d\d:\d\d$"))

        # -- call 3: answered, then dropped by the agent.
        originate_caller(esl, *THIRD)
        expect(popup).to_be_visible()
        expect(alice.get_by_test_id("customer-name")).to_have_text("Claire Moreau")
        alice.get_by_test_id("answer").click()
        expect(alice.get_by_test_id("call-number")).to_have_text(THIRD[0])
        alice.get_by_test_id("drop").click()
        expect(call_panel).to_be_hidden()
        expect(alice.get_by_test_id("wrapup-panel")).to_be_visible()
        third = history_item(alice, THIRD[0])
        expect(third.get_by_test_id("history-disposition")).to_have_text("no disposition")
        # A reload does not lose the owed wrap-up: the server lists the calls it awaits.
        alice.reload()
        expect(alice.get_by_test_id("agent-app")).to_have_attribute("data-ready", "true")
        expect(alice.get_by_test_id("wrapup-caller")).to_contain_text(THIRD[0])
        screenshots(alice, output_dir, "wrap-up")
        wrap_up(alice, "wrong_number", "")
        expect(alice.get_by_test_id("agent-state")).to_have_text("Waiting")

        # Recent calls: all three, newest first, each with its disposition.
        items = alice.get_by_test_id("history-item")
        expect(items.nth(0)).to_contain_text(THIRD[0])
        expect(items.nth(1)).to_contain_text(SECOND[0])
        expect(items.nth(2)).to_contain_text(FIRST[0])
        expect(history_item(alice, THIRD[0]).get_by_test_id("history-disposition")).to_have_text(
            "Wrong number"
        )
        # The first call was blind-transferred by alice: its record says so.
        expect(history_item(alice, FIRST[0])).to_contain_text("transferred")

        # Dial out from the dialpad: the server rings the agent's own phone first (the
        # page answers it, as for a queue call), then the number.
        for key in "9664":
            alice.get_by_test_id(f"dial-{key}").click()
        expect(alice.get_by_test_id("dial-number")).to_have_value("9664")
        alice.get_by_test_id("dial-submit").click()
        expect(alice.get_by_test_id("dialing")).to_be_visible()
        expect(alice.get_by_test_id("dialing-number")).to_have_text("9664")
        alice.get_by_test_id("dialing-answer").click()
        expect(alice.get_by_test_id("dialing")).to_be_hidden()
        expect(alice.get_by_test_id("call-panel")).to_be_visible()
        expect(alice.get_by_test_id("call-number")).to_have_text("9664")
        expect(alice.get_by_test_id("dial-error")).to_be_hidden()
        alice.get_by_test_id("drop").click()
        expect(alice.get_by_test_id("call-panel")).to_be_hidden()
        wrap_up(alice, "callback", "call back on Monday")
        expect(items.nth(0)).to_contain_text("9664")
        expect(items.nth(0).get_by_test_id("history-disposition")).to_have_text(
            "Callback requested"
        )
        # The previous call's disposition was not touched by the dial-out's.
        expect(history_item(alice, THIRD[0]).get_by_test_id("history-disposition")).to_have_text(
            "Wrong number"
        )

        # Bob's page was open the whole time and never rendered any of alice's callers.
        seen = bob.evaluate("window.__domText")
        assert "Recent calls" in seen  # the recorder did record bob's page
        assert "Bob" in bob.get_by_test_id("who").inner_text()
        assert "Available" not in bob.get_by_test_id("agent-status").inner_text()
        for number, name in (FIRST, SECOND, THIRD):
            assert number not in seen, f"bob's page showed alice's caller {number}"
            assert name not in seen
        assert "Ada Lovelace" not in seen and "Claire Moreau" not in seen
        expect(bob.get_by_test_id("history-empty")).to_be_visible()
        assert errors == [], errors
    finally:
        alice_context.close()
        bob_context.close()
        esl.api("sim_phone 1001 noanswer")
        esl.api("sim_phone 1000 noanswer")


def test_agent_is_refused_the_supervisor_api(cc_server, agent_browser) -> None:  # type: ignore[no-untyped-def]
    context = agent_browser.new_context()
    try:
        page = sign_in(context, cc_server.base_url, ALICE[0], ALICE[1])
        status = page.evaluate(
            "fetch('/call-center/api/floor')"
            ".then(async (r) => [r.status, (await r.json()).error.code])"
        )
        assert status == [403, "forbidden"]
        token = page.locator("meta[name=csrf-token]").get_attribute("content")
        forced = context.request.post(
            f"{cc_server.base_url}/call-center/api/supervisor/agent/1001@default/status",
            data={"status": "Available"}, headers={"X-CSRF-Token": token or ""},
        )  # fmt: skip
        assert forced.status == 403
        # The supervisor's page sends an agent back to its own page.
        page.goto(f"{cc_server.base_url}/supervisor")
        assert page.url.endswith("/agent")
    finally:
        context.close()
