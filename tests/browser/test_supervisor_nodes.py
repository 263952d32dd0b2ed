"""Several FreeSWITCH nodes on the pages (issue 14): one ``callcenter serve`` with
``ESL_NODES`` naming two simulators (``callcenter simulate``, each its own process so one
can be taken away). The supervisor sees both nodes' agents, queues and calls with their
node named and can filter by node; the wallboard's tiles and the reports' rows name theirs.
Node 2 going down marks its agents and queue Unreachable while node 1's go on: a node-1
agent's page shows no banner and goes Ready, a node-2 agent's page names its node in the
banner until the node is back (no reload).
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.agent_page import (
    no_horizontal_scroll,
    originate_caller,
    sign_in,
    sign_in_supervisor,
    wait_until,
)
from tests.browser.server import CallCenterServer, StandaloneSimulator, callcenter_command

RECOVERY_MS = 30_000


def cli(server: CallCenterServer, *args: str) -> None:
    """A ``callcenter`` command on the server's database before it starts (ESL_PORT=1: no
    FreeSWITCH answers there, so the running controller applies it at its first pass)."""
    env = {**server.env(), "ESL_HOST": "127.0.0.1", "ESL_PORT": "1"}
    done = subprocess.run([*callcenter_command(), *args], cwd=server.workdir, env=env,
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr


def report_rows(page: Page, base_url: str) -> set[tuple[str, str | None]]:
    """Today's queue report rows as (queue, node)."""
    reply = page.request.get(f"{base_url}/call-center/api/reports/queues")
    return {(q["queue"], q["node"]) for q in reply.json()["queues"]}


@pytest.mark.timeout(300)
def test_two_nodes_named_on_the_pages_and_one_node_down(agent_browser, tmp_path: Path,
                                                        output_dir: Path) -> None:  # type: ignore[no-untyped-def]  # fmt: skip
    fs1, fs2 = StandaloneSimulator(tmp_path), StandaloneSimulator(tmp_path)
    fs1.start()
    fs2.start()
    nodes = f"fs1=127.0.0.1:{fs1.port},fs2=127.0.0.1:{fs2.port}"
    server = CallCenterServer(tmp_path, esl_port=fs1.port, extra_env={"ESL_NODES": nodes})
    server.add_user("sue", "supervisor", "sue-demo-1", extension="1003")
    server.add_user("alice", "agent", "alice-demo", extension="1000")
    server.add_user("bob", "agent", "bob-demo", extension="1001")
    # Bob's agent and the sales queue live on the second node; the rest on the first.
    cli(server, "agent", "set", "1001@default", "--node", "fs2")
    cli(server, "queue", "add", "sales@default", "--param", "node=fs2")
    server.start()
    contexts = [agent_browser.new_context(viewport={"width": 1280, "height": 800})
                for _ in range(3)]  # fmt: skip
    try:
        sup = sign_in_supervisor(contexts[0], server.base_url)
        alice = sign_in(contexts[1], server.base_url, "alice", "alice-demo")
        bob = sign_in(contexts[2], server.base_url, "bob", "bob-demo")
        for page in (alice, bob):
            expect(page.locator("#banner")).to_be_hidden()
        # Bob goes Ready: his command reaches his own node.
        bob.get_by_test_id("ready").click()
        expect(bob.get_by_test_id("agent-status")).to_have_text("Available")
        assert fs2.esl.api("callcenter_config agent get status 1001@default").strip() == (
            "Available"
        )

        # The floor: both nodes' agents and queues, each with its node.
        agents = sup.get_by_test_id("agents")
        expect(agents.locator("thead th", has_text="Node")).to_be_visible()
        alice_row = agents.locator('tr[data-agent="1000@default"]')
        bob_row = agents.locator('tr[data-agent="1001@default"]')
        expect(alice_row.get_by_test_id("agent-node")).to_have_text("fs1")
        expect(bob_row.get_by_test_id("agent-node")).to_have_text("fs2")
        expect(bob_row).to_contain_text("Available")
        queues = sup.get_by_test_id("queues")
        expect(queues.locator('[data-queue="support@default"]').get_by_test_id("queue-node")
               ).to_have_text("node fs1")  # fmt: skip
        expect(queues.locator('[data-queue="sales@default"]').get_by_test_id("queue-node")
               ).to_have_text("node fs2")  # fmt: skip

        # The node filter, next to the queue and status filters.
        sup.get_by_test_id("node-filter").select_option("fs2")
        expect(bob_row).to_be_visible()
        expect(alice_row).to_be_hidden()
        sup.get_by_test_id("node-filter").select_option("")
        expect(alice_row).to_be_visible()

        # A caller on each node: both in calls in progress, each with its node.
        first = originate_caller(fs1.esl, "5551110001", "First Node")
        second = originate_caller(fs2.esl, "5552220002", "Second Node")
        calls = sup.get_by_test_id("calls")
        expect(calls.locator("thead th", has_text="Node")).to_be_visible()
        expect(calls.locator("tr", has_text="5551110001").get_by_test_id("call-node")
               ).to_have_text("fs1")  # fmt: skip
        expect(calls.locator("tr", has_text="5552220002").get_by_test_id("call-node")
               ).to_have_text("fs2")  # fmt: skip
        sup.screenshot(path=str(output_dir / "supervisor-two-nodes-1280x800.png"), full_page=True)
        fs1.esl.ok(f"uuid_kill {first}")
        fs2.esl.ok(f"uuid_kill {second}")
        expect(calls.locator("tr", has_text="5551110001")).to_have_count(0)

        # The wallboard names each queue's node; the reports name each row's node.
        board = contexts[0].new_page()
        board.goto(f"{server.base_url}/wallboard")
        tile_node = board.locator('[data-queue="sales@default"] [data-testid="wb-node"]')
        expect(tile_node).to_have_text(" · fs2")
        expect(board.locator('[data-queue="support@default"] [data-testid="wb-node"]')
               ).to_have_text(" · fs1")  # fmt: skip
        wanted = {("support@default", "fs1"), ("support@default", "fs2")}
        wait_until(lambda: wanted <= report_rows(sup, server.base_url), 15, "both calls recorded")
        reports = contexts[0].new_page()
        reports.goto(f"{server.base_url}/reports")
        expect(reports.locator("body")).to_have_attribute("data-loaded", "true")
        table = reports.get_by_test_id("report-queues")
        expect(table.locator('thead th[data-col="node"]')).to_be_visible()
        for node in ("fs1", "fs2"):
            row = table.locator(f'tr[data-queue="support@default"][data-node="{node}"]')
            expect(row.locator('td[data-col="node"]')).to_have_text(node)
        reports.close()

        # Node 2 crashes: its agent and queue are unreachable, node 1's are not.
        fs2.kill()
        expect(bob_row.get_by_test_id("unreachable")).to_be_visible(timeout=RECOVERY_MS)
        expect(bob_row).to_have_class(re.compile(r"\bunreachable\b"))  # dimmed
        expect(bob_row.get_by_test_id("last-status")).to_have_text("last: Available")
        expect(bob_row.get_by_test_id("agent-node")).to_have_text("fs2")
        sales = queues.locator('[data-queue="sales@default"]')
        expect(sales.get_by_test_id("unreachable")).to_be_visible()
        expect(alice_row.get_by_test_id("unreachable")).to_have_count(0)
        expect(alice_row).to_contain_text("On Break")  # signed in, not Ready yet
        expect(queues.locator('[data-queue="support@default"]').get_by_test_id("unreachable")
               ).to_have_count(0)  # fmt: skip
        expect(sup.locator("#banner")).to_be_hidden()
        expect(tile_node).to_have_text(" · fs2 (unreachable)")
        # Bob's actions are refused in the dialog, with the reason; a message still goes.
        bob_row.get_by_test_id("manage").click()
        dialog = sup.get_by_test_id("agent-dialog")
        expect(dialog.get_by_test_id("dialog-unreachable")).to_contain_text(
            "FreeSWITCH node fs2 is unreachable"
        )
        for button in ("force-ready", "force-not-ready", "force-logout", "force-state"):
            expect(dialog.get_by_test_id(button)).to_be_disabled()
        expect(dialog.get_by_test_id("message-send")).to_be_enabled()
        sup.screenshot(path=str(output_dir / "supervisor-node-down-1280x800.png"), full_page=True)
        dialog.get_by_test_id("dialog-close").click()
        # On a phone the node is a labelled cell of each agent's card; nothing scrolls sideways.
        sup.set_viewport_size({"width": 390, "height": 844})
        sup.wait_for_function("document.documentElement.clientWidth === 390")
        expect(bob_row.get_by_test_id("agent-node")).to_be_visible()
        width, _ = no_horizontal_scroll(sup)
        assert width <= 390, f"the console scrolls sideways at 390 px ({width} px wide)"
        sup.set_viewport_size({"width": 1280, "height": 800})
        board.screenshot(path=str(output_dir / "wallboard-node-down-1280x800.png"))

        # Bob's page names his node and refuses his call actions; Alice's page goes on.
        banner = bob.locator("#banner")
        expect(banner).to_be_visible()
        expect(banner).to_have_attribute("data-kind", "freeswitch")
        expect(banner).to_contain_text("Your FreeSWITCH node (fs2) is unreachable")
        expect(bob.get_by_test_id("not-ready")).to_be_disabled()
        bob.screenshot(path=str(output_dir / "agent-node-down-1280x800.png"))
        expect(alice.locator("#banner")).to_be_hidden()
        alice.get_by_test_id("ready").click()
        expect(alice.get_by_test_id("agent-status")).to_have_text("Available")
        expect(alice_row).to_contain_text("Available")
        expect(alice.locator("#banner")).to_be_hidden()

        # Node 2 is back on its port: Bob's banner goes and his row is reachable, no reload.
        bob.evaluate("window.__sameDocument = true")
        fs2 = StandaloneSimulator(tmp_path, port=fs2.port)
        fs2.start()
        expect(banner).to_be_hidden(timeout=RECOVERY_MS)
        expect(bob_row.get_by_test_id("unreachable")).to_have_count(0, timeout=RECOVERY_MS)
        assert bob.evaluate("window.__sameDocument") is True
    finally:
        for context in contexts:
            context.close()
        server.stop()
        fs1.stop()
        fs2.stop()
        print(f"--- server output (tail) ---\n{server.output()[-4000:]}")
