"""mod_xml_curl's endpoints in the whole app (the app factory and wiring `callcenter
serve` uses): the directory hands out a user's HA1 only to the configured credentials."""

from __future__ import annotations

import base64
import hashlib
import pathlib
from collections.abc import Iterator

import pytest

from dashboard.directory import CONFIGURATION_PATH, MAX_FAILURES, PATH
from tests.web.conftest import Web, build_web, stop_web

XML_USER, XML_PASSWORD = "freeswitch", "a-long-random-directory-password"
# alice's SIP password and realm in tests/web/conftest.py.
ALICE_HA1 = hashlib.md5(b"1000:127.0.0.1:alice-sip-secret").hexdigest()  # noqa: S324


def lookup(user: str = "1000") -> dict[str, str]:
    return {"section": "directory", "tag_name": "domain", "key_name": "name",
            "key_value": "127.0.0.1", "action": "sip_auth", "key": "id", "user": user,
            "domain": "127.0.0.1"}  # fmt: skip


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


@pytest.fixture
def guarded(tmp_path: pathlib.Path) -> Iterator[Web]:
    """Credentials set, behind one reverse proxy (BEHIND_PROXIES=1)."""
    built = build_web(f"sqlite:///{tmp_path / 'cc.db'}", xml_curl_username=XML_USER,
                      xml_curl_password=XML_PASSWORD, proxies=1)  # fmt: skip
    yield built
    stop_web(built)


def test_without_credentials_the_directory_is_refused(web: Web) -> None:
    http = web.app.test_client()
    for headers in ({}, basic(XML_USER, XML_PASSWORD)):
        for path in (PATH, CONFIGURATION_PATH):
            reply = http.post(path, data=lookup(), headers=headers)
            assert reply.status_code == 503
            body = reply.get_data(as_text=True)
            assert "a1-hash" not in body and ALICE_HA1 not in body


def test_right_credentials_get_the_users_ha1(guarded: Web) -> None:
    reply = guarded.app.test_client().post(
        PATH, data=lookup(), headers=basic(XML_USER, XML_PASSWORD)
    )
    assert reply.status_code == 200
    assert f'name="a1-hash" value="{ALICE_HA1}"' in reply.get_data(as_text=True)


def test_clients_behind_the_proxy_are_limited_one_by_one(guarded: Web) -> None:
    """With BEHIND_PROXIES the limit counts the client the proxy names, so one guessing
    client does not lock the others out."""
    http = guarded.app.test_client()
    guesser = {"X-Forwarded-For": "203.0.113.5"}
    for n in range(MAX_FAILURES):
        wrong = {**guesser, **basic(XML_USER, f"guess{n}")}
        reply = http.post(PATH, data=lookup(), headers=wrong)
        assert reply.status_code == 401
        assert ALICE_HA1 not in reply.get_data(as_text=True)
    right = basic(XML_USER, XML_PASSWORD)
    assert http.post(PATH, data=lookup(), headers={**guesser, **right}).status_code == 429
    other = http.post(PATH, data=lookup(), headers={"X-Forwarded-For": "198.51.100.1", **right})
    assert other.status_code == 200
    assert ALICE_HA1 in other.get_data(as_text=True)
