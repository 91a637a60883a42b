"""Two runs writing one output at once would interleave their lines (the trial saw 8,705
lines for 5,000 rows, both runs exiting 0): the second is refused before it sends a row."""

from __future__ import annotations

from pathlib import Path

import pytest
from _rel_support import MODEL, ScriptedBackend, read_jsonl, write_jsonl

from pii_gemini import ConfigError
from pii_gemini._files import run_lock
from pii_gemini.masking import Masker

ROWS = [{"source_text": f"Hello Alice number {i}"} for i in range(5)]


def test_a_second_run_on_the_same_output_is_refused_before_any_request(tmp_path: Path) -> None:
    src, out = write_jsonl(tmp_path / "in.jsonl", ROWS), tmp_path / "out.jsonl"
    backend = ScriptedBackend()
    with run_lock(out):  # a live run holds the output (a separate open file: like a process)
        with pytest.raises(ConfigError, match=r"another run is writing out\.jsonl"):
            Masker(backend, MODEL).mask_file(src, out, progress=False)
        assert backend.calls == 0 and not out.exists()
    summary = Masker(backend, MODEL).mask_file(src, out, progress=False)  # released: runs
    assert summary.ok == len(ROWS) and len(read_jsonl(out)) == len(ROWS)
