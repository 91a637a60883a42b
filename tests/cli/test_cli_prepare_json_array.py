"""``prepare --errors skip`` skips an item of a ``.json`` array that is not a JSON object, as
it skips such a ``.jsonl`` line (it refused the whole file); without skip the error names the
item."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from _cli_support import Runner

from pii_gemini.synthetic import write_dataset


@pytest.fixture
def array(tmp_path: Path) -> Path:
    """A JSON array of 30 rows with two items that are not objects (items 4 and 9)."""
    rows = json.loads(write_dataset(tmp_path / "rows.json", 30, seed=4).read_text("utf-8"))
    if not isinstance(rows, list):  # written as JSON lines: make it one array
        raise AssertionError("write_dataset should write a .json file as an array")
    rows.insert(3, [1, 2])
    rows.insert(8, "a bare string")
    path = tmp_path / "array.json"
    path.write_text(json.dumps(rows), encoding="utf-8")
    return path


def test_skip_skips_and_counts_array_items_that_are_not_objects(
    run: Runner, array: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    result = run("prepare", str(array), "--out", str(out), "--errors", "skip", "--test-size", "5")
    assert result.code == 0, result.err
    assert "skipped 2 rows (item is not a JSON object: 2)" in result.out
    rows = pd.concat([pd.read_json(out / f, lines=True) for f in ("train.jsonl", "test.jsonl")])
    assert len(rows) == 30


def test_without_skip_the_error_names_the_item(run: Runner, array: Path, tmp_path: Path) -> None:
    result = run("prepare", str(array), "--out", str(tmp_path / "out"))
    assert result.code == 3
    assert (
        "array.json" in result.err and "item 4 of the JSON array is not a JSON object" in result.err
    )
