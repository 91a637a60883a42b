"""Reading back an output to resume: complete lines only, where a torn line starts, and
clear errors for a corrupt line."""

from __future__ import annotations

from pathlib import Path

import pytest

from pii_gemini import DatasetError
from pii_gemini._checkpoint import complete_lines, complete_records, tail_start


def test_missing_and_empty_files(tmp_path: Path) -> None:
    assert tail_start(tmp_path / "nope.jsonl") == 0
    assert list(complete_records(tmp_path / "nope.jsonl")) == []
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")
    assert tail_start(empty) == 0
    assert list(complete_records(empty)) == []


def test_intact_file(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    path.write_bytes(b'{"row": 0}\n\n{"row": 1}\n')
    assert tail_start(path) == path.stat().st_size
    assert [r["row"] for r in complete_records(path)] == [0, 1]


def test_a_torn_line_is_left_out_and_located(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    path.write_bytes(b'{"row": 0}\n{"row": 1}\n{"row": 2, "masked')
    assert [r["row"] for r in complete_records(path)] == [0, 1]
    assert tail_start(path) == len(b'{"row": 0}\n{"row": 1}\n')
    assert path.read_bytes().endswith(b'"masked')  # reading never cuts anything


def test_a_single_torn_line_and_long_lines(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    path.write_bytes(b'{"row": 0, "x": "' + b"a" * 200_000)
    assert tail_start(path) == 0 and list(complete_lines(path)) == []
    long_line = b'{"row": 0, "x": "' + b"a" * 200_000 + b'"}\n'
    path.write_bytes(long_line + b'{"row": 1')
    assert tail_start(path) == len(long_line)
    assert [r["row"] for r in complete_records(path)] == [0]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'{"row": 0}\nnot json\n{"row": 2}\n', "line 2 is not a JSON line"),
        (b'{"row": 0}\n[1, 2]\n', "line 2 is not a JSON object"),
        (b'{"row": 0}\n\xff\xfe\n', "line 2 is not a JSON line"),
    ],
)
def test_a_corrupt_line_is_an_error(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "out.jsonl"
    path.write_bytes(content)
    with pytest.raises(DatasetError, match=message):
        list(complete_records(path))
