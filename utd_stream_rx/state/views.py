"""Read-only views of the store: an observable with a current ``.value``.

A :class:`View` wraps a private ``BehaviorSubject`` owned by the store. It can be subscribed to
and piped like any observable (a new subscriber first gets the current value), read
synchronously (``.value``), awaited for a condition (:meth:`View.wait_for`) and iterated with
``async for``. It has no ``on_next``: only the store's reducers change state.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import threading
import weakref
from collections.abc import AsyncIterator, Callable, Generator
from typing import Any, Generic, TypeVar

import reactivex
from reactivex import abc
from reactivex.subject import BehaviorSubject

from .._validate import check_timeout
from ..error_codes import ErrorCode
from ..errors import UTDStreamException

__all__ = ["View", "ViewIterator", "ViewTimeoutError", "constant_view", "guarded_observer"]

log = logging.getLogger(__name__)

T = TypeVar("T")

_DONE = object()


class ViewTimeoutError(UTDStreamException, TimeoutError):
    """A :meth:`View.wait_for` gave up. Both a ``UTDStreamException`` (``code="timeout"``)
    and a built-in ``TimeoutError``, so either ``except`` catches it."""

    def __init__(self, message: str) -> None:
        UTDStreamException.__init__(self, message, None, ErrorCode.TIMEOUT)


def guarded_observer(
    on_next: Callable[[T], Any] | abc.ObserverBase[T] | None,
    on_error: Callable[[Exception], Any] | None,
    on_completed: Callable[[], Any] | None,
) -> abc.ObserverBase[T]:
    """An observer whose callbacks cannot raise into the store.

    A failing subscriber is logged instead; otherwise its exception would stop the store
    from notifying everyone subscribed after it.
    """
    if isinstance(on_next, abc.ObserverBase):
        observer = on_next
        on_next, on_error, on_completed = observer.on_next, observer.on_error, observer.on_completed

    def next_(value: T) -> None:
        if on_next is not None:
            try:
                on_next(value)
            except Exception:
                log.exception("a subscriber failed on %r", value)

    def error(exc: Exception) -> None:
        if on_error is not None:
            try:
                on_error(exc)
            except Exception:
                log.exception("a subscriber failed in on_error")

    def completed() -> None:
        if on_completed is not None:
            try:
                on_completed()
            except Exception:
                log.exception("a subscriber failed in on_completed")

    return reactivex.Observer(next_, error, completed)


class View(reactivex.Observable[T], Generic[T]):
    """A read-only, observable value owned by the store.

    - ``view.value``: the current value, synchronously.
    - ``view.subscribe(fn)`` / ``view.pipe(...)``: the current value, then every change
      (consecutive duplicates are suppressed by the store).
    - ``await view.wait_for(pred, timeout=...)``: the first value matching ``pred``.
    - ``async for value in view``: the current value, then each change.

    ``await view`` is refused: an observable resolves to its *last* value, which a view never
    has; use :attr:`value` or :meth:`wait_for`.
    """

    def __init__(self, subject: BehaviorSubject[T], name: str = "view") -> None:
        super().__init__()
        self._subject = subject
        self.name = name

    @property
    def value(self) -> T:
        """The current value."""
        return self._subject.value

    def _subscribe_core(
        self,
        observer: abc.ObserverBase[T],
        scheduler: abc.SchedulerBase | None = None,
    ) -> abc.DisposableBase:
        return self._subject.subscribe(observer, scheduler=scheduler)

    def subscribe(
        self,
        on_next: abc.ObserverBase[T] | abc.OnNext[T] | None = None,
        on_error: abc.OnError | None = None,
        on_completed: abc.OnCompleted | None = None,
        *,
        scheduler: abc.SchedulerBase | None = None,
    ) -> abc.DisposableBase:
        """Observe the current value and every change; an exception in a callback is logged
        rather than raised into the store."""
        return super().subscribe(
            guarded_observer(on_next, on_error, on_completed), scheduler=scheduler
        )

    def __await__(self) -> Generator[Any, None, T]:
        raise TypeError(
            f"a View cannot be awaited (it never completes); use {self.name}.value or "
            f"await {self.name}.wait_for(predicate)"
        )

    async def wait_for(self, predicate: Callable[[T], object], timeout: float | None = None) -> T:
        """The first value (the current one included) for which ``predicate`` is true.

        Returns at once when the current value matches. Never blocks the event loop; changes
        made from other threads are handed over with ``call_soon_threadsafe``.

        Raises:
            ViewTimeoutError: (a ``TimeoutError`` and ``UTDStreamException`` with code
                ``timeout``) when nothing matched within ``timeout`` seconds.
            UTDStreamException: ``code="closed"`` if the store was disposed meanwhile.
            TypeError, ValueError: ``timeout`` is not ``None`` or a positive, finite number.
        """
        if timeout is not None:
            timeout = check_timeout(timeout)
        current = self._subject.value
        if predicate(current):
            return current
        waiter = _Waiter(predicate, self.name)
        subscription = self._subject.subscribe(waiter)
        waiter.subscription = subscription
        try:
            if timeout is None:
                return await waiter.future
            async with asyncio.timeout(timeout):
                return await waiter.future
        except TimeoutError:
            raise ViewTimeoutError(
                f"{self.name} did not reach the expected value within {timeout:g}s "
                f"(last value: {self._subject.value!r})"
            ) from None
        finally:
            subscription.dispose()

    def __aiter__(self) -> ViewIterator[T]:
        """Iterate the current value, then each change, until the store is disposed.

        The subscription ends when the loop is left (``break`` included) or
        :meth:`ViewIterator.aclose` is called.
        """
        return ViewIterator(self._subject)

    def __repr__(self) -> str:
        return f"View({self.name}={self._subject.value!r})"


class _LoopHandoff:
    """Runs callbacks on the loop it was made on, from whatever thread the store notifies on.

    It is used inside the store's notifications, so it never raises: raising there would stop
    the view for every subscriber after this one.
    """

    def __init__(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._thread = threading.get_ident()

    def run(self, action: Callable[[], None]) -> bool:
        """Run ``action`` on the loop (at once on the loop's own thread); ``False`` when the
        loop has closed, and ``action`` will never run."""
        try:
            if self._loop.is_closed():
                return False
            if threading.get_ident() == self._thread:
                action()
            else:
                self._loop.call_soon_threadsafe(action)
        except RuntimeError:  # the loop closed meanwhile (on its own thread)
            return False
        return True


class _Waiter(abc.ObserverBase[T]):
    """Watches a view for :meth:`View.wait_for`: settles :attr:`future` with the first value
    matching the predicate, or with the failure (predicate error, view error, store closed).

    It runs inside the store's notification, possibly on another thread: the future is
    settled on its own loop, and nothing is ever raised into the store.
    """

    def __init__(self, predicate: Callable[[T], object], name: str) -> None:
        self._predicate = predicate
        self._name = name
        self._handoff = _LoopHandoff()
        self.future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self.subscription: abc.DisposableBase | None = None

    def on_next(self, value: T) -> None:
        try:
            matched = self._predicate(value)
        except Exception as exc:
            self._settle(functools.partial(self._fail, exc))
            return
        if matched:
            self._settle(functools.partial(self._resolve, value))

    def on_error(self, error: Exception) -> None:
        self._settle(functools.partial(self._fail, error))

    def on_completed(self) -> None:
        closed = UTDStreamException(f"{self._name}: the store was closed", code=ErrorCode.CLOSED)
        self._settle(functools.partial(self._fail, closed))

    def _settle(self, action: Callable[[], None]) -> None:
        # When the waiting loop has closed nobody waits any more: the subscription goes.
        if not self._handoff.run(action) and self.subscription is not None:
            self.subscription.dispose()

    def _resolve(self, value: T) -> None:
        if not self.future.done():
            self.future.set_result(value)

    def _fail(self, exc: BaseException) -> None:
        if not self.future.done():
            self.future.set_exception(exc)


class _Failure:
    __slots__ = ("error",)

    def __init__(self, error: Exception) -> None:
        self.error = error


class ViewIterator(AsyncIterator[T]):
    """``async for`` over a view: the current value, then each change.

    Changes made on other threads are handed to the loop with ``call_soon_threadsafe``.
    The subscription is released on completion, on :meth:`aclose`, or as soon as the
    iterator is dropped (leaving an ``async for`` with ``break``). An iterator whose event
    loop has closed is dropped at the next change, and never disturbs the view's other
    subscribers.
    """

    def __init__(self, subject: BehaviorSubject[T]) -> None:
        self._handoff = _LoopHandoff()
        self._queue: asyncio.Queue[Any] = asyncio.Queue()
        # The subject must not keep the iterator alive: it holds only a weak reference, so a
        # dropped iterator is collected and unsubscribes at once.
        me = weakref.ref(self)

        def on_next(item: T) -> None:
            iterator = me()
            if iterator is not None:
                iterator._put(item)

        def on_error(exc: Exception) -> None:
            iterator = me()
            if iterator is not None:
                iterator._put(_Failure(exc))

        def on_completed() -> None:
            iterator = me()
            if iterator is not None:
                iterator._put(_DONE)

        self._subscription: abc.DisposableBase | None = subject.subscribe(
            reactivex.Observer(on_next, on_error, on_completed)
        )

    def _put(self, item: object) -> None:
        # An iterator whose loop has closed has no reader left.
        if not self._handoff.run(functools.partial(self._queue.put_nowait, item)):
            self._drop_dead()

    def _drop_dead(self) -> None:
        log.debug("dropping a view iterator whose event loop has closed")
        self._release()

    def __aiter__(self) -> ViewIterator[T]:
        return self

    async def __anext__(self) -> T:
        if self._subscription is None and self._queue.empty():
            raise StopAsyncIteration
        item = await self._queue.get()
        if item is _DONE:
            self._release()
            raise StopAsyncIteration
        if isinstance(item, _Failure):
            self._release()
            raise item.error
        value: T = item
        return value

    async def aclose(self) -> None:
        """Stop iterating and unsubscribe."""
        self._release()

    def _release(self) -> None:
        subscription, self._subscription = self._subscription, None
        if subscription is not None:
            subscription.dispose()

    def __del__(self) -> None:
        self._release()


def constant_view(value: T, name: str = "view") -> View[T]:
    """A view that always holds ``value`` (handy in tests and for absent features)."""
    return View(BehaviorSubject(value), name)

