"""The built wheel, installed without extras into a fresh venv, brings the SDK and only the SDK:
the public API and the README quickstart's names import, and neither the engine's dependencies
nor the test tooling come along. Works offline: ``scripts/wheelhouse`` keeps the dependencies'
wheels in a local wheelhouse (``scripts/check`` fills it before the isolated run)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import venv
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Installed by the ``engine`` and ``pytest`` extras only; a plain install must not have them.
NOT_INSTALLED = ("livekit.api", "jwt", "asyncpg", "pytest", "pytest_asyncio")

pytestmark = pytest.mark.slow

# Run inside the fresh venv: imports every public name and the quickstart's imports, and
# reports what it found (as JSON on the last line).
PROBE = """
import importlib.metadata, importlib.util, json, sys
import utd_stream_rx
missing = [n for n in utd_stream_rx.__all__ if getattr(utd_stream_rx, n, None) is None]
exec(sys.argv[1])
def present(name):
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:
        return False
meta = importlib.metadata.metadata("utd_stream_rx")
print(json.dumps({
    "file": utd_stream_rx.__file__,
    "version": utd_stream_rx.__version__,
    "missing": missing,
    "present": {n: present(n) for n in sys.argv[2:]},
    "requires": meta.get_all("Requires-Dist"),
    "license_files": meta.get_all("License-File"),
}))
"""


def _quickstart_imports() -> str:
    """The ``import`` lines of the README's quickstart sample, as printed there."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    sample = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert sample is not None, "the README's quickstart has no python sample"
    lines = [
        line for line in sample.group(1).splitlines() if line.startswith(("import ", "from "))
    ]
    assert any("utd_stream_rx" in line for line in lines)
    return "\n".join(lines)


def _build_wheel(out: Path) -> tuple[Path, Path]:
    """The wheel built into ``out`` and the wheelhouse holding its dependencies."""
    done = subprocess.run(
        [str(ROOT / "scripts" / "wheelhouse"), str(out)],
        cwd=ROOT,
        env={**os.environ, "PYTHON": sys.executable},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    wheelhouse, wheel = done.stdout.strip().splitlines()[-2:]
    return Path(wheel), Path(wheelhouse)


def _install_fresh(wheel: Path, wheelhouse: Path, target: Path) -> Path:
    """A venv of its own at ``target`` with only ``wheel`` and its dependencies; its python."""
    venv.EnvBuilder(with_pip=False).create(target)
    python = target / "bin" / "python"
    # The running venv's pip installs into the new one: no pip of its own to set up there.
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet",
         "--no-index", "--find-links", str(wheelhouse), str(wheel)],
        check=True,
        timeout=300,
    )
    return python


def _probe(python: Path, cwd: Path) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    done = subprocess.run(
        [str(python), "-c", PROBE, _quickstart_imports(), "livekit.rtc", *NOT_INSTALLED],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    found: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    return found


def test_the_wheel_without_extras_brings_the_sdk_and_nothing_more(tmp_path: Path) -> None:
    wheel, wheelhouse = _build_wheel(tmp_path / "dist")
    python = _install_fresh(wheel, wheelhouse, tmp_path / "venv")
    found = _probe(python, tmp_path)

    # The installed copy answered, not this checkout.
    assert Path(found["file"]).is_relative_to(tmp_path / "venv")
    assert found["missing"] == []
    assert found["present"].pop("livekit.rtc") is True
    assert found["present"] == dict.fromkeys(NOT_INSTALLED, False)
    assert found["license_files"] == ["LICENSE"]
    plain = [r for r in found["requires"] if "extra ==" not in r]
    assert not any(r.startswith(("livekit-api", "pyjwt", "asyncpg", "pytest")) for r in plain)
