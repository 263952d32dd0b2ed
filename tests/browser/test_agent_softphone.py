"""The agent page itself with the SIP.js softphone against a real SIP server.

Kamailio runs as a loopback registrar + proxy over ``ws://127.0.0.1:<port>`` with digest
authentication by HA1 (tests/browser/softphone/kamailio.py); ``callcenter serve`` runs against
the FreeSWITCH simulator with ``SIP_WSS_URL`` pointing at Kamailio and ``SIP_DOMAIN`` equal to
Kamailio's realm, so the HA1 the server stores for alice (``user add --sip-password``) is the one
Kamailio checks. Alice signs in to the real agent page (phone driver "sip": it fetches
GET agent/sip-credentials and registers as 1000). Context B is the softphone harness's plain
SIP.js caller (registered as 1001), which records what reaches it.

- A direct call from B rings on the page (the ringing popup), alice answers from the page, holds
  and resumes with the page's buttons (B receives re-INVITEs: sendonly/inactive, then sendrecv),
  sends DTMF from the page's keypad (B receives RFC 4733 telephone-events for those digits) and
  hangs up from the page (B receives BYE).
- A stored HA1 that does not match Kamailio's: the page shows the registration "failed" with the
  reason "wrong credentials".

Skips only when kamailio (with its websocket module) or chromium is missing and ``CI`` is not
``true``; under ``CI=true`` a missing binary fails the test.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.agent_page import screenshots, sign_in
from tests.browser.browsers import (
    media_chromium,
    require_softphone_tools,
)
from tests.browser.server import REPO, CallCenterServer, StandaloneSimulator
from tests.browser.softphone.http_server import HarnessServer
from tests.browser.softphone.kamailio import Kamailio, ha1

REALM = "127.0.0.1"  # Kamailio's digest realm and the server's SIP_DOMAIN
ALICE = ("alice", "alice-demo", "1000")  # user name, web password, extension
SIP_PASSWORDS = {"1000": "alice-sip-secret", "1001": "caller-sip-secret"}
TIMEOUT_MS = 15_000
OUTPUT = REPO / "test-output"
# RFC 4733 event codes of the keypad's keys.
DTMF_EVENTS = {**{str(n): n for n in range(10)}, "*": 10, "#": 11}


@pytest.fixture(scope="module")
def requirements() -> None:
    require_softphone_tools()


@pytest.fixture(scope="module")
def kamailio(requirements, tmp_path_factory) -> Iterator[Kamailio]:  # type: ignore[no-untyped-def]
    users = {ext: ha1(ext, REALM, password) for ext, password in SIP_PASSWORDS.items()}
    server = Kamailio(tmp_path_factory.mktemp("kamailio"), users, realm=REALM)
    server.check_config()
    server.start()
    yield server
    server.stop()
    print(f"--- kamailio log (tail) ---\n{server.log_tail()}")


@pytest.fixture(scope="module")
def harness(requirements) -> Iterator[HarnessServer]:  # type: ignore[no-untyped-def]
    server = HarnessServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def browser(requirements):  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    expect.set_options(timeout=TIMEOUT_MS)
    with media_chromium() as instance:
        yield instance


class CallCenter:
    """A FreeSWITCH simulator and ``callcenter serve`` whose softphones use Kamailio."""

    def __init__(self, workdir: Path, kamailio: Kamailio) -> None:
        self.freeswitch = StandaloneSimulator(workdir)
        sip = {"SIP_WSS_URL": kamailio.ws_url, "SIP_DOMAIN": REALM}
        self.freeswitch.start()
        self.server = CallCenterServer(workdir, esl_port=self.freeswitch.port, extra_env=sip)

    def stop(self) -> None:
        self.server.stop()
        self.freeswitch.stop()
        print(f"--- server output (tail) ---\n{self.server.output()[-4000:]}")


@pytest.fixture
def call_center(kamailio, tmp_path) -> Iterator[Callable[[str], CallCenter]]:  # type: ignore[no-untyped-def]
    """Starts the call center with alice's SIP account stored from ``sip_password``."""
    started: list[CallCenter] = []

    def start(sip_password: str) -> CallCenter:
        center = CallCenter(tmp_path, kamailio)
        started.append(center)
        name, password, extension = ALICE
        center.server.add_user(name, "agent", password, extension=extension,
                               sip_password=sip_password)  # fmt: skip
        center.server.start()
        return center

    yield start
    for center in started:
        center.stop()


class Pages:
    """Browser contexts of one test; console output is printed, failures are screenshot."""

    def __init__(self, browser: Any) -> None:
        self.browser = browser
        self.contexts: list[Any] = []
        self.pages: dict[str, Any] = {}
        self.console: list[str] = []

    def context(self, name: str, browser: Any = None) -> Any:
        """A new context of ``browser`` (default: the module's browser) named ``name``."""
        context = (browser or self.browser).new_context(viewport={"width": 1280, "height": 800})
        context.set_default_timeout(TIMEOUT_MS)
        context.on("page", lambda page: self._watch(name, page))
        self.contexts.append(context)
        return context

    def _watch(self, name: str, page: Any) -> None:
        self.pages[name] = page
        page.on("console", lambda msg: self.console.append(f"[{name}] {msg.type}: {msg.text}"))
        page.on("pageerror", lambda exc: self.console.append(f"[{name}] pageerror: {exc}"))

    def page_errors(self) -> list[str]:
        return [line for line in self.console if "pageerror:" in line]

    def screenshot(self, test_name: str) -> None:
        OUTPUT.mkdir(exist_ok=True)
        for name, page in self.pages.items():
            with contextlib.suppress(Exception):
                page.screenshot(path=str(OUTPUT / f"{test_name}-{name}.png"), full_page=True)

    def close(self) -> None:
        for context in self.contexts:
            with contextlib.suppress(Exception):
                context.close()


@pytest.fixture
def pages(browser, request) -> Iterator[Pages]:  # type: ignore[no-untyped-def]
    opened = Pages(browser)
    failures_before = request.session.testsfailed
    yield opened
    # The call phase has been reported by now: screenshot the pages when it failed.
    if request.session.testsfailed > failures_before:
        opened.screenshot(request.node.name)
    opened.close()
    if opened.console:
        print("--- browser console ---\n" + "\n".join(opened.console[-200:]))


def _output() -> Path:
    OUTPUT.mkdir(exist_ok=True)
    return OUTPUT


def _wait(page: Any, expression: str, arg: Any = None) -> Any:
    return page.wait_for_function(expression, arg=arg, timeout=TIMEOUT_MS).json_value()


def _caller_events(page: Any, kind: str) -> list[dict[str, Any]]:
    return page.evaluate(  # type: ignore[no-any-return]
        "kind => window.harness.caller.events.filter(e => e.type === kind)", kind
    )


def _media_directions(sdp: str) -> list[str]:
    """The ``a=`` direction attribute of every audio m-section (sendrecv when absent)."""
    directions = []
    for section in re.split(r"\r?\n(?=m=)", sdp)[1:]:
        if not section.startswith("m=audio"):
            continue
        found = re.search(r"^a=(sendrecv|sendonly|recvonly|inactive)\s*$", section, re.M)
        directions.append(found.group(1) if found else "sendrecv")
    return directions


def _start_caller(pages: Pages, harness: HarnessServer, kamailio: Kamailio) -> Any:
    """Context B: the harness's plain SIP.js far end, registered as 1001."""
    caller = pages.context("caller").new_page()
    caller.goto(harness.url)
    caller.wait_for_function("window.harnessReady === true", timeout=TIMEOUT_MS)
    cfg = {
        "wssUrl": kamailio.ws_url,
        "domain": REALM,
        "extension": "1001",
        "ha1": ha1("1001", REALM, SIP_PASSWORDS["1001"]),
    }
    result = caller.evaluate("cfg => window.harness.caller.start(cfg)", cfg)
    assert result == {"ok": True}, result
    return caller


@pytest.mark.timeout(180)
def test_agent_page_takes_a_direct_softphone_call(  # type: ignore[no-untyped-def]
    call_center, kamailio, harness, pages
) -> None:
    from playwright.sync_api import expect

    center = call_center(SIP_PASSWORDS["1000"])
    name, password, _ = ALICE
    agent = sign_in(pages.context("agent"), center.server.base_url, name, password)

    # The page runs the SIP.js softphone and says it is registered with Kamailio.
    expect(agent.get_by_test_id("agent-app")).to_have_attribute("data-phone-driver", "sip")
    registration = agent.get_by_test_id("phone-registration")
    expect(registration).to_have_text("softphone registered")
    expect(registration).to_have_attribute("data-registration", "registered")

    # B calls alice's extension: the page rings with B's identity, as a direct call.
    caller = _start_caller(pages, harness, kamailio)
    caller.evaluate("() => window.harness.caller.call('1000')")
    popup = agent.get_by_test_id("ringing-popup")
    expect(popup).to_be_visible()
    expect(agent.get_by_test_id("ringing-name")).to_have_text("Caller 1001")
    expect(agent.get_by_test_id("ringing-number")).to_have_text("1001")
    expect(agent.get_by_test_id("ringing-queue")).to_have_text("Direct call to your phone")
    expect(agent.get_by_test_id("customer-unknown")).to_be_visible()  # 1001 is no customer
    expect(agent.get_by_test_id("decline")).to_be_visible()
    screenshots(agent, _output(), "softphone-ringing")

    # Alice answers from the popup: both ends are established, audio only, sendrecv.
    agent.get_by_test_id("answer").click()
    expect(popup).to_be_hidden()
    panel = agent.get_by_test_id("call-panel")
    expect(panel).to_be_visible()
    expect(agent.get_by_test_id("call-name")).to_have_text("Caller 1001")
    expect(agent.get_by_test_id("call-number")).to_have_text("1001")
    expect(agent.get_by_test_id("call-queue")).to_have_text("not a queue call")
    expect(agent.get_by_test_id("call-state")).to_have_text("Talking")
    expect(agent.get_by_test_id("transfer-panel")).to_be_hidden()  # only queue calls
    _wait(caller, "() => window.harness.caller.events.some(e => e.state === 'Established')")
    accepted = _caller_events(caller, "accepted")
    assert accepted and accepted[0]["statusCode"] == 200
    assert "m=video" not in accepted[0]["sdp"]
    assert _media_directions(accepted[0]["sdp"]) == ["sendrecv"]
    expect(agent.get_by_test_id("call-timer")).to_have_text(re.compile(r"^\d+:\d\d$"))
    screenshots(agent, _output(), "softphone-call")

    # Hold from the page: B receives a re-INVITE offering sendonly (or inactive).
    agent.get_by_test_id("hold").click()
    expect(agent.get_by_test_id("call-state")).to_have_text("On hold")
    expect(agent.get_by_test_id("held-indicator")).to_be_visible()
    expect(panel).to_have_attribute("data-held", "true")
    # Nothing reports music playing to B (a direct call): the page claims none.
    expect(agent.get_by_test_id("held-indicator")).to_have_text("On hold")
    first = _wait(
        caller, "i => window.harness.caller.events.filter(e => e.type === 'reinvite')[i]", 0
    )
    assert first["statusCode"] == 200
    assert _media_directions(first["sdp"])[0] in ("sendonly", "inactive")

    # Unhold from the page: the second re-INVITE offers sendrecv again.
    agent.get_by_test_id("unhold").click()
    expect(agent.get_by_test_id("call-state")).to_have_text("Talking")
    expect(agent.get_by_test_id("held-indicator")).to_be_hidden()
    second = _wait(
        caller, "i => window.harness.caller.events.filter(e => e.type === 'reinvite')[i]", 1
    )
    assert second["statusCode"] == 200
    assert _media_directions(second["sdp"]) == ["sendrecv"]
    assert len(_caller_events(caller, "reinvite")) == 2

    # DTMF from the page's keypad: B receives RFC 4733 telephone-events for those digits.
    assert caller.evaluate("() => window.harness.caller.telephoneEventPts"), "no telephone-event"
    agent.get_by_test_id("keypad-panel").locator("summary").click()
    for key, testid in (("5", "dtmf-5"), ("#", "dtmf-hash")):
        agent.get_by_test_id(testid).click()
        expect(agent.get_by_test_id("dtmf-sent")).to_contain_text(key)
    expect(agent.get_by_test_id("dtmf-sent")).to_have_text("Sent: 5#")
    # Keys pressed faster than the tones play (100 ms + 70 ms gap each) are all sent, in order.
    for testid in ("dtmf-1", "dtmf-2", "dtmf-3"):
        agent.get_by_test_id(testid).click()
    expect(agent.get_by_test_id("dtmf-sent")).to_have_text("Sent: 5#123")
    digits = _wait(
        caller,
        "n => window.harness.caller.dtmfEvents.length >= n && window.harness.caller.dtmfEvents",
        5,
    )
    assert digits == [DTMF_EVENTS[key] for key in "5#123"]
    expect(agent.get_by_test_id("call-error")).to_be_hidden()

    # Hang up from the page: B receives BYE, the page leaves the call; still registered.
    agent.get_by_test_id("drop").click()
    _wait(caller, "() => window.harness.caller.events.some(e => e.state === 'Terminated')")
    assert _caller_events(caller, "bye"), "B did not receive a BYE"
    expect(panel).to_be_hidden()
    expect(popup).to_be_hidden()
    expect(registration).to_have_text("softphone registered")
    expect(agent.get_by_test_id("wrapup-panel")).to_be_hidden()  # not a queue call
    assert pages.page_errors() == []


@pytest.mark.timeout(120)
def test_agent_page_shows_wrong_sip_credentials(call_center, pages) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    # The server stores an HA1 from another password than the one Kamailio knows.
    center = call_center("not-the-sip-password")
    name, password, _ = ALICE
    agent = sign_in(pages.context("agent"), center.server.base_url, name, password)

    expect(agent.get_by_test_id("agent-app")).to_have_attribute("data-phone-driver", "sip")
    registration = agent.get_by_test_id("phone-registration")
    expect(registration).to_have_attribute("data-registration", "failed")
    expect(registration).to_have_text(
        "softphone failed: SIP registration refused: wrong credentials (403 Forbidden)"
    )
    expect(registration).to_be_visible()
    screenshots(agent, _output(), "softphone-wrong-credentials")
    assert pages.page_errors() == []


@pytest.mark.timeout(180)
def test_agent_page_declines_then_the_caller_hangs_up(  # type: ignore[no-untyped-def]
    call_center, kamailio, harness, pages
) -> None:
    from playwright.sync_api import expect

    center = call_center(SIP_PASSWORDS["1000"])
    name, password, _ = ALICE
    agent = sign_in(pages.context("agent"), center.server.base_url, name, password)
    expect(agent.get_by_test_id("phone-registration")).to_have_text("softphone registered")
    caller = _start_caller(pages, harness, kamailio)
    popup = agent.get_by_test_id("ringing-popup")
    panel = agent.get_by_test_id("call-panel")

    # Decline from the popup: B's INVITE is answered 486 Busy Here, the popup goes away.
    caller.evaluate("() => window.harness.caller.call('1000')")
    expect(popup).to_be_visible()
    agent.get_by_test_id("decline").click()
    rejected = _wait(caller, "() => window.harness.caller.events.find(e => e.type === 'rejected')")
    assert rejected["statusCode"] == 486
    expect(popup).to_be_hidden()
    expect(panel).to_be_hidden()

    # B calls again, alice answers, then B hangs up: the page leaves the call by itself.
    caller.evaluate("() => window.harness.caller.call('1000')")
    expect(popup).to_be_visible()
    agent.get_by_test_id("answer").click()
    expect(agent.get_by_test_id("call-state")).to_have_text("Talking")
    _wait(caller, "() => window.harness.caller.events.some(e => e.state === 'Established')")
    caller.evaluate("() => window.harness.caller.hangup()")
    # B's first session (the declined one) terminated already; this is the second.
    _wait(
        caller,
        "() => window.harness.caller.events.filter(e => e.state === 'Terminated').length === 2",
    )
    expect(panel).to_be_hidden()
    expect(popup).to_be_hidden()
    expect(agent.get_by_test_id("phone-registration")).to_have_text("softphone registered")
    expect(agent.get_by_test_id("call-error")).to_be_hidden()
    assert pages.page_errors() == []
