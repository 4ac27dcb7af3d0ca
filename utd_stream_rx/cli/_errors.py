"""The CLI's own error."""

from __future__ import annotations

__all__ = ["CliError"]


class CliError(Exception):
    """A problem the user can fix, reported without a traceback (exit code 1)."""
