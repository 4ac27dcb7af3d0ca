"""pytest run in a subprocess, in a fresh project of the test's own (a temporary folder), as a
user of the installed package runs it: none of this repository's configuration or conftest."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

__all__ = ["REPO", "run_pytest"]

REPO = Path(__file__).resolve().parents[2]
"""The repository root: put first on the subprocess's path, so it runs this checkout's code."""


def run_pytest(
    project: Path,
    *args: str,
    autoload: bool = True,
    env: Mapping[str, str] | None = None,
    timeout: float = 300.0,
) -> subprocess.CompletedProcess[str]:
    """``python -m pytest ARGS`` in ``project``; ``autoload=False`` loads no plugin that
    ``-p`` does not name (``PYTEST_DISABLE_PLUGIN_AUTOLOAD``)."""
    path = [str(project), str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])]
    child_env = {
        key: value for key, value in os.environ.items()
        if not key.startswith(("PYTEST_", "COV_"))
    }
    child_env.update(env or {})
    child_env["PYTHONPATH"] = os.pathsep.join(path)
    if not autoload:
        child_env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
        cwd=project,
        env=child_env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
