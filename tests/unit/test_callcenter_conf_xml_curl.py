"""``callcenter.conf`` served to mod_xml_curl's configuration binding from the database:
what FreeSWITCH gets when mod_callcenter opens its configuration (at load, and at every
``queue load``), parsed the way the simulator's mod_callcenter (and FreeSWITCH) reads it."""

from __future__ import annotations

import logging
import pathlib
from collections.abc import Iterator
from xml.etree import ElementTree as ET

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session, sessionmaker

from dashboard.directory import CONFIGURATION_PATH
from esl_controller.services.provisioning import ProvisioningStore
from esl_controller.simulator.mod_callcenter import config as callcenter_config
from tests.unit.test_directory_xml_curl import DOMAIN, add_user, app_for, auth, make_sessions


@pytest.fixture
def served(tmp_path: pathlib.Path) -> Iterator[tuple[FlaskClient, sessionmaker[Session]]]:
    sessions = make_sessions(tmp_path / "cc.db")
    add_user(sessions, "jane", "1010", sip_ha1="0" * 32)
    store = ProvisioningStore(sessions, DOMAIN)
    store.add_queue("vip@default", strategy="top-down", max_wait_time="90",
                    tier_rules_apply="true", moh_sound="local_stream://moh",
                    service_level_seconds="15")  # fmt: skip
    store.add_agent("1010@default", username="jane", wrap_up_time="25")
    store.add_agent("desk@default", contact="[leg_timeout=10]user/1099@callcenter.local")
    store.set_tier("vip@default", "1010@default", 2, 3)
    yield app_for(sessions), sessions


def form(name: str = "callcenter.conf") -> dict[str, str]:
    """What mod_xml_curl posts for a configuration file (switch_xml_open_cfg)."""
    return {"hostname": "fs1", "section": "configuration", "tag_name": "configuration",
            "key_name": "name", "key_value": name}  # fmt: skip


def test_callcenter_conf_holds_the_products_queues_agents_and_tiers(served) -> None:  # type: ignore[no-untyped-def]
    client, _ = served
    response = client.post(CONFIGURATION_PATH, data=form(), headers=auth())
    assert response.status_code == 200
    root = ET.fromstring(response.get_data(as_text=True))
    assert root.tag == "document" and root.get("type") == "freeswitch/xml"
    conf = root.find("section[@name='configuration']/configuration[@name='callcenter.conf']")
    assert conf is not None
    parsed = callcenter_config.parse(conf)
    vip = parsed.queues["vip@default"]
    assert (vip.text("strategy"), vip.number("max-wait-time"), vip.flag("tier-rules-apply")) == (
        "top-down", 90, True)  # fmt: skip
    assert vip.text("moh-sound") == "local_stream://moh"
    agents = {a.name: a for a in parsed.agents}
    assert agents["1010@default"].contact == f"user/1010@{DOMAIN}"
    assert agents["1010@default"].wrap_up_time == 25
    assert agents["desk@default"].contact == "[leg_timeout=10]user/1099@callcenter.local"
    # No status: a queue load re-applies every <agent>, and would log signed-in ones out.
    assert all(a.status == "" for a in parsed.agents)
    assert [(t.queue, t.agent, t.level, t.position) for t in parsed.tiers] == [
        ("vip@default", "1010@default", 2, 3)
    ]
    assert parsed.settings["truncate-agents-on-load"] == "true"


def test_no_queue_in_the_database_leaves_the_switch_its_own_file(tmp_path: pathlib.Path) -> None:
    """On a real FreeSWITCH an empty callcenter.conf from a new database removed every
    queue and every agent the site had in callcenter.conf.xml at the next restart."""
    sessions = make_sessions(tmp_path / "empty.db")
    add_user(sessions, "jane", "1010", sip_ha1="0" * 32)
    ProvisioningStore(sessions, DOMAIN).add_agent("1010@default", username="jane")
    response = app_for(sessions).post(CONFIGURATION_PATH, data=form(), headers=auth())
    assert response.status_code == 200
    assert 'status="not found"' in response.get_data(as_text=True)


@pytest.mark.parametrize("name", ["sofia.conf", "callcenter.conf.xml", "", "acl.conf"])
def test_other_configuration_is_not_found(served, name: str) -> None:  # type: ignore[no-untyped-def]
    client, _ = served
    body = client.post(CONFIGURATION_PATH, data=form(name), headers=auth()).get_data(as_text=True)
    assert 'status="not found"' in body


def test_directory_lookups_are_not_answered_here(served) -> None:  # type: ignore[no-untyped-def]
    client, _ = served
    data = dict(form(), section="directory")
    body = client.post(CONFIGURATION_PATH, data=data, headers=auth()).get_data(as_text=True)
    assert 'status="not found"' in body


def test_credentials_are_required(served) -> None:  # type: ignore[no-untyped-def]
    client, _ = served
    assert client.post(CONFIGURATION_PATH, data=form()).status_code == 401
    wrong = client.post(CONFIGURATION_PATH, data=form(), headers=auth(password="nope"))
    assert wrong.status_code == 401


def test_every_line_survives_the_pre_processor(served) -> None:  # type: ignore[no-untyped-def]
    """FreeSWITCH drops lines holding ``<?`` and lines mentioning X-PRE-PROCESS before any
    ``<``: every element is on its own line starting with ``<``."""
    client, _ = served
    body = client.post(CONFIGURATION_PATH, data=form(), headers=auth()).get_data(as_text=True)
    for line in body.splitlines():
        assert line.strip().startswith("<") and "<?" not in line


# -- several FreeSWITCH nodes (ESL_NODES): each switch its own node's share ---------------


def two_nodes(tmp_path: pathlib.Path) -> sessionmaker[Session]:
    sessions = make_sessions(tmp_path / "nodes.db")
    store = ProvisioningStore(sessions, DOMAIN)
    store.add_queue("first@default")  # no node: the first node's
    store.add_queue("second@default", node="fs2")
    store.add_agent("a1@default", contact="user/1001@callcenter.local")
    store.add_agent("a2@default", contact="user/1002@callcenter.local", node="fs2")
    store.set_tier("first@default", "a1@default")
    store.set_tier("second@default", "a2@default")
    return sessions


def served_conf(client: FlaskClient, query: str) -> tuple[set[str], set[str], set[str]] | None:
    """Queues, agents and tiers (queue/agent) served for ``?query``; None: not found."""
    response = client.post(f"{CONFIGURATION_PATH}{query}", data=form(), headers=auth())
    assert response.status_code == 200
    root = ET.fromstring(response.get_data(as_text=True))
    conf = root.find("section[@name='configuration']/configuration[@name='callcenter.conf']")
    if conf is None:
        assert root.find("section[@name='result']/result").get("status") == "not found"  # type: ignore[union-attr]
        return None
    parsed = callcenter_config.parse(conf)
    return (set(parsed.queues), {a.name for a in parsed.agents},
            {f"{t.queue}/{t.agent}" for t in parsed.tiers})  # fmt: skip


def test_each_node_is_served_its_own_queues_agents_and_tiers(tmp_path: pathlib.Path) -> None:
    client = app_for(two_nodes(tmp_path), nodes=("fs1", "fs2"))
    assert served_conf(client, "?node=fs1") == (
        {"first@default"}, {"a1@default"}, {"first@default/a1@default"})  # fmt: skip
    assert served_conf(client, "?node=fs2") == (
        {"second@default"}, {"a2@default"}, {"second@default/a2@default"})  # fmt: skip


@pytest.mark.parametrize("query", ["?node=fs9", "?node=fs%202", "?node=fs1%0Aapi%20x",
                                   "?node=" + "f" * 40])  # fmt: skip
def test_a_node_esl_nodes_does_not_list_is_not_found_and_logged(
    tmp_path: pathlib.Path, caplog: pytest.LogCaptureFixture, query: str
) -> None:
    client = app_for(two_nodes(tmp_path), nodes=("fs1", "fs2"))
    with caplog.at_level(logging.WARNING, logger="callcenter.directory"):
        assert served_conf(client, query) is None
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("which ESL_NODES does not list (fs1, fs2)" in m and "callcenter_node" in m
               for m in warned), warned  # fmt: skip
    assert not any("\n" in m for m in warned)


def test_no_node_said_with_several_nodes_gets_the_first_nodes_share_and_a_warning(
    tmp_path: pathlib.Path, caplog: pytest.LogCaptureFixture
) -> None:
    client = app_for(two_nodes(tmp_path), nodes=("fs1", "fs2"))
    with caplog.at_level(logging.WARNING, logger="callcenter.directory"):
        for query in ("", "?node="):
            assert served_conf(client, query) == (
                {"first@default"}, {"a1@default"}, {"first@default/a1@default"})  # fmt: skip
    assert any("did not say which node it is" in r.getMessage() for r in caplog.records)


def test_one_node_serves_everything_and_refuses_a_node_name(tmp_path: pathlib.Path) -> None:
    """Without ESL_NODES (one switch) the shipped ?node= (empty) gets everything, as
    before; a switch naming a node nobody configured gets not found."""
    client = app_for(two_nodes(tmp_path))
    queues, agents, _ = served_conf(client, "?node=") or (set(), set(), set())
    assert queues == {"first@default", "second@default"}
    assert agents == {"a1@default", "a2@default"}
    assert served_conf(client, "?node=fs1") is None


def test_a_node_with_no_queue_of_its_own_keeps_its_file(tmp_path: pathlib.Path) -> None:
    client = app_for(two_nodes(tmp_path), nodes=("fs1", "fs2", "fs3"))
    assert served_conf(client, "?node=fs3") is None
