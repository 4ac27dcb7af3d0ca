"""One version: ``utd_stream_rx/_version.py`` is read by the build (hatch's dynamic version) and
by the package, so the installed distribution, ``__version__`` and the CHANGELOG agree."""

from __future__ import annotations

import re
import tomllib
from importlib import metadata
from pathlib import Path

import utd_stream_rx

ROOT = Path(__file__).resolve().parents[2]
# A released section of the CHANGELOG: ``## [1.2.0] - 2026-01-31`` (not ``## [Unreleased]``).
RELEASED_HEADING = re.compile(r"^## \[(\d+\.\d+\.\d+[^\]]*)\]", re.MULTILINE)


def test_the_version_is_written_once() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert "version" not in project
    assert "version" in project["dynamic"]


def test_the_package_version_is_the_installed_distributions() -> None:
    assert utd_stream_rx.__version__ == metadata.version("utd_stream_rx")


def test_the_package_version_is_a_plain_release_number() -> None:
    assert re.fullmatch(r"\d+\.\d+\.\d+((a|b|rc)\d+)?(\.dev\d+)?", utd_stream_rx.__version__)


def test_the_latest_released_changelog_heading_is_the_package_version() -> None:
    changelog = (ROOT / "CHANGELOG.md").read_text()
    assert "## [Unreleased]" in changelog
    released = RELEASED_HEADING.findall(changelog)
    # Nothing released yet: the version in the code is the one the first release will carry.
    if released:
        assert released[0] == utd_stream_rx.__version__
