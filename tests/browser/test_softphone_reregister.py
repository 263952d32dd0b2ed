"""The agent page's softphone registers again, without a reload, when the product says the
switch dropped its registration.

Kamailio is the registrar (a loopback SIP-over-WebSocket registrar with digest auth by HA1,
tests/browser/softphone/kamailio.py); ``callcenter serve`` runs against the FreeSWITCH
simulator with ``SIP_WSS_URL`` pointing at Kamailio. Alice's page registers as 1000. Then
the registration is removed on the server side (Kamailio's ``ul.rm``: the WebSocket stays
up, so SIP.js still believes it is registered, as with a FreeSWITCH whose desk phone
un-REGISTERed every binding of the user), and the simulator reports what FreeSWITCH would
(``sofia::unregister`` for 1000, through its ``sim_phone`` hook). The page says what
happened, registers again at once, and Kamailio has a contact for 1000 again. A second drop
inside the guard window waits for the window's end instead of looping.

Skips only when kamailio (with its websocket module), kamcmd or chromium is missing and
``CI`` is not ``true``; under ``CI=true`` a missing binary fails the test.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.agent_page import sign_in
from tests.browser.browsers import (
    media_chromium,
    missing,
    require_softphone_tools,
)
from tests.browser.server import REPO, CallCenterServer, StandaloneSimulator
from tests.browser.softphone.kamailio import Kamailio, find_kamcmd, ha1

REALM = "127.0.0.1"  # Kamailio's digest realm and the server's SIP_DOMAIN
ALICE = ("alice", "alice-demo", "1000")
SIP_PASSWORD = "alice-sip-secret"
TIMEOUT_MS = 15_000
OUTPUT = REPO / "test-output"
DROPPED = "softphone connecting: FreeSWITCH dropped this phone's registration; registering again…"
AGAIN = re.compile(
    r"^softphone registered \(again at .+, after FreeSWITCH dropped the registration\)$"
)
# Every text the page's phone line shows, in order (a re-REGISTER on loopback is too quick
# to catch "registering again…" by polling).
RECORD_PHONE_LINE = """
() => {
  const line = document.querySelector('[data-testid="phone-registration"]');
  window.__phoneTexts = [line.textContent];
  new MutationObserver(() => window.__phoneTexts.push(line.textContent))
    .observe(line, { subtree: true, childList: true, characterData: true });
  window.__notReloaded = true;
}
"""


@pytest.fixture(scope="module")
def kamailio(tmp_path_factory) -> Iterator[Kamailio]:  # type: ignore[no-untyped-def]
    require_softphone_tools()
    if find_kamcmd() is None:
        missing("kamcmd is not installed (apt-get install kamailio)")
    users = {"1000": ha1("1000", REALM, SIP_PASSWORD)}
    server = Kamailio(tmp_path_factory.mktemp("kamailio"), users, realm=REALM)
    server.check_config()
    server.start()
    yield server
    server.stop()
    print(f"--- kamailio log (tail) ---\n{server.log_tail()}")


@pytest.fixture(scope="module")
def browser(kamailio):  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    expect.set_options(timeout=TIMEOUT_MS)
    with media_chromium() as instance:
        yield instance


@pytest.fixture
def center(kamailio, tmp_path: Path) -> Iterator[tuple[StandaloneSimulator, CallCenterServer]]:  # type: ignore[no-untyped-def]
    freeswitch = StandaloneSimulator(tmp_path)
    freeswitch.start()
    sip = {"SIP_WSS_URL": kamailio.ws_url, "SIP_DOMAIN": REALM}
    server = CallCenterServer(tmp_path, esl_port=freeswitch.port, extra_env=sip)
    name, password, extension = ALICE
    server.add_user(name, "agent", password, extension=extension, sip_password=SIP_PASSWORD)
    server.start()
    yield freeswitch, server
    server.stop()
    freeswitch.stop()
    print(f"--- server output (tail) ---\n{server.output()[-4000:]}")


def _wait_for(what: str, check: Any, timeout: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"never happened: {what}")


def _switch_drops_the_registration(kamailio: Kamailio, freeswitch: StandaloneSimulator) -> None:
    """The registrar forgets 1000's binding, and "FreeSWITCH" reports the drop."""
    removed = kamailio.rpc("ul.rm", "location", "s:1000")
    assert removed.returncode == 0, removed.stdout + removed.stderr
    assert kamailio.contacts("1000") == []
    # The simulator's phone 1000 stands for the user's registration in FreeSWITCH: it must
    # be registered for its unregister to fire sofia::unregister.
    freeswitch.esl.ok("sim_phone 1000 register")
    freeswitch.esl.ok("sim_phone 1000 unregister")


@pytest.mark.timeout(180)
def test_page_registers_again_when_the_switch_drops_it(kamailio, browser, center) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    freeswitch, server = center
    name, password, _ = ALICE
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(TIMEOUT_MS)
    console: list[str] = []
    context.on("page", lambda p: p.on("console", lambda m: console.append(f"{m.type}: {m.text}")))
    try:
        agent = sign_in(context, server.base_url, name, password)
        line = agent.get_by_test_id("phone-registration")
        expect(line).to_have_text("softphone registered")
        first = _wait_for("a contact for 1000", lambda: kamailio.contacts("1000"))
        agent.evaluate(RECORD_PHONE_LINE)

        _switch_drops_the_registration(kamailio, freeswitch)

        # The page said what happened, registered again by itself, and says so.
        expect(line).to_have_text(AGAIN)
        expect(line).to_have_attribute("data-registration", "registered")
        texts = agent.evaluate("window.__phoneTexts")
        assert DROPPED in texts, texts
        assert texts.index(DROPPED) < max(i for i, t in enumerate(texts) if AGAIN.match(t))
        again = _wait_for("1000 registered again", lambda: kamailio.contacts("1000"))
        assert again and again[0].split(";")[0] == first[0].split(";")[0]  # the same phone
        assert agent.evaluate("window.__notReloaded") is True

        # A second drop inside the guard window (30 s) does not REGISTER at once: the page
        # says when it will, and then does.
        _switch_drops_the_registration(kamailio, freeswitch)
        expect(line).to_have_text(
            re.compile(
                r"^softphone connecting: FreeSWITCH dropped this phone's registration; "
                r"registering again in \d+ s$"
            )
        )
        expect(line).to_have_text(AGAIN, timeout=45_000)
        _wait_for("1000 registered after the guard window", lambda: kamailio.contacts("1000"))
        assert agent.evaluate("window.__notReloaded") is True
    except Exception:
        OUTPUT.mkdir(exist_ok=True)
        for page in context.pages:
            with contextlib.suppress(Exception):
                page.screenshot(path=str(OUTPUT / "softphone-reregister.png"), full_page=True)
        raise
    finally:
        context.close()
        if console:
            print("--- browser console ---\n" + "\n".join(console[-100:]))
