"""The engineer's ESL console page in Chromium against ``callcenter serve --simulate``:
eve signs in and lands on /console, runs commands, completes with Tab, streams the log
while a simulated call runs, tails callcenter events, is refused what the policy refuses,
finds it all in the audit log; agents and supervisors get 403."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect

SCREEN = """() => {
  const buf = window.consoleTerminal.buffer.active;
  const lines = [];
  for (let i = 0; i < buf.length; i += 1) lines.push(buf.getLine(i).translateToString(true));
  return lines.join("\\n");
}"""


def screen_text(page: Page) -> str:
    return str(page.evaluate(SCREEN))


def wait_screen(page: Page, text: str, timeout: float = 10_000) -> None:
    try:
        page.wait_for_function(
            "(text) => (" + SCREEN + ")().includes(text)", arg=text, timeout=timeout
        )
    except Exception:
        print(f"--- the console's screen, waiting for {text!r} ---\n{screen_text(page)}")
        raise


def run(page: Page, line: str) -> None:
    page.keyboard.type(line)
    page.keyboard.press("Enter")


def sign_in(page: Page, base: str, name: str, password: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("User name").fill(name)
    page.get_by_label("Password").fill(password)
    page.get_by_test_id("login-submit").click()


def test_engineer_console(cc_server: Any, agent_browser: Any, output_dir: Path) -> None:
    context = agent_browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        page = context.new_page()
        sign_in(page, cc_server.base_url, "eve", "eve-demo-1")
        page.wait_for_url(f"{cc_server.base_url}/console")  # engineers land on the console
        expect(page.get_by_test_id("terminal")).to_have_attribute("data-connected", "true")
        page.get_by_test_id("terminal").click()

        run(page, "status")
        wait_screen(page, "is ready")
        run(page, "show channels")
        wait_screen(page, "0 total.")

        page.keyboard.type("callcenter_config ag")
        page.keyboard.press("Tab")
        wait_screen(page, "freeswitch> callcenter_config agent ")
        page.keyboard.type("list")
        page.keyboard.press("Enter")
        wait_screen(page, "name|instance_id|uuid|type|contact|status|state")

        # The log at debug while a simulated call runs.
        run(page, "/log debug")
        wait_screen(page, "+OK log level debug [7]")
        expect(page.get_by_test_id("stream-state")).to_contain_text("log: debug")
        cc_server.esl.api("sim_caller 5000 5551234567 Console-Test")
        wait_screen(page, "New Channel")
        wait_screen(page, "has been answered")
        run(page, "/nolog")
        wait_screen(page, "+OK no longer logging")

        # Events: an agent change seen live.
        run(page, "/event CUSTOM callcenter::info")
        wait_screen(page, "+OK event listener enabled plain")
        cc_server.esl.ok("callcenter_config agent set status 1001@default 'On Break'")
        wait_screen(page, "CC-Action: agent-status-change")
        wait_screen(page, "CC-Agent: 1001@default")
        page.get_by_test_id("pause").click()
        cc_server.esl.ok("callcenter_config agent set status 1001@default 'Logged Out'")
        expect(page.get_by_test_id("pause")).to_contain_text("Resume (1)")
        assert "CC-Agent-Status: Logged Out" not in screen_text(page)
        page.get_by_test_id("pause").click()
        wait_screen(page, "CC-Agent-Status: Logged Out")
        page.get_by_test_id("terminal").click()
        run(page, "/noevents")
        wait_screen(page, "+OK no longer listening for events")

        # Refused, with the reason.
        run(page, 'json {"command":"fsapi","data":{"cmd":"system","arg":"id"}}')
        wait_screen(page, "-ERR refused: json 'fsapi'")
        run(page, "uuid_transfer 6f1c2b7e-0d4a-4f3b-9a55-1f2e3d4c5b6a x INLINE")
        wait_screen(page, "inline dialplan")
        # The newest lines are in view (the terminal follows its output).
        page.wait_for_function("() => { const b = window.consoleTerminal.buffer.active; "
                               "return b.viewportY === b.baseY; }")  # fmt: skip
        expect(page.locator(".xterm-rows")).to_contain_text("inline dialplan")
        # Viewport screenshots: a full-page capture makes Chromium lay the page out again
        # and xterm.js then paints its first rows.
        page.screenshot(path=str(output_dir / "console-1280.png"))

        # Copy: the whole screen (no selection) goes to the clipboard.
        context.grant_permissions(["clipboard-read", "clipboard-write"])
        page.get_by_test_id("copy").click()
        expect(page.get_by_test_id("stream-state")).to_contain_text("copied")
        assert "inline dialplan" in page.evaluate("() => navigator.clipboard.readText()")
        page.get_by_test_id("terminal").click()

        # History: ↑ brings back the last line.
        page.keyboard.press("ArrowUp")
        wait_screen(page, "freeswitch> uuid_transfer 6f1c2b7e")
        page.keyboard.press("Control+U")

        # The audit log on the page has eve's commands, refused ones too.
        page.get_by_test_id("audit-refresh").click()
        audit = page.get_by_test_id("audit")
        expect(audit).to_contain_text('json {"command":"fsapi"')
        expect(audit).to_contain_text("refused")
        expect(audit).to_contain_text("json fsapi runs any API command")
        expect(audit).to_contain_text("show channels")
        expect(audit).to_contain_text("/log debug")
        audit.scroll_into_view_if_needed()
        page.screenshot(path=str(output_dir / "console-audit-1280.png"))

        # History is kept per user in this browser: a reload still has it.
        page.reload()
        expect(page.get_by_test_id("terminal")).to_have_attribute("data-connected", "true")
        page.get_by_test_id("terminal").click()
        page.keyboard.press("ArrowUp")
        wait_screen(page, "freeswitch> uuid_transfer 6f1c2b7e")
        # Long output waits for "more" (pages of 5 lines here).
        page.goto(f"{cc_server.base_url}/console?page=5")
        expect(page.get_by_test_id("terminal")).to_have_attribute("data-connected", "true")
        page.get_by_test_id("terminal").click()
        run(page, "callcenter_config agent list")
        wait_screen(page, "-- more:")
        expect(page.get_by_test_id("more")).to_be_visible()
        assert "1005@default" not in screen_text(page)
        page.keyboard.press("Space")
        wait_screen(page, "1005@default")
        page.set_viewport_size({"width": 390, "height": 800})
        page.screenshot(path=str(output_dir / "console-390.png"))
    finally:
        context.close()


def test_agents_and_supervisors_get_403(cc_server: Any, agent_browser: Any) -> None:
    for name, password in (("alice", "alice-demo"), ("sue", "sue-demo-1")):
        context = agent_browser.new_context()
        try:
            page = context.new_page()
            sign_in(page, cc_server.base_url, name, password)
            page.wait_for_load_state()
            token = page.evaluate("() => document.querySelector('meta[name=csrf-token]').content")
            assert page.goto(f"{cc_server.base_url}/console").status == 403
            expect(page.locator("body")).to_contain_text("the ESL console is for engineers")
            reply = page.request.post(f"{cc_server.base_url}/call-center/api/console",
                                      data={"command": "status"},
                                      headers={"X-CSRF-Token": token})  # fmt: skip
            assert reply.status == 403
        finally:
            context.close()
