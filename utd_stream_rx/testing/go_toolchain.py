"""Which Go is on ``PATH``, and whether it can build a module that asks for a given release."""

from __future__ import annotations

import os
import re
import shutil
import subprocess

__all__ = ["GO_DOWNLOAD_URL", "go_version", "go_version_problem", "parse_go_version"]

GO_DOWNLOAD_URL = "https://go.dev/dl/"
"""Where Go is installed from."""

_VERSION = re.compile(r"go(\d+)\.(\d+)(?:\.(\d+))?")


def parse_go_version(text: str) -> tuple[int, int, int] | None:
    """``(major, minor, patch)`` of ``go1.26.8``, ``go1.26``, ``go1.27rc1`` or
    ``devel go1.27-abc ...`` (as ``go env GOVERSION`` says), or ``None``."""
    found = _VERSION.search(text)
    if found is None:
        return None
    return int(found.group(1)), int(found.group(2)), int(found.group(3) or 0)


def go_version(go: str) -> str | None:
    """What ``go env GOVERSION`` says (``go1.26.8``), or ``None`` when it cannot say."""
    try:
        done = subprocess.run(
            [go, "env", "GOVERSION"], capture_output=True, text=True, timeout=60, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return (done.stdout.strip() or None) if done.returncode == 0 else None


def _format(version: tuple[int, ...]) -> str:
    return ".".join(map(str, version))


def go_version_problem(needed: tuple[int, int], what: str) -> str | None:
    """Why the ``go`` on ``PATH`` cannot build ``what``, which needs Go ``needed`` or newer
    (``None`` when it can). Versions compare as numbers (1.9 < 1.26). A version that cannot be
    read, or a ``$GOTOOLCHAIN`` the user set to let ``go`` fetch the release, is left to
    ``go`` itself."""
    wanted = f"Go {_format(needed)} or newer"
    escape = "or set UTD_LIVEKIT_SERVER_BIN to an existing livekit-server binary"
    go = shutil.which("go")
    if go is None:
        return (
            f"Go is not installed (no `go` on PATH). {what} is built from source with "
            f"`go install` and needs {wanted}: install it from {GO_DOWNLOAD_URL} {escape}."
        )
    found = go_version(go)
    parsed = parse_go_version(found or "")
    if found is None or parsed is None or parsed[:2] >= needed:
        return None
    if os.environ.get("GOTOOLCHAIN", "local") not in ("", "local"):
        return None
    return (
        f"{what} needs {wanted} to build (its go.mod says `go {_format(needed)}`); the `go` "
        f"on PATH ({go}) is {found}. Install Go {_format(needed)}+ from {GO_DOWNLOAD_URL} "
        f"{escape}."
    )
