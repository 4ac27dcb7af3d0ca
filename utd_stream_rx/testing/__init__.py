"""Tools for testing apps built on utd_stream_rx: a real local stack and reusable fixtures."""

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
