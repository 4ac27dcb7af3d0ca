"""What the engine accepts as an app id, a room name or an identity.

The rules make a LiveKit room name ``<app_id>__<room>`` unambiguous: an app id holds no ``_``,
so the first ``__`` of a LiveKit name always ends it. Every check is a full match, so a
trailing newline (which ``$`` lets through) is never part of a valid name.
"""

from __future__ import annotations

import re
from typing import TypeGuard

__all__ = ["APP_ID_RE", "APP_ID_RULE", "NAME_RE", "NAME_RULE", "is_app_id", "is_name"]

APP_ID_RE = re.compile(r"[A-Za-z0-9-]{1,64}")
"""App ids: 1-64 characters of ``[A-Za-z0-9-]`` (never ``_``)."""

APP_ID_RULE = "1-64 characters of [A-Za-z0-9-]"
""":data:`APP_ID_RE` in words, for error messages."""

NAME_RE = re.compile(r"[A-Za-z0-9_.@:-]{1,128}")
"""Room names and identities: 1-128 characters of ``[A-Za-z0-9_.@:-]``."""

NAME_RULE = "1-128 characters of [A-Za-z0-9_.@:-]"
""":data:`NAME_RE` in words, for error messages."""


def is_app_id(value: object) -> TypeGuard[str]:
    """True when ``value`` is a valid app id."""
    return isinstance(value, str) and APP_ID_RE.fullmatch(value) is not None


def is_name(value: object) -> TypeGuard[str]:
    """True when ``value`` is a valid room name or identity."""
    return isinstance(value, str) and NAME_RE.fullmatch(value) is not None
