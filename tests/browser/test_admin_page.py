"""The admin page as a supervisor and an engineer use it, against ``callcenter serve
--simulate``: the product's agents and tiers listed, a tier moved (and seen moved in
``callcenter_config tier list``), an agent created and provisioned, a value refused with
the API's message, queues editable by engineers only."""

from __future__ import annotations

from playwright.sync_api import Page, expect


def sign_in(page: Page, base_url: str, name: str, password: str) -> None:
    page.goto(f"{base_url}/login?next=/admin")
    page.get_by_label("User name").fill(name)
    page.get_by_label("Password").fill(password)
    page.get_by_test_id("login-submit").click()
    page.wait_for_url(f"{base_url}/admin")
    expect(page.locator("body[data-loaded=true]")).to_have_count(1)


def test_supervisor_moves_a_tier_and_adds_an_agent(cc_server, agent_browser, output_dir) -> None:  # type: ignore[no-untyped-def]
    context = agent_browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        page = context.new_page()
        sign_in(page, cc_server.base_url, "sue", "sue-demo-1")
        agents = page.get_by_test_id("admin-agents")
        expect(agents.locator('tr[data-agent="1000@default"]')).to_contain_text("alice")
        tiers = page.get_by_test_id("admin-tiers")
        expect(tiers.locator('tr[data-tier="support@default 1000@default"]')).to_be_visible()
        expect(page.get_by_test_id("queue-form")).to_have_count(0)  # engineers only

        form = page.get_by_test_id("tier-form")
        form.get_by_label("Queue").fill("support@default")
        form.get_by_label("Agent").fill("1000@default")
        form.get_by_label("Level").fill("2")
        form.get_by_label("Position").fill("5")
        page.get_by_test_id("tier-save").click()
        status = page.get_by_test_id("admin-status")
        expect(status).to_contain_text("saved")
        row = tiers.locator('tr[data-tier="support@default 1000@default"]')
        expect(row.locator("td").nth(2)).to_have_text("2")
        listed = cc_server.esl.api("callcenter_config tier list")
        assert "support@default|1000@default|Ready|2|5" in listed

        form = page.get_by_test_id("agent-form")
        form.get_by_label("Name", exact=True).fill("1009@default")
        form.get_by_label("Wrap-up (s)").fill("soon")
        page.get_by_test_id("agent-save").click()
        expect(status).to_contain_text("wrap-up-time must be a whole number")
        form.get_by_label("Wrap-up (s)").fill("30")
        page.get_by_test_id("agent-save").click()
        expect(status).to_contain_text("saved")
        created = agents.locator('tr[data-agent="1009@default"]')
        expect(created.locator("td").nth(4)).to_have_text("30")  # wrap-up, as typed
        # Created in the product: its settings win over the XML agent of that name.
        assert "|30|" in cc_server.esl.api("callcenter_config agent list 1009@default")
        assert "1009@default" in cc_server.esl.api("callcenter_config agent list 1009@default")
        page.screenshot(path=str(output_dir / "admin-1280.png"), full_page=True)
        page.set_viewport_size({"width": 390, "height": 844})
        page.screenshot(path=str(output_dir / "admin-390.png"), full_page=True)
    finally:
        context.close()


def test_engineer_creates_a_queue(cc_server, agent_browser) -> None:  # type: ignore[no-untyped-def]
    context = agent_browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        page = context.new_page()
        sign_in(page, cc_server.base_url, "eve", "eve-demo-1")
        form = page.get_by_test_id("queue-form")
        form.get_by_label("Name", exact=True).fill("vip@default")
        form.get_by_label("Strategy").select_option("top-down")
        form.locator("textarea").fill("max-wait-time=90\nservice-level-seconds=15")
        page.get_by_test_id("queue-save").click()
        row = page.locator('[data-testid="admin-queues"] tr[data-queue="vip@default"]')
        expect(row).to_contain_text("top-down")
        expect(row).to_contain_text("90")
        form.get_by_label("Name", exact=True).fill("bad@default")
        form.get_by_label("Strategy").select_option("")
        form.locator("textarea").fill("colour=blue")
        page.get_by_test_id("queue-save").click()
        expect(page.get_by_test_id("admin-status")).to_contain_text("unknown queue setting")
    finally:
        context.close()
