"""The shapes of the plugin's factory fixtures, for annotating tests that use them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from ..client import UTDStreamClient
from .engine import LocalStack

__all__ = ["AppStack", "ClientFactory", "ClientsOf", "PrivateStackFactory"]


class AppStack(Protocol):
    """What a client needs of a running stack (a ``LocalStack`` or a ``LocalCluster``)."""

    @property
    def base_url(self) -> str:
        """The engine's (or load balancer's) base URL."""
        ...

    @property
    def app_id(self) -> str:
        """The app id."""
        ...

    @property
    def app_key(self) -> str:
        """Its key."""
        ...

    @property
    def secure(self) -> bool:
        """True when identities need identity tokens."""
        ...

    async def token_provider(self, identity: str) -> str:
        """An identity token for ``identity``, as the app's backend signs it."""
        ...

ClientFactory = Callable[[], UTDStreamClient]
"""``make()`` -> a new client of one stack's engine (``utd_client_factory``)."""

ClientsOf = Callable[..., ClientFactory]
"""``clients_of(stack, **client_options)`` -> a :data:`ClientFactory` for ``stack`` (an
:class:`AppStack`: a ``LocalStack`` or a ``LocalCluster``) (``utd_clients_of``)."""

PrivateStackFactory = Callable[..., LocalStack]
"""``start(engine_args=(), *, secure=False)`` -> a started stack of the test's own
(``utd_private_stack``)."""
