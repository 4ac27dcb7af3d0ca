"""``docs/configuration.md`` lists every environment variable the package reads, and the
engine's tuning defaults as the engine has them."""

from __future__ import annotations

import re
from pathlib import Path

import utd_stream_engine.__main__ as engine_cli
from utd_stream_engine.config import EngineConfig

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "configuration.md").read_text()
ROWS = {
    found.group(1): found.group(0)
    for found in re.finditer(r"^\| `([A-Z_]+)` \|.*$", DOC, re.MULTILINE)
}
_NAMED = re.compile(r"\"((?:UTD|LIVEKIT)_[A-Z_]*[A-Z])\"")


_DEFINED = re.compile(r"^([A-Z_]+)\b\s*[:=]", re.MULTILINE)


def _variables_in_source() -> set[str]:
    """Every ``"UTD_..."``/``"LIVEKIT_..."`` string of the package that is not the name of one
    of its own constants (as listed in an ``__all__``)."""
    names: set[str] = set()
    constants: set[str] = set()
    for package in ("utd_stream_rx", "utd_stream_engine"):
        for path in (ROOT / package).rglob("*.py"):
            text = path.read_text()
            names.update(_NAMED.findall(text))
            constants.update(_DEFINED.findall(text))
    return names - constants


def test_every_variable_the_package_names_is_in_the_table() -> None:
    found = _variables_in_source()
    assert {"UTD_STREAM_BASE_URL", "UTD_STREAM_APP_KEY", "UTD_ENGINE_DB"} <= found
    assert sorted(found - set(ROWS)) == []


def test_every_tuning_variable_is_in_the_table_with_the_engine_s_default() -> None:
    defaults = EngineConfig()
    for name, _, _ in engine_cli._TUNING:
        row = ROWS["UTD_ENGINE_" + name.upper()]
        assert f"`--{name.replace('_', '-')}`" in row
        assert row.endswith(f"| `{getattr(defaults, name):g}` |"), row
