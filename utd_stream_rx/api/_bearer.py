"""Who a REST client acts as: a plain user token, or an identity's renewable credential."""

from __future__ import annotations

from .._credentials import Credential
from .._validate import check_optional_str
from ..error_codes import ErrorCode
from ..errors import UTDStreamException

__all__ = ["Bearer", "is_expired_bearer"]


def is_expired_bearer(exc: UTDStreamException) -> bool:
    """Whether the engine refused a request because its bearer expired."""
    return exc.status_code == 401 and exc.code == ErrorCode.TOKEN_EXPIRED


class Bearer:
    """The bearer of one client: a user token, or a :class:`Credential` that replaces it.

    A credential is shared by every client acting for its identity, so a renewal made for one
    request serves all of them.
    """

    def __init__(
        self, user_token: str | None = None, credential: Credential | None = None
    ) -> None:
        self._user_token = check_optional_str(user_token, "user_token")
        self.credential = credential

    @property
    def token(self) -> str | None:
        """The current bearer (the credential's when there is one), or ``None``."""
        if self.credential is not None:
            return self.credential.token
        return self._user_token

    def set_user_token(self, token: str | None) -> None:
        """Act with ``token`` from now on, dropping any credential."""
        self._user_token = check_optional_str(token, "user_token")
        self.credential = None

    def require(self) -> str:
        """The bearer to send now; ``unauthenticated`` without one."""
        if self.credential is not None and self.credential.token is not None:
            return self.credential.token
        if self._user_token is None:
            raise UTDStreamException(
                "No user token: call authenticate() (or set user_token) first",
                code=ErrorCode.UNAUTHENTICATED,
            )
        return self._user_token

    async def fresh(self) -> str:
        """The bearer, renewed first when it is about to expire (a renewable one)."""
        if self.credential is not None:
            return await self.credential.fresh()
        return self.require()

    async def renewed(self, exc: UTDStreamException, stale: str) -> str | None:
        """A new bearer when ``exc`` says ``stale`` expired and it can be renewed, else
        ``None`` (the failure stands)."""
        if self.credential is None or not is_expired_bearer(exc):
            return None
        return await self.credential.renew(stale)
