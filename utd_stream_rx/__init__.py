"""utd_stream_rx: a headless, reactive (RxPY) Python SDK for real-time audio and video on LiveKit."""

from .errors import UTDStreamException
from .models import (
    UTDCall,
    UTDCallStatus,
    UTDRoomState,
    UTDSeat,
    UTDSeatGrid,
    UTDSeatInvitation,
    UTDSeatMode,
    UTDSpeakRequest,
    UTDStageMember,
    UTDStageRequest,
    UTDStreamType,
    UTDTokenResponse,
    UTDUserToken,
)

__version__ = "0.1.0"

__all__ = [
    "UTDCall",
    "UTDCallStatus",
    "UTDRoomState",
    "UTDSeat",
    "UTDSeatGrid",
    "UTDSeatInvitation",
    "UTDSeatMode",
    "UTDSpeakRequest",
    "UTDStageMember",
    "UTDStageRequest",
    "UTDStreamException",
    "UTDStreamType",
    "UTDTokenResponse",
    "UTDUserToken",
    "__version__",
]
