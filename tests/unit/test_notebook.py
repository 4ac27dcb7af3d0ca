"""HTML in IPython: the notebook module registers formatters; the core knows nothing of it."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from IPython.core.interactiveshell import InteractiveShell
from traitlets.config import Config

from utd_stream_rx import UTDAudioRoomSession, UTDCallSession
from utd_stream_rx.api import UTDApiClient
from utd_stream_rx.models import UTDSeat, UTDSeatGrid, UTDSeatMode, UTDStreamType
from utd_stream_rx.notebook import load_ipython_extension, panel_views
from utd_stream_rx.state.store import Store
from utd_stream_rx.state.view_specs import CAN_PUBLISH, SEATS
from utd_stream_rx.state.views import View, constant_view

PACKAGE = Path(__file__).parents[2] / "utd_stream_rx"
# Every module but the notebook's own: none of them may reach for it.
CORE = [path for path in sorted(PACKAGE.rglob("*.py")) if path.name != "notebook.py"]


@pytest.fixture(scope="module")
def shell(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InteractiveShell]:
    """A plain IPython shell (HTML on, as in a Jupyter kernel), history in memory."""
    config = Config()
    config.HistoryManager.hist_file = ":memory:"
    ipython_dir = str(tmp_path_factory.mktemp("ipython"))
    shell = InteractiveShell.instance(config=config, ipython_dir=ipython_dir)
    try:
        yield shell
    finally:
        InteractiveShell.clear_instance()


def _html(shell: InteractiveShell, obj: object) -> str | None:
    assert shell.display_formatter is not None
    html: str | None = shell.display_formatter.formatters["text/html"](obj)
    return html


def test_load_ext_renders_views_as_html(shell: InteractiveShell) -> None:
    shell.run_line_magic("load_ext", "utd_stream_rx.notebook")
    store = Store()
    assert _html(shell, store.view(CAN_PUBLISH)) == (
        '<div><code>can_publish</code> = <b style="color:#888">False</b></div>'
    )
    grid = UTDSeatGrid(2, UTDSeatMode.FREE, (UTDSeat(0, identity="ann"), UTDSeat(1)), version=3)
    html = _html(shell, constant_view(grid, "seats"))
    assert html is not None and "0: ann" in html and "1: free" in html and "v3" in html


async def test_a_session_renders_as_a_table_of_its_panel_views(
    shell: InteractiveShell, api: UTDApiClient
) -> None:
    load_ipython_extension(shell)
    room = UTDAudioRoomSession(api, "den", is_host=False)
    call = UTDCallSession(api, UTDStreamType.VIDEO_CALL)
    try:
        html = _html(shell, room)
        assert html is not None and html.startswith("<div><b>UTDAudioRoomSession</b><table>")
        names = [view.name for view in panel_views(room)]
        assert names == [
            "connected",
            "can_publish",
            "seats",
            "speak_requests",
            "invitations",
            "active_speakers",
            "remote_participants",
            "connection_quality",
            "seat_status",
        ]
        assert all(f"<code>{name}</code>" in html for name in names)
        assert [view.name for view in panel_views(call)][:4] == [
            "connected",
            "can_publish",
            "call_status",
            "call_id",
        ]
        assert room.seats is room.room.store.view(SEATS)
    finally:
        await room.aclose()
        await call.aclose()


def test_importing_inside_ipython_registers_the_formatters(tmp_path: Path) -> None:
    script = (
        "from IPython.core.interactiveshell import InteractiveShell\n"
        "from traitlets.config import Config\n"
        "config = Config()\n"
        "config.HistoryManager.hist_file = ':memory:'\n"
        f"shell = InteractiveShell.instance(config=config, ipython_dir={str(tmp_path)!r})\n"
        "from utd_stream_rx.state.views import constant_view\n"
        "view = constant_view(True, 'flag')\n"
        "html = shell.display_formatter.formatters['text/html']\n"
        "assert html(view) is None\n"
        "import utd_stream_rx.notebook\n"
        "print(html(view))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == '<div><code>flag</code> = <b style="color:#1a7f37">True</b></div>'


def test_views_have_no_html_of_their_own() -> None:
    assert not hasattr(View, "_repr_html_")
    assert not hasattr(UTDAudioRoomSession, "_repr_html_")


@pytest.mark.parametrize("path", CORE, ids=lambda path: str(path.relative_to(PACKAGE)))
def test_the_core_never_imports_the_notebook_module(path: Path) -> None:
    tree = ast.parse(path.read_text(), str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            names = [node.module or "", *(alias.name for alias in node.names)]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        assert not any(name.split(".")[-1] == "notebook" for name in names), node.lineno
