"""Argument checks: each argument kind is validated here, once, with one message.

The REST services, the sessions and the client all use these, so a bad argument raises the same
``TypeError`` (wrong type) or ``ValueError`` (wrong value) wherever it is passed, before any I/O.
"""

from __future__ import annotations

import enum
import json
import math
import re
from collections.abc import Mapping
from typing import Any, TypeVar

from yarl import URL

from .models import MAX_END_REASON, UTDSeatMode, UTDStreamType

E = TypeVar("E", bound=enum.Enum)

__all__ = [
    "MAX_SEATS",
    "check_base_url",
    "check_bool",
    "check_int",
    "check_metadata",
    "check_name",
    "check_optional_seat_index",
    "check_optional_seat_mode",
    "check_optional_str",
    "check_reason",
    "check_role",
    "check_seat_index",
    "check_seat_mode",
    "check_since",
    "check_str",
    "check_stream_type",
    "check_timeout",
]

MAX_SEATS = 64
"""The most seats an audio room's grid may have (the contract's bound)."""

_NAME_RE = re.compile(r"[A-Za-z0-9_.@:-]{1,128}")
_ROLES = ("host", "audience")


def _type_name(value: object) -> str:
    return type(value).__name__


def check_str(value: object, what: str) -> str:
    """A non-empty ``str``."""
    if not isinstance(value, str):
        raise TypeError(f"{what} must be a str, not {_type_name(value)}")
    if not value:
        raise ValueError(f"{what} must not be empty")
    return value


def check_optional_str(value: object, what: str) -> str | None:
    """``None`` or a non-empty ``str``."""
    return None if value is None else check_str(value, what)


def check_name(value: object, what: str) -> str:
    """Room names and identities: 1-128 characters of ``[A-Za-z0-9_.@:-]`` (the contract)."""
    text = check_str(value, what)
    if not _NAME_RE.fullmatch(text):
        raise ValueError(
            f"{what} must be 1-128 characters of letters, digits and _ . @ : -, got {text!r}"
        )
    return text


def check_int(value: object, what: str, *, low: int, high: int | None = None) -> int:
    """An ``int`` (not a ``bool``) between ``low`` and ``high`` (inclusive)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{what} must be an int, not {_type_name(value)}")
    if value < low or (high is not None and value > high):
        bound = f"between {low} and {high}" if high is not None else f">= {low}"
        raise ValueError(f"{what} must be {bound}, got {value}")
    return value


def check_seat_index(value: object, what: str = "seat_index") -> int:
    """A seat index: an ``int`` >= 0."""
    return check_int(value, what, low=0)


def check_optional_seat_index(value: object, what: str = "seat_index") -> int | None:
    """``None`` (any seat) or a seat index."""
    return None if value is None else check_seat_index(value, what)


def check_bool(value: object, what: str) -> bool:
    """A ``bool`` (not merely truthy)."""
    if not isinstance(value, bool):
        raise TypeError(f"{what} must be a bool, not {_type_name(value)}")
    return value


def check_stream_type(value: object, what: str = "type") -> UTDStreamType:
    """A :class:`UTDStreamType`, or its value as a ``str``."""
    return _check_member(value, UTDStreamType, what, "a UTDStreamType")


def check_seat_mode(value: object) -> UTDSeatMode:
    """A :class:`UTDSeatMode`, or its value as a ``str``."""
    return _check_member(value, UTDSeatMode, "seat_mode", "a UTDSeatMode or str")


def _check_member(value: object, kind: type[E], what: str, expected: str) -> E:
    """A member of ``kind``, or its value as a ``str``."""
    if isinstance(value, kind):
        return value
    if isinstance(value, str):
        try:
            return kind(value)
        except ValueError:
            names = ", ".join(str(member.value) for member in kind)
            raise ValueError(f"{what} must be one of {names}, got {value!r}") from None
    raise TypeError(f"{what} must be {expected}, not {_type_name(value)}")


def check_optional_seat_mode(value: object) -> UTDSeatMode | None:
    """``None`` (keep the engine's mode) or a seat mode."""
    return None if value is None else check_seat_mode(value)


def check_role(value: object) -> str:
    """A room role: ``host`` or ``audience``."""
    if not isinstance(value, str):
        raise TypeError(f"role must be a str, not {_type_name(value)}")
    if value not in _ROLES:
        raise ValueError(f"role must be one of {', '.join(_ROLES)}, got {value!r}")
    return value


def check_base_url(value: object, what: str) -> URL:
    """An absolute http(s) URL without query or fragment."""
    text = check_str(value, what)
    try:
        url = URL(text)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{what} is not a URL: {text!r}") from exc
    if url.scheme not in ("http", "https") or not url.host:
        raise ValueError(f"{what} must be an absolute http(s) URL, got {text!r}")
    if url.query_string or url.fragment:
        raise ValueError(f"{what} must not carry a query or fragment, got {text!r}")
    return url


def check_since(value: object) -> float:
    """A point in time for ``list_calls(since=...)``: finite, non-negative Unix seconds."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"since must be a number of Unix seconds, not {_type_name(value)}")
    try:
        since = float(value)
    except OverflowError:  # an int too large for a float
        since = math.inf
    if not math.isfinite(since) or since < 0:
        raise ValueError(f"since must be finite and >= 0, got {value!r}")
    return since


def check_metadata(value: object) -> dict[str, Any] | None:
    """``None`` or a JSON-serialisable mapping with ``str`` keys (a copy of it)."""
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise TypeError(f"metadata must be a mapping, not {_type_name(value)}")
    data = dict(value)
    if not all(isinstance(key, str) for key in data):
        raise TypeError("metadata keys must be str")
    try:
        json.dumps(data, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"metadata must be JSON-serialisable: {exc}") from exc
    return data


def check_timeout(value: object) -> float:
    """``value`` as seconds: a finite positive number (``TypeError``/``ValueError`` otherwise).

    NaN is refused explicitly: ``asyncio.timeout(nan)`` never fires, so it would wait forever.
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"timeout must be a number, not {_type_name(value)}")
    if math.isnan(value) or not 0 < value < math.inf:
        raise ValueError(f"timeout must be a positive, finite number of seconds, got {value}")
    return float(value)


def check_reason(value: object) -> str | None:
    """``None`` or a reason given by a host or an app: a ``str`` of 1-64 characters."""
    if value is None:
        return None
    message = f"reason must be a string of 1-{MAX_END_REASON} characters"
    if not isinstance(value, str):
        raise TypeError(message)
    if not 1 <= len(value) <= MAX_END_REASON:
        raise ValueError(message)
    return value
