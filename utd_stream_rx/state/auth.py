"""Whether the client can act for its user: a reducer over the bearer's life, and its view.

The client's bearer is minted, renewed before it expires and renewed again when the engine
says it has expired. Each step is an event; :func:`reduce_auth` folds them into a
:class:`UTDAuthState` that the app watches to know when it must act (``FAILED``: the app's
token provider or the engine refused, so the user must sign in again).
"""

from __future__ import annotations

import enum
from collections.abc import Callable

import attrs
from reactivex import Observable
from reactivex import operators as ops
from reactivex.subject import BehaviorSubject, Subject

from .views import View

__all__ = [
    "AuthEvent",
    "AuthFailed",
    "AuthRefreshing",
    "AuthStore",
    "Authenticated",
    "SignedOut",
    "UTDAuthState",
    "reduce_auth",
]


class UTDAuthState(enum.Enum):
    """Where the client's bearer is."""

    UNAUTHENTICATED = "unauthenticated"
    """No bearer yet (or the client was closed)."""
    AUTHENTICATED = "authenticated"
    """A valid bearer; commands run."""
    REFRESHING = "refreshing"
    """A new bearer is being obtained (before expiry, or after the engine refused one); also
    while the engine cannot be reached, until an attempt gets through."""
    FAILED = "failed"
    """The token provider or the engine refused a new bearer: the app must act (sign the user
    in again)."""


@attrs.frozen
class AuthEvent:
    """Base of the bearer's life events."""


@attrs.frozen
class Authenticated(AuthEvent):
    """A bearer for ``identity`` valid until ``expires_at`` (Unix seconds)."""

    identity: str
    expires_at: float


@attrs.frozen
class AuthRefreshing(AuthEvent):
    """A new bearer is being asked for."""


@attrs.frozen
class AuthFailed(AuthEvent):
    """Obtaining a bearer failed with ``code`` (the engine's error code, or ``network``)."""

    code: str | None
    message: str


@attrs.frozen
class SignedOut(AuthEvent):
    """The client was closed."""


def reduce_auth(state: UTDAuthState, event: AuthEvent) -> UTDAuthState:
    """The state after ``event``."""
    if isinstance(event, Authenticated):
        return UTDAuthState.AUTHENTICATED
    if isinstance(event, AuthRefreshing):
        return UTDAuthState.REFRESHING
    if isinstance(event, AuthFailed):
        return UTDAuthState.FAILED
    if isinstance(event, SignedOut):
        return UTDAuthState.UNAUTHENTICATED
    return state


class AuthStore:
    """Auth events in, a read-only :class:`View` of :class:`UTDAuthState` out."""

    def __init__(self) -> None:
        start = UTDAuthState.UNAUTHENTICATED
        self._events: Subject[AuthEvent] = Subject()
        subject: BehaviorSubject[UTDAuthState] = BehaviorSubject(start)
        fold: Callable[[Observable[AuthEvent]], Observable[UTDAuthState]] = ops.scan(
            reduce_auth, start
        )

        def changed(state: UTDAuthState) -> bool:
            return state is not subject.value

        changes = self._events.pipe(fold, ops.filter(changed))
        self._subscription = changes.subscribe(subject)
        self.state: View[UTDAuthState] = View(subject, "auth_state")
        """The current :class:`UTDAuthState`, then every change."""

    def dispatch(self, event: AuthEvent) -> None:
        """Feed one event."""
        self._events.on_next(event)

    def dispose(self) -> None:
        """Complete the view."""
        self._events.on_completed()
        self._subscription.dispose()
