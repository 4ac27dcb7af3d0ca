"""``type=`` functions for the engine's flags and variables: a bad value is one line naming
the flag (argparse's usage error, exit code 2), never a traceback."""

from __future__ import annotations

import argparse
import math
from typing import NoReturn

__all__ = [
    "LOG_LEVELS",
    "OneLineErrorParser",
    "count",
    "known_log_level",
    "log_level",
    "non_negative_seconds",
    "port_number",
    "positive_count",
    "positive_seconds",
]

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
"""The log levels ``--log-level`` takes (any case)."""


class OneLineErrorParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose usage errors are one line (exit code 2), not a usage
    block followed by the message."""

    def error(self, message: str) -> NoReturn:
        """Print ``<prog>: error: <message>`` and exit with code 2."""
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def port_number(text: str) -> int:
    """A TCP port, 1-65535."""
    value = _integer(text, "port number")
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{value} is not a port (1-65535)")
    return value


def count(text: str) -> int:
    """A whole number, 0 or more."""
    value = _integer(text, "whole number")
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} must be 0 or more")
    return value


def positive_count(text: str) -> int:
    """A whole number, 1 or more."""
    value = _integer(text, "whole number")
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be 1 or more")
    return value


def positive_seconds(text: str) -> float:
    """A finite number of seconds above 0."""
    value = _seconds(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text} must be more than 0 seconds")
    return value


def non_negative_seconds(text: str) -> float:
    """A finite number of seconds, 0 or more."""
    value = _seconds(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text} must be 0 seconds or more")
    return value


def log_level(text: str) -> str:
    """A log level in capitals (``--log-level`` also lists :data:`LOG_LEVELS` as choices)."""
    return text.strip().upper()


def known_log_level(text: str) -> str:
    """A log level of :data:`LOG_LEVELS` in capitals (for a variable: no ``choices=`` there)."""
    level = log_level(text)
    if level not in LOG_LEVELS:
        raise argparse.ArgumentTypeError(
            f"invalid choice: {text!r} (choose from {', '.join(LOG_LEVELS)})"
        )
    return level


def _integer(text: str, what: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a {what}: {text!r}") from None


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"not a finite number of seconds: {text!r}")
    return value
