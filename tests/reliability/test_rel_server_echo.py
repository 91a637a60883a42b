"""Item 3 of issue 13 (fixed by the issue-14 helper): a server that echoes the request must
not put the input's PII into the CLI's one-line error. A cheap end-to-end check here."""

from __future__ import annotations

from pathlib import Path

import pytest
from _rel_support import write_jsonl

from pii_gemini.cli import main
from pii_gemini.testing import fake_backend

SECRET = "bob.secret@example.org"


def test_an_echoed_request_does_not_reach_the_error_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = write_jsonl(tmp_path / "in.jsonl", [{"source_text": f"Mail {SECRET}"}])
    with fake_backend() as emu:
        emu.service.inject_fault("generate_content", 403, times=10,
                                 message=f"Permission denied for 'Mail {SECRET}'")  # fmt: skip
        rc = main(["--backend", "gemini", "mask", str(src), str(tmp_path / "o.jsonl"),
                   "--model", "models/gemini-2.5-flash-lite", "-q"])  # fmt: skip
    assert rc != 0
    assert SECRET not in capsys.readouterr().err
