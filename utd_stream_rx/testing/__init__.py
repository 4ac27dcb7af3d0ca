"""Tools for testing apps built on utd_stream_rx: a real local stack and reusable fixtures.

The names below are imported on first use: the pytest plugin lives in this package and loads in
every pytest run, so importing the package must not pull in LiveKit, numpy or aiohttp.
PYTEST_DONT_REWRITE: no ``assert`` here, nothing for pytest to rewrite.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._lazy import LazyExports

if TYPE_CHECKING:
    from .engine import EngineError, EngineProcess, LocalStack
    from .factories import ClientFactory, ClientsOf, PrivateStackFactory
    from .livekit_server import (
        LIVEKIT_SERVER_VERSION,
        LiveKitServer,
        LiveKitServerError,
        ensure_livekit_server,
    )
    from .marbles import assert_view_marbles, reduce_all, view_marbles, view_values
    from .participants import SyntheticParticipants
    from .recovery import back_in_room

# Each public name and the submodule it lives in.
_HOMES = {
    "EngineError": ".engine",
    "EngineProcess": ".engine",
    "LocalStack": ".engine",
    "ClientFactory": ".factories",
    "ClientsOf": ".factories",
    "PrivateStackFactory": ".factories",
    "LIVEKIT_SERVER_VERSION": ".livekit_server",
    "LiveKitServer": ".livekit_server",
    "LiveKitServerError": ".livekit_server",
    "ensure_livekit_server": ".livekit_server",
    "assert_view_marbles": ".marbles",
    "reduce_all": ".marbles",
    "view_marbles": ".marbles",
    "view_values": ".marbles",
    "SyntheticParticipants": ".participants",
    "back_in_room": ".recovery",
}

__all__ = [
    "LIVEKIT_SERVER_VERSION",
    "ClientFactory",
    "ClientsOf",
    "EngineError",
    "EngineProcess",
    "LiveKitServer",
    "LiveKitServerError",
    "LocalStack",
    "PrivateStackFactory",
    "SyntheticParticipants",
    "assert_view_marbles",
    "back_in_room",
    "ensure_livekit_server",
    "reduce_all",
    "view_marbles",
    "view_values",
]


_EXPORTS = LazyExports(__name__, _HOMES, globals())


def __getattr__(name: str) -> Any:
    """Import the submodule that holds ``name`` on first use (PEP 562)."""
    return _EXPORTS.load(name)


def __dir__() -> list[str]:
    """The public names, imported or not."""
    return _EXPORTS.names(__all__)
