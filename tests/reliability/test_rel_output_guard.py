"""Items 15 and 16 of issue 13: mask never cuts or appends to a file that is not provably
its own output for the same input and settings, and a failed start leaves no output."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from _rel_support import MODEL, ScriptedBackend, patch_cli, read_jsonl, write_jsonl

from pii_gemini import DatasetError, NotFoundError, PiiGeminiError
from pii_gemini.cli import main
from pii_gemini.masking import Masker

TEXTS = ["Hi Alice", "Mail bob@example.org", "Call 555-0100"]


def _input(tmp_path: Path) -> Path:
    return write_jsonl(tmp_path / "good.jsonl", [{"source_text": t} for t in TEXTS])


@pytest.mark.parametrize(
    "content",
    [b"my notes\n", b"line 1\nline 2\nline 3", b'{"row": 0, "note": "mine"}\n', b"partial"],
)
@pytest.mark.parametrize("resume", [True, False])
def test_a_file_that_is_not_our_output_is_never_touched(
    tmp_path: Path, content: bytes, resume: bool
) -> None:
    notes = tmp_path / "notes.jsonl"
    notes.write_bytes(content)
    masker = Masker(ScriptedBackend(), MODEL)
    with pytest.raises(PiiGeminiError, match="not an output of pii-gemini mask"):
        masker.mask_file(_input(tmp_path), notes, resume=resume, progress=False)
    assert notes.read_bytes() == content


def test_the_cli_refuses_and_keeps_the_notes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    notes = tmp_path / "notes.jsonl"
    notes.write_bytes(b"my notes\n")
    patch_cli(monkeypatch)
    rc = main(["mask", str(_input(tmp_path)), str(notes), "--model", MODEL, "-q"])
    assert rc == 3
    assert notes.read_bytes() == b"my notes\n"
    assert "notes.jsonl" in capsys.readouterr().err


def test_our_output_for_other_settings_is_refused_before_anything_is_cut(tmp_path: Path) -> None:
    src, out = _input(tmp_path), tmp_path / "out.jsonl"
    Masker(ScriptedBackend(), MODEL).mask_file(src, out, progress=False)
    with out.open("ab") as fh:
        fh.write(b'{"row": 3, "sta')  # a torn line
    before = out.read_bytes()
    with pytest.raises(DatasetError, match="does not match"):
        Masker(ScriptedBackend(), MODEL, safety_net=False).mask_file(src, out, progress=False)
    assert out.read_bytes() == before


def test_no_resume_replaces_our_own_output(tmp_path: Path) -> None:
    src, out = _input(tmp_path), tmp_path / "out.jsonl"
    Masker(ScriptedBackend(), MODEL).mask_file(src, out, progress=False)
    backend = ScriptedBackend()
    Masker(backend, MODEL, safety_net=False).mask_file(src, out, resume=False, progress=False)
    assert backend.calls == 3 and len(read_jsonl(out)) == 3


def _unknown_model(text: str, attempt: int) -> NotFoundError:
    return NotFoundError("no such model", code=404)


@pytest.mark.parametrize(
    ("case", "error"),
    [("missing column", DatasetError), ("unknown model", NotFoundError),
     ("bad encoding", DatasetError)],
)  # fmt: skip
def test_a_failed_start_leaves_no_output_file(
    tmp_path: Path, case: str, error: type[Exception]
) -> None:
    src = _input(tmp_path)
    backend = ScriptedBackend()
    if case == "missing column":
        src = write_jsonl(tmp_path / "other.jsonl", [{"text": "Hi"}])
    elif case == "unknown model":
        backend = ScriptedBackend(fault=_unknown_model)
    else:
        src = tmp_path / "latin1.csv"
        src.write_bytes("source_text\nJos\xe9 Alice\n".encode("latin-1"))
    out = tmp_path / "out" / "masked.jsonl"
    masker = Masker(backend, MODEL)
    if case == "bad encoding":
        masker.mask_file(src, out, progress=False)  # a row status, not a failed start
        assert [r["status"] for r in read_jsonl(out)] == ["failed"]
        return
    with pytest.raises(error):
        masker.mask_file(src, out, progress=False)
    assert not out.exists()
    assert not out.parent.exists() or os.listdir(out.parent) == []
