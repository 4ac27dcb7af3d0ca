"""What a token says, read without checking its signature (the engine's tests check that)."""

from __future__ import annotations

from typing import Any

import jwt

__all__ = ["claims"]


def claims(token: str) -> dict[str, Any]:
    """The claims of a JWT (a LiveKit room token or an engine bearer), unverified."""
    data: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return data
