"""The pytest plugin is cheap and safe to load: loading it imports neither LiveKit nor numpy
nor aiohttp, and a platform without the POSIX-only modules the stack uses still loads it (a
stack fixture then fails with a message saying why). Checked by a pytest run of its own in a
fresh project, where an early plugin makes ``fcntl`` and ``pwd`` unimportable first."""

from __future__ import annotations

import pytest

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


@pytest.fixture(scope="module")
def plugin_run(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The output of one pytest run of the checks above, with ``fcntl`` and ``pwd`` made
    unimportable and no plugin loaded but ours."""
    root = tmp_path_factory.mktemp("fresh-project")
    (root / "no_posix.py").write_text(NO_POSIX)
    (root / "test_plugin_checks.py").write_text(CHECKS)
    done = run_pytest(
        root,
        "-p", "no_posix", "-p", "utd_stream_rx.testing.pytest_plugin", "-rA",
        autoload=False,
        timeout=120,
    )
    return done.stdout + done.stderr


def test_the_plugin_loads_without_posix_modules(plugin_run: str) -> None:
    assert "Error while loading" not in plugin_run, plugin_run
    assert "PASSED test_plugin_checks.py::test_a_unique_name_needs_no_stack" in plugin_run, (
        plugin_run
    )


def test_a_stack_fixture_says_it_needs_posix(plugin_run: str) -> None:
    assert "ERROR test_plugin_checks.py::test_the_stack_says_it_needs_posix" in plugin_run, (
        plugin_run
    )
    assert "the utd_stack fixture needs a POSIX system" in plugin_run, plugin_run
    assert "fcntl, pwd" in plugin_run, plugin_run


def test_loading_the_plugin_imports_neither_livekit_nor_numpy_nor_aiohttp(
    plugin_run: str,
) -> None:
    # The plugin's package is imported first: this holds with the lazy top-level
    # ``utd_stream_rx`` import and the lazy ``utd_stream_rx.testing`` together.
    passed = "PASSED test_plugin_checks.py::test_loading_the_plugin_imported_nothing_heavy"
    assert passed in plugin_run, plugin_run
