"""freeswitch_conf/ as FreeSWITCH and the simulator read it.

FreeSWITCH reads freeswitch.xml and pulls everything else in through its pre-processor
(include/set lines, $${var} expansion, line-based quirks), so the tree is checked the same
way: every file parses, every include resolves (relative to the including file, as
preprocess_glob does), nothing is orphaned, and the whole expanded document parses. Then
the parts the call center depends on are checked for content, and the files the
simulator reads are loaded with the simulator's own loaders and its dialplan router.
"""

from __future__ import annotations

import hashlib
import ipaddress
import pathlib
import re
from xml.etree import ElementTree as ET

import pytest

from esl_controller.simulator.channels import apps
from esl_controller.simulator.channels.channel import Channel, Profile
from esl_controller.simulator.channels.dialplan import Dialplan, expand
from esl_controller.simulator.conf.directory import load_directory
from esl_controller.simulator.conf.xmlconf import expand_globals, load_vars
from esl_controller.simulator.mod_callcenter import config as cc_config

CONF = pathlib.Path(__file__).resolve().parents[2] / "freeswitch_conf"
XML_FILES = sorted(CONF.rglob("*.xml"))
DOMAIN = "callcenter.local"
AGENTS = [str(n) for n in range(1000, 1010)]

# Variables the core sets before vars.xml is read (Debian package paths).
CORE_VARS = {
    "local_ip_v4": "192.0.2.10",
    "local_mask_v4": "255.255.255.0",
    "hostname": "fs1",
    "base_dir": "/usr",
    "conf_dir": "/etc/freeswitch",
    "certs_dir": "/etc/freeswitch/tls",
    "sounds_dir": "/usr/share/freeswitch/sounds",
    "recordings_dir": "/var/lib/freeswitch/recordings",
    "db_dir": "/var/lib/freeswitch/db",
    "log_dir": "/var/log/freeswitch",
    "temp_dir": "/tmp",
}
PRE_RE = re.compile(r"x-pre-process", re.IGNORECASE)
PRE_LINE_RE = re.compile(r'^\s*<X-PRE-PROCESS cmd="(set|include)" data="([^"]*)"/>\s*$')
COMMENT_RE = re.compile(r"<!--.*?-->", re.DOTALL)
GLOBAL_RE = re.compile(r"\$\$\{([A-Za-z0-9_\-]+)\}")


# -- FreeSWITCH's pre-processor, as far as this tree uses it ---------------------------


def preprocess(
    path: pathlib.Path, variables: dict[str, str], seen: list[pathlib.Path]
) -> list[str]:
    """Lines of ``path`` as switch_xml.c's preprocess() writes them: $${} expanded per
    line, include/XML-declaration lines dropped, set/include executed in place."""
    seen.append(path)
    out: list[str] = []
    for raw in path.read_text("utf-8").splitlines():
        line = GLOBAL_RE.sub(lambda m: variables.get(m.group(1), ""), raw)
        if "<include>" in line or "</include>" in line or "<?" in line:
            continue
        found = PRE_RE.search(line)
        if found:
            match = PRE_LINE_RE.match(line)
            assert match, f"{path}: pre-processor line FreeSWITCH would mangle: {raw!r}"
            cmd, data = match.groups()
            if cmd == "set":
                name, _, value = data.partition("=")
                variables[name.strip()] = value.strip()
            else:
                targets = sorted(t.resolve() for t in path.parent.glob(data))
                assert targets, f"{path}: include {data!r} matches no file"
                for target in targets:
                    out += preprocess(target, variables, seen)
            continue
        out.append(line)
    return out


@pytest.fixture(scope="module")
def expanded() -> tuple[ET.Element, dict[str, str], list[pathlib.Path]]:
    variables = dict(CORE_VARS)
    seen: list[pathlib.Path] = []
    lines = preprocess(CONF / "freeswitch.xml", variables, seen)
    return ET.fromstring("\n".join(lines)), variables, seen


@pytest.fixture(scope="module")
def document(expanded: tuple[ET.Element, dict[str, str], list[pathlib.Path]]) -> ET.Element:
    return expanded[0]


def configuration(document: ET.Element, name: str) -> ET.Element:
    found = document.find(f"section[@name='configuration']/configuration[@name='{name}']")
    assert found is not None, f"{name} is missing from the configuration section"
    return found


def params(element: ET.Element, path: str = "param") -> dict[str, list[str]]:
    values: dict[str, list[str]] = {}
    for param in element.iterfind(path):
        values.setdefault(param.get("name", ""), []).append(param.get("value", ""))
    return values


def one(values: dict[str, list[str]], name: str) -> str:
    assert len(values.get(name, [])) == 1, f"expected exactly one {name}: {values.get(name)}"
    return values[name][0]


# -- the tree ------------------------------------------------------------------------


def test_every_file_is_well_formed_xml() -> None:
    assert len(XML_FILES) >= 15
    for path in XML_FILES:
        ET.fromstring(path.read_text("utf-8"))  # raises with the file's error


def test_every_include_resolves_and_no_file_is_orphaned(
    expanded: tuple[ET.Element, dict[str, str], list[pathlib.Path]],
) -> None:
    _, _, seen = expanded
    assert len(seen) == len(set(seen)), "a file is included twice"
    assert sorted(seen) == XML_FILES
    for name in ("sip_profiles/webrtc.xml", "sip_profiles/external.xml", "vars.xml"):
        assert CONF / name in seen


def test_expanded_document_has_every_section_and_configuration(document: ET.Element) -> None:
    assert document.tag == "document" and document.get("type") == "freeswitch/xml"
    sections = {s.get("name") for s in document.iterfind("section")}
    assert sections == {"configuration", "dialplan", "directory"}
    names = {c.get("name") for c in document.iterfind("section/configuration")}
    assert names == {
        "acl.conf", "callcenter.conf", "console.conf", "event_socket.conf", "local_stream.conf",
        "logfile.conf", "modules.conf", "opus.conf", "sofia.conf", "switch.conf", "xml_curl.conf",
    }  # fmt: skip


def test_lines_survive_the_pre_processor() -> None:
    """The quirks that silently change a FreeSWITCH configuration."""
    for path in XML_FILES:
        text = path.read_text("utf-8")
        assert "<?" not in text, f"{path}: a line with '<?' is dropped by the pre-processor"
        assert "<!--#" not in text, f"{path}: '<!--#' is a pre-processor command"
        for line in text.splitlines():
            if "<include>" in line or "</include>" in line:
                assert line.strip() in ("<include>", "</include>"), f"{path}: {line!r} dropped"
        for comment in COMMENT_RE.findall(text):
            assert not PRE_RE.search(comment), (
                f"{path}: the pre-processor runs (or drops) lines mentioning it even inside "
                f"comments: {comment[:80]!r}"
            )


def test_every_global_variable_used_is_defined(
    expanded: tuple[ET.Element, dict[str, str], list[pathlib.Path]],
) -> None:
    _, variables, _ = expanded
    for path in XML_FILES:
        used = set(GLOBAL_RE.findall(COMMENT_RE.sub("", path.read_text("utf-8"))))
        missing = used - set(variables)
        assert not missing, f"{path}: $${{}} never set (would be empty): {sorted(missing)}"
    assert variables["domain"] == DOMAIN
    assert variables["external_rtp_ip"] == CORE_VARS["local_ip_v4"]


# -- ACLs and the event socket -------------------------------------------------------


def acl_allows(document: ET.Element, name: str, address: str) -> bool:
    """mod_acl's rule: the longest matching prefix decides, else the list's default."""
    lists = configuration(document, "acl.conf").findall(f"network-lists/list[@name='{name}']")
    assert len(lists) == 1, f"ACL {name} is not defined once"
    ip = ipaddress.ip_address(address)
    verdict, best = lists[0].get("default") == "allow", -1
    for node in lists[0].iterfind("node"):
        network = ipaddress.ip_network(node.get("cidr", ""), strict=False)
        if network.version == ip.version and ip in network and network.prefixlen > best:
            verdict, best = node.get("type") == "allow", network.prefixlen
    return verdict


def test_event_socket_password_and_acl(document: ET.Element) -> None:
    settings = params(configuration(document, "event_socket.conf"), "settings/param")
    password = one(settings, "password")
    assert password and password.lower() != "cluecon"
    assert len(password) >= 12 and not set(password) & set(" \"'&<>")
    assert one(settings, "listen-ip") not in ("0.0.0.0", "::", "[::]")
    acl = one(settings, "apply-inbound-acl")
    assert acl == "callcenter_controller"
    # Naming an ACL replaces the loopback default: the local controller must stay allowed.
    assert acl_allows(document, acl, "127.0.0.1")
    assert acl_allows(document, acl, "::1")
    assert not acl_allows(document, acl, "203.0.113.7")
    assert not acl_allows(document, acl, "10.1.2.3")


def test_candidate_and_carrier_acls(document: ET.Element) -> None:
    assert acl_allows(document, "webrtc_candidates", "192.168.1.20")
    assert acl_allows(document, "webrtc_candidates", "10.20.30.40")
    assert not acl_allows(document, "webrtc_candidates", "203.0.113.7")
    assert not acl_allows(document, "carriers", "203.0.113.7")  # empty until configured


# -- sofia ---------------------------------------------------------------------------

BUILTIN_ACLS = {
    "rfc1918.auto", "rfc6598.auto", "wan.auto", "wan_v4.auto", "wan_v6.auto", "any_v4.auto",
    "any_v6.auto", "nat.auto", "loopback.auto", "localnet.auto",
}  # fmt: skip


def profiles(document: ET.Element) -> dict[str, ET.Element]:
    sofia = configuration(document, "sofia.conf")
    return {p.get("name", ""): p for p in sofia.iterfind("profiles/profile")}


def acl_names(document: ET.Element) -> set[str]:
    acl = configuration(document, "acl.conf")
    return {e.get("name", "") for e in acl.iterfind("network-lists/list")}


def test_webrtc_profile(document: ET.Element) -> None:
    found = profiles(document)
    assert set(found) == {"webrtc", "external"}
    p = params(found["webrtc"], "settings/param")
    assert one(p, "wss-binding") == ":7443"
    assert "ws-binding" not in p, "clear-text WebSocket must not be offered"
    assert one(p, "tls-cert-dir") == CORE_VARS["certs_dir"]
    candidates = p["apply-candidate-acl"]
    assert "wan_v4.auto" in candidates and "webrtc_candidates" in candidates
    assert set(candidates) <= BUILTIN_ACLS | acl_names(document)
    assert one(p, "ext-rtp-ip") and one(p, "ext-sip-ip")
    assert one(p, "rtp-ip") == one(p, "sip-ip") == CORE_VARS["local_ip_v4"]
    assert one(p, "auth-calls") == "true"
    assert one(p, "auth-subscriptions") == "true"
    assert one(p, "inbound-reg-force-matching-username") == "true"
    # a1-hash = md5(user:realm:password): the realm must be the domain, always.
    assert one(p, "challenge-realm") == one(p, "force-register-domain") == DOMAIN
    assert one(p, "force-register-db-domain") == DOMAIN
    for unsafe in ("apply-inbound-acl", "apply-register-acl", "accept-blind-reg",
                   "accept-blind-auth"):  # fmt: skip
        assert unsafe not in p, f"{unsafe} on the webrtc profile skips authentication"
    codecs = one(p, "inbound-codec-prefs").split(",")
    assert codecs[0] == "OPUS" and {"PCMU", "PCMA"} <= set(codecs)
    assert one(p, "context") == "public"
    assert one(p, "liberal-dtmf") == "true"
    # A desk phone's (or a second tab's) un-REGISTER must not take the browser offline.
    assert one(p, "multiple-registrations") == "contact"


def test_external_profile_is_closed_by_default(document: ET.Element) -> None:
    found = profiles(document)
    webrtc = params(found["webrtc"], "settings/param")
    p = params(found["external"], "settings/param")
    assert one(p, "sip-port") != one(webrtc, "sip-port")
    assert one(p, "auth-calls") == "false"
    acl = one(p, "apply-inbound-acl")
    assert acl in acl_names(document)
    assert not acl_allows(document, acl, "198.51.100.1")
    assert one(p, "disable-register") == "true"
    assert one(p, "context") == "public"
    assert found["external"].find("gateways") is not None


# -- mod_xml_curl, modules, the rest -------------------------------------------------


def test_xml_curl_binds_the_directory_to_the_dashboard(
    expanded: tuple[ET.Element, dict[str, str], list[pathlib.Path]],
) -> None:
    from dashboard.directory import PATH

    document, variables, _ = expanded
    bindings = configuration(document, "xml_curl.conf").findall("bindings/binding")
    bindings = [b for b in bindings if b.get("name") == "callcenter_directory"]
    assert len(bindings) == 1
    p = params(bindings[0])
    url = bindings[0].find("param[@name='gateway-url']")
    assert url is not None and url.get("bindings") == "directory"
    # One variable in vars.xml holds the dashboard's address (serve's default).
    assert variables["callcenter_url"] == "http://127.0.0.1:5000"
    assert url.get("value") == f"http://127.0.0.1:5000{PATH}"
    raw = (CONF / "autoload_configs" / "xml_curl.conf.xml").read_text("utf-8")
    assert raw.count("$${callcenter_url}/freeswitch/") == 2
    assert "127.0.0.1:5000" not in COMMENT_RE.sub("", raw)
    user, colon, secret = one(p, "gateway-credentials").partition(":")
    assert (user, secret) == (variables["callcenter_xml_curl_user"],
                              variables["callcenter_xml_curl_password"])  # fmt: skip
    assert user and colon and len(secret) >= 12
    assert one(p, "auth-scheme") == "basic"
    assert {"action", "key", "user", "domain"} <= set(p["enable-post-var"])
    assert 0 < int(one(p, "timeout")) <= 10


def test_xml_curl_serves_callcenter_conf_from_the_dashboard(document: ET.Element) -> None:
    from dashboard.directory import CONFIGURATION_PATH

    bindings = configuration(document, "xml_curl.conf").findall("bindings/binding")
    binding = next(b for b in bindings if b.get("name") == "callcenter_configuration")
    url = binding.find("param[@name='gateway-url']")
    assert url is not None and url.get("bindings") == "configuration"
    # ?node= names this switch's node of ESL_NODES (empty as shipped: one node).
    assert url.get("value") == f"http://127.0.0.1:5000{CONFIGURATION_PATH}?node="
    p = params(binding)
    assert one(p, "auth-scheme") == "basic" and 0 < int(one(p, "timeout")) <= 10


def test_a_switch_given_its_node_asks_for_that_nodes_callcenter_conf(
    tmp_path: pathlib.Path,
) -> None:
    """callcenter_node set in vars.xml ends up in the configuration binding's URL, and
    the dashboard answers that URL with the node's own queues only."""
    from flask import Flask

    from dashboard.directory import CONFIGURATION_PATH, directory_blueprint
    from esl_controller.services.provisioning import ProvisioningStore
    from tests.unit.test_directory_xml_curl import auth, make_sessions

    variables = dict(CORE_VARS)
    preprocess(CONF / "freeswitch.xml", variables, [])
    assert variables["callcenter_node"] == ""  # as shipped: one node
    variables["callcenter_node"] = "fs2"  # what vars.xml's set line makes on fs2
    raw = (CONF / "autoload_configs" / "xml_curl.conf.xml").read_text("utf-8")
    line = next(x for x in COMMENT_RE.sub("", raw).splitlines()
                if "gateway-url" in x and CONFIGURATION_PATH in x)  # fmt: skip
    url = re.search(r'value="([^"]+)"', GLOBAL_RE.sub(lambda m: variables[m.group(1)], line))
    assert url is not None and url.group(1).endswith(f"{CONFIGURATION_PATH}?node=fs2")

    sessions = make_sessions(tmp_path / "cc.db")
    store = ProvisioningStore(sessions)
    store.add_queue("one@default")
    store.add_queue("two@default", node="fs2")
    app = Flask(__name__)
    app.register_blueprint(directory_blueprint(
        sessions, domain=DOMAIN, username=variables["callcenter_xml_curl_user"],
        password=variables["callcenter_xml_curl_password"], nodes=("fs1", "fs2")))  # fmt: skip
    path = url.group(1).removeprefix(variables["callcenter_url"])
    form = {"hostname": "fs2", "section": "configuration", "tag_name": "configuration",
            "key_name": "name", "key_value": "callcenter.conf"}  # fmt: skip
    headers = auth(variables["callcenter_xml_curl_user"], variables["callcenter_xml_curl_password"])
    body = app.test_client().post(path, data=form, headers=headers).get_data(as_text=True)
    assert '<queue name="two@default">' in body and "one@default" not in body


# What each dialplan application and media URL needs loaded.
APP_MODULES = {
    **dict.fromkeys(
        [
            "answer",
            "set",
            "export",
            "bridge",
            "hangup",
            "transfer",
            "echo",
            "park",
            "playback",
            "sleep",
            "eavesdrop",
            "att_xfer",
            "log",
            "ring_ready",
            "pre_answer",
        ],
        "mod_dptools",
    ),  # fmt: skip
    "callcenter": "mod_callcenter",
    "callcenter_track": "mod_callcenter",
}


def test_modules_cover_what_the_configuration_uses(document: ET.Element) -> None:
    modules = [
        m.get("module", "")
        for m in configuration(document, "modules.conf").iterfind("modules/load")
    ]
    assert len(modules) == len(set(modules))
    required = {
        "mod_console", "mod_logfile", "mod_event_socket", "mod_sofia", "mod_callcenter",
        "mod_xml_curl", "mod_dptools", "mod_dialplan_xml", "mod_commands", "mod_opus",
        "mod_local_stream", "mod_sndfile", "mod_loopback", "mod_tone_stream",
    }  # fmt: skip
    assert required <= set(modules)
    # Not in every build: listed but missing, it logs CRIT at every start.
    assert "mod_spandsp" not in modules
    assert modules.index("mod_xml_curl") < modules.index("mod_sofia")
    used = {a.get("application", "") for a in document.iter() if a.tag in ("action", "anti-action")}
    unknown = used - set(APP_MODULES)
    assert not unknown, f"applications with no module listed here: {unknown}"
    assert {APP_MODULES[a] for a in used} <= set(modules)
    text = ET.tostring(document, encoding="unicode")
    for scheme, module in (("tone_stream://", "mod_tone_stream"),
                           ("local_stream://", "mod_local_stream"),
                           ("loopback/", "mod_loopback"), ("sofia/", "mod_sofia")):  # fmt: skip
        if scheme in text:
            assert module in modules


def test_music_on_hold_streams_exist_for_every_codec_rate(
    expanded: tuple[ET.Element, dict[str, str], list[pathlib.Path]],
) -> None:
    """local_stream://moh resolves at every rate without falling through to "default"
    (which logs a warning), and every stream plays the shipped folder."""
    document, variables, _ = expanded
    streams = {d.get("name"): d for d in configuration(document, "local_stream.conf")}
    assert {"default", "moh", "moh/16000", "moh/48000"} <= set(streams)
    assert variables["hold_music"] == "local_stream://moh"
    assert variables["hold_music_dir"] == f"{CORE_VARS['conf_dir']}/sounds/moh"
    for stream in streams.values():
        assert stream.get("path") == variables["hold_music_dir"]


def test_the_shipped_hold_music_is_the_projects_own_small_wav(tmp_path: pathlib.Path) -> None:
    import runpy
    import wave

    folder = CONF / "sounds" / "moh"
    files = sorted(folder.iterdir())
    # mod_local_stream tries to play every regular file of the folder, README included.
    assert [f.name for f in files] == ["callcenter-hold.wav"]
    shipped = files[0]
    assert shipped.stat().st_size <= 300_000
    with wave.open(str(shipped)) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, 8000)
        assert w.getnframes() / w.getframerate() >= 15  # long enough not to nag
    # Made by the script next to it, byte for byte (the file's provenance).
    maker = runpy.run_path(str(CONF / "sounds" / "make_hold_music.py"))
    out = tmp_path / "hold.wav"
    maker["write"](maker["render"](), out)
    assert out.read_bytes() == shipped.read_bytes()


def test_opus_conf_keeps_fec(document: ET.Element) -> None:
    p = params(configuration(document, "opus.conf"), "settings/param")
    assert one(p, "keep-fec-enabled") == "1"
    assert one(p, "use-vbr") == "1"


def test_rtp_range_is_explicit(document: ET.Element) -> None:
    p = params(configuration(document, "switch.conf"), "settings/param")
    start, end = int(one(p, "rtp-start-port")), int(one(p, "rtp-end-port"))
    assert 1024 < start < end <= 65535 and end - start >= 1000


# -- the directory -------------------------------------------------------------------


def test_no_user_has_a_plaintext_password(document: ET.Element) -> None:
    users = list(document.iter("user"))
    assert len(users) == len(AGENTS)
    for user in users:
        names = {p.get("name") for p in user.iter("param")}
        assert names == {"a1-hash"}, f"user {user.get('id')} has {names}"
        (ha1,) = [p.get("value", "") for p in user.iter("param")]
        assert re.fullmatch(r"[0-9a-f]{32}", ha1)
    for path in (CONF / "directory").glob("*.xml"):
        for element in ET.fromstring(path.read_text("utf-8")).iter():
            name = (element.get("name") or "").lower()
            assert "password" not in name, f"{path}: {element.tag} {name}"


def test_directory_as_the_simulator_loads_it() -> None:
    variables = load_vars(CONF)
    assert variables["domain"] == DOMAIN
    users = {u.id: u for u in load_directory(CONF, variables)}
    assert sorted(users) == AGENTS
    for uid, user in users.items():
        assert user.domain == DOMAIN
        assert set(user.params) == {"a1-hash"}
        assert user.variables["callcenter_agent"] == f"{uid}@default"
        assert user.variables["user_context"] == "default"
        assert user.variables["callcenter_role"] == "agent"
        assert user.variables["eavesdrop_group"] == f"{uid}@{DOMAIN}"
        assert user.variables["effective_caller_id_number"] == uid
    # the demo's hashes are not made from guessable passwords
    for uid, user in users.items():
        for guess in (uid, "1234", "password", "ClueCon"):
            weak = hashlib.md5(f"{uid}:{DOMAIN}:{guess}".encode()).hexdigest()  # noqa: S324
            assert user.params["a1-hash"] != weak


# -- mod_callcenter --------------------------------------------------------------------

TIERS = {
    ("support@default", "1000@default", 1, 1), ("support@default", "1001@default", 1, 2),
    ("support@default", "1002@default", 1, 3), ("support@default", "1003@default", 1, 4),
    ("support@default", "1004@default", 1, 5), ("support@default", "1005@default", 1, 6),
    ("sales@default", "1004@default", 1, 1), ("sales@default", "1005@default", 1, 2),
    ("sales@default", "1006@default", 1, 3), ("sales@default", "1007@default", 1, 4),
    ("sales@default", "1008@default", 1, 5), ("sales@default", "1009@default", 1, 6),
    ("billing@default", "1006@default", 1, 1), ("billing@default", "1007@default", 1, 2),
    ("billing@default", "1008@default", 2, 3), ("billing@default", "1009@default", 2, 4),
}  # fmt: skip


def test_callcenter_as_the_simulator_loads_it() -> None:
    config = cc_config.load(CONF, load_vars(CONF))
    assert set(config.queues) == {"support@default", "sales@default", "billing@default"}
    strategies = {name: q.text("strategy") for name, q in config.queues.items()}
    assert strategies == {"support@default": "longest-idle-agent",
                          "sales@default": "ring-all", "billing@default": "top-down"}  # fmt: skip
    billing = config.queues["billing@default"]
    assert billing.flag("tier-rules-apply") and billing.number("tier-rule-wait-second") == 30
    for queue in config.queues.values():
        assert queue.text("moh-sound") == "local_stream://moh"
    assert [a.name for a in config.agents] == [f"{uid}@default" for uid in AGENTS]
    for agent in config.agents:
        uid = agent.name.split("@")[0]
        assert agent.contact == f"[leg_timeout=20]user/{uid}@{DOMAIN}"
        assert (agent.type, agent.status) == ("callback", "Logged Out")
        assert (agent.max_no_answer, agent.wrap_up_time) == (3, 15)
        assert (agent.reject_delay_time, agent.busy_delay_time) == (10, 30)
        assert agent.no_answer_delay_time == 15
    assert {(t.queue, t.agent, t.level, t.position) for t in config.tiers} == TIERS
    assert len(config.tiers) == len(TIERS)
    assert config.settings["agent-originate-timeout"] == "30"


# -- the dialplan ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def dialplan() -> Dialplan:
    return Dialplan(load_vars(CONF)).load(CONF)


def route(
    dialplan: Dialplan, destination: str, context: str = "default", **variables: str
) -> list[tuple[str, str]]:
    channel = Channel(
        "sofia/webrtc/1000@callcenter.local", "inbound",
        Profile(caller_id_number="1000", destination=destination, context=context),
        variables=dict(variables),
    )  # fmt: skip
    return [
        (a.application, expand(a.data, channel, dialplan.global_vars))
        for a in dialplan.route(channel)
    ]


AGENT_1000 = {"callcenter_agent": "1000@default", "callcenter_role": "agent"}
SUPERVISOR = {"callcenter_role": "supervisor"}


def test_dialplan_contexts_and_extensions(dialplan: Dialplan) -> None:
    assert set(dialplan.contexts) == {"default", "public"}
    names = [e.name for e in dialplan.contexts["default"]]
    for name in ("queue_support", "queue_sales", "queue_billing", "agents", "echo", "hold_music",
                 "track_agent_calls", "local_extension", "outbound_pstn",
                 "supervisor_listen", "supervisor_whisper", "supervisor_barge"):  # fmt: skip
        assert names.count(name) == 1, name
    assert names[0] == "track_agent_calls"  # before every extension it tracks
    # The simulator's callers find the queue numbers by the callcenter application.
    queues = [
        c.expression
        for e in dialplan.contexts["default"]
        if any(a.application == "callcenter" for c in e.conditions for a in c.actions)
        for c in e.conditions
        if c.header == "destination_number"
    ]
    assert queues == ["^5000$", "^5001$", "^5002$"]


def test_every_application_is_one_the_simulator_runs(dialplan: Dialplan) -> None:
    supported = set(apps.BUILTIN) | {"callcenter", "callcenter_track"}
    for extensions in dialplan.contexts.values():
        for ext in extensions:
            for cond in ext.conditions:
                for action in cond.actions + cond.anti_actions:
                    assert action.application in supported, (ext.name, action.application)


def test_queue_numbers_are_not_tracked(dialplan: Dialplan) -> None:
    assert route(dialplan, "5000", **AGENT_1000) == [
        ("answer", ""), ("set", "hangup_after_bridge=true"),
        ("set", "force_transfer_context=default"), ("callcenter", "support@default"),
    ]  # fmt: skip


def test_agent_outbound_call_is_tracked_before_the_bridge(dialplan: Dialplan) -> None:
    actions = route(dialplan, "+15551234567", **AGENT_1000)
    assert actions[0] == ("callcenter_track", "1000@default")
    assert ("bridge", "sofia/gateway/carrier/15551234567") in actions
    assert actions.index(("callcenter_track", "1000@default")) < actions.index(
        ("bridge", "sofia/gateway/carrier/15551234567")
    )
    assert ("set", "effective_caller_id_number=0000000000") in actions
    assert ("set", "effective_caller_id_name=Call Center") in actions
    assert actions[-1] == ("hangup", "")  # ${originate_disposition}: set by a failed bridge
    assert [a for a, _ in actions].count("callcenter_track") == 1


def test_click_to_call_leg_is_routed_but_not_tracked_again(dialplan: Dialplan) -> None:
    # The loopback leg of the controller's click-to-call has no directory variables
    # (the agent's own leg ran callcenter_track on answer).
    actions = route(dialplan, "5551234567")
    assert "callcenter_track" not in [a for a, _ in actions]
    assert ("bridge", "sofia/gateway/carrier/5551234567") in actions


def test_calls_to_colleagues_are_tracked(dialplan: Dialplan) -> None:
    actions = route(dialplan, "1001", **AGENT_1000)
    assert actions[0] == ("callcenter_track", "1000@default")
    assert ("bridge", f"user/1001@{DOMAIN}") in actions
    actions = route(dialplan, "2000", **AGENT_1000)
    assert actions[0] == ("callcenter_track", "1000@default")
    assert ("bridge", f"user/2000@{DOMAIN}") in actions


SAMPLE_DESTINATIONS = (
    "1000", "1009", "1010", "4999", "1234567", "+123456789012345", "5000", "5999", "9196",
    "999", "123456", "1234567890123456", "*331001",
)  # fmt: skip


def test_tracking_never_happens_without_a_route(dialplan: Dialplan) -> None:
    """track_agent_calls continues: whatever it tracks, a later extension must route."""
    for destination in SAMPLE_DESTINATIONS:
        apps_run = [a for a, _ in route(dialplan, destination, **AGENT_1000)]
        if "callcenter_track" in apps_run:
            assert "bridge" in apps_run, destination
    assert route(dialplan, "123456", **AGENT_1000) == []  # too short for the PSTN: no route
    assert route(dialplan, "1234567890123456", **AGENT_1000) == []


@pytest.mark.parametrize(
    ("prefix", "whisper"),
    [("*33", set()), ("*34", {"eavesdrop_whisper_bleg"}),
     ("*35", {"eavesdrop_whisper_aleg", "eavesdrop_whisper_bleg"})],
)  # fmt: skip
def test_supervisor_eavesdrop_extensions(
    dialplan: Dialplan, prefix: str, whisper: set[str]
) -> None:
    actions = route(dialplan, f"{prefix}1001", **SUPERVISOR)
    assert actions[0] == ("set", f"eavesdrop_require_group=1001@{DOMAIN}")
    assert ("answer", "") in actions and actions[-1] == ("eavesdrop", "all")
    sets = {d.partition("=")[0]: d.partition("=")[2] for a, d in actions if a == "set"}
    assert {k for k, v in sets.items() if k.startswith("eavesdrop_whisper")} == whisper
    assert all(sets[k] == "true" for k in whisper)
    assert sets["eavesdrop_enable_dtmf"] == "true"
    assert "callcenter_track" not in [a for a, _ in actions]
    # The group it looks for is the one every agent leg carries.
    users = {u.id: u for u in load_directory(CONF, load_vars(CONF))}
    assert sets["eavesdrop_require_group"] == users["1001"].variables["eavesdrop_group"]
    assert "eavesdrop_group=${dialed_user}@${dialed_domain}" in (
        (CONF / "directory" / "default.xml").read_text("utf-8")
    )


@pytest.mark.parametrize("prefix", ["*33", "*34", "*35"])
def test_agents_cannot_eavesdrop(dialplan: Dialplan, prefix: str) -> None:
    actions = route(dialplan, f"{prefix}1001", **AGENT_1000)
    assert "eavesdrop" not in [a for a, _ in actions]
    assert actions[-1] == ("hangup", "CALL_REJECTED")
    assert "eavesdrop" not in [a for a, _ in route(dialplan, f"{prefix}1001")]


def test_feature_codes_and_public_dids(dialplan: Dialplan) -> None:
    assert route(dialplan, "9196", **AGENT_1000) == [("answer", ""), ("echo", "")]
    assert route(dialplan, "9664") == [("answer", ""), ("playback", "local_stream://moh")]
    assert route(dialplan, "+15550100", context="public") == [("transfer", "5000 XML default")]
    assert route(dialplan, "15550101", context="public") == [("transfer", "5001 XML default")]
    assert route(dialplan, "15550102", context="public") == [("transfer", "5002 XML default")]
    # Nothing else from outside reaches the default context (no toll fraud route).
    for destination in ("1000", "5000", "15551234567", "*331001", "9196"):
        assert route(dialplan, destination, context="public") == []


def test_simulator_expands_the_same_globals() -> None:
    """The simulator and FreeSWITCH agree on what vars.xml sets (plain set lines)."""
    variables = load_vars(CONF)
    text = (CONF / "dialplan" / "default.xml").read_text("utf-8")
    assert "$${" not in expand_globals(COMMENT_RE.sub("", text), variables)
    assert variables["pstn_gateway"] == "carrier"
    assert variables["hold_music"] == "local_stream://moh"
