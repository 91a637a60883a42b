"""The end-of-run summary says how many rows were masked, not how many got an answer.

A run whose rows all came back blocked said "4 rows masked" above "no row was masked"
(exit 4); the first test failed before.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from _rel_support import MODEL, ScriptedBackend, patch_cli, write_jsonl

from pii_gemini.cli import main
from pii_gemini.masking import MaskSummary


def test_the_summary_of_a_run_that_masked_nothing_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    patch_cli(monkeypatch, lambda: ScriptedBackend(block=lambda prompt: True))
    src = write_jsonl(
        tmp_path / "in.jsonl", [{"source_text": f"Mail u{i}@x.org"} for i in range(4)]
    )
    assert main(["mask", str(src), str(tmp_path / "out.jsonl"), "--model", MODEL, "-q"]) == 4
    out = capsys.readouterr().out
    assert "0 of 4 rows masked" in out and "4 rows masked" not in out.replace("0 of 4 ", "")


@pytest.mark.parametrize(
    ("counts", "says"),
    [
        ({"done": 5, "ok": 5}, "5 rows masked"),
        ({"done": 5, "ok": 3, "failed": 1, "blocked": 1}, "3 of 5 rows masked"),
        ({"done": 0, "ok": 0, "skipped_resumed": 7}, "0 rows masked"),
    ],
)
def test_the_summary_counts_masked_rows(counts: dict[str, int], says: str) -> None:
    assert str(MaskSummary(**counts)).startswith(says + " in ")  # type: ignore[arg-type]
