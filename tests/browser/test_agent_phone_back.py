"""Issue 15, a page reload: an Available agent's WebSocket closes (FreeSWITCH fires
sofia::unregister "socket-disconnection"), the product pauses the agent "Phone offline",
and the reloaded page registers again seconds later. The agent is Available again on the
reloaded page without a click, and the page says why."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.agent_page import sign_in

BACK_MS = 20_000


@pytest.mark.timeout(120)
def test_a_reloaded_page_finds_the_agent_available_again(cc_server, agent_browser,  # type: ignore[no-untyped-def]
                                                         output_dir) -> None:  # fmt: skip
    esl = cc_server.esl
    context = agent_browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        page = sign_in(context, cc_server.base_url, "alice", "alice-demo")
        # Only the browser's registration (the simulator's own device for 1000 goes).
        assert esl.api("sim_phone 1000 unregister").startswith("+OK")
        assert esl.api("sim_phone 1000 register browser").startswith("+OK")
        page.get_by_test_id("ready").click()
        status = page.get_by_test_id("agent-status")
        expect(status).to_have_text("Available")

        # The tab reloads: its socket closes; the old page is gone before the new one.
        assert esl.api("sim_phone 1000 disconnect browser").startswith("+OK")
        expect(page.get_by_test_id("pause-reason")).to_contain_text("Phone offline",
                                                                     timeout=BACK_MS)  # fmt: skip
        expect(status).to_have_text("On Break")
        page.reload()
        # The new page has the server's snapshot (its Socket.IO is in) before its
        # softphone registers, as the real page does.
        expect(status).to_have_text("On Break")
        assert esl.api("sim_phone 1000 register browser").startswith("+OK")  # new page

        expect(status).to_have_text("Available", timeout=BACK_MS)
        expect(page.get_by_test_id("pause-reason")).to_be_hidden()
        expect(page.get_by_test_id("status-notice")).to_contain_text(
            "Your phone is back: you are Available again.")  # fmt: skip
        assert esl.api("callcenter_config agent get status 1000@default").strip() == "Available"
        page.screenshot(path=str(output_dir / "agent-phone-back.png"))
    finally:
        context.close()
