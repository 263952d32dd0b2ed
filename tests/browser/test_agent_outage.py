"""The agent page when FreeSWITCH or the server goes away, and its recovery without a
reload.

FreeSWITCH cannot be taken away from ``serve --simulate`` (the simulator lives in the
server's process), so this test runs the simulator as its own process (``callcenter
simulate``), points ``callcenter serve`` at it over ESL, kills it (a crashed FreeSWITCH)
and starts it again on the same port. Then it kills the server itself and starts it
again: the page's Socket.IO reconnects and the server's fresh snapshot replaces what the
page showed.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.agent_page import sign_in
from tests.browser.server import CallCenterServer, StandaloneSimulator

RECOVERY_MS = 30_000


@pytest.mark.timeout(240)
def test_banner_while_freeswitch_or_server_is_away(agent_browser, tmp_path) -> None:  # type: ignore[no-untyped-def]
    freeswitch = StandaloneSimulator(tmp_path)
    freeswitch.start()
    server = CallCenterServer(tmp_path, esl_port=freeswitch.port)
    server.add_user("alice", "agent", "alice-demo", extension="1000")
    server.start()
    context = agent_browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        page = sign_in(context, server.base_url, "alice", "alice-demo")
        banner = page.locator("#banner")
        expect(banner).to_be_hidden()
        page.get_by_test_id("ready").click()
        expect(page.get_by_test_id("agent-status")).to_have_text("Available")
        page.evaluate("window.__sameDocument = true")  # gone if the page ever reloads

        # FreeSWITCH crashes: the server's link event turns the banner on.
        freeswitch.kill()
        expect(banner).to_be_visible()
        expect(banner).to_have_attribute("data-kind", "freeswitch")
        expect(banner).to_contain_text("FreeSWITCH is unreachable")
        expect(page.get_by_test_id("not-ready")).to_be_disabled()

        # FreeSWITCH is back (its agents load Logged Out): the banner goes and the product
        # puts alice back Ready without a click, telling her so.
        freeswitch = StandaloneSimulator(tmp_path, port=freeswitch.port)
        freeswitch.start()
        expect(banner).to_be_hidden(timeout=RECOVERY_MS)
        expect(page.get_by_test_id("agent-status")).to_have_text("Available", timeout=RECOVERY_MS)
        expect(page.get_by_test_id("status-notice")).to_contain_text("FreeSWITCH restarted")
        assert freeswitch.esl.api("callcenter_config agent get status 1000@default").strip() == (
            "Available"
        )

        # The server goes away: the Socket.IO link drops and the page says so.
        server.kill()
        expect(banner).to_be_visible()
        expect(banner).to_have_attribute("data-kind", "server")
        expect(banner).to_contain_text("server is unreachable")
        expect(page.get_by_test_id("agent-app")).to_have_attribute("data-ready", "false")
        expect(page.get_by_test_id("ready")).to_be_disabled()

        # Back on the same port (same secret key, so the session holds): a fresh snapshot.
        freeswitch.esl.ok("callcenter_config agent set status 1000@default 'On Break'")
        server.start()
        expect(banner).to_be_hidden(timeout=RECOVERY_MS)
        expect(page.get_by_test_id("agent-app")).to_have_attribute("data-ready", "true")
        expect(page.get_by_test_id("agent-status")).to_have_text("On Break")
        assert page.evaluate("window.__sameDocument") is True
    finally:
        context.close()
        server.stop()
        freeswitch.stop()
