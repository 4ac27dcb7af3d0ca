"""What ``utd-stream dev`` prints once the stack is up: where things run and the settings a
client reads from the environment."""

from __future__ import annotations

from .._settings import APP_ID_VARIABLE, APP_KEY_VARIABLE, BASE_URL_VARIABLE

__all__ = ["export_lines", "print_mode"]


def export_lines(base_url: str, app_id: str, app_key: str) -> str:
    """The ``export`` lines for a shell, exactly the variables ``UTDStreamClient()`` reads."""
    return (
        "    demo app credentials, for your shell (UTDStreamClient() reads them):\n"
        f"      export {BASE_URL_VARIABLE}={base_url}\n"
        f"      export {APP_ID_VARIABLE}={app_id}\n"
        f"      export {APP_KEY_VARIABLE}={app_key}"
    )


def print_mode(secure: bool, app_secret: str) -> None:
    """How identities are checked: the secret for the backend, or the dev-mode warning."""
    if secure:
        print(
            "    production mode: a bearer needs an identity token that your app's backend\n"
            "    signs (HS256) with the app secret; give UTDStreamClient a token_provider.\n"
            "    app secret, for your BACKEND only (never ship it in an app):\n"
            f"      export UTD_STREAM_APP_SECRET={app_secret}",
            flush=True,
        )
    else:
        print(
            "    INSECURE dev mode: the engine takes every client at its word about who it\n"
            "    is. Fine on your machine; `utd-stream dev --secure` runs production mode.",
            flush=True,
        )
