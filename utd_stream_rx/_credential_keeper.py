"""The client's bearers: one renewable :class:`Credential` per identity it acts for, and the
background renewal of its own identity's bearer."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from ._background import stopped_elsewhere
from ._backoff import Backoff
from ._credentials import Credential, TokenProvider
from .error_codes import ErrorCode
from .errors import UTDStreamException
from .models import UTDUserToken
from .state.auth import AuthEvent

if TYPE_CHECKING:
    from .api import UTDApiClient

__all__ = ["CredentialKeeper"]


class CredentialKeeper:
    """Mints, holds and renews the bearers of a client's identities.

    Args:
        api: The client's REST client (mints bearers).
        token_provider: The app's identity-token source, if it gave one.
        on_event: Told of each step of the client's own identity's bearer (``auth_state``).
        reject_when_busy: Sent with every bearer mint (the identity's preference on the
            engine: calls during an active call are answered ``busy``).
    """

    def __init__(
        self,
        api: UTDApiClient,
        token_provider: TokenProvider | None,
        on_event: Callable[[AuthEvent], None],
        *,
        reject_when_busy: bool = False,
    ) -> None:
        self._api = api
        self._token_provider = token_provider
        self.reject_when_busy = reject_when_busy
        """The preference every mint of this client sends."""
        self._on_event = on_event
        self._credentials: dict[str, Credential] = {}
        self._renewer: asyncio.Task[None] | None = None
        self._closed = False
        self._backoff = Backoff.reconnect()  # renewal retries, jittered like the reconnects
        self.identity: str | None = None
        """The client's own identity (authenticated, or of its first room)."""

    async def identity_token(self, identity: str) -> str | None:
        """A fresh identity token from the app's backend, when the app gave a provider."""
        if self._token_provider is None:
            return None
        token = await self._token_provider(identity)
        if not isinstance(token, str) or not token:
            raise UTDStreamException(
                "the token provider must return an identity token (a non-empty str)",
                code=ErrorCode.TOKEN_PROVIDER,
            )
        return token

    def credential_for(
        self, identity: str, name: str | None, device_id: str | None, *, replace: bool = False
    ) -> Credential:
        """``identity``'s credential, made (or, with ``replace``, made anew) on first use."""
        credential = self._credentials.get(identity)
        if credential is None or replace:
            mint = functools.partial(self._mint_bearer, identity, name, device_id)
            # Only the client's own identity drives auth_state.
            on_event = self._on_event if identity == self.identity else None
            credential = Credential(identity, mint, on_event)
            self._credentials[identity] = credential
        return credential

    async def _mint_bearer(
        self, identity: str, name: str | None, device_id: str | None
    ) -> UTDUserToken:
        return await self._api.tokens.mint_user_token(
            identity, name, device_id,
            identity_token=await self.identity_token(identity),
            reject_when_busy=self.reject_when_busy,
        )

    def keep_fresh(self) -> None:
        """Renew the client's own bearer ahead of its expiry, in the background."""
        renewer = self._renewer
        if renewer is None or renewer.done() or stopped_elsewhere(renewer):
            self._renewer = asyncio.get_running_loop().create_task(self._renew_forever())

    async def _renew_forever(self) -> None:
        attempt = 0
        while not self._closed:
            credential = self._credentials.get(self.identity or "")
            if credential is None:
                return
            await asyncio.sleep(max(0.0, credential.renew_at() - time.time()))
            try:
                await credential.fresh()
                attempt = 0
            except UTDStreamException as exc:
                if exc.is_banned:
                    return
                # auth_state tells the app (failed on a refusal, refreshing while the engine
                # is out of reach); try again later, either may recover.
                delay = self._backoff.delay(attempt)
                attempt += 1
                await asyncio.sleep(delay)

    async def aclose(self) -> None:
        """Stop renewing."""
        self._closed = True
        renewer, self._renewer = self._renewer, None
        if renewer is not None and not stopped_elsewhere(renewer):
            renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewer
