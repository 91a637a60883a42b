"""Item 1 of issue 13: the masked output must hold nothing from which the source can be
tested, and its file mode must match what it holds."""

from __future__ import annotations

import hashlib
import json
import os
import stat
from pathlib import Path

import pytest
from _rel_support import MODEL, ScriptedBackend, read_jsonl, write_jsonl

from pii_gemini import DatasetError
from pii_gemini.masking import Masker

posix_only = pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")

TEXTS = ["I was born 1984-03-02 in Leeds.", "Call Alice on 555-0100.", "Nothing here."]


def _masker() -> Masker:
    return Masker(ScriptedBackend(), MODEL, concurrency=2)


def _input(tmp_path: Path) -> Path:
    rows = [{"id": f"r{i}", "source_text": t} for i, t in enumerate(TEXTS)]
    return write_jsonl(tmp_path / "in.jsonl", rows)


def _all_hex_strings(path: Path) -> set[str]:
    found: set[str] = set()
    for record in read_jsonl(path):
        for value in record.values():
            if isinstance(value, str) and len(value) >= 16:
                found.add(value)
    return found


def test_no_unsalted_content_hash_in_the_output(tmp_path: Path) -> None:
    masker = _masker()
    src, out = _input(tmp_path), tmp_path / "out.jsonl"
    masker.mask_file(src, out, id_column="id", progress=False)
    raw = out.read_text(encoding="utf-8")
    for text in TEXTS:
        # the old `key`: sha256 of the settings and the prompt, testable by anyone
        assert masker.cache_key(text) not in raw
        prompt = masker.prompt_builder.format(text).encode()
        assert hashlib.sha256(prompt).hexdigest() not in raw
    # Whatever identifies a row for resume is keyed by a secret: a second output of the
    # same input and settings carries different values.
    other = tmp_path / "other.jsonl"
    _masker().mask_file(src, other, id_column="id", progress=False)
    shared = _all_hex_strings(out) & _all_hex_strings(other)
    assert not {s for s in shared if all(c in "0123456789abcdef" for c in s)}


@posix_only
def test_the_secret_lives_in_a_private_state_file_apart_from_the_output(tmp_path: Path) -> None:
    src, out = _input(tmp_path), tmp_path / "out.jsonl"
    _masker().mask_file(src, out, id_column="id", progress=False)
    extra = [p for p in tmp_path.iterdir() if p.name not in ("in.jsonl", "out.jsonl")]
    assert extra, "the resume secret must be kept in a file of its own"
    for path in extra:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert path.read_bytes() not in out.read_bytes()
    # the secret is not in the output
    for path in extra:
        state = json.loads(path.read_text())
        for value in state.values():
            if isinstance(value, str) and len(value) >= 32:
                assert value not in out.read_text()


@posix_only
@pytest.mark.parametrize(("include_source", "mode"), [(True, 0o600), (False, 0o644)])
def test_output_mode_follows_what_it_holds(tmp_path: Path, include_source: bool, mode: int) -> None:
    old = os.umask(0o022)
    try:
        out = tmp_path / "out.jsonl"
        _masker().mask_file(_input(tmp_path), out, include_source=include_source, progress=False)
    finally:
        os.umask(old)
    assert stat.S_IMODE(out.stat().st_mode) == mode


@posix_only
def test_resuming_with_include_source_narrows_a_wide_output(tmp_path: Path) -> None:
    src, out = _input(tmp_path), tmp_path / "out.jsonl"
    _masker().mask_file(src, out, include_source=True, progress=False)
    out.chmod(0o644)
    _masker().mask_file(src, out, include_source=True, progress=False)
    assert stat.S_IMODE(out.stat().st_mode) == 0o600


def test_an_old_output_with_an_unsalted_key_is_refused_with_a_clear_message(
    tmp_path: Path,
) -> None:
    masker = _masker()
    src, out = _input(tmp_path), tmp_path / "out.jsonl"
    old = [
        {"row": i, "id": f"r{i}", "status": "ok", "masked_text": t, "error": None,
         "finish_reason": "STOP", "spans": [], "safety_net_spans": [], "faithful": True,
         "chatter": False, "key": masker.cache_key(t)}
        for i, t in enumerate(TEXTS[:2])
    ]  # fmt: skip
    write_jsonl(out, old)
    before = out.read_bytes()
    with pytest.raises(DatasetError, match="older") as info:
        masker.mask_file(src, out, id_column="id", progress=False)
    assert "resume=False" in str(info.value)
    assert out.read_bytes() == before  # nothing cut, nothing appended


def test_resume_still_works_and_checks_rows_with_the_keyed_hash(tmp_path: Path) -> None:
    src, out = _input(tmp_path), tmp_path / "out.jsonl"
    backend = ScriptedBackend()
    Masker(backend, MODEL).mask_file(src, out, id_column="id", progress=False)
    first = out.read_bytes()
    lines = first.splitlines(keepends=True)
    out.write_bytes(b"".join(lines[:1]) + lines[1][:10])  # one row done, a torn line
    again = ScriptedBackend()
    summary = Masker(again, MODEL).mask_file(src, out, id_column="id", progress=False)
    assert summary.skipped_resumed == 1 and again.calls == 2
    assert out.read_bytes() == first
    # another input with the same row count is refused
    write_jsonl(src, [{"id": f"r{i}", "source_text": t + "!"} for i, t in enumerate(TEXTS)])
    with pytest.raises(DatasetError, match="does not match"):
        Masker(ScriptedBackend(), MODEL).mask_file(src, out, id_column="id", progress=False)
