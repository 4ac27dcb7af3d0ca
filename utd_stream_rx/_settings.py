"""A client's settings: explicit arguments first, then the environment as it is when the client
is made (never at import time, so a variable set later still counts), then the local default.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Final

from ._validate import check_base_url

__all__ = [
    "APP_ID_VARIABLE",
    "APP_KEY_VARIABLE",
    "BASE_URL_VARIABLE",
    "LOCAL_BASE_URL",
    "TOKEN_BASE_URL_VARIABLE",
    "ClientSettings",
    "client_settings",
]

LOCAL_BASE_URL: Final[str] = "http://127.0.0.1:8787"
"""The local reference engine (``utd-stream dev``): the base URL when none is given or set."""

BASE_URL_VARIABLE: Final[str] = "UTD_STREAM_BASE_URL"
"""The environment variable with the engine's base URL."""

TOKEN_BASE_URL_VARIABLE: Final[str] = "UTD_STREAM_TOKEN_BASE_URL"
"""The environment variable with the token service's base URL (default: the base URL)."""

APP_ID_VARIABLE: Final[str] = "UTD_STREAM_APP_ID"
"""The environment variable with the publishable app id."""

APP_KEY_VARIABLE: Final[str] = "UTD_STREAM_APP_KEY"
"""The environment variable with the publishable app key."""


@dataclass(frozen=True)
class ClientSettings:
    """What a client connects with, each from its argument, its variable or its default."""

    app_id: str
    """The app id (the client checks it: an explicit argument is passed on as given)."""
    app_key: str
    """The app key (checked like :attr:`app_id`)."""
    base_url: str
    """The engine's base URL."""
    token_base_url: str
    """Where tokens are minted."""


def _variable(name: str) -> str | None:
    """``$name``, or ``None`` when it is unset or empty."""
    return os.environ.get(name) or None


def _credential(value: str | None, what: str, variable: str) -> str:
    """``value``, else ``$variable``; a ``ValueError`` naming both when neither is there."""
    if value is not None:
        return value
    found = _variable(variable)
    if found is None:
        raise ValueError(f"{what} is missing: pass {what}=... or set ${variable}")
    return found


def _url_from(variable: str) -> str | None:
    """``$variable`` checked as a base URL (the message names the variable), or ``None``."""
    found = _variable(variable)
    if found is not None:
        check_base_url(found, "$" + variable)
    return found


def client_settings(
    app_id: str | None, app_key: str | None, base_url: str | None, token_base_url: str | None
) -> ClientSettings:
    """The settings of a client made with these arguments (``None`` = not given).

    ``app_id``/``app_key``: the argument, else ``$UTD_STREAM_APP_ID``/``$UTD_STREAM_APP_KEY``
    (``ValueError`` naming the variable when neither is there). ``base_url``: the argument, else
    ``$UTD_STREAM_BASE_URL``, else :data:`LOCAL_BASE_URL`. ``token_base_url``: the argument,
    else ``$UTD_STREAM_TOKEN_BASE_URL``, else the base URL. Empty variables count as unset.
    """
    resolved_base = base_url if base_url is not None else _url_from(BASE_URL_VARIABLE)
    resolved_base = LOCAL_BASE_URL if resolved_base is None else resolved_base
    if token_base_url is None:
        token_base_url = _url_from(TOKEN_BASE_URL_VARIABLE) or resolved_base
    return ClientSettings(
        app_id=_credential(app_id, "app_id", APP_ID_VARIABLE),
        app_key=_credential(app_key, "app_key", APP_KEY_VARIABLE),
        base_url=resolved_base,
        token_base_url=token_base_url,
    )
