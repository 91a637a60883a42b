"""A failed ``pii-gemini prepare`` removes the ``--out`` folders it created, and nothing else."""

from __future__ import annotations

from pathlib import Path

import pytest
from _cli_support import Runner

from pii_gemini.synthetic import write_dataset


@pytest.fixture
def bad(tmp_path: Path) -> Path:
    path = tmp_path / "bad.jsonl"
    path.write_text("not json\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("source", ["bad", "missing"])
def test_a_failed_prepare_leaves_no_folder_it_created(
    run: Runner, bad: Path, tmp_path: Path, source: str
) -> None:
    src = bad if source == "bad" else tmp_path / "missing.jsonl"
    work = tmp_path / "work"
    work.mkdir()
    result = run("prepare", str(src), "--out", str(work / "a" / "b" / "c"))
    assert result.code == 3
    assert list(work.iterdir()) == []  # a, a/b and a/b/c were made by prepare: all gone


def test_a_failed_prepare_keeps_a_folder_that_was_there_and_its_files(
    run: Runner, bad: Path, tmp_path: Path
) -> None:
    empty, full = tmp_path / "empty", tmp_path / "full"
    empty.mkdir()
    full.mkdir()
    (full / "mine.txt").write_text("kept", encoding="utf-8")
    assert run("prepare", str(bad), "--out", str(empty)).code == 3
    assert run("prepare", str(bad), "--out", str(full / "new")).code == 3
    assert empty.is_dir() and list(empty.iterdir()) == []
    assert sorted(p.name for p in full.iterdir()) == ["mine.txt"]


def test_a_successful_prepare_still_creates_its_folder(run: Runner, tmp_path: Path) -> None:
    data = write_dataset(tmp_path / "data.jsonl", 30, seed=2)
    out = tmp_path / "x" / "y"
    assert run("prepare", str(data), "--out", str(out), "--test-size", "5").code == 0
    assert {p.name for p in out.iterdir()} == {"train.jsonl", "test.jsonl", "model-card.json"}
