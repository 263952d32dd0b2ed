"""The console allowlist: every line becomes a typed command or is refused with a reason.

The refusal corpus holds the known bypasses (``json`` fsapi, ``INLINE``, dial-string
variables in a contact), case and whitespace variants, CR/LF, NUL, Unicode look-alikes and
overlong lines. The web and terminal consoles run the same :class:`ConsolePolicy`; the
web API test and the wire tests send parts of this corpus through each of them.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from esl_controller.errors import InvalidArgument
from esl_controller.esl.console_policy import (
    DEFAULT_POLICY,
    PARSERS,
    SIMULATOR_COMMANDS,
    UUID_COMMANDS,
    ConsolePolicy,
    complete_command,
    console_command,
    refusal_for,
)

U = "6f1c2b7e-0d4a-4f3b-9a55-1f2e3d4c5b6a"
U2 = "0b7e3a52-64a1-4f0e-8d0b-6a1c2f3e4d5c"

ACCEPTED = [
    ("status", "status"),
    ("  STATUS ", "status"),
    ("Version", "version"),
    ("show channels", "show channels"),
    ("show channels as json", "show channels as json"),
    ("SHOW Calls Count", "show calls count"),
    ("callcenter_config agent list", "callcenter_config agent list"),
    ("callcenter_config queue count", "callcenter_config queue count"),
    ("callcenter_config queue list members support@default",
     "callcenter_config queue list members support@default"),
    ("callcenter_config agent set status 1000@default 'On Break'",
     "callcenter_config agent set status 1000@default 'On Break'"),
    ("callcenter_config AGENT SET STATUS 1000@default on break",
     "callcenter_config agent set status 1000@default 'On Break'"),
    ("callcenter_config agent set contact 1000@default user/1000@example.com",
     "callcenter_config agent set contact 1000@default user/1000@example.com"),
    ("callcenter_config tier add support@default 1000@default 2 3",
     "callcenter_config tier add support@default 1000@default 2 3"),
    ('json {"command":"callcenter_config","data":{"arguments":"agent list"}}',
     'json {"command":"callcenter_config","data":{"arguments":"agent list"}}'),
    ("sofia status profile internal reg", "sofia status profile internal reg"),
    (f"uuid_kill {U}", f"uuid_kill {U}"),
    (f"uuid_kill {U.upper()} normal_clearing", f"uuid_kill {U} NORMAL_CLEARING"),
    (f"uuid_transfer {U} -bleg 1001 xml default", f"uuid_transfer {U} -bleg 1001 XML default"),
    (f"uuid_hold toggle {U}", f"uuid_hold toggle {U}"),
    (f"uuid_setvar {U} my_note hello", f"uuid_setvar {U} my_note hello"),
    (f"uuid_bridge {U} {U2}", f"uuid_bridge {U} {U2}"),
    ("originate user/1000 &park()", "originate user/1000 &park()"),
    ("originate loopback/1001/default 5000 XML default",
     "originate loopback/1001/default 5000 XML default"),
    ("global_getvar domain", "global_getvar domain"),
    ("console_complete callcenter_config ag", "console_complete c=20;callcenter_config ag"),
]  # fmt: skip


@pytest.mark.parametrize(("line", "sent"), ACCEPTED)
def test_accepted_lines_become_the_builders_command(line: str, sent: str) -> None:
    assert DEFAULT_POLICY.parse(line).line == sent


def test_console_command_keeps_its_first_contract() -> None:
    assert console_command("  status ") == "status"


HOSTILE = [
    # programs, scripts, code, the switch itself: in any case
    "system rm -rf /", "SYSTEM rm -rf /", "System ls", "sYsTeM ls", "bg_system reboot",
    "BG_SYSTEM reboot", "spawn /bin/sh", "bg_spawn /bin/sh", "spawn_stream /bin/sh",
    "lua evil.lua", "LUA evil.lua", "luarun evil.lua", "lua_run x", "jsrun evil.js",
    "js evil.js", "JSRUN evil.js", "jsapi x", "perlrun evil.pl", "perl x", "python evil",
    "pyrun evil", "PYTHON evil", "v8run x", "load mod_lua", "LOAD mod_lua", "unload mod_sofia",
    "reload mod_callcenter", "Reload mod_callcenter", "fsctl shutdown", "FSCTL pause",
    "fsctl loglevel debug", "shutdown", "Shutdown", "SHUTDOWN now", "hupall NORMAL_CLEARING",
    "hupall normal_clearing callcenter_queue support", "HUPALL", "fsapi system ls",
    "bgapi system ls", "BGAPI status", "expand system ls", "eval ${system(ls)}",
    "sched_api +1 none system ls", "sched_transfer +1 " + U + " x inline",
    "global_setvar foo=bar", "xml_locate directory", "user_data 1000@default attr password",
    "db insert/x/y/z", "hash insert/a/b/c", f"uuid_broadcast {U} system::ls aleg",
    f"uuid_record {U} start /etc/passwd",
    # json: only mod_callcenter's queries; fsapi runs anything
    'json {"command":"fsapi","data":{"cmd":"system","arg":"reboot"}}',
    'JSON {"command":"fsapi","data":{"cmd":"system","arg":"reboot"}}',
    'json   {"command":"fsapi","data":{"cmd":"status"}}',
    'json {"command":"FSAPI","data":{"cmd":"system"}}',
    'json {"command":"callcenter_config","data":{"arguments":"agent list"},"x":1}',
    'json {"command":"callcenter_config","data":{"arguments":"agent del 1000@default"}}',
    'json {"command":"callcenter_config","data":{"arguments":"agent list","cmd":"system"}}',
    'json ["fsapi"]', "json not json", "json",
    # the inline dialplan, in every spelling
    f"uuid_transfer {U} 'system:ls' inline", f"uuid_transfer {U} 'system:ls' INLINE",
    f"uuid_transfer {U} lua:evil.lua Inline", f"uuid_transfer {U} -both x InLiNe",
    f"UUID_TRANSFER {U} 1000 inline", f"uuid_transfer {U} 1000 xml_curl",
    f"uuid_transfer {U} system:ls", f"uuid_transfer {U} 1000 XML default extra",
    # dial-string variables in a contact or an originate
    "callcenter_config agent set contact 1000@default [api_on_answer=system ls]user/1000",
    "callcenter_config agent set contact 1000@default [api_on_answer=system]user/1000",
    "callcenter_config agent set contact 1000@default {execute_on_answer=lua x}user/1000",
    "CALLCENTER_CONFIG AGENT SET CONTACT 1000@default {api_on_answer=system}user/1000",
    "callcenter_config agent set contact 1000@default <api_on_ring=system>user/1000",
    "callcenter_config agent set contact 1000@default 'user/1000 &system(ls)'",
    "callcenter_config agent set contact 1000@default user/1000,lua/x",
    "originate {api_on_answer=system ls}user/1000 &park()",
    "originate [execute_on_answer=system]user/1000 &park()",
    "originate {origination_uuid=x}user/1000 &park()",
    "originate user/1000 &system(ls)", "originate user/1000 &lua(evil.lua)",
    "originate user/1000 'system:ls' inline", "originate user/1000 x INLINE",
    "originate user/1000", "originate sofia/internal/x@evil &park()x",
    # channel variables FreeSWITCH executes
    f"uuid_setvar {U} api_on_answer system", f"uuid_setvar {U} API_ON_ANSWER x",
    f"uuid_setvar {U} execute_on_answer lua", f"uuid_setvar {U} Execute_On_Ring x",
    f"uuid_setvar {U} api_hangup_hook system", f"uuid_setvar {U} session_in_hangup_hook true",
    f"uuid_setvar {U} exec_after_bridge_app system",
    f"uuid_setvar {U} bridge_pre_execute_aleg_app x",
    f"uuid_setvar {U} transfer_after_bridge x", f"uuid_setvar {U} nibble 'a b'",
    # expansion anywhere
    "global_getvar ${system(reboot)}", "show channels $${hostname}", "status ${x}",
    "callcenter_config agent list ${system(ls)}", f"uuid_getvar {U} ${{system(ls)}}",
    'json {"command":"callcenter_config","data":{"arguments":"${system(ls)}"}}',
    # one line only: CR, LF, NUL, other control characters
    "status\napi system reboot", "status\r\nexit", "status\rapi system ls", "status\n\n",
    "status\x00system ls", "\x00", "status\tx", "status\x1b[2J", "status\x7f", "show\x0bchannels",
    "status\u2028system ls", "status\u0085system ls",
    # Unicode look-alikes and non-ASCII
    "ｓｙｓｔｅｍ ls", "sуstem ls", "ѕystem ls", "status\u00a0now", "st\u200batus", "stat\u00fcs",
    "callcenter_config agent set contact 1000@default user/1000\uff3bx\uff3d",
    # overlong and empty
    "status " + "x" * 2000, "x" * 1025, " " * 1100 + "status", "", "   ",
    # not on the allowlist / not a sub-command it allows
    "sofia profile internal restart", "sofia profile internal flush_inbound_reg",
    "SOFIA profile internal killgw x", "sofia global siptrace on", "sofia loglevel all 9",
    "callcenter_config queue unload_all x", "callcenter_config agent set foo 1000 1",
    "callcenter_config member del x y", "callcenter_config agent add 'a b'",
    "callcenter_config agent add 1000@default; system ls", "tier add", "sim_restart 3",
    "log crit x", "msleep 100000", "conference x kick all", "uuid_kill not-a-uuid",
    f"uuid_kill {U} not_a_cause", f"uuid_send_dtmf {U} 1;system", "show channels; system ls",
    "status; system ls", "status | system ls", "status && system ls", "status `ls`",
    # secrets stay on the switch
    "global_getvar", "global_getvar default_password", "GLOBAL_GETVAR DEFAULT_PASSWORD",
    "global_getvar wss_cert_key",
]  # fmt: skip


def test_the_corpus_is_big_enough() -> None:
    assert len(HOSTILE) >= 100
    assert len(set(HOSTILE)) == len(HOSTILE)


@pytest.mark.parametrize("line", HOSTILE)
def test_hostile_lines_are_refused_with_a_reason(line: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        DEFAULT_POLICY.parse(line)
    assert err.value.code == "console_refused"
    assert err.value.message


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ('json {"command":"fsapi","data":{"cmd":"system"}}', "json fsapi runs any API"),
        (f"uuid_transfer {U} 'system:ls' INLINE", "inline dialplan"),
        ("callcenter_config agent set contact 1000@default [api_on_answer=system]user/1000",
         "variables in an agent contact"),
        ("SYSTEM ls", "runs programs"),
        ("sуstem ls", "only ASCII"),
        ("status\r\nexit", "one line"),
        ("global_getvar ${system(reboot)}", "variable expansion"),
    ],
)  # fmt: skip
def test_the_reason_names_the_danger(line: str, reason: str) -> None:
    with pytest.raises(InvalidArgument, match=reason.replace("(", r"\(")):
        DEFAULT_POLICY.parse(line)


def test_simulator_controls_only_against_the_simulator() -> None:
    assert ConsolePolicy(simulator=True).parse("sim_restart 3").line == "sim_restart 3"
    with pytest.raises(InvalidArgument):
        ConsolePolicy(simulator=True).parse("sim_caller 5000 ${system(ls)}")
    with pytest.raises(InvalidArgument):
        DEFAULT_POLICY.parse("sim_restart 3")


def test_configuration_widens_but_never_to_the_refused() -> None:
    policy = ConsolePolicy(["conference"])
    assert policy.parse("conference list").line == "conference list"
    with pytest.raises(InvalidArgument):
        policy.parse("conference 3000 dial {api_on_answer=system}user/1000")
    for word in ("system", "LUA", "jsrun", "fsctl", "hupall"):
        with pytest.raises(ValueError):
            ConsolePolicy([word])


def test_completion_keeps_the_trailing_space() -> None:
    assert complete_command("callcenter_config ").line == "console_complete c=18;callcenter_config "
    with pytest.raises(InvalidArgument):
        complete_command("status\nsystem ls")


# -- property: whatever is typed, at most one ESL command leaves ------------------------

WORDS = [*PARSERS, *UUID_COMMANDS, *SIMULATOR_COMMANDS, "json", "console_complete", "system",
         "agent", "tier", "queue", "set", "status", "contact", "list", "add", "inline", "XML",
         "1000@default", "support@default", U, "&park()", "user/1000", "'On Break'", "as",
         "json", '{"command":"callcenter_config","data":{"arguments":"agent list"}}']  # fmt: skip
NASTY = st.sampled_from(["\n", "\r", "\x00", "\r\n", "${", "$${", "}", "{", "[", "]", "'", '"',
                         "\t", " ", "\u2028", "ｓ", ";", "&", "|", "`", "\\"])  # fmt: skip
TOKEN = st.one_of(st.sampled_from(WORDS), st.text(max_size=12), NASTY)


def frame_commands(frame: bytes) -> int:
    """How many commands FreeSWITCH would read from these bytes: it reads a command up to
    a blank line, and a lone CR or LF already ends a header line."""
    assert frame.endswith(b"\n\n")
    head = frame[: -len(b"\n\n")]
    return 1 + sum(head.count(sep) for sep in (b"\n", b"\r", b"\x00"))


@settings(max_examples=400, deadline=None)
@given(st.lists(TOKEN, min_size=1, max_size=8), st.booleans())
def test_no_accepted_line_yields_more_than_one_esl_command(tokens: list[str], sim: bool) -> None:
    line = " ".join(tokens)
    policy = ConsolePolicy(simulator=sim)
    try:
        built = policy.parse(line)
    except InvalidArgument:
        return
    frame = f"api {built.line}\n\n".encode()
    assert frame_commands(frame) == 1
    assert built.line.isascii() and "${" not in built.line
    assert built.line.split(" ", 1)[0] == built.name.lower() or built.name == "json"


@st.composite
def near_misses(draw: st.DrawFn) -> str:
    """An accepted line with a few words changed, added, re-cased or glued to something
    hostile: mostly still accepted, so the property is tested on real commands."""
    words = draw(st.sampled_from([line for line, _ in ACCEPTED])).split(" ")
    for _ in range(draw(st.integers(0, 2))):
        at = draw(st.integers(0, len(words) - 1))
        how = draw(st.sampled_from(["replace", "insert", "upper", "glue", "keep"]))
        token = draw(TOKEN)
        if how == "replace":
            words[at] = token
        elif how == "insert":
            words.insert(at, token)
        elif how == "upper":
            words[at] = words[at].upper()
        elif how == "glue":
            words[at] = words[at] + token
    return " ".join(words)


def dialplan_word(words: list[str]) -> str:
    """The dialplan of a built ``originate <dial> <ext> <dialplan> <context>`` or
    ``uuid_transfer <uuid> [-bleg|-both] <dest> <dialplan> <context>`` line."""
    if words[0] == "originate":
        return words[3] if len(words) > 3 else ""
    rest = words[2:]
    if rest and rest[0] in ("-bleg", "-both"):
        rest = rest[1:]
    return rest[1] if len(rest) > 1 else ""


@settings(max_examples=600, deadline=None)
@given(near_misses(), st.booleans())
def test_no_near_miss_yields_more_than_one_esl_command(line: str, sim: bool) -> None:
    try:
        built = ConsolePolicy(simulator=sim).parse(line)
    except InvalidArgument:
        return
    assert frame_commands(f"api {built.line}\n\n".encode()) == 1
    assert built.line.isascii() and "${" not in built.line
    assert all(" " <= c <= "~" for c in built.line)
    words = built.line.split(" ")
    assert refusal_for(words[0].lower()) is None or words[0] == "json"
    if words[0] in ("originate", "uuid_transfer"):
        # The dialplan word is never "inline" (an extension may be called anything:
        # "originate user/1000 inline XML default" dials the XML extension "inline").
        assert dialplan_word(words).lower() != "inline", built.line
    if words[0] == "originate" or words[:4] == ["callcenter_config", "agent", "set", "contact"]:
        assert not any(c in built.line for c in "{}[]<>")
    if words[0] == "json":
        assert '"command":"callcenter_config"' in built.line
