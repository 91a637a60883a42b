"""Item 5 of issue 13: rows written as failed are retried on resume (by default), the CLI
exits non-zero when rows are left failed, and the summary says how many and why."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from _rel_support import MODEL, ScriptedBackend, fast_retry, patch_cli, read_jsonl, write_jsonl

from pii_gemini import TransientBackendError
from pii_gemini.cli import main
from pii_gemini.masking import Masker

TEXTS = [f"Row {i}: Alice mails a{i}@example.org" for i in range(12)]
BAD = {3, 4, 9}


def _outage(text: str, attempt: int) -> TransientBackendError | None:
    if int(text.split(":")[0].split()[1]) in BAD:
        return TransientBackendError("unavailable", code=503)
    return None


def _masker(backend: ScriptedBackend) -> Masker:
    return Masker(backend, MODEL, retry=fast_retry(2), sleep=lambda s: None, concurrency=3)


def _input(tmp_path: Path) -> Path:
    rows = [{"id": i, "source_text": t} for i, t in enumerate(TEXTS)]
    return write_jsonl(tmp_path / "in.jsonl", rows)


def test_resume_retries_failed_rows_and_ends_identical_to_a_clean_run(tmp_path: Path) -> None:
    src, out = _input(tmp_path), tmp_path / "out.jsonl"
    first = _masker(ScriptedBackend(fault=_outage)).mask_file(src, out, id_column="id",
                                                               progress=False)  # fmt: skip
    assert first.failed == 3
    assert dict(first.failure_reasons) == {"TransientBackendError(503)": 3}
    assert "TransientBackendError(503)" in str(first)
    # a clean reference run that shares the resume secret, so lines compare byte for byte
    ref_dir = tmp_path / "ref"
    ref_dir.mkdir()
    for path in tmp_path.iterdir():
        if path.is_file() and path.name.startswith("out.jsonl") and path != out:
            shutil.copy(path, ref_dir / path.name)
    _masker(ScriptedBackend()).mask_file(src, ref_dir / "out.jsonl", id_column="id",
                                         progress=False)  # fmt: skip

    healthy = ScriptedBackend()
    second = _masker(healthy).mask_file(src, out, id_column="id", progress=False)
    assert healthy.calls == 3  # only the failed rows were sent again
    assert second.failed == 0 and second.redone == 3 and second.skipped_resumed == 9
    records = read_jsonl(out)
    assert [r["row"] for r in records] == list(range(len(TEXTS)))
    assert all(r["status"] == "ok" for r in records)
    assert out.read_bytes() == (ref_dir / "out.jsonl").read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("out.jsonl.")) == [
        p.name for p in sorted(ref_dir.iterdir()) if p.name != "out.jsonl"
    ]  # no journal left behind


def test_keep_failed_leaves_them_and_says_so(tmp_path: Path) -> None:
    src, out = _input(tmp_path), tmp_path / "out.jsonl"
    _masker(ScriptedBackend(fault=_outage)).mask_file(src, out, id_column="id", progress=False)
    again = ScriptedBackend()
    summary = _masker(again).mask_file(src, out, id_column="id", progress=False,
                                       retry_failed=False)  # fmt: skip
    assert again.calls == 0
    assert summary.kept_failed == 3 and summary.left_failed == 3
    assert [r["status"] for r in read_jsonl(out)].count("failed") == 3


def test_a_failed_row_retried_and_failing_again_is_still_one_record(tmp_path: Path) -> None:
    src, out = _input(tmp_path), tmp_path / "out.jsonl"
    for _ in range(3):
        _masker(ScriptedBackend(fault=_outage)).mask_file(src, out, id_column="id",
                                                           progress=False)  # fmt: skip
    records = read_jsonl(out)
    assert [r["row"] for r in records] == list(range(len(TEXTS)))
    assert sorted(r["row"] for r in records if r["status"] == "failed") == sorted(BAD)


def test_cli_exits_non_zero_while_rows_are_left_failed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    faults = [_outage]  # the first run meets the outage, the later ones do not
    patch_cli(monkeypatch, lambda: ScriptedBackend(fault=faults.pop() if faults else None))
    src, out = _input(tmp_path), tmp_path / "out.jsonl"
    argv = ["mask", str(src), str(out), "--model", MODEL, "-q", "--id-column", "id"]
    assert main(argv) == 4
    err = capsys.readouterr().err
    assert "3 rows failed" in err and "TransientBackendError(503)" in err
    assert main([*argv, "--keep-failed"]) == 4  # kept: still left failed
    assert main(argv) == 0  # healthy now: retried
    assert all(r["status"] == "ok" for r in read_jsonl(out))
