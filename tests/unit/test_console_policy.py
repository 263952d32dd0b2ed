"""The console allowlist: what an engineer may send, and what never reaches FreeSWITCH."""

import pytest

from esl_controller.errors import InvalidArgument
from esl_controller.esl.console_policy import console_command


@pytest.mark.parametrize(
    "line",
    [
        "status",
        "show channels as json",
        "callcenter_config agent list",
        "sofia status profile internal reg",
        "uuid_kill 6f1c2b7e-0d4a-4f3b-9a55-1f2e3d4c5b6a",
    ],
)
def test_allowed_commands_pass_unchanged(line: str) -> None:
    assert console_command(f"  {line} ") == line


@pytest.mark.parametrize(
    "line",
    [
        "system rm -rf /",
        "bg_system reboot",
        "lua evil.lua",
        "load mod_lua",
        "reload mod_callcenter",
        "fsctl shutdown",
        "shutdown",
        "hupall NORMAL_CLEARING",
        "originate user/1000 &system(ls)",
        "sofia profile internal restart",
        "uuid_transfer 6f1c2b7e-0d4a-4f3b-9a55-1f2e3d4c5b6a 'system:ls' inline",
    ],
)
def test_dangerous_commands_are_refused(line: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        console_command(line)
    assert err.value.code == "console_refused"


@pytest.mark.parametrize(
    "line",
    [
        "status\napi system reboot",
        "status\r\nexit",
        "global_getvar ${system(reboot)}",
        "show channels $${hostname}",
        "",
        "   ",
        "status " + "x" * 2000,
    ],
)
def test_injection_and_garbage_are_refused(line: str) -> None:
    with pytest.raises(InvalidArgument):
        console_command(line)
