"""Tools for testing apps built on utd_stream_rx: a real local stack and reusable fixtures."""

from .engine import EngineError, EngineProcess, LocalStack
from .livekit_server import (
    LIVEKIT_SERVER_VERSION,
    LiveKitServer,
    LiveKitServerError,
    ensure_livekit_server,
)

__all__ = [
    "LIVEKIT_SERVER_VERSION",
    "EngineError",
    "EngineProcess",
    "LiveKitServer",
    "LiveKitServerError",
    "LocalStack",
    "ensure_livekit_server",
]
