"""The README's sample test, as printed there, passes in a fresh project of its own: no
configuration (so pytest-asyncio's default strict mode), the installed plugin's fixtures, the
real stack. The sample is read from README.md each time, never copied."""

from __future__ import annotations

import re
from pathlib import Path

from tests._support.fresh_project import REPO, run_pytest

SECTION = "## Testing your own app"
PYTHON_BLOCK = re.compile(r"^```python\n(.*?)^```$", re.MULTILINE | re.DOTALL)


def readme_sample() -> str:
    """The first Python block of the README's testing section that holds a test."""
    readme = (REPO / "README.md").read_text()
    start = readme.index(SECTION)
    end = readme.find("\n## ", start + len(SECTION))
    section = readme[start : end if end != -1 else len(readme)]
    for block in PYTHON_BLOCK.findall(section):
        if "def test_" in block:
            return str(block)
    raise AssertionError(f"no sample test in the README's {SECTION!r} section")


def test_the_readme_sample_passes_in_a_fresh_project(tmp_path: Path) -> None:
    (tmp_path / "test_sample.py").write_text(readme_sample())
    done = run_pytest(tmp_path, timeout=240)
    out = done.stdout + done.stderr[-3000:]
    assert done.returncode == 0, out
    assert re.search(r"\b1 passed\b", done.stdout), out
    assert "mode=Mode.STRICT" in done.stdout, out  # pytest-asyncio's header line
