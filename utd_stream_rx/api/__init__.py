"""Typed REST client over the engine contract (``docs/engine-contract.md``).

:class:`UTDApiClient` holds the connection and who acts; its endpoints live in services, as
``api.tokens``, ``api.calls``, ``api.rooms``, ``api.stage`` and ``api.seats``.
"""

import warnings

from ._call_events import UTDCallEventStream
from ._client import DEFAULT_BASE_URL, UTDApiClient

__all__ = [
    "DEFAULT_BASE_URL",
    "UTDApiClient",
    "UTDCallEventStream",
]


def __getattr__(name: str) -> str:
    # Kept for one release: the token URL is now read when a client is made, not at import.
    if name == "DEFAULT_TOKEN_BASE_URL":
        warnings.warn(
            "DEFAULT_TOKEN_BASE_URL is deprecated: tokens are minted at token_base_url, else "
            "$UTD_STREAM_TOKEN_BASE_URL, else base_url, read when the client is made",
            DeprecationWarning,
            stacklevel=2,
        )
        return DEFAULT_BASE_URL
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
