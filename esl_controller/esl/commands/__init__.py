"""Typed builders for every ESL command the product sends.

Each builder validates every argument against what FreeSWITCH accepts and returns an
:class:`ApiCommand`; nothing a user typed reaches FreeSWITCH any other way. These are also
the security boundary of the ESL console.
"""

from esl_controller.esl.commands.base import ApiCommand

__all__ = ["ApiCommand"]
