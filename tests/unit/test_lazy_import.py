"""The package's top level loads its public names on first use: the light modules (models,
errors, error codes) import without LiveKit, numpy or aiohttp, and every public name still
resolves from ``utd_stream_rx`` itself."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

import utd_stream_rx

HEAVY = ("numpy", "livekit", "aiohttp", "reactivex")
INIT = Path(utd_stream_rx.__file__)


def _top_level_packages_after(statement: str) -> set[str]:
    """The top-level packages a fresh interpreter holds after running ``statement``."""
    listing = "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"
    probe = f"import json, sys\n{statement}\n{listing}"
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    return set(json.loads(done.stdout.splitlines()[-1]))


@pytest.mark.parametrize(
    "statement",
    [
        "import utd_stream_rx",
        "import utd_stream_rx.models",
        "import utd_stream_rx.errors",
        "import utd_stream_rx.error_codes",
        "from utd_stream_rx import UTDStreamException, ErrorCode, UTDSeatGrid, __version__",
    ],
)
def test_a_light_import_loads_neither_livekit_nor_numpy(statement: str) -> None:
    loaded = _top_level_packages_after(statement)
    assert not loaded & set(HEAVY), f"{statement!r} loaded {sorted(loaded & set(HEAVY))}"


def test_the_client_still_imports_from_the_top_level() -> None:
    loaded = _top_level_packages_after("from utd_stream_rx import UTDStreamClient")
    assert {"livekit", "aiohttp"} <= loaded


def test_every_public_name_resolves_and_is_listed_by_dir() -> None:
    for name in utd_stream_rx.__all__:
        assert getattr(utd_stream_rx, name) is not None, name
    assert set(utd_stream_rx.__all__) <= set(dir(utd_stream_rx))
    assert utd_stream_rx.media.__name__ == "utd_stream_rx.media"
    assert utd_stream_rx.events.__name__ == "utd_stream_rx.state.events"
    assert utd_stream_rx.notices.__name__ == "utd_stream_rx.state.notices"


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'nothing_here'"):
        _ = utd_stream_rx.nothing_here


def test_the_type_checking_imports_name_exactly_the_public_names() -> None:
    # What mypy and IDEs see (the ``TYPE_CHECKING`` block) is what ``__all__`` promises.
    tree = ast.parse(INIT.read_text())
    guarded = next(
        node
        for node in tree.body
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING"
    )
    seen = {
        alias.asname or alias.name
        for node in ast.walk(guarded)
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    }
    assert seen | {"__version__"} == set(utd_stream_rx.__all__)
