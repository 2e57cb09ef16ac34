"""The root of every error CreditGraph reports to its user.

``str(error)`` is the message for the user: what went wrong and what to do, written where it
is raised. Each kind says once what the command line exits with (``exit_code``) and what the
HTTP API answers (``http_status`` and ``code``); the CLI (``cli.app``) and the API
(``api.errors``) each map the root in one place, so a new kind needs no new handler.
"""

from __future__ import annotations

from typing import ClassVar


class CreditGraphError(Exception):
    """A refusal or failure with a message meant for the user (see the module docstring)."""

    exit_code: ClassVar[int] = 2
    http_status: ClassVar[int] = 422
    code: ClassVar[str] = "invalid"
