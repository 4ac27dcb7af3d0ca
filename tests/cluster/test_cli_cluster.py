"""``utd-stream dev --cluster --json``, as a user runs it: the JSON it prints says what works,
and Ctrl-C stops everything it started."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests._support.ports import listening
from utd_stream_rx.testing.livekit_server import free_port

pytestmark = pytest.mark.cluster


def _port(url: str) -> int:
    port = urlsplit(url).port
    assert port is not None, url
    return port


def _get(url: str) -> int:
    with urllib.request.urlopen(url, timeout=10) as answer:
        status: int = answer.status
        return status


def _mint(base_url: str, described: dict[str, Any]) -> int:
    request = urllib.request.Request(
        base_url + "/api/v1/auth/user-token",
        json.dumps({"identity": "ann"}).encode(),
        {"Content-Type": "application/json", "X-UTD-App-Id": described["app_id"],
         "X-UTD-App-Key": described["app_key"]},
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        status: int = answer.status
        return status


@pytest.mark.slow
def test_dev_cluster_json_prints_what_runs_where_and_sigint_stops_it_all() -> None:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "utd_stream_rx.cli", "dev", "--cluster", "--json",
         "--port", str(port), "--ring-timeout", "5"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    assert process.stdout is not None
    try:
        first_line = process.stdout.readline()
        described = json.loads(first_line)
        assert described["base_url"] == f"http://127.0.0.1:{port}"
        assert len(described["engine_urls"]) == 2 and len(described["livekit_urls"]) == 2
        assert described["database"].startswith("postgresql://")
        assert {"app_id", "app_key", "redis", "workdir"} <= set(described)
        assert _mint(described["base_url"], described) == 200
        for url in described["engine_urls"]:
            assert _get(url + "/healthz") == 200
            assert _mint(url, described) == 200
        for url in described["livekit_urls"]:
            assert _get(url.replace("ws://", "http://") + "/") == 200
    finally:
        process.send_signal(signal.SIGINT)
        try:
            code = process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            raise
    rest = process.stdout.read()
    assert code == 0, process.stderr.read() if process.stderr else ""
    assert rest == ""  # stdout carries the one JSON object only
    ports = [port, *map(_port, described["engine_urls"]), *map(_port, described["livekit_urls"]),
             int(described["redis"].rsplit(":", 1)[1]), _port(described["database"])]
    assert not any(listening(each) for each in ports), ports
    assert not Path(described["workdir"]).exists()  # a temporary folder, removed at the end
