"""``utd-stream``'s command line: help with no command, ``--version``, global flags on either
side of the command, numbers refused in one line, help for every flag, and the report on a
stack process that died (driven with a real child process)."""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

import utd_stream_rx
from utd_stream_rx.cli import main
from utd_stream_rx.cli._errors import CliError
from utd_stream_rx.cli._parser import build_parser
from utd_stream_rx.cli._watch import death_report, wait_for_stop
from utd_stream_rx.testing.children import ChildProcess


def _run(*argv: str) -> subprocess.CompletedProcess[str]:
    """``utd-stream *argv`` as a user runs it."""
    return subprocess.run(
        [sys.executable, "-m", "utd_stream_rx.cli", *argv],
        capture_output=True, text=True, timeout=60,
    )


def test_no_command_prints_the_help_and_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: utd-stream")
    assert all(command in out for command in ("dev", "demo", "install", "--version"))


def test_version_prints_the_package_version() -> None:
    done = _run("--version")
    assert (done.returncode, done.stdout) == (0, f"utd-stream {utd_stream_rx.__version__}\n")


@pytest.mark.parametrize(
    ("argv", "verbose"),
    [
        (["dev"], False),
        (["-v", "dev"], True),
        (["dev", "-v"], True),
        (["dev", "--port", "9000", "--verbose"], True),
        (["--verbose", "install"], True),
        (["demo", "-v", "--seconds", "1"], True),
    ],
)
def test_global_flags_work_before_or_after_the_command(argv: list[str], verbose: bool) -> None:
    assert build_parser().parse_args(argv).verbose is verbose


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["dev", "--port", "70000"], "argument --port: 70000 is not a port (1-65535)"),
        (["dev", "--port", "0"], "argument --port: 0 is not a port (1-65535)"),
        (["dev", "--port", "http"], "argument --port: not a port number: 'http'"),
        (["dev", "--livekit-port", "65536"], "argument --livekit-port: 65536 is not a port"),
        (["dev", "--ring-timeout", "-5"], "argument --ring-timeout: -5 must be more than 0"),
        (["dev", "--ring-timeout", "0"], "argument --ring-timeout: 0 must be more than 0"),
        (["dev", "--ring-timeout", "nan"], "argument --ring-timeout: not a finite number"),
        (["dev", "--request-ttl", "-1"], "argument --request-ttl: -1 must be 0 seconds or more"),
        (["demo", "--seconds", "soon"], "argument --seconds: not a number of seconds: 'soon'"),
    ],
)
def test_a_bad_number_is_one_line_and_exit_code_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f": error: {message}" in err, err


def test_the_one_line_error_as_a_user_sees_it() -> None:
    done = _run("dev", "--port", "70000")
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr == (
        "utd-stream dev: error: argument --port: 70000 is not a port (1-65535) "
        "(see utd-stream dev --help)\n"
    )
    done = _run("dev", "--ring-timeout", "-5")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.count("\n") == 1


def _actions(parser: argparse.ArgumentParser) -> list[tuple[str, argparse.Action]]:
    """Every flag of ``parser`` and of its commands, with the command's prog."""
    found: list[tuple[str, argparse.Action]] = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for command in action.choices.values():
                found += _actions(command)
        else:
            found.append((parser.prog, action))
    return found


def test_every_flag_and_command_has_help() -> None:
    parser = build_parser()
    flags = _actions(parser)
    assert len(flags) > 12
    missing = [f"{prog} {action.option_strings}" for prog, action in flags if not action.help]
    assert missing == []
    install = _run("install", "--help").stdout
    assert "$UTD_STREAM_CACHE" in install and "$UTD_LIVEKIT_SERVER_BIN" in install


class _Script(ChildProcess):
    """A real child process: a shell script whose output goes to its log."""

    def __init__(self, script: str, workdir: Path) -> None:
        super().__init__(workdir, prefix="utd-script-", log_name="script.log")
        self._spawn(["sh", "-c", script])

    def wait_exited(self) -> None:
        while self.running:
            threading.Event().wait(0.02)


def test_the_death_report_names_the_process_its_exit_code_and_its_last_log_lines(
    tmp_path: Path,
) -> None:
    child = _Script("for i in $(seq 1 30); do echo line $i; done; exit 3", tmp_path)
    child.wait_exited()
    report = death_report("the engine", child)
    lines = report.splitlines()
    assert lines[0] == (
        f"the engine exited with code 3; the last 20 lines of its log {child.log_path}:"
    )
    assert lines[1:] == [f"    line {i}" for i in range(11, 31)]
    child.cleanup()


def test_a_killed_process_is_reported_with_its_signal(tmp_path: Path) -> None:
    child = _Script("echo listening; exec sleep 60", tmp_path)
    while "listening" not in child.log_tail():
        threading.Event().wait(0.02)
    assert child.pid is not None
    os.kill(child.pid, signal.SIGKILL)
    stop = threading.Event()
    with pytest.raises(CliError) as raised:
        wait_for_stop(stop, [("livekit-server", child)])
    assert str(raised.value).startswith(
        f"livekit-server was killed by SIGKILL (exit code -9); the last 1 lines of its log "
        f"{child.log_path}:\n    listening"
    )
    child.cleanup()


def test_wait_for_stop_returns_when_asked_while_everything_runs(tmp_path: Path) -> None:
    child = _Script("exec sleep 60", tmp_path)
    stop = threading.Event()
    threading.Timer(0.2, stop.set).start()
    wait_for_stop(stop, [("redis", child)])
    assert child.running and child.exit_code is None
    child.cleanup()
    assert child.exit_code is None  # stopped: forgotten


def test_every_process_of_the_cluster_has_a_name_for_the_report(tmp_path: Path) -> None:
    from utd_stream_rx.cli._cluster import cluster_parts
    from utd_stream_rx.testing.cluster import LocalCluster

    cluster = LocalCluster(workdir=tmp_path)  # made, not started
    names = [name for name, _ in cluster_parts(cluster)]
    assert names == [
        "the load balancer (nginx)", "engine 1", "engine 2", "livekit node 1",
        "livekit node 2", "redis", "postgresql",
    ]
    assert [process for _, process in cluster_parts(cluster)] == cluster._parts()
