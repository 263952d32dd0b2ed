"""``callcenter.conf`` served to mod_xml_curl's configuration binding from the database:
what FreeSWITCH gets when mod_callcenter opens its configuration (at load, and at every
``queue load``), parsed the way the simulator's mod_callcenter (and FreeSWITCH) reads it."""

from __future__ import annotations

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
