"""Item 9 of issue 13: no single row stops a run or every resume - a lone surrogate (a cut
emoji, valid JSON), a UTF-8 byte-order mark, a row the pipeline cannot handle."""

from __future__ import annotations

from pathlib import Path

import pytest
from _rel_support import MODEL, ScriptedBackend, read_jsonl, write_jsonl

from pii_gemini.masking import Masker

CUT_EMOJI = "Great service \ud83d from Alice"


def test_a_lone_surrogate_row_is_masked_and_written(tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    src.write_text(
        '{"id": 1, "source_text": "Hi Alice"}\n'
        '{"id": 2, "source_text": "Great service \\ud83d from Alice"}\n'
        '{"id": 3, "source_text": "Bye Bruno"}\n',
        encoding="utf-8",
    )
    out = tmp_path / "out.jsonl"
    summary = Masker(ScriptedBackend(), MODEL).mask_file(src, out, id_column="id", progress=False)
    assert summary.ok == 3
    out.read_bytes().decode("utf-8")  # the output is valid UTF-8
    records = read_jsonl(out)
    assert [r["id"] for r in records] == [1, 2, 3]
    assert records[1]["masked_text"] == "Great service \ufffd from [FIRSTNAME]"
    # and a resume of that output works
    again = Masker(ScriptedBackend(), MODEL).mask_file(src, out, id_column="id", progress=False)
    assert again.skipped_resumed == 3


def test_an_id_with_a_lone_surrogate_is_written_as_valid_utf8(tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    src.write_text('{"id": "a\\udc80", "source_text": "Hi Alice"}\n', encoding="utf-8")
    out = tmp_path / "out.jsonl"
    Masker(ScriptedBackend(), MODEL).mask_file(src, out, id_column="id", progress=False)
    out.read_bytes().decode("utf-8")
    assert read_jsonl(out)[0]["id"] == "a\udc80"
    Masker(ScriptedBackend(), MODEL).mask_file(src, out, id_column="id", progress=False)


def test_a_lone_surrogate_reaches_no_sdk(tmp_path: Path) -> None:
    backend = ScriptedBackend()
    result = Masker(backend, MODEL).mask(CUT_EMOJI)
    assert result.ok
    prompt = backend.prompts[0]
    prompt.encode("utf-8")  # strict: what an SDK does


def test_a_byte_order_mark_keeps_row_zero_and_its_id(tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    src.write_bytes(
        b"\xef\xbb\xbf" + b'{"id": "first", "source_text": "Hi Alice"}\n'
        b'{"id": "second", "source_text": "Hi Bruno"}\n'
    )
    out = tmp_path / "out.jsonl"
    summary = Masker(ScriptedBackend(), MODEL).mask_file(src, out, id_column="id", progress=False)
    assert summary.ok == 2
    assert [r["id"] for r in read_jsonl(out)] == ["first", "second"]


def test_a_crash_in_the_pipeline_fails_that_row_not_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pii_gemini.masking._pipeline as pipeline

    real = pipeline.align

    def align(source: str, answer: str):  # type: ignore[no-untyped-def]
        if "Bruno" in source:
            raise RecursionError("maximum recursion depth exceeded")
        return real(source, answer)

    monkeypatch.setattr(pipeline, "align", align)
    src = write_jsonl(tmp_path / "in.jsonl", [{"source_text": t} for t in
                                               ["Hi Alice", "Hi Bruno", "Hi Chen"]])  # fmt: skip
    summary = Masker(ScriptedBackend(), MODEL).mask_file(src, tmp_path / "o.jsonl", progress=False)
    assert [r["status"] for r in read_jsonl(tmp_path / "o.jsonl")] == ["ok", "failed", "ok"]
    assert summary.failed == 1


def test_an_unexpected_error_in_a_worker_fails_that_row_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pii_gemini.masking._pipeline as pipeline

    real = pipeline.Pipeline.mask

    def mask(self, text, run):  # type: ignore[no-untyped-def]
        if "Bruno" in text:
            raise TypeError("a bug that quotes Bruno")
        return real(self, text, run)

    monkeypatch.setattr(pipeline.Pipeline, "mask", mask)
    texts = ["Hi Alice", "Hi Bruno", "Hi Chen"]
    results = Masker(ScriptedBackend(), MODEL).mask_many(texts)
    assert [r.status.value for r in results] == ["ok", "failed", "ok"]
    assert results[1].error is not None and "Bruno" not in results[1].error
