"""The engine's error type and its JSON form."""

from __future__ import annotations

import math
from collections.abc import Mapping

from aiohttp import web

from utd_stream_rx.error_codes import ErrorCode

__all__ = ["STORAGE_RETRY_AFTER", "ApiError", "StorageUnavailable", "error_response"]

STORAGE_RETRY_AFTER = 5
"""Seconds a client is told to wait (``Retry-After``) when the database cannot be used."""


class ApiError(Exception):
    """An error answered as ``{"error": {"code", "message"}}`` with an HTTP status."""

    def __init__(
        self,
        status: int,
        code: ErrorCode,
        message: str,
        *,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})

    @classmethod
    def invalid(cls, message: str) -> ApiError:
        """400 ``invalid_request``."""
        return cls(400, ErrorCode.INVALID_REQUEST, message)

    @classmethod
    def forbidden(cls, message: str) -> ApiError:
        """403 ``forbidden``."""
        return cls(403, ErrorCode.FORBIDDEN, message)

    @classmethod
    def not_found(cls, message: str) -> ApiError:
        """404 ``not_found``."""
        return cls(404, ErrorCode.NOT_FOUND, message)

    @classmethod
    def conflict(cls, message: str, code: ErrorCode = ErrorCode.CONFLICT) -> ApiError:
        """409 with ``code`` (``conflict`` by default)."""
        return cls(409, code, message)

    @classmethod
    def rate_limited(cls, message: str, wait: float) -> ApiError:
        """429 ``rate_limited`` with ``Retry-After``: ``wait`` rounded up to whole seconds
        (at least 1), so waiting it is enough for the next request to pass."""
        retry = max(1, math.ceil(wait))
        return cls(
            429,
            ErrorCode.RATE_LIMITED,
            f"{message}; retry in {retry}s",
            headers={"Retry-After": str(retry)},
        )

    def response(self) -> web.Response:
        """The JSON answer for this error."""
        return error_response(self.status, self.code, self.message, self.headers)


class StorageUnavailable(Exception):
    """The database cannot be read or written (disk full, read-only, I/O error, locked).

    Deliberately not an :class:`ApiError`: code that tolerates refusals (``suppress(ApiError)``)
    must not swallow a failed write. Requests are answered 503 ``storage_unavailable`` with
    ``Retry-After``; the engine uses the database again as soon as it works.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason

    def response(self) -> web.Response:
        """503 ``storage_unavailable`` with ``Retry-After``."""
        return error_response(
            503,
            ErrorCode.STORAGE_UNAVAILABLE,
            f"the engine cannot use its database ({self.reason}); retry later",
            {"Retry-After": str(STORAGE_RETRY_AFTER)},
        )


def error_response(
    status: int, code: ErrorCode, message: str, headers: Mapping[str, str] | None = None
) -> web.Response:
    """An error body with the given status."""
    return web.json_response(
        {"error": {"code": code, "message": message}}, status=status, headers=headers
    )
