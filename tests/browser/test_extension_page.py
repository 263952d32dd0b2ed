"""The call center inside another Flask app, in a real browser: the example host app
(``python examples/host_app/app.py --simulate``) with the call center under /callcenter.
The agent page, reached through the host's own sign-in, loads its styles and scripts
from the prefix (url_for, static files, the vendored Socket.IO client), takes a Ready
click through the prefixed API, and shows a status FreeSWITCH changed on its own, pushed
through Socket.IO in the call center's namespace of the host's server."""

from __future__ import annotations

import os
import re
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.esl_api import EslApi
from tests.browser.server import REPO, SIMULATOR_LINE, Process, free_port

HOST_LINE = re.compile(r"host app: http://127\.0\.0\.1:(\d+)/")


class HostApp:
    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("ESL_", "SIP_", "DB_URI", "SECRET_KEY"))}  # fmt: skip
        env["DB_URI"] = f"sqlite:///{workdir / 'host.db'}"
        self.process = Process(
            [sys.executable, str(REPO / "examples" / "host_app" / "app.py"), "--simulate",
             "--port", str(self.port), "--calls-per-minute", "0"],
            workdir, env,
        )  # fmt: skip
        self.esl: EslApi | None = None

    def start(self) -> None:
        self.process.start()
        self.esl = EslApi(int(self.process.wait_for_line(SIMULATOR_LINE).group(1)))
        self.process.wait_for_line(HOST_LINE, timeout=60)
        self.process.wait_for_line(re.compile(r"ESL events connected"), timeout=30)

    def status(self, path: str) -> int:
        try:
            with urllib.request.urlopen(self.base_url + path, timeout=5) as reply:
                return int(reply.status)
        except urllib.error.HTTPError as exc:
            return exc.code


@pytest.fixture(scope="module")
def host_app(tmp_path_factory) -> Iterator[HostApp]:  # type: ignore[no-untyped-def]
    from tests.browser.browsers import require_chromium

    require_chromium()
    app = HostApp(tmp_path_factory.mktemp("host_app"))
    app.start()
    try:
        yield app
    finally:
        app.process.stop()
        print(f"--- host app output (tail) ---\n{app.process.output()[-4000:]}")


@pytest.mark.timeout(180)
def test_agent_page_under_the_prefix(host_app, agent_browser, output_dir) -> None:  # type: ignore[no-untyped-def]
    assert host_app.status("/callcenter/health") == 200
    esl = host_app.esl
    context = agent_browser.new_context(viewport={"width": 1280, "height": 800})
    failed: list[str] = []
    errors: list[str] = []
    try:
        page = context.new_page()
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400
                else None)  # fmt: skip
        # The host's own page, then the call center through the host's sign-in.
        page.goto(f"{host_app.base_url}/callcenter/agent")
        page.wait_for_url(re.compile(r"/login\?next=/callcenter/agent$"))
        page.get_by_label("Account").fill("ann")
        page.get_by_label("Password").fill("ann-password")
        page.get_by_test_id("host-login-submit").click()
        page.wait_for_url(f"{host_app.base_url}/callcenter/agent")
        expect(page.get_by_test_id("agent-app")).to_have_attribute("data-ready", "true")
        # Styled from the prefix (agent.css lays the page out as a grid of cards).
        css = page.evaluate("[...document.styleSheets].map(s => s.href).filter(Boolean)")
        assert f"{host_app.base_url}/callcenter/static/css/agent.css" in css
        expect(page.get_by_test_id("who")).to_contain_text("Alice")

        # Signed in to the queues by opening the page: On Break (Login) until Ready.
        expect(page.get_by_test_id("agent-status")).to_have_text("On Break")
        expect(page.get_by_test_id("pause-reason")).to_have_text("(Login)")
        expect(page.locator("#banner")).to_be_hidden()  # Socket.IO and FreeSWITCH both up

        # Ready through the prefixed API.
        page.get_by_test_id("ready").click()
        expect(page.get_by_test_id("agent-status")).to_have_text("Available")
        assert "Available" in esl.api("callcenter_config agent get status 1000@default")

        # FreeSWITCH changes the agent on its own: the page hears it over Socket.IO.
        esl.api("callcenter_config agent set status 1000@default 'On Break'")
        expect(page.get_by_test_id("agent-status")).to_have_text("On Break")
        esl.api("callcenter_config agent set status 1000@default Available")
        expect(page.get_by_test_id("agent-status")).to_have_text("Available")
        page.screenshot(path=str(output_dir / "extension-agent-1280x800.png"))

        # The host's own page still answers, with the call center beside it.
        page.goto(f"{host_app.base_url}/")
        expect(page.get_by_test_id("host-who")).to_have_text("Signed in as ann")
        expect(page.get_by_test_id("host-callcenter-link")).to_have_attribute(
            "href", "/callcenter/")  # fmt: skip
        assert failed == [] and errors == [], (failed, errors)
    finally:
        context.close()
