"""The client's failures, each worded as the one line the user reads, with its exit status."""

from __future__ import annotations


class ClientError(Exception):
    """Something the user must fix or wait out before the command can work (no or expired token, an
    unknown zone, a zone that refuses the token or does not answer): exit status 2."""

    exit_status = 2


class ZoneDown(ClientError):
    """A zone did not answer, or answered that its hub or identity provider cannot be reached."""


class ZoneRefused(ClientError):
    """A zone refused the token (401, or 403 when its admission rules leave the user out)."""


class OperationFailed(ClientError):
    """The zone answered but the operation did not succeed (a start refused or failed): exit status
    1, so that scripts can tell a failed spawn from a command that could not run at all."""

    exit_status = 1
