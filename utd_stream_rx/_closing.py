"""``async with`` for everything that closes with ``aclose()``."""

from __future__ import annotations

from types import TracebackType
from typing import Self

__all__ = ["ClosesOnExit"]


class ClosesOnExit:
    """``async with thing:`` gives the thing and calls its ``aclose()`` when the block exits,
    whatever ended it."""

    async def aclose(self) -> None:
        """Release everything held (idempotent)."""
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        """The object itself; closed when the block exits."""
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close (see :meth:`aclose`)."""
        await self.aclose()
