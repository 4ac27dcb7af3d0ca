"""``type=`` functions for the CLI's numbers: each refuses a bad value with one line."""

from __future__ import annotations

import argparse
import math

__all__ = ["non_negative_seconds", "port_number", "positive_seconds"]


def port_number(text: str) -> int:
    """A TCP port, 1-65535."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port (1-65535)")
    return port


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"not a finite number of seconds: {text!r}")
    return value


def positive_seconds(text: str) -> float:
    """A finite number of seconds above 0."""
    value = _seconds(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text} must be more than 0 seconds")
    return value


def non_negative_seconds(text: str) -> float:
    """A finite number of seconds, 0 or more (0 usually means "never")."""
    value = _seconds(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text} must be 0 seconds or more")
    return value
