"""Agents, queues and tiers owned by the product, against the simulator over TCP with the
dashboard's real wiring: what the command line and the database say is what mod_callcenter
ends up with, after a change, after drift by hand and after a FreeSWITCH restart."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator

import gevent
import pytest

from dashboard.directory import render_callcenter_conf
from esl_controller.esl import replies
from esl_controller.esl.commands import callcenter as cc
from esl_controller.services.provisioning import Provisioner, ProvisioningStore
from tests.helpers.fixture_replay import CONF
from tests.web.conftest import Web, build_web, stop_web
from tests.wire.conftest import wait_until

CAROL = "1005@default"


@pytest.fixture
def conf_copy(tmp_path):  # type: ignore[no-untyped-def]
    """A conf dir of our own: the queue test writes callcenter.conf.xml into it, and its
    dialplan sends 5009 to the queue vip@default (which only the product knows)."""
    target = tmp_path / "conf"
    shutil.copytree(CONF, target)
    dialplan = target / "dialplan" / "default.xml"
    vip = """    <extension name="callcenter_vip">
      <condition field="destination_number" expression="^5009$">
        <action application="answer"/>
        <action application="callcenter" data="vip@default"/>
      </condition>
    </extension>
"""
    text = dialplan.read_text()
    anchor = '    <extension name="callcenter_support">'
    dialplan.write_text(text.replace(anchor, vip + anchor, 1))
    return target


@pytest.fixture
def web(tmp_path, conf_copy, monkeypatch) -> Iterator[Web]:  # type: ignore[no-untyped-def]
    monkeypatch.setattr("tests.web.conftest.CONF", conf_copy)
    built = build_web(f"sqlite:///{tmp_path / 'cc.db'}")
    provisioner(built).sync("test")  # what serve's first pass does once users exist
    yield built
    stop_web(built)


def provisioner(web: Web) -> Provisioner:
    found = web.deps.extra["provisioner"]
    assert isinstance(found, Provisioner)
    return found


def cli(web: Web, *args: str) -> subprocess.CompletedProcess:  # type: ignore[type-arg]
    env = dict(os.environ, ESL_HOST="127.0.0.1", ESL_PORT=str(web.sim.port),
               DB_URI=str(web.deps.sessions.kw["bind"].url), SIP_DOMAIN="127.0.0.1",
               CALLCENTER_PASSWORD="carol-password")  # fmt: skip
    # The simulator runs in this process's hub: wait for the CLI in a thread.
    return gevent.get_hub().threadpool.spawn(
        subprocess.run, [sys.executable, "-m", "esl_controller.cli", *args], env=env,
        capture_output=True, text=True, timeout=60,
    ).get()  # fmt: skip


def switch_tiers(web: Web) -> dict[tuple[str, str], tuple[str, str]]:
    rows = replies.json_api(web.client.api(cc.json_query("tier list")))
    return {(r["queue"], r["agent"]): (r["level"], r["position"]) for r in rows}


def switch_agent(web: Web, name: str) -> dict[str, str] | None:
    rows = replies.json_api(web.client.api(cc.json_query("agent list")))
    return next((r for r in rows if r["name"] == name), None)


def sign_in(web: Web, name: str, password: str):  # type: ignore[no-untyped-def]
    http = web.app.test_client()
    reply = http.post("/call-center/api/agent/login",
                      json={"username": name, "password": password})  # fmt: skip
    assert reply.status_code == 200, reply.get_json()
    return http, reply.get_json()["csrf_token"]


def test_a_user_added_with_a_queue_signs_in_and_takes_a_call_at_once(web: Web) -> None:
    done = cli(web, "user", "add", "carol", "--role", "agent", "--extension", "1005",
               "--queue", "support@default:1:9")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert (
        "agent 1005@default" in done.stdout and "FreeSWITCH: agent add 1005@default" in done.stdout
    )
    agent = switch_agent(web, CAROL)
    assert agent is not None and agent["contact"] == "user/1005@127.0.0.1"
    assert switch_tiers(web)[("support@default", CAROL)] == ("1", "9")

    http, token = sign_in(web, "carol", "carol-password")
    web.sim.execute_api("sim_phone 1005 register")
    web.sim.execute_api("sim_phone 1005 noanswer")
    assert web.post(http, token, "agent/ready").status_code == 200
    web.sim.execute_api("sim_caller 5000 5551239999 Grace")

    def ringing() -> dict | None:  # type: ignore[type-arg]
        reply = web.post(http, token, "call/ringing")
        return reply.get_json() if reply.status_code == 200 else None

    assert wait_until(lambda: ringing() is not None, 15)
    reply = web.post(http, token, "call/answer")
    assert reply.status_code == 200, reply.get_json()
    assert reply.get_json()["call"]["agent"] == CAROL


def test_after_a_restart_agents_and_tiers_are_back_as_the_product_has_them(web: Web) -> None:
    assert cli(web, "user", "add", "carol", "--role", "agent", "--extension", "1005",
               "--queue", "support@default").returncode == 0  # fmt: skip
    # Moved and removed through the product: the tier level by the command line, alice's
    # XML tier in support by a supervisor.
    assert cli(web, "tier", "set", "support@default", CAROL, "--level", "3",
               "--position", "4").returncode == 0  # fmt: skip
    sue = web.login("sue")
    reply = web.post(*sue, "supervisor/tier/remove", {"queue": "support@default",
                                                      "agent": "agent1000"})  # fmt: skip
    assert reply.status_code == 200, reply.get_json()
    http, _ = sign_in(web, "carol", "carol-password")  # On Break "Login"
    before = web.floor.resyncs

    web.sim.restart(0.2)  # mod_callcenter reloads the XML: carol gone, alice's tier back
    assert wait_until(lambda: web.floor.resyncs > before, 15)
    assert wait_until(lambda: (switch_agent(web, CAROL) or {}).get("status") == "On Break", 15)
    tiers = switch_tiers(web)
    assert tiers[("support@default", CAROL)] == ("3", "4")
    assert ("support@default", "agent1000") not in tiers
    assert ("support@default", "agent1001") in tiers  # nobody removed bob's

    def shown() -> tuple[str, str | None]:
        agent = http.get("/call-center/api/agent/status").get_json()["agent"]
        return (agent["status"], agent["pause_reason"])

    assert wait_until(lambda: shown() == ("On Break", "Login"), 15), shown()


def test_drift_on_the_switch_is_repaired_or_adopted(web: Web) -> None:
    assert cli(web, "user", "add", "carol", "--role", "agent", "--extension", "1005",
               "--queue", "support@default:2:2").returncode == 0  # fmt: skip
    web.sim.execute_api(f"callcenter_config agent set max_no_answer {CAROL} 9")
    web.sim.execute_api(f"callcenter_config tier set level support@default {CAROL} 7")
    web.sim.execute_api(f"callcenter_config tier add sales@default {CAROL} 1 1")
    report = provisioner(web).sync("test")
    assert len(report.drift) == 3, report
    assert switch_agent(web, CAROL)["max_no_answer"] == "3"  # type: ignore[index]
    tiers = switch_tiers(web)
    assert tiers[("support@default", CAROL)] == ("2", "2")
    assert ("sales@default", CAROL) not in tiers

    adopting = Provisioner(web.client.api, ProvisioningStore(web.deps.sessions, "127.0.0.1"),
                           drift="adopt", interval=0)  # fmt: skip
    web.sim.execute_api(f"callcenter_config agent set wrap_up_time {CAROL} 45")
    web.sim.execute_api(f"callcenter_config tier add sales@default {CAROL} 2 5")
    report = adopting.sync("test")
    assert len(report.drift) == 2, report
    wanted = ProvisioningStore(web.deps.sessions).wanted()
    assert dict(wanted.agents[CAROL].numbers)["wrap_up_time"] == 45
    assert wanted.tiers[("sales@default", CAROL)] == (2, 5)
    assert switch_agent(web, CAROL)["wrap_up_time"] == "45"  # type: ignore[index]
    assert not provisioner(web).sync("test")  # in line: nothing to do


def test_a_queue_created_in_the_product_is_loaded_and_takes_calls(web: Web, conf_copy) -> None:  # type: ignore[no-untyped-def]
    done = cli(web, "queue", "add", "vip@default", "--strategy", "ring-all",
               "--param", "max-wait-time=300", "--param", "service-level-seconds=10")  # fmt: skip
    assert done.returncode == 0, done.stderr
    # Without mod_xml_curl (the simulator reads files), FreeSWITCH cannot load it yet.
    assert "queue load vip@default failed" in done.stderr
    # What the configuration binding serves, written where the switch reads its XML: the
    # static fallback for sites without mod_xml_curl.
    served = render_callcenter_conf(ProvisioningStore(web.deps.sessions, "127.0.0.1").wanted())
    body = served.split('<section name="configuration">')[1].split("</section>")[0]
    (conf_copy / "autoload_configs" / "callcenter.conf.xml").write_text(body)
    assert web.sim.execute_api("reloadxml").startswith("+OK")
    assert cli(web, "user", "add", "carol", "--role", "agent", "--extension", "1005",
               "--queue", "vip@default").returncode == 0  # fmt: skip
    rows = replies.json_api(web.client.api(cc.json_query("queue list")))
    vip = next(r for r in rows if r["name"] == "vip@default")
    assert vip["strategy"] == "ring-all" and vip["max_wait_time"] == "300"

    http, token = sign_in(web, "carol", "carol-password")
    web.sim.execute_api("sim_phone 1005 register")
    web.sim.execute_api("sim_phone 1005 noanswer")
    assert web.post(http, token, "agent/ready").status_code == 200
    web.sim.execute_api("sim_caller 5009 5551230001 Ada")
    assert wait_until(lambda: web.post(http, token, "call/ringing").status_code == 200, 15)


def test_the_queues_of_agents_taken_from_the_xml_are_taken_too(web: Web) -> None:
    """alice and bob are linked to agents callcenter.conf.xml defines, with tiers in
    support@default: the database takes that queue too, with the switch's settings, so
    the callcenter.conf it serves to mod_xml_curl still has it (on a real 1.10.12 it was
    dropped at the next restart, and every pass logged 'Queue not found!')."""
    provisioner(web).sync("test")
    wanted = ProvisioningStore(web.deps.sessions, "127.0.0.1").wanted()
    assert "support@default" in wanted.queues
    switch = {r["name"]: r for r in replies.json_api(web.client.api(cc.json_query("queue list")))}
    params = dict(wanted.queues["support@default"].params)
    assert params["strategy"] == switch["support@default"]["strategy"]
    served = render_callcenter_conf(wanted)
    assert '<queue name="support@default">' in served
    assert not provisioner(web).sync("test")  # in line afterwards
