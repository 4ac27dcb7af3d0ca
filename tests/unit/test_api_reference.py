"""The API reference (``scripts/docs``): it builds from the docstrings with pdoc, every
cross-reference in it resolves and every public name has a docstring; and the check really
fails on a broken reference or a missing docstring (a package broken on purpose)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
BUILDER = ROOT / "scripts" / "api_docs.py"

BROKEN_PACKAGE = '''\
"""A package whose reference is broken on purpose: see :class:`Missing` and
`brokenpkg.nowhere`; :class:`Thing` and :class:`asyncio.Task` are fine."""

__all__ = ["Thing", "ghost", "helper"]


class Thing:
    """Documented, unlike some of its members; :meth:`gone` is not one of them."""

    def act(self) -> None:
        pass

    @property
    def size(self) -> int:
        return 1

    def documented(self) -> None:
        """Says what it does; links :meth:`act`."""


def helper() -> None:
    pass
'''


def _build(*args: str, pythonpath: Path = ROOT) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(pythonpath)}
    return subprocess.run(
        [sys.executable, str(BUILDER), *args],
        capture_output=True, text=True, env=env, timeout=240, check=False,
    )


@pytest.mark.slow
def test_the_reference_builds_and_every_reference_and_name_is_documented(
    tmp_path: Path,
) -> None:
    built = _build("--strict", "--output", str(tmp_path))
    assert built.returncode == 0, built.stdout + built.stderr
    assert "every reference resolves, every public name is documented" in built.stdout
    for page in ("index.html", "utd_stream_rx.html", "utd_stream_rx/testing.html",
                 "utd_stream_rx/media.html", "utd_stream_engine.html"):
        assert (tmp_path / page).is_file(), page
    # A role naming a method of a class documented elsewhere became a link to it.
    testing = (tmp_path / "utd_stream_rx" / "testing.html").read_text(encoding="utf-8")
    assert 'href="../utd_stream_rx.html#UTDSession.rejoin"' in testing
    # Private modules are not documented.
    assert not list(tmp_path.rglob("_*.html"))


def test_the_check_fails_on_broken_references_and_missing_docstrings(tmp_path: Path) -> None:
    (tmp_path / "brokenpkg").mkdir()
    (tmp_path / "brokenpkg" / "__init__.py").write_text(BROKEN_PACKAGE, encoding="utf-8")
    checked = _build("--check", "--modules", "brokenpkg", pythonpath=tmp_path)
    assert checked.returncode == 1, checked.stdout + checked.stderr
    assert checked.stdout.splitlines() == [
        "pdoc: Found 'ghost' in brokenpkg.__all__, but it does not resolve: "
        "Error importing brokenpkg.ghost",
        "brokenpkg (Thing): cannot resolve `gone()`",
        "brokenpkg: cannot resolve `Missing`",
        "brokenpkg: cannot resolve `brokenpkg.nowhere`",
        "brokenpkg.Thing.act: method without a docstring",
        "brokenpkg.Thing.size: property without a docstring",
        "brokenpkg.ghost: in __all__ but not defined",
        "brokenpkg.helper: function without a docstring",
        "8 problems in the API reference of 1 modules",
    ]


LAZY_PACKAGE = '''\
"""A package that imports its names only when asked for (see :class:`Widget`)."""

from typing import Any

__all__ = ["Widget"]


def __getattr__(name: str) -> Any:
    if name == "Widget":
        from ._impl import Widget

        return Widget
    raise AttributeError(name)
'''

LAZY_IMPL = '''\
class Widget:
    """A documented widget."""

    def spin(self) -> None:
        """Spin once."""
'''


def test_a_package_that_imports_lazily_is_documented_whole(tmp_path: Path) -> None:
    package = tmp_path / "src" / "lazypkg"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(LAZY_PACKAGE, encoding="utf-8")
    (package / "_impl.py").write_text(LAZY_IMPL, encoding="utf-8")
    out = tmp_path / "out"
    built = _build("--strict", "--output", str(out), "--modules", "lazypkg",
                   pythonpath=tmp_path / "src")
    assert built.returncode == 0, built.stdout + built.stderr
    page = (out / "lazypkg.html").read_text(encoding="utf-8")
    assert "A documented widget." in page and "Spin once." in page
