"""``utd-stream dev`` in both modes, as a user runs it: what it prints is what works, and a
process of the stack that dies is reported by name, exit code and the end of its log."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from utd_stream_engine.identity import sign_identity_token
from utd_stream_rx import UTDStreamClient
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


def _child_running(parent: int, module: str) -> int:
    """The pid of ``parent``'s child process running ``python -m module``."""
    for children in Path(f"/proc/{parent}/task").glob("*/children"):
        for pid in children.read_text().split():
            with contextlib.suppress(OSError):  # a child that ended since it was listed
                if module.encode() in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0"):
                    return int(pid)
    raise AssertionError(f"no child of {parent} runs {module}")


async def _authenticate_from_the_environment(base_url: str) -> None:
    """A client made without arguments reads what ``utd-stream dev`` printed, and works."""
    async with UTDStreamClient() as client:
        assert client.api.base_url == base_url
        assert await client.authenticate("ann")


@pytest.mark.slow
def test_the_printed_settings_make_a_client_and_a_killed_engine_is_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    port, livekit_port = free_port(), free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "utd_stream_rx.cli", "dev", "--port", str(port),
         "--livekit-port", str(livekit_port), "--data-dir", str(tmp_path)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    assert process.stdout is not None and process.stderr is not None
    try:
        for line in process.stdout:
            found = re.match(r"\s*export (UTD_STREAM_[A-Z_]+)=(\S+)$", line)
            if found:
                monkeypatch.setenv(found.group(1), found.group(2))
            if "runs production mode" in line:
                break
        else:
            raise AssertionError("utd-stream dev ended early: " + process.stderr.read())
        asyncio.run(_authenticate_from_the_environment(f"http://127.0.0.1:{port}"))
        os.kill(_child_running(process.pid, "utd_stream_engine"), signal.SIGKILL)
        code = process.wait(30)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            process.wait(30)
    report = process.stderr.read().splitlines()
    assert code == 1, report
    head = re.fullmatch(
        r"error: the engine was killed by SIGKILL \(exit code -9\); "
        r"the last (\d+) lines of its log (\S+):", report[0]
    )
    assert head is not None, report
    shown = int(head.group(1))
    assert 1 <= shown <= 20 and len(report) == 1 + shown
    log_lines = Path(head.group(2)).read_text().splitlines()
    assert [line.removeprefix("    ") for line in report[1:]] == log_lines[-shown:]
