"""Browser softphone driver (dashboard/static/js/phone/sipjs.js) against a real SIP server.

Kamailio runs in the foreground as a loopback registrar + proxy over ``ws://127.0.0.1:<port>``
with digest authentication by HA1. Chromium (fake media devices) loads a harness page served
from this test: context A is the agent using the product driver ``SipPhone``; context B is the
far end written against SIP.js directly, recording what it receives.

Skips only when kamailio (with its websocket module) or chromium is missing and ``CI`` is not
``true``; under ``CI=true`` a missing binary fails the test.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser.browsers import (
    media_chromium,
    require_softphone_tools,
)
from tests.browser.softphone.http_server import REPO, HarnessServer
from tests.browser.softphone.kamailio import Kamailio, ha1

REALM = "127.0.0.1"
PASSWORDS = {"1000": "agent-secret-1000", "1001": "caller-secret-1001"}
TIMEOUT_MS = 15_000
OUTPUT = REPO / "test-output"


@pytest.fixture(scope="module")
def requirements() -> None:
    require_softphone_tools()


def _users() -> dict[str, str]:
    return {user: ha1(user, REALM, password) for user, password in PASSWORDS.items()}


@pytest.fixture(scope="module")
def kamailio(requirements, tmp_path_factory) -> Iterator[Kamailio]:  # type: ignore[no-untyped-def]
    server = Kamailio(tmp_path_factory.mktemp("kamailio"), _users(), realm=REALM)
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
    with media_chromium() as instance:
        yield instance


class Pages:
    """Opens one browser context + harness page per role and collects console output."""

    def __init__(self, browser: Any, harness: HarnessServer) -> None:
        self.browser = browser
        self.harness = harness
        self.contexts: list[Any] = []
        self.pages: dict[str, Any] = {}
        self.console: list[str] = []

    def open(self, name: str) -> Any:
        context = self.browser.new_context()
        context.set_default_timeout(TIMEOUT_MS)
        page = context.new_page()
        page.on("console", lambda msg: self.console.append(f"[{name}] {msg.type}: {msg.text}"))
        page.on("pageerror", lambda exc: self.console.append(f"[{name}] pageerror: {exc}"))
        page.goto(self.harness.url)
        page.wait_for_function("window.harnessReady === true", timeout=TIMEOUT_MS)
        self.contexts.append(context)
        self.pages[name] = page
        return page

    def screenshot(self, test_name: str) -> None:
        OUTPUT.mkdir(exist_ok=True)
        for name, page in self.pages.items():
            with contextlib.suppress(Exception):
                page.screenshot(path=str(OUTPUT / f"{test_name}-{name}.png"))

    def close(self) -> None:
        for context in self.contexts:
            with contextlib.suppress(Exception):
                context.close()


@pytest.fixture
def pages(browser, harness, request) -> Iterator[Pages]:  # type: ignore[no-untyped-def]
    opened = Pages(browser, harness)
    failures_before = request.session.testsfailed
    yield opened
    # The call phase has been reported by now: screenshot the pages when it failed.
    if request.session.testsfailed > failures_before:
        opened.screenshot(request.node.name)
    opened.close()
    if opened.console:
        print("--- browser console ---\n" + "\n".join(opened.console[-200:]))


def _cfg(server: Kamailio, extension: str, **extra: Any) -> dict[str, Any]:
    cfg: dict[str, Any] = {
        "wssUrl": server.ws_url,
        "domain": REALM,
        "extension": extension,
        "ha1": ha1(extension, REALM, PASSWORDS[extension]),
    }
    cfg.update(extra)
    return cfg


def _start_agent(page: Any, cfg: dict[str, Any]) -> dict[str, Any]:
    return page.evaluate("cfg => window.harness.agent.start(cfg)", cfg)  # type: ignore[no-any-return]


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


def _register_pair(pages: Pages, kamailio: Kamailio, **agent_options: Any) -> tuple[Any, Any]:
    from playwright.sync_api import expect

    agent = pages.open("agent")
    result = _start_agent(agent, _cfg(kamailio, "1000", **agent_options))
    assert result == {"ok": True}, result
    expect(agent.locator("#reg-state")).to_have_text("registered", timeout=TIMEOUT_MS)
    assert agent.evaluate("window.harness.agent.phone.registrationState") == "registered"

    caller = pages.open("caller")
    result = caller.evaluate("cfg => window.harness.caller.start(cfg)", _cfg(kamailio, "1001"))
    assert result == {"ok": True}, result
    return agent, caller


def test_register_call_hold_dtmf_hangup(pages: Pages, kamailio: Kamailio) -> None:
    from playwright.sync_api import expect

    agent, caller = _register_pair(pages, kamailio)

    # B calls A; A's page shows the ringing call and the caller's identity.
    caller.evaluate("() => window.harness.caller.call('1000')")
    expect(agent.locator("#call-state")).to_have_text("ringing", timeout=TIMEOUT_MS)
    incoming = _wait(agent, "() => window.harness.agent.events.find(e => e.name === 'incoming')")
    assert incoming["from"] == "1001"
    assert incoming["displayName"] == "Caller 1001"
    assert incoming["autoAnswer"] is False

    # A answers (audio only); both ends are established.
    agent.evaluate("() => window.harness.agent.phone.answer()")
    expect(agent.locator("#call-state")).to_have_text("established", timeout=TIMEOUT_MS)
    _wait(caller, "() => window.harness.caller.events.some(e => e.state === 'Established')")
    accepted = _caller_events(caller, "accepted")
    assert accepted and accepted[0]["statusCode"] == 200
    assert "m=video" not in accepted[0]["sdp"]
    assert _media_directions(accepted[0]["sdp"]) == ["sendrecv"]
    # Media really flows both ways over ICE on the loopback host.
    _wait(caller, "() => Object.values(window.harness.caller.rtpPayloadCounts).some(n => n > 0)")
    agent.wait_for_function(
        "async () => (await window.harness.agent.audioPacketsReceived()) > 0", timeout=TIMEOUT_MS
    )

    # Hold: B receives a re-INVITE offering a=sendonly (or a=inactive).
    agent.evaluate("() => window.harness.agent.phone.hold()")
    expect(agent.locator("#call-state")).to_have_text("held", timeout=TIMEOUT_MS)
    _wait(caller, "() => window.harness.caller.events.filter(e => e.type === 'reinvite')[0]")
    reinvites = _caller_events(caller, "reinvite")
    assert reinvites[0]["statusCode"] == 200
    assert _media_directions(reinvites[0]["sdp"])[0] in ("sendonly", "inactive")

    # Unhold: second re-INVITE offers sendrecv again.
    agent.evaluate("() => window.harness.agent.phone.unhold()")
    expect(agent.locator("#call-state")).to_have_text("established", timeout=TIMEOUT_MS)
    _wait(caller, "() => window.harness.caller.events.filter(e => e.type === 'reinvite')[1]")
    reinvites = _caller_events(caller, "reinvite")
    assert _media_directions(reinvites[1]["sdp"]) == ["sendrecv"]
    held_events = agent.evaluate(
        "() => window.harness.agent.events.filter(e => e.name === 'held').map(e => e.held)"
    )
    assert held_events == [True, False]

    # Mute disables the local audio track(s), unmute enables them again.
    assert agent.evaluate("() => window.harness.agent.senderTracksEnabled()") == [True]
    agent.evaluate("() => window.harness.agent.phone.mute(true)")
    assert agent.evaluate("() => window.harness.agent.senderTracksEnabled()") == [False]
    agent.evaluate("() => window.harness.agent.phone.mute(false)")
    assert agent.evaluate("() => window.harness.agent.senderTracksEnabled()") == [True]

    # DTMF, default transport RFC 4733: the RTCDTMFSender plays the tones into the RTP stream
    # and B's receiver sees RTP packets with the negotiated telephone-event payload type.
    watch = agent.evaluate("() => window.harness.agent.watchDtmfSender()")
    assert watch["canInsertDTMF"] is True
    assert agent.evaluate("() => window.harness.agent.phone.sendDtmf('123#')") == "rfc4733"
    tones = _wait(
        agent,
        "() => window.harness.agent.dtmfTones.length >= 4 && window.harness.agent.dtmfTones",
    )
    assert tones == ["1", "2", "3", "#"]
    te_pts = caller.evaluate("() => window.harness.caller.telephoneEventPts")
    assert te_pts, "telephone-event was not negotiated"
    counts = _wait(
        caller,
        "pts => pts.some(pt => window.harness.caller.rtpPayloadCounts[pt] > 0) "
        "&& window.harness.caller.rtpPayloadCounts",
        te_pts,
    )
    assert any(counts.get(str(pt), 0) > 0 for pt in te_pts)

    # DTMF over SIP INFO (fallback transport, forced here): B receives application/dtmf-relay.
    method = agent.evaluate("() => window.harness.agent.phone.sendDtmf('5', {method: 'info'})")
    assert method == "info"
    _wait(caller, "() => window.harness.caller.events.some(e => e.type === 'info')")
    infos = _caller_events(caller, "info")
    assert infos[0]["contentType"].startswith("application/dtmf-relay")
    assert re.search(r"^Signal=5\r?$", infos[0]["body"], re.M)

    # A hangs up: B receives BYE and its session terminates.
    agent.evaluate("() => window.harness.agent.phone.hangup()")
    expect(agent.locator("#call-state")).to_have_text("idle", timeout=TIMEOUT_MS)
    _wait(caller, "() => window.harness.caller.events.some(e => e.state === 'Terminated')")
    assert _caller_events(caller, "bye"), "B did not receive a BYE"
    ended = agent.evaluate("() => window.harness.agent.events.filter(e => e.name === 'ended')")
    assert ended == [{"name": "ended", "reason": "local-hangup"}]


def test_wrong_ha1_shows_failed_registration(pages: Pages, kamailio: Kamailio) -> None:
    from playwright.sync_api import expect

    agent = pages.open("agent")
    wrong = ha1("1000", REALM, "not-the-password")
    result = _start_agent(agent, {**_cfg(kamailio, "1000"), "ha1": wrong})
    assert result["ok"] is False
    assert "wrong credentials" in result["error"]

    expect(agent.locator("#reg-state")).to_have_text("failed", timeout=TIMEOUT_MS)
    expect(agent.locator("#reg-reason")).to_have_text(
        "SIP registration refused: wrong credentials (403 Forbidden)", timeout=TIMEOUT_MS
    )
    assert agent.evaluate("window.harness.agent.phone.registrationState") == "failed"


def test_reject_sends_486_busy_here(pages: Pages, kamailio: Kamailio) -> None:
    from playwright.sync_api import expect

    agent, caller = _register_pair(pages, kamailio)
    caller.evaluate("() => window.harness.caller.call('1000')")
    expect(agent.locator("#call-state")).to_have_text("ringing", timeout=TIMEOUT_MS)
    agent.evaluate("() => window.harness.agent.phone.reject()")
    rejected = _wait(caller, "() => window.harness.caller.events.find(e => e.type === 'rejected')")
    assert rejected["statusCode"] == 486
    expect(agent.locator("#call-state")).to_have_text("idle", timeout=TIMEOUT_MS)
    ended = agent.evaluate("() => window.harness.agent.events.find(e => e.name === 'ended')")
    assert ended["reason"] == "rejected"

    # stop(): the page shows "unregistered" and the registrar no longer routes calls to A.
    agent.evaluate("() => window.harness.agent.phone.stop()")
    expect(agent.locator("#reg-state")).to_have_text("unregistered", timeout=TIMEOUT_MS)
    caller.evaluate("() => window.harness.caller.call('1000')")
    second = _wait(
        caller, "() => window.harness.caller.events.filter(e => e.type === 'rejected')[1]"
    )
    assert second["statusCode"] == 404


def test_refused_hold_reverts_and_hold_works_afterwards(pages: Pages, kamailio: Kamailio) -> None:
    from playwright.sync_api import expect

    agent, caller = _register_pair(pages, kamailio)
    caller.evaluate("() => window.harness.caller.call('1000')")
    expect(agent.locator("#call-state")).to_have_text("ringing", timeout=TIMEOUT_MS)
    agent.evaluate("() => window.harness.agent.phone.answer()")
    _wait(caller, "() => window.harness.caller.events.some(e => e.state === 'Established')")

    # B answers the hold re-INVITE with 488: A reports held, then reverts with an error.
    caller.evaluate("() => window.harness.caller.refuseReinvites(true)")
    error = agent.evaluate(
        "() => window.harness.agent.phone.hold().then(() => null, e => e.message)"
    )
    assert error == "hold failed: re-INVITE 488 Not Acceptable Here"
    expect(agent.locator("#call-state")).to_have_text("established", timeout=TIMEOUT_MS)
    expect(agent.locator("#last-error")).to_have_text(error, timeout=TIMEOUT_MS)
    held = agent.evaluate(
        "() => window.harness.agent.events.filter(e => e.name === 'held').map(e => e.held)"
    )
    assert held == [True, False]
    assert agent.evaluate("() => window.harness.agent.phone.callState") == "established"

    # The refused offer was rolled back: the next hold goes through and B sees sendonly.
    caller.evaluate("() => window.harness.caller.refuseReinvites(false)")
    agent.evaluate("() => window.harness.agent.phone.hold()")
    expect(agent.locator("#call-state")).to_have_text("held", timeout=TIMEOUT_MS)
    reinvite = _wait(
        caller,
        "() => window.harness.caller.events.find(e => e.type == 'reinvite' && e.statusCode == 200)",
    )
    assert _media_directions(reinvite["sdp"])[0] in ("sendonly", "inactive")
    agent.evaluate("() => window.harness.agent.phone.hangup()")
    _wait(caller, "() => window.harness.caller.events.some(e => e.state === 'Terminated')")


def test_call_info_answer_after_auto_answers(pages: Pages, kamailio: Kamailio) -> None:
    from playwright.sync_api import expect

    agent, caller = _register_pair(pages, kamailio)
    caller.evaluate(
        "() => window.harness.caller.call('1000', ['Call-Info: <sip:127.0.0.1>;answer-after=0'])"
    )
    expect(agent.locator("#call-state")).to_have_text("established", timeout=TIMEOUT_MS)
    _wait(caller, "() => window.harness.caller.events.some(e => e.state === 'Established')")
    incoming = agent.evaluate("() => window.harness.agent.events.find(e => e.name === 'incoming')")
    assert incoming["autoAnswer"] is True
    caller.evaluate("() => window.harness.caller.hangup()")
    expect(agent.locator("#call-state")).to_have_text("idle", timeout=TIMEOUT_MS)
    ended = agent.evaluate("() => window.harness.agent.events.find(e => e.name === 'ended')")
    assert ended["reason"] == "remote-hangup"


def test_reregisters_after_server_restart(requirements, pages, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    server = Kamailio(tmp_path / "kamailio", _users(), realm=REALM)
    server.start()
    try:
        agent = pages.open("agent")
        cfg = _cfg(server, "1000", reconnectMinDelay=300, reconnectMaxDelay=1000)
        assert _start_agent(agent, cfg) == {"ok": True}
        expect(agent.locator("#reg-state")).to_have_text("registered", timeout=TIMEOUT_MS)

        # The server goes away: the WebSocket drops and the driver reports it is reconnecting.
        server.stop()
        expect(agent.locator("#reg-state")).to_have_text("connecting", timeout=TIMEOUT_MS)
        lost = _wait(
            agent,
            "() => window.harness.agent.events.find(e => e.name === 'registration' "
            "&& e.state === 'connecting' && /lost/.test(e.reason || ''))",
        )
        assert server.ws_url in lost["reason"]

        # The server comes back on the same port (empty location table): the driver reconnects
        # and registers again by itself, and the new binding takes calls.
        server.start()
        expect(agent.locator("#reg-state")).to_have_text("registered", timeout=TIMEOUT_MS)
        caller = pages.open("caller")
        assert caller.evaluate("cfg => window.harness.caller.start(cfg)",
                               _cfg(server, "1001")) == {"ok": True}  # fmt: skip
        caller.evaluate("() => window.harness.caller.call('1000')")
        expect(agent.locator("#call-state")).to_have_text("ringing", timeout=TIMEOUT_MS)
        agent.evaluate("() => window.harness.agent.phone.hangup()")
        rejected = _wait(
            caller, "() => window.harness.caller.events.find(e => e.type === 'rejected')"
        )
        assert rejected["statusCode"] == 486
    finally:
        server.stop()
        print(f"--- kamailio log (tail) ---\n{server.log_tail()}")
