"""What the agent page says about a held caller, from what the switch reports: the real
server with ``serve --simulate`` on the shipped freeswitch_conf/ (the simulator plays its
hold music as FreeSWITCH 1.10.12 does: the held leg's partner fires PLAYBACK_START once
the music opened, and nothing when the stream cannot be found).

- The held leg's ``hold_music`` is a file that does not exist (FreeSWITCH logs "Can't
  open" and plays nothing): the page says "On hold" and never that the caller hears music.
- The shipped ``local_stream://moh``: the page says "On hold — the caller hears music".
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.agent_page import calls, originate_caller, sign_in, wait_until
from tests.browser.test_agent_page import quiet_floor

ALICE = ("alice", "alice-demo")
CALLER = ("15550100077", "HOLD TEST")
# Every text the held indicator shows, with markers the test adds between the holds.
RECORD_HELD = """
() => {
  const flag = document.querySelector('[data-testid="held-indicator"]');
  window.__held = [];
  const note = () => { if (!flag.hidden) window.__held.push(flag.textContent); };
  new MutationObserver(note).observe(flag,
    { subtree: true, childList: true, characterData: true, attributes: true });
}
"""


def agent_leg(esl, user: str) -> str:  # type: ignore[no-untyped-def]
    """The uuid of ``user``'s phone leg in the switch (the leg the product holds)."""
    for row in calls(esl):
        for side in ("", "b_"):
            if f"sofia/internal/{user}@" in str(row.get(f"{side}name", "")):
                return str(row[f"{side}uuid"])
    raise AssertionError(f"no call leg for {user}")


@pytest.mark.timeout(180)
def test_page_claims_hold_music_only_when_the_switch_plays_it(cc_server, agent_browser) -> None:  # type: ignore[no-untyped-def]
    esl = cc_server.esl
    quiet_floor(esl)
    context = agent_browser.new_context(viewport={"width": 1280, "height": 800})
    errors: list[str] = []
    try:
        alice = sign_in(context, cc_server.base_url, *ALICE)
        alice.on("pageerror", lambda exc: errors.append(str(exc)))
        alice.get_by_test_id("ready").click()
        expect(alice.get_by_test_id("agent-status")).to_have_text("Available")
        originate_caller(esl, *CALLER)
        expect(alice.get_by_test_id("ringing-popup")).to_be_visible()
        alice.get_by_test_id("answer").click()
        expect(alice.get_by_test_id("call-state")).to_have_text("Talking")
        alice.evaluate(RECORD_HELD)
        held = alice.get_by_test_id("held-indicator")
        panel = alice.get_by_test_id("call-panel")

        # Hold music that cannot open: silence, and the page claims none.
        leg = agent_leg(esl, "1000")
        esl.ok(f"uuid_setvar {leg} hold_music /nonexistent/no-such-hold-music.wav")
        alice.get_by_test_id("hold").click()
        expect(panel).to_have_attribute("data-held", "true")
        expect(held).to_have_text("On hold")
        expect(held).to_have_attribute("data-music", "false")
        alice.get_by_test_id("unhold").click()
        expect(alice.get_by_test_id("call-state")).to_have_text("Talking")
        alice.evaluate("window.__held.push('-- second hold --')")

        # The shipped music: FreeSWITCH reports it playing to the caller.
        esl.ok(f"uuid_setvar {leg} hold_music local_stream://moh")
        alice.get_by_test_id("hold").click()
        expect(held).to_have_text("On hold — the caller hears music")
        expect(held).to_have_attribute("data-music", "true")
        alice.get_by_test_id("unhold").click()
        expect(held).to_be_hidden()

        texts = alice.evaluate("window.__held")
        first = texts[: texts.index("-- second hold --")]
        assert first and all(text == "On hold" for text in first), texts
        alice.get_by_test_id("drop").click()
        wait_until(lambda: not calls(esl), what="the call to end")
        assert errors == []
    finally:
        context.close()
