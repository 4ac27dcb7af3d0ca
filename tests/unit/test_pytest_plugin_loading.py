"""The pytest plugin is cheap and safe to load: loading it imports neither LiveKit nor numpy
nor aiohttp, and a platform without the POSIX-only modules the stack uses still loads it (a
stack fixture then fails with a message saying why). Checked by a pytest run of its own in a
fresh project, where an early plugin makes ``fcntl`` and ``pwd`` unimportable first."""

from __future__ import annotations

from pathlib import Path

from tests._support.fresh_project import run_pytest

NO_POSIX = '''
"""Loaded first: this interpreter now behaves as one without the POSIX-only modules."""
import sys

for name in ("fcntl", "pwd"):
    sys.modules[name] = None  # a later ``import`` raises ImportError
'''

CHECKS = '''
import sys

HEAVY = ("livekit", "numpy", "aiohttp")


def test_loading_the_plugin_imported_nothing_heavy():
    assert [name for name in HEAVY if name in sys.modules] == []


def test_a_unique_name_needs_no_stack(utd_unique):
    assert utd_unique("lobby").startswith("lobby-")


def test_the_stack_says_it_needs_posix(utd_stack):
    raise AssertionError("the stack started without fcntl")
'''


def _project(root: Path) -> Path:
    (root / "no_posix.py").write_text(NO_POSIX)
    (root / "test_plugin_checks.py").write_text(CHECKS)
    return root


def test_the_plugin_loads_light_and_without_posix_modules(tmp_path: Path) -> None:
    done = run_pytest(
        _project(tmp_path),
        "-p", "no_posix", "-p", "utd_stream_rx.testing.pytest_plugin", "-q", "-rA",
        autoload=False,
        timeout=120,
    )
    out = done.stdout + done.stderr
    assert "Error while loading" not in out, out
    assert "2 passed, 1 error" in out, out
    assert "the utd_stack fixture needs a POSIX system" in out, out
    assert "fcntl, pwd" in out, out
