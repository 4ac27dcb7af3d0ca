"""Settings from the environment, read when a client is made: variables set after the import
count, explicit arguments win, and a missing credential names the variable to set."""

from __future__ import annotations

import os

import pytest

from utd_stream_rx import UTDApiClient, UTDStreamClient
from utd_stream_rx.api import DEFAULT_BASE_URL

APP_ID = "app-from-env"
APP_KEY = "key-from-env"
LOCAL = "http://127.0.0.1:8787"


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No ``UTD_STREAM_*`` variable of the outer environment leaks into a test."""
    for name in list(os.environ):
        if name.startswith("UTD_STREAM_"):
            monkeypatch.delenv(name)
    return monkeypatch


async def test_a_client_made_after_the_variables_are_set_reads_them(
    env: pytest.MonkeyPatch,
) -> None:
    env.setenv("UTD_STREAM_APP_ID", APP_ID)
    env.setenv("UTD_STREAM_APP_KEY", APP_KEY)
    env.setenv("UTD_STREAM_BASE_URL", "http://engine.test")
    env.setenv("UTD_STREAM_TOKEN_BASE_URL", "http://tokens.test")
    async with UTDStreamClient() as client:
        assert client.api.app_id == APP_ID
        assert client.api.base_url == "http://engine.test"
        assert client.api.token_base_url == "http://tokens.test"
    env.setenv("UTD_STREAM_BASE_URL", "http://later.test")  # a later change counts
    env.delenv("UTD_STREAM_TOKEN_BASE_URL")
    async with UTDApiClient() as api:
        assert api.base_url == api.token_base_url == "http://later.test"


async def test_explicit_arguments_win_in_today_s_positional_order(
    env: pytest.MonkeyPatch,
) -> None:
    env.setenv("UTD_STREAM_APP_ID", APP_ID)
    env.setenv("UTD_STREAM_APP_KEY", APP_KEY)
    env.setenv("UTD_STREAM_BASE_URL", "http://engine.test")
    env.setenv("UTD_STREAM_TOKEN_BASE_URL", "http://tokens.test")
    async with UTDStreamClient("app-1", "key-1", "http://a.test", "http://b.test") as client:
        assert client.api.app_id == "app-1"
        assert (client.api.base_url, client.api.token_base_url) == ("http://a.test", "http://b.test")
    async with UTDStreamClient(app_key="key-2", base_url="http://c.test") as client:
        assert client.api.app_id == APP_ID  # the one left out comes from the environment
        assert client.api.base_url == "http://c.test"
        assert client.api.token_base_url == "http://tokens.test"


async def test_without_variables_the_local_engine_and_the_base_url_for_tokens(
    env: pytest.MonkeyPatch,
) -> None:
    assert DEFAULT_BASE_URL == LOCAL
    async with UTDApiClient("app-1", "key-1") as api:
        assert api.base_url == api.token_base_url == LOCAL
    async with UTDApiClient("app-1", "key-1", "http://explicit.test") as api:
        assert api.base_url == api.token_base_url == "http://explicit.test"
    env.setenv("UTD_STREAM_TOKEN_BASE_URL", "http://tokens.test")
    async with UTDApiClient("app-1", "key-1", "http://explicit.test") as api:
        assert api.token_base_url == "http://tokens.test"


@pytest.mark.parametrize(
    ("present", "missing"),
    [({}, "UTD_STREAM_APP_ID"), ({"UTD_STREAM_APP_ID": APP_ID}, "UTD_STREAM_APP_KEY")],
)
def test_a_missing_credential_names_the_variable_to_set(
    env: pytest.MonkeyPatch, present: dict[str, str], missing: str
) -> None:
    for name, value in present.items():
        env.setenv(name, value)
    what = "app_id" if missing.endswith("ID") else "app_key"
    expected = rf"^{what} is missing: pass {what}=\.\.\. or set \${missing}$"
    with pytest.raises(ValueError, match=expected):
        UTDStreamClient()
    with pytest.raises(ValueError, match=rf"\${missing}"):
        UTDApiClient()


def test_empty_variables_count_as_unset(env: pytest.MonkeyPatch) -> None:
    env.setenv("UTD_STREAM_APP_ID", "")
    env.setenv("UTD_STREAM_APP_KEY", APP_KEY)
    with pytest.raises(ValueError, match=r"UTD_STREAM_APP_ID"):
        UTDApiClient()
    env.setenv("UTD_STREAM_BASE_URL", "")
    assert UTDApiClient("app-1").base_url == LOCAL


def test_a_malformed_url_variable_is_named_in_the_error(env: pytest.MonkeyPatch) -> None:
    env.setenv("UTD_STREAM_BASE_URL", "engine.test:8787")
    with pytest.raises(ValueError, match=r"^\$UTD_STREAM_BASE_URL must be an absolute"):
        UTDApiClient("app-1", "key-1")
    assert UTDApiClient("app-1", "key-1", "http://explicit.test").base_url == (
        "http://explicit.test"  # an explicit argument means the variable is not read
    )


def test_explicit_arguments_are_still_checked(env: pytest.MonkeyPatch) -> None:
    env.setenv("UTD_STREAM_APP_ID", APP_ID)
    with pytest.raises(ValueError, match="app_id must not be empty"):
        UTDApiClient("", "key-1")
    with pytest.raises(TypeError, match="app_key must be a str"):
        UTDApiClient(app_key=42)  # type: ignore[arg-type]


def test_the_old_token_default_still_answers_with_a_deprecation_warning() -> None:
    import utd_stream_rx.api as api

    with pytest.warns(DeprecationWarning, match="DEFAULT_TOKEN_BASE_URL"):
        assert api.DEFAULT_TOKEN_BASE_URL == LOCAL
