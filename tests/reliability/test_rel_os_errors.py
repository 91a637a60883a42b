"""OS errors of ``mask_file`` (a full disk, an output folder that cannot be written, an input
that is a folder or missing) are library errors naming the path and the problem, never
quoting a row; the rows already written stay valid and a later run resumes them."""

from __future__ import annotations

import errno
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from _rel_support import MODEL, ScriptedBackend, patch_cli, read_jsonl, write_jsonl

from pii_gemini import DatasetError, PiiGeminiError, StorageError
from pii_gemini.cli import main
from pii_gemini.masking import Masker

SECRET = "Zebulon Quartermaine"
ROWS = [{"source_text": f"Hello {SECRET} number {i}"} for i in range(6)]


def _masker() -> Masker:
    return Masker(ScriptedBackend(), MODEL)


def _disk_full_from_row(monkeypatch: pytest.MonkeyPatch, row: int) -> Callable[[], None]:
    """Make every write of the output line of ``row`` (and later) fail with ENOSPC after
    writing half of it; returns the undo."""
    real = os.write
    marker = f'"row": {row},'.encode()

    def write(fd: int, data: bytes | memoryview) -> int:
        chunk = bytes(data)
        if chunk.startswith(b'{"row": ') and int(chunk[8 : chunk.index(b",")]) >= row:
            if marker in chunk:  # a torn half line reaches the disk, then the disk is full
                real(fd, chunk[: len(chunk) // 2])
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(fd, data)

    monkeypatch.setattr(os, "write", write)
    return monkeypatch.undo


def test_a_full_disk_is_a_storage_error_and_the_written_rows_resume(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src, out = write_jsonl(tmp_path / "in.jsonl", ROWS), tmp_path / "out.jsonl"
    undo = _disk_full_from_row(monkeypatch, 3)
    with pytest.raises(StorageError) as info:
        _masker().mask_file(src, out, progress=False, chunk_size=1)
    undo()
    message = str(info.value)
    assert str(out) in message and os.strerror(errno.ENOSPC) in message
    assert SECRET not in message and "Hello" not in message
    assert isinstance(info.value, PiiGeminiError) and isinstance(info.value, OSError)
    assert info.value.errno == errno.ENOSPC
    assert [r["row"] for r in read_jsonl(out)] == [0, 1, 2]  # whole lines, no torn tail
    summary = _masker().mask_file(src, out, progress=False)
    assert summary.skipped_resumed == 3 and summary.done == 3
    assert [r["row"] for r in read_jsonl(out)] == list(range(6))


def test_an_output_folder_that_cannot_be_created_is_named(tmp_path: Path) -> None:
    src = write_jsonl(tmp_path / "in.jsonl", ROWS)
    (tmp_path / "afile").write_text("x", "utf-8")
    out = tmp_path / "afile" / "out.jsonl"
    with pytest.raises(StorageError) as info:
        _masker().mask_file(src, out, progress=False)
    assert "afile" in str(info.value) and SECRET not in str(info.value)


def test_an_output_folder_without_write_permission_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src, out = write_jsonl(tmp_path / "in.jsonl", ROWS), tmp_path / "out" / "out.jsonl"
    out.parent.mkdir()
    real = os.open

    def denied(path: object, *args: object, **kwargs: object) -> int:
        if str(path).startswith(str(out.parent)):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))
        return real(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "open", denied)
    with pytest.raises(StorageError) as info:
        _masker().mask_file(src, out, progress=False)
    assert str(out.parent) in str(info.value) and "Permission denied" in str(info.value)


@pytest.mark.parametrize("kind", ["missing", "folder"])
def test_an_input_that_is_not_a_file_is_a_dataset_error(tmp_path: Path, kind: str) -> None:
    src = tmp_path / "in.jsonl"
    if kind == "folder":
        src.mkdir()
    with pytest.raises(DatasetError) as info:
        _masker().mask_file(src, tmp_path / "out.jsonl", progress=False)
    assert str(src) in str(info.value)
    assert ("is a folder" if kind == "folder" else "not found") in str(info.value)
    assert not (tmp_path / "out.jsonl").exists()


def test_the_cli_prints_one_line_and_exits_incomplete_on_a_full_disk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    patch_cli(monkeypatch)
    src, out = write_jsonl(tmp_path / "in.jsonl", ROWS), tmp_path / "out.jsonl"
    _disk_full_from_row(monkeypatch, 2)
    rc = main(["--backend", "fake", "mask", str(src), str(out), "--model", MODEL, "--quiet",
               "--chunk-size", "1"])  # fmt: skip
    err = capsys.readouterr().err
    assert rc == 4
    lines = [line for line in err.splitlines() if line.strip()]
    assert "Traceback" not in err and SECRET not in err
    assert any("StorageError" in line and str(out) in line for line in lines)
    assert [r["row"] for r in read_jsonl(out)] == [0, 1]
