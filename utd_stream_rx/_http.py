"""HTTP plumbing shared by the REST facade: engine error bodies, ``Retry-After``, JSON bodies."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Mapping
from email.utils import parsedate_to_datetime
from http import HTTPStatus
from urllib.parse import quote

from .error_codes import ErrorCode
from .errors import UTDStreamException

__all__ = [
    "RETRYABLE_STATUSES",
    "decode_json",
    "error_from_response",
    "fallback_code",
    "parse_retry_after",
    "quote_segment",
]

RETRYABLE_STATUSES = frozenset({502, 503, 504})
"""Statuses a proxy or a restarting engine answers with; safe to retry for reads."""

# Contract codes where the generic status phrase would differ from what the engine says.
_CODE_FOR_STATUS = {
    400: "invalid_request",
    401: "unauthorized",
    409: "conflict",
    422: "invalid_request",
    429: "rate_limited",
}

_EXCERPT = 200


def fallback_code(status: int) -> str:
    """The error code to report when the engine's answer carries none (404 -> ``not_found``)."""
    if status in _CODE_FOR_STATUS:
        return _CODE_FOR_STATUS[status]
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        return "server_error" if status >= 500 else "http_error"
    return "_".join(phrase.lower().replace("-", " ").replace("'", "").split())


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` value: delta-seconds or an HTTP-date.

    Returns ``None`` when the header is absent or unreadable; never a negative number.
    """
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if math.isfinite(seconds) else None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    reference = time.time() if now is None else now
    return max(0.0, when.timestamp() - reference)


def _excerpt(body: bytes) -> str:
    text = body.decode("utf-8", errors="replace").strip()
    return text if len(text) <= _EXCERPT else text[:_EXCERPT] + "..."


def error_from_response(
    status: int, body: bytes, headers: Mapping[str, str], reason: str | None = None
) -> UTDStreamException:
    """The exception for a non-success answer, read from the engine's error body if present.

    The documented shape is ``{"error": {"code": ..., "message": ...}}``; whatever part of it is
    missing falls back to the status (code) and the raw body or reason phrase (message).
    """
    code: str | None = None
    message: str | None = None
    try:
        data = json.loads(body) if body else None
    except (ValueError, UnicodeDecodeError):
        data = None
    error = data.get("error") if isinstance(data, dict) else None
    if isinstance(error, dict):
        if isinstance(error.get("code"), str) and error["code"]:
            code = error["code"]
        if isinstance(error.get("message"), str) and error["message"]:
            message = error["message"]
    elif isinstance(error, str) and error:
        message = error
    if message is None:
        message = _excerpt(body) if data is None and body.strip() else ""
        message = message or reason or f"HTTP {status}"
    retry_after = None
    if status in (429, 503):
        retry_after = parse_retry_after(headers.get("Retry-After"))
    return UTDStreamException(
        message, status_code=status, code=code or fallback_code(status), retry_after=retry_after
    )


def decode_json(status: int, body: bytes, what: str) -> object:
    """Parse a success body as JSON, or raise ``invalid_response`` carrying ``status``."""
    if not body.strip():
        raise UTDStreamException(
            f"The engine sent an empty body where {what} was expected",
            status_code=status,
            code=ErrorCode.INVALID_RESPONSE,
        )
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise UTDStreamException(
            f"The engine sent a body that is not JSON where {what} was expected: "
            f"{_excerpt(body)!r}",
            status_code=status,
            code=ErrorCode.INVALID_RESPONSE,
        ) from exc


def quote_segment(value: str) -> str:
    """Percent-encode one path segment; ``/``, ``?``, ``#`` and ``%`` cannot escape it."""
    return quote(value, safe="")
