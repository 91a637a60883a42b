"""The README's python blocks run top to bottom, as a new user pastes them (offline)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"
_ROWS = "generate_rows(2000"  # the tour's data size; the test runs it on fewer rows


def python_blocks(markdown: str) -> list[str]:
    """The fenced ```python blocks of ``markdown``, in order."""
    return re.findall(r"^```python\n(.*?)^```", markdown, flags=re.S | re.M)


def test_the_readme_tour_runs_top_to_bottom(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocks = python_blocks(README.read_text(encoding="utf-8"))
    assert blocks, "README.md has no python block"
    code = "\n".join(blocks)
    assert _ROWS in code
    monkeypatch.chdir(tmp_path)  # the tour writes in.jsonl, out.jsonl and loss.png here
    scope: dict[str, object] = {"__name__": "readme_tour"}
    exec(compile(code.replace(_ROWS, "generate_rows(300"), str(README), "exec"), scope)
    summary = scope["summary"]
    assert getattr(summary, "ok", None) == 100  # every test row masked by mask_file
    assert (tmp_path / "loss.png").read_bytes()[:4] == b"\x89PNG"
    assert len((tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()) == 100


def test_ci_installs_and_runs_what_the_readme_says_ci_runs() -> None:
    readme = README.read_text(encoding="utf-8")
    ci = (README.parent / ".ci" / "run").read_text(encoding="utf-8")
    line = next(ln for ln in readme.splitlines() if ln.startswith("# 3.") and "CI runs" in ln)
    command = readme.splitlines()[readme.splitlines().index(line) + 1]
    extras = re.search(r'pip install -e "(\.\[[a-z,]+\])"', command)
    assert extras is not None and "-m pytest" in command
    assert f'-m pip install --quiet -e "{extras.group(1)}"' in ci
    assert '"$venv/bin/python" -m pytest -q' in ci
