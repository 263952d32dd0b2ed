"""``callcenter conf check`` as an administrator runs it: the shipped freeswitch_conf/
passes, and copies broken the way administrators break them are reported with the file
and line to edit, exit status 1 for what will not work.

tests/fixtures/conf_check/wss-self-signed.pem is a certificate made for these tests
(``openssl req -x509 ... -subj /CN=fs.example.com``, valid 100 years, no key)."""

from __future__ import annotations

import argparse
import io
import pathlib
import re
import shutil

import pytest

from esl_controller.conf_check.checks import (
    CONFIGURATION_PATH,
    DIRECTORY_PATH,
    Expectations,
    Finding,
    Inventory,
    check,
    describe,
)
from esl_controller.entrypoints.conf_check import run_conf_check

SHIPPED = pathlib.Path(__file__).resolve().parents[2] / "freeswitch_conf"
CERT = (
    pathlib.Path(__file__).resolve().parents[1] / "fixtures" / "conf_check" / "wss-self-signed.pem"
)
# What `callcenter serve` would be started with next to the shipped configuration.
MATCHING_ENV = {
    "ESL_PASSWORD": "change-me-esl-password",
    "XML_CURL_USERNAME": "freeswitch",
    "XML_CURL_PASSWORD": "change-me-directory-password",
    "SIP_DOMAIN": "callcenter.local",
    "SIP_WSS_URL": "wss://fs.example.com:7443",
}


def line_of(path: pathlib.Path, text: str) -> int:
    for number, line in enumerate(path.read_text("utf-8").splitlines(), start=1):
        if text in line:
            return number
    raise AssertionError(f"{text!r} not in {path}")


@pytest.fixture
def conf(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> pathlib.Path:
    """A copy of the shipped configuration to break, run from an empty folder (no
    instance/ database around)."""
    monkeypatch.chdir(tmp_path)
    target = tmp_path / "fs"
    shutil.copytree(SHIPPED, target)
    return target


def edit(path: pathlib.Path, old: str, new: str) -> None:
    text = path.read_text("utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new), "utf-8")


def run(conf: pathlib.Path | None, *options: str, env: dict[str, str] | None = None
        ) -> tuple[int, list[str]]:  # fmt: skip
    args = argparse.Namespace(action="check", dir=str(conf) if conf else None, url=None,
                              certs=None)  # fmt: skip
    for option in options:
        name, _, value = option.removeprefix("--").partition("=")
        setattr(args, name, value)
    out = io.StringIO()
    status = run_conf_check(args, env=env or {}, out=out)
    return status, out.getvalue().splitlines()


def findings(lines: list[str], level: str) -> list[str]:
    return [line for line in lines if line.startswith(f"{level} ")]


# -- the shipped configuration ---------------------------------------------------------


def test_the_shipped_configuration_passes(tmp_path: pathlib.Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    monkeypatch.chdir(tmp_path)
    status, lines = run(None)  # the default: freeswitch_conf/ of this checkout
    assert status == 0, lines
    assert findings(lines, "ERROR") == []
    assert re.match(r"conf check .*freeswitch_conf: 0 error\(s\), \d+ warning\(s\): no error",
                    lines[-1])  # fmt: skip
    # What an administrator still has to do is said, with the line to edit.
    vars_xml = SHIPPED / "vars.xml"
    event_socket = SHIPPED / "autoload_configs" / "event_socket.conf.xml"
    warnings = findings(lines, "WARN")
    password_line = line_of(vars_xml, "callcenter_xml_curl_password=")
    assert any(w.startswith(f"WARN vars.xml:{password_line}: the xml_curl password is still "
                            "the shipped placeholder") for w in warnings)  # fmt: skip
    esl_line = line_of(event_socket, 'name="password"')
    assert any(
        w.startswith(
            f"WARN autoload_configs/event_socket.conf.xml:{esl_line}: the ESL "
            "password is still the shipped placeholder"
        )
        for w in warnings
    )
    assert any("no certificate for WSS" in w for w in warnings)
    # Comparisons it could not make are said too, not silently passed.
    notes = findings(lines, "NOTE")
    assert any("ESL_PASSWORD is not set here" in n for n in notes)
    assert any("queues and agents not compared" in n for n in notes)


def test_the_shipped_configuration_with_the_controllers_environment(
    conf: pathlib.Path,
) -> None:
    certs = conf.parent / "tls"
    certs.mkdir()
    shutil.copy(CERT, certs / "wss.pem")
    status, lines = run(conf, f"--certs={certs}", env=MATCHING_ENV)
    assert status == 0, lines
    assert findings(lines, "ERROR") == []
    assert not any("not set here" in line for line in lines)
    assert not any("no certificate" in line for line in lines)
    # The test certificate is self-signed: that is a warning, with the profile's line.
    webrtc = conf / "sip_profiles" / "webrtc.xml"
    cert_line = line_of(webrtc, 'name="tls-cert-dir"')
    assert any(w.startswith(f"WARN sip_profiles/webrtc.xml:{cert_line}: ") and "self-signed" in w
               for w in findings(lines, "WARN"))  # fmt: skip


def test_paths_the_checker_expects_are_the_dashboards() -> None:
    from dashboard.directory import CONFIGURATION_PATH as DASHBOARD_CONFIGURATION
    from dashboard.directory import PATH as DASHBOARD_DIRECTORY

    assert (DIRECTORY_PATH, CONFIGURATION_PATH) == (DASHBOARD_DIRECTORY, DASHBOARD_CONFIGURATION)


# -- broken copies ---------------------------------------------------------------------


def test_a_wrong_port_in_the_url_variable(conf: pathlib.Path) -> None:
    edit(conf / "vars.xml", "callcenter_url=http://127.0.0.1:5000",
         "callcenter_url=http://127.0.0.1:5001")  # fmt: skip
    status, lines = run(conf)
    assert status == 1
    url_line = line_of(conf / "vars.xml", "callcenter_url=")
    binding_line = line_of(conf / "autoload_configs" / "xml_curl.conf.xml",
                           "/freeswitch/directory\" bindings")  # fmt: skip
    (error,) = [e for e in findings(lines, "ERROR") if "mod_xml_curl fetches" in e]
    assert error.startswith(f"ERROR vars.xml:{url_line}: mod_xml_curl fetches "
                            f"http://127.0.0.1:5001 (autoload_configs/xml_curl.conf.xml:"
                            f"{binding_line}) but callcenter serve listens on "
                            "http://127.0.0.1:5000")  # fmt: skip
    # The same configuration is right for a dashboard serving on 5001.
    status, lines = run(conf, "--url=http://127.0.0.1:5001")
    assert status == 0, findings(lines, "ERROR")
    status, lines = run(conf, env={"CALLCENTER_URL": "http://localhost:5001"})
    assert status == 0, findings(lines, "ERROR")


def test_the_switchs_node_against_esl_nodes(conf: pathlib.Path) -> None:
    """Several nodes: each switch says which it is (callcenter_node, ?node= of the
    configuration binding), and it must be a node ESL_NODES lists."""
    nodes = {"ESL_NODES": "fs1=10.0.0.5,fs2=10.0.0.6"}
    node_line = line_of(conf / "vars.xml", "callcenter_node=")
    status, lines = run(conf, env=nodes)
    (warning,) = [w for w in findings(lines, "WARN") if "callcenter_node" in w]
    assert warning.startswith(f"WARN vars.xml:{node_line}: several nodes (fs1, fs2) but this "
                              "switch does not say which it is")  # fmt: skip
    assert "first node's (fs1)" in warning
    edit(conf / "vars.xml", "callcenter_node=", "callcenter_node=fs2")
    status, lines = run(conf, env=nodes)
    assert not [x for x in lines if "callcenter_node" in x or "ESL_NODES" in x], lines
    edit(conf / "vars.xml", "callcenter_node=fs2", "callcenter_node=fs3")
    status, lines = run(conf, env=nodes)
    assert status == 1
    (error,) = [e for e in findings(lines, "ERROR") if "node 'fs3'" in e]
    assert error.startswith(f"ERROR vars.xml:{node_line}: callcenter.conf is asked for node "
                            "'fs3', which ESL_NODES does not list (fs1, fs2)")  # fmt: skip
    status, lines = run(conf)  # one node: a node name is not served either
    assert any("ESL_NODES is not set" in e for e in findings(lines, "ERROR"))
    status, lines = run(conf, env={"ESL_NODES": "fs1=,"})
    assert status == 2


def test_the_serve_address_is_compared_even_without_a_variable(conf: pathlib.Path) -> None:
    xml_curl = conf / "autoload_configs" / "xml_curl.conf.xml"
    edit(xml_curl, "$${callcenter_url}/freeswitch/directory",
         "http://10.9.8.7:5000/freeswitch/directory")  # fmt: skip
    status, lines = run(conf)
    assert status == 1
    line = line_of(xml_curl, "http://10.9.8.7:5000")
    errors = findings(lines, "ERROR")
    assert any(e.startswith(f"ERROR autoload_configs/xml_curl.conf.xml:{line}: mod_xml_curl "
                            "fetches http://10.9.8.7:5000") for e in errors)  # fmt: skip
    assert any(w.startswith(f"WARN autoload_configs/xml_curl.conf.xml:{line}: gateway-url "
                            "http://10.9.8.7:5000/freeswitch/directory is written out")
               for w in findings(lines, "WARN"))  # fmt: skip


def test_esl_password_cluecon(conf: pathlib.Path) -> None:
    event_socket = conf / "autoload_configs" / "event_socket.conf.xml"
    edit(event_socket, 'value="change-me-esl-password"', 'value="ClueCon"')
    status, lines = run(conf)
    assert status == 1
    line = line_of(event_socket, 'name="password"')
    assert any(e.startswith(f"ERROR autoload_configs/event_socket.conf.xml:{line}: the ESL "
                            "password is ClueCon") for e in findings(lines, "ERROR"))  # fmt: skip


def test_esl_password_port_and_acl_against_the_environment(conf: pathlib.Path) -> None:
    event_socket = conf / "autoload_configs" / "event_socket.conf.xml"
    status, lines = run(conf, env={"ESL_PASSWORD": "something-else", "ESL_PORT": "8022"})
    assert status == 1
    errors = findings(lines, "ERROR")
    assert any("ESL_PASSWORD differs" in e for e in errors)
    port_line = line_of(event_socket, 'name="listen-port"')
    assert any(e.startswith(f"ERROR autoload_configs/event_socket.conf.xml:{port_line}: "
                            "mod_event_socket listens on port 8021 but the controller "
                            "connects to 8022") for e in errors)  # fmt: skip
    # A controller on another host: listen-ip and the ACL admit only loopback.
    status, lines = run(conf, env={"ESL_HOST": "10.0.0.5"})
    errors = findings(lines, "ERROR")
    acl_line = line_of(conf / "autoload_configs" / "acl.conf.xml", 'name="callcenter_controller"')
    assert any(
        e.startswith(
            f"ERROR autoload_configs/acl.conf.xml:{acl_line}: ACL "
            "callcenter_controller admits only loopback"
        )
        for e in errors
    )
    assert any("listen-ip 127.0.0.1 is loopback" in e for e in errors)
    # Loopback refused by the ACL: the controller on this host is rejected before auth.
    edit(conf / "autoload_configs" / "acl.conf.xml", '<node type="allow" cidr="127.0.0.1/32"/>',
         "")  # fmt: skip
    status, lines = run(conf)
    assert status == 1
    assert any("ACL callcenter_controller refuses 127.0.0.1" in e
               for e in findings(lines, "ERROR"))  # fmt: skip


def test_a_missing_certificate(conf: pathlib.Path) -> None:
    certs = conf.parent / "tls"
    certs.mkdir()  # certs_dir exists, with nothing in it
    status, lines = run(conf, f"--certs={certs}")
    webrtc = conf / "sip_profiles" / "webrtc.xml"
    line = line_of(webrtc, 'name="tls-cert-dir"')
    assert any(w.startswith(f"WARN sip_profiles/webrtc.xml:{line}: no certificate for WSS in "
                            f"{certs}: FreeSWITCH will generate a self-signed wss.pem")
               for w in findings(lines, "WARN"))  # fmt: skip
    assert status == 0  # it starts; browsers refuse it: a warning
    # A certificate for another host than SIP_WSS_URL's is an error.
    shutil.copy(CERT, certs / "wss.pem")
    status, lines = run(conf, f"--certs={certs}",
                        env={"SIP_WSS_URL": "wss://agents.example.org:7443"})  # fmt: skip
    assert status == 1
    assert any(e.startswith(f"ERROR sip_profiles/webrtc.xml:{line}: ") and
               "is for fs.example.com, not agents.example.org" in e
               for e in findings(lines, "ERROR"))  # fmt: skip


def test_the_music_folder_missing_empty_or_with_other_files(conf: pathlib.Path) -> None:
    moh = conf / "sounds" / "moh"
    dir_line = line_of(conf / "vars.xml", "hold_music_dir=")
    shutil.rmtree(moh)
    status, lines = run(conf)
    assert status == 1
    (error,) = [e for e in findings(lines, "ERROR") if "music folder" in e]
    assert error.startswith(f"ERROR vars.xml:{dir_line}: music folder {moh} does not exist")
    assert "Unknown source" in error
    moh.mkdir()
    status, lines = run(conf)
    assert status == 0
    assert any(w.startswith(f"WARN vars.xml:{dir_line}: music folder {moh} has no audio file")
               for w in findings(lines, "WARN"))  # fmt: skip
    shutil.copy(SHIPPED / "sounds" / "moh" / "callcenter-hold.wav", moh)
    (moh / "README.txt").write_text("where the music comes from\n")
    status, lines = run(conf)
    assert status == 0
    assert any(f"{moh / 'README.txt'} in the music folder is not a wav" in w
               for w in findings(lines, "WARN"))  # fmt: skip
    assert not any("has no audio file" in w for w in findings(lines, "WARN"))


def test_hold_music_that_no_stream_serves(conf: pathlib.Path) -> None:
    edit(conf / "vars.xml", "hold_music=local_stream://moh", "hold_music=local_stream://music")
    local_stream = conf / "autoload_configs" / "local_stream.conf.xml"
    edit(local_stream, '<directory name="default" path="$${hold_music_dir}">',
         '<directory name="other" path="$${hold_music_dir}">')  # fmt: skip
    status, lines = run(conf)
    assert status == 1
    assert any("local_stream://music has no stream for 8000 Hz calls" in e
               for e in findings(lines, "ERROR"))  # fmt: skip


def test_candidate_acl_excluding_the_lan(conf: pathlib.Path) -> None:
    acl = conf / "autoload_configs" / "acl.conf.xml"
    edit(acl, '      <node type="allow" cidr="192.168.0.0/16"/>\n', "")
    status, lines = run(conf)
    line = line_of(acl, 'name="webrtc_candidates"')
    (warning,) = [w for w in findings(lines, "WARN") if "candidate ACLs" in w]
    assert warning.startswith(
        f"WARN autoload_configs/acl.conf.xml:{line}: the candidate ACLs "
        "(wan_v4.auto, webrtc_candidates) refuse 192.168.0.0/16"
    )
    assert status == 0
    # No candidate ACL at all: wan.auto only, every private range refused.
    webrtc = conf / "sip_profiles" / "webrtc.xml"
    edit(webrtc, '    <param name="apply-candidate-acl" value="wan_v4.auto"/>\n', "")
    edit(webrtc, '    <param name="apply-candidate-acl" value="webrtc_candidates"/>\n', "")
    status, lines = run(conf)
    assert any("NO candidate ACL defined" in w for w in findings(lines, "WARN"))


def test_modules_often_missing_and_modules_the_product_needs(conf: pathlib.Path) -> None:
    modules = conf / "autoload_configs" / "modules.conf.xml"
    edit(modules, '    <load module="mod_opus"/>\n',
         '    <load module="mod_opus"/>\n    <load module="mod_spandsp"/>\n')  # fmt: skip
    edit(modules, '    <load module="mod_callcenter"/>\n', "")
    (conf / "autoload_configs" / "opus.conf.xml").unlink()
    status, lines = run(conf)
    assert status == 1
    spandsp_line = line_of(modules, 'mod_spandsp"/>')
    assert any(w.startswith(f"WARN autoload_configs/modules.conf.xml:{spandsp_line}: "
                            "mod_spandsp is missing from many builds")
               for w in findings(lines, "WARN"))  # fmt: skip
    assert any("mod_callcenter is not loaded" in e for e in findings(lines, "ERROR"))
    assert any("Opening of opus.conf failed" in w for w in findings(lines, "WARN"))


def test_registrations_credentials_and_domain(conf: pathlib.Path) -> None:
    webrtc = conf / "sip_profiles" / "webrtc.xml"
    edit(webrtc, '<param name="multiple-registrations" value="contact"/>', "")
    env = {"XML_CURL_USERNAME": "fs", "XML_CURL_PASSWORD": "change-me-directory-password",
           "SIP_DOMAIN": "cc.example.com"}  # fmt: skip
    status, lines = run(conf, env=env)
    assert status == 1
    errors = findings(lines, "ERROR")
    user_line = line_of(conf / "vars.xml", "callcenter_xml_curl_user=")
    assert any(e.startswith(f"ERROR vars.xml:{user_line}: the xml_curl user is 'freeswitch' "
                            "but XML_CURL_USERNAME is 'fs'") for e in errors)  # fmt: skip
    domain_line = line_of(conf / "vars.xml", '"domain=')
    assert any(e.startswith(f"ERROR vars.xml:{domain_line}: domain is callcenter.local but "
                            "SIP_DOMAIN is cc.example.com") for e in errors)  # fmt: skip
    assert any("no multiple-registrations" in w for w in findings(lines, "WARN"))


# -- the pre-processor -----------------------------------------------------------------


def write_tree(root: pathlib.Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, "utf-8")


def test_the_pre_processor_as_freeswitch_runs_it(tmp_path: pathlib.Path) -> None:
    write_tree(tmp_path, {
        "freeswitch.xml": '<document type="freeswitch/xml">\n'
                          '  <X-PRE-PROCESS cmd="include" data="vars.xml"/>\n'
                          '  <section name="configuration">\n'
                          '    <X-PRE-PROCESS cmd="include" data="conf/*.xml"/>\n'
                          '  </section>\n</document>\n',
        "vars.xml": '<include>\n'
                    '  <!-- a comment does not stop it, and its line is dropped whole:\n'
                    '  <X-PRE-PROCESS cmd="set" data="port = 5000"/> -->\n'
                    '  <X-PRE-PROCESS cmd="set" data="url=http://127.0.0.1:$${port}"/>\n'
                    '</include>\n',
        "conf/a.xml": '<configuration name="event_socket.conf">\n'
                      '  <settings><param name="password" value="$${nowhere}x"/></settings>\n'
                      '</configuration>\n',
        "conf/b.xml": '<configuration name="broken">\n  <param name="x">\n</configuration>\n',
    })  # fmt: skip
    found = check(tmp_path, Expectations(), certs_dir=tmp_path / "tls")
    shown = [f"{f.level} {describe(f.where, tmp_path)}: {f.message}" for f in found]
    # $${} with no value: empty, said with the line.
    assert "WARN conf/a.xml:2: $${nowhere} is never set: FreeSWITCH puts nothing in its " \
           "place" in shown  # fmt: skip
    # The "-->" went with the pre-processor line: the comment never ends, and FreeSWITCH
    # refuses the whole configuration. Reported where the comment opens.
    assert any(s.startswith("ERROR vars.xml:2: not well-formed XML once pre-processed")
               for s in shown), shown  # fmt: skip
    edit(tmp_path / "vars.xml", '"port = 5000"/> -->', '"port = 5000"/>\n  -->')
    found = check(tmp_path, Expectations(), certs_dir=tmp_path / "tls")
    shown = [f"{f.level} {describe(f.where, tmp_path)}: {f.message}" for f in found]
    # Now the second included file breaks the XML: reported at its own line.
    assert any(s.startswith("ERROR conf/b.xml:3: not well-formed XML") for s in shown), shown


def test_set_inside_a_comment_runs_and_values_are_traced(tmp_path: pathlib.Path) -> None:
    from esl_controller.conf_check.preprocess import preprocess

    write_tree(tmp_path, {
        "freeswitch.xml": '<document>\n  <X-PRE-PROCESS cmd="include" data="vars.xml"/>\n'
                          '  <p v="$${url}"/>\n</document>\n',
        "vars.xml": '<include>\n  <!-- <X-PRE-PROCESS cmd="set" data="port = 5000"/> -->\n'
                    '  <X-PRE-PROCESS cmd="set" data="url=http://h:$${port}"/>\n</include>\n',
    })  # fmt: skip
    result = preprocess(tmp_path / "freeswitch.xml", {})
    assert result.variables["url"] == "http://h:5000"
    assert result.set_at["url"].line == 3
    assert result.root is not None
    (p,) = result.root.find_all("p")
    assert p.get("v") == "http://h:5000"
    assert (p.where.path.name, p.where.line, p.where.variables) == ("freeswitch.xml", 3, ("url",))


# -- the product's database ------------------------------------------------------------


def test_queues_and_agents_against_the_database(conf: pathlib.Path) -> None:
    inventory = Inventory(queues=("support@default", "vip@default"),
                          agents={"1000@default": "user/1000@callcenter.local",
                                  "2@default": "user/20001@other.example"})  # fmt: skip
    found = check(conf, Expectations(), certs_dir=conf / "tls", inventory=inventory)
    callcenter = conf / "autoload_configs" / "callcenter.conf.xml"

    def shown(level: str) -> list[str]:
        return [f"{describe(f.where, conf)}: {f.message}" for f in found if f.level == level]

    sales_line = line_of(callcenter, '<queue name="sales@default">')
    assert any(
        w.startswith(
            f"autoload_configs/callcenter.conf.xml:{sales_line}: queue "
            "sales@default is only in this file"
        )
        for w in shown("WARN")
    )
    assert any("agent 2@default rings user/20001@other.example, but the switch's domain is "
               "callcenter.local" in e for e in shown("ERROR"))  # fmt: skip
    assert any("agent 2@default has extension 20001" in w for w in shown("WARN"))
    assert not any("support@default is only" in w for w in shown("WARN"))


def test_a_real_database_is_read_and_an_absent_one_is_not_created(
    conf: pathlib.Path, tmp_path: pathlib.Path,
) -> None:  # fmt: skip
    from sqlalchemy.orm import sessionmaker

    from esl_controller.services.provisioning import ProvisioningStore
    from esl_controller.store.engine import make_engine
    from esl_controller.store.migrate import upgrade

    absent = tmp_path / "absent.db"
    status, lines = run(conf, env={"DB_URI": f"sqlite:///{absent}"})
    assert not absent.exists()
    assert any("does not exist" in n for n in findings(lines, "NOTE"))
    url = f"sqlite:///{tmp_path / 'cc.db'}"
    upgrade(url)
    engine = make_engine(url)
    ProvisioningStore(sessionmaker(engine)).add_queue("vip@default", strategy="ring-all")
    engine.dispose()
    status, lines = run(conf, env={"DB_URI": url})
    assert any("queue support@default is only in this file" in w
               for w in findings(lines, "WARN"))  # fmt: skip
    assert any("the product's database: 1 queue(s), 0 agent(s) compared" in n
               for n in findings(lines, "NOTE"))  # fmt: skip


def test_findings_are_plain_data() -> None:
    finding = Finding("ERROR", None, "x")
    assert (finding.level, finding.where, finding.message) == ("ERROR", None, "x")


def test_the_command_line(conf: pathlib.Path) -> None:
    """`callcenter conf check DIR` as typed: exit 0 with only warnings, 1 with an error."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("ESL_", "XML_CURL_", "SIP_", "CALLCENTER_", "DB_URI"))}  # fmt: skip
    command = [sys.executable, "-m", "esl_controller.cli", "conf", "check", str(conf)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines()[-1].endswith("0 error(s), 3 warning(s): no error")
    edit(conf / "autoload_configs" / "event_socket.conf.xml", 'value="change-me-esl-password"',
         'value="ClueCon"')  # fmt: skip
    done = subprocess.run([*command, "--url", "http://127.0.0.1:5050"], env=env,
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode == 1
    errors = [line for line in done.stdout.splitlines() if line.startswith("ERROR ")]
    assert len(errors) == 2 and done.stdout.splitlines()[-1].endswith("will not work as it is")
    bad = subprocess.run([*command, "--url", "ftp://x"], env=env, capture_output=True,
                         text=True, timeout=60)  # fmt: skip
    assert bad.returncode == 2 and "http(s)://host:port" in bad.stderr
