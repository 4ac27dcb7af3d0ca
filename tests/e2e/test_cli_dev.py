"""``utd-stream dev`` in both modes, as a user runs it: what it prints is what works."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from utd_stream_engine.identity import sign_identity_token
from utd_stream_rx.testing.livekit_server import free_port

pytestmark = pytest.mark.e2e


def _post(url: str, body: dict[str, str], headers: dict[str, str]) -> tuple[int, dict[str, object]]:
    request = urllib.request.Request(
        url, json.dumps(body).encode(), {**headers, "Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as failed:
        return failed.code, json.loads(failed.read())


def _run_dev(tmp_path: Path, *flags: str) -> tuple[dict[str, str], str]:
    """Start ``utd-stream dev``, read what it prints until it is up, then stop it with Ctrl-C;
    answer the exported settings and the whole output."""
    port, livekit_port = free_port(), free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "utd_stream_rx.cli", "dev", "--port", str(port),
         "--livekit-port", str(livekit_port), "--data-dir", str(tmp_path), *flags],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    assert process.stdout is not None
    lines: list[str] = []
    settings: dict[str, str] = {}
    try:
        for line in process.stdout:
            lines.append(line)
            found = re.match(r"\s*export (UTD_STREAM_[A-Z_]+)=(\S+)", line)
            if found:
                settings[found.group(1)] = found.group(2)
            # The last line of the banner: the secret (secure) or the hint at --secure (dev).
            if "UTD_STREAM_APP_SECRET" in settings or "runs production mode" in line:
                result = settings, "".join(lines)
                break
        else:
            raise AssertionError("utd-stream dev ended early:\n" + "".join(lines))
        base = settings["UTD_STREAM_BASE_URL"]
        headers = {"X-UTD-App-Id": settings["UTD_STREAM_APP_ID"],
                   "X-UTD-App-Key": settings["UTD_STREAM_APP_KEY"]}
        settings["asserted"] = str(_post(base + "/api/v1/auth/user-token",
                                         {"identity": "ann"}, headers)[0])
        if "UTD_STREAM_APP_SECRET" in settings:
            token = sign_identity_token(settings["UTD_STREAM_APP_SECRET"], "ann")
            settings["proven"] = str(_post(base + "/api/v1/auth/user-token",
                                           {"identity_token": token}, headers)[0])
        return result
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.mark.slow
def test_dev_says_it_is_insecure_and_secure_mode_prints_the_secret_that_works(
    tmp_path: Path,
) -> None:
    settings, output = _run_dev(tmp_path / "dev")
    assert "INSECURE dev mode" in output
    assert settings["asserted"] == "200"  # the client's word is taken

    settings, output = _run_dev(tmp_path / "secure", "--secure")
    assert "INSECURE" not in output and "production mode" in output
    assert settings["asserted"] == "401"  # no proof, no bearer
    assert settings["proven"] == "200"  # an identity token signed with the printed secret
