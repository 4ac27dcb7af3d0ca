"""One identity's engine bearer: renewed before it expires and when the engine says it has.

Every REST view of the same identity shares one :class:`Credential`, so a renewal made for one
command serves all of them, and concurrent commands that all hit an expired bearer renew it
once (single flight).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from .error_codes import ErrorCode
from .errors import UTDStreamException
from .models import UTDUserToken
from .state.auth import Authenticated, AuthEvent, AuthFailed, AuthRefreshing

__all__ = ["Credential", "TokenProvider"]

log = logging.getLogger(__name__)

TokenProvider = Callable[[str], Awaitable[str]]
"""``await provider(identity)`` -> a fresh identity token signed by the app's backend."""

# Renew when this share of a bearer's lifetime is left (at most _MAX_MARGIN seconds before).
_MARGIN_SHARE = 0.2
_MAX_MARGIN = 60.0


class Credential:
    """The bearer of one identity and the way to get a new one.

    Args:
        identity: Whose bearer this is.
        mint: Obtains a new bearer from the engine (calling the app's token provider first
            when there is one).
        on_event: Told of each step (renewing, renewed, failed): the client's ``auth_state``.
    """

    def __init__(
        self,
        identity: str,
        mint: Callable[[], Awaitable[UTDUserToken]],
        on_event: Callable[[AuthEvent], None] | None = None,
    ) -> None:
        self.identity = identity
        self._mint = mint
        self._on_event = on_event
        self._token: str | None = None
        self._expires_at = 0.0
        self._issued_at = 0.0
        self._lock = asyncio.Lock()
        self.renewals = 0
        """How many times a bearer was renewed (not counting the first)."""

    @property
    def token(self) -> str | None:
        """The current bearer, or ``None`` before the first one."""
        return self._token

    @property
    def expires_at(self) -> float:
        """When the current bearer expires (Unix seconds; 0 before the first one)."""
        return self._expires_at

    def set(self, token: str, expires_at: float | None) -> None:
        """Adopt a bearer the engine handed out with another answer (a room token)."""
        self._token = token
        self._issued_at = time.time()
        # An engine that does not say when it expires: assume a day, renew on its 401.
        self._expires_at = expires_at if expires_at is not None else self._issued_at + 86400.0
        self._emit(Authenticated(self.identity, self._expires_at))

    def renew_at(self) -> float:
        """When the bearer should be renewed (Unix seconds)."""
        lifetime = max(0.0, self._expires_at - self._issued_at)
        return self._expires_at - min(_MAX_MARGIN, lifetime * _MARGIN_SHARE)

    def is_fresh(self) -> bool:
        """True while the bearer is not due for renewal."""
        return self._token is not None and time.time() < self.renew_at()

    async def fresh(self) -> str:
        """The bearer, renewed first when it is missing or about to expire."""
        if self.is_fresh():
            assert self._token is not None
            return self._token
        return await self.renew(self._token)

    async def renew(self, stale: str | None) -> str:
        """A new bearer replacing ``stale``; one mint serves every caller waiting on it.

        Raises:
            UTDStreamException: the token provider or the engine refused (``auth_state``
                turns ``failed``), or the engine could not be reached (it stays
                ``refreshing``).
        """
        async with self._lock:
            if self._token is not None and self._token != stale and self.is_fresh():
                return self._token  # another caller renewed it meanwhile
            first = self._token is None
            self._emit(AuthRefreshing())
            try:
                minted = await self._mint()
            except UTDStreamException as exc:
                log.warning("could not renew the bearer of %s: %s", self.identity, exc)
                if not _is_transient(exc):
                    self._emit(AuthFailed(exc.code, exc.message))
                # Otherwise (the engine unreachable or restarting) it is still on its way:
                # auth_state stays ``refreshing`` until a later attempt gets through.
                raise
            except Exception as exc:
                # A token provider is app code: whatever it raises is reported the same way.
                log.warning("the token provider failed for %s: %r", self.identity, exc)
                self._emit(AuthFailed(ErrorCode.TOKEN_PROVIDER, repr(exc)))
                raise UTDStreamException(
                    f"the token provider failed: {exc!r}", code=ErrorCode.TOKEN_PROVIDER
                ) from exc
            if not first:
                self.renewals += 1
                log.info("renewed the bearer of %s", self.identity)
            self.set(minted.user_token, minted.expires_at)
            return minted.user_token

    def _emit(self, event: AuthEvent) -> None:
        if self._on_event is not None:
            self._on_event(event)


def _is_transient(exc: UTDStreamException) -> bool:
    """No answer, an engine restarting or overloaded: worth trying again, nothing to act on."""
    return exc.is_network_error or exc.is_rate_limited or (exc.status_code or 0) >= 500
