"""Typed REST client over the engine contract (``docs/engine-contract.md``).

:class:`UTDApiClient` holds the connection and who acts; its endpoints live in services, as
``api.tokens``, ``api.calls``, ``api.rooms``, ``api.stage`` and ``api.seats``.
"""

from ._call_events import UTDCallEventStream
from ._client import DEFAULT_BASE_URL, DEFAULT_TOKEN_BASE_URL, UTDApiClient

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_TOKEN_BASE_URL",
    "UTDApiClient",
    "UTDCallEventStream",
]
