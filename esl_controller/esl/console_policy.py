"""What an engineer may send from the ESL console (browser or terminal), and how.

The console is the one place where typed text goes to FreeSWITCH nearly as typed, so it
is an allowlist, not a denylist: only the commands listed run, as ``api`` commands, one
line each. Anything that runs programs or scripts (``system``, ``bg_system``, ``spawn``,
``lua``, ``jsrun``, ``perlrun``), loads or unloads code (``load``, ``reload``,
``unload``), stops the switch (``shutdown``, ``fsctl``) or hangs up everyone (``hupall``)
is refused, and so is variable expansion (``${...}``), which can call APIs from inside
an argument.
"""

from __future__ import annotations

from esl_controller.errors import InvalidArgument

MAX_CONSOLE_LINE = 1024

ALLOWED_COMMANDS: frozenset[str] = frozenset(
    {
        "status",
        "version",
        "uptime",
        "hostname",
        "show",
        "sofia",
        "sofia_contact",
        "callcenter_config",
        "create_uuid",
        "global_getvar",
        "reloadxml",
        "json",
        "uuid_dump",
        "uuid_exists",
        "uuid_getvar",
        "uuid_kill",
        "uuid_hold",
        "uuid_send_dtmf",
        "uuid_break",
        "uuid_bridge",
        "uuid_transfer",
        "help",
    }
)
# "sofia" is allowed for its read-only views only: profile restarts and flushes drop calls.
SOFIA_READ_ONLY = ("status", "xmlstatus", "global siptrace", "help")


def console_command(line: str) -> str:
    """Validate one console line; return the command to send after ``api ``."""
    text = line.strip()
    if not text:
        raise InvalidArgument("empty command")
    if len(text) > MAX_CONSOLE_LINE:
        raise InvalidArgument(f"command longer than {MAX_CONSOLE_LINE} characters")
    if any(ch in text for ch in "\r\n\x00"):
        raise InvalidArgument("a console command is one line")
    if "${" in text or "$${" in text:
        raise InvalidArgument("variable expansion (${...}) is not allowed from the console")
    word, _, rest = text.partition(" ")
    if word not in ALLOWED_COMMANDS:
        raise InvalidArgument(f"{word!r} is not allowed from the console", code="console_refused")
    if word == "sofia" and not rest.startswith(SOFIA_READ_ONLY):
        raise InvalidArgument("only read-only sofia commands are allowed", code="console_refused")
    if word == "uuid_transfer" and "inline" in rest.split():
        raise InvalidArgument("inline dialplan transfers are not allowed", code="console_refused")
    return text
