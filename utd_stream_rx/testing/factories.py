"""The shapes of the plugin's factory fixtures, for annotating tests that use them."""

from __future__ import annotations

from collections.abc import Callable

from ..client import UTDStreamClient
from .engine import LocalStack

__all__ = ["ClientFactory", "ClientsOf", "PrivateStackFactory"]

ClientFactory = Callable[[], UTDStreamClient]
"""``make()`` -> a new client of one stack's engine (``utd_client_factory``)."""

ClientsOf = Callable[..., ClientFactory]
"""``clients_of(stack, **client_options)`` -> a :data:`ClientFactory` for ``stack``
(``utd_clients_of``)."""

PrivateStackFactory = Callable[..., LocalStack]
"""``start(engine_args=(), *, secure=False)`` -> a started stack of the test's own
(``utd_private_stack``)."""
