"""Helpers for driving the agent page in Playwright."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from playwright.sync_api import BrowserContext, Page, expect

from tests.browser.esl_api import EslApi

# Everything the page's DOM ever contained, hidden parts included: a test can then say
# what a page never rendered, not just what it does not show right now.
RECORD_DOM = """
(() => {
  window.__domText = "";
  const record = () => {
    window.__domText += "\\n" + (document.body ? document.body.textContent : "");
  };
  const start = () => {
    record();
    new MutationObserver(record).observe(document.body,
      { subtree: true, childList: true, characterData: true, attributes: true });
  };
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
"""


def sign_in(context: BrowserContext, base_url: str, username: str, password: str) -> Page:
    """Sign in through the /login form and wait for the agent page's first snapshot."""
    page = context.new_page()
    page.goto(f"{base_url}/login")
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_test_id("login-submit").click()
    page.wait_for_url(f"{base_url}/agent")
    expect(page.get_by_test_id("agent-app")).to_have_attribute("data-ready", "true")
    return page


def sign_in_supervisor(context: BrowserContext, base_url: str, username: str = "sue",
                       password: str = "sue-demo-1") -> Page:  # fmt: skip
    """Sign in a supervisor (the demo's sue) and wait for the console's first snapshot."""
    page = context.new_page()
    page.goto(f"{base_url}/login")
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_test_id("login-submit").click()
    page.wait_for_url(f"{base_url}/supervisor")
    expect(page.get_by_test_id("sup-app")).to_have_attribute("data-ready", "true")
    return page


def dom_text(page: Page) -> str:
    return str(page.evaluate("window.__domText || ''"))


def no_horizontal_scroll(page: Page) -> tuple[int, int]:
    width = page.evaluate("document.documentElement.scrollWidth")
    viewport = page.evaluate("window.innerWidth")
    return int(width), int(viewport)


def screenshots(page: Page, folder: Path, name: str) -> None:
    """The page at 1280x800 and at 390x844; at 390 px nothing may scroll sideways."""
    page.set_viewport_size({"width": 1280, "height": 800})
    page.screenshot(path=str(folder / f"agent-{name}-1280x800.png"))
    page.set_viewport_size({"width": 390, "height": 844})
    expect(page.locator("body")).to_be_visible()
    page.wait_for_function("document.documentElement.clientWidth === 390")
    width, _ = no_horizontal_scroll(page)
    assert width <= 390, f"{name}: the page scrolls sideways at 390 px ({width} px wide)"
    page.screenshot(path=str(folder / f"agent-{name}-390x844.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 800})


def originate_caller(esl: EslApi, number: str, name: str, queue_extension: str = "5000") -> str:
    """A caller into a queue that stays on the line until hung up (parked on the caller
    side); returns the caller leg's uuid."""
    reply = esl.ok(
        f"originate {{origination_caller_id_number={number},"
        f"origination_caller_id_name='{name}'}}loopback/{queue_extension}/default &park()"
    )
    return reply.split()[1]


def calls(esl: EslApi) -> list[dict[str, Any]]:
    data = json.loads(esl.api("show calls as json"))
    return list(data.get("rows") or [])


def wait_until(predicate: Callable[[], bool], timeout: float = 10.0, what: str = "it") -> None:
    """Poll a precondition outside the page (FreeSWITCH's side of things)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def phone_answered(esl: EslApi, user: str) -> bool:
    """The simulated phone of ``user`` is up and bridged."""
    for row in calls(esl):
        for side in ("", "b_"):
            if f"sofia/internal/{user}@" in str(row.get(f"{side}name", "")) and row.get("b_name"):
                return True
    return False
