"""The agent page's "Phone settings" (SIP driver) against a real Kamailio.

The same set-up as test_agent_softphone.py (its fixtures are reused): Kamailio on loopback,
``callcenter serve`` with alice's SIP account, the agent page in Chromium with fake media
devices (``--use-fake-device-for-media-stream``: "Fake Audio Input 1/2", "Fake Audio Output
1/2" beside the defaults) and the softphone harness's plain SIP.js caller (1001) as context B.

- The settings list the fake microphones and speakers by name. A microphone and a speaker
  chosen there are kept across a reload and used by the next call: the live call's audio
  sender track comes from the chosen microphone and the remote audio plays on the chosen
  speaker (``sinkId``); choosing again during the call switches both at once.
- Auto-answer off: a call rings until Answer is clicked. Turned on (no reload), the next call
  is answered by the page with no click (B gets 200 OK) and shows as the current call; after a
  reload it is still on and still answers; turned off again, a call rings and is declined.
- Before the page may use the microphone (a browser without the fake permission UI), the
  browser hides device names: the settings offer only the default and a way to ask; a refusal
  is shown; once permission is granted the names appear. ``devicechange`` updates the lists
  (device names go in as text), a saved microphone that is unplugged gives way to the default
  and comes back with the device; without HTMLMediaElement.setSinkId the speaker choice is
  disabled with an explanation, and a browser that cannot store the settings says so.

Skips only when kamailio (with its websocket module) or chromium is missing and ``CI`` is not
``true`` (as test_agent_softphone.py does).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser import test_agent_softphone as softphone
from tests.browser.agent_page import screenshots, sign_in
from tests.browser.browsers import CHROMIUM_ARGS, require_chromium

# The fixtures of test_agent_softphone.py, by name: Kamailio, the harness server, Chromium
# with fake media devices, the call center and the browser contexts of a test.
requirements = softphone.requirements
kamailio = softphone.kamailio
harness = softphone.harness
browser = softphone.browser
call_center = softphone.call_center
pages = softphone.pages

ALICE = softphone.ALICE
SIP_PASSWORDS = softphone.SIP_PASSWORDS
_wait = softphone._wait
MICROPHONES = ["Fake Default Audio Input", "Fake Audio Input 1", "Fake Audio Input 2"]
SPEAKERS = ["Fake Default Audio Output", "Fake Audio Output 1", "Fake Audio Output 2"]

# Test instrumentation: keep every RTCPeerConnection the page makes, to look at the live call.
RECORD_PEER_CONNECTIONS = """
(() => {
  const Native = window.RTCPeerConnection;
  window.__peerConnections = [];
  window.RTCPeerConnection = class extends Native {
    constructor(...args) {
      super(...args);
      window.__peerConnections.push(this);
    }
  };
})();
"""
# The live call's microphone, once it is the one named `label`: the audio sender track of the
# page's last peer connection.
SENDER_TRACK = """
(label) => {
  const pc = window.__peerConnections.at(-1);
  const sender = pc && pc.getSenders().find((s) => s.track && s.track.kind === "audio");
  const track = sender && sender.track;
  return track && track.label === label &&
    { label: track.label, deviceId: track.getSettings().deviceId, state: track.readyState };
}
"""
REMOTE_AUDIO_SINK = "id => document.querySelector('[data-testid=remote-audio]').sinkId === id"

# Test instrumentation: devices the test plugs in (added to enumerateDevices), in a browser
# that cannot choose the audio output nor keep anything in localStorage.
LIMITED_BROWSER = """
(() => {
  window.__extraDevices = [];
  delete HTMLMediaElement.prototype.setSinkId;
  Storage.prototype.setItem = () => {
    throw new DOMException("The quota has been exceeded.", "QuotaExceededError");
  };
  const media = navigator.mediaDevices;
  if (!media) {
    return; // about:blank before the first navigation
  }
  const enumerate = media.enumerateDevices.bind(media);
  media.enumerateDevices = async () => [...(await enumerate()), ...window.__extraDevices];
})();
"""
PLUG = """
(device) => {
  window.__extraDevices = device ? [device] : [];
  navigator.mediaDevices.dispatchEvent(new Event("devicechange"));
}
"""


@pytest.fixture(scope="module")
def asking_browser(browser) -> Iterator[Any]:  # type: ignore[no-untyped-def]
    """Chromium with fake devices but no fake permission UI: the page must ask first."""
    args = [*CHROMIUM_ARGS, "--use-fake-device-for-media-stream"]  # no fake permission prompt
    instance = browser.browser_type.launch(executable_path=require_chromium(),
                                           headless=True, args=args)  # fmt: skip
    yield instance
    instance.close()


def _sign_in_alice(context: Any, center: softphone.CallCenter) -> Any:
    from playwright.sync_api import expect

    name, password, _ = ALICE
    agent = sign_in(context, center.server.base_url, name, password)
    expect(agent.get_by_test_id("phone-registration")).to_have_text("softphone registered")
    return agent


def _devices(page: Any) -> dict[str, str]:
    """deviceId by label, of the browser's audio devices as the page sees them."""
    listed = page.evaluate(
        "async () => (await navigator.mediaDevices.enumerateDevices())"
        ".filter(d => d.kind.startsWith('audio')).map(d => [d.label, d.deviceId])"
    )
    return dict(listed)


def _accepted(caller: Any) -> int:
    return len(softphone._caller_events(caller, "accepted"))


@pytest.mark.timeout(180)
def test_microphone_and_speaker_are_listed_kept_and_used(  # type: ignore[no-untyped-def]
    call_center, kamailio, harness, pages
) -> None:
    from playwright.sync_api import expect

    center = call_center(SIP_PASSWORDS["1000"])
    context = pages.context("agent")
    context.add_init_script(RECORD_PEER_CONNECTIONS)
    agent = _sign_in_alice(context, center)

    # The settings show the fake devices by name; nothing to ask, auto-answer off.
    settings = agent.get_by_test_id("phone-settings")
    expect(settings).to_be_visible()
    microphone = agent.get_by_test_id("microphone-select")
    speaker = agent.get_by_test_id("speaker-select")
    expect(microphone.locator("option")).to_have_text(MICROPHONES)
    expect(speaker.locator("option")).to_have_text(SPEAKERS)
    expect(agent.get_by_test_id("device-permission")).to_be_hidden()
    expect(agent.get_by_test_id("speaker-note")).to_be_hidden()
    expect(agent.get_by_test_id("auto-answer")).not_to_be_checked()
    ids = _devices(agent)

    # Choose a microphone and a speaker, then reload: the choices are still there.
    microphone.select_option(label="Fake Audio Input 2")
    speaker.select_option(label="Fake Audio Output 1")
    agent.reload()
    expect(agent.get_by_test_id("agent-app")).to_have_attribute("data-ready", "true")
    expect(agent.get_by_test_id("phone-registration")).to_have_text("softphone registered")
    expect(microphone).to_have_value(ids["Fake Audio Input 2"])
    expect(microphone.locator("option:checked")).to_have_text("Fake Audio Input 2")
    expect(speaker).to_have_value(ids["Fake Audio Output 1"])
    screenshots(agent, softphone._output(), "softphone-settings")  # no sideways scroll at 390 px

    # B calls, alice answers: the call sends from the chosen microphone, plays on the speaker.
    caller = softphone._start_caller(pages, harness, kamailio)
    caller.evaluate("() => window.harness.caller.call('1000')")
    expect(agent.get_by_test_id("ringing-popup")).to_be_visible()
    agent.get_by_test_id("answer").click()
    expect(agent.get_by_test_id("call-state")).to_have_text("Talking")
    _wait(caller, "() => window.harness.caller.events.some(e => e.state === 'Established')")
    track = _wait(agent, SENDER_TRACK, "Fake Audio Input 2")
    assert track == {"label": "Fake Audio Input 2", "deviceId": ids["Fake Audio Input 2"],
                     "state": "live"}  # fmt: skip
    _wait(agent, REMOTE_AUDIO_SINK, ids["Fake Audio Output 1"])

    # Choosing again during the call switches the microphone and the speaker at once.
    microphone.select_option(label="Fake Audio Input 1")
    track = _wait(agent, SENDER_TRACK, "Fake Audio Input 1")
    assert track["deviceId"] == ids["Fake Audio Input 1"]
    speaker.select_option(label="Fake Audio Output 2")
    _wait(agent, REMOTE_AUDIO_SINK, ids["Fake Audio Output 2"])
    expect(agent.get_by_test_id("phone-settings-error")).to_be_hidden()
    expect(agent.get_by_test_id("call-error")).to_be_hidden()

    agent.get_by_test_id("drop").click()
    _wait(caller, "() => window.harness.caller.events.some(e => e.type === 'bye')")
    expect(agent.get_by_test_id("call-panel")).to_be_hidden()
    assert pages.page_errors() == []


@pytest.mark.timeout(240)
def test_auto_answer_is_applied_live_and_kept(  # type: ignore[no-untyped-def]
    call_center, kamailio, harness, pages
) -> None:
    from playwright.sync_api import expect

    center = call_center(SIP_PASSWORDS["1000"])
    agent = _sign_in_alice(pages.context("agent"), center)
    caller = softphone._start_caller(pages, harness, kamailio)
    auto_answer = agent.get_by_test_id("auto-answer")
    popup = agent.get_by_test_id("ringing-popup")
    panel = agent.get_by_test_id("call-panel")
    expect(auto_answer).not_to_be_checked()

    # Off: the call rings, and is only answered by the click on Answer.
    caller.evaluate("() => window.harness.caller.call('1000')")
    expect(popup).to_be_visible()
    expect(panel).to_be_hidden()
    assert _accepted(caller) == 0
    agent.get_by_test_id("answer").click()
    _wait(caller, "() => window.harness.caller.events.some(e => e.type === 'accepted')")
    expect(agent.get_by_test_id("call-state")).to_have_text("Talking")
    agent.get_by_test_id("drop").click()
    expect(panel).to_be_hidden()

    # On, without a reload: the next call is answered by the page, no click; B gets 200 OK.
    auto_answer.check()
    caller.evaluate("() => window.harness.caller.call('1000')")
    accepted = _wait(
        caller,
        "() => { const a = window.harness.caller.events.filter(e => e.type === 'accepted');"
        " return a.length === 2 && a[1]; }",
    )
    assert accepted["statusCode"] == 200
    expect(panel).to_be_visible()
    expect(agent.get_by_test_id("call-name")).to_have_text("Caller 1001")
    expect(agent.get_by_test_id("call-state")).to_have_text("Talking")
    expect(popup).to_be_hidden()
    caller.evaluate("() => window.harness.caller.hangup()")
    expect(panel).to_be_hidden()

    # Kept in this browser: after a reload it is still on, and the softphone still answers.
    agent.reload()
    expect(agent.get_by_test_id("agent-app")).to_have_attribute("data-ready", "true")
    expect(agent.get_by_test_id("phone-registration")).to_have_text("softphone registered")
    expect(auto_answer).to_be_checked()
    caller.evaluate("() => window.harness.caller.call('1000')")
    _wait(
        caller,
        "() => window.harness.caller.events.filter(e => e.type === 'accepted').length === 3",
    )
    expect(agent.get_by_test_id("call-state")).to_have_text("Talking")
    agent.get_by_test_id("drop").click()
    expect(panel).to_be_hidden()

    # Off again: the next call rings until alice acts on it (here: Decline, 486).
    auto_answer.uncheck()
    caller.evaluate("() => window.harness.caller.call('1000')")
    expect(popup).to_be_visible()
    expect(panel).to_be_hidden()
    agent.get_by_test_id("decline").click()
    rejected = _wait(caller, "() => window.harness.caller.events.find(e => e.type === 'rejected')")
    assert rejected["statusCode"] == 486
    assert _accepted(caller) == 3
    expect(popup).to_be_hidden()
    assert pages.page_errors() == []


@pytest.mark.timeout(180)
def test_device_names_permission_changes_and_no_speaker_choice(  # type: ignore[no-untyped-def]
    call_center, asking_browser, pages
) -> None:
    from playwright.sync_api import expect

    center = call_center(SIP_PASSWORDS["1000"])

    # No permission yet: the browser hides the devices; only the default, and a way to ask.
    asking = pages.context("asking", asking_browser)
    agent = _sign_in_alice(asking, center)
    microphone = agent.get_by_test_id("microphone-select")
    speaker = agent.get_by_test_id("speaker-select")
    permission = agent.get_by_test_id("device-permission")
    expect(agent.get_by_test_id("phone-settings")).to_be_visible()
    expect(permission).to_be_visible()
    expect(microphone.locator("option")).to_have_text(["Browser default"])
    expect(speaker.locator("option")).to_have_text(["Browser default"])
    # Asking while the browser refuses (headless Chromium denies the prompt): said so.
    agent.get_by_test_id("device-permission-ask").click()
    expect(agent.get_by_test_id("device-permission-error")).to_contain_text(
        "The browser did not let this page use the microphone"
    )
    # Permission granted (as by the browser's own prompt): the names appear, nothing to click.
    asking.grant_permissions(["microphone"])
    expect(microphone.locator("option")).to_have_text(MICROPHONES)
    expect(speaker.locator("option")).to_have_text(SPEAKERS)
    expect(permission).to_be_hidden()
    asking.close()

    # A browser that cannot choose the output nor keep settings, where devices come and go.
    context = pages.context("agent")
    context.add_init_script(LIMITED_BROWSER)
    agent = _sign_in_alice(context, center)
    microphone = agent.get_by_test_id("microphone-select")
    speaker = agent.get_by_test_id("speaker-select")
    note = agent.get_by_test_id("microphone-note")
    expect(speaker).to_be_disabled()
    expect(agent.get_by_test_id("speaker-note")).to_have_text(
        "This browser cannot choose the speaker: calls play on the default output."
    )
    expect(microphone.locator("option")).to_have_text(MICROPHONES)

    # devicechange: a new microphone is listed, its name as text (not markup); choose it.
    label = ('USB <b>Headset</b> & "Co" ' + "with a name far too long for a phone " * 3).strip()
    headset = {"kind": "audioinput", "deviceId": "usb-headset", "groupId": "usb", "label": label}
    agent.evaluate(PLUG, headset)
    expect(microphone.locator("option")).to_have_text([*MICROPHONES, headset["label"]])
    assert microphone.locator("b").count() == 0
    microphone.select_option("usb-headset")
    expect(note).to_be_hidden()
    expect(agent.get_by_test_id("phone-settings-storage")).to_be_visible()  # not kept

    # Unplugged: the default is used and the page says why; plugged back: chosen again.
    agent.evaluate(PLUG, None)
    expect(microphone.locator("option")).to_have_text(MICROPHONES)
    expect(microphone).to_have_value("")
    expect(note).to_have_text(
        "The saved microphone is not connected: the browser's default is used until it is back."
    )
    agent.evaluate(PLUG, headset)
    expect(microphone).to_have_value("usb-headset")
    expect(note).to_be_hidden()
    expect(agent.get_by_test_id("phone-settings-error")).to_be_hidden()
    screenshots(agent, softphone._output(), "softphone-settings-no-speaker")
    assert pages.page_errors() == []
