"""Every notebook in ``notebooks/`` runs top to bottom against the local stack."""

from __future__ import annotations

import uuid
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from utd_stream_rx.testing import LocalStack

NOTEBOOKS = sorted((Path(__file__).parents[2] / "notebooks").glob("*.ipynb"))

pytestmark = pytest.mark.e2e


def test_there_are_notebooks() -> None:
    assert {path.stem for path in NOTEBOOKS} >= {"quickstart", "exploring_a_room", "testing"}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
async def test_notebook_runs(
    path: Path, utd_stack: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The kernel is a child process: it inherits these and the loopback-only namespace.
    monkeypatch.setenv("UTD_STREAM_BASE_URL", utd_stack.base_url)
    monkeypatch.setenv("UTD_STREAM_APP_ID", utd_stack.app_id)
    monkeypatch.setenv("UTD_STREAM_APP_KEY", utd_stack.app_key)
    monkeypatch.setenv("UTD_NOTEBOOK_SUFFIX", uuid.uuid4().hex[:8])
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook, timeout=90, kernel_name="python3", resources={"metadata": {"path": "."}}
    )
    await client.async_execute()  # raises CellExecutionError naming the failing cell
    outputs = [output for cell in notebook.cells for output in cell.get("outputs", [])]
    assert not [output for output in outputs if output.get("output_type") == "error"]
    if path.stem == "quickstart":
        html = [o["data"]["text/html"] for o in outputs if "text/html" in o.get("data", {})]
        # ``%load_ext utd_stream_rx.notebook``: a session and a view, as a cell's last value.
        assert any(h.startswith("<div><b>UTDAudioRoomSession host") for h in html), html
        assert any(h.startswith("<div><code>seats</code>") for h in html), html
    if path.stem == "exploring_a_room":
        assert any("image/png" in o.get("data", {}) for o in outputs), "no plot was drawn"
