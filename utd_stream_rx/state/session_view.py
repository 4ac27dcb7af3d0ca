"""Typed session attributes for the store's views: ``seats = session_view(SEATS)``.

A :class:`SessionView` is a read-only descriptor: on an instance it returns the view of its
spec from the instance's store (``instance.room.store``), typed ``View[T]`` for mypy; on the
class it returns itself, so the class can be walked for the views it shows
(:func:`session_views`). Its docstring is the spec's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Generic, Never, Protocol, TypeVar, overload

from .view_specs import ViewSpec
from .views import View

if TYPE_CHECKING:
    from .store import Store

__all__ = ["SessionView", "StoreHolder", "session_view", "session_views"]

T = TypeVar("T")


class _HasStore(Protocol):
    @property
    def store(self) -> Store: ...


class StoreHolder(Protocol):
    """Anything with a room that has a store (every session)."""

    @property
    def room(self) -> _HasStore: ...


class SessionView(Generic[T]):
    """The store's view for :attr:`spec`, read from ``instance.room.store``."""

    def __init__(self, spec: ViewSpec[Any, T]) -> None:
        self.spec = spec
        self.attribute = spec.name
        self.__doc__ = spec.doc

    def __set_name__(self, owner: type, name: str) -> None:
        self.attribute = name

    @overload
    def __get__(self, instance: None, owner: type | None = None) -> SessionView[T]: ...

    @overload
    def __get__(self, instance: StoreHolder, owner: type | None = None) -> View[T]: ...

    def __get__(
        self, instance: StoreHolder | None, owner: type | None = None
    ) -> View[T] | SessionView[T]:
        if instance is None:
            return self
        return instance.room.store.view(self.spec)

    def __set__(self, instance: StoreHolder, value: Never) -> None:
        # Read-only like a property: a view changes only through the store's reducers.
        raise AttributeError(f"{self.attribute} is a read-only view")

    def __repr__(self) -> str:
        return f"session_view({self.spec.name} as {self.attribute})"


def session_view(spec: ViewSpec[Any, T]) -> SessionView[T]:
    """A session attribute showing the store's view for ``spec`` (documented by the spec)."""
    return SessionView(spec)


def session_views(kind: type) -> dict[str, SessionView[Any]]:
    """The views a session class shows, by attribute name (inherited ones included)."""
    found: dict[str, SessionView[Any]] = {}
    for klass in reversed(kind.__mro__):
        for name, member in vars(klass).items():
            if isinstance(member, SessionView):
                found[name] = member
    return found
