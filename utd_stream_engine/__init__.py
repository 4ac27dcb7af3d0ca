"""The reference engine: an aiohttp server that mints tokens and owns rooms, seats and calls.

Run it with ``python -m utd_stream_engine`` or embed it with :func:`create_app` /
:class:`EngineServer`. ``docs/engine-contract.md`` and ``openapi.yaml`` describe what it does.
"""

from .app import create_app, create_engine
from .config import DEMO_APP_ID, DEMO_APP_KEY, EngineConfig
from .core import Engine
from .livekit_bridge import LiveKitBridge, NullBridge, ParticipantPresence, RoomServiceBridge
from .server import EngineServer, run
from .sqlite_storage import SQLiteStorage
from .storage import Storage

__all__ = [
    "DEMO_APP_ID",
    "DEMO_APP_KEY",
    "Engine",
    "EngineConfig",
    "EngineServer",
    "LiveKitBridge",
    "NullBridge",
    "ParticipantPresence",
    "RoomServiceBridge",
    "SQLiteStorage",
    "Storage",
    "create_app",
    "create_engine",
    "run",
]
