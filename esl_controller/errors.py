"""Typed errors with stable codes.

Every error the product raises on purpose carries a machine code (stable, used by API
clients and tests) and an HTTP status that the web edge maps it to. Nothing here knows
about Flask: the dashboard reads ``code`` and ``http_status``.
"""

from __future__ import annotations


class CallCenterError(Exception):
    """Base class: a failure with a stable code and the HTTP status it maps to."""

    code = "internal_error"
    http_status = 500

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code

    def as_dict(self) -> dict[str, dict[str, str]]:
        return {"error": {"code": self.code, "message": self.message}}


class InvalidArgument(CallCenterError):
    """A value that cannot go into an ESL command (injection, bad grammar, too long)."""

    code = "invalid_argument"
    http_status = 400


class EslError(CallCenterError):
    """Anything that went wrong talking to FreeSWITCH."""

    code = "esl_error"
    http_status = 502


class EslUnavailable(EslError):
    """FreeSWITCH cannot be reached right now (not connected, reconnecting)."""

    code = "freeswitch_unavailable"
    http_status = 503


class EslUnreachable(EslUnavailable):
    """TCP connect failed: nothing listens, or the host is unreachable."""

    code = "freeswitch_unreachable"


class EslRejected(EslUnavailable):
    """FreeSWITCH's inbound ACL refused us (``text/rude-rejection``)."""

    code = "freeswitch_acl_rejected"


class EslAuthFailed(EslUnavailable):
    """Wrong ESL password: FreeSWITCH answered ``-ERR invalid`` and hung up."""

    code = "freeswitch_auth_failed"


class EslConnectionLost(EslUnavailable):
    """The connection went away while a command was waiting for its reply."""

    code = "freeswitch_connection_lost"


class EslTimeout(EslUnavailable):
    """No reply within the command's time limit."""

    code = "freeswitch_timeout"
    http_status = 504


class EslProtocolError(EslError):
    """A frame that does not follow the ESL wire format."""

    code = "esl_protocol_error"


class CommandFailed(EslError):
    """FreeSWITCH answered the command with an error (``-ERR ...``, ``-ERROR``)."""

    code = "command_failed"
    http_status = 409

    def __init__(self, message: str, *, reply: str = "", code: str | None = None) -> None:
        super().__init__(message, code=code)
        self.reply = reply


class NotFound(CommandFailed):
    """The agent, queue, tier or channel named does not exist in FreeSWITCH."""

    code = "not_found"
    http_status = 404
