"""The supervisor's floor page as a supervisor sees it: signed in through the form, the
queues and agents come from the Socket.IO snapshot and change live as FreeSWITCH does."""

from __future__ import annotations

from playwright.sync_api import expect


def test_supervisor_sees_queues_and_agents_change_live(cc_server, agent_browser) -> None:  # type: ignore[no-untyped-def]
    context = agent_browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        page = context.new_page()
        page.goto(f"{cc_server.base_url}/login")
        page.get_by_label("User name").fill("sue")
        page.get_by_label("Password").fill("sue-demo-1")
        page.get_by_test_id("login-submit").click()
        page.wait_for_url(f"{cc_server.base_url}/supervisor")
        queues = page.get_by_test_id("queues")
        expect(queues).to_contain_text("support@default")
        expect(queues).to_contain_text("sales@default")
        row = page.locator('[data-testid="agents"] tr[data-agent="1001@default"]')
        expect(row).to_contain_text("Logged Out")
        # The agent's status changes in FreeSWITCH: the supervisor's row follows.
        cc_server.esl.ok("callcenter_config agent set status 1001@default 'On Break'")
        expect(row).to_contain_text("On Break")
        cc_server.esl.ok("callcenter_config agent set status 1001@default 'Logged Out'")
        expect(row).to_contain_text("Logged Out")
        expect(page.locator("#banner")).to_be_hidden()
        # One FreeSWITCH: no node column, node on the queue cards or node filter.
        expect(page.locator('[data-testid="agents"] thead th[data-col="node"]')).to_be_hidden()
        expect(row.locator('[data-col="node"]')).to_be_hidden()
        expect(queues.get_by_test_id("queue-node")).to_have_count(0)
        expect(page.get_by_test_id("node-filter-label")).to_be_hidden()
    finally:
        context.close()
