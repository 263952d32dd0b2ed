"""The dashboard's mod_xml_curl directory: what FreeSWITCH gets for a lookup, and what
anyone else gets (no HA1 without the configured credentials; refusals rate-limited per
client address and logged without secrets).

A tiny Flask app with only the blueprint, on a SQLite database, posted the form fields
mod_xml_curl sends (the ones xml_curl.conf.xml enables). The answer is parsed the way
FreeSWITCH finds a user in it (section directory, domain by name, user by id).
"""

from __future__ import annotations

import base64
import hashlib
import logging
import pathlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from xml.etree import ElementTree as ET

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session, sessionmaker

from dashboard.auth import LoginLimiter
from dashboard.directory import (
    CONFIGURATION_PATH,
    DIAL_STRING,
    MAX_FAILURES,
    NOT_FOUND,
    PATH,
    AccessLog,
    caller_id_text,
    directory_blueprint,
)
from esl_controller.store.engine import make_engine
from esl_controller.store.models import Agent, Base, User

DOMAIN = "callcenter.local"
XML_USER, XML_PASSWORD = "freeswitch", "s3cret-directory-pw"
NASTY_NAME = "Jane <&\"> O'Doe"
# Expansion, pre-processor and control characters in a display name.
TRICKY_NAME = 'Evil\n${system(rm -rf /)}$${domain} <X-PRE-PROCESS cmd="exec" data="id"/>\x00\u200b'
CONF = pathlib.Path(__file__).resolve().parents[2] / "freeswitch_conf"


def ha1(extension: str, password: str) -> str:
    return hashlib.md5(f"{extension}:{DOMAIN}:{password}".encode()).hexdigest()  # noqa: S324


JANE_HA1 = ha1("1010", "jane-sip-pw")


@dataclass
class Directory:
    client: FlaskClient
    sessions: sessionmaker[Session]


def make_sessions(path: pathlib.Path) -> sessionmaker[Session]:
    engine = make_engine(f"sqlite:///{path}")
    Base.metadata.create_all(engine)
    return sessionmaker(engine, expire_on_commit=False)


def add_user(
    sessions: sessionmaker[Session],
    username: str,
    extension: str,
    *,
    role: str = "agent",
    display_name: str = "",
    sip_ha1: str | None = None,
    active: bool = True,
    agent: str | None = None,
) -> None:
    with sessions() as session:
        user = User(
            username=username, password_hash="scrypt:not-checked-here", role=role,
            display_name=display_name, extension=extension, sip_ha1=sip_ha1, active=active,
            created_at=datetime.now(UTC),
        )  # fmt: skip
        session.add(user)
        session.flush()
        if agent is not None:
            session.add(Agent(name=agent, user_id=user.id, contact=f"user/{extension}@{DOMAIN}"))
        session.commit()


def app_for(sessions: sessionmaker[Session], **kwargs: object) -> FlaskClient:
    options: dict[str, object] = {"domain": DOMAIN, "username": XML_USER,
                                  "password": XML_PASSWORD, **kwargs}  # fmt: skip
    app = Flask(__name__)
    app.register_blueprint(directory_blueprint(sessions, **options))  # type: ignore[arg-type]
    return app.test_client()


@pytest.fixture
def directory(tmp_path: pathlib.Path) -> Iterator[Directory]:
    sessions = make_sessions(tmp_path / "callcenter.db")
    add_user(sessions, "jane", "1010", display_name=NASTY_NAME, sip_ha1=JANE_HA1,
             agent="1010@default")  # fmt: skip
    add_user(sessions, "sam", "2000", role="supervisor", display_name="Sam Super",
             sip_ha1=ha1("2000", "sam-sip-pw").upper())  # fmt: skip
    add_user(sessions, "gone", "1011", sip_ha1=ha1("1011", "x"), active=False, agent="1011@default")
    add_user(sessions, "nohash", "1012", sip_ha1=None)
    add_user(sessions, "badhash", "1013", sip_ha1="not-an-md5")
    add_user(sessions, "tricky", "1014", display_name=TRICKY_NAME, sip_ha1=ha1("1014", "y"))
    add_user(sessions, "noname", "1015", sip_ha1=ha1("1015", "z"))
    yield Directory(app_for(sessions), sessions)


def auth(user: str = XML_USER, password: str = XML_PASSWORD) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def lookup(
    user: str, domain: str = DOMAIN, action: str = "sip_auth", **extra: str
) -> dict[str, str]:
    """The form mod_xml_curl posts for a user lookup (switch_xml_locate_user)."""
    return {
        "hostname": "fs1", "section": "directory", "tag_name": "domain", "key_name": "name",
        "key_value": domain, "action": action, "key": "id", "user": user, "domain": domain,
        **extra,
    }  # fmt: skip


def post(directory: Directory, form: dict[str, str], **kwargs: object) -> tuple[int, str]:
    headers = kwargs.pop("headers", auth())
    response = directory.client.post(PATH, data=form, headers=headers, **kwargs)  # type: ignore[arg-type]
    return response.status_code, response.get_data(as_text=True)


def found_user(body: str, extension: str) -> ET.Element:
    """Find the user as FreeSWITCH does in the returned document."""
    root = ET.fromstring(body)
    assert root.tag == "document" and root.get("type") == "freeswitch/xml"
    domain = root.find(f"section[@name='directory']/domain[@name='{DOMAIN}']")
    assert domain is not None
    user = domain.find(f"users/user[@id='{extension}']")
    assert user is not None
    return user


def variables(user: ET.Element) -> dict[str, str]:
    return {v.get("name", ""): v.get("value", "") for v in user.iterfind("variables/variable")}


def assert_not_found(status: int, body: str) -> None:
    assert status == 200
    assert body == NOT_FOUND
    result = ET.fromstring(body).find("section[@name='result']/result")
    assert result is not None and result.get("status") == "not found"


def assert_survives_pre_processor(body: str) -> None:
    """FreeSWITCH pre-processes the answer: these would be expanded or drop lines."""
    assert "<?" not in body
    assert "$${" not in body
    assert not re.search("x-pre-process", body, re.IGNORECASE)
    assert "<include>" not in body


# -- answers -------------------------------------------------------------------------


def test_agent_gets_a1_hash_dial_string_and_variables(directory: Directory) -> None:
    status, body = post(directory, lookup("1010"))
    assert status == 200
    user = found_user(body, "1010")
    user_params = {p.get("name"): p.get("value") for p in user.iterfind("params/param")}
    assert user_params == {"a1-hash": JANE_HA1}
    assert "password" not in body.lower()
    assert "jane-sip-pw" not in body
    dial = ET.fromstring(body).find(".//domain/params/param[@name='dial-string']")
    assert dial is not None and dial.get("value") == DIAL_STRING
    assert variables(user) == {
        "user_context": "default",
        "effective_caller_id_name": NASTY_NAME,
        "effective_caller_id_number": "1010",
        "callcenter_role": "agent",
        "eavesdrop_group": f"1010@{DOMAIN}",
        "callcenter_agent": "1010@default",
    }
    assert_survives_pre_processor(body)


def test_display_name_is_escaped(directory: Directory) -> None:
    _, body = post(directory, lookup("1010"))
    assert 'value="Jane &lt;&amp;&quot;&gt; O&apos;Doe"' in body
    assert NASTY_NAME not in body
    # every element on a line of its own (the pre-processor works line by line)
    assert all(line.count("<") <= 1 for line in body.splitlines())


def test_every_lookup_action_for_the_user_is_answered(directory: Directory) -> None:
    for action in ("sip_auth", "user_call", "message-count", "reverse-auth-lookup"):
        status, body = post(directory, lookup("1010", action=action))
        assert status == 200 and found_user(body, "1010") is not None
    # user_data and friends send no action at all
    form = lookup("1010")
    del form["action"]
    assert found_user(post(directory, form)[1], "1010") is not None


def test_domain_matches_case_insensitively(directory: Directory) -> None:
    status, body = post(directory, lookup("1010", domain="CallCenter.LOCAL"))
    assert status == 200
    assert found_user(body, "1010") is not None  # answered under the configured name


def test_supervisor_has_a_role_and_no_agent(directory: Directory) -> None:
    user = found_user(post(directory, lookup("2000"))[1], "2000")
    found = variables(user)
    assert found["callcenter_role"] == "supervisor"
    assert "callcenter_agent" not in found
    assert found["effective_caller_id_name"] == "Sam Super"
    (param,) = list(user.iterfind("params/param"))
    assert param.get("value") == ha1("2000", "sam-sip-pw")  # stored upper case, sent lower


def test_free_text_cannot_reach_the_pre_processor_or_variable_expansion(
    directory: Directory,
) -> None:
    status, body = post(directory, lookup("1014"))
    assert status == 200
    name = variables(found_user(body, "1014"))["effective_caller_id_name"]
    assert "\n" not in name and "\x00" not in name and "\u200b" not in name
    assert "{" not in name and "}" not in name
    assert_survives_pre_processor(body)
    assert name == 'Evil $system(rm -rf /)$$domain < cmd="exec" data="id"/>'


def test_missing_display_name_falls_back_to_the_user_name(directory: Directory) -> None:
    user = found_user(post(directory, lookup("1015"))[1], "1015")
    assert variables(user)["effective_caller_id_name"] == "noname"


def test_caller_id_text() -> None:
    assert caller_id_text("  a\tb\r\nc  ") == "a b c"
    assert caller_id_text("${x}$${y}") == "$x$$y"
    assert caller_id_text("x-PRE-process!") == "!"
    assert caller_id_text("é" * 100) == "é" * 64
    assert caller_id_text("\x07\x1b[31m") == "[31m"


# -- not found -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "form",
    [
        lookup("1999"),  # nobody has this extension
        lookup("1010", domain="evil.example"),  # another domain
        lookup("1010", key_value="evil.example"),  # domain and key_value disagree
        lookup("1011"),  # inactive
        lookup("1012"),  # no HA1: cannot authenticate
        lookup("1013"),  # HA1 not an md5
        lookup('1010"/><user id="x'),  # not an extension
        lookup("1010 "),
        lookup("jane"),  # user names are not SIP users
        lookup(""),
        lookup("1010", section="configuration"),
        lookup("1010", key="mailbox"),
        lookup("1010", tag_name="group"),
        {"section": "directory", "tag_name": "domain", "key_name": "name",
         "key_value": DOMAIN, "purpose": "gateways"},  # sofia scanning for gateways
        {"section": "directory", "user": "1010"},  # no domain at all
        {},
    ],
)  # fmt: skip
def test_unknown_lookups_get_not_found(directory: Directory, form: dict[str, str]) -> None:
    assert_not_found(*post(directory, form))


def test_empty_domain_serves_nobody(tmp_path: pathlib.Path) -> None:
    sessions = make_sessions(tmp_path / "db.sqlite")
    add_user(sessions, "jane", "1010", sip_ha1=JANE_HA1)
    client = app_for(sessions, domain="")
    response = client.post(PATH, data=lookup("1010"), headers=auth())
    assert_not_found(response.status_code, response.get_data(as_text=True))


def test_database_error_is_503_so_freeswitch_falls_back(tmp_path: pathlib.Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")  # no tables
    client = app_for(sessionmaker(engine))
    response = client.post(PATH, data=lookup("1010"), headers=auth())
    assert response.status_code == 503
    assert response.get_data(as_text=True) == NOT_FOUND


# -- authentication --------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {},
        auth(password="wrong"),
        auth(user="admin"),
        auth(password=XML_PASSWORD + "x"),
        auth(password=""),
        {"Authorization": "Basic !!!not-base64"},
        {"Authorization": f"Bearer {XML_PASSWORD}"},
        {"Authorization": "Basic " + base64.b64encode(XML_USER.encode()).decode()},
    ],
)
def test_credentials_are_required(directory: Directory, headers: dict[str, str]) -> None:
    response = directory.client.post(PATH, data=lookup("1010"), headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Basic ")
    body = response.get_data(as_text=True)
    assert JANE_HA1 not in body and "1010" not in body


def test_only_post(directory: Directory) -> None:
    assert directory.client.get(PATH, headers=auth()).status_code == 405


def test_without_credentials_nothing_is_served(
    tmp_path: pathlib.Path, caplog: pytest.LogCaptureFixture
) -> None:
    """No XML_CURL_USERNAME/XML_CURL_PASSWORD: not even a loopback client (a reverse
    proxy on the same host forwards everybody from 127.0.0.1) gets an HA1."""
    sessions = make_sessions(tmp_path / "db.sqlite")
    add_user(sessions, "jane", "1010", sip_ha1=JANE_HA1)
    with caplog.at_level(logging.WARNING, logger="callcenter.directory"):
        client = app_for(sessions, username=None, password=None)
    assert "refused (503) until XML_CURL_USERNAME and XML_CURL_PASSWORD are set" in caplog.text
    for address in ("127.0.0.1", "::1", "203.0.113.9"):
        for path, form in ((PATH, lookup("1010")), (CONFIGURATION_PATH, {
                "section": "configuration", "tag_name": "configuration",
                "key_name": "name", "key_value": "callcenter.conf"})):  # fmt: skip
            for headers in ({}, auth()):
                reply = client.post(path, data=form, headers=headers,
                                    environ_base={"REMOTE_ADDR": address})  # fmt: skip
                # mod_xml_curl takes any answer but 200 as "not found" and falls back.
                assert reply.status_code == 503
                body = reply.get_data(as_text=True)
                assert JANE_HA1 not in body and "a1-hash" not in body and "1010" not in body
    assert "203.0.113.9 refused: XML_CURL_USERNAME/XML_CURL_PASSWORD are not set" in caplog.text


def test_the_shipped_placeholder_password_is_warned_about(
    tmp_path: pathlib.Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="callcenter.directory"):
        app_for(make_sessions(tmp_path / "db.sqlite"), password="change-me-directory-password")
    assert "XML_CURL_PASSWORD is the placeholder shipped in freeswitch_conf/vars.xml" in caplog.text
    vars_xml = (CONF / "vars.xml").read_text("utf-8")
    assert "callcenter_xml_curl_password=change-me-directory-password" in vars_xml


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_failures_are_rate_limited_per_client(
    tmp_path: pathlib.Path, caplog: pytest.LogCaptureFixture
) -> None:
    sessions = make_sessions(tmp_path / "db.sqlite")
    add_user(sessions, "jane", "1010", sip_ha1=JANE_HA1)
    clock = FakeClock()
    client = app_for(sessions, limiter=LoginLimiter(MAX_FAILURES, 60.0, clock=clock))
    guesser = {"REMOTE_ADDR": "198.51.100.7"}
    with caplog.at_level(logging.WARNING, logger="callcenter.directory"):
        for n in range(MAX_FAILURES):
            wrong = auth(password=f"guess-{n}")
            reply = client.post(PATH, data=lookup("1010"), headers=wrong, environ_base=guesser)
            assert reply.status_code == 401
        # Locked out, even with the right pair: no guess is even checked meanwhile.
        locked = client.post(PATH, data=lookup("1010"), headers=auth(), environ_base=guesser)
        assert locked.status_code == 429
        assert 1 <= int(locked.headers["Retry-After"]) <= 61
        assert JANE_HA1 not in locked.get_data(as_text=True)
        config = client.post(CONFIGURATION_PATH, data={"section": "configuration"},
                             headers=auth(), environ_base=guesser)  # fmt: skip
        assert config.status_code == 429
    assert "198.51.100.7 refused: too many failed authentications" in caplog.text
    # Another address is not affected (FreeSWITCH on its own address keeps working).
    other = client.post(PATH, data=lookup("1010"), headers=auth(),
                        environ_base={"REMOTE_ADDR": "127.0.0.1"})  # fmt: skip
    assert other.status_code == 200 and found_user(other.get_data(as_text=True), "1010")
    # Once the window has passed, the right pair is answered again.
    clock.now += 61
    again = client.post(PATH, data=lookup("1010"), headers=auth(), environ_base=guesser)
    assert again.status_code == 200
    assert found_user(again.get_data(as_text=True), "1010") is not None


def test_who_asked_is_logged_without_secrets(
    directory: Directory, caplog: pytest.LogCaptureFixture
) -> None:
    addr = {"REMOTE_ADDR": "192.0.2.10"}
    typo = "s3cret-directory-pX"  # a password typed into the user name field
    with caplog.at_level(logging.INFO, logger="callcenter.directory"):
        assert post(directory, lookup("1010"), environ_base=addr)[0] == 200
        assert post(directory, lookup("1999"), environ_base=addr)[0] == 200  # not found
        wrong = auth(password="not-it")
        assert post(directory, lookup("1010"), headers=wrong, environ_base=addr)[0] == 401
        stranger = {"REMOTE_ADDR": "192.0.2.11"}
        assert (
            post(directory, lookup("1010"), headers=auth(user=typo), environ_base=stranger)[0]
            == 401
        )
        nobody = {"REMOTE_ADDR": "192.0.2.12"}
        assert post(directory, lookup("1010"), headers={}, environ_base=nobody)[0] == 401
    text = caplog.text
    assert "192.0.2.10 asked for 1010@callcenter.local (sip_auth): served" in text
    assert "192.0.2.10 asked for 1999@callcenter.local (sip_auth): not found" in text
    assert "192.0.2.10 refused: user 'freeswitch' with a wrong password" in text
    assert "192.0.2.11 refused: an unknown user" in text
    assert "192.0.2.12 refused: no credentials" in text
    for secret in (XML_PASSWORD, "not-it", typo, JANE_HA1):
        assert secret not in text


def test_access_log_repeats_are_throttled(caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock()
    access = AccessLog(logging.getLogger("test.access"), quiet=60.0, clock=clock)
    with caplog.at_level(logging.INFO, logger="test.access"):
        for _ in range(5):
            access.note(logging.WARNING, ("192.0.2.1", "failed"), "refused 192.0.2.1")
        access.note(logging.WARNING, ("192.0.2.2", "failed"), "refused 192.0.2.2")
        clock.now += 60
        access.note(logging.WARNING, ("192.0.2.1", "failed"), "refused 192.0.2.1")
    assert [r.getMessage() for r in caplog.records] == [
        "refused 192.0.2.1",
        "refused 192.0.2.2",
        "refused 192.0.2.1 (4 more like it since the last such line)",
    ]


def test_non_ascii_credentials_compare_as_utf8_bytes(tmp_path: pathlib.Path) -> None:
    sessions = make_sessions(tmp_path / "db.sqlite")
    add_user(sessions, "jane", "1010", sip_ha1=JANE_HA1)
    client = app_for(sessions, username="fs", password="pässwörd-€")
    token = base64.b64encode("fs:pässwörd-€".encode()).decode()
    good = client.post(PATH, data=lookup("1010"), headers={"Authorization": f"Basic {token}"})
    assert good.status_code == 200 and found_user(good.get_data(as_text=True), "1010")
    # The same text in Latin-1 is other bytes; a cut multi-byte character too.
    for raw in ("fs:pässwörd-".encode("latin-1"), "fs:pässwörd-€".encode()[:-1]):
        sent = {"Authorization": "Basic " + base64.b64encode(raw).decode()}
        assert client.post(PATH, data=lookup("1010"), headers=sent).status_code == 401


@pytest.mark.parametrize(
    "kwargs",
    [
        {"domain": "not a domain"},
        {"domain": "callcenter.local:5060"},
        {"username": "freeswitch", "password": None},
        {"username": None, "password": "secret"},
        {"username": "", "password": ""},
        {"username": "free:switch", "password": "secret"},
    ],
)
def test_factory_refuses_bad_settings(tmp_path: pathlib.Path, kwargs: dict[str, object]) -> None:
    options: dict[str, object] = {"domain": DOMAIN, "username": XML_USER,
                                  "password": XML_PASSWORD, **kwargs}  # fmt: skip
    with pytest.raises(ValueError):
        directory_blueprint(make_sessions(tmp_path / "db.sqlite"), **options)  # type: ignore[arg-type]


def test_dial_string_is_the_static_directorys() -> None:
    """FreeSWITCH dials dashboard users and static users the same way."""
    root = ET.fromstring((CONF / "directory" / "default.xml").read_text("utf-8"))
    param = root.find("domain/params/param[@name='dial-string']")
    assert param is not None and param.get("value") == DIAL_STRING
