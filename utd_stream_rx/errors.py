"""The exception every failure of the SDK surfaces as.

One class carries the engine's HTTP status, its machine-readable ``code`` and a human message,
so callers branch on ``code`` (``seat_taken``, ``banned``, ``network`` ...) rather than on text.
Programmer errors (a wrong type, a non-call type for a call session) raise ``TypeError`` or
``ValueError`` instead: those are bugs to fix, not conditions to handle.
"""

from __future__ import annotations

from .error_codes import ErrorCode

__all__ = ["ErrorCode", "UTDStreamException"]


class UTDStreamException(Exception):
    """A failure reported by the engine, the network, LiveKit or the SDK itself.

    Attributes:
        message: What went wrong, in words.
        status_code: The HTTP status the engine answered with, or ``None`` when no response
            arrived (network failure, timeout) or the failure is local.
        code: A stable, machine-readable code: an :class:`ErrorCode` when it is a known one
            (a ``StrEnum``, so it compares equal to the plain string), such as ``seat_taken``,
            ``forbidden``, ``banned``, ``rate_limited``, ``not_found``, ``network``, ``timeout`` or
            ``invalid_response``; ``None`` when the engine gave none. Codes the SDK raises
            itself, before any request: ``not_connected`` (a room command on a session out
            of its room: after ``leave()`` or a lost connection; ``rejoin()`` first),
            ``closed`` (anything on a closed session or client), ``wrong_loop`` (a session,
            or an ``aiohttp`` session the app passed in, used from another event loop than
            its own, e.g. a later ``asyncio.run``). ``connect_failed``: LiveKit could not be
            reached; a call session that could not join a call it started or accepted has
            ended that call first (the LiveKit error is the ``__cause__``).
        retry_after: Seconds to wait before retrying, parsed from ``Retry-After`` on a 429.
    """

    def __init__(
        self,
        message: str,
        status_code: int | None = None,
        code: ErrorCode | str | None = None,
        *,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.code: ErrorCode | str | None = ErrorCode.parse(code)
        self.retry_after = retry_after

    @property
    def is_banned(self) -> bool:
        """True when the engine refused the user as banned (HTTP 403, code ``banned``)."""
        return self.status_code == 403 and self.code in (None, ErrorCode.BANNED)

    @property
    def is_rate_limited(self) -> bool:
        """True when the engine asked the caller to slow down (HTTP 429)."""
        return self.status_code == 429

    @property
    def is_network_error(self) -> bool:
        """True when no answer arrived from the engine (connection refused, timeout)."""
        return self.code in (ErrorCode.NETWORK, ErrorCode.TIMEOUT)

    def __str__(self) -> str:
        parts = [self.message]
        details = []
        if self.status_code is not None:
            details.append(f"HTTP {self.status_code}")
        if self.code:
            details.append(f"code={self.code!s}")
        if self.retry_after is not None:
            details.append(f"retry after {self.retry_after:g}s")
        if details:
            parts.append(f"({', '.join(details)})")
        return " ".join(parts)

    def __repr__(self) -> str:
        return (
            f"UTDStreamException({self.message!r}, status_code={self.status_code!r}, "
            f"code={str(self.code) if self.code is not None else None!r})"
        )

    def __reduce__(self) -> tuple[object, ...]:
        # Keep the exception picklable (multiprocessing, pytest-xdist) with every field.
        return (
            _rebuild,
            (self.message, self.status_code, _plain(self.code), self.retry_after),
        )


def _plain(code: ErrorCode | str | None) -> str | None:
    return None if code is None else str(code)


def _rebuild(
    message: str, status_code: int | None, code: str | None, retry_after: float | None
) -> UTDStreamException:
    return UTDStreamException(message, status_code, code, retry_after=retry_after)
