"""One engine answer, and the headers an app sends with every request."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

__all__ = ["Answer", "app_headers"]


def app_headers(app_id: str, app_key: str, bearer: str | None = None) -> dict[str, str]:
    """The app's credentials, and the user's bearer when there is one."""
    headers = {"X-UTD-App-Id": app_id, "X-UTD-App-Key": app_key}
    if bearer is not None:
        headers["Authorization"] = f"Bearer {bearer}"
    return headers


@attrs.frozen
class Answer:
    """One engine answer: its status, its JSON body (or raw bytes), its headers."""

    status: int
    body: Any
    headers: Mapping[str, str] = attrs.field(repr=False)

    @property
    def code(self) -> str | None:
        """The engine's error code, when the body is an error."""
        error = self.body.get("error") if isinstance(self.body, dict) else None
        code = error.get("code") if isinstance(error, dict) else None
        return code if isinstance(code, str) else None
