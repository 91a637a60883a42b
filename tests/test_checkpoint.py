from __future__ import annotations

import json
from pathlib import Path

import pytest

from pii_gemini._checkpoint import iter_records, repair_tail
from pii_gemini._exceptions import DatasetError


def _lines(*records: dict[str, object]) -> bytes:
    return b"".join(json.dumps(r).encode() + b"\n" for r in records)


def test_missing_and_empty_files(tmp_path: Path) -> None:
    assert repair_tail(tmp_path / "nope.jsonl") == 0
    assert list(iter_records(tmp_path / "nope.jsonl")) == []
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")
    assert repair_tail(empty) == 0
    assert list(iter_records(empty)) == []


def test_intact_file_is_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    data = _lines({"row": 0}, {"row": 1})
    path.write_bytes(data)
    assert repair_tail(path) == 0
    assert path.read_bytes() == data
    assert [r["row"] for r in iter_records(path)] == [0, 1]


def test_torn_line_without_newline_is_cut(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    good = _lines({"row": 0}, {"row": 1})
    path.write_bytes(good + b'{"row": 2, "masked')
    assert repair_tail(path) == len(b'{"row": 2, "masked')
    assert path.read_bytes() == good


def test_complete_but_invalid_last_line_is_cut(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    good = _lines({"row": 0})
    path.write_bytes(good + b'{"row": 1, "mas\n')
    assert repair_tail(path) == len(b'{"row": 1, "mas\n')
    assert path.read_bytes() == good


def test_single_torn_line_and_long_lines(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    path.write_bytes(b'{"row": 0, "x": "' + b"a" * 200_000)  # longer than one read block
    assert repair_tail(path) == 200_017
    assert path.read_bytes() == b""
    big = _lines({"row": 0, "x": "b" * 150_000})
    path.write_bytes(big + b'{"row": 1, "x": "' + b"c" * 150_000)
    repair_tail(path)
    assert path.read_bytes() == big


def test_corrupt_middle_line_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    path.write_bytes(_lines({"row": 0}) + b"garbage\n" + _lines({"row": 2}))
    assert repair_tail(path) == 0
    with pytest.raises(DatasetError, match="line 2") as info:
        list(iter_records(path))
    assert info.value.row == 1
    path.write_bytes(b"[1, 2]\n")
    with pytest.raises(DatasetError, match="not a JSON object"):
        list(iter_records(path))
