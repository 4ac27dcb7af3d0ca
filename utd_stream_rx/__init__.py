"""utd_stream_rx: a headless, reactive (RxPY) Python SDK for real-time media on LiveKit.

The public names below load on first use (PEP 562), so importing a light module such as
``utd_stream_rx.models`` or ``utd_stream_rx.errors`` does not pull in LiveKit, numpy or aiohttp.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._lazy import LazyExports
from ._version import __version__

if TYPE_CHECKING:
    from . import media
    from ._credentials import TokenProvider
    from .api import UTDApiClient, UTDCallEventStream
    from .client import UTDStreamClient
    from .errors import ErrorCode, UTDStreamException
    from .models import (
        UTDCall,
        UTDCallEndReason,
        UTDCallStatus,
        UTDRoomState,
        UTDSeat,
        UTDSeatGrid,
        UTDSeatInvitation,
        UTDSeatMode,
        UTDSeatPlace,
        UTDSeatStatus,
        UTDSpeakRequest,
        UTDStageInvitation,
        UTDStageMember,
        UTDStageRequest,
        UTDStageStatus,
        UTDStreamType,
        UTDTokenResponse,
        UTDUserToken,
    )
    from .room import UTDRoom
    from .sessions import (
        UTDAudioRoomSession,
        UTDCallSession,
        UTDLiveStreamSession,
        UTDSession,
    )
    from .state import ConnectionState, SessionState, View, ViewTimeoutError, events, notices
    from .state.auth import UTDAuthState

# Public name -> the module it lives in; a module's own name (``media``) maps to itself.
_HOMES: dict[str, str] = {
    "media": ".media",
    "TokenProvider": "._credentials",
    "UTDApiClient": ".api",
    "UTDCallEventStream": ".api",
    "UTDStreamClient": ".client",
    "ErrorCode": ".errors",
    "UTDStreamException": ".errors",
    **dict.fromkeys(
        [
            "UTDCall",
            "UTDCallEndReason",
            "UTDCallStatus",
            "UTDRoomState",
            "UTDSeat",
            "UTDSeatGrid",
            "UTDSeatInvitation",
            "UTDSeatMode",
            "UTDSeatPlace",
            "UTDSeatStatus",
            "UTDSpeakRequest",
            "UTDStageInvitation",
            "UTDStageMember",
            "UTDStageRequest",
            "UTDStageStatus",
            "UTDStreamType",
            "UTDTokenResponse",
            "UTDUserToken",
        ],
        ".models",
    ),
    "UTDRoom": ".room",
    "UTDAudioRoomSession": ".sessions",
    "UTDCallSession": ".sessions",
    "UTDLiveStreamSession": ".sessions",
    "UTDSession": ".sessions",
    "ConnectionState": ".state",
    "SessionState": ".state",
    "View": ".state",
    "ViewTimeoutError": ".state",
    "events": ".state.events",
    "notices": ".state.notices",
    "UTDAuthState": ".state.auth",
}

__all__ = [
    "ConnectionState",
    "ErrorCode",
    "SessionState",
    "TokenProvider",
    "UTDApiClient",
    "UTDAudioRoomSession",
    "UTDAuthState",
    "UTDCall",
    "UTDCallEndReason",
    "UTDCallEventStream",
    "UTDCallSession",
    "UTDCallStatus",
    "UTDLiveStreamSession",
    "UTDRoom",
    "UTDRoomState",
    "UTDSeat",
    "UTDSeatGrid",
    "UTDSeatInvitation",
    "UTDSeatMode",
    "UTDSeatPlace",
    "UTDSeatStatus",
    "UTDSession",
    "UTDSpeakRequest",
    "UTDStageInvitation",
    "UTDStageMember",
    "UTDStageRequest",
    "UTDStageStatus",
    "UTDStreamClient",
    "UTDStreamException",
    "UTDStreamType",
    "UTDTokenResponse",
    "UTDUserToken",
    "View",
    "ViewTimeoutError",
    "__version__",
    "events",
    "media",
    "notices",
]


_EXPORTS = LazyExports(__name__, _HOMES, globals())


def __getattr__(name: str) -> Any:
    """Import a public name's module on first use and keep the name (PEP 562)."""
    return _EXPORTS.load(name)


def __dir__() -> list[str]:
    """The module's own names and every public name, loaded or not."""
    return _EXPORTS.names(__all__)
