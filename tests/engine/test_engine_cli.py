"""The engine's command line: help for every flag naming the variable behind it, and a bad
value (flag or variable) refused in one line with exit code 2, never a traceback."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

import pytest

from utd_stream_engine import __main__ as engine_cli
from utd_stream_engine.__main__ import parse_args

SECRET = "cli-test-secret-" + "x" * 32

# Each flag and the variable behind it (None: a flag only).
VARIABLES: dict[str, str | None] = {
    "--host": "UTD_ENGINE_HOST",
    "--port": "UTD_ENGINE_PORT",
    "--db": "UTD_ENGINE_DB",
    "--db-pool-size": "UTD_ENGINE_DB_POOL_SIZE",
    "--livekit-url": "LIVEKIT_URL",
    "--livekit-api-key": "LIVEKIT_API_KEY",
    "--livekit-api-secret": "LIVEKIT_API_SECRET",
    "--log-level": "UTD_ENGINE_LOG_LEVEL",
    "--app": None,
    "--app-secret": "UTD_ENGINE_APP_SECRETS",
    "--dev": "UTD_ENGINE_DEV",
    "--ban": "UTD_ENGINE_BANS",
    "--cors-origin": "UTD_ENGINE_CORS_ORIGINS",
    "--user-token-secret": "UTD_ENGINE_USER_TOKEN_SECRET",
}


def _engine(*argv: str, **env: str) -> subprocess.CompletedProcess[str]:
    """``python -m utd_stream_engine *argv`` (which must stop at its command line)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("UTD_ENGINE_", "LIVEKIT"))}
    return subprocess.run(
        [sys.executable, "-m", "utd_stream_engine", *argv],
        env={**clean, "LIVEKIT_API_SECRET": SECRET, **env},
        capture_output=True, text=True, timeout=60,
    )


def _flags() -> list[argparse.Action]:
    parser = argparse.ArgumentParser()
    engine_cli._add_connections(parser)
    engine_cli._add_trust(parser)
    engine_cli._add_tuning(parser)
    return [action for action in parser._actions if action.dest != "help"]


def test_every_flag_has_help_naming_its_variable() -> None:
    flags = _flags()
    assert len(flags) >= 30
    for action in flags:
        flag = action.option_strings[0]
        assert action.help, flag
        variable = VARIABLES.get(flag, "UTD_ENGINE_" + flag[2:].replace("-", "_").upper())
        if variable is not None:
            assert f"${variable}" in action.help, (flag, action.help)


@pytest.mark.parametrize(
    ("argv", "env", "message"),
    [
        (["--log-level", "bogus"], {},
         "argument --log-level: invalid choice: 'BOGUS' (choose from 'DEBUG', 'INFO', "
         "'WARNING', 'ERROR', 'CRITICAL')"),
        ([], {"UTD_ENGINE_LOG_LEVEL": "loud"},
         "$UTD_ENGINE_LOG_LEVEL: invalid choice: 'loud' (choose from DEBUG, INFO, WARNING, "
         "ERROR, CRITICAL)"),
        (["--port", "70000"], {}, "argument --port: 70000 is not a port (1-65535)"),
        ([], {"UTD_ENGINE_PORT": "http"}, "$UTD_ENGINE_PORT: not a port number: 'http'"),
        (["--ring-timeout", "-5"], {}, "argument --ring-timeout: -5 must be more than 0 seconds"),
        ([], {"UTD_ENGINE_RING_TIMEOUT": "abc"},
         "$UTD_ENGINE_RING_TIMEOUT: not a number of seconds: 'abc'"),
        (["--request-ttl", "-1"], {}, "argument --request-ttl: -1 must be 0 seconds or more"),
        (["--rate-limit", "-3"], {}, "argument --rate-limit: -3 must be 0 or more"),
        (["--db-pool-size", "0"], {}, "argument --db-pool-size: 0 must be 1 or more"),
    ],
)
def test_a_bad_value_is_one_line_and_exit_code_2(
    argv: list[str], env: dict[str, str], message: str
) -> None:
    done = _engine(*argv, **env)
    assert done.returncode == 2, done.stderr
    assert done.stderr == (
        f"python -m utd_stream_engine: error: {message} "
        "(see python -m utd_stream_engine --help)\n"
    )


def test_good_values_from_flags_and_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    base = ["--livekit-api-secret", SECRET]
    config = parse_args([*base, "--log-level", "debug", "--port", "9000", "--rate-limit", "0"])
    assert (config.port, config.rate_limit) == (9000, 0)
    monkeypatch.setenv("UTD_ENGINE_PORT", "9001")
    monkeypatch.setenv("UTD_ENGINE_RING_TIMEOUT", "4.5")
    monkeypatch.setenv("UTD_ENGINE_LOG_LEVEL", "warning")
    config = parse_args(base)
    assert (config.port, config.ring_timeout) == (9001, 4.5)
    assert parse_args([*base, "--port", "9002"]).port == 9002  # the flag wins
