"""Whether this platform can run the local stack: checked by the pytest plugin's fixtures.

The stack's processes rely on POSIX-only modules (``fcntl`` for the build lock, ``pwd`` for
servers run as another user, process groups and stop signals). The plugin itself loads
anywhere; a fixture that needs the stack fails with this module's message instead.
PYTEST_DONT_REWRITE: no ``assert`` here, nothing for pytest to rewrite.
"""

from __future__ import annotations

import importlib

__all__ = ["POSIX_MODULES", "missing_posix_modules", "require_posix"]

POSIX_MODULES = ("fcntl", "pwd")
"""The POSIX-only standard modules the stack's process tooling imports."""


def missing_posix_modules() -> list[str]:
    """The modules of :data:`POSIX_MODULES` this interpreter cannot import."""
    missing = []
    for name in POSIX_MODULES:
        try:
            importlib.import_module(name)
        except ImportError:
            missing.append(name)
    return missing


def require_posix(what: str) -> None:
    """Raise ``RuntimeError`` naming ``what`` when the stack cannot run on this platform."""
    missing = missing_posix_modules()
    if missing:
        raise RuntimeError(
            f"{what} needs a POSIX system (Linux or macOS): the local stack runs livekit-server "
            f"and the engine as child processes with {', '.join(missing)}, which this Python "
            "does not have"
        )
