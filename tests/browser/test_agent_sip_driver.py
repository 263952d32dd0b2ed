"""The agent page with the "sip" phone driver: it fetches the agent's own SIP account
(GET agent/sip-credentials), loads the softphone module (phone/sipjs.js) and shows its
registration state. No SIP server listens at the configured address, so the softphone
stays "connecting" and says why; calls then still work through the REST API."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.agent_page import sign_in
from tests.browser.server import CallCenterServer, StandaloneSimulator, free_port


@pytest.mark.timeout(120)
def test_sip_driver_shows_its_registration(agent_browser, tmp_path) -> None:  # type: ignore[no-untyped-def]
    nowhere = f"ws://127.0.0.1:{free_port()}"  # nothing listens here
    freeswitch = StandaloneSimulator(tmp_path)
    freeswitch.start()
    sip = {"SIP_WSS_URL": nowhere, "SIP_DOMAIN": "callcenter.local"}
    server = CallCenterServer(tmp_path, esl_port=freeswitch.port, extra_env=sip)
    server.add_user("alice", "agent", "alice-demo", extension="1000", sip_password="alice-sip-demo")
    server.start()
    context = agent_browser.new_context()
    try:
        page = sign_in(context, server.base_url, "alice", "alice-demo")
        expect(page.get_by_test_id("agent-app")).to_have_attribute("data-phone-driver", "sip")
        registration = page.get_by_test_id("phone-registration")
        expect(registration).to_contain_text("softphone connecting")
        expect(registration).to_contain_text(nowhere)  # the softphone's own reason
        expect(page.locator("#banner")).to_be_hidden()  # the server and FreeSWITCH are fine
    finally:
        context.close()
        server.stop()
        freeswitch.stop()
