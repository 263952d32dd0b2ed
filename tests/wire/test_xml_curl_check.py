"""``callcenter serve`` warns when FreeSWITCH fetches its users from an address where
the dashboard does not answer: the simulator runs the shipped configuration with
``callcenter_url`` edited, the product reads it over ESL and tries it; then the whole
``callcenter serve`` against that simulator says so in its log and in /health."""

from __future__ import annotations

import json
import logging
import os
import pathlib
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import gevent
import pytest
from gevent.pywsgi import WSGIServer

from esl_controller.esl.client import EslClient, EslSettings
from esl_controller.services.xml_curl_check import XmlCurlAddressCheck
from esl_controller.simulator.wire.simulator import Simulator
from tests.wire.conftest import wait_until

SHIPPED = pathlib.Path(__file__).resolve().parents[2] / "freeswitch_conf"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def conf_with_url(tmp_path: pathlib.Path, url: str | None) -> pathlib.Path:
    conf = tmp_path / "conf"
    shutil.copytree(SHIPPED, conf)
    vars_xml = conf / "vars.xml"
    line = '  <X-PRE-PROCESS cmd="set" data="callcenter_url=http://127.0.0.1:5000"/>\n'
    text = vars_xml.read_text()
    assert line in text
    new = "" if url is None else line.replace("http://127.0.0.1:5000", url)
    vars_xml.write_text(text.replace(line, new))
    return conf


class Http:
    """A small HTTP server answering /health with ``body``."""

    def __init__(self, body: bytes, status: str = "200 OK") -> None:
        def app(environ, start_response):  # type: ignore[no-untyped-def]
            start_response(status, [("Content-Type", "application/json")])
            return [body]

        self.server = WSGIServer(("127.0.0.1", 0), app, log=None)
        self.server.start()
        self.url = f"http://127.0.0.1:{self.server.server_port}"


def product_health() -> bytes:
    return json.dumps({"freeswitch": {"state": "connected"}, "problems": []}).encode()


@pytest.fixture
def link() -> Iterator[object]:
    made: list[tuple[Simulator, EslClient]] = []

    def start(conf: pathlib.Path) -> tuple[Simulator, EslClient]:
        port = free_port()
        sim = Simulator(port=port, conf_dir=conf)
        sim.start()
        client = EslClient(EslSettings(port=port, backoff_max=0.5))
        client.start()
        assert wait_until(lambda: client.health.connected and client.health.commands_connected)
        made.append((sim, client))
        return sim, client

    yield start
    for sim, client in made:
        client.stop()
        sim.stop()


def check_for(client: EslClient, serve_port: int) -> XmlCurlAddressCheck:
    return XmlCurlAddressCheck(client.api, lambda: client.health, serve_host="127.0.0.1",
                               serve_port=serve_port, esl_host="127.0.0.1")  # fmt: skip


def test_a_callcenter_url_where_nothing_answers_is_a_problem(
    tmp_path: pathlib.Path, link, caplog: pytest.LogCaptureFixture,  # type: ignore[no-untyped-def]
) -> None:  # fmt: skip
    closed = free_port()  # nothing listens there
    _, client = link(conf_with_url(tmp_path, f"http://127.0.0.1:{closed}"))
    check = check_for(client, serve_port=5050)
    with caplog.at_level(logging.WARNING, logger="esl_controller.services.xml_curl_check"):
        problem = check.check()
        check.check()  # said once, not at every check
    assert problem is not None and check.problem() == problem
    assert f"from http://127.0.0.1:{closed} (callcenter_url in vars.xml), where nothing " \
           "answers" in problem  # fmt: skip
    assert "this dashboard listens on 127.0.0.1:5050" in problem
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [problem]


def test_the_dashboards_own_address_is_fine_and_a_stranger_is_not(
    tmp_path: pathlib.Path, link,  # type: ignore[no-untyped-def]
) -> None:  # fmt: skip
    ours = Http(product_health(), "503 Service Unavailable")  # unhealthy, but us
    sim, client = link(conf_with_url(tmp_path, ours.url))
    check = check_for(client, serve_port=ours.server.server_port)
    assert check.check() is None
    assert check.url == ours.url
    # The administrator points it at something else: it answers, but not as the product.
    stranger = Http(b"<html>hello</html>")
    sim.global_vars["callcenter_url"] = stranger.url  # as `global_setvar` would
    problem = check.check()
    assert problem is not None and f"{stranger.url} (callcenter_url in vars.xml) answers " \
        "HTTP 200 but not as this product" in problem  # fmt: skip
    ours.server.stop()
    stranger.server.stop()


def test_without_the_variable_nothing_is_claimed(
    tmp_path: pathlib.Path, link, caplog: pytest.LogCaptureFixture,  # type: ignore[no-untyped-def]
) -> None:  # fmt: skip
    _, client = link(conf_with_url(tmp_path, None))
    # FreeSWITCH's answer for a variable never set: an empty body, sent as -ERR no reply.
    from esl_controller.esl.commands import channels as ch

    assert client.api(ch.global_getvar("callcenter_url")) == "-ERR no reply\n"
    check = check_for(client, serve_port=5000)
    with caplog.at_level(logging.WARNING, logger="esl_controller.services.xml_curl_check"):
        assert check.check() is None
    assert any("FreeSWITCH has no callcenter_url variable" in r.getMessage()
               for r in caplog.records)  # fmt: skip


def test_serve_says_so_in_its_log_and_health(tmp_path: pathlib.Path) -> None:
    """The whole `callcenter serve` (no --simulate) against a switch whose vars.xml
    points mod_xml_curl at a port where nothing listens, the dashboard serving on
    another (the administrator started serve with --port and kept vars.xml)."""
    stale = f"http://127.0.0.1:{free_port()}"
    sim = Simulator(port=free_port(), password="s3cret", conf_dir=conf_with_url(tmp_path, stale))
    sim.start()
    web_port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ESL_", "XML_CURL_"))}
    env.update(ESL_HOST="127.0.0.1", ESL_PORT=str(sim.port), ESL_PASSWORD="s3cret",
               DB_URI=f"sqlite:///{tmp_path / 'cc.db'}", PYTHONUNBUFFERED="1")  # fmt: skip
    out = tmp_path / "serve.out"
    with out.open("w") as sink:
        serve = subprocess.Popen(
            [sys.executable, "-m", "esl_controller.cli", "serve", "--port", str(web_port)],
            cwd=tmp_path, env=env, stdout=sink, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        body: dict = {}  # type: ignore[type-arg]
        while not body.get("problems"):
            assert serve.poll() is None, out.read_text()
            assert time.monotonic() < deadline, (body, out.read_text())
            gevent.sleep(0.2)
            body = _health(web_port)
        (problem,) = [p for p in body["problems"] if "callcenter_url" in p]
        assert f"from {stale} (callcenter_url in vars.xml), where nothing answers" in problem
        assert f"this dashboard listens on 127.0.0.1:{web_port}" in problem
        assert body["freeswitch"]["connected"] is True
        text = out.read_text()
        assert "WARNING" in text and "where nothing answers" in text
    finally:
        serve.terminate()
        gevent.get_hub().threadpool.spawn(serve.wait, 30).get()
        sim.stop()


def _health(port: int) -> dict:  # type: ignore[type-arg]
    import urllib.error
    import urllib.request

    def get() -> dict:  # type: ignore[type-arg]
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as r:
                return dict(json.loads(r.read()))
        except urllib.error.HTTPError as exc:
            return dict(json.loads(exc.read()))
        except OSError:
            return {}

    return dict(gevent.get_hub().threadpool.spawn(get).get())
