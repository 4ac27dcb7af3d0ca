"""The app's own backend, played by a local stack or cluster: it signs identity tokens."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["PlaysAppBackend"]


class PlaysAppBackend:
    """Signs identity tokens with :attr:`app_secret`, as the app's backend would."""

    @property
    def app_secret(self) -> str:
        """The app secret the app's backend would hold."""
        raise NotImplementedError

    def identity_token(
        self,
        identity: str,
        *,
        ttl: float = 3600.0,
        name: str | None = None,
        roles: Sequence[str] = (),
    ) -> str:
        """An identity token for ``identity``, as the app's backend would sign it."""
        from utd_stream_engine.identity import sign_identity_token

        return sign_identity_token(self.app_secret, identity, ttl=ttl, name=name, roles=roles)

    async def token_provider(self, identity: str) -> str:
        """A ``token_provider`` for :class:`~utd_stream_rx.UTDStreamClient` that plays the
        app's backend: it signs an identity token (one hour) for ``identity``."""
        return self.identity_token(identity)
