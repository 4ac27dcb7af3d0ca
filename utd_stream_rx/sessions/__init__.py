"""Session kinds: thin command objects over one room and its store."""

from .audio_room import UTDAudioRoomSession
from .base import UTDSession
from .call import UTDCallSession
from .live_stream import UTDLiveStreamSession

__all__ = ["UTDAudioRoomSession", "UTDCallSession", "UTDLiveStreamSession", "UTDSession"]
