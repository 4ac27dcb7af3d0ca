"""utd_stream_rx: a headless, reactive (RxPY) Python SDK for real-time media on LiveKit."""

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
from .sessions import UTDAudioRoomSession, UTDCallSession, UTDLiveStreamSession, UTDSession
from .state import ConnectionState, SessionState, View, ViewTimeoutError, events, notices
from .state.auth import UTDAuthState

__version__ = "0.1.0"

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
