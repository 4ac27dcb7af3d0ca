"""Public names of a package imported on first use (PEP 562), so importing the package, or a
light module inside it, does not pull in LiveKit, numpy or aiohttp."""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["LazyExports"]


class LazyExports:
    """What a package's module-level ``__getattr__`` and ``__dir__`` answer.

    Args:
        package: The package's ``__name__`` (relative homes resolve against it).
        homes: Each public name and the module it lives in (``".models"``); a module exposed by
            its own name (``"media": ".media"``) is the module itself.
        namespace: The package's ``globals()``: a name, once loaded, is kept there, so later
            lookups no longer reach ``__getattr__``.
    """

    def __init__(
        self, package: str, homes: Mapping[str, str], namespace: dict[str, Any]
    ) -> None:
        self._package = package
        self._homes = homes
        self._namespace = namespace

    def load(self, name: str) -> Any:
        """``name`` from its module (imported now if it was not), kept in the namespace."""
        home = self._homes.get(name)
        if home is None:
            raise AttributeError(f"module {self._package!r} has no attribute {name!r}")
        module = importlib.import_module(home, self._package)
        value = module if home.rsplit(".", 1)[-1] == name else getattr(module, name)
        self._namespace[name] = value
        return value

    def names(self, public: Iterable[str]) -> list[str]:
        """The package's own names and every ``public`` one, loaded or not."""
        return sorted(set(self._namespace) | set(public))
